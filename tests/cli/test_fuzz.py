"""A small profile of ``benchmarks/fuzz_cli.py`` (the full one runs 10,000 cases): generated
command lines, catalog files and exports end in an answer or one line, never a traceback, a hang
or a non-finite figure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: Cases in the test suite's profile: about 20 s on two cores.
CASES = 300
#: Seconds one case may take before it counts as a hang.
TIMEOUT_S = 60.0


def _fuzz_module():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_cli.py"
    spec = importlib.util.spec_from_file_location("fuzz_cli", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_inputs_break_nothing():
    failures = _fuzz_module().fuzz(CASES, seed_value=14, timeout=TIMEOUT_S)
    assert failures == [], "\n".join(failures[:5])
