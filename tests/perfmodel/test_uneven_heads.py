"""Heads split unevenly in the limit (scenarios.csv ``uneven_heads``; issue 22, item 6).

The Liminal study (arXiv 2507.14397) runs TP128 on every model, llama4-maverick's 40 heads
included. With ``uneven_heads`` the limit accepts any TP and the busiest chip times the step: it
holds ``ceil(heads / TP)`` heads, or ``1 / floor(TP / heads)`` of one head when TP > heads. The
expected figures are derived by hand from models.csv, scenario_models.csv and hardware.csv.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache

import numpy as np
import pytest
from catalog_edits import edited_folder

import perfmodel
from perfmodel.api.serving import profile_for
from perfmodel.catalog.folder import load_catalogs
from perfmodel.inputs import InvalidInput
from perfmodel.model.decode_step import decode_arrays, head_imbalance
from perfmodel.model.serving_step import Deployment, Layout, serve_arrays

LIMINAL, PUBLISHED = "liminal-2025", "published"
CTX_128K = 131072
TIB = 2**40
#: The model and a closed form sum the same terms in another order: a few ulp apart.
CLOSED_FORM_RTOL = 1e-12
#: Laws comparing quotients of rounded sums.
MONOTONE_RTOL = 1e-12

# llama4-maverick (models.csv): 48 layers, hidden 5120, 40 heads, 8 KV heads, head_dim 128; in
# liminal-2025 (scenario_models.csv) 15e9 active and 399e9 total parameters, 1 byte each (FP8).
MAV_LAYERS, MAV_HIDDEN, MAV_HEADS, MAV_KV, MAV_HD = 48, 5120, 40, 8, 128
MAV_ACTIVE = 15e9
# xpu-hbm3: 4 TiB/s, 2.25 PFLOP/s FP8, 40 TFLOP/s scalar
XPU_BW, XPU_FP8, XPU_SCALAR = 4 * TIB, 2250e12, 40e12


@cache
def setup(scenario: str) -> perfmodel.Setup:
    return perfmodel.prepare(scenario=scenario)


def _even(s: perfmodel.Setup) -> perfmodel.Setup:
    """The same setup with the heads' division taken as even (heads / TP on every chip)."""
    return dataclasses.replace(s, scenario=dataclasses.replace(s.scenario, uneven_heads=False))


def test_the_scenarios_say_who_splits_heads_unevenly():
    assert setup(LIMINAL).scenario.uneven_heads is True
    assert setup(PUBLISHED).scenario.uneven_heads is False


def test_an_absent_uneven_heads_column_reads_as_false(tmp_path):
    folder = edited_folder(tmp_path, "scenarios.csv", lambda rows: rows)
    path = folder / "scenarios.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(i for i, ln in enumerate(lines) if not ln.startswith("#"))
    cut = lines[header].split(",").index("uneven_heads")
    for i in range(header, len(lines)):
        cells = lines[i].rstrip("\n").split(",")
        lines[i] = ",".join(cells[:cut] + cells[cut + 1 :]) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    s = perfmodel.prepare(load_catalogs(folder), LIMINAL)
    assert s.scenario.uneven_heads is False
    with pytest.raises(InvalidInput, match=re.escape("tp (128) must divide the 40 attention heads")):
        perfmodel.decode("llama4-maverick", "xpu-hbm3", tp=128, setup=s)


