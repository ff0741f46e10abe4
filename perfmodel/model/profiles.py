"""What a deployment achieves, per chip: the limit (the study's peak figures) or calibrated.

A :class:`ServingProfile` holds, per chip of a :class:`~perfmodel.model.hardware.HardwareArrays`, the
chip's physics as real kernels reach it (fraction of peak memory bandwidth and tensor FLOP/s in
prefill and in decode, the collective latency seen: ``efficiencies.csv``) and the serving
engine's behaviour on any chip (its overheads per step and per token, memory fraction, workspace,
batch cap per data-parallel rank, step token budget, KV reserve, overlap of expert-parallel
communication: ``engine_profiles.csv``). ``limit`` is the study's freedom: peak figures, the
whole memory, every sequence at its full length, no engine cap, no overhead, the chip's or
scenario's collective latency (docs/model.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.serving_schemas import CHIP_FIELDS, EFFICIENCY_FIELDS, ENGINE_FIELDS
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
    kv_reserve: np.ndarray  # share of the remaining output whose KV blocks are held
    ep_overlap: np.ndarray  # bool: expert-parallel all-to-all hidden behind compute
    dp_per_rank: np.ndarray  # bool: attention-DP ranks schedule and dispatch their own tokens
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
    """The limit: every efficiency 1, no step overhead, the whole memory with every sequence at
    its full length, no engine bounds."""
    one, zero, inf = np.ones(n), np.zeros(n), np.full(n, np.inf)
    no = np.zeros(n, dtype=bool)
    return ServingProfile(
        "limit",
        one,
        one,
        one,
        zero,
        zero,
        None,
        one,
        zero,
        inf,
        inf,
        one,
        no,
        no,
        ("none",) * n,
        ("peak",) * n,
    )


def efficiency_row(catalogs: Catalogs, hardware: str, precision: str) -> dict:
    """The chip figures of ``hardware`` at ``precision`` (``CHIP_FIELDS``): its own row (precision,
    else ``any``), or the row of the chip it resembles; ``basis`` says which, ``engine`` is the
    engine the chip runs unless told.

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
    return {f: row[f] for f in CHIP_FIELDS} | {"engine": row["engine"], "basis": basis}


def engine_row(catalogs: Catalogs, engine: str) -> dict:
    """The row of ``engine`` in engine_profiles.csv, with the fitted overheads of the engine it
    takes them from (``overheads_as``) where it has none of its own."""
    table = catalogs["engine_profiles"]
    row = table.row(table.resolve(engine))
    if row["overheads_as"] is None:
        return row
    base = table.row(table.resolve(row["overheads_as"]))
    if base["overheads_as"] is not None or any(base[f] is None for f in ENGINE_FIELDS):
        raise InvalidInput(
            f"engine_profiles.csv: {engine} takes its overheads from {row['overheads_as']}, "
            "which has no fitted overheads"
        )
    return row | {f: base[f] for f in ENGINE_FIELDS}


def fitted_profile(
    efficiencies: dict, engines: list[dict], engine: tuple[str, ...], basis: tuple[str, ...]
) -> ServingProfile:
    """A calibrated profile from per-entry chip figures (``CHIP_FIELDS``; ``ENGINE_FIELDS`` too
    where given, else the engines' own), the entries' engine rows (:func:`engine_row`) and
    engine names."""

    def col(key: str, dtype=np.float64) -> np.ndarray:
        return np.array([e[key] for e in engines], dtype=dtype)

    figures = {f: efficiencies[f] if f in efficiencies else col(f) for f in EFFICIENCY_FIELDS}
    return ServingProfile(
        "calibrated",
        **{f: np.asarray(v, dtype=np.float64) for f, v in figures.items()},
        memory_fraction=col("memory_fraction"),
        workspace=col("workspace"),
        max_concurrency=col("max_concurrency"),
        max_step_tokens=col("max_step_tokens"),
        kv_reserve=col("kv_reserve"),
        ep_overlap=col("ep_overlap", bool),
        dp_per_rank=col("dp_per_rank", bool),
        engine=engine,
        basis=basis,
    )


def calibrated_profile(
    catalogs: Catalogs, hardware: HardwareArrays, precision: str, engine: str | None = None
) -> ServingProfile:
    """Fitted chip figures for every chip of ``hardware`` at ``precision``, run by ``engine``
    (default: each chip's own, the engine most measured on it) with its overheads and bounds."""
    rows = [efficiency_row(catalogs, name, precision) for name in hardware.names]
    names = tuple(engine or r["engine"] for r in rows)
    engines = [engine_row(catalogs, e) for e in names]
    return fitted_profile(
        {f: [r[f] for r in rows] for f in CHIP_FIELDS},
        engines,
        tuple(e["name"] for e in engines),
        tuple(r["basis"] for r in rows),
    )


def serving_profile(
    mode: str, catalogs: Catalogs, hardware: HardwareArrays, precision: str, engine: str | None = None
) -> ServingProfile:
    """The profile of ``mode`` for every chip of ``hardware`` (``engine``: calibrated mode only)."""
    if check_mode(mode) == "limit":
        if engine is not None:
            raise InvalidInput(
                f"engine {engine!r} applies to calibrated mode; the limit has no engine (drop it, or ask "
                "for mode calibrated)"
            )
        return limit_profile(len(hardware.names))
    return calibrated_profile(catalogs, hardware, precision, engine)
