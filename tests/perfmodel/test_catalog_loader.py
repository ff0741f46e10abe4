"""The strict catalog loader: every problem is reported as file:row:column with the value and what
was expected; units in headers are converted; nothing is dropped or coerced silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import perfmodel
from perfmodel.catalog.folder import DEFAULT_DIR, load_catalogs
from perfmodel.catalog.schemas import HARDWARE, MODELS, SCENARIO_MODELS
from perfmodel.catalog.table import read_table
from perfmodel.inputs import CatalogError, Problem, UnknownName

HEADER = [
    "name",
    "vendor",
    "memory_technology",
    "mem_bw[TB/s]",
    "mem_capacity[GiB]",
    "tensor_bf16[TFLOP/s]",
    "scalar[TFLOP/s]",
    "scaleup_domain",
    "scaleup_bw_bidir[GB/s]",
    "sync_latency[us]",
    "scaleout_bw_bidir[GB/s]",
    "scaleout_sync_latency[us]",
    "source",
]
ROW_A = ["chip-a", "V", "HBM3", "3.35", "80", "989", "67", "8", "900", "5", "100", "15", "datasheet"]
ROW_B = ["chip-b", "V", "HBM3e", "4.8", "141", "989", "67", "8", "900", "5", "100", "15", '"src, with comma"']
GIB = 2**30
#: Values parsed from decimal text and multiplied by a unit factor may differ from the exact
#: product by one rounding of each step.
FLOAT_RTOL = 1e-15
#: Same physical bandwidth written in two units: at most a couple of ulp apart after conversion.
UNIT_ROUNDTRIP_RTOL = 1e-14


def _csv(header: list[str], *rows: list[str], comments: tuple[str, ...] = ()) -> str:
    lines = [*comments, ",".join(header), *(",".join(r) for r in rows)]
    return "\n".join(lines) + "\n"


def _with(row: list[str], column: str, value: str, header: list[str] = HEADER) -> list[str]:
    out = list(row)
    out[[h.split("[")[0] for h in header].index(column)] = value
    return out


def _write(tmp_path: Path, text: str | bytes, name: str = "hardware.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, schema=HARDWARE) -> list[Problem]:
    with pytest.raises(CatalogError) as info:
        read_table(path, schema)
    return info.value.problems


def _one(path: Path, schema=HARDWARE) -> Problem:
    problems = _problems(path, schema)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- a valid file --------------------------------------------------------------------------------


def test_valid_file_loads_in_canonical_units(tmp_path):
    table = read_table(_write(tmp_path, _csv(HEADER, ROW_A, ROW_B)), HARDWARE)
    assert table.names() == ["chip-a", "chip-b"]
    assert table.lines == (2, 3)
    a = table.row("chip-a")
    assert a["mem_bw"] == pytest.approx(3.35e12, rel=FLOAT_RTOL)  # B/s
    assert a["mem_capacity"] == 80 * GIB  # B, exact
    assert a["tensor_bf16"] == pytest.approx(989e12, rel=FLOAT_RTOL)  # FLOP/s
    assert a["sync_latency"] == pytest.approx(5e-6, rel=FLOAT_RTOL)  # s
    assert a["scaleup_bw_bidir"] == pytest.approx(900e9, rel=FLOAT_RTOL)
    assert a["scaleup_domain"] == 8 and isinstance(a["scaleup_domain"], int)
    # optional columns left out of the header are present and empty
    assert a["tensor_fp8"] is None and a["tensor_fp4"] is None
    # a quoted cell with a comma is one cell
    assert table.row("chip-b")["source"] == "src, with comma"
    assert table.units["mem_bw"] == "B/s"
    assert table.header_units["mem_bw"] == "TB/s"
    assert table.as_written("mem_bw", 3.35e12) == "3.35 TB/s"


def test_comment_lines_before_header_shift_line_numbers(tmp_path):
    text = _csv(HEADER, ROW_A, ROW_B, comments=("# a comment, with a comma", "# another"))
    table = read_table(_write(tmp_path, text), HARDWARE)
    assert table.lines == (4, 5)


def test_utf8_bom_and_crlf_load(tmp_path):
    text = "\ufeff" + _csv(HEADER, ROW_A, ROW_B).replace("\n", "\r\n")
    table = read_table(_write(tmp_path, text.encode("utf-8")), HARDWARE)
    assert table.names() == ["chip-a", "chip-b"]
    assert table.lines == (2, 3)
    assert table.row("chip-b")["source"] == "src, with comma"  # no stray \r
    assert table.row("chip-a")["mem_capacity"] == 80 * GIB


def test_header_only_file_is_an_error(tmp_path):
    # issue 14: a header-only hardware file gave an empty ranking and exit 0
    p = _one(_write(tmp_path, _csv(HEADER)))
    assert "at least one data row" in p.expected


def test_bytes_source_is_named_by_file_argument():
    with pytest.raises(CatalogError) as info:
        read_table(b"", HARDWARE, file="upload.csv")
    assert info.value.problems[0].file == "upload.csv"


def test_missing_file_is_a_catalog_error(tmp_path):
    p = _one(tmp_path / "absent.csv")
    assert p.file == "absent.csv"
    assert "readable file" in p.expected


# --- the header ------------------------------------------------------------------------------------


def test_unknown_unit_in_header(tmp_path):
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[TB/fortnightz]" for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 1, "mem_bw", "TB/fortnightz")
    assert p.expected == "a unit pint understands, such as B/s"
    assert (
        str(p) == "hardware.csv:1:mem_bw: got 'TB/fortnightz'; expected a unit pint understands, such as B/s"
    )


def test_parsec_is_a_known_unit_of_the_wrong_dimension(tmp_path):
    # "parsec" is a pint unit (a length), so TB/parsec is a dimension error, not an unknown unit
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[TB/parsec]" for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.row, p.column, p.value) == (1, "mem_bw", "TB/parsec")
    assert p.expected == "a unit of [information] / [time] such as B/s"


def test_wrong_dimension_in_header(tmp_path):
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[W]" for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 1, "mem_bw", "W")
    assert p.expected == "a unit of [information] / [time] such as B/s"


def test_time_unit_for_a_bandwidth_column_is_wrong_dimension(tmp_path):
    header = [h if h != "sync_latency[us]" else "sync_latency[GB]" for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.column, p.value) == ("sync_latency", "GB")
    assert p.expected == "a unit of [time] such as s"


@pytest.mark.parametrize("cell", ["mem_bw", "mem_bw[]"])
def test_missing_unit_in_header(tmp_path, cell):
    header = [h if h != "mem_bw[TB/s]" else cell for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.row, p.column, p.value) == (1, "mem_bw", cell)
    assert p.expected == "a unit in brackets, e.g. mem_bw[B/s]"


def test_unit_on_a_column_without_one(tmp_path):
    header = [h if h != "scaleup_domain" else "scaleup_domain[chips]" for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.row, p.column) == (1, "scaleup_domain")
    assert p.expected == "no unit on column scaleup_domain"


def test_unknown_column(tmp_path):
    header = [*HEADER, "colour"]
    p = _one(_write(tmp_path, _csv(header, [*ROW_A, "red"])))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 1, "colour", "colour")
    assert p.expected.startswith("one of the known columns: name, vendor, memory_technology, mem_bw,")


def test_malformed_header_cell(tmp_path):
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[TB/s]junk" for h in HEADER]
    problems = _problems(_write(tmp_path, _csv(header, ROW_A)))
    assert [(p.column, p.expected) for p in problems] == [
        ("mem_bw[TB/s]junk", "a header like name or name[unit]"),
        ("mem_bw", "this required column"),
    ]


def test_missing_required_column(tmp_path):
    i = HEADER.index("vendor")
    header = HEADER[:i] + HEADER[i + 1 :]
    row = ROW_A[:i] + ROW_A[i + 1 :]
    p = _one(_write(tmp_path, _csv(header, row)))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 1, "vendor", None)
    assert p.expected == "this required column"
    assert str(p) == "hardware.csv:1:vendor: expected this required column"


def test_duplicate_column(tmp_path):
    header = [*HEADER, "mem_bw[GB/s]"]
    p = _one(_write(tmp_path, _csv(header, [*ROW_A, "3350"])))
    assert (p.row, p.column, p.value) == (1, "mem_bw", "mem_bw[GB/s]")
    assert p.expected == "each column once (duplicate header)"


def test_header_problems_are_on_the_header_line_after_comments(tmp_path):
    header = [*HEADER, "colour"]
    text = _csv(header, [*ROW_A, "red"], comments=("# one", "# two", "# three"))
    assert _one(_write(tmp_path, text)).row == 4


@pytest.mark.parametrize("scale", ["-1 TB/s", "0 TB/s", "1e400 TB/s"])
def test_header_unit_with_a_non_positive_or_infinite_scale_is_refused(tmp_path, scale):
    # The header may carry a scale ("total_params[1e9]"), but a negative, zero or infinite scale
    # would turn every valid positive cell into a value the column forbids ("a number > 0").
    header = [h if h != "mem_bw[TB/s]" else f"mem_bw[{scale}]" for h in HEADER]
    p = _one(_write(tmp_path, _csv(header, ROW_A)))
    assert (p.row, p.column, p.value) == (1, "mem_bw", scale)
    # a sign is not part of a unit's grammar (issue 14: units are names, numbers, * / and powers)
    assert p.expected == (
        "a unit pint understands, such as B/s" if "-" in scale else "a positive unit such as B/s"
    )


def test_cell_that_overflows_in_base_units_is_refused(tmp_path):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "mem_capacity", "1e308"))))
    assert (p.row, p.column, p.value) == (2, "mem_capacity", "1e308")
    assert p.expected.endswith("that stays finite in base units")


# --- cells -----------------------------------------------------------------------------------------


def test_empty_required_cell(tmp_path):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "mem_bw", ""))))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 2, "mem_bw", "")
    assert p.expected == "a number > 0 (in TB/s, as the header says)"


def test_empty_required_text_cell(tmp_path):
    p = _one(_write(tmp_path, _csv(HEADER, ROW_A, _with(ROW_B, "vendor", ""))))
    assert (p.row, p.column, p.value, p.expected) == (3, "vendor", "", "non-empty text")


@pytest.mark.parametrize("value", ["0", "-1", "-0.5"])
def test_non_positive_value(tmp_path, value):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "mem_capacity", value))))
    assert (p.row, p.column, p.value) == (2, "mem_capacity", value)
    assert p.expected == "a number > 0 (in GiB, as the header says)"


def test_zero_scaleup_domain(tmp_path):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "scaleup_domain", "0"))))
    assert (p.row, p.column, p.value, p.expected) == (2, "scaleup_domain", "0", "an integer > 0")


@pytest.mark.parametrize("value", ["abc", "3,35", "3.35 TB/s", "1e"])
def test_non_numeric_text(tmp_path, value):
    row = _with(ROW_A, "tensor_bf16", f'"{value}"' if "," in value else value)
    p = _one(_write(tmp_path, _csv(HEADER, row)))
    assert (p.row, p.column, p.value) == (2, "tensor_bf16", value)
    assert p.expected == "a number > 0 (in TFLOP/s, as the header says)"


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_nan_and_infinity(tmp_path, value):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "scalar", value))))
    assert (p.row, p.column, p.value) == (2, "scalar", value)
    assert p.expected.startswith("a number > 0")


@pytest.mark.parametrize("value", ["8.5", "1e-1", "abc", "1e300"])
def test_non_integer_in_int_column(tmp_path, value):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "scaleup_domain", value))))
    assert (p.row, p.column, p.value) == (2, "scaleup_domain", value)
    assert p.expected.startswith("an integer > 0")


def test_integral_float_text_in_int_column_is_an_integer(tmp_path):
    table = read_table(_write(tmp_path, _csv(HEADER, _with(ROW_A, "scaleup_domain", "8.0"))), HARDWARE)
    value = table.row("chip-a")["scaleup_domain"]
    assert value == 8 and isinstance(value, int)


def test_duplicate_name_says_which_row(tmp_path):
    p = _one(_write(tmp_path, _csv(HEADER, ROW_A, ROW_B, ROW_A)))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 4, "name", "chip-a")
    assert p.expected == "a unique value (already used on row 2)"


def test_duplicate_after_blank_line_counts_file_lines(tmp_path):
    text = _csv(HEADER, ROW_A) + "\n" + ",".join(ROW_A) + "\n"
    p = _one(_write(tmp_path, text))
    assert (p.row, p.expected) == (4, "a unique value (already used on row 2)")


def test_row_after_multiline_quoted_cell_has_its_file_line(tmp_path):
    multi = _with(ROW_A, "source", '"line one\nline two"')
    bad = _with(ROW_B, "mem_bw", "nan")
    p = _one(_write(tmp_path, _csv(HEADER, multi, bad)))
    assert (p.row, p.column) == (4, "mem_bw")


def test_latin1_bytes_are_not_utf8(tmp_path):
    text = _csv(HEADER, ROW_A, _with(ROW_B, "vendor", "Soci\xe9t\xe9"))
    p = _one(_write(tmp_path, text.encode("latin-1")))
    assert (p.file, p.row, p.column) == ("hardware.csv", 3, None)
    assert p.value == repr(b"\xe9")
    assert p.expected == "UTF-8 text (save the CSV as UTF-8)"


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# only a comment\n", b"  \r\n"])
def test_empty_file_is_an_error(tmp_path, content):
    p = _one(_write(tmp_path, content))
    assert (p.file, p.row, p.column) == ("hardware.csv", None, None)
    assert p.expected == "a header row (the file is empty)"


@pytest.mark.parametrize("extra", [1, -1])
def test_row_with_wrong_cell_count(tmp_path, extra):
    row = [*ROW_B, "extra"] if extra > 0 else ROW_B[:-1]
    p = _one(_write(tmp_path, _csv(HEADER, ROW_A, row)))
    n = len(HEADER) + extra
    assert (p.row, p.column, p.value) == (3, None, f"{n} cells")
    assert p.expected == f"{len(HEADER)} cells as in the header"


def test_several_problems_reported_at_once(tmp_path):
    bad = list(ROW_A)
    for col, value in (
        ("mem_bw", ""),
        ("mem_capacity", "-1"),
        ("tensor_bf16", "abc"),
        ("scalar", "inf"),
        ("scaleup_domain", "8.5"),
    ):
        bad = _with(bad, col, value)
    text = _csv(HEADER, bad, ROW_B, [*ROW_A, "x"], ROW_B)
    problems = _problems(_write(tmp_path, text))
    where = [(p.row, p.column, p.value) for p in problems]
    assert where == [
        (2, "mem_bw", ""),
        (2, "mem_capacity", "-1"),
        (2, "tensor_bf16", "abc"),
        (2, "scalar", "inf"),
        (2, "scaleup_domain", "8.5"),
        (4, None, f"{len(HEADER) + 1} cells"),
        (5, "name", "chip-b"),
    ]
    message = str(CatalogError(problems))
    assert message.startswith("7 problem(s) in catalog data:")
    assert "hardware.csv:2:mem_capacity: got '-1'" in message
    assert "hardware.csv:5:name: got 'chip-b'; expected a unique value (already used on row 3)" in message


def test_header_and_cell_problems_are_reported_together(tmp_path):
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[W]" for h in HEADER]
    text = _csv(header, _with(ROW_A, "mem_capacity", "-1"), ROW_A)
    problems = _problems(_write(tmp_path, text))
    assert [(p.row, p.column, p.value) for p in problems] == [
        (1, "mem_bw", "W"),
        (2, "mem_capacity", "-1"),
        (3, "name", "chip-a"),
    ]


def test_implausible_value_loads_with_a_warning(tmp_path):
    # 3.35 GB/s written in a TB/s column: valid (> 0) but outside the plausible band
    table = read_table(_write(tmp_path, _csv(HEADER, _with(ROW_A, "mem_bw", "0.00335"))), HARDWARE)
    assert table.row("chip-a")["mem_bw"] == pytest.approx(3.35e9, rel=FLOAT_RTOL)
    [w] = table.warnings
    assert (w.severity, w.row, w.column, w.value) == ("warning", 2, "mem_bw", "0.00335")
    assert w.expected.startswith("a plausible value between ")
    assert w.expected.endswith(" TB/s (check the figure and its unit)")
    assert read_table(_write(tmp_path, _csv(HEADER, ROW_A)), HARDWARE).warnings == ()


def test_hardware_rule_scaleout_not_faster_than_scaleup(tmp_path):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "scaleout_sync_latency", "1"))))
    assert (p.row, p.column) == (2, "scaleout_sync_latency")
    assert p.expected == "at least sync_latency (scale-out is not faster than scale-up)"


# --- units in headers convert ----------------------------------------------------------------------


def _default_hardware_with_mem_bw_in(unit: str, per_byte_per_s: float) -> str:
    """The shipped hardware.csv with mem_bw rewritten in ``unit`` (1 unit = per_byte_per_s B/s)."""
    default = read_table(DEFAULT_DIR / "hardware.csv", HARDWARE)
    lines = (DEFAULT_DIR / "hardware.csv").read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if line and not line.startswith("#")]
    header, rows = body[0].split(","), body[1:]
    i = header.index("mem_bw[TB/s]")
    header[i] = f"mem_bw[{unit}]"
    out = [",".join(header)]
    for row, bw in zip(rows, default.df["mem_bw"].to_list(), strict=True):
        cells = row.split(",", i + 1)  # cells before mem_bw have no commas
        cells[i] = repr(bw / per_byte_per_s)
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def test_header_units_convert_to_the_same_table(tmp_path):
    gb = tmp_path / "gb"
    tib = tmp_path / "tib"
    gb.mkdir()
    tib.mkdir()
    _write(gb, _default_hardware_with_mem_bw_in("GB/s", 1e9))
    _write(tib, _default_hardware_with_mem_bw_in("TiB/s", 2.0**40))
    assert "mem_bw[GB/s]" in (gb / "hardware.csv").read_text()
    assert "mem_bw[TiB/s]" in (tib / "hardware.csv").read_text()
    a = load_catalogs(gb)["hardware"]
    b = load_catalogs(tib)["hardware"]
    default = load_catalogs()["hardware"]
    assert a.header_units["mem_bw"] == "GB/s" and b.header_units["mem_bw"] == "TiB/s"
    np.testing.assert_allclose(a.df["mem_bw"].to_numpy(), b.df["mem_bw"].to_numpy(), rtol=UNIT_ROUNDTRIP_RTOL)
    np.testing.assert_allclose(
        a.df["mem_bw"].to_numpy(), default.df["mem_bw"].to_numpy(), rtol=UNIT_ROUNDTRIP_RTOL
    )
    # 4 TiB/s of the study's xpu-hbm3 in bytes/s
    assert b.row("xpu-hbm3")["mem_bw"] == pytest.approx(4 * 2**40, rel=UNIT_ROUNDTRIP_RTOL)
    # every other column is untouched
    assert a.df.drop("mem_bw").equals(default.df.drop("mem_bw"))


def test_exact_unit_values_give_identical_bytes_and_decode(tmp_path):
    # 4 TiB/s = 4398.046511104 GB/s, and both products are exact in binary floating point
    gb = tmp_path / "gb"
    tib = tmp_path / "tib"
    gb.mkdir()
    tib.mkdir()
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[GB/s]" for h in HEADER]
    _write(gb, _csv(header, _with(ROW_A, "mem_bw", "4398.046511104")))
    header = [h if h != "mem_bw[TB/s]" else "mem_bw[TiB/s]" for h in HEADER]
    _write(tib, _csv(header, _with(ROW_A, "mem_bw", "4")))
    ca, cb = load_catalogs(gb), load_catalogs(tib)
    assert ca["hardware"].df["mem_bw"].to_list() == cb["hardware"].df["mem_bw"].to_list() == [4 * 2**40]
    kw = dict(tp=8, batch=1, context=131072, scenario="liminal-2025")
    ua = perfmodel.decode("llama3-70b", "chip-a", catalogs=ca, **kw).utps
    ub = perfmodel.decode("llama3-70b", "chip-a", catalogs=cb, **kw).utps
    assert ua == ub
    # and the bandwidth matters: a different file gives a different answer
    _write(tib, _csv(header, _with(ROW_A, "mem_bw", "8")))
    uc = perfmodel.decode("llama3-70b", "chip-a", catalogs=load_catalogs(tib), **kw).utps
    assert uc > ua


def test_decode_is_the_same_for_equivalent_hardware_files(tmp_path):
    gb = tmp_path / "gb"
    tib = tmp_path / "tib"
    gb.mkdir()
    tib.mkdir()
    _write(gb, _default_hardware_with_mem_bw_in("GB/s", 1e9))
    _write(tib, _default_hardware_with_mem_bw_in("TiB/s", 2.0**40))
    kw = dict(tp=8, batch=1, context=131072, scenario="liminal-2025")
    ua = perfmodel.decode("llama3-70b", "xpu-hbm3", catalogs=load_catalogs(gb), **kw).utps.m
    ub = perfmodel.decode("llama3-70b", "xpu-hbm3", catalogs=load_catalogs(tib), **kw).utps.m
    assert ua == pytest.approx(ub, rel=UNIT_ROUNDTRIP_RTOL)


# --- Table.row and load_catalogs ------------------------------------------------------------------


def test_row_of_unknown_name_lists_valid_names(tmp_path):
    table = read_table(_write(tmp_path, _csv(HEADER, ROW_A, ROW_B)), HARDWARE)
    with pytest.raises(KeyError) as info:
        table.row("nope")
    assert isinstance(info.value, UnknownName)
    assert str(info.value) == "unknown hardware entry 'nope'; valid names: chip-a, chip-b"


def test_row_is_found_ignoring_case_and_a_near_miss_gets_a_suggestion(tmp_path):
    # issue 14: `h100` or `H100` got the list of names but no "did you mean h100-sxm"
    table = read_table(_write(tmp_path, _csv(HEADER, ROW_A, ROW_B)), HARDWARE)
    assert table.resolve("CHIP-A") == "chip-a"
    assert table.row("Chip-B")["name"] == "chip-b"
    with pytest.raises(UnknownName) as info:
        table.row("chip")
    assert "did you mean 'chip-" in str(info.value) and "?); valid names" in str(info.value)


def test_folder_with_some_files_falls_back_to_defaults(tmp_path):
    _write(tmp_path, _csv(HEADER, ROW_A, ROW_B))
    cats = load_catalogs(tmp_path)
    assert cats["hardware"].names() == ["chip-a", "chip-b"]
    assert cats.origins["hardware"] == tmp_path / "hardware.csv"
    for name in ("models", "scenarios", "scenario_models"):
        assert cats.origins[name] == DEFAULT_DIR / f"{name}.csv"
        assert cats[name].df.equals(load_catalogs()[name].df)
    assert cats.user_files() == ["hardware"]
    assert cats.digest() != load_catalogs().digest()


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path / "absent")
    assert info.value.problems[0].expected == "a folder of catalog CSV files"


def test_problems_of_several_files_are_reported_together(tmp_path):
    _write(tmp_path, _csv(HEADER, _with(ROW_A, "mem_bw", "-3")))
    models = (DEFAULT_DIR / "models.csv").read_text(encoding="utf-8").replace("llama3-8b,32,", "llama3-8b,x,")
    _write(tmp_path, models, "models.csv")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    where = {(p.file, p.row, p.column) for p in info.value.problems}
    assert ("hardware.csv", 2, "mem_bw") in where
    assert ("models.csv", 5, "layers") in where


SM_HEADER = "scenario,model,active_params[1e9],total_params[1e9],source"


def test_scenario_override_naming_unknown_model(tmp_path):
    text = f"{SM_HEADER}\nliminal-2025,llama3-8b,7,7,s\nliminal-2025,llama9,7,7,s\n"
    _write(tmp_path, text, "scenario_models.csv")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    [p] = info.value.problems
    assert (p.file, p.row, p.column, p.value) == ("scenario_models.csv", 3, "model", "llama9")
    assert p.expected.startswith("a name from models.csv: deepseek-r1, deepseek-v3, ")
    assert "llama3-70b" in p.expected
    assert str(info.value).splitlines()[1].strip().startswith("scenario_models.csv:3:model: got 'llama9'")


def test_scenario_override_naming_unknown_scenario(tmp_path):
    text = f"# comment\n{SM_HEADER}\nno-such-scenario,llama3-8b,7,7,s\n"
    _write(tmp_path, text, "scenario_models.csv")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    [p] = info.value.problems
    assert (p.file, p.row, p.column, p.value) == ("scenario_models.csv", 3, "scenario", "no-such-scenario")
    assert p.expected.startswith("a name from scenarios.csv:")


def test_scenario_override_rules_and_composite_key(tmp_path):
    text = f"{SM_HEADER}\nliminal-2025,llama3-8b,7,7,s\nliminal-2025,llama3-8b,7,7,s\nliminal-2025,qwen3-4b,8,7,s\n"
    problems = _problems(_write(tmp_path, text, "scenario_models.csv"), SCENARIO_MODELS)
    got = {(p.row, p.column, p.expected) for p in problems}
    assert got == {
        (4, "active_params", "at most total_params (7e+09)"),
        (3, "scenario/model", "a unique value (already used on row 2)"),
    }


def test_overrides_replace_a_file_by_bytes():
    cats = load_catalogs(overrides={"hardware": _csv(HEADER, ROW_A).encode()})
    assert cats["hardware"].names() == ["chip-a"]
    assert cats.user_files() == ["hardware"]
    with pytest.raises(CatalogError):
        load_catalogs(overrides={"nonsense": b""})


# --- model rules (schemas._model_rules) -----------------------------------------------------------

MODELS_TEXT = (DEFAULT_DIR / "models.csv").read_text(encoding="utf-8")
MODEL_HEADER = next(line for line in MODELS_TEXT.splitlines() if line.startswith("name,")).split(",")
DEEPSEEK = next(line for line in MODELS_TEXT.splitlines() if line.startswith("deepseek-v3,"))
LLAMA8B = next(line for line in MODELS_TEXT.splitlines() if line.startswith("llama3-8b,"))


def _model_row(line: str, **changes: str) -> list[str]:
    # the source cell is the last one and may contain commas: split the rest only
    cells = line.split(",", len(MODEL_HEADER) - 1)
    for column, value in changes.items():
        cells = _with(cells, column, value, MODEL_HEADER)
    return cells


def _model_problem(tmp_path, **changes: str) -> list[Problem]:
    text = _csv(MODEL_HEADER, _model_row(LLAMA8B), _model_row(DEEPSEEK, **changes))
    return _problems(_write(tmp_path, text, "models.csv"), MODELS)


def test_default_models_pass_the_rules():
    table = read_table(DEFAULT_DIR / "models.csv", MODELS)
    assert "deepseek-v3" in table.names()


def test_moe_row_without_ffn_expert(tmp_path):
    [p] = _model_problem(tmp_path, ffn_expert="")
    assert (p.file, p.row, p.column, p.value) == ("models.csv", 3, "ffn_expert", None)
    assert p.expected == "a value: MoE models (experts set) need ffn_expert and experts_per_token"


def test_moe_row_with_more_experts_per_token_than_experts(tmp_path):
    [p] = _model_problem(tmp_path, experts_per_token="300")
    assert (p.row, p.column, p.value) == (3, "experts_per_token", "300")
    assert p.expected == "at most experts (256)"


def test_mla_row_without_rope_dim(tmp_path):
    [p] = _model_problem(tmp_path, qk_rope_head_dim="")
    assert (p.row, p.column) == (3, "qk_rope_head_dim")
    assert p.expected.startswith("a value: MLA models")


def test_moe_row_with_dense_layers_needs_ffn_dense(tmp_path):
    [p] = _model_problem(tmp_path, ffn_dense="")
    assert (p.row, p.column) == (3, "ffn_dense")
    assert p.expected == "a value: this model has 3 dense FFN layers"


def test_dense_row_rules(tmp_path):
    bad = _model_row(LLAMA8B, ffn_dense="", kv_heads="5", moe_every="2")
    text = _csv(MODEL_HEADER, bad)
    problems = _problems(_write(tmp_path, text, "models.csv"), MODELS)
    got = {(p.row, p.column, p.expected) for p in problems}
    assert got == {
        (2, "kv_heads", "a divisor of heads (32)"),
        (2, "ffn_dense", "a value: a dense model needs ffn_dense"),
        (2, "moe_every", "empty: only MoE models (experts set) have it"),
    }


@pytest.mark.parametrize("layers", ["", "abc"])
def test_moe_row_with_bad_layers_cell_is_reported_not_crashing(tmp_path, layers):
    # A bad cell in a MoE row must come back as a Problem naming the cell, like the same bad cell
    # in a dense row does, not as a TypeError from the cross-field rules.
    problems = _model_problem(tmp_path, layers=layers)
    assert (3, "layers", layers) in {(p.row, p.column, p.value) for p in problems}


def test_models_file_without_layers_column_is_reported_not_crashing(tmp_path):
    # Header problems no longer stop the cell checks; the cross-field rules then see layers=None
    # for every row. The missing column must come back as a Problem, not as a TypeError.
    i = MODEL_HEADER.index("layers")
    header = MODEL_HEADER[:i] + MODEL_HEADER[i + 1 :]
    rows = [r[:i] + r[i + 1 :] for r in (_model_row(LLAMA8B), _model_row(DEEPSEEK))]
    problems = _problems(_write(tmp_path, _csv(header, *rows), "models.csv"), MODELS)
    assert (1, "layers", "this required column") in {(p.row, p.column, p.expected) for p in problems}


def test_dense_row_with_bad_layers_cell(tmp_path):
    text = _csv(MODEL_HEADER, _model_row(LLAMA8B, layers="abc"))
    [p] = _problems(_write(tmp_path, text, "models.csv"), MODELS)
    assert (p.row, p.column, p.value, p.expected) == (2, "layers", "abc", "an integer > 0")


# --- names that cannot collide, digits that are digits (issue 25) ---------------------------------


@pytest.mark.parametrize(
    "twin",
    [
        "CHIP-A",  # case
        "ｃｈｉｐ-ａ",  # fullwidth letters (NFKC)
        "Chip-A",
    ],
)
def test_names_equal_as_names_are_compared_collide_naming_both_rows(tmp_path, twin):
    p = _one(_write(tmp_path, _csv(HEADER, ROW_A, _with(ROW_A, "name", twin))))
    assert (p.file, p.row, p.column, p.value) == ("hardware.csv", 3, "name", twin)
    assert p.expected.startswith("a unique value (already used on row 2 as 'chip-a';")


def test_composite_key_collides_ignoring_case(tmp_path):
    text = f"{SM_HEADER}\nliminal-2025,llama3-8b,7,7,s\nLIMINAL-2025,Llama3-8B,7,7,s\n"
    p = _one(_write(tmp_path, text, "scenario_models.csv"), SCENARIO_MODELS)
    assert (p.row, p.column, p.value) == (3, "scenario/model", "LIMINAL-2025/Llama3-8B")
    assert "row 2 as 'liminal-2025/llama3-8b'" in p.expected


@pytest.mark.parametrize(
    ("char", "described"),
    [
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u00ad", "U+00AD SOFT HYPHEN"),
        ("\x07", "U+0007 unnamed character"),
        ("\t", "U+0009 unnamed character"),
        ("\u00a0", "U+00A0 NO-BREAK SPACE"),
        ("\u2028", "U+2028 LINE SEPARATOR"),
        ("\u3164", "U+3164 HANGUL FILLER"),
        ("\ufe0f", "U+FE0F VARIATION SELECTOR-16"),
    ],
)
def test_name_with_an_invisible_character_names_the_cell_and_character(tmp_path, char, described):
    name = f"chip{char}-b"
    p = _one(_write(tmp_path, _csv(HEADER, ROW_A, _with(ROW_B, "name", f'"{name}"'))))
    assert (p.row, p.column, p.value) == (3, "name", name)
    assert p.expected == f"text without invisible or control characters (found {described} at character 5)"


def test_invisible_twin_of_a_name_is_refused_not_loaded_as_a_second_design(tmp_path):
    # h100\u200b-sxm beside h100-sxm was two designs, both ranked
    problems = _problems(_write(tmp_path, _csv(HEADER, ROW_A, _with(ROW_A, "name", "chip\u200b-a"))))
    assert [(p.row, p.column) for p in problems] == [(3, "name")]


def test_free_text_may_break_lines_but_holds_no_invisible_character(tmp_path):
    table = read_table(_write(tmp_path, _csv(HEADER, _with(ROW_A, "source", '"one\n\ttwo"'))), HARDWARE)
    assert table.row("chip-a")["source"] == "one\n\ttwo"
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, "source", "data\u202esheet"))))
    assert (p.row, p.column) == (2, "source")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE at character 5" in p.expected


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("mem_bw", "٣.٣٥"),  # Arabic-Indic
        ("mem_bw", "３.３５"),  # fullwidth
        ("mem_capacity", "८०"),  # Devanagari
        ("scaleup_domain", "８"),  # an integer column
        ("tensor_bf16", "9８9"),  # one digit of another script among ASCII ones
        ("mem_bw", "3.35e１"),  # in the exponent
    ],
)
def test_number_in_another_scripts_digits_is_refused_naming_the_cell(tmp_path, column, text):
    p = _one(_write(tmp_path, _csv(HEADER, _with(ROW_A, column, text))))
    assert (p.row, p.column, p.value) == (2, column, text)
    assert p.expected.endswith(", with ASCII digits 0-9")


def test_unit_in_another_scripts_digits_or_look_alike_letters_is_refused(tmp_path):
    for unit, culprit in (
        ("m^-２", "U+FF12 FULLWIDTH DIGIT TWO"),
        ("ТB/s", "U+0422 CYRILLIC CAPITAL LETTER TE"),
    ):
        header = [f"mem_bw[{unit}]" if h.startswith("mem_bw") else h for h in HEADER]
        problems = _problems(_write(tmp_path, _csv(header, ROW_A)))
        [p] = [p for p in problems if p.column == "mem_bw"]
        assert (p.row, p.value) == (1, unit)
        assert p.expected == f"a unit pint understands, such as B/s ({culprit} is not ASCII)"


def test_resolve_compares_names_as_the_loader_does(tmp_path):
    table = read_table(_write(tmp_path, _csv(HEADER, ROW_A, ROW_B)), HARDWARE)
    for typed in ("chip-a", "CHIP-A", "ｃｈｉｐ-ａ", "chip\u200b-a", "chip-\u00ada"):
        assert table.resolve(typed) == "chip-a"
    with pytest.raises(UnknownName) as info:
        table.resolve("chip-z\u200b")
    # the hidden character is shown escaped, and the close names are offered
    assert str(info.value).startswith(
        "unknown hardware entry 'chip-z\\u200b' (did you mean 'chip-b' or 'chip-a'?)"
    )
