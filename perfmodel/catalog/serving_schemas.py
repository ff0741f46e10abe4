"""Schemas of the serving catalogs: engine profiles, achieved efficiencies, public measurements.

- ``engine_profiles.csv``: what a serving engine allows by default (memory fraction, batch cap,
  step token budget, workspace), each with its source.
- ``efficiencies.csv``: per chip (and precision where it differs) the fraction of peak memory
  bandwidth and tensor FLOP/s that real kernels reach, a fixed cost per step and the collective
  latency seen; fitted by ``python -m perfmodel fit`` to ``measurements.csv`` (docs/model.md §7).
  A chip without measurements names the measured chip it ``resembles`` and carries no figures.
- ``measurements.csv``: public measurements of real servers (one row per point, with its source).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from perfmodel.catalog.table import Column, Schema

EFFICIENCY_PRECISIONS = ("any", "bf16", "fp8", "fp4")
EFFICIENCY_FIELDS = (
    "bw_efficiency",
    "prefill_efficiency",
    "decode_efficiency",
    "step_overhead",
    "token_overhead",
    "collective_latency",
)


def _fraction(name: str, doc: str, required: bool = True) -> Column:
    return Column(name, "float", None, required=required, doc=doc, plausible=(0.05, 1.0))


ENGINE_PROFILES = Schema(
    "engine_profiles.csv",
    (
        Column("name", "text", doc="serving engine"),
        _fraction(
            "memory_fraction", "fraction of each chip's memory the engine uses (weights + KV + workspace)"
        ),
        Column(
            "max_concurrency", "int", doc="most sequences in one step (vLLM max_num_seqs)", plausible=(1, 1e5)
        ),
        Column(
            "max_step_tokens",
            "float",
            "token",
            doc="most tokens (decode + prompt chunks) in one step (vLLM max_num_batched_tokens)",
            plausible=(64, 1e6),
        ),
        Column("cuda_graph_max_batch", "int", required=False, doc="largest batch captured in a CUDA graph"),
        Column(
            "workspace",
            "float",
            "B",
            minimum=0,
            strict=False,
            doc="memory per chip outside weights and KV cache",
        ),
        Column("source", "text"),
    ),
)


def resembles_rules(r: dict, fields: Iterable[str]) -> Iterable[tuple[str, str]]:
    """A fitted row has every figure in ``fields``; a row that ``resembles`` a measured chip has none."""
    if r["resembles"] is not None:
        if r["resembles"] == r["hardware"]:
            yield "resembles", "another chip (a measured one), not the row's own"
        for f in fields:
            if r[f] is not None:
                yield f, "empty: the row takes every figure from the chip it resembles"
    else:
        for f in fields:
            if r[f] is None:
                yield f, "a value, or the name of a measured chip in resembles"


def heldout_columns(what: str) -> tuple[Column, ...]:
    """``points`` behind a fit and the held-out error of fits that left ``what`` out."""
    return (
        Column("points", "int", required=False, minimum=0, strict=False, doc="measurements behind the fit"),
        Column(
            "heldout_points",
            "int",
            required=False,
            minimum=0,
            strict=False,
            doc=f"points predicted by fits that left their {what} out",
        ),
        Column(
            "heldout_median_ratio",
            "float",
            None,
            required=False,
            doc="median model / measured on those held-out points",
        ),
        Column(
            "heldout_within_25pct",
            "float",
            None,
            required=False,
            minimum=0,
            strict=False,
            doc="share of those held-out points within 25 %",
        ),
    )


def _efficiency_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from resembles_rules(r, EFFICIENCY_FIELDS)
    for f in ("bw_efficiency", "prefill_efficiency", "decode_efficiency"):
        if r[f] is not None and r[f] > 1:
            yield f, "at most 1 (a fraction of the peak)"


EFFICIENCIES = Schema(
    "efficiencies.csv",
    (
        Column("hardware", "text", doc="chip from hardware.csv"),
        Column("precision", "text", choices=EFFICIENCY_PRECISIONS, doc="weight precision the row applies to"),
        Column("engine", "text", doc="engine profile the deployment uses"),
        Column("resembles", "text", required=False, doc="measured chip whose figures this chip takes"),
        _fraction("bw_efficiency", "achieved / peak memory bandwidth", required=False),
        _fraction("prefill_efficiency", "achieved / peak tensor FLOP/s in prefill", required=False),
        _fraction("decode_efficiency", "achieved / peak tensor FLOP/s in decode", required=False),
        Column(
            "step_overhead",
            "float",
            "s",
            required=False,
            minimum=0,
            strict=False,
            doc="fixed time per step (scheduling, launches, sampling)",
            plausible=(0, 0.1),
        ),
        Column(
            "token_overhead",
            "float",
            "s",
            required=False,
            minimum=0,
            strict=False,
            doc="time per token of a step outside the matmuls (sampling, routing, scheduling)",
            plausible=(0, 1e-3),
        ),
        Column(
            "collective_latency",
            "float",
            "s",
            required=False,
            doc="latency of one all-reduce inside the scale-up domain, as seen",
            plausible=(1e-7, 1e-3),
        ),
        *heldout_columns("source"),
        Column("fit", "text", doc="how the figures were obtained"),
        Column("source", "text"),
    ),
    key=("hardware", "precision"),
    row_check=_efficiency_rules,
)


#: Most requests in flight per instance a measured run may name: the largest batch cap of a serving
#: engine the catalog allows (``max_concurrency`` of engine_profiles.csv, plausible up to 1e5).
MAX_MEASURED_CONCURRENCY = 100_000
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def source_rules(r: dict) -> Iterable[tuple[str, str]]:
    """A measured run has a calendar date (YYYY-MM-DD, ASCII digits) that is not in the future:
    the fits keep the points measured within a window of the newest one (docs/model.md §7)."""
    text = r["date"]
    try:
        day = datetime.date.fromisoformat(text) if text and _ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    today = datetime.date.today()
    if text is not None and day is None:
        yield "date", "a date YYYY-MM-DD such as 2025-06-30"
    elif day is not None and day > today:
        yield "date", f"a date not after today ({today.isoformat()}): when the run was measured"


def _measurement_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from source_rules(r)
    c = r["concurrency"]
    if (
        c is not None
        and c != "max"
        and not (c.isascii() and c.isdigit() and 1 <= int(c) <= MAX_MEASURED_CONCURRENCY)
    ):
        yield (
            "concurrency",
            f"a whole number from 1 to {MAX_MEASURED_CONCURRENCY:,}, or max (offline runs at the engine's "
            "largest batch)",
        )
    if None not in (r["tp"], r["pp"], r["chips"]) and r["tp"] * r["pp"] != r["chips"]:
        yield "chips", f"tp x pp = {r['tp'] * r['pp']}"
    if r["osl"] is not None and r["osl"] < 2:
        yield "osl", "at least 2 tokens (one from the prefill, one decoded)"


#: The columns every catalog of measured runs opens with: where, when, what served and on what.
SOURCE_COLUMNS = (
    Column("source_id", "text", doc="short name of the source document; a fit leaves one out at a time"),
    Column("source", "text", doc="URL or repository path"),
    Column("date", "text", doc="YYYY-MM-DD"),
    Column("engine", "text"),
    Column("model", "text", doc="model from models.csv"),
    Column("precision", "text", choices=("bf16", "fp8", "fp4"), doc="weights"),
)
#: A run's workload and its measured output throughput. The bands: requests of 1 token to 10 M
#: (the longest context of a published model, Llama 4 Scout's 10 M tokens); 0.01 tokens/s to 1 M
#: per chip (the packaged runs span 4 to 57,000).
WORKLOAD_COLUMNS = (
    Column("isl", "float", "token", doc="input tokens per request", plausible=(1.0, 1e7)),
    Column("osl", "float", "token", doc="output tokens per request", plausible=(1.0, 1e7)),
)
OUTPUT_TPS = Column(
    "output_tps_per_chip",
    "float",
    "token/s",
    doc="measured output tokens/s per chip",
    plausible=(1e-2, 1e6),
)

MEASUREMENTS = Schema(
    "measurements.csv",
    (
        *SOURCE_COLUMNS,
        Column("kv_precision", "text", choices=("bf16", "fp8", "fp4"), doc="KV cache"),
        Column("hardware", "text", doc="chip from hardware.csv"),
        Column("chips", "int", doc="chips of one model instance"),
        Column("tp", "int"),
        Column("pp", "int"),
        Column("ep", "int"),
        Column("dp_attention", "bool", doc="attention data-parallel across the expert-parallel group (DEP)"),
        *WORKLOAD_COLUMNS,
        Column("concurrency", "text", doc="requests in flight per instance, or max"),
        OUTPUT_TPS,
        Column("utps", "float", "token/s", required=False, doc="measured tokens/s per user"),
        Column(
            "joules_per_output_token",
            "float",
            "J/token",
            required=False,
            doc="measured energy per output token",
        ),
        Column(
            "latency_mean",
            "float",
            "s",
            required=False,
            doc="mean request latency (end to end), where the source publishes it",
        ),
        Column("latency_median", "float", "s", required=False, doc="median request latency, likewise"),
        Column("notes", "text", required=False),
    ),
    key=(
        "source_id",
        "engine",
        "date",
        "model",
        "hardware",
        "precision",
        "kv_precision",
        "tp",
        "pp",
        "ep",
        "dp_attention",
        "isl",
        "osl",
        "concurrency",
    ),
    row_check=_measurement_rules,
)
