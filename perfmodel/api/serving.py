"""Public functions of the serving model: one configuration, and whole grids of them.

Quantities cross this boundary; grids come back as polars DataFrames with the decode grid's
columns (so the economics prices either), where ``stps`` is the instance's output tokens/s with
prefill counted, plus ``isl``, ``osl``, ``mode``, ``ttft_s``, ``tpot_s``, ``request_latency_s``.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pint
import polars as pl

from perfmodel.api.decoding import GRID_COPIES, GRID_REDUCE, check_memory, grid_bytes
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
from perfmodel.inputs import (  # light to import: the command line's help shows them
    DEFAULT_ISL,
    DEFAULT_OSL,
    InvalidInput,
)
from perfmodel.model.profiles import ServingProfile, check_mode, serving_profile
from perfmodel.model.serving_step import (
    Deployment,
    Layout,
    batch_cap,
    check_deployable,
    concurrency_limit,
    deployable,
    serve_arrays,
)
from perfmodel.units import Q_

#: Default workload: 1,024 prompt and 1,024 output tokens (the middle of the 1k/1k, 1k/8k,
#: 8k/1k grid that serving benchmarks such as InferenceMAX report).


#: A served configuration's layout and its defaults (attention data-parallel besides the chips).
SERVE_LAYOUT = LAYOUT | {"dp_attention": False}


def check_workload(isl, osl) -> tuple[int, int]:
    """ISL >= 1 and OSL >= 2 tokens (a request decodes at least one token after its first)."""
    isl, osl = positive_int("isl", isl), positive_int("osl", osl)
    if osl < 2:
        raise InvalidInput(f"osl must be at least 2 tokens (the first comes from the prefill), got {osl}")
    return isl, osl


def profile_for(setup: Setup, mode: str) -> ServingProfile:
    """The serving profile of ``mode`` for the setup's chips at its precision, run by its engine."""
    return serving_profile(mode, setup.catalogs, setup.hardware, setup.scenario.precision, setup.engine)


@dataclass(frozen=True)
class Serve:
    """One served configuration: latencies in s, rates in token/s, memory in GiB."""

    model: str
    hardware: str
    mode: str
    tp: int
    pp: int
    ep: int
    dp_attention: bool
    isl: int
    osl: int
    concurrency: int
    fits: bool
    in_memory: bool
    batch_cap: float
    ttft: pint.Quantity
    tpot: pint.Quantity
    utps: pint.Quantity
    request_latency: pint.Quantity
    output_tps: pint.Quantity
    memory_needed: pint.Quantity
    memory_available: pint.Quantity
    t_compute: pint.Quantity
    t_mem: pint.Quantity
    t_exposed: pint.Quantity
    flop_per_s_chip: pint.Quantity
    bytes_per_s_chip: pint.Quantity
    tier2_bytes_per_s_chip: pint.Quantity
    engine: str
    basis: str

    @property
    def chips(self) -> int:
        return self.tp * self.pp

    @property
    def pools(self) -> tuple[dict, ...]:
        """The one pool of an aggregated instance: its chips and their activity (the power model's input)."""
        return (
            {
                "hardware": self.hardware,
                "chips": self.chips,
                "flop_per_s_chip": float(self.flop_per_s_chip.to("FLOP/s").m),
                "bytes_per_s_chip": float(self.bytes_per_s_chip.to("B/s").m),
                "tier2_bytes_per_s_chip": float(self.tier2_bytes_per_s_chip.to("B/s").m),
            },
        )

    def as_dict(self) -> dict:
        """The JSON contract of ``python -m perfmodel serve --json`` (issue 11)."""
        return served_json(self, self.hardware, self.tp, self.pp, self.ep, self.dp_attention)


