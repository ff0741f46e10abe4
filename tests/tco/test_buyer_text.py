"""The buyer's view (issue 13): buyable first, every design's curves, a deployable trade-off.

- ``buyer_answer``: names the best chip that ships and, beside it, the best design of any kind.
- ``buyer_curves``: per design and metric, a non-dominated curve from the fastest point down.
- ``buyer_chart``: log scales, the floor drawn, hypothetical designs marked, the configuration on hover.
- ``tradeoff``: the default start is within one scale-up domain; the sentence and the headline gain
  follow the chosen metric; a picked start is used as given.
"""

from __future__ import annotations

import polars as pl
import pytest

from perfmodel.inputs import InvalidInput
from tco.questions.cost_curves import BUYER_METRICS, buyer_curves
from tco.questions.question import Question
from tco.questions.ranking import evaluate, select
from tco.questions.tradeoffs import METRICS, default_max_chips, tradeoff
from tco.reporting.buyer_text import buyer_answer, can_buy, design_label, own_against_rent
from tco.reporting.charts import MIN_PLOT_HEIGHT, buyer_chart, cost_breakdown_chart


@pytest.fixture(scope="module")
def ev():
    return evaluate(Question("llama3-70b", 4096))


@pytest.fixture(scope="module")
def ranked(ev):
    return select(ev, 30)


def test_owning_and_renting_side_by_side(ev):
    own, rent = select(ev, 30), select(ev.recost(cost_basis="rent"), 30)
    both = own_against_rent(own, rent)
    assert both["hardware"].to_list() == own.filter("meets_floor")["hardware"].to_list()
    rented = rent.filter("meets_floor").row(0, named=True)
    row = both.filter(pl.col("hardware") == rented["hardware"]).row(0, named=True)
    assert row["usd_per_mtok_rent"] == rented["usd_per_mtok"]
    assert row["usd_per_chip_hour_rent"] == rented["usd_per_chip_hour"]
    assert both.filter(pl.col("availability") == "hypothetical")["usd_per_mtok_rent"].null_count() > 0


def test_answer_names_the_best_buyable_chip_and_the_best_design(ranked):
    meeting = ranked.filter("meets_floor")
    buyable = meeting.filter(can_buy()).row(0, named=True)
    best = meeting.row(0, named=True)
    assert best["availability"] != "shipping"  # the catalog's cheapest is announced or a study design
    text = buyer_answer(ranked, "llama3-70b", 30, "tokens_per_usd")
    assert f"the best chip you can buy by tokens per dollar is {buyable['hardware']}:" in text
    assert f"Best design of any kind: {design_label(best['hardware'], best['availability'])}" in text
    ratio = best["tokens_per_usd"] / buyable["tokens_per_usd"]
    assert f"{ratio:.1f}x better on tokens per dollar" in text


def test_answer_when_the_best_design_ships_and_when_none_serves(ranked):
    shipping = ranked.filter(pl.col("availability") == "shipping")
    assert "No design of any kind, announced or hypothetical, does better." in buyer_answer(
        shipping, "llama3-70b", 30, "tokens_per_usd"
    )
    nothing = ranked.with_columns(meets_floor=pl.lit(False))
    assert buyer_answer(nothing, "llama3-70b", 1e6, "tokens_per_usd").startswith(
        "No design in the catalog serves llama3-70b"
    )


def test_curves_cover_every_fitting_design_and_are_non_dominated(ev):
    curves = buyer_curves(ev.frame)
    fitting = set(ev.frame.filter("fits")["hardware"].cast(pl.String).unique())
    for metric in BUYER_METRICS:
        one = curves.filter(pl.col("metric") == metric)
        assert set(one["hardware"]) == fitting
        for _, g in one.group_by("hardware"):
            u, v = g["utps"].to_list(), g["value"].to_list()
            assert u == sorted(u, reverse=True)  # from the fastest point down
            pairs = zip(v, v[1:], strict=False)
            better = [b > a for a, b in pairs] if METRICS[metric] else [b < a for a, b in pairs]
            assert all(better)  # each slower point must buy a better metric
    assert curves["config"][0].endswith(f"batch {curves['batch'][0]}")


