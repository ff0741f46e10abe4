"""The decode model: hand-derived closed forms, batch and capacity rules, the grid, and properties.

The expected values are written out from the design (docs/model.md, section 1) and the
architecture numbers of models.csv / hardware.csv, never taken from the package's helpers.
"""

from __future__ import annotations

import dataclasses
import math
import re
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import perfmodel
from perfmodel import Q_
from perfmodel.inputs import InvalidInput
from perfmodel.model.decode_step import decode_arrays, distinct_experts, max_batch

#: Closed forms and the model evaluate the same sums in a different order: a few ulp apart.
CLOSED_FORM_RTOL = 1e-12
#: decode() and decode_grid() run the same numpy code on scalars vs. broadcast arrays.
GRID_RTOL = 1e-12
#: Monotonicity laws that are exact in real numbers but compare quotients of rounded sums
#: (STPS = B / T_batch with T_batch ~ B when compute-bound): allow a few ulp of rounding.
MONOTONE_RTOL = 1e-12

GIB = 2**30
TIB = 2**40
LIMINAL = "liminal-2025"
PUBLISHED = "published"
CTX_128K = 131072

# --- figures used in the hand derivations (models.csv, hardware.csv, scenario_models.csv) -------
# llama3-70b architecture
L70, H70, HEADS70, KV70, HD70, FFN70, VOCAB70 = 80, 8192, 64, 8, 128, 28672, 128256
# xpu-hbm3 (the study's chip): 4 TiB/s, 96 GiB, 2.25 PFLOP/s FP8, 40 TFLOP/s scalar
XPU_BW, XPU_CAP, XPU_FP8, XPU_SCALAR = 4 * TIB, 96 * GIB, 2250e12, 40e12
# h100-sxm: 3.35 TB/s, 80 GiB, 1979 TFLOP/s FP8, 67 TFLOP/s scalar, NVLink 900 GB/s bidirectional,
# 8-chip domain, 5 us inside it, 100 GB/s and 15 us beyond it
H100_BW, H100_CAP, H100_FP8, H100_SCALAR = 3.35e12, 80 * GIB, 1979e12, 67e12
H100_UP_BIDIR, H100_OUT_BIDIR, H100_SYNC, H100_OUT_SYNC, H100_DOMAIN = 900e9, 100e9, 5e-6, 15e-6, 8


@cache
def setup(scenario: str) -> perfmodel.Setup:
    return perfmodel.prepare(scenario=scenario)


def _decode(*args, scenario=LIMINAL, **kwargs) -> perfmodel.Decode:
    return perfmodel.decode(*args, setup=setup(scenario), **kwargs)


def _liminal_sync(n: float) -> float:
    """The scenario's power law through (8 chips, 0.5 us) and (128 chips, 2 us)."""
    alpha = math.log(2.0 / 0.5) / math.log(128 / 8)  # = 1/2
    return 0.5e-6 * (n / 8) ** alpha


# --- closed forms ----------------------------------------------------------------------------------


def test_llama3_70b_tp8_single_user_128k_on_xpu_hbm3():
    r = _decode("llama3-70b", "xpu-hbm3", tp=8, batch=1, context=CTX_128K)
    weights = 68e9  # the study's count, 1 byte per weight
    kv_per_token = L70 * 2 * KV70 * HD70 * 1  # K and V, 8 KV heads of 128, 1 byte
    assert kv_per_token == 163840
    t_mem = (weights + CTX_128K * kv_per_token) / (8 * 4 * TIB)
    t_exposed = 2 * L70 * 0.5e-6  # two all-reduces per layer, 0.5 us at 8 chips
    assert r.t_mem.to("s").m == pytest.approx(t_mem, rel=CLOSED_FORM_RTOL)
    assert r.t_exposed.to("s").m == pytest.approx(t_exposed, rel=CLOSED_FORM_RTOL)
    # compute is far below memory at one user
    assert r.t_compute.to("s").m < 0.05 * t_mem
    assert r.utps.to("token/s").m == pytest.approx(1 / (t_mem + t_exposed), rel=CLOSED_FORM_RTOL)
    assert r.stps.to("token/s").m == pytest.approx(1 / (t_mem + t_exposed), rel=CLOSED_FORM_RTOL)
    assert r.memory_needed.to("B").m == pytest.approx(weights + CTX_128K * kv_per_token, rel=CLOSED_FORM_RTOL)
    assert r.memory_available.to("B").m == 8 * XPU_CAP
    assert r.fits
    # the study's table says 381 UTPS here
    assert r.utps.m == pytest.approx(381, rel=0.01)