def served_json(r, hardware: str, tp: int, pp: int, ep: int, dp_attention: bool) -> dict:
    """Issue 11's keys of ``perfmodel serve --json`` for a served configuration or plan ``r``
    (a :class:`Serve` or a :class:`perfmodel.api.plans.PlanServe`) on the layout given."""
    tps = float(r.output_tps.to("token/s").m)
    return {
        "model": r.model,
        "hardware": hardware,
        "mode": r.mode,
        "engine": r.engine,
        "efficiency_basis": r.basis,
        "tp": tp,
        "pp": pp,
        "ep": ep,
        "dp_attention": dp_attention,
        "chips": r.chips,
        "isl": r.isl,
        "osl": r.osl,
        "concurrency": r.concurrency,
        "fits": r.fits,
        "in_memory": r.in_memory,
        "batch_cap": r.batch_cap if math.isfinite(r.batch_cap) else None,
        "ttft_s": float(r.ttft.to("s").m),
        "tpot_s": float(r.tpot.to("s").m),
        "utps": float(r.utps.to("token/s").m),
        "request_latency_s": float(r.request_latency.to("s").m),
        "output_tps": tps,
        "output_tps_per_chip": tps / r.chips,
        "memory_gib": float(r.memory_needed.to("GiB").m),
        "memory_available_gib": float(r.memory_available.to("GiB").m),
        "t_compute_s": float(r.t_compute.to("s").m),
        "t_mem_s": float(r.t_mem.to("s").m),
        "t_exposed_s": float(r.t_exposed.to("s").m),
    }


def serve(
    model: str,
    hardware: str,
    isl=DEFAULT_ISL,
    osl=DEFAULT_OSL,
    concurrency: BatchSpec = 1,
    mode: str = "calibrated",
    setup: Setup | None = None,
    **options,
) -> Serve:
    """Serve ``concurrency`` requests of ``isl`` / ``osl`` tokens; ``"max"`` takes the largest that fits.

    ``options``: the layout, ``tp``, ``pp``, ``ep`` [chips] (1 each) and ``dp_attention``
    (False), and without ``setup`` what :func:`perfmodel.api.setup.prepare` takes (``catalogs``,
    ``scenario``, ``precision``, ``kv_precision``). Raises ``InvalidInput`` for a layout that
    cannot be deployed in ``mode`` (docs/model.md §5). A configuration that does not fit is still
    evaluated (``fits=False``; ``in_memory`` says whether the memory or the engine's batch cap
    refused it).
    """
    check_mode(mode)
    layout, given = split_options(options, SERVE_LAYOUT)
    setup = setup or prepare(models=[model], hardware=[hardware], **given)
    m, h, s = setup.models, setup.hardware, setup.scenario
    mi, hi = m.index(model), h.index(hardware)
    tp, pp, ep = (positive_int(n, layout[n]) for n in ("tp", "pp", "ep"))
    dp_attention = layout["dp_attention"]
    isl, osl = check_workload(isl, osl)
    lay = Layout(hi, tp, pp, ep, dp_attention)
    check_deployable(m, h, mi, lay, mode == "calibrated", s.uneven_heads)
    prof = profile_for(setup, mode)
    d = Deployment(m, h, s, prof, mi)
    concurrency = resolve_concurrency(d, lay, isl, osl, concurrency)
    r = serve_arrays(d, lay, float(concurrency), float(isl), float(osl))
    return Serve(
        model,
        hardware,
        mode,
        tp,
        pp,
        ep,
        dp_attention,
        isl,
        osl,
        concurrency,
        flop_per_s_chip=Q_(float(r["flop_per_s_chip"]), "FLOP/s"),
        bytes_per_s_chip=Q_(float(r["bytes_per_s_chip"]), "B/s"),
        tier2_bytes_per_s_chip=Q_(float(r["tier2_bytes_per_s_chip"]), "B/s"),
        engine=prof.engine[hi],
        basis=prof.basis[hi],
        **served_figures(r),
    )


def resolve_concurrency(d: Deployment, lay: Layout, isl, osl, concurrency: BatchSpec) -> int:
    """``concurrency`` as a whole number of requests: ``"max"`` is the most that fit the memory and
    the engine's batch cap (at least 1)."""
    if concurrency == "max":
        return max(int(concurrency_limit(d, lay, float(isl), float(osl))), 1)
    return positive_int("concurrency", concurrency)


def served_figures(r: dict) -> dict:
    """The figures of a served configuration or plan as Quantities, from the model's arrays ``r``
    (:func:`~perfmodel.model.serving_step.serve_arrays` or a plan's): whether it fits, the
    engine's cap, latencies, rates, memory in GiB and the step's parts."""

    def q(key: str, unit: str) -> pint.Quantity:
        return Q_(float(np.asarray(r[key])), unit)

    return {
        "fits": bool(r["fits"]),
        "in_memory": bool(r["in_memory"]),
        "batch_cap": float(r["batch_cap"]),
        "ttft": q("ttft_s", "s"),
        "tpot": q("tpot_s", "s"),
        "utps": q("utps", "token/s"),
        "request_latency": q("request_latency_s", "s"),
        "output_tps": q("output_tps", "token/s"),
        "memory_needed": q("memory_needed_bytes", "B").to("GiB"),
        "memory_available": q("memory_available_bytes", "B").to("GiB"),
        "t_compute": q("t_compute_s", "s"),
        "t_mem": q("t_mem_s", "s"),
        "t_exposed": q("t_exposed_s", "s"),
    }


