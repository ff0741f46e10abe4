"""``python -m tco``: the JSON contract, the text table, and a user's mistakes (exit 2, one line on
stderr, no traceback). The whole catalog is ranked through the library (fast), not subprocesses.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from contracts import RANK_KEYS

from liminal_cli.tco_commands import main
from perfmodel.catalog.economics_set import load_catalogs
from tco.questions.question import Question
from tco.questions.ranking import RANK_COLUMNS, evaluate, select

ROOT = Path(__file__).resolve().parents[2]
CATS = load_catalogs()
HARDWARE = sorted(CATS["hardware"].names())
#: JSON floats are printed with repr: they parse back to the very same value.
EXACT = 1e-12


@pytest.fixture(scope="module")
def rank_json(run_command):
    p = run_command("tco", "rank", "--model", "llama3-70b", "--context", "4096", "--min-utps", "30", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.subprocess
def test_rank_json_is_a_list_of_rows_with_the_contract(rank_json):
    assert isinstance(rank_json, list)
    assert all(isinstance(r, dict) for r in rank_json)
    assert sorted(r["hardware"] for r in rank_json) == HARDWARE
    for r in rank_json:
        assert set(RANK_KEYS) <= set(r), set(RANK_KEYS) - set(r)
        assert list(r) == list(RANK_COLUMNS)
        assert isinstance(r["meets_floor"], bool) and isinstance(r["price_is_estimate"], bool)
        assert isinstance(r["chips"], int) and r["chips"] == r["tp"] * r["pp"]


@pytest.mark.subprocess
def test_rank_json_equals_the_library(rank_json):
    lib = select(evaluate(Question("llama3-70b", 4096, catalogs=CATS)), 30)
    assert [r["hardware"] for r in rank_json] == lib["hardware"].to_list()
    for r, expected in zip(rank_json, lib.iter_rows(named=True), strict=True):
        for key in ("utps", "stps", "tokens_per_usd", "usd_per_mtok", "gco2e_per_mtok"):
            if math.isnan(expected[key]):  # a design without a price: NaN is null in JSON
                assert r[key] is None and r["reason"].startswith("no price"), (r["hardware"], key)
                continue
            assert r[key] == pytest.approx(expected[key], rel=EXACT), (r["hardware"], key)
        assert r["meets_floor"] == expected["meets_floor"]
        assert r["utps"] >= 30


@pytest.mark.subprocess
def test_rank_json_is_strict_for_a_design_that_does_not_fit(run_command):
    """NaN is not JSON: a design without throughput reports null."""
    p = run_command("tco", "rank", "--model", "kimi-k2", "--hardware", "groq-lpu", "--json")
    assert p.returncode == 0, p.stderr
    assert "NaN" not in p.stdout
    (row,) = json.loads(p.stdout)
    assert row["reason"].startswith("does not fit")
    assert row["utps"] is None and row["tokens_per_usd"] is None and row["usd_per_mtok"] is None
    assert row["meets_floor"] is False


@pytest.mark.subprocess
def test_rank_text_names_every_design(run_command):
    p = run_command("tco", "rank", "--model", "llama3-70b", "--context", "4096", "--min-utps", "30")
    assert p.returncode == 0, p.stderr
    for hw in HARDWARE:
        assert hw in p.stdout, hw
    assert "llama3-70b" in p.stdout and "us-average" in p.stdout
    assert "ranked by tokens_per_usd" in p.stdout
    # one line per design in the table, plus header line, column header and footer
    assert len(p.stdout.strip().splitlines()) == len(HARDWARE) + 3


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "args, needle",
    [
        (("rank", "--model", "llama-9000b"), "llama-9000b"),
        (("rank", "--model", "llama3-70b", "--region", "mars"), "mars"),
        (("rank", "--model", "llama3-70b", "--objective", "vibes"), "--objective"),
        (("rank", "--model", "llama3-70b", "--min-utps", "-5"), "--min-utps"),
        (("rank", "--model", "llama3-70b", "--min-utps", "nan"), "--min-utps"),
        (("rank", "--model", "llama3-70b", "--hardware", "abacus"), "abacus"),
        (("sensitivity", "--model", "llama3-70b", "--region", "atlantis"), "atlantis"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(run_command, args, needle):
    p = run_command("tco", *args)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert needle in lines[0]
    assert p.stdout == ""


@pytest.mark.subprocess
def test_unknown_names_list_the_valid_ones(run_command):
    p = run_command("tco", "rank", "--model", "llama-9000b")
    assert "llama3-70b" in p.stderr
    p = run_command("tco", "rank", "--model", "llama3-70b", "--region", "mars")
    assert "us-average" in p.stderr


@pytest.mark.subprocess
def test_sensitivity_json_parses(run_command):
    p = run_command("tco", "sensitivity", "--model", "llama3-70b", "--min-utps", "30", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert isinstance(rows, list) and len(rows) == 14  # 7 factors x low, high
    for r in rows:
        assert {"factor", "bound", "value", "top_design", "baseline_top", "change_pct"} <= set(r)
        assert isinstance(r["change_pct"], float)
    util_high = next(r for r in rows if r["factor"] == "utilization" and r["bound"] == "high")
    assert util_high["change_pct"] > 0


@pytest.mark.subprocess
def test_main_in_process_prints_the_same_json(capsys, rank_json):
    """main() is what ``python -m tco`` runs: same rows in process."""
    assert main(["rank", "--model", "llama3-70b", "--context", "4096", "--min-utps", "30", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["hardware"] for r in rows] == [r["hardware"] for r in rank_json]


@pytest.mark.parametrize("context", [4096, 131072])
def test_every_catalog_model_ranks(context):
    for model in CATS["models"].names():
        r = select(evaluate(Question(model, context, catalogs=CATS)), 30.0)
        assert sorted(r["hardware"].to_list()) == HARDWARE, model
        assert r["meets_floor"].any(), model
        ok = r.filter("meets_floor")
        assert (ok["utps"] >= 30).all(), model
        assert (ok["tokens_per_usd"] > 0).all() and ok["tokens_per_usd"].is_finite().all(), model
        assert (ok["usd_per_mtok"] > 0).all() and ok["gco2e_per_mtok"].is_finite().all(), model
        failing = r.filter(~pl.col("meets_floor"))
        for reason in failing["reason"]:
            assert reason.startswith(("best UTPS", "does not fit", "no price")), (model, reason)
        # every number a meeting row shows is finite (JSON gets no null where a value exists)
        for row in ok.iter_rows(named=True):
            for key in ("utps", "stps", "tokens_per_joule", "usd_per_hour", "wall_power_w"):
                assert math.isfinite(row[key]), (model, row["hardware"], key)