def test_buyer_chart_draws_floor_log_scales_and_marks_hypothetical(ev):
    curves = buyer_curves(ev.frame)
    spec = buyer_chart(curves, "usd_per_mtok", 30).to_dict()
    line, rule, _ = spec["layer"]
    assert line["encoding"]["x"]["scale"]["type"] == "log" and line["encoding"]["y"]["scale"]["type"] == "log"
    assert line["encoding"]["y"]["title"] == "USD per million tokens"
    assert "strokeDash" in line["encoding"]
    assert any(t.get("field") == "config" for t in line["encoding"]["tooltip"])
    data = spec["datasets"]
    names = {r["hardware"] for rows in data.values() for r in rows if "hardware" in r}
    assert "xpu-3d-dram (hypothetical)" in names and "h100-sxm" in names
    assert [r["utps"] for rows in data.values() for r in rows if "text" in r] == [30.0]
    lines = [r for rows in data.values() for r in rows if "config" in r]
    assert set(lines[0]) == {"hardware", "utps", "value", "config", "users", "availability"}  # what it draws


def test_short_charts_keep_a_readable_height(ranked):
    one = cost_breakdown_chart(ranked.head(1)).to_dict()
    assert one["height"] >= MIN_PLOT_HEIGHT + 100  # a plot, an axis and a legend
    assert one["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_default_trade_off_starts_within_one_scale_up_domain(ev):
    t = tradeoff(ev, "h100-sxm", 0.10)
    assert t["max_chips"] == 8 == ev.catalogs["hardware"].row("h100-sxm")["scaleup_domain"]
    assert t["baseline"]["chips"] <= 8 and t["tradeoff"]["chips"] <= 8
    assert t["baseline"]["tp"] <= 8
    fastest = ev.frame.filter(pl.col("fits") & (pl.col("hardware") == "h100-sxm") & (pl.col("chips") <= 8))
    assert t["baseline"]["utps"] == pytest.approx(fastest["utps"].max(), rel=1e-12)
    # a design whose domain cannot hold the model starts from the fewest chips that do
    assert (
        default_max_chips(ev, "cerebras-wse3")
        > ev.catalogs["hardware"].row("cerebras-wse3")["scaleup_domain"]
    )
    assert tradeoff(ev, "cerebras-wse3", 0.10)["baseline"]["chips"] <= default_max_chips(ev, "cerebras-wse3")


@pytest.mark.parametrize("objective", list(METRICS))
def test_sentence_and_headline_gain_follow_the_metric(ev, objective):
    t = tradeoff(ev, "h100-sxm", 0.10, objective)
    key = "gain_stps" if objective == "stps_per_chip" else f"gain_{objective}"
    assert t["gain"] == t[key] >= 1.0
    verb = "cuts" if objective in ("usd_per_mtok", "gco2e_per_mtok") else "raises"
    assert f"slower per user {verb} " in t["sentence"] and f" {t['gain']:.1f}x on h100-sxm" in t["sentence"]


def test_picked_start_and_chip_limit(ev):
    rows = ev.frame.filter(pl.col("fits") & (pl.col("hardware") == "h100-sxm") & (pl.col("chips") == 4))
    pick = rows.sort("utps").row(0, named=True)
    t = tradeoff(ev, "h100-sxm", 0.10, baseline={k: pick[k] for k in ("tp", "pp", "ep", "batch")})
    assert all(t["baseline"][k] == pick[k] for k in ("tp", "pp", "ep", "batch"))
    assert t["gain"] >= 1.0 and t["tradeoff"]["utps"] >= 0.9 * pick["utps"] * (1 - 1e-12)
    wide = tradeoff(ev, "h100-sxm", 0.10, max_chips=64)
    assert wide["baseline"]["utps"] >= tradeoff(ev, "h100-sxm", 0.10)["baseline"]["utps"]
    with pytest.raises(InvalidInput, match="at most 8 chips is tp 3"):
        tradeoff(ev, "h100-sxm", baseline={"tp": 3, "pp": 1, "ep": 1, "batch": 1})
    with pytest.raises(InvalidInput, match="fits on no configuration of cerebras-wse3 with at most 1 chips"):
        tradeoff(ev, "cerebras-wse3", max_chips=1)


def test_calibrated_trade_off_starts_deployable_within_one_server():
    calibrated = evaluate(Question("llama3-70b"))  # calibrated mode: every configuration is deployable
    t = tradeoff(calibrated, "h100-sxm", 0.10)
    assert t["mode"] == "calibrated" and t["baseline"]["chips"] <= 8 and t["baseline"]["tp"] <= 8
    assert "1,024 in / 1,024 out tokens, instances of at most 8 chips" in t["sentence"]