SERVE_FLOAT_COLUMNS = (
    "t_compute_s",
    "t_mem_s",
    "t_exposed_s",
    "t_batch_s",
    "ttft_s",
    "tpot_s",
    "request_latency_s",
    "utps",
    "flop_per_s_chip",
    "bytes_per_s_chip",
    "tier2_bytes_per_s_chip",
)


def iter_serve_grid(
    setup: Setup,
    mode: str = "calibrated",
    isl: int = DEFAULT_ISL,
    osl: int = DEFAULT_OSL,
    sync: pint.Quantity | None = None,
    profile: ServingProfile | None = None,
    dp_attention: Sequence[bool] = (False, True),
    **axes,
) -> Iterator[pl.DataFrame]:
    """The grid models x hardware x tp x pp x ep x attention layout x batch at one workload,
    one frame per model.

    ``batch`` is per pipeline micro-batch (concurrency = PP x batch) and may include ``"max"``
    (the largest concurrency that fits and the engine admits). Layouts that cannot be deployed
    in ``mode`` are left out before anything is evaluated, and so is a numeric batch above the
    engine's cap; the model then runs on flat arrays of the layouts that remain. Models are
    evaluated on every core (one thread each) and yielded in order.
    """
    check_mode(mode)
    axes, _ = split_options(axes, GRID_AXES, setup_too=False)
    tp, pp, ep, batch = (axes[k] for k in ("tp", "pp", "ep", "batch"))
    isl, osl = check_workload(isl, osl)
    m, h, s = setup.models, setup.hardware, setup.scenario
    prof = profile or profile_for(setup, mode)
    calibrated = mode == "calibrated"
    shape = (len(h.names), len(tp), len(pp), len(ep))
    hi, tpv, ppv, epv = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(shape[0]),
            [positive_int("tp", v) for v in tp],
            [positive_int("pp", v) for v in pp],
            [positive_int("ep", v) for v in ep],
            indexing="ij",
        )
    )
    tpv, ppv, epv = (a.astype(np.float64) for a in (tpv, ppv, epv))
    numeric = np.array([positive_int("batch", b) for b in batch if b != "max"], dtype=np.float64)
    sync_s = None if sync is None else float(Q_(sync).to("s").m)
    model_enum, hw_enum = pl.Enum(m.names), pl.Enum(h.names)
    fi, fo = float(isl), float(osl)

    def model_frame(mi: int) -> pl.DataFrame:
        frames = []
        d = Deployment(m, h, s, prof, mi)
        for dp in dp_attention:
            ok = deployable(m, h, mi, Layout(hi, tpv, ppv, epv, dp), calibrated, s.uneven_heads)
            lay = Layout(hi[ok], tpv[ok], ppv[ok], epv[ok], dp)
            lpp = lay.pp
            # (batches, how many per layout): one per layout at "max", the admitted numeric ones
            blocks = []
            if "max" in batch:
                limit = concurrency_limit(d, lay, fi, fo)
                blocks.append((np.maximum(np.floor(limit / lpp), 1.0), None))
            if numeric.size:
                admitted = lpp[:, None] * numeric[None, :] <= batch_cap(d, lay)[:, None]
                blocks.append((np.broadcast_to(numeric, admitted.shape)[admitted], admitted.sum(axis=1)))
            frames += [_grid_block(d, lay, b, fi, fo, sync_s, n) for b, n in blocks]
        out = pl.concat(frames)
        return out.with_columns(
            model=pl.lit(m.names[mi], dtype=model_enum),
            hardware=enum_series(out["hardware"].to_numpy().astype(np.uint32), hw_enum),
            isl=pl.lit(isl, pl.Int64),
            osl=pl.lit(osl, pl.Int64),
            context=pl.lit(isl + osl, pl.Int64),
            mode=pl.lit(mode),
        ).select(GRID_COLUMNS)

    # numpy's array loops release the GIL: one model per core, the next submitted as one is taken,
    # so at most ``workers`` frames are computed or waiting beside the one the caller holds.
    workers = min(os.cpu_count() or 1, len(m.names))
    with ThreadPoolExecutor(workers) as pool:
        pending = deque(pool.submit(model_frame, mi) for mi in range(workers))
        for mi in range(workers, len(m.names) + workers):
            frame = pending.popleft().result()
            if mi < len(m.names):
                pending.append(pool.submit(model_frame, mi))
            yield frame


