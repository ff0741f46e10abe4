"""The efficiency fit refuses garbage (perfmodel.calibration.fit_guards, docs/model.md section 7).

Each case edits rows of a copy of the packaged measurements.csv and asserts the one problem the
fit names (file:row:column, what was expected) instead of fitting it or ending in a traceback.
"""

import pytest
from catalog_edits import column, edited_folder, line_of

from perfmodel.calibration.efficiency_fit import FIT_WORST, fit, held_out, measurements, summary
from perfmodel.catalog.folder import load_catalogs
from perfmodel.inputs import CatalogError

FILE = "measurements.csv"


def _set(rows, chip, name, value, n=1):
    """Set column ``name`` of the first ``n`` rows of ``chip`` to ``value`` (a callable of the old text)."""
    col = column(rows, name)
    hits = [r for r in rows if r["hardware"] == chip][:n]
    for r in hits:
        r[col] = value(r[col]) if callable(value) else value
    return rows


def _problems(folder) -> list[str]:
    with pytest.raises(CatalogError) as e:
        fit(load_catalogs(folder))
    return [str(p) for p in e.value.problems if p.severity == "error"]


def test_one_point_above_the_limit_is_refused_by_row(tmp_path):
    """500,000 tokens/s per chip on a B200 row is within the column's band but above the limit of
    its configuration (peak bandwidth and FLOP/s), which no real run exceeds."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "b200-hgx", "output_tps_per_chip", "500000.5"))
    line = line_of(folder, FILE, "500000.5")
    (problem,) = _problems(folder)
    assert problem.startswith(f"{FILE}:{line}:output_tps_per_chip: got '500000")
    assert "the limit of this configuration" in problem


def test_a_throughput_of_1e12_is_refused_as_implausible(tmp_path):
    """The case that pushed B200's bandwidth efficiency to 1: refused before any fit, by row."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "b200-hgx", "output_tps_per_chip", "1e12"))
    (problem,) = _problems(folder)
    assert problem.startswith(f"{FILE}:{line_of(folder, FILE, '1e12')}:output_tps_per_chip: got '1e12'")
    assert "a fit refuses a value outside it" in problem


def test_h100_rows_times_100_are_refused_not_fitted_to_one(tmp_path):
    """Every H100 row 100x: each row names H100 (implausible or above the limit), none is fitted."""
    folder = edited_folder(
        tmp_path,
        FILE,
        lambda r: _set(r, "h100-sxm", "output_tps_per_chip", lambda v: repr(float(v) * 100), 10**6),
    )
    problems = _problems(folder)
    text = (folder / FILE).read_text().splitlines()
    h100_lines = {n for n, ln in enumerate(text, 1) if ",h100-sxm," in ln}
    assert problems and {int(p.split(":")[1]) for p in problems} <= h100_lines


def test_h100_points_at_a_fifth_are_refused_by_row_not_fitted_below_their_range(tmp_path):
    """H100 FP8 points at a fifth of their throughput (still below the limit): the figures stay in
    their sourced ranges (efficiency_ranges.csv), so the fitted model misses the rows by more than
    FIT_WORST and the fit names them, H100 rows only."""
    folder = edited_folder(
        tmp_path,
        FILE,
        lambda rows: [
            r | {column(rows, "output_tps_per_chip"): repr(float(r[column(rows, "output_tps_per_chip")]) / 5)}
            if r["hardware"] == "h100-sxm" and r["precision"] == "fp8"
            else r
            for r in rows
        ],
    )
    problems = _problems(folder)
    text = (folder / FILE).read_text().splitlines()
    h100_lines = {n for n, ln in enumerate(text, 1) if ",h100-sxm," in ln and ",fp8," in ln}
    assert problems and {int(p.split(":")[1]) for p in problems} <= h100_lines
    assert all(f"within {FIT_WORST:g}x" in p for p in problems)


def test_a_chip_without_a_sourced_range_is_refused(tmp_path):
    """A fitted figure is a claim about hardware: a measured chip with no row in
    efficiency_ranges.csv is not fitted, and the error names the file and the chip."""
    folder = edited_folder(
        tmp_path, "efficiency_ranges.csv", lambda rows: [r for r in rows if r["hardware"] != "mi355x"]
    )
    (problem,) = _problems(folder)
    assert problem.startswith("efficiency_ranges.csv: got 'mi355x/")


