"""``python -m tco plan``: the JSON contract, the CSV, and a user's mistakes (exit 2, one message)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from contracts import PLAN_KEYS, PLAN_MONTHLY_KEYS

from liminal_cli.arguments import run
from liminal_cli.tco_commands import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "demand.csv"
HEADER = "month,model,output_tokens_per_day[token/day],isl[token],osl[token],min_utps[token/s],peak_to_mean\n"


@pytest.fixture(scope="module")
def plan_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "plan.csv"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "tco",
            "plan",
            "--demand",
            str(EXAMPLE),
            "--max-mw",
            "10",
            "--json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), out


@pytest.mark.subprocess
def test_json_contract(plan_json):
    doc, _ = plan_json
    assert doc["plans"] and doc["monthly"]
    for entry in doc["plans"]:
        assert set(PLAN_KEYS) <= set(entry)
        assert isinstance(entry["hardware"], str) or len(entry["hardware"]) == 2
    for row in doc["monthly"]:
        assert set(PLAN_MONTHLY_KEYS) <= set(row)
    meeting = [e for e in doc["plans"] if e["meets_demand"]]
    assert meeting == doc["plans"][: len(meeting)]  # fleets that meet the demand come first, by TCO
    assert [e["tco_usd"] for e in meeting] == sorted(e["tco_usd"] for e in meeting)
    assert all(e["peak_mw"] <= 10 for e in meeting)
    assert all(e["peak_mw"] > 10 for e in doc["plans"][len(meeting) :])


@pytest.mark.subprocess
def test_the_csv_holds_the_json_monthly_rows(plan_json):
    doc, out = plan_json
    csv = pl.read_csv(out)
    assert csv.height == len(doc["monthly"])
    assert csv["capex_usd"].sum() == pytest.approx(sum(r["capex_usd"] for r in doc["monthly"]), rel=1e-9)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--headroom", "lots"], "headroom must be 'n+1' or a fraction"),
        (["--site", "atlantis"], "unknown datacenter entry 'atlantis'"),
    ],
)
def test_mistakes_end_in_one_message(capsys, argv, message):
    assert run(main, ["plan", "--demand", str(EXAMPLE), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_forecast_without_tokens_is_refused(tmp_path, capsys):
    zero = tmp_path / "demand.csv"
    zero.write_text(HEADER + "2027-01,llama3-8b,0,1024,256,30,2\n")
    assert run(main, ["plan", "--demand", str(zero)]) == 2
    assert "no output tokens in the horizon" in capsys.readouterr().err


def test_a_forecast_no_chip_serves_says_so(tmp_path, capsys):
    hard = tmp_path / "demand.csv"
    hard.write_text(HEADER + "2027-01,llama3-8b,1e9,1024,256,1e9,2\n")
    assert run(main, ["plan", "--demand", str(hard), "--hardware", "h100-sxm", "mi300x"]) == 0
    out = capsys.readouterr().out
    assert "No fleet of one or two chips serves the forecast" in out
    assert "h100-sxm: llama3-8b (1024+256 tokens, 1e+09 tokens/s): best UTPS" in out


def test_a_bad_flag_value_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["plan", "--demand", str(EXAMPLE), "--max-mw", "-1"])
    assert e.value.code == 2
    assert "--max-mw: expected a number > 0" in capsys.readouterr().err


def test_a_broken_forecast_names_file_row_and_column(tmp_path, capsys):
    bad = tmp_path / "demand.csv"
    bad.write_text(EXAMPLE.read_text().replace("2027-03,llama3-70b", "2027-3,llama3-70b", 1))
    assert run(main, ["plan", "--demand", str(bad)]) == 2
    assert "demand.csv:8:month: got '2027-3'; expected a month written YYYY-MM" in capsys.readouterr().err
