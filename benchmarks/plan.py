"""Benchmark: plan a forecast of 36 months x 5 models over every catalog chip, as ``tco plan`` does.

Prints the seconds to evaluate the five workloads (the ranking's search, once per workload) and to
plan (sizing, buying, costs of every single-chip fleet, and the two-chip integer program).

    python benchmarks/plan.py [--months 36] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from perfmodel.catalog.economics_set import load_catalogs
from tco.planning.demand import demand_arrays
from tco.planning.fleet import evaluate_streams, plan
from tco.questions.question import Question

#: (model, isl, osl, min_utps, output tokens per day in month 1, monthly growth, peak/mean)
WORKLOADS = (
    ("llama3-8b", 1024, 256, 50.0, 5e10, 0.03, 2.0),
    ("llama3-70b", 2048, 512, 30.0, 4e10, 0.06, 2.0),
    ("deepseek-v3", 4096, 1024, 50.0, 2e10, 0.10, 2.2),
    ("qwen3-235b-a22b", 2048, 1024, 40.0, 1e10, 0.08, 1.8),
    ("gpt-oss-120b", 1024, 1024, 100.0, 1e10, 0.08, 1.8),
)


def forecast(months: int) -> pl.DataFrame:
    """Every workload in every month, growing geometrically."""
    t = np.arange(months)
    calendar = (np.datetime64("2027-01") + t).astype(str)
    return pl.concat(
        pl.DataFrame(
            {
                "month": calendar,
                "model": model,
                "output_tokens_per_day": day * (1 + growth) ** t,
                "isl": isl,
                "osl": osl,
                "min_utps": floor,
                "peak_to_mean": peak,
            }
        )
        for model, isl, osl, floor, day, growth, peak in WORKLOADS
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    catalogs = load_catalogs()
    demand = demand_arrays(forecast(args.months))
    evaluate_s, plan_s = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        evaluations = evaluate_streams(demand.streams, Question(catalogs=catalogs))
        middle = time.perf_counter()
        result = plan(demand, evaluations)
        evaluate_s.append(middle - start)
        plan_s.append(time.perf_counter() - middle)
    chips = catalogs["hardware"].df.height
    total = min(e + p for e, p in zip(evaluate_s, plan_s, strict=True))
    print(
        f"{args.months} months x {len(WORKLOADS)} models x {chips} chips: best of {args.repeat} = "
        f"{total:.3f} s ({min(evaluate_s):.3f} s evaluating the workloads, {min(plan_s):.3f} s planning); "
        f"{result.plans.height} fleets, best {result.plans['fleet'][0]}"
    )


if __name__ == "__main__":
    main()