GRID_COLUMNS = (
    "model",
    "hardware",
    "tp",
    "pp",
    "ep",
    "dp_attention",
    "chips",
    "batch",
    "users",
    "context",
    "isl",
    "osl",
    *SERVE_FLOAT_COLUMNS,
    "stps",
    "stps_per_chip",
    "memory_needed_gib",
    "memory_available_gib",
    "fits",
    "bound",
    "mode",
)


def _grid_block(d: Deployment, lay: Layout, batch, isl, osl, sync_s, per_layout=None) -> pl.DataFrame:
    """One block of flat layouts (hardware index, TP, PP, EP) evaluated at their batches per
    micro-batch: one each, or ``per_layout[i]`` of ``batch`` for layout ``i`` in turn."""
    expanded = list(lay[:4]) if per_layout is None else [np.repeat(a, per_layout) for a in lay[:4]]
    users = expanded[2] * batch
    r = serve_arrays(d, lay, users, isl, osl, sync_s, per_layout=per_layout)
    hi, tp, pp, ep = expanded
    dp = lay.attn_dp
    chips = (tp * pp).astype(np.int32)
    cols = {
        "hardware": hi.astype(np.uint32),
        "tp": tp.astype(np.int32),
        "pp": pp.astype(np.int32),
        "ep": ep.astype(np.int32),
        "dp_attention": np.full(hi.size, dp),
        "chips": chips,
        "batch": batch.astype(np.int64),
        "users": users.astype(np.int64),
    }
    cols |= {c: np.broadcast_to(r[c], hi.shape) for c in SERVE_FLOAT_COLUMNS}
    cols["stps"] = np.broadcast_to(r["output_tps"], hi.shape)
    cols["stps_per_chip"] = cols["stps"] / chips
    cols["memory_needed_gib"] = np.broadcast_to(r["memory_needed_bytes"], hi.shape) / GIB
    cols["memory_available_gib"] = np.broadcast_to(r["memory_available_bytes"], hi.shape) / GIB
    cols["fits"] = np.broadcast_to(r["fits"], hi.shape)
    memory_bound = (cols["t_compute_s"] <= cols["t_mem_s"]).astype(np.uint32)  # BOUND: compute, memory
    cols["bound"] = enum_series(memory_bound, BOUND)
    return pl.DataFrame(cols)


def serve_grid(
    models: Sequence[str] | None = None,
    hardware: Sequence[str] | None = None,
    *,
    mode: str = "calibrated",
    isl: int = DEFAULT_ISL,
    osl: int = DEFAULT_OSL,
    sync: pint.Quantity | None = None,
    **options,
) -> pl.DataFrame:
    """Every deployable combination of the given axes at one workload; one row per configuration.

    ``options``: the axes ``tp``, ``pp``, ``ep``, ``batch`` (as :func:`iter_serve_grid`) and what
    :func:`perfmodel.api.setup.prepare` takes (``catalogs``, ``scenario``, ``precision``,
    ``kv_precision``).
    """
    axes, given = split_options(options, GRID_AXES)
    setup = prepare(models=models, hardware=hardware, **given)
    check_serve_grid(setup, axes)
    return pl.concat(list(iter_serve_grid(setup, mode, isl, osl, sync, **axes)))


def check_serve_grid(setup: Setup, axes: dict, copies: float = GRID_COPIES) -> None:
    """Refuse a serving grid over ``setup``'s models and chips whose ``copies`` held whole would
    exceed the memory budget (:func:`perfmodel.api.decoding.check_memory`), before it is built;
    the count is an upper bound (both attention layouts, every layout deployable)."""
    n = math.prod(map(len, (setup.models.names, setup.hardware.names, (False, True), *axes.values())))
    check_memory(grid_bytes(n, len(GRID_COLUMNS), copies), f"a grid of {n:,} configurations", GRID_REDUCE)
