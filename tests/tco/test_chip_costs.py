"""Chip prices (tco.economics.chip_costs): the bottom-up geometry on paper, the market markup, and how price
and embodied carbon follow die area (catalog copies edited in a temporary folder).

Reference for the formulas: Hennessy & Patterson, *Computer Architecture*, 6th ed., sec. 1.6
("Cost of an Integrated Circuit"): dies per wafer ``pi (d/2)^2 / A - pi d / sqrt(2 A)`` and
Murphy's yield ``((1 - exp(-A D0)) / (A D0))^2``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.wafer import WAFER_DIAMETER_M, dies_per_wafer
from perfmodel.inputs import CatalogError
from tco.economics.chip_costs import PACKAGING_EMBODIED_G, chip_table, murphy_yield, tukey_inliers

#: Same closed form on paper and in numpy: only floating-point rounding differs.
EXACT = 1e-12
#: The figures written out on paper below carry 4-5 significant digits.
PAPER = 1e-4
#: A difference of two carbon totals (~1e5 g) keeps ~12 of the 16 digits of each.
DIFFERENCE = 1e-9
#: Two medians that differ in the 4th digit are told apart far above rounding.
DISTINCT = 1e-6
MM2 = 1e-6  # m^2 per mm^2
PER_CM2 = 1e4  # 1/m^2 per 1/cm^2
GIB = 2.0**30
CATALOG_DIR = Path(__file__).resolve().parents[2] / "catalogs"


@pytest.fixture(scope="module")
def cats():
    return load_catalogs()


@pytest.fixture(scope="module")
def table(cats):
    return chip_table(cats)


def _row(table: pl.DataFrame, name: str) -> dict:
    return table.filter(pl.col("hardware") == name).row(0, named=True)


# --- geometry and yield on paper ------------------------------------------------------------------


def test_dies_per_wafer_on_paper():
    """800 mm2 on a 300 mm wafer: pi*150^2/800 - pi*300/sqrt(1600) = 88.357 - 23.562 = 64.795."""
    assert WAFER_DIAMETER_M == 0.300
    assert dies_per_wafer(800 * MM2) == pytest.approx(88.357 - 23.562, rel=PAPER)
    assert dies_per_wafer(800 * MM2) == pytest.approx(
        math.pi * 150**2 / 800 - math.pi * 300 / math.sqrt(1600), rel=EXACT
    )
    # 100 mm2: pi*22500/100 - pi*300/sqrt(200) = 706.858 - 66.643 = 640.215
    assert dies_per_wafer(100 * MM2) == pytest.approx(640.215, rel=PAPER)
    # vectorised: one value per area
    got = dies_per_wafer(np.array([100.0, 800.0]) * MM2)
    assert got.shape == (2,)
    assert got[0] == pytest.approx(640.215, rel=PAPER)


def test_murphy_yield_on_paper():
    """800 mm2 at D0 = 0.07/cm2: A*D0 = 8 cm2 * 0.07 = 0.56; ((1 - e^-0.56)/0.56)^2 = 0.58630."""
    y = murphy_yield(800 * MM2, 0.07 * PER_CM2)
    assert y == pytest.approx(((1 - math.exp(-0.56)) / 0.56) ** 2, rel=EXACT)
    assert y == pytest.approx(0.58630, rel=PAPER)
    # no defects: every die is good
    assert murphy_yield(800 * MM2, 0.0) == 1.0


@settings(max_examples=80, deadline=None)
@given(st.floats(10.0, 850.0), st.floats(1.01, 4.0), st.floats(0.01, 0.5))
def test_bigger_dies_mean_fewer_and_worse_dies(area_mm2, factor, d0_per_cm2):
    """Within a reticle (up to ~850 mm2): a bigger die gives fewer gross dies, a lower yield and a
    higher cost per good die; yield is a fraction in (0, 1]."""
    small, big = area_mm2 * MM2, area_mm2 * factor * MM2
    d0 = d0_per_cm2 * PER_CM2
    y_small, y_big = murphy_yield(small, d0), murphy_yield(big, d0)
    assert 0.0 < y_big < y_small <= 1.0
    assert dies_per_wafer(big) < dies_per_wafer(small)
    assert 1.0 / (dies_per_wafer(big) * y_big) > 1.0 / (dies_per_wafer(small) * y_small)


# --- chip_table on the packaged catalogs ----------------------------------------------------------


def test_one_row_per_hardware_design(cats, table):
    assert sorted(table["hardware"].to_list()) == sorted(cats["hardware"].names())
    assert table["price_usd"].is_null().sum() == 0
    assert (table["price_usd"] > 0).all()


def test_bottom_up_cost_of_xpu_hbm3_on_paper(table):
    """xpu-hbm3: one 800 mm2 die on N4 (16,000 USD wafer, D0 0.07/cm2), 96 GiB of HBM3e at
    15 USD/GiB, 1,000 USD packaging.

    good dies = 64.795 x 0.58630 = 37.990  -> die cost = 16,000 / 37.990 = 421.17 USD
    memory    = 96 x 15                   = 1,440 USD
    total     = 421.17 + 1,440 + 1,000    = 2,861.17 USD
    """
    r = _row(table, "xpu-hbm3")
    die = 16_000 / (dies_per_wafer(800 * MM2) * murphy_yield(800 * MM2, 0.07 * PER_CM2))
    assert r["die_cost_usd"] == pytest.approx(die, rel=EXACT)
    assert r["die_cost_usd"] == pytest.approx(421.17, rel=PAPER)
    assert r["memory_cost_usd"] == pytest.approx(96 * 15, rel=EXACT)
    assert r["bottom_up_cost_usd"] == pytest.approx(2861.17, rel=PAPER)
    assert r["bottom_up_cost_usd"] == pytest.approx(
        r["die_cost_usd"] + r["memory_cost_usd"] + r["packaging_cost_usd"], rel=EXACT
    )


def test_wafer_scale_part_is_one_good_part_per_wafer(cats, table):
    """A wafer-scale part routes around defects: its die cost is exactly the wafer's price."""
    econ = cats["hardware_economics"].df.filter(pl.col("wafer_scale"))
    assert econ.height >= 1
    nodes = cats["process_nodes"].df
    for name, node, dies in econ.select("name", "process_node", "dies").iter_rows():
        wafer = nodes.filter(pl.col("name") == node)["wafer_cost"][0]
        assert _row(table, name)["die_cost_usd"] == pytest.approx(dies * wafer, rel=EXACT), name


