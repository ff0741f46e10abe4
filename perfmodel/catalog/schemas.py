"""Schemas of the performance catalogs: models, hardware, scenarios and their per-model overrides.

Canonical units (what the loaded tables hold): bytes, bytes/s, FLOP/s, seconds, and plain counts.
Cross-field rules (an MoE model needs its expert sizes, MLA needs its ranks) live in the
``row_check`` of each schema so that a bad row is reported with its line and column.
"""

from __future__ import annotations

from collections.abc import Iterable

from perfmodel.catalog.serving_schemas import (
    EFFICIENCIES,
    EFFICIENCY_RANGES,
    ENGINE_PROFILES,
    MEASUREMENTS,
    SPECULATIVE_DECODING,
)
from perfmodel.catalog.table import Column, Schema
from perfmodel.inputs import PRECISIONS

#: Bytes per element of each precision (block-scale overhead of FP4/FP8 formats is not modelled).
PRECISION_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}


def _count(name: str, doc: str, required: bool = False, minimum: float = 0, strict: bool = True) -> Column:
    return Column(name, "int", required=required, minimum=minimum, strict=strict, doc=doc)


def _model_rules(r: dict) -> Iterable[tuple[str, str]]:
    mla = r["kv_lora_rank"] is not None
    if mla:
        for c in ("qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"):
            if r[c] is None:
                yield c, "a value: MLA models (kv_lora_rank set) need qk_rope/qk_nope/v head dims"
    else:
        for c in ("kv_heads", "head_dim"):
            if r[c] is None:
                yield c, "a value: attention without kv_lora_rank (GQA/MHA) needs kv_heads and head_dim"
        if r["kv_heads"] and r["heads"] and r["heads"] % r["kv_heads"]:
            yield "kv_heads", f"a divisor of heads ({r['heads']})"
    if r["experts"] is not None:
        for c in ("ffn_expert", "experts_per_token"):
            if r[c] is None:
                yield c, "a value: MoE models (experts set) need ffn_expert and experts_per_token"
        if r["experts_per_token"] and r["experts_per_token"] > r["experts"]:
            yield "experts_per_token", f"at most experts ({r['experts']})"
        dense_layers = r["layers"] - moe_layer_count(r) if r["layers"] is not None else 0
        if dense_layers and r["ffn_dense"] is None:
            yield "ffn_dense", f"a value: this model has {dense_layers} dense FFN layers"
    else:
        if r["ffn_dense"] is None:
            yield "ffn_dense", "a value: a dense model needs ffn_dense"
        for c in ("experts_per_token", "ffn_expert", "shared_experts", "moe_every"):
            if r[c]:
                yield c, "empty: only MoE models (experts set) have it"
    if r["sliding_layers"] and r["sliding_window"] is None:
        yield "sliding_window", "a value: sliding_layers is set"
    if r["sliding_layers"] and r["layers"] and r["sliding_layers"] > r["layers"]:
        yield "sliding_layers", f"at most layers ({r['layers']})"
    if r["first_dense"] and r["layers"] and r["first_dense"] >= r["layers"]:
        yield "first_dense", f"fewer than layers ({r['layers']})"


def moe_layer_count(r: dict) -> int:
    """MoE layers: every ``moe_every``-th layer after the first ``first_dense`` dense ones."""
    if r["experts"] is None or r["layers"] is None:
        return 0
    return (r["layers"] - (r["first_dense"] or 0)) // (r["moe_every"] or 1)


MODELS = Schema(
    "models.csv",
    (
        Column("name", "text", doc="model name used on the command line"),
        _count("layers", "transformer layers", required=True),
        _count("hidden", "hidden size", required=True),
        _count("heads", "attention (query) heads", required=True),
        _count("kv_heads", "key/value heads (GQA); empty for MLA"),
        _count("head_dim", "dimension per head; empty for MLA"),
        _count("ffn_dense", "intermediate size of a dense (gated) FFN layer"),
        _count("ffn_expert", "intermediate size of one routed or shared expert"),
        _count("experts", "routed experts per MoE layer; empty for dense models"),
        _count("experts_per_token", "routed experts each token uses"),
        _count("shared_experts", "always-on shared experts per MoE layer", strict=False),
        _count("moe_every", "an MoE FFN every k-th layer after the dense ones"),
        _count("first_dense", "leading layers with a dense FFN", strict=False),
        _count("kv_lora_rank", "MLA latent KV rank"),
        _count("q_lora_rank", "MLA query low-rank size"),
        _count("qk_rope_head_dim", "MLA rotary part of each head"),
        _count("qk_nope_head_dim", "MLA non-rotary part of each head"),
        _count("v_head_dim", "MLA value head dimension"),
        _count("sliding_window", "window of the sliding-window attention layers [tokens]"),
        _count("sliding_layers", "how many layers use the sliding window", strict=False),
        _count("vocab", "vocabulary size", required=True),
        Column("tied_embeddings", "bool", required=False, doc="input and output embeddings shared"),
        Column("total_params_published", "float", "1", doc="published total parameters"),
        Column("active_params_published", "float", "1", doc="published active parameters"),
        Column("source", "text", doc="where the architecture comes from (config.json URL)"),
    ),
    row_check=_model_rules,
)