def test_llama3_70b_compute_time_from_first_principles():
    b, t = 1, CTX_128K
    r = _decode("llama3-70b", "xpu-hbm3", tp=8, batch=b, context=t)
    f_tensor = b * (2 * 68e9 + 4 * HEADS70 * HD70 * L70 * t)  # matmuls + QK^T and AV over the context
    f_scalar = b * (
        2 * 5 * H70 * L70  # two RMSNorms per layer, 5 FLOP per element
        + 5 * L70 * FFN70  # SwiGLU, 5 FLOP per element
        + 5 * HEADS70 * L70 * t  # softmax, 5 FLOP per score
    )
    t_compute = f_tensor / (8 * XPU_FP8) + f_scalar / (8 * XPU_SCALAR)
    assert r.t_compute.to("s").m == pytest.approx(t_compute, rel=CLOSED_FORM_RTOL)


def test_liminal_collective_latency_power_law():
    for tp, sync in ((8, 0.5e-6), (128, 2e-6), (16, 0.5e-6 * math.sqrt(2))):
        r = _decode("llama3-70b", "xpu-hbm3", tp=tp, batch=1, context=CTX_128K)
        assert r.t_exposed.to("s").m == pytest.approx(2 * L70 * sync, rel=CLOSED_FORM_RTOL)
    # one chip: no collectives
    r = _decode("llama3-8b", "xpu-hbm3", tp=1, batch=1, context=4096)
    assert r.t_exposed.m == 0


def test_explicit_sync_overrides_the_scenario():
    r = _decode("llama3-70b", "xpu-hbm3", tp=128, batch=1, context=CTX_128K, sync=Q_(3, "us"))
    assert r.t_exposed.to("s").m == pytest.approx(2 * L70 * 3e-6, rel=CLOSED_FORM_RTOL)


def test_pipeline_parallel_two_stages():
    b, t, pp, tp = 4, CTX_128K, 2, 8
    r = _decode("llama3-70b", "xpu-hbm3", tp=tp, pp=pp, batch=b, context=t)
    kv_seq = t * L70 * 2 * KV70 * HD70
    # every stage reads its share of the weights and KV for each of the PP micro-batches in flight
    t_mem = (68e9 + b * kv_seq) / (tp * XPU_BW)
    t_hop = _liminal_sync(2)  # a point-to-point hop is a 2-chip collective: 0.25 us
    assert t_hop == pytest.approx(0.25e-6, rel=CLOSED_FORM_RTOL)
    t_exposed = 2 * L70 * _liminal_sync(tp) + pp * t_hop
    t_batch = max(r.t_compute.to("s").m, t_mem) + t_exposed
    assert r.t_mem.to("s").m == pytest.approx(t_mem, rel=CLOSED_FORM_RTOL)
    assert r.t_exposed.to("s").m == pytest.approx(t_exposed, rel=CLOSED_FORM_RTOL)
    assert r.t_batch.to("s").m == pytest.approx(t_batch, rel=CLOSED_FORM_RTOL)
    assert r.utps.to("token/s").m == pytest.approx(1 / t_batch, rel=CLOSED_FORM_RTOL)
    assert r.stps.to("token/s").m == pytest.approx(pp * b / t_batch, rel=CLOSED_FORM_RTOL)
    # memory holds all weights plus the KV cache of PP x B sequences, on TP x PP chips
    assert r.memory_needed.to("B").m == pytest.approx(68e9 + pp * b * kv_seq, rel=CLOSED_FORM_RTOL)
    assert r.memory_available.to("B").m == tp * pp * XPU_CAP


def _llama70b_published_params() -> tuple[float, float]:
    """(matrices read per token, embedding rows) of llama3-70b from its config.json."""
    attn = H70 * HEADS70 * HD70 + 2 * H70 * KV70 * HD70 + HEADS70 * HD70 * H70  # Q, K+V, O
    ffn = 3 * H70 * FFN70  # gate, up, down
    body = L70 * (attn + ffn)
    emb = VOCAB70 * H70  # input embedding; the untied LM head is another vocab x hidden
    assert body + 2 * emb == pytest.approx(70.6e9, rel=0.001)  # published 70.6B total
    return body + emb, emb  # streamed per token: layers + LM head


