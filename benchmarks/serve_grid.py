"""Benchmark: configurations per second of the vectorized serving grid, and peak memory.

Evaluates models x hardware x tp x pp x ep x concurrency at nine workloads (ISL, OSL in
{1k, 8k, 32k} x {128, 1k, 8k}) in calibrated mode through ``perfmodel.api.serving.iter_serve_grid``
(deployable layouts only), keeping per model, chip and workload the best output tokens/s that
fits. Layouts that cannot be deployed (TP beyond the scale-up domain or not splitting the
heads, attention data-parallel on a dense model, ...) are dropped before evaluation; the
figure printed is deployable configurations evaluated per second, beside the grid's size, and
the process's peak resident memory. ``--plans`` times the plan search instead
(``perfmodel.api.plan_search.plan_frame``: aggregated and disaggregated plans, with and without
MTP, on every chip) and prints plans per second: candidate plans (a decode point paired with every
prefill layout, pool counts searched) and the plan points kept.

    python benchmarks/serve_grid.py [--repeat 3] [--mode calibrated|limit] [--plans]
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time

import numpy as np
import polars as pl

from perfmodel import Q_, load_catalogs, prepare
from perfmodel.api.plan_search import layouts, plan_frame
from perfmodel.api.serving import iter_serve_grid, profile_for

AXES = {
    "tp": [1, 2, 4, 8, 16, 32, 64],
    "pp": [1, 2, 4, 8],
    "ep": [1, 2, 4, 8],
    "batch": list(range(1, 1025, 8)),
}
WORKLOADS = list(itertools.product([1024, 8192, 32768], [128, 1024, 8192]))


def run_once(setup, mode: str, profile) -> tuple[int, int, float]:
    start = time.perf_counter()
    kept, best = 0, []
    for isl, osl in WORKLOADS:
        for frame in iter_serve_grid(setup, mode, isl=isl, osl=osl, profile=profile, **AXES):
            kept += frame.height
            best.append(frame.filter("fits").group_by("model", "hardware").agg(pl.col("stps").max()))
    elapsed = time.perf_counter() - start
    grid = 2 * len(WORKLOADS) * len(setup.models.names) * len(setup.hardware.names)  # 2: attention layouts
    grid *= int(np.prod([len(v) for v in AXES.values()]))
    return grid, kept, elapsed


#: Models and workloads of the plan search benchmark (a dense and two MoE models).
PLAN_MODELS = ("llama3-70b", "deepseek-v3", "qwen3-235b-a22b")
PLAN_WORKLOADS = ((2000, 1000), (8192, 1024))


def run_plans(setup, profile) -> tuple[int, int, float]:
    """Plan points kept and candidate plans evaluated by the plan search, and its seconds."""
    start = time.perf_counter()
    kept = candidates = 0
    for model in PLAN_MODELS:
        mi = setup.models.index(model)
        pairs = [len(layouts(setup, mi, hi)) for hi in range(len(setup.hardware.names))]
        for isl, osl in PLAN_WORKLOADS:
            frame = plan_frame(setup, model, isl, osl, profile=profile)
            kept += frame.height
            disaggregated = frame.filter(pl.col("plan") == "disaggregated").group_by("hardware").len()
            for hw, n in disaggregated.iter_rows():
                candidates += n * pairs[setup.hardware.index(hw)]
            candidates += frame.filter(pl.col("plan") == "aggregated").height
    return kept, candidates, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mode", choices=("calibrated", "limit"), default="calibrated")
    parser.add_argument("--plans", action="store_true", help="time the serving-plan search instead")
    args = parser.parse_args()
    setup = prepare(load_catalogs())
    profile = profile_for(setup, args.mode)
    if args.plans:
        for i in range(args.repeat):
            kept, candidates, elapsed = run_plans(setup, profile)
            print(
                f"run {i + 1}: {candidates:,} candidate plans ({kept:,} plan points kept) in {elapsed:.2f} s = "
                f"{candidates / elapsed / 1e3:.1f} k plans/s"
            )
        return
    for i in range(args.repeat):
        grid, kept, elapsed = run_once(setup, args.mode, profile)
        print(
            f"run {i + 1}: {kept:,} deployable configurations (of {grid:,} grid points) in {elapsed:.2f} s = "
            f"{kept / elapsed / 1e6:.2f} M configurations/s"
        )
    peak = Q_(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "KiB").to("GiB").m  # Linux: KiB
    print(
        f"peak resident memory: {peak:.2f} GiB ({len(setup.models.names)} models x {len(setup.hardware.names)} chips)"
    )


if __name__ == "__main__":
    main()
