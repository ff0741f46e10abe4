"""A small profile of ``benchmarks/fuzz_cli.py`` (the full one runs 20,000 cases): generated
command lines, catalog files and exports end in an answer or one line, never a traceback, a hang
or a non-finite figure; special files and inputs named as outputs are refused and left as they
were; look-alike names and another script's digits are refused; fits refuse hostile
measurements; hostile uploads leave the app's Catalogs page working."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

#: Cases per class in the test suite's profile: a few seconds each on two cores.
COUNTS = {"command": 150, "loader": 100, "export": 50, "special": 12, "names": 12, "fit": 6, "app": 3}
#: Seconds one case may take before it counts as a hang.
TIMEOUT_S = 60.0


def _fuzz_module():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_cli.py"
    spec = importlib.util.spec_from_file_location("fuzz_cli", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fuzz_cli():
    return _fuzz_module()


@pytest.mark.parametrize("cls", list(COUNTS))
def test_generated_inputs_break_nothing(fuzz_cli, cls):
    failures = fuzz_cli.fuzz(counts={cls: COUNTS[cls]}, seed_value=14, timeout=TIMEOUT_S)
    # A checkout that predates the refusal of look-alike names and another script's digits
    # (issue 25's names part) accepts them: known, not a new failure.
    known = cls in ("names", "fit") and all(f.startswith(f"[{cls}: accepted]") for f in failures)
    if failures and known and not fuzz_cli.digits_refused():
        pytest.xfail(f"{len(failures)} look-alike names or digits accepted: {failures[0][:300]}")
    # The Catalogs page before issue 25's app part (app_support.split_csv) reads the upload's body
    # with polars unguarded: a ' # note' line or a stray byte-order mark is an exception.
    page = all(f.startswith("[app: traceback]") and "app exception" in f for f in failures)
    unguarded = not hasattr(importlib.import_module("app_support"), "split_csv")
    if failures and cls == "app" and page and unguarded:
        pytest.xfail(f"the Catalogs page fails on an upload: {failures[0][:300]}")
    assert failures == [], "\n".join(failures[:5])
