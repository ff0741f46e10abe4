"""Fleet planning (tco.planning.demand, tco.planning.fleet): hand-computed fleets, the forecast's validation, the
integer program on hand-made costs, and properties (more demand never costs less; a looser power
cap never costs more; a flat plan's $/Mtok stays within rounding and headroom of the ranking's).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.inputs import CatalogError, InvalidInput
from tco.planning.demand import Demand, demand_arrays, load_demand
from tco.planning.fleet import (
    Headroom,
    Offer,
    cheapest_mix,
    evaluate_streams,
    fleet,
    keep,
    offer,
    plan,
    server_chips,
    servers_needed,
    stream_figures,
)
from tco.questions.monte_carlo import uncertainty
from tco.questions.question import Question
from tco.questions.ranking import select
from tco.reporting.fleet_charts import SPEND, plan_chart
from tco.reporting.fleet_text import plan_section

CATS = load_catalogs()
#: Sums of a few dozen products of floats: rounding only.
ROUNDING = 1e-9
#: The integer program stops within this relative gap (tco.planning.fleet.MIX_GAP) of the optimum.
MIP_GAP = 1e-6
HEADER = "month,model,output_tokens_per_day[token/day],isl[token],osl[token],min_utps[token/s],peak_to_mean\n"
#: A few chips of different server sizes (8-GPU server, 72-GPU rack, a wafer-scale system).
CHIPS = ["h100-sxm", "b200-hgx", "b200-nvl72", "mi300x", "xpu-3d-dram", "cerebras-wse3"]


def _demand(rows: str, horizon: int | None = None) -> Demand:
    return demand_arrays(load_demand((HEADER + rows).encode(), CATS, file="demand.csv"), horizon)


def _problems(rows: str, header: str = HEADER) -> list[str]:
    with pytest.raises(CatalogError) as e:
        load_demand((header + rows).encode(), CATS, file="demand.csv")
    return [str(p) for p in e.value.problems if p.severity == "error"]


# --- the forecast ----------------------------------------------------------------------------------


def test_forecast_units_are_converted_from_the_header():
    header = HEADER.replace("[token/day]", "[Mtoken/day]").replace("[token/s]", "[token/min]")
    df = load_demand((header + "2027-01,llama3-8b,2.5,1024,256,600,1.5\n").encode(), CATS, file="d.csv")
    assert df["output_tokens_per_day"][0] == pytest.approx(2.5e6, rel=ROUNDING)
    assert df["min_utps"][0] == pytest.approx(10.0, rel=ROUNDING)
    assert df.schema["isl"] == pl.Int64


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ("2027-13,llama3-8b,1e9,1024,256,30,1.5\n", "demand.csv:2:month"),
        ("2027-1,llama3-8b,1e9,1024,256,30,1.5\n", "demand.csv:2:month"),
        ("2027-01,llama-99,1e9,1024,256,30,1.5\n", "demand.csv:2:model"),
        ("2027-01,llama3-8b,1e9,1024.5,256,30,1.5\n", "demand.csv:2:isl"),
        ("2027-01,llama3-8b,1e9,1024,0,30,1.5\n", "demand.csv:2:osl"),
        ("2027-01,llama3-8b,1e9,1024,1,30,1.5\n", "demand.csv:2:osl"),
        ("2027-01,llama3-8b,-1,1024,256,30,1.5\n", "demand.csv:2:output_tokens_per_day"),
        ("2027-01,llama3-8b,1e9,1024,256,30,0.5\n", "demand.csv:2:peak_to_mean"),
        ("2027-01,llama3-8b,1e9,1024,256,30,1.5\n2027-01,llama3-8b,2e9,1024,256,30,1.5\n", "demand.csv:3:"),
    ],
)
def test_each_bad_cell_is_named_by_file_row_and_column(rows, where):
    problems = _problems(rows)
    assert len(problems) == 1 and problems[0].startswith(where), problems


def test_a_header_unit_of_the_wrong_dimension_is_refused():
    header = HEADER.replace("[token/day]", "[W]")
    problems = _problems("2027-01,llama3-8b,1e9,1024,256,30,1.5\n", header)
    assert problems[0].startswith("demand.csv:1:output_tokens_per_day: got 'W'")


def test_the_calendar_fills_gaps_with_zero_and_holds_the_last_month():
    d = _demand(
        "2028-01,llama3-8b,8.64e9,1024,256,30,2\n2028-03,llama3-8b,17.28e9,1024,256,30,1.5\n", horizon=5
    )
    assert d.months == ["2028-01", "2028-02", "2028-03", "2028-04", "2028-05"]
    assert d.hours.tolist() == [744.0, 696.0, 744.0, 720.0, 744.0]  # 2028 is a leap year
    assert d.mean_tps[:, 0].tolist() == pytest.approx([1e5, 0.0, 2e5, 2e5, 2e5], rel=ROUNDING)
    assert d.peak_tps[:, 0].tolist() == pytest.approx([2e5, 0.0, 3e5, 3e5, 3e5], rel=ROUNDING)
    assert _demand(
        "2028-01,llama3-8b,1e9,1024,256,30,1\n2028-03,llama3-8b,1e9,1024,256,30,1\n", 1
    ).months == ["2028-01"]
    with pytest.raises(InvalidInput):
        _demand("2028-01,llama3-8b,1e9,1024,256,30,1\n", 0)


# --- sizing and buying on a hand-made offer -------------------------------------------------------

LIFETIME_H = 5 * 8766.0


def _offer(chips: float, unit: int, stps: float = 1000.0) -> Offer:
    """One chip serving one stream: instances of ``chips`` chips on ``unit``-chip servers, $2 capital
    and $1 operating cost per chip-hour, 12 kW of IT power per server, PUE 1.2."""

    def one(x: float) -> np.ndarray:
        return np.array([[x]])

    return Offer(
        hardware=["x"],
        availability=["shipping"],
        unit=np.array([unit]),
        server_it_w=np.array([12_000.0]),
        pue=1.2,
        serves=np.array([[True]]),
        reason=np.array([[""]]),
        chips=one(chips),
        stps=one(stps),
        capital=one(2.0),
        opex_items={"energy": one(0.25), "other": one(0.75)},
        purchase=one(2.0 * LIFETIME_H),
        average_w=one(500.0),
        operational_g=one(100.0),
        embodied_g=one(10.0),
        usd_per_mtok=one(float("nan")),
        lifetime_months=60,
        rented=False,
    )


def test_hand_computed_fleet_of_one_chip_flat_demand():
    # 8.64e9 tokens/day = 100,000 tokens/s mean; x 1.5 = 150,000 at the peak = 150 instances of
    # 1,000 tokens/s; 2-chip instances, 4 per 8-chip server: 37.5 -> 38 servers, + 1 spare = 39.
    d = _demand("2027-01,llama3-8b,8.64e9,1024,256,30,1.5\n2027-02,llama3-8b,8.64e9,1024,256,30,1.5\n")
    off = _offer(chips=2, unit=8)
    need = servers_needed(d, off, Headroom(spare_domain=True))
    assert need[:, 0, 0].tolist() == [39, 39]
    owned, bought = keep(need, off.lifetime_months)
    assert bought[:, 0, 0].tolist() == [39, 0]
    f = fleet(stream_figures(owned, bought, off, d), np.ones((1, 1), bool), off)
    chips = 39 * 8
    assert f["chips_owned"][:, 0].tolist() == [chips, chips]
    assert f["capital_usd"][:, 0] == pytest.approx([chips * 2.0 * 744, chips * 2.0 * 672], rel=ROUNDING)
    assert f["opex_usd"][:, 0] == pytest.approx([chips * 1.0 * 744, chips * 1.0 * 672], rel=ROUNDING)
    assert f["energy_usd"][:, 0] == pytest.approx([chips * 0.25 * 744, chips * 0.25 * 672], rel=ROUNDING)
    assert (f["capital_usd"] + f["opex_usd"]).sum() == pytest.approx(936 * 1416, rel=ROUNDING)  # $1,325,376
    assert f["capex_usd"][:, 0] == pytest.approx([chips * 2.0 * LIFETIME_H, 0.0], rel=ROUNDING)
    assert f["mw"][:, 0] == pytest.approx([0.5616, 0.5616], rel=ROUNDING)  # 39 x 12 kW x 1.2
    assert f["racks"][:, 0].tolist() == [13, 13]  # 3 servers of 12 kW per 40.8 kW rack
    assert f["operational_tco2e"][0, 0] == pytest.approx(chips * 100.0 * 744 / 1e6, rel=ROUNDING)


@pytest.mark.parametrize(
    ("chips", "unit", "headroom", "servers"),
    [
        (2, 8, Headroom(fraction=0.1), 42),  # 165 instances / 4 per server = 41.25 -> 42
        (16, 8, Headroom(spare_domain=True), 302),  # 150 instances x 2 servers + one instance's 2
        (16, 72, Headroom(), 38),  # 4 instances per NVL72 rack: 37.5 -> 38 racks
        (4, 1, Headroom(spare_domain=True), 604),  # a 4-system instance: 150 x 4 + 4
    ],
)
def test_instances_pack_into_whole_servers(chips, unit, headroom, servers):
    d = _demand("2027-01,llama3-8b,8.64e9,1024,256,30,1.5\n")
    assert servers_needed(d, _offer(chips, unit), headroom)[0, 0, 0] == servers


def test_servers_stay_for_their_lifetime_then_retire():
    need = np.array([10.0, 12.0, 5.0, 5.0, 5.0, 0.0])[:, None]
    owned, bought = keep(need, 60)
    assert owned[:, 0].tolist() == [10, 12, 12, 12, 12, 12]
    assert bought[:, 0].tolist() == [10, 2, 0, 0, 0, 0]
    # Two-month lifetime: month 2 keeps 12 - 10 retired = 2 and buys 3; month 3 keeps 5 - 2 = 3,
    # buys 2; month 4 keeps 5 - 3 = 2, buys 3; month 5 keeps 5 - 2 = 3 and needs none.
    owned, bought = keep(need, 2)
    assert owned[:, 0].tolist() == [10, 12, 5, 5, 5, 3]
    assert bought[:, 0].tolist() == [10, 2, 3, 2, 3, 0]


def test_server_units_come_from_the_scaleup_domain():
    assert server_chips(np.array([1, 8, 64, 72, 256, 9216])).tolist() == [1, 8, 64, 72, 8, 8]


def test_headroom_flag():
    assert Headroom.parse("N+1") == Headroom(spare_domain=True)
    assert Headroom.parse("0.25") == Headroom(fraction=0.25)
    for bad in ("-0.1", "two", "nan"):
        with pytest.raises(InvalidInput):
            Headroom.parse(bad)


# --- the integer program on hand-made costs --------------------------------------------------------


def test_the_mix_takes_the_cheapest_pair_of_chips():
    cost = np.array([[1.0, 4.0, 9.0], [9.0, 5.0, 1.0], [9.0, 2.0, 9.0]])
    mw = np.zeros((1, 3, 3))
    x, optimal = cheapest_mix(cost, mw, np.ones((3, 3), bool), None)
    # pairs: {0,1} 1+5+2 = 8, {1,2} 4+1+2 = 7, {0,2} 1+1+9 = 11; three chips (1+1+2 = 4) not allowed
    assert optimal and x.tolist() == [[False, True, False], [False, False, True], [False, True, False]]


def test_the_power_cap_moves_a_stream_and_a_too_low_cap_has_no_fleet():
    cost = np.array([[1.0, 2.0], [1.0, 2.0]])
    mw = np.array([[[3.0, 1.0], [3.0, 1.0]]])  # chip 0 is cheaper but draws 3 MW per stream
    serves = np.ones((2, 2), bool)
    assert cheapest_mix(cost, mw, serves, None)[0].tolist() == [[True, False], [True, False]]
    x, _ = cheapest_mix(cost, mw, serves, 4.0)  # 3 + 1 fits, 3 + 3 does not
    assert x.sum(axis=0).tolist() == [1, 1]
    assert cheapest_mix(cost, mw, serves, 1.5) is None


def test_a_chip_that_cannot_serve_a_stream_is_not_given_it():
    cost = np.array([[1.0, 5.0], [1.0, 5.0]])
    serves = np.array([[True, True], [False, True]])
    x, _ = cheapest_mix(cost, np.zeros((1, 2, 2)), serves, None)
    assert x.tolist() == [[True, False], [False, True]]


# --- the whole plan on the catalogs ----------------------------------------------------------------

ROWS = "2027-01,llama3-70b,2e10,2048,512,30,2\n2027-01,deepseek-v3,1e10,4096,1024,50,2.2\n"


@pytest.fixture(scope="module")
def evaluations():
    d = _demand(ROWS)
    return evaluate_streams(d.streams, Question(catalogs=CATS, hardware=CHIPS))


def test_hand_computed_plan_through_the_ranking():
    # One model, flat demand, one chip: the ranking's row gives the instance; the rest by hand.
    rows = "2027-01,llama3-8b,5e10,1024,256,40,2\n2027-02,llama3-8b,5e10,1024,256,40,2\n"
    d = _demand(rows)
    evs = evaluate_streams(d.streams, Question(catalogs=CATS, hardware=["h100-sxm"]))
    r = select(evs[("llama3-8b", 1024, 256)], 40.0).row(0, named=True)
    p = plan(d, evs, headroom=Headroom(fraction=0.0))
    peak = 5e10 / 86400 * 2
    instances = math.ceil(peak / r["stps"])
    servers = math.ceil(instances / (8 // r["chips"]))
    hours = 744 + 672
    tco = servers * 8 * r["usd_per_hour"] / r["chips"] * hours
    # Provisioned per GPU: TDP 700 W + host share 575 W + network 90 W (hardware_economics, systems
    # and networks catalogs), times the PUE of us-average.
    mw = servers * 8 * (700 + 575 + 90) * 1.56 / 1e6
    best = p.plans.row(0, named=True)
    assert best["fleet"] == "h100-sxm" and best["meets_demand"]
    assert best["servers"] == servers and best["chips"] == 8 * servers
    assert best["tco_usd"] == pytest.approx(tco, rel=ROUNDING)
    assert best["peak_mw"] == pytest.approx(mw, rel=ROUNDING)
    assert best["usd_per_mtok"] == pytest.approx(tco / (5e10 * 59 / 1e6), rel=ROUNDING)


@pytest.mark.parametrize("headroom", [Headroom(), Headroom(fraction=0.2), Headroom(spare_domain=True)])
def test_flat_plan_costs_the_rankings_usd_per_mtok_within_rounding_and_headroom(evaluations, headroom):
    """Bound: with peak/mean = 1 / utilization (the load the ranking prices at), a flat plan's
    blended $/Mtok is the ranking's times (owned chips / chips the peak needs), exactly, and

        ranking <= blended <= ranking x (1 + fraction) x (packing (exact + n) + unit + spare) / exact

    with ``exact`` = peak / STPS x n chips per instance: rounding up adds under one instance, the
    last server under ``unit`` chips, n+1 one domain (``spare`` chips); ``packing`` = chips an
    instance occupies on whole servers / n (72 / 4 / 16 for 16-chip instances in an NVL72 rack)."""
    u = CATS["datacenter"].row("us-average")["utilization"]
    rows = f"2027-01,llama3-70b,2e10,2048,512,30,{1 / u}\n2027-02,llama3-70b,2e10,2048,512,30,{1 / u}\n"
    d = _demand(rows)
    evs = {k: v for k, v in evaluations.items() if k[0] == "llama3-70b"}
    p = plan(d, evs, headroom=headroom, mix=False)
    ranked = select(evs[("llama3-70b", 2048, 512)], 30.0).filter("meets_floor")
    joined = p.plans.with_columns(pl.col("hardware").list.first()).join(ranked, on="hardware")
    assert joined.height == p.plans.height > 0
    for r in joined.iter_rows(named=True):
        unit = server_chips(np.array([CATS["hardware"].row(r["hardware"])["scaleup_domain"]]))[0]
        n = r["chips_right"]
        exact = 2e10 / 86400 / u * (1 + headroom.fraction) / r["stps"] * n
        ratio = r["usd_per_mtok"] / r["usd_per_mtok_right"]
        assert ratio == pytest.approx(r["chips"] / exact * (1 + headroom.fraction), rel=ROUNDING)
        slot = unit / (unit // n) if n <= unit else math.ceil(n / unit) * unit
        spare = math.ceil(n / unit) * unit if headroom.spare_domain else 0
        bound = (1 + headroom.fraction) * (slot / n * (exact + n) + unit + spare) / exact
        assert 1 - ROUNDING <= ratio <= bound, r["hardware"]


def test_the_mix_is_never_dearer_than_the_best_single_chip(evaluations):
    d = _demand(ROWS)
    p = plan(d, evaluations)
    singles = p.plans.filter(pl.col("hardware").list.len() == 1, "meets_demand")
    best = p.plans.row(0, named=True)
    assert best["tco_usd"] <= singles["tco_usd"].min() * (1 + MIP_GAP)
    assert p.monthly.group_by("fleet").len()["len"].min() >= len(d.months)
    assert set(p.monthly["fleet"]) == set(p.plans["fleet"])


def test_monthly_rows_add_up_to_the_fleet_totals(evaluations):
    p = plan(_demand(ROWS + ROWS.replace("2027-01", "2027-02")), evaluations)
    items = [
        c
        for c in p.monthly.columns
        if c.endswith("_usd") and c not in ("capex_usd", "capital_usd", "opex_usd")
    ]
    assert set(items) == {"energy_usd", "facility_usd", "maintenance_usd", "operations_usd", "rental_usd"}
    m = p.monthly
    assert (m.select(pl.sum_horizontal(items)).to_series() - m["opex_usd"]).abs().max() <= ROUNDING * m[
        "opex_usd"
    ].max()
    sums = m.group_by("fleet").agg(pl.col("capital_usd", "opex_usd", "capex_usd").sum())
    joined = p.plans.join(sums, on="fleet", suffix="_monthly")
    for r in joined.iter_rows(named=True):
        assert r["tco_usd"] == pytest.approx(r["capital_usd_monthly"] + r["opex_usd_monthly"], rel=ROUNDING)
        assert r["capex_usd"] == pytest.approx(r["capex_usd_monthly"], rel=ROUNDING)


def test_a_power_cap_marks_the_fleets_over_it(evaluations):
    d = _demand(ROWS)
    free = plan(d, evaluations, mix=False)
    cap = float(free.plans["peak_mw"].median())
    capped = plan(d, evaluations, max_mw=cap, mix=False)
    over = capped.plans.filter(~pl.col("meets_demand"))
    assert over.height > 0 and (over["peak_mw"] > cap).all()
    assert over["reason"].str.contains("over the cap").all()
    assert capped.plans.filter("meets_demand")["peak_mw"].max() <= cap
    with pytest.raises(InvalidInput):
        plan(d, evaluations, max_mw=0.0)


PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(
    mean=st.lists(st.floats(0.0, 2e6), min_size=2, max_size=12),
    ratio=st.floats(1.0, 3.0),
    factor=st.floats(1.0, 4.0),
)
def test_more_demand_never_lowers_servers_or_tco(evaluations, mean, ratio, factor):
    base = _demand(ROWS)
    t_n = len(mean)
    months = (np.datetime64("2027-01") + np.arange(t_n)).astype(str).tolist()
    hours = np.full(t_n, 720.0)
    mean_tps = np.array(mean)[:, None] * np.array([1.0, 0.5])[None, :]
    d = Demand(months, hours, base.streams, mean_tps, mean_tps * ratio)
    off = offer(d, evaluations)
    spare = Headroom(spare_domain=True)

    def figures(demand: Demand):
        owned, bought = keep(servers_needed(demand, off, spare), off.lifetime_months)
        f = fleet(stream_figures(owned, bought, off, demand), np.ones_like(off.serves), off)
        return f["servers_owned"], (f["capital_usd"] + f["opex_usd"]).sum(axis=0)

    servers, tco = figures(d)
    servers_more, tco_more = figures(d.scaled(factor))
    assert (servers_more >= servers).all()
    assert (tco_more >= tco * (1 - ROUNDING)).all()


@PROPERTY
@given(low=st.floats(0.05, 20.0), more=st.floats(0.0, 20.0))
def test_a_higher_power_cap_never_raises_the_best_tco(evaluations, low, more):
    d = _demand(ROWS)

    def best(cap: float) -> float:
        meeting = plan(d, evaluations, max_mw=cap).plans.filter("meets_demand")
        return meeting["tco_usd"].min() if meeting.height else math.inf

    assert best(low + more) <= best(low) * (1 + MIP_GAP)


# --- chart and report section ----------------------------------------------------------------------


def test_the_monthly_chart_draws_the_chosen_fleet_only(evaluations):
    p = plan(_demand(ROWS + ROWS.replace("2027-01", "2027-02")), evaluations)
    fleet_name = p.plans["fleet"][0]
    spec = plan_chart(p.monthly, fleet_name).to_dict()
    assert len(spec["vconcat"]) == 3
    data = spec["datasets"]
    servers = next(rows for rows in data.values() if rows and "servers_owned" in rows[0])
    expected = p.monthly.filter(pl.col("fleet") == fleet_name)
    assert len(servers) == expected.height
    assert sum(r["servers_owned"] for r in servers) == expected["servers_owned"].sum()
    spend = next(rows for rows in data.values() if rows and "usd" in rows[0])
    assert {r["series"] for r in spend} == set(SPEND.values())


def test_the_report_section_states_the_best_fleet(evaluations):
    p = plan(_demand(ROWS), evaluations)
    section = plan_section(p)
    best = p.plans.row(0, named=True)
    assert section.blocks[0] == ("h2", "Fleet plan")
    mark = " [hypothetical]" if "hypothetical" in best["availability"] else ""
    assert f"the cheapest fleet is {best['fleet']}{mark}:" in section.blocks[1][1]
    table = next(b for b in section.blocks if b[0] == "table")
    assert [row[0].split(" [")[0] for row in table[2]] == p.plans["fleet"].head(len(table[2])).to_list()
    assert ("chart", "plan", "monthly") in section.blocks and set(section.charts) == {"monthly"}


# --- cost basis and availability -------------------------------------------------------------------


def test_rented_servers_follow_demand_and_cost_the_rental_price():
    # Demand falls in month 2: rented servers are returned; owned ones would stay.
    rows = "2027-01,llama3-8b,5e10,1024,256,40,2\n2027-02,llama3-8b,2e10,1024,256,40,2\n"
    d = _demand(rows)
    evs = evaluate_streams(d.streams, Question(catalogs=CATS, hardware=["h100-sxm"], cost_basis="rent"))
    r = select(evs[("llama3-8b", 1024, 256)], 40.0).row(0, named=True)
    p = plan(d, evs, headroom=Headroom(fraction=0.0))
    month = p.monthly.filter(pl.col("fleet") == "h100-sxm").sort("month")
    servers = [math.ceil(math.ceil(day / 86400 * 2 / r["stps"]) / (8 // r["chips"])) for day in (5e10, 2e10)]
    assert month["servers_owned"].to_list() == servers and servers[1] < servers[0]
    assert month["servers_bought"].to_list() == [servers[0], 0]
    assert month["capex_usd"].sum() == 0.0 and month["capital_usd"].sum() == 0.0
    cost = sum(n * 8 * r["usd_per_chip_hour"] * h for n, h in zip(servers, (744, 672), strict=True))
    assert p.plans["tco_usd"][0] == pytest.approx(cost, rel=ROUNDING)
    assert p.to_json()["cost_basis"] == "rent"


def test_availability_keeps_the_kinds_asked_for(evaluations):
    p = plan(_demand(ROWS), evaluations, availability=["shipping"])
    assert p.plans.height > 0
    assert p.plans["availability"].explode().unique().to_list() == ["shipping"]
    with pytest.raises(InvalidInput):
        plan(_demand(ROWS), evaluations, availability=["someday"])


def test_uncertainty_gives_each_fleet_a_reproducible_tco_spread(evaluations):
    d = _demand(ROWS)
    p = plan(d, evaluations, draws=400)
    again = plan(d, evaluations, draws=400)
    assert p.plans["tco_usd_p10"].to_list() == again.plans["tco_usd_p10"].to_list()  # seeded
    assert (p.plans["tco_usd_p10"] <= p.plans["tco_usd_p90"]).all()
    assert plan(d, evaluations).plans["tco_usd_p10"].is_null().all()  # off by default
    # One stream on one chip: its TCO times the ranking's p10 over its catalog-value $/Mtok.
    one = _demand(ROWS.splitlines()[0] + "\n")
    evs = {k: v for k, v in evaluations.items() if k[0] == "llama3-70b"}
    single = plan(one, evs, draws=400, mix=False).plans.row(0, named=True)
    spread = uncertainty(evs[("llama3-70b", 2048, 512)], 400, 30.0)
    row = spread.filter(pl.col("hardware") == single["fleet"]).row(0, named=True)
    ranked = select(evs[("llama3-70b", 2048, 512)], 30.0).filter(pl.col("hardware") == single["fleet"])
    factor = row["usd_per_mtok_p10"] / ranked["usd_per_mtok"][0]
    assert single["tco_usd_p10"] == pytest.approx(single["tco_usd"] * factor, rel=ROUNDING)