@pytest.mark.parametrize(
    "tp,sync,link_bidir",
    [
        (8, H100_SYNC, H100_UP_BIDIR),  # inside the 8-GPU NVLink domain
        (4, H100_SYNC, H100_UP_BIDIR),
        (16, H100_OUT_SYNC, H100_OUT_BIDIR),  # beyond it: scale-out latency and bandwidth
    ],
)
def test_published_scenario_dense_on_h100(tp, sync, link_bidir):
    b, t = 4, 8192
    r = _decode("llama3-70b", "h100-sxm", tp=tp, batch=b, context=t, scenario=PUBLISHED)
    streamed, emb = _llama70b_published_params()
    kv_seq = t * L70 * 2 * KV70 * HD70 * 1  # FP8 KV
    t_mem = (streamed + b * kv_seq) / (tp * H100_BW)  # FP8 weights, 1 byte
    f_tensor = b * (2 * streamed + 4 * HEADS70 * HD70 * L70 * t)
    f_scalar = b * (2 * 5 * H70 * L70 + 5 * L70 * FFN70 + 5 * HEADS70 * L70 * t)
    t_compute = f_tensor / (tp * H100_FP8) + f_scalar / (tp * H100_SCALAR)
    message = b * H70 * 2  # BF16 activations
    t_allreduce = sync + 2 * (tp - 1) / tp * message / (link_bidir / 2)  # ring, one direction
    t_exposed = 2 * L70 * t_allreduce
    assert r.t_mem.to("s").m == pytest.approx(t_mem, rel=CLOSED_FORM_RTOL)
    assert r.t_compute.to("s").m == pytest.approx(t_compute, rel=CLOSED_FORM_RTOL)
    assert r.t_exposed.to("s").m == pytest.approx(t_exposed, rel=CLOSED_FORM_RTOL)
    assert r.utps.to("token/s").m == pytest.approx(
        1 / (max(t_mem, t_compute) + t_exposed), rel=CLOSED_FORM_RTOL
    )
    # memory holds the input embedding too
    assert r.memory_needed.to("B").m == pytest.approx(streamed + emb + b * kv_seq, rel=CLOSED_FORM_RTOL)
    assert r.memory_available.to("B").m == tp * H100_CAP


def test_published_scenario_sync_override_keeps_the_bandwidth_term():
    b, t, tp = 4, 8192, 8
    r = _decode("llama3-70b", "h100-sxm", tp=tp, batch=b, context=t, scenario=PUBLISHED, sync=Q_(1, "us"))
    t_allreduce = 1e-6 + 2 * (tp - 1) / tp * b * H70 * 2 / (H100_UP_BIDIR / 2)
    assert r.t_exposed.to("s").m == pytest.approx(2 * L70 * t_allreduce, rel=CLOSED_FORM_RTOL)


# --- MoE -------------------------------------------------------------------------------------------

# deepseek-v3 under the study's counts: 61B active, 694B total, E = 256 routed experts, k = 8
DS_E, DS_K, DS_ACTIVE, DS_TOTAL = 256, 8, 61e9, 694e9
DS_KV_PER_TOKEN = 61 * (512 + 64)  # MLA: (kv_lora_rank + qk_rope_head_dim) per layer, 1 byte


def test_distinct_experts_formula():
    b = np.array([0, 1, 2, 10, 100, 10_000], dtype=float)
    expected = DS_E * (1 - (1 - DS_K / DS_E) ** b)
    np.testing.assert_allclose(distinct_experts(DS_E, DS_K, b), expected, rtol=CLOSED_FORM_RTOL)
    assert distinct_experts(DS_E, DS_K, 1.0) == pytest.approx(DS_K, rel=CLOSED_FORM_RTOL)
    assert distinct_experts(0.0, 0.0, 64.0) == 0  # dense model


