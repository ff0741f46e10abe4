"""Chip price: the catalog's market price, or a bottom-up estimate for a chip without one.

Bottom-up manufacturing cost per chip (Hennessy & Patterson, *Computer Architecture*, 6th ed.,
sec. 1.6, "Cost of an Integrated Circuit"):

- dies per 300 mm wafer ``DPW = pi (d/2)^2 / A - pi d / sqrt(2 A)``;
- Murphy's yield ``Y = ((1 - exp(-A D0)) / (A D0))^2`` (a wafer-scale part with redundancy
  routes around defects: one good part per wafer);
- die cost ``wafer_cost / (DPW Y)`` per die, times dies per package;
- memory: capacity x price per GiB of its technology (on-die SRAM is paid for in die area);
- packaging, assembly and test from the catalog.

A market price is far above this cost (vendor margin, software, supply). The estimate is
therefore scaled by the *market markup*: the median ratio of market price to bottom-up cost
over the catalog's chips that have both (and whose price excludes the system). It is a figure
of the catalog, recomputed when the catalog changes, and every estimated price is flagged.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from perfmodel.catalog_set import Catalogs

#: Diameter of the wafers every node in the catalog is priced for [m].
WAFER_DIAMETER_M = 0.300


def dies_per_wafer(area_m2, diameter_m: float = WAFER_DIAMETER_M):
    """Gross dies on a round wafer (edge loss term ``pi d / sqrt(2 A)``)."""
    area_m2 = np.asarray(area_m2, dtype=np.float64)
    return np.pi * (diameter_m / 2) ** 2 / area_m2 - np.pi * diameter_m / np.sqrt(2.0 * area_m2)


def largest_die_m2(diameter_m: float = WAFER_DIAMETER_M) -> float:
    """The largest die with at least one gross die per wafer: ``DPW(A) = 1`` solved for ``A``."""
    a, b = np.pi * (diameter_m / 2) ** 2, np.pi * diameter_m / np.sqrt(2.0)
    inv_sqrt_area = (b + np.sqrt(b * b + 4.0 * a)) / (2.0 * a)
    return float(inv_sqrt_area**-2)


def murphy_yield(area_m2, defect_density_per_m2):
    """Fraction of good dies, ``((1 - exp(-A D0)) / (A D0))^2``."""
    ad = np.asarray(area_m2, dtype=np.float64) * np.asarray(defect_density_per_m2, dtype=np.float64)
    return np.where(ad > 0, ((1.0 - np.exp(-ad)) / np.where(ad > 0, ad, 1.0)) ** 2, 1.0)


def _bottom_up(t: pl.DataFrame, bound: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Die, memory and total cost per chip with wafer and memory prices at ``bound`` (_low/_high)."""
    area = t["die_area"].to_numpy()
    good_per_wafer = np.where(
        t["wafer_scale"].to_numpy(),
        1.0,
        dies_per_wafer(area) * murphy_yield(area, t["defect_density"].to_numpy()),
    )
    wafer = t[f"wafer_cost{bound}"].fill_null(t["wafer_cost"]).to_numpy()
    per_byte = t[f"cost{bound}"].fill_null(t["cost"]).to_numpy()
    die_cost = t["dies"].to_numpy() * wafer / good_per_wafer
    memory_cost = np.where(t["on_die"].to_numpy(), 0.0, t["mem_bytes"].to_numpy() * per_byte)
    memory_cost += t["tier2_bytes"].to_numpy() * t["tier2_cost"].fill_null(0.0).to_numpy()
    return die_cost, memory_cost, die_cost + memory_cost + t["packaging_cost"].to_numpy()


