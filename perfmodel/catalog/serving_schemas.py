"""Schemas of the serving catalogs: engine profiles, achieved efficiencies, public measurements.

- ``engine_profiles.csv``: what a serving engine does, on every chip: its defaults (memory
  fraction, batch cap per data-parallel rank, step token budget, workspace, KV reserve, whether
  it overlaps expert-parallel communication), each with its source, and its fitted overheads
  per step and per token with their sourced ranges.
- ``efficiencies.csv``: per chip (and precision where it differs) the chip's physics as real
  kernels reach it: the fraction of peak memory bandwidth and tensor FLOP/s, and the collective
  latency seen; fitted by ``python -m perfmodel fit`` to ``measurements.csv`` (docs/model.md §7).
  A chip without measurements names the measured chip it ``resembles`` and carries no figures.
- ``efficiency_ranges.csv``: the physically plausible range of each chip figure, with its source;
  the fit stays inside it.
- ``measurements.csv``: public measurements of real servers (one row per point, with its source).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from perfmodel.catalog.table import Column, Schema

EFFICIENCY_PRECISIONS = ("any", "bf16", "fp8", "fp4")
#: The chip's physics: shared by every engine that runs on the chip (efficiencies.csv).
CHIP_FIELDS = ("bw_efficiency", "prefill_efficiency", "decode_efficiency", "collective_latency")
#: The engine's overheads: shared by every chip the engine runs on (engine_profiles.csv).
ENGINE_FIELDS = ("step_overhead", "token_overhead")
EFFICIENCY_FIELDS = CHIP_FIELDS + ENGINE_FIELDS


def _fraction(name: str, doc: str, required: bool = True) -> Column:
    return Column(name, "float", None, required=required, doc=doc, plausible=(0.05, 1.0))


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


ENGINE_PROFILES = Schema(
    "engine_profiles.csv",
    (
        Column("name", "text", doc="serving engine"),
        _fraction(
            "memory_fraction", "fraction of each chip's memory the engine uses (weights + KV + workspace)"
        ),
        Column(
            "max_concurrency",
            "int",
            doc="most sequences in one step per data-parallel rank (vLLM max_num_seqs)",
            plausible=(1, 1e5),
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
        Column(
            "kv_reserve",
            "float",
            None,
            minimum=0,
            strict=False,
            doc="share of a sequence's remaining output tokens whose KV blocks the scheduler reserves "
            "(1: the worst case, no preemption; 0: blocks on demand)",
            plausible=(0.0, 1.0),
        ),
        Column(
            "ep_overlap",
            "bool",
            doc="expert-parallel dispatch and combine overlapped with compute (two micro-batches)",
        ),
        Column(
            "dp_per_rank",
            "bool",
            doc="attention data-parallel ranks each schedule their own sequences and dispatch only "
            "their own tokens to the experts (false: tokens all-gathered to every rank)",
        ),
        Column("source", "text"),
        Column(
            "overheads_as",
            "text",
            required=False,
            doc="engine whose fitted overheads this engine takes (an engine without measurements)",
        ),
        *(
            Column(
                f"{f}{end}",
                "float",
                "s",
                required=False,
                minimum=0,
                strict=False,
                doc=f"{what}{suffix}",
                plausible=band,
            )
            for f, what, band in (
                ("step_overhead", "fixed time per step (scheduling, launches, sampling)", (0, 0.1)),
                ("token_overhead", "time per token of a step outside the matmuls", (0, 1e-3)),
            )
            for end, suffix in (
                ("", ", fitted"),
                ("_low", ": lowest plausible"),
                ("_high", ": highest plausible"),
            )
        ),
        Column("overhead_source", "text", required=False, doc="where the overhead range comes from"),
        *heldout_columns("source"),
        Column("fit", "text", required=False, doc="how the overheads were obtained"),
    ),
    row_check=lambda r: _engine_rules(r),
)


def _engine_rules(r: dict) -> Iterable[tuple[str, str]]:
    """An engine has fitted overheads within their range, or takes another engine's."""
    if r["overheads_as"] is not None:
        if r["overheads_as"] == r["name"]:
            yield "overheads_as", "another engine (a measured one), not the row's own"
        return
    for f in ENGINE_FIELDS:
        if r[f] is None:
            yield f, "a value, or the name of a measured engine in overheads_as"
    yield from _range_rules(r, ENGINE_FIELDS, fitted=True)


