"""Issue 25: names that cannot collide and digits that are digits, on the command line.

Names that look alike (``H100-SXM`` beside ``h100-sxm``, ``h100\\u200b-sxm``) were two designs,
both passing ``catalog check`` and both ranked; numbers in another script's digits (``３５０``,
``٣.٣٥``, ``८०``, ``--tp ８``) were read as ASCII digits. Each now ends in one line naming the
cell or the flag and the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from liminal_cli.arguments import run
from liminal_cli.perfmodel_commands import main as perf_main
from liminal_cli.tco_commands import main as tco_main
from perfmodel.catalog.folder import DEFAULT_DIR

ROOT = Path(__file__).resolve().parents[2]
DECODE = ["decode", "--model", "llama3-70b", "--hardware", "h100-sxm", "--tp", "8", "--batch", "1"]


def _run(main, argv: list[str], capsys) -> tuple[int, str, str]:
    """Run a command in this process as its entry point does: (exit status, stdout, stderr)."""
    try:
        code = run(main, argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _folder_with_row(tmp_path: Path, edit) -> tuple[Path, int]:
    """The packaged hardware.csv in a folder with ``edit(h100 row) -> new row`` appended (None:
    the h100-sxm row replaced in place); returns the folder and the line number of the edit."""
    lines = (DEFAULT_DIR / "hardware.csv").read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("h100-sxm,"))
    new, replace = edit(lines[i])
    if replace:
        lines[i] = new
        line = i + 1
    else:
        lines.append(new)
        line = len(lines)
    folder = tmp_path / "cats"
    folder.mkdir()
    (folder / "hardware.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, line


def _with_mem_bw(row: str, value: str) -> str:
    header = (DEFAULT_DIR / "hardware.csv").read_text(encoding="utf-8").splitlines()
    names = next(h for h in header if h.startswith("name,")).split(",")
    cells = row.split(",")
    cells[next(k for k, h in enumerate(names) if h.startswith("mem_bw["))] = value
    return ",".join(cells)


@pytest.mark.parametrize(
    ("flag", "text"),
    [("--tp", "８"), ("--tp", "८"), ("--batch", "٣"), ("--context", "４０９６"), ("--context", "4０96")],
)
def test_a_flag_in_another_scripts_digits_is_refused_naming_flag_and_value(capsys, flag, text):
    argv = [*DECODE, "--context", "4096"]
    argv[argv.index(flag) + 1] = text
    code, out, err = _run(perf_main, argv, capsys)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert f"argument {flag}: expected a whole number" in line
    assert f"with ASCII digits 0-9, got {text!r}" in line


def test_a_tco_number_flag_in_fullwidth_digits_is_refused(capsys):
    code, out, err = _run(tco_main, ["rank", "--model", "llama3-70b", "--min-utps", "３０"], capsys)
    assert code == 2 and out == ""
    assert "argument --min-utps: expected a number >= 0" in err
    assert "with ASCII digits 0-9, got '３０'" in err


def test_headroom_in_fullwidth_digits_is_refused(capsys):
    argv = ["plan", "--demand", str(ROOT / "examples" / "demand.csv"), "--headroom", "０.１"]
    code, out, err = _run(tco_main, argv, capsys)
    assert code == 2 and out == ""
    assert (
        err.strip() == "error: headroom must be 'n+1' or a fraction >= 0, with ASCII digits 0-9, got '０.１'"
    )


def test_a_forecast_month_in_fullwidth_digits_names_the_cell(tmp_path, capsys):
    text = (ROOT / "examples" / "demand.csv").read_text(encoding="utf-8")
    demand = tmp_path / "demand.csv"
    first = next(line for line in text.splitlines() if line[:1].isdigit())
    demand.write_text(text.replace(first, "２" + first[1:], 1), encoding="utf-8")
    code, out, err = _run(tco_main, ["plan", "--demand", str(demand)], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "demand.csv:4:month: got '２027-01'; expected a month written YYYY-MM" in err


@pytest.mark.parametrize("twin", ["H100-SXM", "Ｈ100-sxm"])
def test_a_name_equal_but_for_case_or_width_is_refused_by_check_and_rank(tmp_path, capsys, twin):
    folder, line = _folder_with_row(tmp_path, lambda row: (row.replace("h100-sxm", twin, 1), False))
    expected = (
        f"hardware.csv:{line}:name: got {twin!r}; expected a unique value (already used on row 15 as "
        "'h100-sxm'; names are compared ignoring case and width)"
    )
    code, out, err = _run(tco_main, ["catalog", "check", str(folder)], capsys)
    assert code != 0 and expected in out + err
    code, out, err = _run(tco_main, ["rank", "--catalogs", str(folder), "--model", "llama3-70b"], capsys)
    assert code == 2 and out == ""  # nothing ranked
    assert expected in err


def test_a_name_with_a_zero_width_space_is_refused_by_check_and_rank(tmp_path, capsys):
    folder, line = _folder_with_row(
        tmp_path, lambda row: (row.replace("h100-sxm", "h100\u200b-sxm", 1), False)
    )
    expected = (
        f"hardware.csv:{line}:name: got 'h100\\u200b-sxm'; expected text without invisible or control "
        "characters (found U+200B ZERO WIDTH SPACE at character 5)"
    )
    code, out, err = _run(tco_main, ["catalog", "check", str(folder)], capsys)
    assert code != 0 and expected in out + err
    code, out, err = _run(tco_main, ["rank", "--catalogs", str(folder), "--model", "llama3-70b"], capsys)
    assert code == 2 and out == "" and expected in err


@pytest.mark.parametrize("value", ["٣.٣٥", "３.３５", "३.३५"])
def test_a_catalog_number_in_another_scripts_digits_names_the_cell(tmp_path, capsys, value):
    folder, line = _folder_with_row(tmp_path, lambda row: (_with_mem_bw(row, value), True))
    code, out, err = _run(tco_main, ["rank", "--catalogs", str(folder), "--model", "llama3-70b"], capsys)
    assert code == 2 and out == ""
    assert (
        f"hardware.csv:{line}:mem_bw: got {value!r}; expected a number > 0 (in TB/s, as the header says), "
        "with ASCII digits 0-9" in err
    )


def test_a_look_alike_name_on_the_command_line_finds_the_one_design(capsys):
    code, out, err = _run(
        tco_main, ["rank", "--model", "llama3-70b", "--hardware", "Ｈ100\u200b-SXM", "--json"], capsys
    )
    assert code == 0, err
    assert '"hardware": "h100-sxm"' in out


def test_a_look_alike_pair_on_the_command_line_is_one_name_given_twice(capsys):
    argv = ["rank", "--model", "llama3-70b", "--hardware", "h100-sxm", "ｈ100-sxm"]
    code, out, err = _run(tco_main, argv, capsys)
    assert code == 2 and out == ""
    assert err.strip() == "error: h100-sxm named twice; name each design or model once"


@pytest.mark.subprocess
def test_a_process_given_non_ascii_digits_exits_2_with_one_line(run_command):
    proc = run_command("perfmodel", *DECODE[:-1], "８")
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert "argument --batch:" in line and "with ASCII digits 0-9, got '８'" in line
