"""Design explorer (issue 8): sweeps pass through catalog designs exactly, monotonic laws of
resources, design-from-parts derivations, the second memory tier, the study's tables, and what-if
designs against the best DRAM design."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfmodel import decode
from perfmodel.api.sweeps import bandwidth_sweep, latency_sweep
from perfmodel.catalog.economics_set import load_catalogs
from tco.designs.parts import design_overrides, new_design
from tco.economics.chip_costs import chip_table
from tco.questions.ranking import rank
from tco.questions.study import against_best_dram, memory_table, utps_target

STUDY = {"scenario": "liminal-2025"}
#: Exact reproduction: the same arithmetic on the same numbers (floating-point rounding only).
EXACT = 1e-12


@pytest.mark.parametrize("design", ["xpu-hbm4", "xpu-3d-dram"])
def test_bandwidth_sweep_passes_through_catalog_designs(design):
    cats = load_catalogs()
    bw = cats["hardware"].row(design)["mem_bw"] / 1e12
    sweep = bandwidth_sweep(["llama3-70b"], tps=[8], bandwidths_tbs=[bw], context=4096, **STUDY)
    want = decode("llama3-70b", design, tp=8, batch=1, context=4096, **STUDY).utps.m
    assert sweep["utps"][0] == pytest.approx(want, rel=EXACT)


def test_bandwidth_sweep_flattens_where_collectives_dominate():
    s = bandwidth_sweep(["llama3-70b"], tps=[128], **STUDY).sort("mem_bw_tbs")
    u = s["utps"].to_numpy()
    assert (np.diff(u) >= 0).all()  # more bandwidth never lowers UTPS
    assert s["bound"][-1] == "collectives"
    ceiling = 1 / (2 * 80 * 2e-6)  # 160 collectives of 2 us at 128 chips
    assert u[-1] <= ceiling and u[-1] >= 0.95 * ceiling


def test_latency_sweep_crossover_and_needed_latency():
    s = latency_sweep(["llama3-70b"], tps=[128], latencies_us=[0.5, 2.0], target_utps=2000, **STUDY)
    one = decode("llama3-70b", "xpu-hbm3", tp=128, batch=1, context=131072, sync=None, **STUDY)
    t_mem = one.t_mem.m
    assert s["crossover_us"][0] == pytest.approx(t_mem / (2 * 80) * 1e6, rel=1e-9)
    needed = s["needed_us"][0]
    check = latency_sweep(["llama3-70b"], tps=[128], latencies_us=[needed], **STUDY)
    assert check["utps"][0] == pytest.approx(2000, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(1.0, 4.0), st.floats(1.0, 4.0), st.floats(0.1, 1.0))
def test_more_of_every_resource_never_lowers_utps(bw_scale, flops_scale, sync_scale):
    from dataclasses import replace

    from perfmodel.api.setup import prepare
    from perfmodel.model.decode_step import decode_arrays

    setup = prepare(models=["llama3-70b", "deepseek-v3"], hardware=["xpu-hbm3", "h100-sxm"])
    h = setup.hardware
    better = replace(
        h,
        mem_bw=h.mem_bw * bw_scale,
        tensor=h.tensor * flops_scale,
        scalar=h.scalar * flops_scale,
        sync=h.sync * sync_scale,
        scaleout_sync=h.scaleout_sync * sync_scale,
        scaleup_bw=h.scaleup_bw * bw_scale,
        scaleout_bw=h.scaleout_bw * bw_scale,
    )
    mi = np.array([0, 1]).reshape(-1, 1, 1)
    hi = np.array([0, 1]).reshape(1, -1, 1)
    batch = np.array([1, 16, 256]).reshape(1, 1, -1)
    a = decode_arrays(setup.models, h, setup.scenario, mi, hi, 8.0, 1.0, 1.0, batch, 4096.0)
    b = decode_arrays(setup.models, better, setup.scenario, mi, hi, 8.0, 1.0, 1.0, batch, 4096.0)
    assert (b["utps"] >= a["utps"] * (1 - 1e-12)).all()


def test_design_from_parts_derives_bandwidth_capacity_and_prices_grow_with_stacks():
    cats = load_catalogs()
    prices, embodied = [], []
    for stacks in (4, 8, 12):
        new, derivation = design_overrides(
            cats, f"d{stacks}", "xpu-hbm3", ["memory=HBM4", f"stacks={stacks}"]
        )
        c = load_catalogs(overrides=new)
        row = c["hardware"].row(f"d{stacks}")
        assert row["mem_bw"] == pytest.approx(stacks * 2e12)
        assert row["mem_capacity"] == pytest.approx(stacks * 36 * 2**30)
        t = chip_table(c).filter(pl.col("hardware") == f"d{stacks}").row(0, named=True)
        assert t["price_is_estimate"]
        prices.append(t["price_usd"])
        embodied.append(t["embodied_chip_g"])
    assert prices == sorted(prices) and len(set(prices)) == 3
    assert embodied == sorted(embodied) and len(set(embodied)) == 3


def test_new_design_cli_path_writes_a_valid_row(tmp_path):
    out = new_design(tmp_path, "my-chip", "xpu-hbm3", ["memory=HBM4", "stacks=12", "sync_us=0.5"])
    assert out["derivation"][0].startswith("mem_bw = 12 x 2 TB/s = 24 TB/s")
    row = load_catalogs(tmp_path)["hardware"].row("my-chip")
    assert row["sync_latency"] == pytest.approx(0.5e-6) and row["memory_technology"] == "HBM4"


def test_second_tier_holds_weights_and_never_lowers_capacity():
    hbf = decode("llama3-405b", "xpu-hbm4-hbf", tp=8, batch="max", context=131072)
    assert hbf.fits
    # the tier adds capacity: available memory is both tiers
    cats = load_catalogs()
    row = cats["hardware"].row("xpu-hbm4-hbf")
    assert hbf.memory_available.to("B").m == pytest.approx(8 * (row["mem_capacity"] + row["tier2_capacity"]))
    # weights stream from the flash tier: T_mem at batch 1 is the slower of the two streams
    one = decode("llama3-405b", "xpu-hbm4-hbf", tp=8, batch=1, context=4096)
    weights = 405.9e9 - 2 * 128256 * 16384 + 128256 * 16384  # published total, one embedding matrix looked up
    assert one.t_mem.m >= 0.9 * weights / (8 * row["tier2_bw"])


def test_memory_table_states_sram_capacity_limit():
    t = memory_table()
    sram = t.filter(pl.col("hardware") == "xpu-sram").row(0, named=True)
    assert not sram["fits"] and sram["chips_to_fit"] > 128
    assert t.filter(pl.col("hardware") != "xpu-sram")["fits"].all()


def test_ten_thousand_utps_question():
    t = utps_target(10000, models=["llama3-8b"], contexts=[4096])
    reach = t.filter("reaches")
    assert reach.height >= 1 and (reach["utps"] >= 10000).all()
    assert t.filter(~pl.col("reaches"))["reason"].str.len_chars().min() > 0


DIRECTIONS = ["xpu-hbm4-hbf", "xpu-pnm", "xpu-3d-dram", "xpu-hbm3-fastlink"]


@pytest.mark.parametrize(("floor", "objective"), [(30.0, "tokens_per_usd"), (2000.0, "gco2e_per_mtok")])
def test_against_best_dram_matches_the_ranking(floor, objective):
    """The reference is the ranking's best DRAM design outside the compared set that meets the
    floor; each advantage is the ratio of the two rows' objective, above 1 when the design ranks higher."""
    cats = load_catalogs()
    vs = against_best_dram(DIRECTIONS, ["llama3-70b"], [4096], [floor], [objective], cats)
    ranked = rank("llama3-70b", context=4096, min_utps=floor, objective=objective, catalogs=cats)
    dram = ranked.filter(
        pl.col("meets_floor") & (pl.col("memory_class") == "DRAM") & ~pl.col("hardware").is_in(DIRECTIONS)
    )
    lower_is_better = objective.endswith("_per_mtok")
    best = dram.sort(objective, descending=not lower_is_better).row(0, named=True)
    assert sorted(vs["hardware"]) == sorted(DIRECTIONS)
    assert set(vs["reference"]) == {best["hardware"]}
    position = {h: i for i, h in enumerate(ranked["hardware"])}
    for r in vs.iter_rows(named=True):
        mine = ranked.row(position[r["hardware"]], named=True)
        want = best[objective] / mine[objective] if lower_is_better else mine[objective] / best[objective]
        assert r["advantage"] == pytest.approx(want, rel=EXACT)
        assert (r["advantage"] > 1) == (position[r["hardware"]] < position[best["hardware"]])


def test_against_best_dram_says_why_a_comparison_is_missing():
    """llama3-405b at 2,000 tokens/s per user: no conventional DRAM design gets there."""
    vs = against_best_dram(DIRECTIONS, ["llama3-405b"], [4096], [2000.0], ["tokens_per_usd"])
    assert vs["reference"].is_null().all() and vs["advantage"].is_null().all()
    for r in vs.iter_rows(named=True):
        missed = r["value"] is None
        assert r["reason"].startswith(
            "best UTPS" if missed else "no other DRAM design meets the floor of 2000"
        )