def test_moe_weights_read_grow_with_batch_and_saturate_at_total():
    batches = [1, 2, 4, 8, 32, 128, 1024, 100_000]
    ctx, tp = 1024, 8
    g = perfmodel.decode_grid(
        ["deepseek-v3"], ["xpu-hbm3"], tp=[tp], batch=batches, context=[ctx], scenario=LIMINAL
    ).sort("batch")
    assert g["batch"].to_list() == batches
    # invert T_mem = (W(B) + B * KV) / (TP * BW) for the weight bytes read
    read = g["t_mem_s"].to_numpy() * tp * XPU_BW - g["batch"].to_numpy() * ctx * DS_KV_PER_TOKEN
    expert = (DS_TOTAL - DS_ACTIVE) / (DS_E - DS_K)  # one routed expert, all MoE layers
    always = DS_ACTIVE - DS_K * expert
    b = np.array(batches, dtype=float)
    expected = always + DS_E * (1 - (1 - DS_K / DS_E) ** b) * expert
    np.testing.assert_allclose(read, expected, rtol=1e-9)  # inverted from t_mem: cancellation
    assert read[0] == pytest.approx(DS_ACTIVE, rel=1e-9)  # one token reads the active parameters
    assert np.all(np.diff(read) > 0)
    assert read[-1] == pytest.approx(DS_TOTAL, rel=1e-9)  # every expert touched
    assert np.all(read <= DS_TOTAL * (1 + 1e-9))


def test_moe_memory_holds_all_experts_at_any_batch():
    r = _decode("deepseek-v3", "xpu-hbm3", tp=8, batch=1, context=4096)
    assert r.memory_needed.to("B").m == pytest.approx(DS_TOTAL + 4096 * DS_KV_PER_TOKEN, rel=CLOSED_FORM_RTOL)


def test_expert_parallel_replaces_ffn_all_reduce_by_all_to_alls():
    # liminal: latency-only collectives; deepseek-v3 has 61 - 3 = 58 MoE layers
    moe, layers = 58, 61
    r1 = _decode("deepseek-v3", "xpu-hbm3", tp=8, ep=1, batch=1, context=4096)
    r8 = _decode("deepseek-v3", "xpu-hbm3", tp=8, ep=8, batch=1, context=4096)
    r2 = _decode("deepseek-v3", "xpu-hbm3", tp=8, ep=2, batch=1, context=4096)
    assert r1.t_exposed.to("s").m == pytest.approx(2 * layers * 0.5e-6, rel=CLOSED_FORM_RTOL)
    assert r8.t_exposed.to("s").m == pytest.approx(
        (2 * layers - moe) * 0.5e-6 + 2 * moe * 0.5e-6, rel=CLOSED_FORM_RTOL
    )
    assert r2.t_exposed.to("s").m == pytest.approx(
        (2 * layers - moe) * 0.5e-6 + 2 * moe * _liminal_sync(2), rel=CLOSED_FORM_RTOL
    )


@pytest.mark.parametrize(
    "model,tp,pp,ep,says",
    [
        ("llama3-8b", 8, 1, 2, "ep must be 1 for the dense model llama3-8b"),
        ("deepseek-v3", 8, 1, 3, "ep (3) must divide tp (8)"),
        ("deepseek-v3", 8, 1, 16, "ep (16) must divide tp (8)"),
        ("llama3-8b", 1, 33, 1, "pp (33) cannot exceed the model's 32 layers"),
    ],
)
def test_invalid_parallelism_is_refused(model, tp, pp, ep, says):
    with pytest.raises(InvalidInput, match=re.escape(says)):
        _decode(model, "xpu-hbm3", tp=tp, pp=pp, ep=ep, batch=1, context=1024)


@pytest.mark.parametrize("kwargs", [{"batch": 0}, {"tp": -1}, {"context": 1.5}, {"pp": True}])
def test_non_positive_or_fractional_arguments_are_refused(kwargs):
    args = {"tp": 1, "batch": 1, "context": 1024} | kwargs
    with pytest.raises(InvalidInput):
        _decode("llama3-8b", "xpu-hbm3", **args)


# --- capacity --------------------------------------------------------------------------------------


@pytest.mark.parametrize("context,batch", [(4096, 1), (4096, 32), (CTX_128K, 32)])
def test_capacity_llama3_8b_exact_bytes(context, batch):
    cap = perfmodel.capacity("llama3-8b", context, batch, setup=setup(LIMINAL))
    weights = 7e9  # the study's 7B, 1 byte each
    kv = batch * context * 32 * 2 * 8 * 128 * 1  # 32 layers, K and V, 8 heads of 128, 1 byte
    assert cap.weights.to("B").m == weights
    assert cap.kv.to("B").m == kv
    assert cap.total.to("B").m == weights + kv
    d = cap.as_dict()
    assert d["weights_gib"] == pytest.approx(weights / GIB, rel=CLOSED_FORM_RTOL)
    assert d["kv_gib"] == pytest.approx(kv / GIB, rel=CLOSED_FORM_RTOL)
    assert d["total_gib"] == pytest.approx((weights + kv) / GIB, rel=CLOSED_FORM_RTOL)


