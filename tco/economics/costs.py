"""Money, energy and carbon per configuration of a decode grid (vectorized over the frame).

Per chip, with ``u`` the utilization, ``L`` the hardware lifetime and ``r`` the cost of capital
(each equation is a function of :mod:`tco.equations`):

- capital: the chip's price, its share of the system (host CPUs, memory, storage, chassis,
  scale-up switches: ``systems.csv``) and of the scale-out network (NICs, switch ports, optics:
  ``networks.csv``), each annualized with the capital recovery factor ``CRF(r, L)``;
- facility, sized by provisioned power ``P_prov = TDP + host + network`` per chip: colocation
  rent ``P_prov x $/kW-month``, or an owned building ``build_cost x P_prov x CRF(r, L_building)``;
- maintenance ``capital x rate``; operations (staff, software, support) per chip-hour;
- power (activity model): ``P = min(f x TDP + s x (e_flop x FLOP/s + e_bit x bits/s), TDP)``,
  with ``e_flop`` scaled by bytes per element of the precision, each memory tier's bits at its
  own energy per bit, and the serving floor ``f`` and dynamic scale ``s`` fitted to measured
  power (``power_calibration.csv``, docs/model.md section 8); ``tdp`` model: ``P = TDP``.
  Average ``u x P + (1 - u) x P_static``, plus
  host and network power (a system's host power never includes the chips', and a rack's
  published power is split that way in ``systems.csv``); at the wall ``x PUE``;
- energy cost = average wall power x price; operational carbon = wall energy x grid intensity;
  embodied carbon (die area by node, memory by technology, package, host share) over ``L``.

Cost basis ``rent``: the chip-hour costs the median published rental price (``rentals.csv``),
which covers capital, facility, energy and operations; designs without a rental price drop out.

Breakdown (each per hour and per Mtok; they add up):
``usd = capex + energy + other``; ``capex = chip_capex + system_capex + network_capex``;
``other = facility + maintenance + operations + rental``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.schemas import PRECISION_BYTES
from perfmodel.units import Q_
from tco import equations as eq
from tco.options import COST_BASES  # light to import: the command line's help lists them

PowerModel = Literal["activity", "tdp"]
CostBasis = Literal["own", "rent"]
DEFAULT_REGION = "us-average"
_BITS_PER_BYTE = Q_(1, "byte").to("bit").magnitude
_MTOK = Q_(1, "Mtoken").to("token").magnitude
_HOUR_S = Q_(1, "hour").to("s").magnitude
#: Items of the cost breakdown (each has a _usd_per_hour and a _usd_per_mtok column).
CAPEX_ITEMS = ("chip_capex", "system_capex", "network_capex")
OTHER_ITEMS = ("facility", "maintenance", "operations", "rental")
BREAKDOWN = ("capex", "energy", "other")


@dataclass(frozen=True)
class Site:
    """The assumptions of one data-center site (datacenter.csv row), in base units."""

    name: str
    grid_region: str
    pue: float
    energy_price: float  # USD/J
    lifetime: float  # s
    utilization: float
    cost_of_capital: float  # 1/s
    facility: str  # colocation or build
    colocation_price: float  # USD/(W s)
    build_cost: float  # USD/W
    build_lifetime: float  # s
    maintenance: float  # 1/s
    operations: float  # USD/s per chip
    system_embodied: float  # gCO2e per chip
    grid_intensity: float  # gCO2e/J

    def varied(self, **changes) -> Site:
        return replace(self, **changes)


def load_site(catalogs: Catalogs, region: str | None = None) -> Site:
    """Site ``region`` (default us-average) with its grid's carbon intensity."""
    row = catalogs["datacenter"].row(region or DEFAULT_REGION)
    grid = catalogs["grid_carbon"].row(row["grid_region"])
    fields = {f: row[f] for f in Site.__dataclass_fields__ if f in row}
    return Site(**fields, grid_intensity=grid["intensity"])


