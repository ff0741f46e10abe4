"""Issue 14: every case its "Why" lists, as a test. A command line that cannot be broken:
catalog writes that cannot lose data, exports and reports safe by construction, bounded inputs,
warnings where catalogs are loaded, one line for every mistake, and friendly names and help.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from liminal_cli.arguments import run
from liminal_cli.perfmodel_commands import main as perf_main
from liminal_cli.tco_commands import _parser
from liminal_cli.tco_commands import main as tco_main
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.catalog.journal import JOURNAL
from tco.questions.question import Question
from tco.reporting.document import report

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HARDWARE = set(load_catalogs()["hardware"].names())
#: A hostile input must be refused within this many seconds (it used to hang for minutes).
PROMPT_S = 20.0


def _run(main, *argv: str, capsys) -> tuple[int, str, str]:
    """Run a command in this process as its entry point does: (exit status, stdout, stderr)."""
    try:
        code = run(main, list(argv))
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str, expected_code: int = 2) -> str:
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _renamed(folder: Path, names: dict[str, str]) -> Path:
    """A copy of the default catalogs in ``folder`` with every cell named in ``names`` renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    for src in DEFAULT_DIR.glob("*.csv"):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for line in src.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                out.write(line + "\n")
                continue
            writer.writerow([names.get(cell, cell) for cell in next(csv.reader([line]))])
        (folder / src.name).write_text(out.getvalue(), encoding="utf-8")
    return folder


def _hardware_names(folder: Path) -> set[str]:
    return set(load_catalogs(folder)["hardware"].names())


# --- data loss: locked, all-or-nothing catalog writes ---------------------------------------------


@pytest.mark.subprocess
def test_two_concurrent_new_chip_runs_keep_both_chips(tmp_path):
    folder = tmp_path / "cats"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tco", "catalog", "new-chip", "--name", name, "--catalogs", str(folder)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("chip-one", "chip-two")
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.startswith("added ")
    assert _hardware_names(folder) == DEFAULT_HARDWARE | {"chip-one", "chip-two"}
    cats = load_catalogs(folder)
    assert {"chip-one", "chip-two"} <= set(cats["hardware_economics"].names())