def test_capacity_llama3_8b_published_includes_embeddings():
    attn = 4096 * 32 * 128 * 2 + 2 * 4096 * 8 * 128
    ffn = 3 * 4096 * 14336
    total = 32 * (attn + ffn) + 2 * 128256 * 4096  # untied embedding and LM head
    cap = perfmodel.capacity("llama3-8b", 4096, 1, setup=setup(PUBLISHED))
    assert cap.weights.to("B").m == pytest.approx(total, rel=CLOSED_FORM_RTOL)
    assert cap.kv.to("B").m == 4096 * 32 * 2 * 8 * 128


def test_capacity_of_sliding_window_layers_is_capped_by_the_window():
    # gpt-oss-20b: 24 layers, 12 of them over a 128-token window; 8 KV heads of 64
    per_layer = 2 * 8 * 64
    for context in (64, 128, 4096):
        cap = perfmodel.capacity("gpt-oss-20b", context, 1, setup=setup(PUBLISHED))
        expected = 12 * per_layer * context + 12 * per_layer * min(context, 128)
        assert cap.kv.to("B").m == expected


def test_capacity_mla_kv_cache():
    cap = perfmodel.capacity("deepseek-v3", 4096, 2, setup=setup(LIMINAL))
    assert cap.kv.to("B").m == 2 * 4096 * DS_KV_PER_TOKEN
    assert cap.weights.to("B").m == DS_TOTAL


def test_batch_max_is_the_largest_batch_that_fits():
    free = 8 * XPU_CAP - 68e9
    per_seq = CTX_128K * L70 * 2 * KV70 * HD70
    expected = math.floor(free / per_seq)
    r = _decode("llama3-70b", "xpu-hbm3", tp=8, batch="max", context=CTX_128K)
    assert r.batch == expected == 35
    assert r.fits
    assert not _decode("llama3-70b", "xpu-hbm3", tp=8, batch=expected + 1, context=CTX_128K).fits


@pytest.mark.parametrize(
    "model,hw,tp,pp,ctx",
    [
        ("llama3-70b", "xpu-hbm3", 8, 2, CTX_128K),
        ("deepseek-v3", "xpu-hbm3", 128, 1, CTX_128K),
        ("llama3-8b", "h100-sxm", 1, 1, 4096),
        ("gpt-oss-120b", "mi300x", 2, 1, 32768),
    ],
)
def test_batch_max_fits_and_one_more_does_not(model, hw, tp, pp, ctx):
    for scenario in (LIMINAL, PUBLISHED):
        r = _decode(model, hw, tp=tp, pp=pp, batch="max", context=ctx, scenario=scenario)
        assert r.batch >= 1 and r.fits
        more = _decode(model, hw, tp=tp, pp=pp, batch=r.batch + 1, context=ctx, scenario=scenario)
        assert not more.fits


def test_batch_max_with_pipeline_counts_pp_micro_batches():
    free = 16 * XPU_CAP - 68e9
    per_seq = CTX_128K * L70 * 2 * KV70 * HD70
    r = _decode("llama3-70b", "xpu-hbm3", tp=8, pp=2, batch="max", context=CTX_128K)
    assert r.batch == math.floor(free / (2 * per_seq))


def test_model_that_does_not_fit_is_an_answer_not_an_error():
    r = perfmodel.decode("llama3-405b", "h100-sxm", tp=1, batch=1, context=4096)
    assert r.fits is False
    assert r.memory_needed > r.memory_available
    assert r.utps.m > 0
    # batch="max" with nothing fitting still evaluates one sequence
    r = perfmodel.decode("llama3-405b", "h100-sxm", tp=1, batch="max", context=4096)
    assert (r.batch, r.fits) == (1, False)


# --- the grid -------------------------------------------------------------------------------------