def cost_frame(
    perf: pl.DataFrame,
    chips: pl.DataFrame,
    site: Site,
    precision: str = "fp8",
    power_model: PowerModel = "activity",
    cost_basis: CostBasis = "own",
) -> pl.DataFrame:
    """Add cost, power and carbon columns to a perfmodel grid ``perf`` (one row per config).

    ``chips`` is :func:`tco.economics.chip_costs.chip_table` (with :func:`tco.economics.rentals.rental_table`'s
    ``rental_usd_per_s`` joined for the rent basis). Added columns (per model instance):
    chip_power_w, provisioned_power_w, wall_power_w, the breakdown items (see the module doc)
    per hour and per Mtok, usd_per_hour, usd_per_chip_hour, cost_basis, tokens_per_usd,
    tokens_per_joule, usd_per_mtok, gco2e_per_mtok (+ operational/embodied parts), price_usd,
    price_is_estimate, availability, memory_technology.
    """
    if power_model not in ("activity", "tdp"):
        raise ValueError(f"power model must be 'activity' or 'tdp', got {power_model!r}")
    if cost_basis not in COST_BASES:
        raise ValueError(f"cost basis must be 'own' or 'rent', got {cost_basis!r}")
    hw = perf.schema["hardware"]
    c = chips.filter(pl.col("hardware").is_in(hw.categories.to_list())).with_columns(
        pl.col("hardware").cast(hw)
    )
    if "rental_usd_per_s" not in c.columns:  # a chip table without rentals.csv joined: no offers
        c = c.with_columns(rental_usd_per_s=pl.lit(None, pl.Float64))
    rented = pl.col("rent_only") | (cost_basis == "rent")  # a rent-only chip is rented whatever the basis
    c = c.filter(~rented | pl.col("rental_usd_per_s").is_not_null())
    df = perf.join(c, on="hardware", how="inner")
    flop_scale = PRECISION_BYTES[precision]
    dynamic = eq.dynamic_power(
        pl.col("energy_per_flop_j") * flop_scale,
        pl.col("flop_per_s_chip"),
        pl.col("memory_energy_j_per_bit"),
        _BITS_PER_BYTE * pl.col("bytes_per_s_chip"),
        pl.col("tier2_energy_j_per_bit"),
        _BITS_PER_BYTE * pl.col("tier2_bytes_per_s_chip"),
    )
    active = (
        eq.serving_power(pl.col("tdp_w"), pl.col("serving_floor"), pl.col("dynamic_scale"), dynamic)
        if power_model == "activity"
        else pl.col("tdp_w")
    )
    idle = pl.col("static_power_w") if power_model == "activity" else pl.col("tdp_w")
    df = df.with_columns(chip_power_w=active, idle_power_w=idle)
    inputs = {c: pl.col(c) for c in COST_INPUTS} | {
        "rental_usd_per_s": pl.col("rental_usd_per_s").fill_null(0.0)
    }
    costs = instance_costs(inputs, site, cost_basis, _HOUR_S)
    df = df.with_columns(
        provisioned_power_w=costs.pop("provisioned_power_w"),
        wall_power_w=costs.pop("wall_power_w"),
        usd_per_hour=costs.pop("usd"),
        **{f"{k}_usd_per_hour": v for k, v in costs.items()},
    )
    u = site.utilization
    n = pl.col("chips")
    df = df.with_columns(
        tokens_per_hour=pl.col("stps") * u * _HOUR_S,
        operational_g_per_hour=pl.col("wall_power_w") * site.grid_intensity * _HOUR_S,
        embodied_g_per_hour=n * (pl.col("embodied_chip_g") + site.system_embodied) / site.lifetime * _HOUR_S,
        cost_basis=pl.when(rented).then(pl.lit("rent")).otherwise(pl.lit(cost_basis)),
    )
    per_mtok = _MTOK / pl.col("tokens_per_hour")
    items = (*BREAKDOWN, *CAPEX_ITEMS, *OTHER_ITEMS)
    df = df.with_columns(
        usd_per_mtok=pl.col("usd_per_hour") * per_mtok,
        usd_per_chip_hour=pl.col("usd_per_hour") / n,
        **{f"{k}_usd_per_mtok": pl.col(f"{k}_usd_per_hour") * per_mtok for k in items},
        tokens_per_usd=pl.col("tokens_per_hour") / pl.col("usd_per_hour"),
        tokens_per_joule=pl.col("stps") * u / pl.col("wall_power_w"),
        operational_gco2e_per_mtok=pl.col("operational_g_per_hour") * per_mtok,
        embodied_gco2e_per_mtok=pl.col("embodied_g_per_hour") * per_mtok,
    ).with_columns(
        gco2e_per_mtok=pl.col("operational_gco2e_per_mtok") + pl.col("embodied_gco2e_per_mtok"),
    )
    return df.drop(
        "operational_g_per_hour",
        "embodied_g_per_hour",
        "die_cost_usd",
        "memory_cost_usd",
        "packaging_cost_usd",
        "market_price_usd",
        "markup",
        "price_low_usd",
        "price_high_usd",
        "energy_per_flop_j",
        "memory_energy_j_per_bit",
        "tier2_energy_j_per_bit",
        "static_power_w",
        "bottom_up_cost_usd",
        strict=False,
    )


