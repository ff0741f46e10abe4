"""What a deployment achieves, per chip: the limit (the study's peak figures) or calibrated.

A :class:`ServingProfile` holds, per chip of a :class:`~perfmodel.model.hardware.HardwareArrays`, the
efficiencies (fraction of peak memory bandwidth and tensor FLOP/s reached in prefill and in
decode), the fixed cost of a step, the collective latency seen, and the serving engine's bounds
(memory fraction, workspace, batch cap, step token budget). ``limit`` is the study's freedom:
peak figures, the whole memory, no engine cap, the chip's or scenario's collective latency.
``calibrated`` reads ``efficiencies.csv`` and ``engine_profiles.csv`` (docs/model.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.serving_schemas import EFFICIENCY_FIELDS
from perfmodel.inputs import (
    MODES,  # light to import: the command line's help lists them
    InvalidInput,
)
from perfmodel.model.hardware import HardwareArrays

Mode = Literal["limit", "calibrated"]


@dataclass(frozen=True)
class ServingProfile:
    """Per-chip arrays (aligned with the hardware arrays' names), base units."""

    mode: str
    bw_efficiency: np.ndarray
    prefill_efficiency: np.ndarray
    decode_efficiency: np.ndarray
    step_overhead: np.ndarray  # [s]
    token_overhead: np.ndarray  # [s per token]
    collective_latency: np.ndarray | None  # [s] inside the domain; None: the chip's or scenario's
    memory_fraction: np.ndarray
    workspace: np.ndarray  # [B]
    max_concurrency: np.ndarray  # [sequences]; inf: no cap
    max_step_tokens: np.ndarray  # [tokens]; inf: no budget
    engine: tuple[str, ...]
    basis: tuple[str, ...]  # where each chip's figures come from

    @property
    def calibrated(self) -> bool:
        return self.mode == "calibrated"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidInput(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    return mode


def limit_profile(n: int) -> ServingProfile:
    """The limit: every efficiency 1, no step overhead, the whole memory, no engine bounds."""
    one, zero, inf = np.ones(n), np.zeros(n), np.full(n, np.inf)
    return ServingProfile(
        "limit", one, one, one, zero, zero, None, one, zero, inf, inf, ("none",) * n, ("peak",) * n
    )


def efficiency_row(catalogs: Catalogs, hardware: str, precision: str) -> dict:
    """The efficiencies of ``hardware`` at ``precision``: its own row (precision, else ``any``),
    or the row of the chip it resembles; ``basis`` says which.

    Raises ``InvalidInput`` when the chip has no row: calibrated mode never assumes 1.0.
    """
    df = catalogs["efficiencies"].df
    rows = {(r["hardware"], r["precision"]): r for r in df.iter_rows(named=True)}

    def find(name: str) -> dict | None:
        return rows.get((name, precision)) or rows.get((name, "any"))

    row = find(hardware)
    if row is None:
        raise InvalidInput(
            f"{hardware} has no row in efficiencies.csv, so calibrated mode cannot run it: add one "
            "(fitted figures, or resembles=<a measured chip>), or use --mode limit"
        )
    basis = f"fit ({row['points']} points)" if row["resembles"] is None else ""
    if row["resembles"] is not None:
        base = find(row["resembles"])
        if base is None or base["resembles"] is not None:
            raise InvalidInput(
                f"efficiencies.csv: {hardware} resembles {row['resembles']}, which has no fitted row"
            )
        basis = f"as {row['resembles']}"
        row = base | {"engine": row["engine"]}
    return {f: row[f] for f in EFFICIENCY_FIELDS} | {"engine": row["engine"], "basis": basis}


def fitted_profile(
    efficiencies: dict, engines: list[dict], engine: tuple[str, ...], basis: tuple[str, ...]
) -> ServingProfile:
    """A calibrated profile from per-entry efficiency arrays (``EFFICIENCY_FIELDS``), the entries'
    engine-profile rows (memory fraction, workspace and batch bounds) and engine names."""

    def col(key: str) -> np.ndarray:
        return np.array([e[key] for e in engines], dtype=np.float64)

    return ServingProfile(
        "calibrated",
        **{f: np.asarray(efficiencies[f], dtype=np.float64) for f in EFFICIENCY_FIELDS},
        memory_fraction=col("memory_fraction"),
        workspace=col("workspace"),
        max_concurrency=col("max_concurrency"),
        max_step_tokens=col("max_step_tokens"),
        engine=engine,
        basis=basis,
    )


def calibrated_profile(catalogs: Catalogs, hardware: HardwareArrays, precision: str) -> ServingProfile:
    """Fitted efficiencies and engine bounds for every chip of ``hardware`` at ``precision``."""
    rows = [efficiency_row(catalogs, name, precision) for name in hardware.names]
    engines = [catalogs["engine_profiles"].row(r["engine"]) for r in rows]
    return fitted_profile(
        {f: [r[f] for r in rows] for f in EFFICIENCY_FIELDS},
        engines,
        tuple(r["engine"] for r in rows),
        tuple(r["basis"] for r in rows),
    )


def serving_profile(
    mode: str, catalogs: Catalogs, hardware: HardwareArrays, precision: str
) -> ServingProfile:
    """The profile of ``mode`` for every chip of ``hardware``."""
    if check_mode(mode) == "limit":
        return limit_profile(len(hardware.names))
    return calibrated_profile(catalogs, hardware, precision)
