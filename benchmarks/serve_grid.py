"""Benchmark: configurations per second of the vectorized serving grid, and peak memory.

Evaluates models x hardware x tp x pp x ep x concurrency at nine workloads (ISL, OSL in
{1k, 8k, 32k} x {128, 1k, 8k}) in calibrated mode through ``perfmodel.api.serving.iter_serve_grid``
(deployable layouts only), keeping per model, chip and workload the best output tokens/s that
fits. Layouts that cannot be deployed (TP beyond the scale-up domain or not splitting the
heads, attention data-parallel on a dense model, ...) are dropped before evaluation; the
figure printed is deployable configurations evaluated per second, beside the grid's size, and
the process's peak resident memory.

    python benchmarks/serve_grid.py [--repeat 3] [--mode calibrated|limit]
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time

import numpy as np
import polars as pl

from perfmodel import Q_, load_catalogs, prepare
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mode", choices=("calibrated", "limit"), default="calibrated")
    args = parser.parse_args()
    setup = prepare(load_catalogs())
    profile = profile_for(setup, args.mode)
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