def test_grid_row_count_is_the_product_of_axes_for_a_dense_model():
    axes = dict(tp=[1, 2, 4, 8], pp=[1, 2], ep=[1], batch=[1, 8, 32], context=[1024, 4096])
    hw = ["h100-sxm", "xpu-hbm3", "mi300x"]
    g = perfmodel.decode_grid(["llama3-8b"], hw, scenario=LIMINAL, **axes)
    assert g.height == len(hw) * math.prod(len(v) for v in axes.values())
    assert g.select("hardware", "tp", "pp", "batch", "context").unique().height == g.height
    assert (g["users"] == g["pp"] * g["batch"]).all()
    assert (g["chips"] == g["tp"] * g["pp"]).all()


def test_grid_leaves_out_expert_parallel_rows_of_dense_models():
    base = dict(tp=[1, 2, 4, 8], batch=[1, 8], context=[1024], scenario=LIMINAL)
    g1 = perfmodel.decode_grid(["llama3-8b"], ["h100-sxm"], ep=[1], **base)
    g4 = perfmodel.decode_grid(["llama3-8b"], ["h100-sxm"], ep=[1, 2, 4], **base)
    assert g4.height == g1.height == 4 * 2
    assert (g4["ep"] == 1).all()
    # an MoE model keeps the ep values that divide tp
    gm = perfmodel.decode_grid(["deepseek-v3"], ["h100-sxm"], ep=[1, 2, 4], **base)
    pairs = set(zip(gm["tp"].to_list(), gm["ep"].to_list(), strict=True))
    assert pairs == {(1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4), (8, 1), (8, 2), (8, 4)}


def test_grid_with_max_batch_adds_one_block():
    base = dict(tp=[8, 16], context=[CTX_128K], scenario=LIMINAL)
    g = perfmodel.decode_grid(["llama3-70b"], ["xpu-hbm3"], batch=[1, 2, "max"], **base)
    assert g.height == 2 * 3
    row = g.filter(tp=8).sort("batch")[-1]
    assert row["batch"].item() == 35


@pytest.mark.parametrize("scenario", [LIMINAL, PUBLISHED])
def test_every_grid_row_equals_decode(scenario):
    g = perfmodel.decode_grid(
        ["llama3-70b", "deepseek-v3", "gpt-oss-20b"],
        ["xpu-hbm3", "h100-sxm", "b200-nvl72"],
        tp=[1, 8, 16, 128],
        pp=[1, 2],
        ep=[1, 8],
        batch=[1, 64, "max"],
        context=[4096, CTX_128K],
        scenario=scenario,
    )
    rng = np.random.default_rng(20250714)
    picks = rng.choice(g.height, size=12, replace=False)
    for i in picks:
        row = g.row(int(i), named=True)
        r = _decode(
            row["model"],
            row["hardware"],
            tp=row["tp"],
            pp=row["pp"],
            ep=row["ep"],
            batch=row["batch"],
            context=row["context"],
            scenario=scenario,
        )
        d = r.as_dict()
        for key, col in [
            ("utps", "utps"),
            ("stps", "stps"),
            ("t_batch_s", "t_batch_s"),
            ("t_compute_s", "t_compute_s"),
            ("t_mem_s", "t_mem_s"),
            ("t_exposed_s", "t_exposed_s"),
            ("memory_gib", "memory_needed_gib"),
            ("memory_available_gib", "memory_available_gib"),
        ]:
            assert row[col] == pytest.approx(d[key], rel=GRID_RTOL, abs=0), (row, key)
        assert row["fits"] == r.fits
        assert row["bound"] == ("compute" if d["t_compute_s"] > d["t_mem_s"] else "memory")


def test_grid_batch_max_rows_match_decode_max():
    g = perfmodel.decode_grid(
        ["llama3-70b", "qwen3-30b-a3b"], ["xpu-hbm3", "h200-sxm"], tp=[2, 8], pp=[1, 2],
        batch=["max"], context=[32768], scenario=PUBLISHED,
    )  # fmt: skip
    for row in g.iter_rows(named=True):
        r = _decode(
            row["model"], row["hardware"], tp=row["tp"], pp=row["pp"], batch="max",
            context=row["context"], scenario=PUBLISHED,
        )  # fmt: skip
        assert row["batch"] == r.batch


# --- properties (hypothesis) ----------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)


