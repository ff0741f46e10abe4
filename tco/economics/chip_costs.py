"""Chip price: the catalog's market price, or a bottom-up estimate for a chip without one.

Bottom-up manufacturing cost per chip (Hennessy & Patterson, *Computer Architecture*, 6th ed.,
sec. 1.6, "Cost of an Integrated Circuit"):

- dies per 300 mm wafer ``DPW = pi (d/2)^2 / A - pi d / sqrt(2 A)``;
- Murphy's yield ``Y = ((1 - exp(-A D0)) / (A D0))^2`` (a wafer-scale part with redundancy
  routes around defects: one good part per wafer);
- die cost ``wafer_cost / (DPW Y)`` per die, times dies per package;
- memory: capacity x price per GiB of its technology (on-die SRAM is paid for in die area);
- packaging, assembly and test from the catalog.

A market price is far above this cost (vendor margin, software, supply). A chip without a market
price is therefore priced as its bottom-up cost times a *markup*, the median ratio of market
price to bottom-up cost over a reference set of chips that have both (prices that exclude the
system only):

- the same vendor's chips when the vendor has any (``price_type`` "vendor-derived estimate"),
- else the class of merchant accelerators: every chip with a market price (``"bottom-up"``).

Outliers are excluded by Tukey's rule before the median [1]_: a ratio outside
``[Q1 - 1.5 IQR, Q3 + 1.5 IQR]`` of the class's ratios is not used (a quantity-one card sold at
72x its cost says nothing about a volume part). The lowest and highest ratio of the set used,
times the bottom-up cost at the low and high wafer and memory prices, bound the estimate.

The rest of the system is itemized per chip from ``systems.csv`` (host CPUs, memory, storage,
chassis, scale-up switches, divided over the system's chips; zero when the price already
covers the system) and ``networks.csv`` (scale-out NIC, switch ports, optics: every system).

References
----------
.. [1] J. W. Tukey, *Exploratory Data Analysis*, Addison-Wesley, 1977, ch. 2 (fences at
   1.5 x the interquartile range).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.wafer import dies_per_wafer
from perfmodel.inputs import InvalidInput


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


def tukey_inliers(ratios: np.ndarray) -> np.ndarray:
    """Mask of the values inside Tukey's fences ``[Q1 - 1.5 IQR, Q3 + 1.5 IQR]`` [1]_."""
    q1, q3 = np.quantile(ratios, [0.25, 0.75]) if ratios.size else (np.nan, np.nan)
    spread = 1.5 * (q3 - q1)
    return (ratios >= q1 - spread) & (ratios <= q3 + spread)


def markups(vendor: np.ndarray, ratio: np.ndarray, comparable: np.ndarray) -> dict[str, np.ndarray]:
    """Markup (median, low, high) and the reference set's kind for every chip.

    ``ratio`` is market price / bottom-up cost, ``comparable`` marks chips whose ratio may be used
    (a market price that excludes the system). Outliers of the class are dropped first (Tukey);
    then each chip uses its vendor's remaining ratios, or the whole class when its vendor has none.
    """
    keep = comparable.copy()
    keep[comparable] = tukey_inliers(ratio[comparable])
    n = vendor.size
    mid, low, high = np.ones(n), np.ones(n), np.ones(n)
    kind = np.full(n, "bottom-up", dtype=object)
    for i in range(n):
        own = keep & (vendor == vendor[i])
        ref = ratio[own] if own.any() else ratio[keep]
        if ref.size:
            mid[i], low[i], high[i] = np.median(ref), ref.min(), ref.max()
        if own.any():
            kind[i] = "vendor-derived estimate"
    return {"markup": mid, "markup_low": low, "markup_high": high, "estimate_type": kind}