def _sram_only(cats, table: pl.DataFrame) -> pl.DataFrame:
    """The SRAM designs without a second memory tier."""
    single = cats["hardware"].df.filter(pl.col("tier2_capacity").fill_null(0.0) == 0)["name"]
    return table.filter(
        pl.col("memory_class") == "SRAM", pl.col("hardware").cast(pl.String).is_in(single.implode())
    )


def test_on_die_sram_memory_costs_nothing(cats, table):
    """SRAM is paid for in die area: its memory cost and memory carbon are 0 (a hybrid's second
    tier, e.g. d-Matrix Corsair's LPDDR5X, is DRAM and is paid per GiB: not counted here)."""
    sram = _sram_only(cats, table)
    assert sram.height >= 3
    assert (sram["memory_cost_usd"] == 0.0).all()
    # the memory technology's own figures are not what makes it 0: on_die is
    on_die = set(cats["memory_technologies"].df.filter("on_die")["name"])
    assert set(sram["memory_technology"]) <= on_die
    # carbon: die area x node figure + package only (no memory term)
    econ = cats["hardware_economics"].df
    nodes = cats["process_nodes"].df
    for r in sram.iter_rows(named=True):
        e = econ.filter(pl.col("name") == r["hardware"]).row(0, named=True)
        per_area = nodes.filter(pl.col("name") == e["process_node"])["embodied_per_area"][0]
        expected = e["dies"] * e["die_area"] * per_area + PACKAGING_EMBODIED_G
        assert r["embodied_chip_g"] == pytest.approx(expected, rel=EXACT), r["hardware"]


def test_on_die_flag_not_the_price_makes_sram_free(tmp_path, table):
    """Give SRAM a price and a carbon figure per GiB in a catalog copy: on-die memory still adds
    nothing (it is paid for, and emitted, through the die area)."""
    text = (CATALOG_DIR / "memory_technologies.csv").read_text()
    old = next(line for line in text.splitlines() if line.startswith("SRAM,"))
    cells = old.split(",")
    cells[2:6] = ["5", "4", "6", "0.1"]  # cost, cost_low, cost_high [USD/GiB], embodied [kgCO2e/GiB]
    (tmp_path / "memory_technologies.csv").write_text(text.replace(old, ",".join(cells)))
    cats = load_catalogs(tmp_path)
    assert cats["memory_technologies"].row("SRAM")["cost"] > 0
    edited = chip_table(cats)
    sram = _sram_only(cats, edited)
    assert sram.height >= 3
    assert (sram["memory_cost_usd"] == 0.0).all()
    for r in sram.iter_rows(named=True):
        before = _row(table, r["hardware"])
        assert r["embodied_chip_g"] == before["embodied_chip_g"], r["hardware"]
        assert r["bottom_up_cost_usd"] == before["bottom_up_cost_usd"], r["hardware"]