#: What :func:`instance_costs` reads of each configuration (columns of a priced grid).
COST_INPUTS = (
    "chips",
    "price_usd",
    "system_usd",
    "network_usd",
    "rental_usd_per_s",
    "rent_only",
    "tdp_w",
    "host_power_w",
    "network_power_w",
    "chip_power_w",
    "idle_power_w",
)


def instance_costs(c: Mapping, site: Site, cost_basis: CostBasis, period: float = 1.0) -> dict:
    """The cost sum of one model instance (module doc), over whatever the inputs are: polars
    expressions (:func:`cost_frame`) or numpy arrays that broadcast (the Monte-Carlo, with the
    site's figures drawn as arrays).

    ``c`` maps :data:`COST_INPUTS` to values per chip; a chip is rented under the rent basis, and
    under the own basis where ``rent_only`` (its rental price then replaces capital, facility,
    energy and operations); ``period`` [s] scales every cost (3600: per hour). Returns provisioned_power_w
    (per chip), wall_power_w (per instance, at the wall), each item of :data:`CAPEX_ITEMS` and
    :data:`OTHER_ITEMS`, and capex, energy, other and usd (``usd = capex + energy + other``) per
    ``period``.
    """
    n = c["chips"]
    rented = c["rent_only"] * 1.0 if cost_basis == "own" else 1.0
    own = 1.0 - rented
    crf = eq.capital_recovery_rate(site.cost_of_capital, site.lifetime)
    overhead_w = c["host_power_w"] + c["network_power_w"]
    average_it = eq.average_power(c["chip_power_w"], c["idle_power_w"], site.utilization) + overhead_w
    provisioned = c["tdp_w"] + overhead_w
    capital = c["price_usd"] + c["system_usd"] + c["network_usd"]
    facility = eq.facility_cost(
        provisioned,
        site.facility,
        site.colocation_price,
        site.build_cost,
        site.cost_of_capital,
        site.build_lifetime,
    )
    per_chip = {
        "chip_capex": c["price_usd"] * crf * own,
        "system_capex": c["system_usd"] * crf * own,
        "network_capex": c["network_usd"] * crf * own,
        "facility": facility * own,
        "maintenance": eq.maintenance_cost(capital, site.maintenance) * own,
        "operations": site.operations * own,
        "rental": c["rental_usd_per_s"] * rented,
    }
    wall = eq.wall_power(average_it, site.pue) * n
    out = {k: v * n * period for k, v in per_chip.items()}
    capex = _pairwise_sum([out[k] for k in CAPEX_ITEMS])
    other = _pairwise_sum([out[k] for k in OTHER_ITEMS])
    energy = eq.energy_cost(wall, site.energy_price) * period * own
    return {
        "provisioned_power_w": provisioned,
        "wall_power_w": wall,
        **out,
        "capex": capex,
        "energy": energy,
        "other": other,
        "usd": _pairwise_sum([capex, energy, other]),
    }


def _pairwise_sum(terms: list):
    """``sum(terms)`` in halves (polars' horizontal sum adds this way), so expressions and arrays
    give the same bits."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return _pairwise_sum(terms[:half]) + _pairwise_sum(terms[half:])
