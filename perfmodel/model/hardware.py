"""Per-chip figures as numpy arrays (canonical units: B/s, B, FLOP/s, s)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfmodel.catalog.table import Table

#: A precision without its own column runs at the next wider precision's rate.
_FALLBACK = {
    "fp4": ("tensor_fp4", "tensor_fp8", "tensor_bf16"),
    "fp8": ("tensor_fp8", "tensor_bf16"),
    "bf16": ("tensor_bf16",),
}


@dataclass(frozen=True)
class HardwareArrays:
    names: tuple[str, ...]
    mem_bw: np.ndarray  # [B/s]
    mem_capacity: np.ndarray  # [B]
    tensor: np.ndarray  # [FLOP/s] at the evaluated precision
    scalar: np.ndarray  # [FLOP/s]
    domain: np.ndarray  # chips per scale-up domain
    scaleup_bw: np.ndarray  # [B/s] per direction
    sync: np.ndarray  # [s]
    scaleout_bw: np.ndarray  # [B/s] per direction
    scaleout_sync: np.ndarray  # [s]
    tier2_bw: np.ndarray  # [B/s] second tier holding the weights (0: none)
    tier2_capacity: np.ndarray  # [B]

    def index(self, name: str) -> int:
        return self.names.index(name)


def hardware_arrays(
    hardware: Table, names: list[str] | None = None, precision: str = "fp8"
) -> HardwareArrays:
    """Arrays for ``names`` (default: all) with tensor throughput at ``precision``."""
    names = names or hardware.names()
    rows = [hardware.row(n) for n in names]

    def col(key: str) -> np.ndarray:
        return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=np.float64)

    tensor = np.array(
        [next(r[c] for c in _FALLBACK[precision] if r[c] is not None) for r in rows], dtype=np.float64
    )
    return HardwareArrays(
        names=tuple(names),
        mem_bw=col("mem_bw"),
        mem_capacity=col("mem_capacity"),
        tensor=tensor,
        scalar=col("scalar"),
        domain=col("scaleup_domain"),
        scaleup_bw=col("scaleup_bw_bidir") / 2,
        sync=col("sync_latency"),
        scaleout_bw=col("scaleout_bw_bidir") / 2,
        scaleout_sync=col("scaleout_sync_latency"),
        tier2_bw=np.nan_to_num(col("tier2_bw")),
        tier2_capacity=np.nan_to_num(col("tier2_capacity")),
    )