def test_dram_memory_cost_is_capacity_times_price(cats, table):
    mems = cats["memory_technologies"].df
    hw = cats["hardware"].df
    dram = table.filter(pl.col("memory_class") == "DRAM")
    for r in dram.iter_rows(named=True):
        h = hw.filter(pl.col("name") == r["hardware"]).row(0, named=True)
        if h["tier2_technology"] is not None:
            continue  # second tier adds its own term; covered by the bottom-up identity above
        per_byte = mems.filter(pl.col("name") == r["memory_technology"])["cost"][0]
        assert r["memory_cost_usd"] == pytest.approx(h["mem_capacity"] * per_byte, rel=EXACT), r["hardware"]


def test_market_prices_are_kept(table):
    priced = table.filter(pl.col("market_price_usd").is_not_null())
    assert priced.height >= 5
    assert priced["price_usd"].to_list() == priced["market_price_usd"].to_list()
    # a street or list price is not flagged as an estimate and carries its date
    assert not priced["price_is_estimate"].any()
    assert (priced["price_type"] == "market").all() and priced["price_date"].is_not_null().all()
    assert _row(table, "h100-sxm")["price_usd"] == 27_500
    # MI355X: HSBC 2025-07, ~25k USD after AMD's increase from ~15k
    mi355x = _row(table, "mi355x")
    assert (mi355x["price_usd"], mi355x["price_low_usd"], mi355x["price_date"]) == (25_000, 15_000, "2025-07")


def test_tukey_fences_on_paper():
    """[1, 2, 3, 4, 100]: Q1 = 2, Q3 = 4, IQR 2, fences [-1, 7]: only 100 is out."""
    assert tukey_inliers(np.array([1.0, 2.0, 3.0, 4.0, 100.0])).tolist() == [True] * 4 + [False]


def _ratios(table) -> pl.DataFrame:
    """Market price / bottom-up cost of the chips whose market price excludes the system."""
    return table.filter(pl.col("market_price_usd").is_not_null() & ~pl.col("price_includes_system")).select(
        "hardware", ratio=pl.col("market_price_usd") / pl.col("bottom_up_cost_usd")
    )


def test_outlier_markup_is_excluded_by_tukeys_rule(table):
    """The quantity-one GroqCard (20k USD for a ~0.3k USD part) is out; the rest of the class is in."""
    r = _ratios(table)
    groq = r.filter(pl.col("hardware") == "groq-lpu")["ratio"][0]
    assert groq > 50
    inliers = r.filter(tukey_inliers(r["ratio"].to_numpy()))
    assert "groq-lpu" not in inliers["hardware"].to_list() and inliers.height == r.height - 1
    # a chip whose vendor has no market price takes the class median (outlier excluded) ...
    tpu = _row(table, "tpu-v6e")
    assert tpu["price_type"] == "bottom-up"
    assert tpu["markup"] == pytest.approx(float(np.median(inliers["ratio"].to_numpy())), rel=EXACT)
    # ... which the outlier would have lifted
    assert tpu["markup"] < float(np.median(r["ratio"].to_numpy())) * (1 - DISTINCT)


def test_markup_comes_from_the_same_vendor(table):
    """MI325X has no public price: AMD's own ratios (MI300X, MI355X) price it, not NVIDIA's."""
    r = _ratios(table)
    amd = r.filter(pl.col("hardware").is_in(["mi300x", "mi355x"]))["ratio"].to_numpy()
    nvidia = r.filter(pl.col("hardware").is_in(["h100-sxm", "h200-sxm", "b200-hgx"]))["ratio"].to_numpy()
    mi325x = _row(table, "mi325x")
    assert mi325x["price_type"] == "vendor-derived estimate" and mi325x["price_is_estimate"]
    assert mi325x["markup"] == pytest.approx(float(np.median(amd)), rel=EXACT)
    assert mi325x["price_usd"] == pytest.approx(mi325x["bottom_up_cost_usd"] * np.median(amd), rel=EXACT)
    # AMD's markup is under 4, NVIDIA's over 6 (why a pooled median overprices AMD parts)
    assert amd.max() < 4 < 6 < nvidia.min()
    # the range: the lowest and highest AMD ratio at the low and high wafer and memory prices
    assert mi325x["price_low_usd"] < mi325x["price_usd"] < mi325x["price_high_usd"]


def test_a_system_price_is_not_in_any_markup(table):
    """A rack price per chip (NVL72, CS-3) covers far more than the chip: its ratio is never used."""
    used = set(_ratios(table)["hardware"].to_list())
    assert {"b200-nvl72", "b300-nvl72", "cerebras-wse3"}.isdisjoint(used)


