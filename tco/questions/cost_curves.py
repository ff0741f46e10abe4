"""The buyer's curves: every design's throughput per chip and cost against the speed of one user.

Buyers' dashboards (InferenceMAX-style) show, per model and workload, each chip's output tokens/s
per chip and $ per million tokens as curves against tokens/s per user, so the winner can be read
at any speed. :func:`buyer_curves` builds those curves from an Evaluation's priced frame: per
design and per metric, the Pareto frontier of UTPS against the metric
(:func:`tco.questions.tradeoffs.frontier`) over every fitting configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tco.questions.tradeoffs import frontier

#: The curves a buyer reads: output tokens/s per chip, and $ per million output tokens.
BUYER_METRICS = ("stps_per_chip", "usd_per_mtok")
#: Columns that say which configuration a point is (shown on hover).
CONFIG_COLUMNS = ("chips", "tp", "pp", "ep", "batch", "users")


def buyer_curves(frame: pl.DataFrame, metrics: Sequence[str] = BUYER_METRICS) -> pl.DataFrame:
    """Long frame of every design's frontier, one row per (design, metric, point).

    Columns: hardware, memory_class, availability (when ``frame`` has it), metric, value, utps,
    the configuration (chips, tp, pp, ep, batch, users) and ``config``, a one-line description.
    Within a (design, metric) the rows run from the fastest point down.
    """
    keep = [c for c in ("hardware", "memory_class", "availability") if c in frame.columns]
    parts = [
        frontier(frame, m)
        .select(*keep, "utps", *CONFIG_COLUMNS, pl.col(m).alias("value"))
        .with_columns(pl.col("hardware").cast(pl.String), metric=pl.lit(m))
        for m in metrics
    ]
    curves = pl.concat(parts)
    return curves.with_columns(
        config=pl.format("{} chips (TP {} x PP {} x EP {}), batch {}", "chips", "tp", "pp", "ep", "batch")
    )
