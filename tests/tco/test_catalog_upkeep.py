"""Catalog safety (issue 7): check and diff on the defaults and on a broken copy, new-chip,
atomic writes, unit equivalence in headers, a load-save-load round trip, and fuzzing of every
input path (random bytes, encodings, CRLF, NaN/inf, huge numbers, formula-injection text, CLI
arguments): each ends in a clear error or a correct load, never a traceback or a wrong number."""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liminal_cli.tco_commands import main as tco_main
from perfmodel.catalog.economics_schemas import HARDWARE_ECONOMICS, SCHEMAS
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.catalog.journal import write_files
from perfmodel.catalog.schemas import HARDWARE
from perfmodel.catalog.table import read_table
from perfmodel.inputs import CatalogError
from perfmodel.outputs import safe_csv
from tco.designs.catalog_upkeep import add_chip, check, diff, to_csv
from tco.economics.chip_costs import chip_table
from tco.questions.ranking import rank

BROKEN = Path(__file__).resolve().parents[1] / "data" / "broken_catalogs"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_check_defaults_is_clean():
    assert [str(p) for p in check() if p.severity == "error"] == []


def test_check_broken_copy_lists_every_problem_exactly():
    got = {str(p) for p in check(BROKEN) if p.severity == "error"}
    assert got == {
        "hardware.csv:2:mem_bw: got 'W'; expected a unit of [information] / [time] such as B/s",
        "hardware.csv:4:mem_capacity: got '-80'; expected a number > 0 (in GiB, as the header says)",
        "hardware.csv:5:name: got 'xpu-hbm3'; expected a unique value (already used on row 3)",
        "datacenter.csv:3:source: got ''; expected non-empty text",
        "datacenter.csv:3:pue: got '0.9'; expected a PUE >= 1 (total facility power / IT power)",
        "scenario_models.csv:3:model: got 'llama-99b'; expected a name from models.csv: deepseek-r1, deepseek-v3, "
        "glm-4.5-air, glm-4.7-flash, gpt-oss-120b, gpt-oss-20b, kimi-k2, llama2-70b, llama3-405b, llama3-70b, "
        "llama3-8b, llama4-maverick, llama4-scout, minimax-m2.5, mixtral-8x22b, mixtral-8x7b, qwen2.5-3b, "
        "qwen2.5-7b, qwen3-235b-a22b, qwen3-30b-a3b, qwen3-4b, qwen3-coder-480b-a35b",
    }


def test_cli_check_exit_codes(capsys):
    assert tco_main(["catalog", "check"]) == 0
    assert tco_main(["catalog", "check", str(BROKEN)]) == 2
    out = capsys.readouterr().out
    assert "hardware.csv:4:mem_capacity" in out and "6 error(s)" in out


def test_plausibility_warning_does_not_fail(tmp_path):
    text = (
        (DEFAULT_DIR / "hardware.csv")
        .read_text()
        .replace("xpu-cows,Liminal study,SRAM,2473.901162496", "xpu-cows,Liminal study,SRAM,247390.1162496")
    )
    (tmp_path / "hardware.csv").write_text(text)
    problems = check(tmp_path)
    assert [p.severity for p in problems] == ["warning"]
    assert problems[0].column == "mem_bw" and "between 0.01 and 5e+04 TB/s" in problems[0].expected


def test_units_in_headers_are_interchangeable(tmp_path):
    """mem_bw[GB/s] and mem_bw[TiB/s] with the same physical values give the same ranking."""
    raw = (DEFAULT_DIR / "hardware.csv").read_text().splitlines()
    table = read_table(DEFAULT_DIR / "hardware.csv", HARDWARE)
    for unit, factor in (("GB/s", 1e9), ("TiB/s", 2**40)):
        folder = tmp_path / unit.replace("/", "_")
        folder.mkdir()
        lines, k = [], 0
        for line in raw:
            if line.startswith("name,"):
                line = line.replace("mem_bw[TB/s]", f"mem_bw[{unit}]")
            elif not line.startswith("#"):
                cells = line.split(",", 4)
                cells[3] = repr(table.df["mem_bw"][k] / factor)
                k += 1
                line = ",".join(cells)
            lines.append(line)
        (folder / "hardware.csv").write_text("\n".join(lines) + "\n")
    a = rank("llama3-70b", context=4096, min_utps=30, catalogs=load_catalogs(tmp_path / "GB_s"))
    b = rank("llama3-70b", context=4096, min_utps=30, catalogs=load_catalogs(tmp_path / "TiB_s"))
    c = rank("llama3-70b", context=4096, min_utps=30)
    assert a["hardware"].to_list() == b["hardware"].to_list() == c["hardware"].to_list()
    for col in ("utps", "stps", "usd_per_mtok"):
        assert a[col].to_list() == pytest.approx(b[col].to_list(), rel=1e-12, nan_ok=True)
        assert a[col].to_list() == pytest.approx(c[col].to_list(), rel=1e-12, nan_ok=True)