@st.composite
def configurations(draw):
    scenario = draw(st.sampled_from([LIMINAL, PUBLISHED]))
    s = setup(scenario)
    mi = draw(st.integers(0, len(s.models.names) - 1))
    hi = draw(st.integers(0, len(s.hardware.names) - 1))
    tp = draw(st.sampled_from([1, 2, 4, 8, 16, 64, 128, 512]))
    pp = draw(st.integers(1, 4))
    experts = int(s.models.experts[mi])
    ep = draw(st.sampled_from([e for e in (1, 2, 4, 8) if e == 1 or (experts >= e and tp % e == 0)]))
    batch = draw(st.integers(1, 20_000))
    context = draw(st.integers(1, 2**20))
    return s, dict(mi=mi, hi=hi, tp=tp, pp=pp, ep=ep, batch=batch, context=context)


def _run(s: perfmodel.Setup, hardware=None, **cfg) -> dict[str, np.ndarray]:
    return decode_arrays(s.models, hardware or s.hardware, s.scenario, **cfg)


def _scaled(h, field: str, factor: float):
    return dataclasses.replace(h, **{field: getattr(h, field) * factor})


@PROPERTY_SETTINGS
@given(configurations(), st.floats(1.0, 1e3))
def test_more_memory_bandwidth_never_lowers_utps(cfg, factor):
    s, c = cfg
    base = _run(s, **c)
    faster = _run(s, _scaled(s.hardware, "mem_bw", factor), **c)
    assert faster["utps"] >= base["utps"]
    assert faster["t_mem_s"] <= base["t_mem_s"]


@PROPERTY_SETTINGS
@given(configurations(), st.floats(1.0, 1e3))
def test_more_tensor_flops_never_lowers_utps(cfg, factor):
    s, c = cfg
    base = _run(s, **c)
    faster = _run(s, _scaled(s.hardware, "tensor", factor), **c)
    assert faster["utps"] >= base["utps"]
    assert faster["stps"] >= base["stps"]


@PROPERTY_SETTINGS
@given(configurations(), st.integers(1, 2**20))
def test_more_context_never_lowers_memory_needed(cfg, extra):
    s, c = cfg
    base = _run(s, **c)
    longer = _run(s, **(c | {"context": c["context"] + extra}))
    assert longer["memory_needed_bytes"] >= base["memory_needed_bytes"]
    assert longer["utps"] <= base["utps"]
    assert bool(base["fits"]) or not bool(longer["fits"])


@PROPERTY_SETTINGS
@given(configurations())
def test_t_batch_is_the_max_of_compute_and_memory_plus_exposed(cfg):
    s, c = cfg
    r = _run(s, **c)
    tc, tm, te, tb = r["t_compute_s"], r["t_mem_s"], r["t_exposed_s"], r["t_batch_s"]
    assert tb >= tc and tb >= tm and tb >= te
    assert te >= 0 and tc > 0 and tm > 0
    assert tb == max(tc, tm) + te
    assert r["utps"] == 1 / tb
    assert r["stps"] == pytest.approx(c["pp"] * c["batch"] / tb, rel=CLOSED_FORM_RTOL)
    assert bool(r["fits"]) == bool(r["memory_needed_bytes"] <= r["memory_available_bytes"])


@PROPERTY_SETTINGS
@given(configurations(), st.integers(1, 20_000))
def test_larger_batch_never_lowers_stps_nor_raises_utps(cfg, extra):
    # T_batch / B is non-increasing in B (compute is linear in B, weights read are concave in B,
    # collectives are constant or linear in B), so STPS = PP * B / T_batch never drops.
    s, c = cfg
    base = _run(s, **c)
    bigger = _run(s, **(c | {"batch": c["batch"] + extra}))
    assert bigger["stps"] >= base["stps"] * (1 - MONOTONE_RTOL)
    assert bigger["utps"] <= base["utps"]
    assert bigger["memory_needed_bytes"] >= base["memory_needed_bytes"]


@PROPERTY_SETTINGS
@given(configurations())
def test_more_tensor_parallel_chips_never_raise_memory_time(cfg):
    s, c = cfg
    base = _run(s, **c)
    wider = _run(s, **(c | {"tp": c["tp"] * 2}))
    assert wider["t_mem_s"] <= base["t_mem_s"]
    assert wider["t_compute_s"] <= base["t_compute_s"]
    assert wider["memory_available_bytes"] == 2 * base["memory_available_bytes"]