def test_estimated_prices_are_bottom_up_times_markup(table):
    est = table.filter(pl.col("market_price_usd").is_null())
    assert est.height >= 5
    assert est["price_is_estimate"].all()
    expected = (est["bottom_up_cost_usd"] * est["markup"]).to_list()
    assert est["price_usd"].to_list() == pytest.approx(expected, rel=EXACT)
    # the range brackets the estimate (wafer and memory low/high)
    assert (est["price_low_usd"] <= est["price_usd"]).all()
    assert (est["price_high_usd"] >= est["price_usd"]).all()


# --- price and carbon against die area (edited catalog copies) ------------------------------------


def _with_die_area(folder: Path, name: str, area_mm2: float, wafer_scale: str = "false") -> pl.DataFrame:
    """Write hardware_economics.csv with ``name``'s die area changed; return its chip_table row."""
    text = (CATALOG_DIR / "hardware_economics.csv").read_text()
    lines = text.splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("name,"))
    cols = lines[header].rstrip("\n").split(",")
    i_area, i_ws = cols.index("die_area[mm^2]"), cols.index("wafer_scale")
    for k, line in enumerate(lines):
        if line.startswith(name + ","):
            cells = line.split(",")
            cells[i_area], cells[i_ws] = f"{area_mm2:g}", wafer_scale
            lines[k] = ",".join(cells)
            break
    else:
        raise AssertionError(f"{name} not in hardware_economics.csv")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hardware_economics.csv").write_text("".join(lines))
    return chip_table(load_catalogs(folder))


AREAS_MM2 = (100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)


@pytest.fixture(scope="module")
def by_area(tmp_path_factory):
    """xpu-hbm3 (bottom-up price) and h100-sxm (market price) at each die area of AREAS_MM2."""
    rows = {"xpu-hbm3": [], "h100-sxm": []}
    for k, area in enumerate(AREAS_MM2):
        t = _with_die_area(tmp_path_factory.mktemp(f"tco_area_{k}"), "xpu-hbm3", area)
        rows["xpu-hbm3"].append(_row(t, "xpu-hbm3"))
        t = _with_die_area(tmp_path_factory.mktemp(f"tco_area_h_{k}"), "h100-sxm", area)
        rows["h100-sxm"].append(_row(t, "h100-sxm"))
    return rows


def test_estimated_price_and_carbon_grow_with_die_area(by_area):
    rows = by_area["xpu-hbm3"]
    for key in ("die_cost_usd", "bottom_up_cost_usd", "price_usd", "embodied_chip_g"):
        values = [r[key] for r in rows]
        assert all(b > a for a, b in zip(values, values[1:], strict=False)), (key, values)
    # the markup comes from market-priced chips only: moving an estimated chip does not change it
    assert len({round(r["markup"], 12) for r in rows}) == 1
    assert all(r["price_is_estimate"] for r in rows)


def test_embodied_carbon_is_linear_in_die_area(by_area):
    """N4: 2.96 kgCO2e/cm2, so each 100 mm2 adds 2,960 g."""
    rows = by_area["xpu-hbm3"]
    for a, r in zip(AREAS_MM2, rows, strict=True):
        assert r["embodied_chip_g"] - rows[0]["embodied_chip_g"] == pytest.approx(
            (a - AREAS_MM2[0]) * 29.6, rel=DIFFERENCE
        )


def test_market_price_ignores_die_area_but_carbon_does_not(by_area):
    rows = by_area["h100-sxm"]
    assert {r["price_usd"] for r in rows} == {27_500.0}
    carbon = [r["embodied_chip_g"] for r in rows]
    assert all(b > a for a, b in zip(carbon, carbon[1:], strict=False))


def test_price_stays_positive_for_every_die_area_the_catalog_accepts(tmp_path, table):
    """A 20,000 mm2 die that is not wafer-scale is inside the schema's plausible band (up to
    70,000 mm2) and loads without a warning. The dies-per-wafer formula then goes negative
    (pi*150^2/20000 - pi*300/sqrt(40000) = 3.53 - 4.71 = -1.18), and so would the price.
    Either the catalog refuses the row, or the price it gets is positive and at least the price of
    an 800 mm2 die."""
    try:
        t = _with_die_area(tmp_path, "xpu-hbm3", 20_000)
    except CatalogError:
        return  # refusing an impossible die is a correct answer
    r = _row(t, "xpu-hbm3")
    assert r["die_cost_usd"] > 0, r
    assert r["price_usd"] > 0, r
    assert r["price_usd"] >= _row(table, "xpu-hbm3")["price_usd"]