def test_diff_shows_changes_and_moving_rankings(tmp_path):
    for f in DEFAULT_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path)
    winner = rank("llama3-70b", context=4096, min_utps=30).row(0, named=True)["hardware"]
    econ = tmp_path / "hardware_economics.csv"
    # the winner's packaging priced 100x: it must lose the top rank
    lines = econ.read_text().splitlines()
    header = next(line for line in lines if not line.startswith("#")).split(",")
    column = header.index("packaging_cost[USD]")
    for i, line in enumerate(lines):
        if line.startswith(winner + ","):
            cells = next(csv.reader([line]))
            before = float(cells[column])
            cells[column] = repr(100 * before)
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(cells)
            lines[i] = buf.getvalue()
    econ.write_text("\n".join(lines) + "\n")
    d = diff(DEFAULT_DIR, tmp_path, models=["llama3-70b"])
    assert d["added"] == [] and d["removed"] == []
    changes = {(c["key"], c["column"]): (c["old"], c["new"]) for c in d["changed"]}
    old, new = changes[(winner, "packaging_cost")]
    assert (float(old.removesuffix(" USD")), float(new.removesuffix(" USD"))) == (before, 100 * before)
    r = d["rankings"][0]
    assert r["before"][0] == winner
    assert r["after"][0] != winner and r["moved"]


def test_new_chip_gets_bottom_up_price_and_is_ranked(tmp_path):
    out = add_chip(
        tmp_path, "my-hbm4", "xpu-hbm3", ["mem_bw=20TB/s", "memory_technology=HBM4", "mem_capacity=192GiB"]
    )
    assert out["rows"]["hardware"]["mem_bw"] == pytest.approx(20e12)
    assert out["rows"]["hardware_economics"]["price"] is None
    cats = load_catalogs(tmp_path)
    ranked = rank("llama3-70b", context=4096, min_utps=30, catalogs=cats)
    row = ranked.filter(pl.col("hardware") == "my-hbm4").row(0, named=True)
    assert row["price_is_estimate"] and row["price_type"] == "bottom-up"
    # it serves and draws power as the measured chip its template resembles (b200-hgx)
    for cat in ("efficiencies", "power_calibration"):
        assert cats[cat].df.filter(pl.col("hardware") == "my-hbm4")["resembles"].to_list() == ["b200-hgx"]
    figures = chip_table(cats).filter(pl.col("hardware").is_in(["my-hbm4", "b200-hgx"]))
    assert figures["serving_floor"].n_unique() == 1 and figures["dynamic_scale"].n_unique() == 1
    with pytest.raises(Exception, match="already has a row"):
        add_chip(tmp_path, "my-hbm4")
    with pytest.raises(Exception, match="convertible to TB/s"):
        add_chip(tmp_path, "bad", "xpu-hbm3", ["mem_bw=3W"])
    assert not (tmp_path / "hardware.csv").read_text().count("\nbad,")


def test_write_files_keeps_previous_version(tmp_path):
    path = tmp_path / "x.csv"
    assert write_files(tmp_path, {"x.csv": b"one\n"}) == [path]
    write_files(tmp_path, {"x.csv": b"two\n"})
    assert path.read_bytes() == b"two\n" and (tmp_path / "x.csv.bak").read_bytes() == b"one\n"
    # no staged file or journal left; the lock file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == [".catalog.lock", "x.csv", "x.csv.bak"]


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_round_trip_load_save_load(name):
    first = load_catalogs()[name]
    again = read_table(to_csv(first), SCHEMAS[name], file=SCHEMAS[name].file)
    assert again.df.equals(first.df)


