"""Rent against own, availability, and the economics catalogs' own type (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from contracts import ECONOMICS_KEYS, RANK_KEYS, UNCERTAINTY_KEYS

from perfmodel.catalog.economics_set import EconomicsCatalogs, load_catalogs
from perfmodel.catalog.folder import load_catalogs as load_performance_catalogs
from perfmodel.inputs import InvalidInput
from perfmodel.units import Q_
from tco.designs.catalog_upkeep import add_chip
from tco.economics.rentals import rental_table
from tco.questions.question import Question
from tco.questions.ranking import buyable_first, evaluate, select
from tco.questions.sensitivity_analysis import sensitivity

ROOT = Path(__file__).resolve().parents[2]
CATS = load_catalogs()
EXACT = 1e-12
FLOOR = 20.0


@pytest.fixture(scope="module")
def own():
    return evaluate(Question("llama3-70b", 4096, catalogs=CATS))


@pytest.fixture(scope="module")
def rent(own):
    return own.recost(cost_basis="rent")


def test_rent_prices_each_chip_hour_at_its_median_offer(rent):
    """Under rent, a chip-hour costs the median published offer, and nothing else is added."""
    medians = {
        r["hardware"]: Q_(r["rental_usd_per_s"], "1/s").to("1/hour").m
        for r in rental_table(CATS).iter_rows(named=True)
    }
    f = rent.frame
    assert set(f["hardware"].cast(pl.String).unique()) == set(medians)
    for name, price in medians.items():
        rows = f.filter(pl.col("hardware") == name)
        assert rows["usd_per_chip_hour"].to_numpy() == pytest.approx(price, rel=EXACT)
        for item in ("capex", "energy", "facility", "maintenance"):
            assert (rows[f"{item}_usd_per_mtok"] == 0).all(), item
    # H100: offers 1.30 (3-year), 2.35 (1-year), 2.95, 2.99 -> median 2.65 USD per GPU-hour
    h100 = f.filter(pl.col("hardware") == "h100-sxm")["usd_per_chip_hour"][0]
    assert h100 == pytest.approx(2.65, rel=EXACT)
    assert (f["cost_basis"] == "rent").all()


def test_owning_is_cheaper_than_renting_on_demand_for_the_same_configuration(own, rent):
    """At 70 % utilization an owner pays less per token than a renter of the same configuration:
    every chip's owner cost per hour is below its median offer."""
    keys = ["hardware", "tp", "pp", "ep", "batch"]
    j = own.frame.filter(~pl.col("rent_only")).join(rent.frame, on=keys, suffix="_rent")
    assert j.height > 100
    assert (j["usd_per_mtok"] < j["usd_per_mtok_rent"]).all()
    # the performance is the same: only the price of a chip-hour differs
    assert (j["stps"] == j["stps_rent"]).all()


def test_availability_filter(own):
    ranked = select(own, FLOOR, availability=["shipping"])
    assert set(ranked["availability"]) == {"shipping"}
    allowed = set(CATS["hardware"].df.filter(pl.col("availability") == "shipping")["name"])
    assert set(ranked["hardware"]) == allowed
    every = select(own, FLOOR)
    assert set(every["availability"]) == set(CATS["hardware"].df["availability"])
    with pytest.raises(InvalidInput, match="availability"):
        select(own, FLOOR, availability=["soon"])


def test_a_performance_only_catalog_set_is_refused_by_name():
    perf_only = load_performance_catalogs()
    assert not isinstance(perf_only, EconomicsCatalogs) and isinstance(CATS, EconomicsCatalogs)
    with pytest.raises(InvalidInput, match="economics_set.load_catalogs"):
        evaluate(Question("llama3-70b", 4096, catalogs=perf_only))


def test_every_catalog_price_has_a_source_and_date():
    econ = CATS["hardware_economics"].df
    priced = econ.filter(pl.col("price").is_not_null())
    assert priced.height >= 8
    assert (priced["source"].str.len_chars() > 20).all()
    assert priced["price_date"].str.contains(r"^\d{4}-\d{2}$").all()
    rentals = CATS["rentals"].df
    assert (
        rentals["date"].str.contains(r"^\d{4}-\d{2}$").all()
        and (rentals["source"].str.len_chars() > 20).all()
    )
    for table in ("systems", "networks"):
        assert (CATS[table].df["source"].str.len_chars() > 20).all()


def _tco(*args: str) -> list[dict]:
    p = subprocess.run(
        [sys.executable, "-m", "tco", "rank", "--model", "llama3-70b", "--min-utps", "20", "--json", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.subprocess
def test_cli_availability_cost_basis_and_uncertainty_keys():
    rows = _tco("--availability", "shipping", "--uncertainty", "500", "--cost-basis", "own")
    assert rows and {r["availability"] for r in rows} == {"shipping"}
    for r in rows:
        assert set(RANK_KEYS) | set(ECONOMICS_KEYS) | set(UNCERTAINTY_KEYS) <= set(r)
        if r["usd_per_mtok"] is None:  # listed without a price, and says why
            assert r["reason"].startswith("no price")
            continue
        assert r["cost_basis"] == ("rent" if r["rent_only"] else "own")  # rent-only chips are rented
        assert r["usd_per_chip_hour"] * r["chips"] == pytest.approx(r["usd_per_hour"], rel=EXACT)
    assert sum(r["p_cheapest"] for r in rows if r["p_cheapest"] is not None) == pytest.approx(1.0, abs=1e-12)
    rented = _tco("--cost-basis", "rent")
    assert {r["cost_basis"] for r in rented} == {"rent"}
    priced = {r["hardware"] for r in rented if r["usd_per_mtok"] is not None}
    assert priced == set(rental_table(CATS)["hardware"])
    assert all(r["reason"].startswith("no price") for r in rented if r["hardware"] not in priced)


def test_sensitivity_under_rent_varies_offers_not_energy(rent):
    """A renter's price is the offer: it moves the ranking; electricity is in the offer, so it does not."""
    t = sensitivity(rent, FLOOR)
    assert "rental price" in t["factor"].to_list() and "chip price" not in t["factor"].to_list()
    energy = t.filter(pl.col("factor") == "energy_price")
    assert (energy["change_pct"] == 0).all() and not energy["order_changed"].any()
    assert (t.filter(pl.col("factor") == "rental price")["change_pct"].abs() > 1).all()


def test_a_users_new_design_is_hypothetical(tmp_path):
    """A design written from a shipping template is still a design study until said otherwise."""
    rows = add_chip(tmp_path, "my-h100", "h100-sxm", ["mem_bw=5TB/s"])["rows"]
    assert rows["hardware"]["availability"] == "hypothetical"
    ranked = select(
        evaluate(Question("llama3-8b", 4096, catalogs=load_catalogs(tmp_path))), availability=["shipping"]
    )
    assert "my-h100" not in ranked["hardware"].to_list() and "h100-sxm" in ranked["hardware"].to_list()


def test_buyable_first_puts_shipping_designs_on_top_in_rank_order(own):
    ranked = select(own, FLOOR)
    view = buyable_first(ranked)
    avail = view["availability"].to_list()
    assert avail == sorted(avail, key=["shipping", "announced", "hypothetical"].index)
    for kind in set(avail):
        ranks = view.filter(pl.col("availability") == kind)["rank"].to_list()
        assert ranks == sorted(ranks)
    assert sorted(view["hardware"].to_list()) == sorted(ranked["hardware"].to_list())
    assert ranked["availability"][0] != "shipping" and view["availability"][0] == "shipping"