#: Kills the process (SIGKILL, no clean-up) at the n-th call of ``os.fsync`` or ``os.replace``:
#: every step of a catalog write (staging each file, the journal, each rename).
_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    kind, n = sys.argv[1], int(sys.argv[2])
    real = getattr(os, kind)
    calls = [0]
    def deadly(*a, **k):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*a, **k)
    setattr(os, kind, deadly)
    from tco.designs.catalog_upkeep import add_chip
    add_chip(sys.argv[3], "chip-new")
    print("finished")
    """
)


@pytest.mark.subprocess
@pytest.mark.parametrize("kind,n", [("fsync", n) for n in (1, 2, 3, 4)] + [("replace", n) for n in (1, 2, 3)])
def test_a_kill_at_any_step_leaves_the_old_or_the_new_folder(tmp_path, kind, n):
    folder = tmp_path / "cats"
    assert run(tco_main, ["catalog", "new-chip", "--name", "chip-old", "--catalogs", str(folder)]) == 0
    before = _hardware_names(folder)
    p = subprocess.run(
        [sys.executable, "-c", _KILLER, kind, str(n), str(folder)], cwd=ROOT, capture_output=True, text=True
    )
    assert p.returncode in (-signal.SIGKILL, 0), p.stderr
    after = _hardware_names(folder)  # the folder loads: hardware and economics agree
    assert after in (before, before | {"chip-new"})
    # the next writer finishes or discards what the killed one left, and its own chip lands
    assert run(tco_main, ["catalog", "new-chip", "--name", "chip-next", "--catalogs", str(folder)]) == 0
    assert _hardware_names(folder) == after | {"chip-next"}
    leftovers = [f.name for f in folder.iterdir() if f.name.endswith((".new", ".tmp")) or f.name == JOURNAL]
    assert leftovers == []


def test_new_chip_keeps_file_permissions(tmp_path):
    folder = tmp_path / "cats"
    assert run(tco_main, ["catalog", "new-chip", "--name", "chip-a", "--catalogs", str(folder)]) == 0
    for f in ("hardware.csv", "hardware_economics.csv"):
        assert stat.S_IMODE((folder / f).stat().st_mode) & 0o044 == 0o044  # readable by others
        os.chmod(folder / f, 0o640)
    assert run(tco_main, ["catalog", "new-chip", "--name", "chip-b", "--catalogs", str(folder)]) == 0
    for f in ("hardware.csv", "hardware_economics.csv"):
        assert stat.S_IMODE((folder / f).stat().st_mode) == 0o640


# --- injection -------------------------------------------------------------------------------------

FORMULAS = ('=HYPERLINK("http://x","y")', "+SUM(A1)", "@cmd")


def test_sweep_csv_neutralises_formula_names(tmp_path, capsys):
    folder = _renamed(
        tmp_path / "cats", dict(zip(("h100-sxm", "h200-sxm", "b200-hgx"), FORMULAS, strict=True))
    )
    out = tmp_path / "s.csv"
    args = ["sweep", "--model", "llama3-8b", "--tp", "1", "--batch", "1", "--out", str(out), "--catalogs"]
    code, _, err = _run(perf_main, *args, str(folder), capsys=capsys)
    assert code == 0, err
    names = set(pl.read_csv(out)["hardware"].to_list())
    for formula in FORMULAS:
        assert "'" + formula in names
    assert not any(n.startswith(("=", "+", "@", "-")) for n in names)


HOSTILE_MODEL = '../somewhere/x" onmouseover="alert(1)<script>alert(2)</script>'


def test_report_escapes_names_and_keeps_files_inside_out(tmp_path):
    folder = _renamed(tmp_path / "cats", {"llama3-8b": HOSTILE_MODEL})
    out = tmp_path / "deep" / "out"
    asked = Question(catalogs=load_catalogs(folder), hardware=("h100-sxm", "xpu-hbm3"), min_utps=30)
    paths = report(asked.over([HOSTILE_MODEL]), out)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and folder not in p.parents]
    assert written and all(out in p.parents for p in written), written
    assert all(Path(p).resolve().parent == out.resolve() for p in paths.values())
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page
    assert not re.search(r"<[^>]*onmouseover=\"", page)  # never an attribute (as text it is harmless)
    assert "&lt;script&gt;" in page
    md = (out / "report.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md


# --- bounded inputs: refused at once ---------------------------------------------------------------


@pytest.mark.parametrize("unit", ["_", "__class__", "TB/_x", "10**10**10", "m^9", "TB/s*10**4**4", "1_000"])
def test_unit_text_outside_the_grammar_is_a_value_error(unit):
    # found by benchmarks/fuzz_cli.py: a header unit "_" raised AttributeError inside pint
    from perfmodel.units import parse_unit

    with pytest.raises(ValueError):
        parse_unit(unit)


@pytest.mark.subprocess
def test_exponent_tower_in_a_header_is_refused_at_once(run_command, tmp_path):
    folder = tmp_path / "cats"
    folder.mkdir()
    text = (DEFAULT_DIR / "hardware.csv").read_text().replace("mem_bw[TB/s]", "mem_bw[TB/s*10**10**10]")
    (folder / "hardware.csv").write_text(text)
    for args in (
        ["catalog", "check", str(folder)],
        ["rank", "--model", "llama3-8b", "--catalogs", str(folder)],
    ):
        start = time.perf_counter()
        p = run_command("tco", *args, timeout=PROMPT_S * 3)
        assert time.perf_counter() - start < PROMPT_S
        assert p.returncode in (1, 2) and "Traceback" not in p.stderr
        assert "mem_bw" in p.stdout + p.stderr


@pytest.mark.parametrize("command", ["catalog new-chip", "design new"])
def test_exponent_tower_in_set_is_refused_at_once(tmp_path, capsys, command):
    start = time.perf_counter()
    argv = [*command.split(), "--name", "x", "--set", "mem_bw=10**10**10 TB/s", "--catalogs", str(tmp_path)]
    code, _, err = _run(tco_main, *argv, capsys=capsys)
    assert time.perf_counter() - start < PROMPT_S
    assert "mem_bw" in _one_line_error(code, err)
    assert not (tmp_path / "hardware.csv").exists()


def test_huge_catalogs_are_refused(tmp_path, capsys):
    folder = tmp_path / "cats"
    folder.mkdir()
    text = (DEFAULT_DIR / "hardware.csv").read_text()
    header, row = [line for line in text.splitlines() if line and not line.startswith("#")][:2]
    name = row.split(",")[0]
    rows = [row.replace(name, f"chip-{i}", 1) for i in range(31000)]
    (folder / "hardware.csv").write_text("\n".join([header, *rows]) + "\n")  # about 2 MiB
    code, _, err = _run(tco_main, "rank", "--model", "llama3-8b", "--catalogs", str(folder), capsys=capsys)
    assert code == 2 and "at most 1,048,576 bytes" in err
    (folder / "hardware.csv").write_text("\n".join([header, *rows[:600]]) + "\n")
    code, _, err = _run(tco_main, "rank", "--model", "llama3-8b", "--catalogs", str(folder), capsys=capsys)
    assert code == 2 and "at most 500 data rows" in err


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["sweep", "--tp", "2147483648", "--out", "x.csv"], "--tp"),
        (["capacity", "--model", "llama3-8b", "--context", "4096", "--batch", "1e300"], "--batch"),
        (["capacity", "--model", "llama3-8b", "--context", "nan", "--batch", "1"], "--context"),
        (
            [
                "decode",
                "--model",
                "llama3-8b",
                "--hardware",
                "h100-sxm",
                "--tp",
                "1",
                "--batch",
                "1",
                "--context",
                "1_000",
            ],
            "--context",
        ),
    ],
)
def test_out_of_range_numbers_name_the_flag_and_the_range(argv, flag, tmp_path, capsys):
    code, _, err = _run(perf_main, *argv, capsys=capsys)
    line = _one_line_error(code, err)
    assert flag in line and "<=" in line


def test_tp_that_does_not_split_the_heads_is_said(capsys):
    argv = [
        "decode",
        "--model",
        "llama3-70b",
        "--hardware",
        "h100-sxm",
        "--tp",
        "3",
        "--batch",
        "1",
        "--context",
        "4096",
    ]
    code, _, err = _run(perf_main, *argv, capsys=capsys)
    assert "must divide the 64 attention heads of llama3-70b" in _one_line_error(code, err)


# --- warnings where catalogs are loaded; empty files; accepted flags act ---------------------------


def _implausible(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (DEFAULT_DIR / "hardware.csv").read_text().replace("mem_bw[TB/s]", "mem_bw[GB/s]")
    (folder / "hardware.csv").write_text(text)
    eco = (DEFAULT_DIR / "hardware_economics.csv").read_text().splitlines()
    head = next(i for i, line in enumerate(eco) if not line.startswith("#"))
    cols = next(csv.reader([eco[head]]))
    tdp = next(i for i, c in enumerate(cols) if c.startswith("tdp["))
    row = next(csv.reader([eco[head + 1]]))
    row[tdp] = "1e-300"  # the case: 1.6e303 tokens per joule, and no word about it
    row[next(i for i, c in enumerate(cols) if c.startswith("static_power["))] = "0"
    eco[head + 1] = _csv_row(row)
    (folder / "hardware_economics.csv").write_text("\n".join(eco) + "\n")
    return folder


def _csv_row(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()


def test_rank_prints_the_plausibility_warnings(tmp_path, capsys):
    folder = _implausible(tmp_path / "cats")
    warnings = load_catalogs(folder).warnings()  # the library function the app shows
    assert {w.column for w in warnings} >= {"mem_bw", "tdp"}
    argv = ["rank", "--model", "llama3-8b", "--hardware", "h100-sxm", "--catalogs", str(folder)]
    code, _, err = _run(tco_main, *argv, capsys=capsys)
    assert code == 0
    assert re.search(r"warning: hardware\.csv:\d+:mem_bw", err)
    assert re.search(r"warning: hardware_economics\.csv:\d+:tdp: got '1e-300'", err)


def test_packaged_catalogs_have_no_warnings():
    assert load_catalogs().warnings() == []


def test_header_only_hardware_is_an_error(tmp_path, capsys):
    folder = tmp_path / "cats"
    folder.mkdir()
    header = next(x for x in (DEFAULT_DIR / "hardware.csv").read_text().splitlines() if not x.startswith("#"))
    (folder / "hardware.csv").write_text(header + "\n")
    code, _, err = _run(tco_main, "rank", "--model", "llama3-8b", "--catalogs", str(folder), capsys=capsys)
    assert code == 2 and "hardware.csv: expected at least one data row" in err


def test_report_uses_hardware_and_power_model(tmp_path):
    def table_rows(out: Path) -> list[str]:
        return [x for x in (out / "report.md").read_text().splitlines() if re.match(r"^\| \d+ \|", x)]

    asked = Question("llama3-8b", hardware=("h100-sxm", "mi300x"))
    a = report([asked.but(power_model="activity")], tmp_path / "a")
    b = report([asked.but(power_model="tdp")], tmp_path / "b")
    rows_a, rows_b = table_rows(a["markdown"].parent), table_rows(b["markdown"].parent)
    assert len(rows_a) == len(rows_b) == 2
    assert {r.split(" | ")[1].rstrip(" \\*") for r in rows_a} == {"h100-sxm", "mi300x"}
    assert rows_a != rows_b  # tokens per joule and cost move with the power model
    assert "power model tdp" in (tmp_path / "b" / "report.md").read_text()


# --- one line for every mistake --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["rank", "--model", "llama3-8b", "--hardware", "h100-sxm", "h100-sxm"],
        ["rank", "--model", "llama3-8b", "--hardware", "h100-sxm", "H100-SXM"],
        ["explore", "bandwidth", "--batch", "0"],
        ["explore", "latency", "--target-utps", "0"],
        ["explore", "target", "--utps", "-1"],
        ["tradeoff", "--model", "llama3-8b", "--slowdown", "1"],
        # a flag a command would ignore is refused: a trade-off starts from the fastest point
        ["tradeoff", "--model", "llama3-8b", "--hardware", "h100-sxm", "--min-utps", "30"],
        ["rank", "--model", "llama3-8b", "--min-utps", "inf"],
    ],
)
def test_tco_mistakes_are_one_line(argv, capsys):
    code, _, err = _run(tco_main, *argv, capsys=capsys)
    _one_line_error(code, err)


def test_sweep_repeated_model_is_one_line(tmp_path, capsys):
    code, _, err = _run(
        perf_main, "sweep", "--model", "X", "X", "--out", str(tmp_path / "s.csv"), capsys=capsys
    )
    assert "'X' given twice" in _one_line_error(code, err)


def test_bad_out_paths_are_one_line(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    a_dir = tmp_path / "dir"
    a_dir.mkdir()
    cases = [
        (tco_main, ["report", "--model", "llama3-8b", "--out", str(a_file)]),
        (tco_main, ["explore", "memory-table", "--out", str(a_dir)]),
        (tco_main, ["explore", "memory-table", "--out", str(a_file / "x.csv")]),
        (tco_main, ["catalog", "new-chip", "--name", "c", "--catalogs", str(a_file)]),
        (tco_main, ["design", "new", "--name", "c", "--catalogs", str(a_file)]),
        (perf_main, ["sweep", "--model", "llama3-8b", "--out", str(a_dir)]),
        (perf_main, ["sweep", "--model", "llama3-8b", "--out", str(a_file / "s.csv")]),
        (perf_main, ["sweep", "--model", "llama3-8b", "--out", str(tmp_path / "s.txt")]),
    ]
    for main, argv in cases:
        code, _, err = _run(main, *argv, capsys=capsys)
        assert "--out" in _one_line_error(code, err) or "--catalogs" in err, (argv, err)


def test_unwritable_out_is_one_line(capsys):
    # /proc refuses new files even to root (file permissions would not stop a root test run)
    code, _, err = _run(perf_main, "sweep", "--model", "llama3-8b", "--out", "/proc/no/s.csv", capsys=capsys)
    assert code in (1, 2)
    _one_line_error(code, err, code)


def test_bad_new_chip_names_are_refused(tmp_path, capsys):
    for name in ("=cmd", "../x", "a b", ""):
        argv = ["catalog", "new-chip", "--name", name, "--catalogs", str(tmp_path)]
        code, _, err = _run(tco_main, *argv, capsys=capsys)
        assert "--name" in _one_line_error(code, err)


# --- fast start ------------------------------------------------------------------------------------


@pytest.mark.subprocess
def test_help_imports_nothing_heavy():
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tco", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 0 and "UTPS" in p.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in p.stderr.splitlines() if "|" in line}
    assert not imported & {"polars", "pint", "numpy", "altair", "streamlit", "vl_convert"}


# --- friendly --------------------------------------------------------------------------------------


def test_names_ignore_case_and_near_misses_get_a_suggestion(capsys):
    code, out, err = _run(
        tco_main, "rank", "--model", "LLAMA3-8B", "--hardware", "H100-SXM", "--json", capsys=capsys
    )
    assert code == 0, err
    assert [r["hardware"] for r in json.loads(out)] == ["h100-sxm"]
    code, _, err = _run(tco_main, "rank", "--model", "llama3-8b", "--hardware", "h100", capsys=capsys)
    assert "did you mean 'h100-sxm'" in _one_line_error(code, err)


@pytest.mark.parametrize(
    "what,table,column",
    [
        ("models", "models", "name"),
        ("hardware", "hardware", "name"),
        ("sites", "datacenter", "name"),
        ("scenarios", "scenarios", "name"),
    ],
)
def test_list_names_every_row(what, table, column, capsys):
    code, out, _ = _run(tco_main, "list", what, "--json", capsys=capsys)
    assert code == 0
    assert [r[column] for r in json.loads(out)] == load_catalogs()[table].names()
    code, out, _ = _run(tco_main, "list", what, capsys=capsys)
    assert all(n in out for n in load_catalogs()[table].names())


def _all_parsers(p):
    yield p
    for action in p._actions:
        for sub in (
            (getattr(action, "choices", None) or {}).values() if hasattr(action, "_name_parser_map") else []
        ):
            yield from _all_parsers(sub)


def test_help_defines_utps_and_stps_describes_every_flag_and_gives_an_example():
    for parser in _all_parsers(_parser()):
        text = parser.format_help()
        assert "UTPS: tokens per second each user sees" in text and "STPS" in text, parser.prog
        assert "example" in text, parser.prog
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, (parser.prog, action.option_strings)
                if action.default not in (None, False, []):
                    assert "default" in (action.help + text), (parser.prog, action.option_strings)
                if getattr(action.type, "range_text", None):
                    assert action.type.range_text.split(" and ")[0] in " ".join(text.split()), action.dest


def test_explore_prints_a_human_table(capsys):
    code, out, _ = _run(
        tco_main, "explore", "memory-table", "--hardware", "xpu-hbm3", "xpu-sram", capsys=capsys
    )
    assert code == 0
    assert "shape:" not in out and "┌" not in out and "…" not in out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["hardware", "memory_technology", "chips"]
    assert lines[1].startswith("xpu-hbm3") and lines[2].startswith("xpu-sram")


@pytest.mark.subprocess
def test_readme_tour_runs_in_order_in_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    subprocess.run(["git", "init", "-q"], cwd=clone, check=True)
    subprocess.run(["git", "add", "-A"], cwd=clone, check=True)
    ident = ["-c", "user.name=tour", "-c", "user.email=tour@example.invalid"]
    subprocess.run(["git", *ident, "commit", "-qm", "clone"], cwd=clone, check=True)
    readme = (clone / "README.md").read_text()
    tour = readme[readme.index("## A short tour of the command line") :]  # the tour and the what-ifs
    blocks = re.findall(r"```bash\n(.*?)```", tour, flags=re.S)
    commands = [
        c
        for block in blocks
        for c in re.sub(r"\\\n\s*", "", block).splitlines()
        if c.startswith("python -m ")
    ]
    assert len(commands) >= 15
    env = dict(os.environ, PYTHONPATH=str(clone))
    for command in commands:
        p = subprocess.run(
            command, shell=True, cwd=clone, capture_output=True, text=True, env=env, timeout=300
        )
        assert p.returncode == 0, (command, p.stderr[-2000:])
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True
    ).stdout
    assert status == "", status  # everything the tour writes is git-ignored