@PROPERTY_SETTINGS
@given(configurations(), st.floats(1.0, 1e3))
def test_capacity_changes_fits_but_not_speed(cfg, factor):
    s, c = cfg
    base = _run(s, **c)
    bigger = _run(s, _scaled(s.hardware, "mem_capacity", factor), **c)
    assert bigger["utps"] == base["utps"]
    assert bool(bigger["fits"]) or not bool(base["fits"])


@PROPERTY_SETTINGS
@given(configurations())
def test_arrays_broadcast_like_scalar_calls(cfg):
    s, c = cfg
    batches = np.array([1.0, float(c["batch"]), 2.0 * c["batch"]])
    many = _run(s, **(c | {"batch": batches}))
    for i, b in enumerate(batches):
        one = _run(s, **(c | {"batch": b}))
        assert many["t_batch_s"][i] == pytest.approx(one["t_batch_s"], rel=GRID_RTOL)


# --- a second memory tier (weights in e.g. High Bandwidth Flash, KV cache in main memory) --------


def _with_tier2(h, bw: float, capacity: float):
    n = len(h.names)
    return dataclasses.replace(h, tier2_bw=np.full(n, bw), tier2_capacity=np.full(n, capacity))


def test_second_tier_streams_weights_and_kv_concurrently():
    s = setup(LIMINAL)
    mi, hi = s.models.index("llama3-70b"), s.hardware.index("xpu-hbm3")
    tier2_bw, tier2_cap = 1 * TIB, 512 * GIB
    h = _with_tier2(s.hardware, tier2_bw, tier2_cap)
    tp, t = 8, CTX_128K
    kv_seq = t * L70 * 2 * KV70 * HD70
    for b in (1, 64):
        r = decode_arrays(s.models, h, s.scenario, mi, hi, tp, 1, 1, b, t)
        t_mem = max(68e9 / (tp * tier2_bw), b * kv_seq / (tp * XPU_BW))
        assert r["t_mem_s"] == pytest.approx(t_mem, rel=CLOSED_FORM_RTOL)
        assert r["memory_available_bytes"] == tp * (XPU_CAP + tier2_cap)
        # weights in the second tier, KV cache in main memory: each must fit its own tier
        assert bool(r["fits"]) == (tp * tier2_cap >= 68e9 and b * kv_seq <= tp * XPU_CAP)
    # the KV cache gets all of main memory
    b_max = max_batch(s.models, h, s.scenario, mi, hi, tp, 1, t)
    assert b_max == math.floor(tp * XPU_CAP / kv_seq)
    # weights that do not fit the second tier: nothing fits
    small = _with_tier2(s.hardware, tier2_bw, 1 * GIB)
    assert max_batch(s.models, small, s.scenario, mi, hi, tp, 1, t) == 0
    assert not decode_arrays(s.models, small, s.scenario, mi, hi, tp, 1, 1, 1, t)["fits"]


@st.composite
def tier2_hardware(draw):
    """None (main memory only) or (bandwidth, capacity) of a second tier."""
    if draw(st.booleans()):
        return None
    return draw(st.floats(1e11, 1e14)), draw(st.floats(1e9, 4e12))


@PROPERTY_SETTINGS
@given(configurations(), tier2_hardware())
def test_max_batch_fits_and_one_more_does_not(cfg, tier2):
    s, c = cfg
    h = s.hardware if tier2 is None else _with_tier2(s.hardware, *tier2)
    b = float(max_batch(s.models, h, s.scenario, c["mi"], c["hi"], c["tp"], c["pp"], c["context"]))
    at = _run(s, h, **(c | {"batch": max(b, 1.0)}))
    above = _run(s, h, **(c | {"batch": b + 1}))
    assert bool(at["fits"]) == (b >= 1)
    assert not bool(above["fits"])


@PROPERTY_SETTINGS
@given(configurations(), tier2_hardware(), st.floats(1.0, 1e3))
def test_more_bandwidth_of_either_tier_never_lowers_utps(cfg, tier2, factor):
    s, c = cfg
    h = s.hardware if tier2 is None else _with_tier2(s.hardware, *tier2)
    base = _run(s, h, **c)
    for field in ("mem_bw", "tier2_bw"):
        faster = _run(s, _scaled(h, field, factor), **c)
        assert faster["utps"] >= base["utps"]
        assert faster["fits"] == base["fits"]