def chip_table(catalogs: Catalogs) -> pl.DataFrame:
    """One row per chip: cost parts, the price used, and whether that price is an estimate.

    Estimated prices get a range from the catalog's low/high wafer and memory prices.
    Columns: hardware, memory_technology, memory_class (SRAM when on-die, else DRAM), die_cost_usd, memory_cost_usd, packaging_cost_usd,
    bottom_up_cost_usd, market_price_usd, price_usd, price_low_usd, price_high_usd,
    price_is_estimate, price_type, price_includes_system, markup, plus the power and carbon
    inputs (tdp_w, static_power_w, serving_floor, dynamic_scale, energy_per_flop_j,
    memory_energy_j_per_bit, embodied_chip_g).
    """
    hw = catalogs["hardware"].df.select(
        pl.col("name").alias("hardware"),
        "vendor",
        pl.col("availability").fill_null("hypothetical"),
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
    market = t["price"].to_numpy().astype(np.float64)
    has_market = ~np.isnan(market)
    comparable = has_market & ~t["price_includes_system"].to_numpy()
    m = markups(t["vendor"].to_numpy(), market / bottom_up, comparable)
    price = np.where(has_market, market, bottom_up * m["markup"])
    low = t["price_low"].fill_null(t["price"]).to_numpy()
    high = t["price_high"].fill_null(t["price"]).to_numpy()
    system, network = _system_items(catalogs, t)
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
            "markup": m["markup"],
            "price_usd": price,
            "price_low_usd": np.where(has_market, low, _bottom_up(t, "_low")[2] * m["markup_low"]),
            "price_high_usd": np.where(has_market, high, _bottom_up(t, "_high")[2] * m["markup_high"]),
            "price_is_estimate": ~has_market,
            "price_type": np.where(has_market, "market", m["estimate_type"]).astype(str),
            "price_date": t["price_date"],
            "price_includes_system": t["price_includes_system"],
            "rent_only": t["rent_only"],
            "availability": t["availability"],
            **system,
            **network,
            "tdp_w": t["tdp"],
            "static_power_w": t["static_power"],
            **power_figures(catalogs, t["hardware"].to_list()),
            "energy_per_flop_j": t["energy_per_flop"],
            "memory_energy_j_per_bit": t["energy"],
            "tier2_energy_j_per_bit": t["tier2_energy"].fill_null(0.0),
            "embodied_chip_g": embodied,
        }
    )


def power_figures(catalogs: Catalogs, names: list[str]) -> dict[str, np.ndarray]:
    """``serving_floor`` and ``dynamic_scale`` of each chip in ``names`` from power_calibration.csv:
    its own fitted row, or the row of the measured chip it ``resembles`` (docs/model.md, section 8).

    Raises ``InvalidInput`` for a chip without a row: its power is never silently the uncalibrated
    physics."""
    table = catalogs["power_calibration"]
    rows = {r["hardware"]: r for r in table.df.iter_rows(named=True)}
    out = {"serving_floor": np.empty(len(names)), "dynamic_scale": np.empty(len(names))}
    for i, name in enumerate(names):
        row = rows.get(name)
        if row is None:
            raise InvalidInput(
                f"{table.path.name}: no row for {name}; add one that names the measured chip it "
                f"resembles (e.g. {name},b200-hgx,,,...) or fit it with python -m tco power-fit"
            )
        if row["resembles"] is not None:
            row = rows.get(row["resembles"])
            if row is None or row["resembles"] is not None:
                raise InvalidInput(
                    f"{table.path.name}: {name} resembles {rows[name]['resembles']}, which has no fitted row"
                )
        out["serving_floor"][i] = row["serving_floor"]
        out["dynamic_scale"][i] = row["dynamic_scale"]
    return out


def _system_items(catalogs: Catalogs, t: pl.DataFrame) -> tuple[dict, dict]:
    """Per chip: the system's items (divided over its chips) and the scale-out network's."""
    sys_items = ("host_cpu", "host_memory", "storage", "chassis", "scaleup_switch")
    s = t.select("system").join(
        catalogs["systems"].df.rename({"name": "system"}), on="system", how="left", validate="m:1"
    )
    n = t.select("network").join(
        catalogs["networks"].df.rename({"name": "network"}), on="network", how="left", validate="m:1"
    )
    per_chip = 1.0 / s["chips"].to_numpy()
    system = {f"{c}_usd": s[c].to_numpy() * per_chip for c in sys_items}
    system["system_usd"] = sum(system.values())
    system["host_power_w"] = s["host_power"].to_numpy() * per_chip
    network = {f"network_{c}_usd": n[c].to_numpy() for c in ("nic", "switch", "optics")}
    network["network_usd"] = sum(network.values())
    network["network_power_w"] = n["power"].to_numpy()
    return system, network


#: Packaging emissions per integrated circuit, facebookresearch/ACT (0.15 kgCO2e per IC) [g].
PACKAGING_EMBODIED_G = 150.0