def test_maverick_tp128_busiest_chip_holds_a_third_of_one_head():
    """TP128 on 40 heads: 128 > 40, so each head is split across floor(128 / 40) = 3 chips; 120
    chips carry the attention and 8 idle in it. The busiest chip holds 1/3 of one head, 1/120 of
    the attention, where an even split would give each chip 40 / 128 heads, 1/128 of it:
    u = (1/120) / (1/128) = 128 / 120 = 16 / 15.

    Its step, one user at 128K context on xpu-hbm3:

    - attention FLOPs per token per context token: 4 heads head_dim layers = 4 * 40 * 128 * 48
      = 983,040 (tensor) and softmax 5 heads layers = 5 * 40 * 48 = 9,600 (scalar), each u / 128
      on the busiest chip, so the compute time grows by ``dT (983040 / R + 9600 / R_s) u / 128``
      over a context step dT;
    - memory: the weights read at B = 1 are the 15e9 active parameters (one routed expert); the
      attention's are 48 (2 * 5120 * 40 * 128 + 2 * 5120 * 8 * 128) = 3,019,898,880, and the KV
      cache 2 * 8 * 128 * 48 = 98,304 bytes per token: the busiest chip reads
      ``(15e9 + (u - 1) 3,019,898,880 + u 98,304 * 131,072) / 128`` bytes at 4 TiB/s.
    """
    u = 128 / 120
    assert float(head_imbalance(MAV_HEADS, 128)) == pytest.approx(16 / 15, rel=1e-15)
    busiest_share = float(head_imbalance(MAV_HEADS, 128)) / 128  # of the whole attention
    assert busiest_share == pytest.approx(1 / 120, rel=1e-15)
    assert busiest_share * MAV_HEADS == pytest.approx(1 / 3, rel=1e-15)  # heads held

    s = setup(LIMINAL)
    r = perfmodel.decode("llama4-maverick", "xpu-hbm3", tp=128, batch=1, context=CTX_128K, setup=s)
    attn_params = MAV_LAYERS * (2 * MAV_HIDDEN * MAV_HEADS * MAV_HD + 2 * MAV_HIDDEN * MAV_KV * MAV_HD)
    assert attn_params == 3_019_898_880
    kv = 2 * MAV_KV * MAV_HD * MAV_LAYERS * CTX_128K
    t_mem = (MAV_ACTIVE + (u - 1) * attn_params + u * kv) / (128 * XPU_BW)
    assert r.t_mem.to("s").m == pytest.approx(t_mem, rel=CLOSED_FORM_RTOL)
    assert r.fits and r.utps.m > 0

    half = perfmodel.decode("llama4-maverick", "xpu-hbm3", tp=128, batch=1, context=CTX_128K // 2, setup=s)
    dt = CTX_128K // 2
    attn = 4 * MAV_HEADS * MAV_HD * MAV_LAYERS
    softmax = 5 * MAV_HEADS * MAV_LAYERS
    assert (attn, softmax) == (983_040, 9_600)
    grows = dt * (attn / XPU_FP8 + softmax / XPU_SCALAR) * u / 128
    assert (r.t_compute - half.t_compute).to("s").m == pytest.approx(grows, rel=1e-9)

    # The even division (1/128 of the attention per chip) is u times lighter in attention.
    # (the API refuses the even accounting at TP128; the step itself evaluates it)
    mi, hi = s.models.index("llama4-maverick"), s.hardware.index("xpu-hbm3")
    even = decode_arrays(
        s.models, s.hardware, _even(s).scenario, mi, hi, 128.0, 1.0, 1.0, 1.0, float(CTX_128K)
    )
    assert float(even["t_mem_s"]) == pytest.approx((MAV_ACTIVE + kv) / (128 * XPU_BW), rel=CLOSED_FORM_RTOL)
    assert r.utps.m < float(even["utps"])


@pytest.mark.parametrize(
    "heads,tp,held",
    [
        (40, 16, 3),  # ceil(40 / 16)
        (40, 64, 1),  # 64 > 40: floor(64 / 40) = 1 chip per head, 24 chips idle in attention
        (40, 100, 1 / 2),  # floor(100 / 40) = 2 chips per head
        (40, 128, 1 / 3),
        (28, 8, 4),  # qwen2.5-7b
        (128, 96, 2),  # deepseek-v3 on 96 chips
    ],
)
def test_busiest_chip_heads(heads, tp, held):
    assert float(head_imbalance(heads, tp)) * heads / tp == pytest.approx(held, rel=1e-15)


def test_even_splits_are_exactly_the_even_share():
    """Where TP divides the heads or is a multiple of them the imbalance is exactly 1, and every
    figure of the decode step is bit-identical to the even accounting's."""
    s = setup(LIMINAL)
    m = s.models
    for mi, heads in enumerate(m.heads.astype(int)):
        tps = np.array([t for t in range(1, 513) if heads % t == 0 or t % heads == 0], dtype=np.float64)
        assert (head_imbalance(heads, tps) == 1.0).all(), m.names[mi]
        tp = tps.reshape(-1, 1, 1)
        batch, ctx = (
            np.array([1.0, 7.0, 300.0]).reshape(1, -1, 1),
            np.array([1024.0, 131072.0]).reshape(1, 1, -1),
        )
        hi = s.hardware.index("xpu-hbm3")
        got = decode_arrays(m, s.hardware, s.scenario, mi, hi, tp, 1.0, 1.0, batch, ctx)
        want = decode_arrays(m, s.hardware, _even(s).scenario, mi, hi, tp, 1.0, 1.0, batch, ctx)
        for k, v in want.items():
            assert np.array_equal(np.broadcast_to(got[k], np.shape(v)), v), (m.names[mi], k)


def test_refused_with_a_clear_message_without_uneven_heads():
    says = (
        "tp (128) must divide the 40 attention heads of llama4-maverick, or be a multiple of them "
        "(a scenario with uneven_heads, such as liminal-2025, splits them unevenly)"
    )
    with pytest.raises(InvalidInput, match=re.escape(says)):
        perfmodel.decode("llama4-maverick", "xpu-hbm3", tp=128, setup=setup(PUBLISHED))
    with pytest.raises(InvalidInput, match=re.escape(says)):
        perfmodel.serve("llama4-maverick", "xpu-hbm3", mode="limit", tp=128, setup=setup(PUBLISHED))
    grid = perfmodel.decode_grid(["llama4-maverick"], ["xpu-hbm3"], tp=(8, 16, 128), scenario=PUBLISHED)
    assert grid["tp"].to_list() == [8]
    grid = perfmodel.decode_grid(["llama4-maverick"], ["xpu-hbm3"], tp=(8, 16, 128), scenario=LIMINAL)
    assert grid["tp"].to_list() == [8, 16, 128]


def test_calibrated_mode_still_needs_tp_to_divide_the_heads():
    with pytest.raises(InvalidInput, match=re.escape("tp (16) must divide the 40 attention heads")):
        perfmodel.serve("llama4-maverick", "h100-sxm", mode="calibrated", tp=16, setup=setup(LIMINAL))


def test_limit_serve_times_the_busiest_chip_too():
    s = setup(LIMINAL)
    served = perfmodel.serve("llama4-maverick", "xpu-hbm3", mode="limit", tp=128, concurrency=64, setup=s)
    assert served.fits and served.tpot.m > 0
    prof = profile_for(s, "limit")
    mi, hi = s.models.index("llama4-maverick"), s.hardware.index("xpu-hbm3")
    lay = Layout(hi, 128.0, 1.0)
    uneven = serve_arrays(Deployment(s.models, s.hardware, s.scenario, prof, mi), lay, 64.0, 1024.0, 1024.0)
    even = serve_arrays(
        Deployment(s.models, s.hardware, _even(s).scenario, prof, mi), lay, 64.0, 1024.0, 1024.0
    )
    assert float(uneven["tpot_s"]) == pytest.approx(served.tpot.to("s").m, rel=1e-15)
    assert uneven["t_mem_s"] > even["t_mem_s"] and uneven["t_compute_s"] > even["t_compute_s"]
    assert uneven["ttft_s"] > even["ttft_s"] and uneven["tpot_s"] > even["tpot_s"]


@pytest.mark.parametrize(
    "model", ["llama4-maverick", "llama4-scout", "qwen2.5-7b", "deepseek-v3", "glm-4.7-flash"]
)
def test_more_chips_never_make_the_busiest_chip_slower(model):
    """Law: the busiest chip's share of the heads, ceil(heads / TP) or 1 / floor(TP / heads),
    never grows with TP, so neither its attention time nor (the rest being 1 / TP) its compute
    and memory times do."""
    s = setup(LIMINAL)
    mi, hi = s.models.index(model), s.hardware.index("xpu-hbm3")
    heads = s.models.heads[mi]
    tp = np.arange(1.0, 513.0)
    share = head_imbalance(heads, tp) / tp  # of the attention, on the busiest chip
    assert (np.diff(share) <= MONOTONE_RTOL * share[1:]).all()
    for batch in (1.0, 64.0):
        r = decode_arrays(s.models, s.hardware, s.scenario, mi, hi, tp, 1.0, 1.0, batch, float(CTX_128K))
        for k in ("t_compute_s", "t_mem_s"):
            t = r[k]
            assert (np.diff(t) <= MONOTONE_RTOL * t[1:]).all(), (model, batch, k)
        # the attention's own time: context-dependent terms, the difference of two contexts
        lo = decode_arrays(
            s.models, s.hardware, s.scenario, mi, hi, tp, 1.0, 1.0, batch, float(CTX_128K // 2)
        )
        attn = r["t_compute_s"] - lo["t_compute_s"]
        assert (np.diff(attn) <= 1e-9 * attn[1:]).all(), (model, batch)
