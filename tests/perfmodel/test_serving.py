"""The serving model (issue 11): equations with units, hand checks, laws, deployability, calibration."""

from __future__ import annotations

import json

import numpy as np
import pint
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liminal_cli.perfmodel_commands import main as perfmodel_main
from perfmodel import Q_, decode, load_catalogs
from perfmodel.api.serving import serve, serve_grid
from perfmodel.calibration.efficiency_fit import (
    MEDIAN_BAND,
    SHARE_WITHIN,
    STALL_RATIO,
    WORST,
    compare,
    fit,
    summary,
)
from perfmodel.catalog.serving_schemas import CHIP_FIELDS, ENGINE_FIELDS
from perfmodel.inputs import InvalidInput
from perfmodel.model import serving_equations as eq

CATS = load_catalogs()
LAWS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- The equations run on Quantities: their units are checked, not only the catalog's ----------


def test_step_equations_carry_units():
    t_c = eq.compute_time(
        Q_(2e12, "FLOP"),
        Q_(4e12, "FLOP"),
        Q_(1e9, "FLOP"),
        eq.achieved_rate(2, Q_(1e15, "FLOP/s"), 0.5),
        eq.achieved_rate(2, Q_(1e15, "FLOP/s"), 0.8),
        eq.achieved_rate(2, Q_(6e13, "FLOP/s"), 1.0),
    )
    t_m = eq.memory_time(Q_(70, "GB"), eq.achieved_rate(2, Q_(3.35, "TB/s"), 0.7))
    overhead = eq.step_overhead(Q_(1, "ms"), Q_(5, "us"), 300)
    t = eq.step_time(t_c, t_m, Q_(0.2, "ms"), overhead)
    assert t.check("[time]")
    # 2e12/(2e15*0.5) + 4e12/(2e15*0.8) + 1e9/1.2e14 = 2 ms + 2.5 ms + 8.3 us; memory 14.93 ms wins
    assert t.to("ms").m == pytest.approx(70 / (2 * 3.35 * 0.7) + 0.2 + 1 + 1.5, rel=1e-12)


def test_equations_refuse_a_wrong_unit():
    t_m = eq.memory_time(Q_(70, "GB"), eq.achieved_rate(2, Q_(3.35, "TFLOP/s"), 0.7))  # bandwidth as FLOP/s
    with pytest.raises(pint.DimensionalityError):
        eq.step_time(Q_(1, "ms"), t_m, Q_(0, "s"), Q_(0, "s"))


def test_capacity_equations_carry_units():
    usable = eq.usable_memory(Q_(80, "GiB"), 0.9, Q_(2.5, "GiB"))
    assert usable.to("GiB").m == pytest.approx(69.5)
    c = eq.max_concurrency(2, usable, Q_(70, "GiB"), Q_(320, "MiB"))
    assert c.to("").m == np.floor((139 - 70) * 1024 / 320)  # 220 sequences
    assert eq.kv_replication(16, 8) == 2 and eq.kv_replication(4, 8) == 1


def test_latency_and_throughput_equations_carry_units():
    ttft, tpot = Q_(0.2, "s"), Q_(25, "ms")
    latency = eq.request_latency(ttft, tpot, 1000)
    assert latency.to("s").m == pytest.approx(0.2 + 999 * 0.025)
    tps = eq.output_throughput(64, Q_(1000, "token"), latency)
    assert tps.to("token/s").m == pytest.approx(64 * 1000 / 25.175)
    assert eq.decoding_share(ttft, tpot, 1000) == pytest.approx(24.975 / 25.175)
    assert eq.chunk_share(Q_(300, "token"), Q_(7000, "token")).to("").m == pytest.approx(3 / 70)


# --- Hand checks --------------------------------------------------------------------------------


def test_limit_tpot_reduces_to_the_decode_step_when_prefill_vanishes():
    """ISL 1, OSL 2001, one user, limit: the mean step is the study's decode step at the mean context
    (ISL + OSL/2 = 1001.5 tokens), up to the one prompt token every 2,000 steps."""
    r = serve("llama3-70b", "xpu-hbm3", tp=8, isl=1, osl=2001, concurrency=1, mode="limit")
    # decode() takes whole contexts; 1002 vs 1001.5 changes the KV bytes by 0.05 % of the KV term.
    d = decode("llama3-70b", "xpu-hbm3", tp=8, batch=1, context=1002)
    assert r.tpot.to("s").m == pytest.approx(d.t_batch.to("s").m, rel=2e-3)


