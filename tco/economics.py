"""Money, energy and carbon per configuration of a decode grid (vectorized over the frame).

Per chip, with ``u`` the utilization and ``L`` the hardware lifetime:

- capital: ``price x (1 + system_cost_fraction)`` (no fraction when the price already covers
  the system), amortized over ``L``; data-center build ``build_cost x TDP x (1 + host_overhead)``
  over the building's life; maintenance ``capital x rate``. "other" = build + maintenance.
- power (activity model): ``P = min(P_static + e_flop x FLOP/s + e_bit x bits/s, TDP)``, with
  ``e_flop`` scaled by bytes per element of the precision and each memory tier's bits at its
  own energy per bit; ``tdp`` model: ``P = TDP``. Average
  ``u x P + (1 - u) x P_static``; at the wall ``x (1 + host_overhead) x PUE``.
- energy cost = wall energy x price; operational carbon = wall energy x grid intensity;
  embodied carbon (die area by node, memory by technology, package, host share) over ``L``.
- tokens served = ``STPS x u``; $/Mtok, tokens/$, tokens/J (= tokens/s per W at the wall),
  gCO2e/Mtok follow, each split into its parts (capex/energy/other; operational/embodied).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from perfmodel.catalog_set import Catalogs
from perfmodel.schemas import PRECISION_BYTES

PowerModel = Literal["activity", "tdp"]
DEFAULT_REGION = "us-average"
_BITS_PER_BYTE = 8.0
_MTOK = 1e6


@dataclass(frozen=True)
class Site:
    """The assumptions of one data-center site (datacenter.csv row), in base units."""

    name: str
    grid_region: str
    pue: float
    energy_price: float  # USD/J
    lifetime: float  # s
    utilization: float
    build_cost: float  # USD/W
    build_lifetime: float  # s
    host_overhead: float
    system_cost_fraction: float
    maintenance: float  # 1/s
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
) -> pl.DataFrame:
    """Add cost, power and carbon columns to a perfmodel grid ``perf`` (one row per config).

    ``chips`` is :func:`tco.chip_cost.chip_table`. Added columns (per model instance):
    chip_power_w, wall_power_w, capex_usd_per_hour, energy_usd_per_hour, other_usd_per_hour,
    usd_per_hour, tokens_per_usd, tokens_per_joule, usd_per_mtok (+ capex/energy/other parts),
    gco2e_per_mtok (+ operational/embodied parts), price_usd, price_is_estimate, memory_technology.
    """
    if power_model not in ("activity", "tdp"):
        raise ValueError(f"power model must be 'activity' or 'tdp', got {power_model!r}")
    hw = perf.schema["hardware"]
    c = chips.filter(pl.col("hardware").is_in(hw.categories.to_list())).with_columns(
        pl.col("hardware").cast(hw)
    )
    df = perf.join(c, on="hardware", how="left")
    flop_scale = PRECISION_BYTES[precision]
    active = (
        pl.col("static_power_w")
        + pl.col("energy_per_flop_j") * flop_scale * pl.col("flop_per_s_chip")
        + pl.col("memory_energy_j_per_bit") * _BITS_PER_BYTE * pl.col("bytes_per_s_chip")
        + pl.col("tier2_energy_j_per_bit") * _BITS_PER_BYTE * pl.col("tier2_bytes_per_s_chip")
    )
    active = pl.min_horizontal(active, pl.col("tdp_w")) if power_model == "activity" else pl.col("tdp_w")
    u = site.utilization
    idle = pl.col("static_power_w") if power_model == "activity" else pl.col("tdp_w")
    chips_n = pl.col("chips")
    capital = pl.col("price_usd") * pl.when(pl.col("price_includes_system")).then(1.0).otherwise(
        1.0 + site.system_cost_fraction
    )
    hour = 3600.0
    df = (
        df.with_columns(
            chip_power_w=active,
            avg_chip_power_w=u * active + (1.0 - u) * idle,
            capital_usd=capital,
        )
        .with_columns(
            wall_power_w=pl.col("avg_chip_power_w") * (1.0 + site.host_overhead) * site.pue * chips_n,
            capex_usd_per_hour=chips_n * pl.col("capital_usd") / site.lifetime * hour,
            other_usd_per_hour=chips_n
            * hour
            * (
                site.build_cost * pl.col("tdp_w") * (1.0 + site.host_overhead) / site.build_lifetime
                + pl.col("capital_usd") * site.maintenance
            ),
        )
        .with_columns(
            energy_usd_per_hour=pl.col("wall_power_w") * site.energy_price * hour,
        )
        .with_columns(
            usd_per_hour=pl.col("capex_usd_per_hour")
            + pl.col("energy_usd_per_hour")
            + pl.col("other_usd_per_hour"),
            tokens_per_hour=pl.col("stps") * u * hour,
            operational_g_per_hour=pl.col("wall_power_w") * site.grid_intensity * hour,
            embodied_g_per_hour=chips_n
            * (pl.col("embodied_chip_g") + site.system_embodied)
            / site.lifetime
            * hour,
        )
    )
    per_mtok = _MTOK / pl.col("tokens_per_hour")
    df = df.with_columns(
        usd_per_mtok=pl.col("usd_per_hour") * per_mtok,
        capex_usd_per_mtok=pl.col("capex_usd_per_hour") * per_mtok,
        energy_usd_per_mtok=pl.col("energy_usd_per_hour") * per_mtok,
        other_usd_per_mtok=pl.col("other_usd_per_hour") * per_mtok,
        tokens_per_usd=pl.col("tokens_per_hour") / pl.col("usd_per_hour"),
        tokens_per_joule=pl.col("stps") * u / pl.col("wall_power_w"),
        operational_gco2e_per_mtok=pl.col("operational_g_per_hour") * per_mtok,
        embodied_gco2e_per_mtok=pl.col("embodied_g_per_hour") * per_mtok,
    ).with_columns(
        gco2e_per_mtok=pl.col("operational_gco2e_per_mtok") + pl.col("embodied_gco2e_per_mtok"),
    )
    return df.drop(
        "avg_chip_power_w",
        "capital_usd",
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
    )