#: How far beyond its plausibility band a hardware figure may go before it is refused [factor]: a
#: bandwidth, FLOP/s, capacity or latency six orders of magnitude off is a typo, and far enough off
#: (``mem_bw = 1e-320 TB/s``, a subnormal float) bytes / bandwidth overflows to inf and every
#: time, throughput and cost after it is inf or nan.
HARD_RANGE_FACTOR = 1e6


def hard_range(col: Column) -> tuple[float, float]:
    """The values ``col`` (a column with a plausibility band) accepts, in its canonical unit."""
    lo, hi = col.plausible
    return lo / HARD_RANGE_FACTOR, hi * HARD_RANGE_FACTOR


def _hard_ranges(r: dict) -> Iterable[tuple[str, str]]:
    for col in HARDWARE.columns:
        value = r[col.name]
        if col.kind != "float" or col.plausible is None or value is None:
            continue
        lo, hi = hard_range(col)
        if not lo <= value <= hi:
            yield (
                col.name,
                (
                    f"a value between {lo:.3g} and {hi:.3g} {col.unit} (got {value:.3g} {col.unit}: "
                    "outside it the model's times and costs overflow)"
                ),
            )


def _hardware_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from _hard_ranges(r)
    tier2 = [r["tier2_technology"], r["tier2_bw"], r["tier2_capacity"]]
    if any(t is not None for t in tier2) and not all(t is not None for t in tier2):
        yield "tier2_technology", "all of tier2_technology, tier2_bw and tier2_capacity, or none"
    out, up = r["scaleout_sync_latency"], r["sync_latency"]
    if out is not None and up is not None and out < up:
        yield "scaleout_sync_latency", "at least sync_latency (scale-out is not faster than scale-up)"


#: Whether a design can be bought: on the market, launched but not shipping, or a design study.
AVAILABILITY = ("shipping", "announced", "hypothetical")


HARDWARE = Schema(
    "hardware.csv",
    (
        Column("name", "text", doc="chip name used on the command line"),
        Column("vendor", "text"),
        Column("memory_technology", "text", doc="main memory the weights and KV cache live in"),
        Column("mem_bw", "float", "B/s", doc="main-memory bandwidth per chip", plausible=(1e10, 5e16)),
        Column("mem_capacity", "float", "B", doc="main-memory capacity per chip", plausible=(1e6, 1e14)),
        Column(
            "tensor_bf16",
            "float",
            "FLOP/s",
            doc="dense BF16 tensor throughput per chip",
            plausible=(1e12, 1e18),
        ),
        Column(
            "tensor_fp8",
            "float",
            "FLOP/s",
            required=False,
            doc="dense FP8 tensor throughput; empty = runs at the BF16 rate",
            plausible=(1e12, 1e18),
        ),
        Column(
            "tensor_fp4",
            "float",
            "FLOP/s",
            required=False,
            doc="dense FP4 tensor throughput; empty = runs at the FP8 rate",
            plausible=(1e12, 1e18),
        ),
        Column(
            "scalar",
            "float",
            "FLOP/s",
            doc="non-tensor (vector FP32) throughput per chip",
            plausible=(1e11, 1e17),
        ),
        _count("scaleup_domain", "chips in one scale-up (e.g. NVLink) domain", required=True),
        Column(
            "scaleup_bw_bidir",
            "float",
            "B/s",
            doc="scale-up link bandwidth per chip, both directions (datasheet figure)",
            plausible=(1e9, 1e14),
        ),
        Column(
            "sync_latency",
            "float",
            "s",
            doc="latency of one collective inside the domain",
            plausible=(1e-8, 1e-3),
        ),
        Column(
            "scaleout_bw_bidir",
            "float",
            "B/s",
            doc="scale-out bandwidth per chip, both directions",
            plausible=(1e8, 1e14),
        ),
        Column(
            "scaleout_sync_latency",
            "float",
            "s",
            doc="latency of one collective across domains",
            plausible=(1e-8, 1e-2),
        ),
        Column("tier2_technology", "text", required=False, doc="second memory tier holding the weights"),
        Column(
            "tier2_bw",
            "float",
            "B/s",
            required=False,
            doc="bandwidth of the second tier per chip",
            plausible=(1e9, 1e16),
        ),
        Column(
            "tier2_capacity",
            "float",
            "B",
            required=False,
            doc="capacity of the second tier per chip",
            plausible=(1e9, 1e15),
        ),
        Column(
            "availability",
            "text",
            required=False,
            choices=AVAILABILITY,
            doc="shipping, announced or hypothetical; empty reads as hypothetical",
        ),
        Column("source", "text"),
    ),
    row_check=_hardware_rules,
    max_rows=500,  # every design is searched on every question: ~1 MB of grid per design
)


