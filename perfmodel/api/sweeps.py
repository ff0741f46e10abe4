"""The Liminal study's sensitivity analyses, generalized (arXiv 2507.14397, "limits" figures).

- :func:`bandwidth_sweep`: UTPS against memory bandwidth per chip at fixed parallelism: it
  flattens where the collectives (``T_exposed``) dominate.
- :func:`latency_sweep`: UTPS against the latency of one collective, with the latency at which
  ``T_exposed`` overtakes ``T_mem`` and the latency a target UTPS needs.

Each varies one figure of a base chip over an array and evaluates every point in one numpy
call (the base chip's other figures are kept, so a point equal to a catalog chip's figure
reproduces that chip's result exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from perfmodel.api.setup import Setup, prepare
from perfmodel.inputs import InvalidInput
from perfmodel.model.decode_step import decode_arrays, max_batch
from perfmodel.units import Q_


def _grid(setup: Setup, models: Sequence[str], tps: Sequence[int], n: int):
    """Index arrays over (model, tp, point) and the model/tp values broadcast to that shape."""
    mi = np.array([setup.models.index(m) for m in models]).reshape(-1, 1, 1)
    tp = np.array(tps, dtype=np.float64).reshape(1, -1, 1)
    return mi, tp, np.broadcast_shapes(mi.shape, tp.shape, (1, 1, n))


def _frame(models, tps, shape, cols: dict) -> pl.DataFrame:
    m_idx, t_idx, _ = np.indices(shape)
    out = {"model": np.array(models)[m_idx.ravel()], "tp": np.array(tps)[t_idx.ravel()]}
    out |= {k: np.broadcast_to(v, shape).ravel() for k, v in cols.items()}
    return pl.DataFrame(out)


def _setup(options: dict, models: Sequence[str], base: str) -> Setup:
    """``options["setup"]`` when given, else :func:`prepare` on the other options (``catalogs``,
    ``scenario``, ``precision``, ``kv_precision``) for ``models`` on ``base``."""
    given = dict(options)
    return given.pop("setup", None) or prepare(models=list(models), hardware=[base], **given)


def _batch(setup, mi, hi, tp, context, batch):
    if batch == "max":
        return np.maximum(
            max_batch(setup.models, setup.hardware, setup.scenario, mi, hi, tp, 1.0, context), 1.0
        )
    return float(batch)


def bandwidth_sweep(
    models: Sequence[str],
    base: str = "xpu-hbm3",
    tps: Sequence[int] = (8, 128),
    bandwidths_tbs: Sequence[float] | None = None,
    context: int = 131072,
    batch: int | str = 1,
    **options,
) -> pl.DataFrame:
    """UTPS of each model on ``base`` with its memory bandwidth set to each value [TB/s].

    Columns: model, tp, mem_bw_tbs, batch, utps, t_compute_s, t_mem_s, t_exposed_s, bound, fits.
    ``options``: a ``setup``, or what :func:`perfmodel.api.setup.prepare` takes.
    """
    bws = np.asarray(
        bandwidths_tbs if bandwidths_tbs is not None else np.geomspace(1, 1000, 31), dtype=np.float64
    )
    if (bws <= 0).any():
        raise InvalidInput("bandwidths must be > 0 TB/s")
    setup = _setup(options, models, base)
    hw = setup.hardware
    b = hw.index(base)
    fixed = {f: np.full(len(bws), getattr(hw, f)[b]) for f in _OTHER}
    mem_bw = Q_(bws, "TB/s").to("B/s").magnitude
    varied = replace(hw, names=tuple(f"{base}@{x:g}TB/s" for x in bws), mem_bw=mem_bw, **fixed)
    s = replace(setup, hardware=varied)
    mi, tp, shape = _grid(s, models, tps, len(bws))
    hi = np.arange(len(bws)).reshape(1, 1, -1)
    bv = _batch(s, mi, hi, tp, float(context), batch)
    r = decode_arrays(s.models, varied, s.scenario, mi, hi, tp, 1.0, 1.0, bv, float(context))
    return _frame(models, tps, shape, _columns(r, bv) | {"mem_bw_tbs": bws.reshape(1, 1, -1)})


def latency_sweep(
    models: Sequence[str],
    base: str = "xpu-hbm3",
    tps: Sequence[int] = (8, 128),
    latencies_us: Sequence[float] | None = None,
    context: int = 131072,
    batch: int | str = 1,
    target_utps: float | None = None,
    **options,
) -> pl.DataFrame:
    """UTPS of each model on ``base`` with every collective taking each latency [us].

    Columns as :func:`bandwidth_sweep` with ``sync_us`` instead of ``mem_bw_tbs``, plus per
    (model, tp): ``crossover_us`` (latency where T_exposed equals T_mem) and, with
    ``target_utps``, ``needed_us`` (largest latency that still reaches it; NaN if none does).
    """
    lats = np.asarray(
        latencies_us if latencies_us is not None else np.geomspace(0.1, 10, 21), dtype=np.float64
    )
    if (lats < 0).any():
        raise InvalidInput("latencies must be >= 0 us")
    setup = _setup(options, models, base)
    hi = setup.hardware.index(base)
    mi, tp, shape = _grid(setup, models, tps, len(lats))
    bv = _batch(setup, mi, hi, tp, float(context), batch)
    one_us = Q_(1.0, "us").to("s").magnitude
    sync = lats.reshape(1, 1, -1) * one_us
    r = decode_arrays(
        setup.models, setup.hardware, setup.scenario, mi, hi, tp, 1.0, 1.0, bv, float(context), sync
    )
    cols = _columns(r, bv) | {"sync_us": lats.reshape(1, 1, -1)}
    # T_exposed is linear in the latency: n collectives per token step.
    one = decode_arrays(
        setup.models, setup.hardware, setup.scenario, mi, hi, tp, 1.0, 1.0, bv, float(context), one_us
    )
    per_us = one["t_exposed_s"]  # seconds of T_exposed per microsecond of latency
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["crossover_us"] = np.where(per_us > 0, one["t_mem_s"] / per_us, np.inf)
        if target_utps is not None:
            slack = 1.0 / target_utps - np.maximum(one["t_compute_s"], one["t_mem_s"])
            cols["needed_us"] = np.where(slack > 0, np.where(per_us > 0, slack / per_us, np.inf), np.nan)
    return _frame(models, tps, shape, cols)


_OTHER = (
    "mem_capacity",
    "tensor",
    "scalar",
    "domain",
    "scaleup_bw",
    "sync",
    "scaleout_bw",
    "scaleout_sync",
    "tier2_bw",
    "tier2_capacity",
)


def _columns(r: dict, batch) -> dict:
    return {
        "batch": batch,
        "utps": r["utps"],
        "t_compute_s": r["t_compute_s"],
        "t_mem_s": r["t_mem_s"],
        "t_exposed_s": r["t_exposed_s"],
        "bound": np.where(
            r["t_exposed_s"] > np.maximum(r["t_compute_s"], r["t_mem_s"]),
            "collectives",
            np.where(r["t_compute_s"] > r["t_mem_s"], "compute", "memory"),
        ),
        "fits": r["fits"],
    }