def test_littles_law_holds_exactly():
    r = serve("llama3-70b", "h200-sxm", tp=2, isl=2048, osl=512, concurrency=64)
    assert (r.output_tps * r.request_latency).to("token").m == pytest.approx(64 * 512, rel=1e-12)


def test_ttft_is_at_least_the_prompts_flops_at_peak():
    """Causal attention makes prefill work grow with ISL squared; TTFT can never beat the peak."""
    setup_flop = 2 * 70.6e9 * 8192  # matmul FLOPs of the prompt, a lower bound
    r = serve("llama3-70b", "h100-sxm", tp=8, isl=8192, osl=128, concurrency=1, mode="limit")
    assert r.ttft.to("s").m >= setup_flop / (8 * 1979e12)
    short = serve("llama3-70b", "h100-sxm", tp=8, isl=4096, osl=128, concurrency=1, mode="limit")
    assert r.ttft.to("s").m > 2 * short.ttft.to("s").m  # superlinear in ISL


def test_gpt_oss_kv_cache_as_the_study_sizes_it():
    """The study sizes gpt-oss-120b as if every layer had full attention: 252 GiB at 128K, B=32."""
    from perfmodel import capacity

    study = capacity("gpt-oss-120b", 131072, 32, scenario="liminal-2025").total.to("GiB").m
    published = capacity("gpt-oss-120b", 131072, 32).total.to("GiB").m
    assert study == pytest.approx(252, rel=0.03)
    assert published < 190  # sliding windows of 128 tokens on half the layers


def test_fp4_weights_keep_an_fp8_kv_cache():
    r = serve("llama3-70b", "b200-hgx", tp=1, isl=1024, osl=1024, concurrency=1, precision="fp4")
    fp8 = serve(
        "llama3-70b", "b200-hgx", tp=1, isl=1024, osl=1024, concurrency=1, precision="fp4", kv_precision="fp8"
    )
    assert r.memory_needed == fp8.memory_needed


# --- Deployable layouts -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["limit", "calibrated"])
def test_tp_that_splits_no_heads_is_refused(mode):
    with pytest.raises(InvalidInput, match=r"tp \(3\) must divide the 64 attention heads"):
        serve("llama3-70b", "h100-sxm", tp=3, concurrency=1, mode=mode)


def test_tp_beyond_the_scale_up_domain_only_in_the_limit():
    with pytest.raises(InvalidInput, match="exceeds the 8-chip scale-up domain of h100-sxm"):
        serve("llama3-70b", "h100-sxm", tp=16, concurrency=1)
    assert serve("llama3-70b", "h100-sxm", tp=16, concurrency=1, mode="limit").chips == 16


def test_kv_heads_are_replicated_beyond_tp_in_calibrated_mode():
    """llama3-70b has 8 KV heads: at TP16 each is held twice (vLLM's num_kv_head_replicas)."""
    args = dict(isl=4096, osl=1024, concurrency=64)
    tp8 = serve("llama3-70b", "b200-nvl72", tp=8, **args)
    tp16 = serve("llama3-70b", "b200-nvl72", tp=16, **args)
    w = serve("llama3-70b", "b200-nvl72", tp=8, isl=4096, osl=1024, concurrency=1)
    kv8 = tp8.memory_needed - w.memory_needed * 1  # weights + 64 KV vs weights + 1 KV
    kv16 = tp16.memory_needed - w.memory_needed
    assert (kv16 / kv8).to("").m == pytest.approx((2 * 64 - 1) / (64 - 1), rel=1e-9)


def test_attention_data_parallel_needs_an_moe_model_with_ep_equal_tp():
    with pytest.raises(InvalidInput, match="attention data-parallel needs an MoE model"):
        serve("llama3-70b", "h200-sxm", tp=8, concurrency=8, dp_attention=True)
    dep = serve(
        "deepseek-v3", "h200-sxm", tp=8, ep=8, concurrency="max", dp_attention=True, isl=16384, osl=1024
    )
    tp = serve("deepseek-v3", "h200-sxm", tp=8, concurrency="max", isl=16384, osl=1024)
    assert dep.concurrency > 4 * tp.concurrency  # MLA's latent cache is not replicated on 8 ranks


def test_calibrated_grids_hold_deployable_layouts_only():
    g = serve_grid(["llama3-70b"], tp=[1, 2, 3, 4, 8, 16, 64], batch=[1, "max"], catalogs=CATS)
    real = g.filter(pl.col("hardware").is_in(["h100-sxm", "h200-sxm", "mi300x"]))
    assert real["tp"].max() <= 8 and 3 not in real["tp"].to_list()
    assert g.filter(pl.col("hardware") == "b200-nvl72")["tp"].max() == 64


