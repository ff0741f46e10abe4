"""Wall times of the commands people wait on, each run as a fresh process (what a user sees).

    python benchmarks/cli_times.py [--repeat 3]

Prints each command's best and median wall time over ``--repeat`` runs and the target issue 14
set for it on a 2-core machine: ``--help`` under 0.3 s, ``rank`` under 1 s, a one-model
``report`` under 10 s, ``explore against-dram`` under 3 s. The unit registry's cache is warmed
by a first run that is not counted (a user's first command builds it once).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(tempfile.mkdtemp(prefix="cli-times-"))
CASES = (
    ("python -m tco --help", ["-m", "tco", "--help"], 0.3),
    ("python -m tco rank --model llama3-70b", ["-m", "tco", "rank", "--model", "llama3-70b"], 1.0),
    (
        "python -m tco report --model llama3-70b",
        ["-m", "tco", "report", "--model", "llama3-70b", "--out", str(OUT / "report")],
        10.0,
    ),
    ("python -m tco explore against-dram", ["-m", "tco", "explore", "against-dram"], 3.0),
)


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    p = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{p.stderr}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    repeat = ap.parse_args().repeat
    wall(["-m", "tco", "list", "models"])  # warm the unit registry's cache
    print(f"{'command':<42} {'best [s]':>9} {'median [s]':>11} {'target [s]':>11}")
    for label, argv, target in CASES:
        times = [wall(argv) for _ in range(repeat)]
        best, median = min(times), statistics.median(times)
        mark = "ok" if best <= target else "SLOW"
        print(f"{label:<42} {best:>9.2f} {median:>11.2f} {target:>11.1f}  {mark}")


if __name__ == "__main__":
    main()
