"""What the test layers share: the repository's root, the packaged catalogs, and a runner of the
command line in a fresh process.

A test that starts a process is marked ``subprocess`` (``pytest -m "not subprocess"`` runs the
rest in about half the time); one that takes :func:`run_command` is marked here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a command may take in a fresh process (imports and catalogs included, on a loaded 2-core machine).
SUBPROCESS_TIMEOUT_S = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "run_command" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's root (the README, the examples, the packaged catalogs)."""
    return ROOT


@pytest.fixture(scope="session")
def catalogs():
    """The packaged catalogs, performance and economics, loaded once."""
    from perfmodel.catalog.economics_set import load_catalogs

    return load_catalogs()


@pytest.fixture(scope="session")
def run_command():
    """``run_command("tco", "rank", ...)``: ``python -m tco rank ...`` from the root in a fresh
    process; returns the :class:`subprocess.CompletedProcess` (text output)."""

    def run(package: str, *args: str, cwd: Path = ROOT, timeout: float = SUBPROCESS_TIMEOUT_S):
        return subprocess.run(
            [sys.executable, "-m", package, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
        )

    return run
