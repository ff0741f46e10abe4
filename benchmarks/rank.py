"""Benchmark: one full ranking (every catalog design, its whole parallelism and batch search,
priced) per model, as the CLI and the app run it. Prints seconds per ranking and configurations.
``--plan-search``: the calibrated ranking at ``--isl``/``--osl`` with every serving plan searched
(aggregated and disaggregated, with and without MTP: ``tco rank --plans all --mtp both``).

    python benchmarks/rank.py [--model llama3-70b deepseek-v3] [--repeat 3]
    python benchmarks/rank.py --model deepseek-v3 --plan-search --isl 2000 --osl 1000
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
    parser.add_argument("--plan-search", action="store_true", help="calibrated, every serving plan searched")
    parser.add_argument("--isl", type=int, default=2000)
    parser.add_argument("--osl", type=int, default=1000)
    args = parser.parse_args()
    catalogs = load_catalogs()
    for model in args.model:
        times = []
        if args.plan_search:
            q = Question(
                model,
                isl=args.isl,
                osl=args.osl,
                plans=("aggregated", "disaggregated"),
                mtp=(False, True),
                catalogs=catalogs,
            )
        else:
            q = Question(model, args.context, catalogs=catalogs)
        for _ in range(args.repeat):
            start = time.perf_counter()
            ev = evaluate(q)
            ranked = select(ev, 30.0)
            times.append(time.perf_counter() - start)
        print(
            f"{model} at {'plans searched, ' if args.plan_search else ''}{ev.workload}: best of {args.repeat} = {min(times):.3f} s per ranking "
            f"({ev.frame.height:,} configurations priced, {ranked.height} designs)"
        )


if __name__ == "__main__":
    main()
