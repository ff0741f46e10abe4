"""The limit mode's public functions: capacity, one decode configuration, and whole grids of them.

Quantities cross this boundary (``pint.Quantity`` from :data:`perfmodel.units.ureg`); grids come
back as polars DataFrames whose column names carry their unit (``t_batch_s``, ``memory_needed_gib``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pint
import polars as pl

from perfmodel.api.setup import (
    BOUND,
    GIB,
    GRID_AXES,
    LAYOUT,
    BatchSpec,
    Setup,
    enum_series,
    positive_int,
    prepare,
    split_options,
)
from perfmodel.inputs import InvalidInput, parse_number
from perfmodel.model.decode_step import decode_arrays, kv_bytes_per_sequence, max_batch, weight_bytes_total
from perfmodel.model.serving_step import Layout, check_deployable, deployable
from perfmodel.units import Q_

#: Most memory one grid or Monte Carlo may hold [GiB]; the environment variable raises it.
MEMORY_BUDGET_GIB = 2.0
MEMORY_ENV = "LIMINAL_MEMORY_GIB"
#: Copies of a grid held while it is built: the per-model frames and their concatenation.
GRID_COPIES = 2


def memory_budget() -> float:
    """The memory budget [bytes]: :data:`MEMORY_BUDGET_GIB`, or ``LIMINAL_MEMORY_GIB`` when set."""
    text = os.environ.get(MEMORY_ENV)
    if text is None:
        return MEMORY_BUDGET_GIB * GIB
    try:
        gib = parse_number(text)
    except ValueError:
        gib = 0.0
    if not gib > 0:
        raise InvalidInput(f"{MEMORY_ENV} must be a number of GiB > 0, got {text!r}")
    return gib * GIB


def check_memory(need: float, what: str, reduce: str) -> None:
    """Refuse work estimated to need ``need`` bytes over :func:`memory_budget`, before it starts:
    one line with the estimate, what to ``reduce`` and the variable that raises the budget."""
    budget = memory_budget()
    if need > budget:
        raise InvalidInput(
            f"{what} would take about {need / GIB:,.1f} GiB of memory, over the budget of "
            f"{budget / GIB:,.3g} GiB: {reduce}, or raise the budget with {MEMORY_ENV}={math.ceil(need / GIB)}"
        )


def grid_bytes(configurations: int, columns: int, copies: float = GRID_COPIES) -> float:
    """Memory of a grid held whole [bytes]: configurations x columns x 8-byte cells x copies."""
    return float(configurations) * columns * 8 * copies


#: What to give fewer of when a grid is too large.
GRID_REDUCE = "give fewer values to --model, --hardware, --tp, --pp, --ep, --batch or --context"


@dataclass(frozen=True)
class Capacity:
    """Memory one model instance needs: weights and KV cache [GiB]."""

    weights: pint.Quantity
    kv: pint.Quantity

    @property
    def total(self) -> pint.Quantity:
        return self.weights + self.kv

    def as_dict(self) -> dict[str, float]:
        return {
            "weights_gib": float(self.weights.to("GiB").m),
            "kv_gib": float(self.kv.to("GiB").m),
            "total_gib": float(self.total.to("GiB").m),
        }


def capacity(model: str, context, batch, setup: Setup | None = None, **kwargs) -> Capacity:
    """Weights and KV cache of ``batch`` sequences of ``context`` tokens (docs/model.md, section 5)."""
    setup = setup or prepare(models=[model], **kwargs)
    mi = setup.models.index(model)
    context, batch = positive_int("context", context), positive_int("batch", batch)
    kv = batch * kv_bytes_per_sequence(setup.models, setup.scenario, mi, float(context))
    return Capacity(Q_(float(weight_bytes_total(setup.models, setup.scenario, mi)), "B"), Q_(float(kv), "B"))


@dataclass(frozen=True)
class Decode:
    """One decode configuration; times in s, rates in token/s, memory in GiB."""

    model: str
    hardware: str
    tp: int
    pp: int
    ep: int
    batch: int
    context: int
    t_compute: pint.Quantity
    t_mem: pint.Quantity
    t_exposed: pint.Quantity
    t_batch: pint.Quantity
    utps: pint.Quantity
    stps: pint.Quantity
    memory_needed: pint.Quantity
    memory_available: pint.Quantity
    fits: bool

    def as_dict(self) -> dict:
        """The JSON contract of ``python -m perfmodel decode --json``."""
        return {
            "model": self.model,
            "hardware": self.hardware,
            "tp": self.tp,
            "pp": self.pp,
            "ep": self.ep,
            "chips": self.tp * self.pp,
            "batch": self.batch,
            "context": self.context,
            "fits": self.fits,
            "utps": float(self.utps.to("token/s").m),
            "stps": float(self.stps.to("token/s").m),
            "t_batch_s": float(self.t_batch.to("s").m),
            "t_compute_s": float(self.t_compute.to("s").m),
            "t_mem_s": float(self.t_mem.to("s").m),
            "t_exposed_s": float(self.t_exposed.to("s").m),
            "memory_gib": float(self.memory_needed.to("GiB").m),
            "memory_available_gib": float(self.memory_available.to("GiB").m),
        }


def decode(
    model: str,
    hardware: str,
    batch: BatchSpec = 1,
    context=4096,
    sync: pint.Quantity | None = None,
    setup: Setup | None = None,
    **options,
) -> Decode:
    """Evaluate one configuration. ``batch="max"`` takes the largest batch that fits.

    ``options``: the layout, ``tp``, ``pp`` and ``ep`` [chips] (1 each by default), and without
    ``setup`` what :func:`perfmodel.api.setup.prepare` takes (``catalogs``, ``scenario``,
    ``precision``, ``kv_precision``). A configuration that does not fit is still evaluated
    (``fits=False``): it is an answer.
    """
    layout, given = split_options(options, LAYOUT)
    setup = setup or prepare(models=[model], hardware=[hardware], **given)
    m, h, s = setup.models, setup.hardware, setup.scenario
    mi, hi = m.index(model), h.index(hardware)
    tp, pp, ep = (positive_int(n, layout[n]) for n in ("tp", "pp", "ep"))
    context = positive_int("context", context)
    check_deployable(m, h, mi, Layout(hi, tp, pp, ep), calibrated=False, uneven_heads=s.uneven_heads)
    if batch == "max":
        b = int(max_batch(m, h, s, mi, hi, tp, pp, float(context)))
        batch = max(b, 1)
    else:
        batch = positive_int("batch", batch)
    sync_s = None if sync is None else float(Q_(sync).to("s").m)
    r = decode_arrays(m, h, s, mi, hi, tp, pp, ep, float(batch), float(context), sync_s)
    return Decode(
        model,
        hardware,
        tp,
        pp,
        ep,
        batch,
        context,
        t_compute=Q_(float(r["t_compute_s"]), "s"),
        t_mem=Q_(float(r["t_mem_s"]), "s"),
        t_exposed=Q_(float(r["t_exposed_s"]), "s"),
        t_batch=Q_(float(r["t_batch_s"]), "s"),
        utps=Q_(float(r["utps"]), "token/s"),
        stps=Q_(float(r["stps"]), "token/s"),
        memory_needed=Q_(float(r["memory_needed_bytes"]), "B").to("GiB"),
        memory_available=Q_(float(r["memory_available_bytes"]), "B").to("GiB"),
        fits=bool(r["fits"]),
    )


GRID_FLOAT_COLUMNS = (
    "t_compute_s",
    "t_mem_s",
    "t_exposed_s",
    "t_batch_s",
    "utps",
    "stps",
    "flop_per_s_chip",
    "bytes_per_s_chip",
    "tier2_bytes_per_s_chip",
)


#: Columns of a decode grid.
GRID_COLUMNS = (
    *("model", "hardware", "tp", "pp", "ep", "chips", "batch", "users", "context"),
    *GRID_FLOAT_COLUMNS,
    *("stps_per_chip", "memory_needed_gib", "memory_available_gib", "fits", "bound"),
)


def iter_decode_grid(
    setup: Setup, context: Sequence[int] = (4096,), sync: pint.Quantity | None = None, **axes
) -> Iterator[pl.DataFrame]:
    """The grid models x hardware x tp x pp x ep x batch x context, one frame per model.

    ``axes``: ``tp``, ``pp``, ``ep`` and ``batch``, each a sequence (defaults: :data:`GRID_AXES`).
    Numpy broadcasting evaluates each model's block in one call. ``batch`` may include
    ``"max"`` (the largest batch that fits each configuration). Combinations that cannot exist
    are left out (:func:`perfmodel.model.serving_step.deployable` in the limit: ``ep > 1`` on a dense
    model, ``ep`` not dividing ``tp`` or above the expert count, ``pp`` above the layer count,
    ``tp`` that neither divides the heads nor is a multiple of them, unless the scenario splits
    heads unevenly).
    """
    axes, _ = split_options(axes, GRID_AXES, setup_too=False)
    tp, pp, ep, batch = (axes[k] for k in ("tp", "pp", "ep", "batch"))
    m, h, s = setup.models, setup.hardware, setup.scenario
    tp_v = _axis("tp", tp, 2)
    pp_v = _axis("pp", pp, 3)
    ep_v = _axis("ep", ep, 4)
    numeric = [b for b in batch if b != "max"]
    ctx_v = _axis("context", context, 6)
    sync_s = None if sync is None else float(Q_(sync).to("s").m)
    hi = np.arange(len(h.names)).reshape(-1, 1, 1, 1, 1, 1)
    blocks: list[np.ndarray | str] = []
    if numeric:
        blocks.append(_axis("batch", numeric, 5))
    if "max" in batch:
        blocks.append("max")
    model_enum = pl.Enum(m.names)
    hw_enum = pl.Enum(h.names)
    for mi in range(len(m.names)):
        frames = []
        for b in blocks:
            if isinstance(b, str):
                bv = np.maximum(max_batch(m, h, s, mi, hi, tp_v, pp_v, ctx_v), 1.0)
                bv = np.broadcast_to(bv, np.broadcast_shapes(bv.shape, ep_v.shape))
            else:
                bv = b
            r = decode_arrays(m, h, s, mi, hi, tp_v, pp_v, ep_v, bv, ctx_v, sync_s)
            shape = np.broadcast_shapes(
                hi.shape, tp_v.shape, pp_v.shape, ep_v.shape, np.shape(bv), ctx_v.shape
            )
            valid = np.broadcast_to(
                deployable(
                    m, h, mi, Layout(hi, tp_v, pp_v, ep_v), calibrated=False, uneven_heads=s.uneven_heads
                ),
                shape,
            )
            keep = None if valid.all() else valid

            def flat(a, dtype=np.float64, keep=keep, shape=shape):
                view = np.broadcast_to(a, shape)
                out = view.ravel() if keep is None else view[keep]
                return out.astype(dtype, copy=False)

            tp_f, pp_f = flat(tp_v, np.int32), flat(pp_v, np.int32)
            cols = {
                "model": enum_series(np.full(len(tp_f), mi, np.uint32), model_enum),
                "hardware": enum_series(flat(hi, np.uint32), hw_enum),
                "tp": tp_f,
                "pp": pp_f,
                "ep": flat(ep_v, np.int32),
                "chips": tp_f * pp_f,
                "batch": flat(bv, np.int64),
                "users": flat(pp_v * bv, np.int64),
                "context": flat(ctx_v, np.int64),
            }
            for c in GRID_FLOAT_COLUMNS:
                cols[c] = flat(r[c])
            cols["stps_per_chip"] = cols["stps"] / cols["chips"]
            cols["memory_needed_gib"] = flat(r["memory_needed_bytes"]) / GIB
            cols["memory_available_gib"] = flat(r["memory_available_bytes"]) / GIB
            cols["fits"] = flat(r["fits"], bool)
            cols["bound"] = pl.Series(cols["t_compute_s"] > cols["t_mem_s"]).replace_strict(
                {True: "compute", False: "memory"}, return_dtype=BOUND
            )
            frames.append(pl.DataFrame(cols))
        yield pl.concat(frames) if len(frames) > 1 else frames[0]


def decode_grid(
    models: Sequence[str] | None = None,
    hardware: Sequence[str] | None = None,
    *,
    context: Sequence[int] = (4096,),
    sync: pint.Quantity | None = None,
    **options,
) -> pl.DataFrame:
    """Evaluate every combination of the given axes; one row per configuration.

    ``options``: the axes ``tp``, ``pp``, ``ep``, ``batch`` (as :func:`iter_decode_grid`) and
    what :func:`perfmodel.api.setup.prepare` takes (``catalogs``, ``scenario``, ``precision``,
    ``kv_precision``).

    Columns: model, hardware, tp, pp, ep, chips, batch, users (= pp x batch), context,
    t_compute_s, t_mem_s, t_exposed_s, t_batch_s, utps, stps [token/s], stps_per_chip,
    memory_needed_gib, memory_available_gib, fits, bound, and per-chip activity
    flop_per_s_chip, bytes_per_s_chip, tier2_bytes_per_s_chip (what a power model needs).
    """
    axes, given = split_options(options, GRID_AXES)
    setup = prepare(models=models, hardware=hardware, **given)
    check_decode_grid(setup, context, axes)
    return pl.concat(list(iter_decode_grid(setup, context, sync, **axes)))


def check_decode_grid(setup: Setup, context: Sequence[int], axes: dict, copies: float = GRID_COPIES) -> None:
    """Refuse a decode grid over ``setup``'s models and chips whose ``copies`` held whole would
    exceed the memory budget (:func:`check_memory`), before it is built; the count is an upper
    bound (every layout deployable)."""
    n = math.prod(map(len, (setup.models.names, setup.hardware.names, context, *axes.values())))
    check_memory(grid_bytes(n, len(GRID_COLUMNS), copies), f"a grid of {n:,} configurations", GRID_REDUCE)


def _axis(name: str, values: Sequence, position: int) -> np.ndarray:
    vals = [positive_int(name, v) for v in values]
    if not vals:
        raise InvalidInput(f"{name} needs at least one value")
    shape = [1] * 7
    shape[position] = len(vals)
    return np.array(vals, dtype=np.float64).reshape(shape)[0]
