"""Benchmark: configurations per second of the vectorized decode grid, and peak memory.

Evaluates models x hardware x tp x pp x ep x batch x context (over 10 million configurations with
the default catalogs) model by model through ``perfmodel.iter_decode_grid`` and keeps, per model
and chip, the best system throughput that fits (what a sweep does with the grid). Prints the
configurations per second and the process's peak resident memory.

    python benchmarks/decode_grid.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time

import polars as pl

from perfmodel import Q_, iter_decode_grid, load_catalogs, prepare

AXES = {
    "tp": [1, 2, 4, 8, 16, 32, 64, 128],
    "pp": [1, 2, 4, 8],
    "ep": [1, 2, 4, 8],
    "batch": list(range(1, 1025, 8)),
    "context": [1024, 4096, 16384, 32768, 65536, 131072],
}


def run_once(setup) -> tuple[int, float, pl.DataFrame]:
    start = time.perf_counter()
    rows, best = 0, []
    for frame in iter_decode_grid(setup, **AXES):
        rows += frame.height
        best.append(frame.filter("fits").group_by("model", "hardware").agg(pl.col("stps").max()))
    elapsed = time.perf_counter() - start
    return rows, elapsed, pl.concat(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup = prepare(load_catalogs())
    for i in range(args.repeat):
        rows, elapsed, best = run_once(setup)
        print(
            f"run {i + 1}: {rows:,} configurations in {elapsed:.2f} s = {rows / elapsed / 1e6:.2f} M configurations/s"
        )
    peak = Q_(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "KiB").to("GiB").m  # Linux: KiB
    print(
        f"peak resident memory: {peak:.2f} GiB ({len(setup.models.names)} models x {len(setup.hardware.names)} chips)"
    )


if __name__ == "__main__":
    main()
