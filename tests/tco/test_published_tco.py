"""The all-in owner cost per accelerator-hour against published all-in figures (issue 12).

Each case prints the model's figure, the published one and the error; the mean and maximum error
follow. A case fails above TOLERANCE. The figures and their sources are in
tests/data/published_gpu_hour_costs.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.units import Q_
from tco.economics.chip_costs import chip_table
from tco.economics.costs import cost_frame, load_site

#: Issue 12: within 35 % of the published all-in figures. Published figures differ among themselves
#: by this much (H200 contract offers 1.96 and 2.30, 17 % apart; price, life and cost of capital
#: differ between sources), so a model inside this band agrees with them as well as they agree.
TOLERANCE = 0.35
PUBLISHED = pl.read_csv(
    Path(__file__).resolve().parents[1] / "data" / "published_gpu_hour_costs.csv", comment_prefix="#"
)
CATS = load_catalogs()


def owner_cost_per_gpu_hour(hardware: list[str]) -> dict[str, float]:
    """All-in owner cost of one chip-hour at us-average, drawing its TDP (an hour owned, serving or not)."""
    perf = pl.DataFrame(
        {
            "hardware": hardware,
            "chips": [1] * len(hardware),
            "stps": [1.0] * len(hardware),
            "flop_per_s_chip": [0.0] * len(hardware),
            "bytes_per_s_chip": [0.0] * len(hardware),
            "tier2_bytes_per_s_chip": [0.0] * len(hardware),
        },
        schema_overrides={"hardware": pl.Enum(hardware)},
    )
    f = cost_frame(perf, chip_table(CATS), load_site(CATS), power_model="tdp")
    return dict(zip(f["hardware"].cast(pl.String).to_list(), f["usd_per_chip_hour"].to_list(), strict=True))


def test_owner_cost_per_gpu_hour_against_published_figures():
    ours = owner_cost_per_gpu_hour(PUBLISHED["hardware"].unique(maintain_order=True).to_list())
    errors = []
    for r in PUBLISHED.iter_rows(named=True):
        model = ours[r["hardware"]]
        err = model / r["usd_per_gpu_hour"] - 1.0
        errors.append(err)
        print(
            f"{r['hardware']:<11} model {model:.2f} vs {r['kind']} {r['usd_per_gpu_hour']:.2f} USD/GPU-h "
            f"({r['published']}): {err:+.0%}"
        )
    errors = np.abs(errors)
    print(f"mean |error| {errors.mean():.0%}, max {errors.max():.0%} over {len(errors)} figures")
    assert errors.max() <= TOLERANCE


@pytest.mark.parametrize("name", ["h100-sxm", "h200-sxm", "b200-hgx", "mi300x", "mi325x", "mi355x"])
def test_owner_cost_is_below_the_on_demand_market(name):
    """An owner running its own chip pays less than a renter, who pays the owner's cost plus a
    margin: the median on-demand offer in rentals.csv is above the owner cost."""
    cost = owner_cost_per_gpu_hour([name])[name]
    offers = CATS["rentals"].df.filter(pl.col("hardware") == name, pl.col("term") == "on-demand")
    assert offers.height >= 1
    assert cost < Q_(offers["price"].median(), "1/s").to("1/hour").m
