"""Rental prices per accelerator-hour (``rentals.csv``): the rent cost basis.

A chip's rental price is the median of its published offers; the lowest and highest offer bound
it (the uncertainty analysis draws between them). A rented chip-hour covers the provider's
capital, facility, energy and operations, so under the rent basis those items are zero.
"""

from __future__ import annotations

import polars as pl

from perfmodel.catalog.folder import Catalogs


def rental_table(catalogs: Catalogs) -> pl.DataFrame:
    """One row per chip with offers: hardware, rental_usd_per_s (median), _low, _high, rental_offers."""
    return (
        catalogs["rentals"]
        .df.group_by("hardware", maintain_order=True)
        .agg(
            rental_usd_per_s=pl.col("price").median(),
            rental_usd_per_s_low=pl.col("price").min(),
            rental_usd_per_s_high=pl.col("price").max(),
            rental_offers=pl.len(),
        )
    )


def with_rentals(chips: pl.DataFrame, catalogs: Catalogs) -> pl.DataFrame:
    """``chips`` (:func:`tco.economics.chip_costs.chip_table`) with its rental price columns (null: no offer)."""
    return chips.join(rental_table(catalogs), on="hardware", how="left", validate="1:1")