def _load_bytes(data: bytes, schema=HARDWARE_ECONOMICS):
    try:
        return read_table(data, schema, file=schema.file)
    except CatalogError as e:
        assert e.problems and all(p.file == schema.file for p in e.problems)
        assert all(str(p) for p in e.problems)
        return None


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data):
    _load_bytes(data)


GOOD = (DEFAULT_DIR / "hardware_economics.csv").read_bytes()


@FUZZ
@given(
    st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
    st.sampled_from(["\n", "\r\n"]),
    st.integers(0, 20),
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(
            ["1e400", "-5", "0", "=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "", "NaN", "inf", "1,5", "é"]
        ),
        st.text(max_size=12),
    ),
    st.integers(1, 13),
)
def test_fuzz_edits_of_a_good_file(encoding, newline, row, cell, column):
    """One cell replaced, re-encoded, re-terminated: a correct load with the cell's value, or an error.

    A file that loads also round-trips: saved and loaded again, it gives identical data.
    """
    text = GOOD.decode("utf-8")
    lines = text.splitlines()
    data_rows = [i for i, line in enumerate(lines) if line and not line.startswith("#")][1:]
    i = data_rows[row % len(data_rows)]
    cells = next(csv.reader([lines[i]]))
    cells[column % len(cells)] = cell
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    lines[i] = buf.getvalue()
    try:
        data = newline.join(lines).encode(encoding)
    except UnicodeEncodeError:
        return
    table = _load_bytes(data)
    if table is None:
        return
    assert read_table(to_csv(table), HARDWARE_ECONOMICS, file="x.csv").df.equals(table.df)
    # a load must carry exactly what the file says: no NaN/inf, no coerced text into numbers
    for col, dtype in table.df.schema.items():
        if dtype == pl.Float64:
            values = table.df[col].drop_nulls().to_list()
            assert all(math.isfinite(v) and v >= 0 for v in values), col
    if encoding in ("utf-8", "utf-8-sig"):
        header = next(x for x in lines if x and not x.startswith("#")).split(",")
        name = header[column % len(cells)].split("[")[0]
        if name in table.df.columns and table.df.schema[name] == pl.String and cell.strip():
            assert cell.strip() in table.df[name].to_list()


def test_duplicate_columns_and_header_only_and_empty():
    head = GOOD.decode().splitlines()
    header = next(x for x in head if not x.startswith("#"))
    assert _load_bytes((header + "\n").encode()) is None  # issue 14: a header-only file is an error
    assert _load_bytes(b"") is None
    dup = header.replace("tdp[W]", "tdp[W],tdp[kW]") + "\n"
    with pytest.raises(CatalogError, match="duplicate header"):
        read_table(dup.encode(), HARDWARE_ECONOMICS, file="hardware_economics.csv")


def test_exported_csv_neutralizes_formulas():
    df = pl.DataFrame(
        {"hardware": ["=cmd|' /C calc'!A0", "+x", "-y", "@z", "ok"], "price": [1.0, -2.0, 3.0, 4.0, 5.0]}
    )
    text = safe_csv(df).decode()
    assert "'=cmd" in text and "'+x" in text and "'-y" in text and "'@z" in text and "\nok," in text
    assert ",-2.0" in text  # numbers stay numbers


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    argv=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "rank",
                    "sensitivity",
                    "tradeoff",
                    "catalog",
                    "check",
                    "diff",
                    "--model",
                    "llama3-70b",
                    "--context",
                    "--min-utps",
                    "--objective",
                    "--region",
                    "--hardware",
                    "--slowdown",
                    "-1",
                    "0",
                    "1e9",
                    "nan",
                    "inf",
                    "abc",
                    "xpu-hbm3",
                    "--json",
                    "--precision",
                    "fp4",
                    "--scenario",
                    "x",
                ]
            ),
            st.text(max_size=8),
        ),
        max_size=8,
    )
)
def test_fuzz_cli_arguments_never_traceback(argv, capsys):
    """Any argument list ends in exit 0/1/2 with a message, never an uncaught exception."""
    from liminal_cli.arguments import run

    try:
        code = run(tco_main, argv)
    except SystemExit as e:  # argparse's own exit for usage errors and --help
        code = e.code
    assert code in (0, 1, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err
