"""Ranking under a UTPS floor (tco.questions.ranking) and the tornado table (tco.questions.sensitivity_analysis).

The ranking is recomputed from the evaluation frame it selects from: each design's best
configuration is the best of its rows that fit and meet the floor; designs that cannot are listed
last with the reason.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from contracts import RANK_KEYS

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.inputs import InvalidInput
from tco.options import OBJECTIVES
from tco.questions.question import Question
from tco.questions.ranking import NEAR_FASTEST, RANK_COLUMNS, evaluate, rank, select
from tco.questions.sensitivity_analysis import sensitivity

#: The ranking copies values out of the frame: they must be the very same floats.
EXACT = 1e-12
#: change_pct = 100 x (value / baseline - 1): the same formula, rounding only (abs: a 0 % change).
PCT_ROUNDING = 1e-9
FLOORS = (0.0, 30.0, 100.0, 500.0, 2000.0, 10_000.0)

CATS = load_catalogs()
HARDWARE = sorted(CATS["hardware"].names())


@pytest.fixture(scope="module")
def ev():
    return evaluate(Question("llama3-70b", 4096, catalogs=CATS))


@pytest.fixture(scope="module")
def ranked(ev):
    return {floor: select(ev, floor) for floor in FLOORS}


def _feasible(ev, floor: float) -> pl.DataFrame:
    return ev.frame.filter(pl.col("fits") & (pl.col("utps") >= floor)).with_columns(
        pl.col("hardware").cast(pl.String)
    )


def test_rank_api_matches_select(ev, ranked):
    for floor in (30.0, 2000.0):
        r = rank("llama3-70b", context=4096, min_utps=floor, catalogs=CATS)
        assert r.equals(ranked[floor])


@pytest.mark.parametrize("floor", [30.0, 2000.0])
def test_one_row_per_design_with_the_contract_columns(ranked, floor):
    r = ranked[floor]
    assert tuple(r.columns) == RANK_COLUMNS
    assert set(RANK_KEYS) <= set(r.columns)
    assert sorted(r["hardware"].to_list()) == HARDWARE
    assert r["rank"].to_list() == list(range(1, len(HARDWARE) + 1))


@pytest.mark.parametrize("floor", FLOORS)
def test_meeting_rows_first_and_sorted_by_the_objective(ranked, floor):
    r = ranked[floor]
    meets = r["meets_floor"].to_list()
    assert meets == sorted(meets, reverse=True), "every row meeting the floor comes before any that does not"
    best = r.filter("meets_floor")["tokens_per_usd"].to_list()
    assert best == sorted(best, reverse=True)


def test_both_kinds_of_rows_are_present(ranked):
    """The checks below are not vacuous: some designs meet 2000 tokens/s per user, some do not."""
    assert ranked[2000.0]["meets_floor"].sum() < ranked[30.0]["meets_floor"].sum()
    assert 0 < ranked[2000.0]["meets_floor"].sum() < len(HARDWARE)


@pytest.mark.parametrize("floor", FLOORS)
def test_meeting_rows_fit_and_reach_the_floor(ev, ranked, floor):
    r = ranked[floor].filter("meets_floor")
    assert (r["utps"] >= floor).all()
    assert (r["reason"] == "").all()
    # each row is a configuration of the frame that fits
    keys = ["hardware", "tp", "pp", "ep", "batch"]
    frame = ev.frame.with_columns(pl.col("hardware").cast(pl.String))
    matched = r.select(keys).join(frame.select(*keys, "fits"), on=keys, how="left")
    assert matched["fits"].null_count() == 0
    assert matched["fits"].all()


@pytest.mark.parametrize("floor", FLOORS)
def test_each_design_shows_its_best_feasible_configuration(ev, ranked, floor):
    """Recomputed: per design, the max tokens_per_usd over rows that fit and meet the floor."""
    best = _feasible(ev, floor).group_by("hardware").agg(pl.col("tokens_per_usd").max())
    expected = dict(best.iter_rows())
    r = ranked[floor].filter("meets_floor")
    assert set(r["hardware"]) == set(expected)
    for hw, value in r.select("hardware", "tokens_per_usd").iter_rows():
        assert value == pytest.approx(expected[hw], rel=EXACT), hw


@pytest.mark.parametrize("floor", FLOORS)
def test_winner_is_the_best_feasible_row_of_the_frame(ev, ranked, floor):
    f = _feasible(ev, floor)
    if f.height == 0:
        assert not ranked[floor]["meets_floor"].any()
        return
    top = ranked[floor].row(0, named=True)
    assert top["meets_floor"]
    assert top["tokens_per_usd"] == pytest.approx(f["tokens_per_usd"].max(), rel=EXACT)
    assert top["hardware"] == f.sort("tokens_per_usd", descending=True)["hardware"][0]


@pytest.mark.parametrize("floor", FLOORS)
def test_failing_rows_say_why(ev, ranked, floor):
    r = ranked[floor].filter(~pl.col("meets_floor"))
    fitting = ev.frame.filter("fits").with_columns(pl.col("hardware").cast(pl.String))
    best_utps = dict(fitting.group_by("hardware").agg(pl.col("utps").max()).iter_rows())
    for row in r.iter_rows(named=True):
        reason = row["reason"]
        assert reason.startswith(("best UTPS", "does not fit", "no price")), reason
        if reason.startswith("best UTPS"):
            hw = row["hardware"]
            assert best_utps[hw] < floor
            assert f"{best_utps[hw]:.1f}" in reason
            # shown at a configuration within NEAR_FASTEST of the best UTPS it reaches
            assert NEAR_FASTEST * best_utps[hw] <= row["utps"] <= best_utps[hw]
        elif reason.startswith("no price"):  # searched and served, but the basis has no price for it
            assert row["hardware"] not in best_utps and row["rent_only"]
            assert math.isnan(row["tokens_per_usd"]) and row["utps"] > 0
        else:
            assert row["hardware"] not in best_utps
            assert math.isnan(row["tokens_per_usd"]) and math.isnan(row["utps"])


def test_failing_rows_order_best_utps_before_does_not_fit():
    r = rank("kimi-k2", context=4096, min_utps=2000, catalogs=CATS)
    reasons = r.filter(~pl.col("meets_floor"))["reason"].to_list()
    kinds = [0 if x.startswith("best UTPS") else 1 for x in reasons]
    assert kinds == sorted(kinds)
    assert 1 in kinds and 0 in kinds


def test_higher_floor_never_improves_a_design(ranked):
    for low, high in zip(FLOORS, FLOORS[1:], strict=False):
        lo = {
            h: v
            for h, v, m in ranked[low].select("hardware", "tokens_per_usd", "meets_floor").iter_rows()
            if m
        }
        hi = {
            h: v
            for h, v, m in ranked[high].select("hardware", "tokens_per_usd", "meets_floor").iter_rows()
            if m
        }
        assert set(hi) <= set(lo), "a design meeting the higher floor meets the lower one"
        for hw, value in hi.items():
            assert value <= lo[hw] * (1 + EXACT), (hw, low, high)


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_every_objective_sorts_its_way(ev, objective):
    r = select(ev, 30.0, objective).filter("meets_floor")
    values = r[objective].to_list()
    assert values == sorted(values, reverse=OBJECTIVES[objective])
    f = _feasible(ev, 30.0)
    best = f[objective].max() if OBJECTIVES[objective] else f[objective].min()
    assert values[0] == pytest.approx(best, rel=EXACT)


def test_usd_per_mtok_sorts_ascending(ev):
    assert OBJECTIVES["usd_per_mtok"] is False
    r = select(ev, 30.0, "usd_per_mtok")
    v = r.filter("meets_floor")["usd_per_mtok"].to_list()
    assert v == sorted(v)
    assert v[0] < v[-1]


def test_model_too_big_for_the_chips_does_not_fit():
    r = rank("kimi-k2", context=4096, min_utps=30, hardware=["groq-lpu"], catalogs=CATS)
    assert r.height == 1
    row = r.row(0, named=True)
    assert row["hardware"] == "groq-lpu"
    assert not row["meets_floor"]
    assert row["reason"].startswith("does not fit")
    assert row["memory_needed_gib"] > row["memory_available_gib"]
    for c in ("utps", "stps", "tokens_per_usd", "tokens_per_joule", "usd_per_mtok", "gco2e_per_mtok"):
        assert math.isnan(row[c]), c


def test_unknown_objective_and_bad_floor_are_invalid_input(ev):
    with pytest.raises(InvalidInput, match="objective"):
        select(ev, 30, "tokens_per_smile")
    with pytest.raises(InvalidInput, match="objective"):
        rank("llama3-70b", context=4096, min_utps=30, objective="cheapest", catalogs=CATS)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInput, match="min_utps"):
            select(ev, bad)


def test_hardware_subset_is_respected():
    r = rank("llama3-70b", context=4096, min_utps=30, hardware=["h100-sxm", "xpu-sram"], catalogs=CATS)
    assert sorted(r["hardware"].to_list()) == ["h100-sxm", "xpu-sram"]


# --- sensitivity ----------------------------------------------------------------------------------

FACTORS = {
    "chip price",
    "energy_price",
    "pue",
    "lifetime",
    "utilization",
    "cost_of_capital",
    "colocation_price",
}


@pytest.fixture(scope="module")
def tornado(ev):
    return sensitivity(ev, 30)


def _change(t: pl.DataFrame, factor: str, bound: str) -> dict:
    rows = t.filter((pl.col("factor") == factor) & (pl.col("bound") == bound))
    assert rows.height == 1, (factor, bound)
    return rows.row(0, named=True)


def test_sensitivity_has_two_rows_per_factor(tornado):
    counts = dict(tornado.group_by("factor").len().iter_rows())
    assert set(counts) == FACTORS
    assert set(counts.values()) == {2}
    assert set(tornado["bound"]) == {"low", "high"}
    assert tornado["baseline_top"].n_unique() == 1


def test_sensitivity_rows_are_sorted_by_swing(tornado):
    swing = tornado.group_by("factor", maintain_order=True).agg(pl.col("change_pct").abs().max())[
        "change_pct"
    ]
    assert swing.to_list() == sorted(swing.to_list(), reverse=True)


def test_sensitivity_directions(ev, tornado):
    base = select(ev, 30)
    top, value = base["hardware"][0], base["tokens_per_usd"][0]
    assert (tornado["baseline_top"] == top).all()
    assert _change(tornado, "utilization", "high")["change_pct"] > 0
    assert _change(tornado, "utilization", "low")["change_pct"] < 0
    assert _change(tornado, "chip price", "high")["change_pct"] < 0
    assert _change(tornado, "chip price", "low")["change_pct"] > 0
    assert _change(tornado, "energy_price", "high")["change_pct"] < 0
    assert _change(tornado, "lifetime", "high")["change_pct"] > 0
    assert _change(tornado, "pue", "high")["change_pct"] < 0
    # the change is relative to the baseline winner's own value
    for row in tornado.iter_rows(named=True):
        assert row["change_pct"] == pytest.approx(
            100 * (row["baseline_top_value"] / value - 1), rel=PCT_ROUNDING, abs=PCT_ROUNDING
        )


def test_sensitivity_values_match_a_recost(ev, tornado):
    """utilization high (0.9 at us-average): re-price the same configurations and re-select."""
    high = CATS["datacenter"].row("us-average")["utilization_high"]
    again = select(ev.recost(site=ev.site.varied(utilization=high)), 30)
    row = _change(tornado, "utilization", "high")
    top = row["baseline_top"]
    assert row["baseline_top_value"] == pytest.approx(
        again.filter(pl.col("hardware") == top)["tokens_per_usd"][0], rel=EXACT
    )
    assert row["top_design"] == again["hardware"][0]
    assert row["top_value"] == pytest.approx(again["tokens_per_usd"][0], rel=EXACT)
