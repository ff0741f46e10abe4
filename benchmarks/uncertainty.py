"""Benchmark: the Monte Carlo of ``tco rank --uncertainty N`` over every catalog design for one
model (the performance search excluded: it runs once). Prints draws per second and the seconds
for N draws. Target (issue 12): 10,000 draws in under 5 s.

    python benchmarks/uncertainty.py [--model llama3-70b] [--context 4096] [--draws 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from tco.questions.monte_carlo import uncertainty
from tco.questions.question import Question
from tco.questions.ranking import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llama3-70b")
    parser.add_argument("--context", type=int, help="limit mode at this context (default: calibrated mode)")
    parser.add_argument("--min-utps", type=float, default=20.0)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ev = evaluate(Question(args.model, args.context))
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        table = uncertainty(ev, args.draws, args.min_utps)
        times.append(time.perf_counter() - start)
    best = min(times)
    print(
        f"{args.model}, {ev.workload}, floor {args.min_utps:g} tok/s: {table.height} designs, "
        f"{args.draws:,} draws in {best:.3f} s (best of {args.repeat}) = {args.draws / best:,.0f} draws/s"
    )


if __name__ == "__main__":
    main()
