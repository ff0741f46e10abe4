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
from catalog_edits import column, edited_folder, line_of

from perfmodel.calibration.fit_guards import figure_problems
from perfmodel.catalog.economics_schemas import DYNAMIC_SCALE_BAND, POWER_CALIBRATION, POWER_FIELDS
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.inputs import CatalogError, InvalidInput
from tco.economics.chip_costs import chip_table
from tco.economics.power_calibration import (
    BOUNDS,
    calibration_csv,
    fit,
    held_out,
    power_points,
    predict,
    summary,
)

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


# The power fit refuses garbage (perfmodel.calibration.fit_guards, docs/model.md section 8): each case
# edits rows of a copy of the packaged power_measurements.csv.
POWER_FILE = "power_measurements.csv"


def _edit_chip(rows, chip, name, value, n=1):
    """Column ``name`` of the first ``n`` rows of ``chip`` set to ``value`` (or ``value(old text)``)."""
    col = column(rows, name)
    for r in [r for r in rows if r["hardware"] == chip][:n]:
        r[col] = value(r[col]) if callable(value) else value
    return rows


def _power_problems(folder) -> list[str]:
    with pytest.raises(CatalogError) as e:
        fit(power_points(load_catalogs(folder)))
    return [str(p) for p in e.value.problems if p.severity == "error"]


def test_a_power_of_1e9_w_per_chip_is_refused_by_row(tmp_path):
    folder = edited_folder(tmp_path, POWER_FILE, lambda r: _edit_chip(r, "h100-sxm", "power_per_chip", "1e9"))
    (problem,) = _power_problems(folder)
    assert problem.startswith(
        f"{POWER_FILE}:{line_of(folder, POWER_FILE, ',1e9,')}:power_per_chip: got '1e9'"
    )


def test_a_power_above_the_chips_tdp_is_refused_by_row(tmp_path):
    """800 W on an H100 (TDP 700 W) is within the column's band, but a serving chip's mean power stays
    under its TDP and the model caps there: no fit could reach it."""
    folder = edited_folder(
        tmp_path, POWER_FILE, lambda r: _edit_chip(r, "h100-sxm", "power_per_chip", "800.5")
    )
    (problem,) = _power_problems(folder)
    assert problem.startswith(
        f"{POWER_FILE}:{line_of(folder, POWER_FILE, ',800.5,')}:power_per_chip: got '800.5 W'"
    )
    assert "from 70 to 700 W: at most h100-sxm's TDP" in problem


def test_throughput_of_an_8_gpu_node_taken_per_chip_ends_outside_the_band(tmp_path):
    """Every H100 throughput 8x (a node's figure for one GPU): the dynamic scale falls below the
    plausible band and the fit says so instead of writing it."""
    folder = edited_folder(
        tmp_path,
        POWER_FILE,
        lambda r: _edit_chip(r, "h100-sxm", "output_tps_per_chip", lambda v: repr(float(v) * 8), 10**6),
    )
    (problem,) = _power_problems(folder)
    assert problem.startswith(f"{POWER_FILE}: got 'h100-sxm dynamic_scale fitted to ")
    assert f"outside {DYNAMIC_SCALE_BAND[0]:g}-{DYNAMIC_SCALE_BAND[1]:g}" in problem


def test_a_dynamic_scale_of_9_5_is_outside_the_plausible_band():
    """The figure the unguarded fit wrote for hostile points; the packaged fits are inside the band."""
    bounds = {f: BOUNDS[f] for f in POWER_FIELDS}
    hostile = {"h100-sxm": {"serving_floor": 0.5, "dynamic_scale": 9.5}}
    (problem,) = figure_problems(hostile, bounds, POWER_CALIBRATION, POWER_FILE)
    assert problem.value == "h100-sxm dynamic_scale fitted to 9.5, outside 0.25-4"
    assert figure_problems(VALUES, bounds, POWER_CALIBRATION, POWER_FILE) == []


def test_a_one_row_file_needs_four_points_per_chip(tmp_path):
    folder = edited_folder(tmp_path, POWER_FILE, lambda rows: rows[:1])
    (problem,) = _power_problems(folder)
    assert problem.startswith(
        f"{POWER_FILE}: got 'b200-hgx: 1 point(s)'; expected at least 4 points per chip"
    )


def test_an_unknown_model_is_refused_with_the_valid_names(tmp_path):
    folder = edited_folder(tmp_path, POWER_FILE, lambda r: _edit_chip(r, "h100-sxm", "model", "llama9"))
    with pytest.raises(CatalogError) as e:
        power_points(load_catalogs(folder))
    (problem,) = [str(p) for p in e.value.problems]
    assert problem.startswith(f"{POWER_FILE}:{line_of(folder, POWER_FILE, ',llama9,')}:model: got 'llama9'")
    assert "valid names: " in problem and "gpt-oss-120b" in problem


def test_a_date_in_the_future_is_refused_by_row(tmp_path):
    folder = edited_folder(tmp_path, POWER_FILE, lambda r: _edit_chip(r, "h100-sxm", "date", "2099-01-01"))
    with pytest.raises(
        CatalogError, match=r"power_measurements.csv:\d+:date: got '2099-01-01'; expected a date not"
    ):
        load_catalogs(folder)


def test_one_model_per_chip_fits_with_nothing_held_out(tmp_path):
    """gpt-oss-120b only: both chips fit (18 and 21 points), nothing can be held out, and the
    summary says 0 points instead of ending in `cannot concat empty list`."""
    folder = edited_folder(
        tmp_path, POWER_FILE, lambda rows: [r for r in rows if r["model"] == "gpt-oss-120b"]
    )
    points = power_points(load_catalogs(folder))
    assert set(fit(points)) == {"h100-sxm", "b200-hgx"}
    assert held_out(points).height == 0 and summary(held_out(points)["ratio"].to_numpy())["points"] == 0
