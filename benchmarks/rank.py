"""Benchmark: one full ranking (every catalog design, its whole parallelism and batch search,
priced) per model, as the CLI and the app run it. Prints seconds per ranking and configurations.

    python benchmarks/rank.py [--model llama3-70b deepseek-v3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from perfmodel.catalog.economics_set import load_catalogs
from tco.questions.question import Question
from tco.questions.ranking import evaluate, select


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["llama3-70b", "deepseek-v3", "kimi-k2"])
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    catalogs = load_catalogs()
    for model in args.model:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            ev = evaluate(Question(model, args.context, catalogs=catalogs))
            ranked = select(ev, 30.0)
            times.append(time.perf_counter() - start)
        print(
            f"{model} at {args.context:,} tokens: best of {args.repeat} = {min(times):.3f} s per ranking "
            f"({ev.frame.height:,} configurations priced, {ranked.height} designs)"
        )


if __name__ == "__main__":
    main()