def chip_table(catalogs: Catalogs) -> pl.DataFrame:
    """One row per chip: cost parts, the price used, and whether that price is an estimate.

    Estimated prices get a range from the catalog's low/high wafer and memory prices.
    Columns: hardware, memory_technology, memory_class (SRAM when on-die, else DRAM), die_cost_usd, memory_cost_usd, packaging_cost_usd,
    bottom_up_cost_usd, market_price_usd, price_usd, price_low_usd, price_high_usd,
    price_is_estimate, price_type, price_includes_system, markup, plus the power and carbon
    inputs (tdp_w, static_power_w, energy_per_flop_j, memory_energy_j_per_bit,
    embodied_chip_g).
    """
    hw = catalogs["hardware"].df.select(
        pl.col("name").alias("hardware"),
        "memory_technology",
        pl.col("mem_capacity").alias("mem_bytes"),
        "tier2_technology",
        pl.col("tier2_capacity").fill_null(0.0).alias("tier2_bytes"),
    )
    econ = catalogs["hardware_economics"].df.rename({"name": "hardware"})
    nodes = catalogs["process_nodes"].df.rename({"name": "process_node"})
    mems = catalogs["memory_technologies"].df.rename({"name": "memory_technology"})
    t = (
        hw.join(econ, on="hardware", how="left", validate="1:1")
        .join(nodes, on="process_node", how="left", validate="m:1")
        .join(mems, on="memory_technology", how="left", validate="m:1", suffix="_memory")
        .join(
            mems.select(
                pl.col("memory_technology").alias("tier2_technology"),
                pl.col("cost").alias("tier2_cost"),
                pl.col("embodied").alias("tier2_embodied"),
                pl.col("energy").alias("tier2_energy"),
            ),
            on="tier2_technology",
            how="left",
            validate="m:1",
        )
    )
    die_cost, memory_cost, bottom_up = _bottom_up(t)
    market = t["price"].to_numpy()
    has_market = ~np.isnan(market.astype(np.float64))
    comparable = has_market & ~t["price_includes_system"].to_numpy()
    markup = float(np.median(market[comparable] / bottom_up[comparable])) if comparable.any() else 1.0
    estimate = bottom_up * markup
    price = np.where(has_market, market, estimate)
    low = t["price_low"].fill_null(t["price"]).to_numpy()
    high = t["price_high"].fill_null(t["price"]).to_numpy()
    off_die = ~t["on_die"].to_numpy()
    embodied = (
        t["dies"].to_numpy() * t["die_area"].to_numpy() * t["embodied_per_area"].to_numpy()
        + np.where(off_die, t["mem_bytes"].to_numpy() * t["embodied"].to_numpy(), 0.0)
        + t["tier2_bytes"].to_numpy() * t["tier2_embodied"].fill_null(0.0).to_numpy()
        + PACKAGING_EMBODIED_G
    )
    return pl.DataFrame(
        {
            "hardware": t["hardware"],
            "memory_technology": t["memory_technology"],
            "memory_class": np.where(t["on_die"].to_numpy(), "SRAM", "DRAM"),
            "process_node": t["process_node"],
            "die_cost_usd": die_cost,
            "memory_cost_usd": memory_cost,
            "packaging_cost_usd": t["packaging_cost"],
            "bottom_up_cost_usd": bottom_up,
            "market_price_usd": t["price"],
            "markup": np.full(t.height, markup),
            "price_usd": price,
            "price_low_usd": np.where(has_market, low, _bottom_up(t, "_low")[2] * markup),
            "price_high_usd": np.where(has_market, high, _bottom_up(t, "_high")[2] * markup),
            "price_is_estimate": ~has_market | pl.Series(t["price_type"]).str.contains("estimate").to_numpy(),
            "price_type": t["price_type"],
            "price_includes_system": t["price_includes_system"],
            "tdp_w": t["tdp"],
            "static_power_w": t["static_power"],
            "energy_per_flop_j": t["energy_per_flop"],
            "memory_energy_j_per_bit": t["energy"],
            "tier2_energy_j_per_bit": t["tier2_energy"].fill_null(0.0),
            "embodied_chip_g": embodied,
        }
    )


#: Packaging emissions per integrated circuit, facebookresearch/ACT (0.15 kgCO2e per IC) [g].
PACKAGING_EMBODIED_G = 150.0
