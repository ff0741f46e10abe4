"""Energy per output token of a served configuration, at the chips' activity power."""

from __future__ import annotations

import polars as pl

from perfmodel.api.plans import PlanServe
from perfmodel.api.serving import Serve
from perfmodel.catalog.folder import Catalogs
from tco.economics.chip_costs import chip_table
from tco.economics.costs import cost_frame, load_site


def joules_per_output_token(r: Serve | PlanServe, catalogs: Catalogs, precision: str) -> float:
    """``sum_pools P_chip chips / output_tps`` [J/token]: each pool's chips at their power under
    the served load (tco.economics.costs' activity model, capped at TDP; a disaggregated plan's
    pools at their own utilization) per output token; host, network and PUE are not included
    (the figure per-GPU energy measurements such as ML.ENERGY report)."""
    pools = r.pools
    names = list(dict.fromkeys(p["hardware"] for p in pools))
    perf = pl.DataFrame(
        {
            "hardware": pl.Series([p["hardware"] for p in pools], dtype=pl.Enum(names)),
            "chips": [p["chips"] for p in pools],
            "stps": [float(r.output_tps.to("token/s").m)] * len(pools),
            **{
                k: [p[k] for p in pools]
                for k in ("flop_per_s_chip", "bytes_per_s_chip", "tier2_bytes_per_s_chip")
            },
        }
    )
    frame = cost_frame(perf, chip_table(catalogs), load_site(catalogs), precision, "activity")
    return float((frame["chip_power_w"] * frame["chips"]).sum() / perf["stps"][0])