def _range_rules(r: dict, fields: Iterable[str], fitted: bool = False) -> Iterable[tuple[str, str]]:
    """Each ``low`` at most its ``high`` (and a fitted figure inside them)."""
    for f in fields:
        lo, hi = r.get(f"{f}_low"), r.get(f"{f}_high")
        if lo is None or hi is None:
            yield (f"{f}_low" if lo is None else f"{f}_high"), "a number: the range the fit stays in"
        elif lo > hi:
            yield f"{f}_high", f"at least {f}_low"
        elif fitted and r.get(f) is not None and not lo * (1 - 1e-3) <= r[f] <= hi * (1 + 1e-3):
            yield f, f"within {f}_low-{f}_high (the fit stays in its range)"


def _efficiency_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from resembles_rules(r, CHIP_FIELDS)
    for f in ("bw_efficiency", "prefill_efficiency", "decode_efficiency"):
        if r[f] is not None and r[f] > 1:
            yield f, "at most 1 (a fraction of the peak)"


EFFICIENCIES = Schema(
    "efficiencies.csv",
    (
        Column("hardware", "text", doc="chip from hardware.csv"),
        Column("precision", "text", choices=EFFICIENCY_PRECISIONS, doc="weight precision the row applies to"),
        Column(
            "engine", "text", doc="engine a deployment uses unless told (the one most measured on the chip)"
        ),
        Column("resembles", "text", required=False, doc="measured chip whose figures this chip takes"),
        _fraction("bw_efficiency", "achieved / peak memory bandwidth", required=False),
        _fraction("prefill_efficiency", "achieved / peak tensor FLOP/s in prefill", required=False),
        _fraction("decode_efficiency", "achieved / peak tensor FLOP/s in decode", required=False),
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


EFFICIENCY_RANGES = Schema(
    "efficiency_ranges.csv",
    (
        Column("hardware", "text", doc="chip from hardware.csv"),
        Column("precision", "text", choices=EFFICIENCY_PRECISIONS, doc="weight precision the row applies to"),
        *(
            Column(f"{f}{end}", "float", unit, doc=f"{f}: {what}", plausible=band)
            for f, unit, band in (
                ("bw_efficiency", None, (0.05, 1.0)),
                ("prefill_efficiency", None, (0.05, 1.0)),
                ("decode_efficiency", None, (0.01, 1.0)),
                ("collective_latency", "s", (1e-7, 1e-3)),
            )
            for end, what in (("_low", "lowest plausible"), ("_high", "highest plausible"))
        ),
        Column("source", "text", doc="microbenchmarks, kernel timings or profiles behind the ranges"),
    ),
    key=("hardware", "precision"),
    row_check=lambda r: _range_rules(r, CHIP_FIELDS),
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
        Column(
            "max_seqs",
            "int",
            required=False,
            doc="the run's batch cap per data-parallel rank where it set one (vLLM max_num_seqs, "
            "SGLang max_running_requests, TensorRT-LLM max_batch_size); empty: the engine's default",
            plausible=(1, 1e5),
        ),
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


def _acceptance_rules(r: dict) -> Iterable[tuple[str, str]]:
    """An acceptance rate is a share of verify steps: at most 1."""
    if r["acceptance"] is not None and r["acceptance"] > 1:
        yield "acceptance", "a share of verify steps between 0 and 1"


SPECULATIVE_DECODING = Schema(
    "speculative_decoding.csv",
    (
        Column("model", "text", doc="model from models.csv whose decode is drafted"),
        Column(
            "draft",
            "text",
            doc="mtp: the model's own multi-token-prediction module; else a draft model from models.csv",
        ),
        Column("position", "int", doc="draft position (1: the first token after the verified one)"),
        Column(
            "acceptance",
            "float",
            None,
            minimum=0,
            strict=False,
            doc="share of verify steps in which this draft position is accepted (as vLLM reports it)",
            plausible=(0.05, 1.0),
        ),
        Column("source", "text", doc="where the acceptance was measured (engine, dataset)"),
    ),
    key=("model", "draft", "position"),
    row_check=_acceptance_rules,
)