def test_a_point_the_fit_cannot_come_near_is_refused_by_row(tmp_path):
    """One current H100 point at a quarter of its throughput: the chip's other points hold the
    figures, the fitted model misses that point by more than FIT_WORST, and its row is named."""
    folder = edited_folder(
        tmp_path, FILE, lambda r: _set(r, "h100-sxm", "output_tps_per_chip", lambda v: f"{float(v) / 4:.7f}")
    )
    edited = next(ln for ln in (folder / FILE).read_text().splitlines() if ",h100-sxm," in ln)
    (problem,) = _problems(folder)
    assert problem.startswith(f"{FILE}:{line_of(folder, FILE, edited)}:output_tps_per_chip:")
    assert f"within {FIT_WORST:g}x" in problem


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("yesterday", "a date YYYY-MM-DD"),
        ("2099-01-01", "a date not after today"),
        ("2025-02-30", "a date YYYY-MM-DD"),
    ],
)
def test_a_date_that_is_not_a_past_day_is_refused_by_row(tmp_path, date, expected):
    """Was: `yesterday` silently dropped the point; 2099 made every other point old, then a traceback."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "h100-sxm", "date", date))
    with pytest.raises(CatalogError) as e:
        load_catalogs(folder)
    (problem,) = [str(p) for p in e.value.problems]
    assert problem.startswith(f"{FILE}:{line_of(folder, FILE, date)}:date: got '{date}'; expected {expected}")


def test_an_unknown_chip_is_refused_with_the_valid_names(tmp_path):
    """Was: silently skipped. Now the row and column, a suggestion and every valid chip."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "h100-sxm", "hardware", "h100-sxn"))
    with pytest.raises(CatalogError) as e:
        measurements(load_catalogs(folder))
    (problem,) = [str(p) for p in e.value.problems]
    assert problem.startswith(f"{FILE}:{line_of(folder, FILE, 'h100-sxn')}:hardware: got 'h100-sxn'")
    assert "did you mean 'h100-sxm'" in problem and "valid names: " in problem and "mi355x" in problem


def test_a_chip_spelled_in_capitals_is_the_catalog_chip(tmp_path):
    """Names ignore case everywhere: `H100-SXM` in a measurement is h100-sxm, not an unknown chip."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "h100-sxm", "hardware", "H100-SXM"))
    df = measurements(load_catalogs(folder), fitted_only=False)
    line = line_of(folder, FILE, "H100-SXM")
    assert df.filter(line=line)["hardware"].to_list() == ["h100-sxm"]


def test_a_one_row_file_needs_more_points_and_says_how_many(tmp_path):
    """Was: `cannot concat empty list`. Four chip figures need 8 points (2 per figure)."""
    folder = edited_folder(tmp_path, FILE, lambda rows: [r for r in rows if r["hardware"] == "h100-sxm"][-1:])
    (problem,) = _problems(folder)
    assert problem == (
        f"{FILE}: got 'h100-sxm: 1 point(s)'; expected at least 8 current, steady points per chip: 2 per "
        "fitted figure for its 4 figures, so that the fit is over-determined (add points or remove the chip's rows)"
    )


def test_an_isl_of_1e300_is_refused_by_row(tmp_path):
    """Was: `Residuals are not finite`. The request length is outside the column's band."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "h100-sxm", "isl", "1e300"))
    (problem,) = _problems(folder)
    assert problem.startswith(
        f"{FILE}:{line_of(folder, FILE, '1e300')}:isl: got '1e300'; expected a plausible"
    )


def test_a_concurrency_in_other_digits_is_refused(tmp_path):
    """`８` is not an ASCII digit: refused, not read as 8."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "h100-sxm", "concurrency", "８"))
    with pytest.raises(
        CatalogError, match=r"measurements.csv:\d+:concurrency: got '８'; expected a whole number"
    ):
        load_catalogs(folder)


def test_one_source_only_fits_with_nothing_held_out(tmp_path):
    """A folder whose measurements come from one source has no held-out points: an empty table and a
    summary of 0 points, not `cannot concat empty list`."""
    folder = edited_folder(
        tmp_path, FILE, lambda rows: [r for r in rows if r["source_id"] == rows[-1]["source_id"]]
    )
    cats = load_catalogs(folder)
    assert held_out(cats).height == 0
    assert summary(held_out(cats)["ratio"].to_numpy())["points"] == 0


def test_the_command_refuses_in_one_line_and_writes_nothing(tmp_path, run_command):
    """Exit status 2, the problem on stderr, no traceback, no --out file."""
    folder = edited_folder(tmp_path, FILE, lambda r: _set(r, "b200-hgx", "output_tps_per_chip", "500000.5"))
    out = tmp_path / "efficiencies.csv"
    p = run_command("perfmodel", "fit", "--catalogs", str(folder), "--out", str(out))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and not out.exists()
    assert [ln for ln in p.stderr.splitlines() if ln.startswith("error:")] == [
        "error: 1 problem(s) in catalog data:"
    ]
    assert f"{FILE}:{line_of(folder, FILE, '500000.5')}:output_tps_per_chip" in p.stderr


def test_packaged_points_of_a_chip_the_users_own_hardware_file_lacks_are_left_out():
    """A folder with its own, smaller hardware.csv still fits: the packaged measurements of the chips
    it dropped are left out (the user did not write them), while its own rows are held to its chips."""
    raw = load_catalogs()["hardware"].raw.decode()
    smaller = "\n".join(ln for ln in raw.splitlines() if not ln.startswith("h100-sxm,")).encode()
    df = measurements(load_catalogs(overrides={"hardware": smaller}), fitted_only=False)
    assert "h100-sxm" not in set(df["hardware"]) and {"b200-hgx", "mi300x"} <= set(df["hardware"])