def _scenario_rules(r: dict) -> Iterable[tuple[str, str]]:
    anchors = [r["sync_chips_a"], r["sync_a"], r["sync_chips_b"], r["sync_b"]]
    if any(a is not None for a in anchors) and not all(a is not None for a in anchors):
        yield "sync_b", "all four of sync_chips_a, sync_a, sync_chips_b, sync_b, or none"
    elif all(a is not None for a in anchors) and r["sync_chips_a"] == r["sync_chips_b"]:
        yield "sync_chips_b", "a chip count different from sync_chips_a"


SCENARIOS = Schema(
    "scenarios.csv",
    (
        Column("name", "text"),
        Column("precision", "text", choices=PRECISIONS, doc="weight precision and tensor-FLOPS column"),
        Column("kv_precision", "text", choices=PRECISIONS, doc="KV-cache element precision"),
        Column("activation_precision", "text", choices=PRECISIONS, doc="activations in collectives"),
        Column(
            "param_counts",
            "text",
            choices=("published", "scenario"),
            doc="published architecture, or the per-model counts in scenario_models.csv",
        ),
        Column("include_embeddings", "bool", doc="count embedding and LM-head weights"),
        Column(
            "sliding_window",
            "bool",
            doc="sliding-window layers keep only their window of KV cache (false: sized as full attention)",
        ),
        Column(
            "collective_bandwidth",
            "bool",
            doc="add message size / link bandwidth to each collective's latency",
        ),
        Column(
            "uneven_heads",
            "bool",
            required=False,
            doc="the limit mode accepts any TP, splitting the attention heads unevenly; the busiest chip "
            "sets the time (empty or absent: false, TP must divide the heads or be a multiple of them)",
        ),
        _count("sync_chips_a", "chips of the first collective-latency anchor"),
        Column("sync_a", "float", "s", required=False, doc="collective latency at sync_chips_a"),
        _count("sync_chips_b", "chips of the second collective-latency anchor"),
        Column("sync_b", "float", "s", required=False, doc="collective latency at sync_chips_b"),
        Column("description", "text"),
        Column("source", "text"),
    ),
    row_check=_scenario_rules,
)


def _override_rules(r: dict) -> Iterable[tuple[str, str]]:
    active, total = r["active_params"], r["total_params"]
    if active is not None and total is not None and active > total:
        yield "active_params", f"at most total_params ({total:g})"


SCENARIO_MODELS = Schema(
    "scenario_models.csv",
    (
        Column("scenario", "text"),
        Column("model", "text"),
        Column(
            "active_params",
            "float",
            "1",
            doc="parameters read per token (no embeddings)",
            plausible=(1e8, 1e14),
        ),
        Column(
            "total_params",
            "float",
            "1",
            doc="parameters held in memory (no embeddings)",
            plausible=(1e8, 1e14),
        ),
        Column("source", "text"),
    ),
    key=("scenario", "model"),
    row_check=_override_rules,
)

SCHEMAS = {
    s.file.removesuffix(".csv"): s
    for s in (
        MODELS,
        HARDWARE,
        SCENARIOS,
        SCENARIO_MODELS,
        ENGINE_PROFILES,
        EFFICIENCIES,
        EFFICIENCY_RANGES,
        MEASUREMENTS,
        SPECULATIVE_DECODING,
    )
}
