"""Issue 25: numbers at the edge of float64 and memory bounded from the arguments, from the
command line: each case refused before work starts with one line (exit status 2), or, when
memory runs out anyway, one line that says what to reduce (exit status 1)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from liminal_cli.arguments import OUT_OF_MEMORY, run
from liminal_cli.perfmodel_commands import main as perf_main
from liminal_cli.tco_commands import main as tco_main
from perfmodel.catalog.folder import load_catalogs

EXAMPLE_DEMAND = Path(__file__).resolve().parents[2] / "examples" / "demand.csv"


def _run(main, *argv: str, capsys) -> tuple[int, str, str]:
    try:
        code = run(main, list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(code: int, err: str, expected: int = 2) -> str:
    assert code == expected, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_subnormal_bandwidth_is_refused_before_anything_is_written(tmp_path, capsys):
    folder = tmp_path / "cats"
    argv = ["catalog", "new-chip", "--name", "sub", "--from", "h100-sxm", "--set", "mem_bw=1e-320TB/s"]
    code, _, err = _run(tco_main, *argv, "--catalogs", str(folder), capsys=capsys)
    assert code == 2 and "Traceback" not in err
    assert "hardware.csv" in err and "mem_bw" in err and "between 1e+04 and 5e+22 B/s" in err
    assert not (folder / "hardware.csv").exists()


def test_forecast_of_1e30_tokens_a_day_is_refused_with_its_row(tmp_path, capsys):
    text = EXAMPLE_DEMAND.read_text().replace(",4e+09,", ",1e30,", 1)
    assert ",1e30," in text
    demand = tmp_path / "demand.csv"
    demand.write_text(text)
    code, _, err = _run(tco_main, "plan", "--demand", str(demand), capsys=capsys)
    assert code == 2 and "Traceback" not in err
    assert "demand.csv:4:output_tokens_per_day: got '1e30'; expected at most 1e+18 token/day" in err


def test_sweep_over_the_memory_budget_is_refused_with_the_estimate(tmp_path, capsys):
    out = tmp_path / "sweep.csv"
    grid = "--tp 1 2 4 8 16 32 64 128 256 512 1024 --pp 1 2 4 8 16 32 64 --ep 1 2 4 8"
    grid += " --batch 1 2 4 8 16 32 64 128 max --context 1024 2048 4096 8192 16384 32768"
    line = _one_line(*_run(perf_main, "sweep", *grid.split(), "--out", str(out), capsys=capsys)[::2])
    catalogs = load_catalogs()
    n = len(catalogs["models"].names()) * len(catalogs["hardware"].names()) * 11 * 7 * 4 * 9 * 6
    gib = n * 23 * 8 * 4 / 2**30  # 23 columns of 8 bytes, the grid twice and its CSV text
    assert f"a grid of {n:,} configurations would take about {gib:.1f} GiB" in line
    assert "--tp" in line and f"LIMINAL_MEMORY_GIB={math.ceil(gib)}" in line
    assert not out.exists()


def test_sweep_budget_is_raised_by_the_environment(tmp_path, capsys, monkeypatch):
    out = tmp_path / "sweep.parquet"
    argv = ["sweep", "--model", "llama3-70b", "--hardware", "h100-sxm", "--tp", "1", "8", "--out", str(out)]
    monkeypatch.setenv("LIMINAL_MEMORY_GIB", "1e-9")
    line = _one_line(*_run(perf_main, *argv, capsys=capsys)[::2])
    assert "over the budget of 1e-09 GiB" in line
    monkeypatch.setenv("LIMINAL_MEMORY_GIB", "0")
    assert "LIMINAL_MEMORY_GIB must be a number of GiB > 0, got '0'" in _one_line(
        *_run(perf_main, *argv, capsys=capsys)[::2]
    )
    monkeypatch.setenv("LIMINAL_MEMORY_GIB", "1")
    code, _, _ = _run(perf_main, *argv, capsys=capsys)
    assert code == 0 and out.stat().st_size > 0


def test_monte_carlo_over_the_budget_is_refused_with_the_estimate(capsys, monkeypatch):
    monkeypatch.setenv("LIMINAL_MEMORY_GIB", "0.5")
    argv = ["rank", "--model", "llama3-70b", "--min-utps", "30", "--uncertainty", "1000000"]
    line = _one_line(*_run(tco_main, *argv, capsys=capsys)[::2])
    assert "the Monte Carlo of" in line and "x 1,000,000 draws would take about" in line
    assert "--uncertainty" in line and "LIMINAL_MEMORY_GIB=" in line


@pytest.mark.parametrize("error", [MemoryError(), OSError()], ids=["MemoryError", "bare OSError"])
def test_running_out_of_memory_says_what_to_reduce(capsys, error):
    def main(argv):
        raise error

    line = _one_line(*_run(main, capsys=capsys)[::2], expected=1)
    assert line == OUT_OF_MEMORY and "--uncertainty" in line and "--tp" in line