# --- Laws ---------------------------------------------------------------------------------------


@LAWS
@given(
    scale=st.floats(1.0, 20.0),
    concurrency=st.integers(1, 256),
    isl=st.integers(1, 16384),
    osl=st.integers(2, 4096),
    mode=st.sampled_from(["limit", "calibrated"]),
)
def test_more_bandwidth_never_lowers_throughput_nor_raises_latency(scale, concurrency, isl, osl, mode):
    """At a fixed concurrency UTPS itself may dip: when prefill speeds up more than decode, more of
    the requests in flight decode at once and the step grows (docs/model.md, section 3)."""
    g = [
        serve_grid(
            ["llama3-70b"], ["h200-sxm"], tp=[8], batch=[concurrency], isl=isl, osl=osl, mode=mode, catalogs=c
        )
        for c in (CATS, _scaled_bandwidth(scale))
    ]
    assert g[1]["stps"][0] >= g[0]["stps"][0] * (1 - 1e-12)
    assert g[1]["request_latency_s"][0] <= g[0]["request_latency_s"][0] * (1 + 1e-12)
    assert g[1]["ttft_s"][0] <= g[0]["ttft_s"][0] * (1 + 1e-12)


@pytest.mark.parametrize("scale", [1.5, 2.0, 4.0])
def test_more_bandwidth_never_lowers_the_utps_of_one_user(scale):
    args = dict(tp=8, isl=1024, osl=1024, concurrency=1)
    base = serve("llama3-70b", "h200-sxm", **args, catalogs=CATS)
    faster = serve("llama3-70b", "h200-sxm", **args, catalogs=_scaled_bandwidth(scale))
    assert faster.utps > base.utps


@LAWS
@given(isl=st.integers(1, 16384), osl=st.integers(2, 4096), c=st.integers(1, 512))
def test_the_limit_is_never_below_the_calibrated_model(isl, osl, c):
    """Throughput and latency; UTPS at a fixed concurrency is not ordered in a closed loop
    (docs/model.md, section 3)."""
    lim = serve("llama3-70b", "h200-sxm", tp=8, isl=isl, osl=osl, concurrency=c, mode="limit")
    cal = serve("llama3-70b", "h200-sxm", tp=8, isl=isl, osl=osl, concurrency=c)
    assert lim.output_tps >= cal.output_tps and lim.request_latency <= cal.request_latency


def _scaled_bandwidth(scale: float):
    from perfmodel.catalog.folder import load_catalogs as load

    raw = CATS["hardware"].raw.decode()
    lines = raw.splitlines()
    i = next(n for n, ln in enumerate(lines) if ln.startswith("h200-sxm,"))
    cells = lines[i].split(",")
    cells[3] = f"{float(cells[3]) * scale:.6g}"
    lines[i] = ",".join(cells)
    return load(overrides={"hardware": "\n".join(lines).encode()})


# --- Calibration against public measurements ----------------------------------------------------

COMPARED = compare(CATS)
FITTED = COMPARED.filter("fitted")


def test_calibrated_mode_meets_the_acceptance_on_current_points():
    s = summary(FITTED["ratio"].to_numpy())
    assert s["points"] >= 30
    assert MEDIAN_BAND[0] <= s["median_ratio"] <= MEDIAN_BAND[1]
    assert s["share_within_25pct"] >= SHARE_WITHIN


@pytest.mark.xfail(
    reason="known misses: llama4-scout at 1000/1000 and qwen3-30b-a3b at 128/128 on GB200 (TensorRT-LLM 1.0, "
    "offline) are 2.17x and 2.13x over; the same table has the same GPU in B200 HGX 1.6x and 1.4x faster "
    "there, while GB200 is 1.01-1.18x B200 on 50 of the 57 paired points; llama3-70b at 2048/2048 on "
    "MI300X under vLLM is 2.18x over (docs/model.md, section 7)",
    strict=True,
)
def test_no_current_point_is_off_by_more_than_2x():
    assert summary(FITTED["ratio"].to_numpy())["worst_factor"] <= WORST


def test_a_stalled_run_is_reported_but_not_fitted():
    """A run whose mean request latency exceeds its median by more than STALL_RATIO is kept in the
    comparison, marked steady = false, and left out of the fit (docs/model.md, section 7)."""
    stalled = COMPARED.filter(~pl.col("steady"))
    assert stalled.height >= 1
    assert (stalled["latency_mean"] > STALL_RATIO * stalled["latency_median"]).all()
    assert not stalled["fitted"].any()
    steady = COMPARED.filter(pl.col("latency_mean").is_not_null(), pl.col("steady"))
    assert (steady["latency_mean"] <= STALL_RATIO * steady["latency_median"]).all()


