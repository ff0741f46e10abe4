"""The power model under load against accelerator power measured while serving.

ML.ENERGY measures steady-state GPU power with Zeus while vLLM serves
(github.com/ml-energy/leaderboard, public/data/models/*.json @ 0cd52dab89). The GPQA points,
reasoning models with 1,600-8,400 output tokens per request, are in power_measurements.csv; the
power model's serving floor and dynamic scale are fitted to them (tco.economics.power_calibration, docs/model.md
section 8) and checked here, on the points and on models held out of the fit.
"""

import numpy as np
import polars as pl
import pytest

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.inputs import InvalidInput
from tco.economics.chip_costs import chip_table
from tco.economics.power_calibration import calibration_csv, fit, held_out, power_points, predict, summary

CATS = load_catalogs()
POINTS = power_points(CATS)
VALUES = fit(POINTS)
HELD_OUT = held_out(POINTS)
#: Lowest and highest measured draw per GPU [W] over the leaderboard's configurations (all tasks).
MEASURED_DRAW_W = {"h100-sxm": (230.7, 690.1), "b200-hgx": (304.8, 974.6)}


@pytest.mark.parametrize("chip", sorted(MEASURED_DRAW_W))
def test_power_model_envelope_holds_the_measured_draw(chip):
    row = chip_table(CATS).filter(hardware=chip).row(0, named=True)
    low, high = MEASURED_DRAW_W[chip]
    assert row["static_power_w"] <= low  # the idle power sits below any serving draw
    assert high <= row["tdp_w"]  # the cap of the activity model
    assert low <= 0.5 * row["tdp_w"]  # light load sits far below TDP: a TDP-only model overstates it


def test_the_catalog_holds_what_the_fit_writes():
    """power_calibration.csv is the output of ``python -m tco power-fit`` on the catalogs."""
    assert calibration_csv(CATS, VALUES, HELD_OUT) == CATS["power_calibration"].raw.decode("utf-8-sig")


def test_uncalibrated_physics_draws_too_little():
    """The physics alone (the catalog's static 30 % of TDP, each FLOP and bit at its energy) is
    below the measured power at the median by more than a quarter: why the fit exists."""
    static = {r["hardware"]: r["static_power_w"] / r["tdp_w"] for r in chip_table(CATS).iter_rows(named=True)}
    physics = predict(POINTS, lambda h: {"serving_floor": static[h], "dynamic_scale": 1.0})
    assert np.median(physics / POINTS["power_per_chip"].to_numpy()) < 0.75


@pytest.mark.parametrize("chip", sorted(MEASURED_DRAW_W))
def test_fitted_power_meets_the_acceptance_per_chip(chip):
    """On the fitted points of each chip: median model / measured in [0.8, 1.25], 70 % within 25 %."""
    pts = POINTS.filter(pl.col("hardware") == chip)
    s = summary(predict(pts, VALUES.__getitem__) / pts["power_per_chip"].to_numpy())
    assert s["points"] >= 30
    assert 0.8 <= s["median_ratio"] <= 1.25
    assert s["share_within_25pct"] >= 0.70


def test_held_out_models_are_predicted_within_the_band():
    """Each model predicted by a fit on the chip's other models: median in [0.8, 1.25], none off by 2x."""
    s = summary(HELD_OUT["ratio"].to_numpy())
    assert s["points"] == POINTS.height
    assert 0.8 <= s["median_ratio"] <= 1.25
    assert s["worst_factor"] <= 2.0


def test_more_work_never_draws_less_and_never_more_than_tdp():
    pts = POINTS.head(5)
    base = predict(pts, VALUES.__getitem__)
    busier = predict(pts.with_columns(pl.col("dynamic_w") * 2), VALUES.__getitem__)
    assert (busier >= base).all()
    assert (busier <= pts["tdp_w"].to_numpy()).all()


def test_a_chip_without_a_power_row_is_refused_by_name():
    """No silent fallback to the uncalibrated physics: the file and the chip are named."""
    raw = CATS["power_calibration"].raw.decode()
    kept = "\n".join(line for line in raw.splitlines() if not line.startswith("mi300x,"))
    cats = load_catalogs(overrides={"power_calibration": kept.encode()})
    with pytest.raises(InvalidInput, match=r"power_calibration.csv: no row for mi300x"):
        chip_table(cats)
