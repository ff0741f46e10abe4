"""Energy per output token of a served configuration, at the chips' activity power."""

from __future__ import annotations

import polars as pl

from perfmodel.api.serving import Serve
from perfmodel.catalog.folder import Catalogs
from tco.economics.chip_costs import chip_table
from tco.economics.costs import cost_frame, load_site


def joules_per_output_token(r: Serve, catalogs: Catalogs, precision: str) -> float:
    """``P_chip x chips / output_tps`` [J/token]: the chips' power under the served load
    (tco.economics.costs' activity model, capped at TDP) per output token; host, network and PUE
    are not included (the figure per-GPU energy measurements such as ML.ENERGY report)."""
    perf = pl.DataFrame(
        {
            "hardware": pl.Series([r.hardware], dtype=pl.Enum([r.hardware])),
            "chips": [r.chips],
            "stps": [float(r.output_tps.to("token/s").m)],
            "flop_per_s_chip": [float(r.flop_per_s_chip.to("FLOP/s").m)],
            "bytes_per_s_chip": [float(r.bytes_per_s_chip.to("B/s").m)],
            "tier2_bytes_per_s_chip": [float(r.tier2_bytes_per_s_chip.to("B/s").m)],
        }
    )
    frame = cost_frame(perf, chip_table(catalogs), load_site(catalogs), precision, "activity")
    return float(frame["chip_power_w"][0] * r.chips / perf["stps"][0])