def test_the_same_gpu_in_a_rack_system_serves_one_user_as_fast():
    """GB200 NVL72 pools its points with B200 HGX (same GPU and software): at one request in flight
    it decodes at least as fast as B200 HGX, whose bandwidth it matches (it was 40 % slower when
    fitted alone on offline max-batch points only, with a 9.5 ms step overhead)."""
    kw = {"tp": 4, "isl": 1024, "osl": 1024, "concurrency": 1, "precision": "fp8"}
    hgx = serve("llama3-70b", "b200-hgx", **kw)
    rack = serve("llama3-70b", "b200-nvl72", **kw)
    assert rack.utps >= 0.99 * hgx.utps


def test_the_limit_is_at_or_above_every_measurement():
    assert FITTED["limit_ratio"].min() >= 1.0


def test_measurements_cover_the_chips_and_kinds_the_issue_names():
    hw = set(FITTED["hardware"])
    assert {"h100-sxm", "h200-sxm", "b200-hgx", "mi300x"} <= hw
    moe = {"deepseek-v3", "gpt-oss-120b", "qwen3-30b-a3b"} & set(FITTED["model"])
    dense = {"llama3-8b", "llama3-70b", "llama3-405b"} & set(FITTED["model"])
    assert moe and dense and FITTED["source_id"].n_unique() >= 3


def test_every_chip_has_efficiencies_and_none_is_a_silent_one():
    eff = CATS["efficiencies"].df
    assert set(CATS["hardware"].names()) <= set(eff["hardware"])
    fitted = eff.filter(pl.col("resembles").is_null())
    assert set(eff["resembles"].drop_nulls()) <= set(fitted["hardware"])
    for f in ("bw_efficiency", "prefill_efficiency", "decode_efficiency"):
        assert (fitted[f] < 1.0).all()


def test_the_catalog_holds_what_the_fit_gives():
    """efficiencies.csv and engine_profiles.csv hold what ``python -m perfmodel fit`` writes for
    today's measurements."""
    values = fit(CATS)
    eff = CATS["efficiencies"].df.filter(pl.col("resembles").is_null())
    assert {(h, p) for h, p in zip(eff["hardware"], eff["precision"], strict=True)} == set(values.chips)
    for r in eff.iter_rows(named=True):
        got = values.chips[(r["hardware"], r["precision"])]
        for f in CHIP_FIELDS:
            assert got[f] == pytest.approx(r[f], rel=0.02), (r["hardware"], f)
    engines = CATS["engine_profiles"].df.filter(pl.col("step_overhead").is_not_null())
    assert set(engines["name"]) == set(values.engines)
    for r in engines.iter_rows(named=True):
        for f in ENGINE_FIELDS:
            assert values.engines[r["name"]][f] == pytest.approx(r[f], rel=0.02), (r["name"], f)


# --- Command line -------------------------------------------------------------------------------

SERVE_KEYS = {
    "mode",
    "fits",
    "concurrency",
    "chips",
    "ttft_s",
    "tpot_s",
    "utps",
    "output_tps",
    "output_tps_per_chip",
    "request_latency_s",
    "memory_gib",
    "joules_per_output_token",
}


def test_serve_json_contract(capsys):
    argv = (
        "serve --model llama3-70b --hardware h100-sxm --tp 2 --isl 1000 --osl 1000 --concurrency max --json"
    )
    assert perfmodel_main(argv.split()) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= SERVE_KEYS
    assert out["mode"] == "calibrated" and out["fits"] and out["chips"] == 2
    assert out["utps"] == pytest.approx(1 / out["tpot_s"])
    assert out["output_tps_per_chip"] == pytest.approx(out["output_tps"] / 2)
    assert 0 < out["joules_per_output_token"] < 10


def test_serve_refuses_an_undeployable_layout_in_one_line(capsys):
    from liminal_cli.arguments import run

    argv = [
        "serve",
        "--model",
        "llama3-70b",
        "--hardware",
        "h100-sxm",
        "--tp",
        "16",
        "--isl",
        "1000",
        "--osl",
        "1000",
        "--concurrency",
        "8",
    ]
    assert run(perfmodel_main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "scale-up domain" in err


def test_validate_measured_passes_and_prints_every_point(capsys):
    assert perfmodel_main(["validate", "--measured", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["points"]) == COMPARED.height
    assert MEDIAN_BAND[0] <= out["summary"]["median_ratio"] <= MEDIAN_BAND[1]
    assert {r["hardware"] for r in out["per_chip"]} >= {"h100-sxm", "mi300x"}
