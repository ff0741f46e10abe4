"""Monte Carlo uncertainty (tco.questions.monte_carlo): reproducible, degenerate ranges give the point
estimate, quantiles ordered, probabilities that add up, wider ranges that widen the spread."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from perfmodel.catalog.economics_set import load_catalogs
from tco.questions.monte_carlo import triangular, uncertainty
from tco.questions.question import Question
from tco.questions.ranking import evaluate, select

CATS = load_catalogs()
#: Same inputs, same arithmetic in numpy instead of polars: only rounding differs.
EXACT = 1e-9
#: Sampling error of a mean of 20,000 uniform(0, 1) draws is 0.2 %: 1 % is five standard errors.
SAMPLING = 0.01
FLOOR = 20.0


@pytest.fixture(scope="module")
def ev():
    return evaluate(Question("llama3-70b", 4096, catalogs=CATS))


def _collapsed(ev):
    """Every range collapsed to its value: the site's low/high and the chips' price bounds."""
    folder_rows = ev.catalogs["datacenter"].df.with_columns(
        **{
            f"{f}_{b}": pl.col(f)
            for f in ("pue", "energy_price", "lifetime", "utilization", "cost_of_capital", "colocation_price")
            for b in ("low", "high")
        }
    )
    tables = dict(ev.catalogs.tables)
    tables["datacenter"] = replace(tables["datacenter"], df=folder_rows)
    chips = ev.chips.with_columns(
        price_low_usd=pl.col("price_usd"),
        price_high_usd=pl.col("price_usd"),
        rental_usd_per_s_low=pl.col("rental_usd_per_s"),
        rental_usd_per_s_high=pl.col("rental_usd_per_s"),
    )
    return replace(ev, question=ev.question.but(catalogs=replace(ev.catalogs, tables=tables)), chips=chips)


def test_triangular_matches_its_mean_and_bounds():
    """Triangular(0, 0.25, 1): mean (0 + 0.25 + 1) / 3 = 0.41667, all draws inside [0, 1]."""
    x = triangular(np.random.default_rng(1), 0.0, 0.25, 1.0, 20_000)
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x.mean() == pytest.approx(1.25 / 3, rel=SAMPLING)
    assert (triangular(np.random.default_rng(1), 2.0, 2.0, 2.0, 10) == 2.0).all()


def test_same_seed_same_result_and_another_seed_differs(ev):
    a = uncertainty(ev, 2_000, FLOOR, seed=7)
    b = uncertainty(ev, 2_000, FLOOR, seed=7)
    c = uncertainty(ev, 2_000, FLOOR, seed=8)
    assert a.equals(b)
    assert not a.equals(c)


def test_zero_width_ranges_give_the_point_estimate(ev):
    """No spread in any input: p10 = p50 = p90 = the ranking's $/Mtok and tokens/J, and the
    ranking's winner is the cheapest in every draw."""
    flat = _collapsed(ev)
    u = uncertainty(flat, 500, FLOOR).sort("hardware")
    ranked = select(ev, FLOOR, "usd_per_mtok").filter("meets_floor").sort("hardware")
    assert u["hardware"].to_list() == ranked["hardware"].to_list()
    for q in ("p10", "p50", "p90"):
        np.testing.assert_allclose(u[f"usd_per_mtok_{q}"], ranked["usd_per_mtok"], rtol=EXACT)
        np.testing.assert_allclose(u[f"tokens_per_joule_{q}"], ranked["tokens_per_joule"], rtol=EXACT)
    winner = select(ev, FLOOR, "usd_per_mtok")["hardware"][0]
    assert u.filter(pl.col("hardware") == winner)["p_cheapest"][0] == 1.0


def test_quantiles_are_ordered_and_probabilities_add_up(ev):
    u = uncertainty(ev, 3_000, FLOOR)
    assert (u["usd_per_mtok_p10"] <= u["usd_per_mtok_p50"]).all()
    assert (u["usd_per_mtok_p50"] <= u["usd_per_mtok_p90"]).all()
    assert (u["tokens_per_joule_p10"] <= u["tokens_per_joule_p90"]).all()
    assert u["p_cheapest"].sum() == pytest.approx(1.0, abs=1e-12)
    assert ((u["p_cheapest"] >= 0) & (u["p_cheapest"] <= 1)).all()
    # there is real spread: a 10-90 % band of at least 10 % of the median for every design
    assert ((u["usd_per_mtok_p90"] - u["usd_per_mtok_p10"]) > 0.1 * u["usd_per_mtok_p50"]).all()


def test_wider_price_range_widens_the_spread(ev):
    """Doubling every chip's price range (about its value) widens each priced design's band (a
    rent-only chip draws its rental price: its purchase range does not apply)."""
    wide = ev.chips.with_columns(
        price_low_usd=(2 * pl.col("price_low_usd") - pl.col("price_usd")).clip(lower_bound=0.0),
        price_high_usd=2 * pl.col("price_high_usd") - pl.col("price_usd"),
    )
    a = uncertainty(ev, 4_000, FLOOR).sort("hardware")
    b = uncertainty(replace(ev, chips=wide), 4_000, FLOOR).sort("hardware")
    band = lambda t: (t["usd_per_mtok_p90"] - t["usd_per_mtok_p10"]).to_numpy()  # noqa: E731
    ranged = ev.chips.sort("hardware").filter(pl.col("hardware").is_in(a["hardware"].implode()))
    has_range = ((ranged["price_high_usd"] > ranged["price_low_usd"]) & ~ranged["rent_only"]).to_numpy()
    assert (band(b)[has_range] > band(a)[has_range]).all()


def test_availability_restricts_the_competition(ev):
    u = uncertainty(ev, 1_000, FLOOR, availability=["shipping"])
    shipping = set(ev.chips.filter(pl.col("availability") == "shipping")["hardware"].to_list())
    assert set(u["hardware"].to_list()) <= shipping
    assert u["p_cheapest"].sum() == pytest.approx(1.0, abs=1e-12)


def test_calibrated_throughput_adds_spread_where_prices_have_none():
    """With every price and site range collapsed, the limit mode has no spread (above) but the
    calibrated mode keeps its efficiencies' error: p90/p10 of $/Mtok near (1.25/0.75) at most."""
    ev = _collapsed(evaluate(Question("llama3-8b", catalogs=CATS, hardware=["h100-sxm", "b200-hgx"])))
    assert ev.mode == "calibrated"
    u = uncertainty(ev, 4_000, 0.0)
    ratio = (u["usd_per_mtok_p90"] / u["usd_per_mtok_p10"]).to_numpy()
    assert (ratio > 1.1).all() and (ratio < 1.25 / 0.75).all()


def test_a_mode_outside_the_range_widens_it_instead_of_drawing_nan():
    import numpy as np

    from tco.questions.monte_carlo import triangular

    draws = triangular(np.random.default_rng(0), 0.06, 0.30, 0.186, 10_000)  # mode above high
    assert np.isfinite(draws).all() and draws.min() >= 0.06 and draws.max() <= 0.30
