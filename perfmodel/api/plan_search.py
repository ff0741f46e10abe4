"""Serving plans searched: every plan of a model on each chip, and the best under a UTPS floor
(docs/model.md §9.6).

Candidates per chip: aggregated instances of every deployable layout (TP a power of two within
the scale-up domain, EP 1 or TP, attention data-parallel or not; for MoE models wide expert
parallelism with attention data-parallel up to :data:`WIDE_EP` chips), and disaggregated plans
pairing every decode point with the best prefill layout for it (pool counts searched); each with
and without the model's MTP module where speculative_decoding.csv has its acceptance; each over a
geometric grid of concurrencies. :func:`plan_frame` returns them as rows of the serving grid's
columns (so the economics prices them) plus :data:`PLAN_COLUMNS`; :func:`best_plan` picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from perfmodel.api.plans import Drafting, PlanServe, Pool, serve_plan
from perfmodel.api.serving import GRID_COLUMNS, SERVE_FLOAT_COLUMNS, check_workload, profile_for
from perfmodel.api.setup import BOUND, GIB, Setup, enum_series, prepare
from perfmodel.inputs import InvalidInput
from perfmodel.model.disaggregated import decode_pool, plan_of_pools, prefill_pool
from perfmodel.model.profiles import ServingProfile
from perfmodel.model.serving_step import Deployment, Layout, concurrency_limit, deployable, serve_arrays
from perfmodel.model.speculation import MTP, catalog_acceptance, speculation

#: Widest expert-parallel group a plan search tries beyond the scale-up domain (chips); DeepSeek
#: serves decode on EP144 (its inference-system overview, 2025), SGLang on EP72.
WIDE_EP = 64
#: Concurrencies tried per instance: 48 points from 1 to the most that fits, geometric.
CONCURRENCY_POINTS = 48
#: What names a plan besides the serving grid's columns (the decode pool's layout is in ``tp``,
#: ``ep``, ``dp_attention``; ``chips`` counts both pools; ``batch`` is per decode instance).
PLAN_COLUMNS = ("plan", "mtp", "prefill", "prefill_instances", "decode_instances")
PLANS = ("aggregated", "disaggregated")


@dataclass(frozen=True)
class PlanChoice:
    """The best plan (None: none meets the floor) and every candidate's best point."""

    best: PlanServe | None
    candidates: pl.DataFrame


def layouts(setup: Setup, mi: int, hi: int) -> list[Layout]:
    """The deployable layouts a search tries on chip ``hi`` (module doc)."""
    m, h = setup.models, setup.hardware
    moe = m.experts[mi] > 1
    out = []
    tp = 1
    while tp <= max(int(h.domain[hi]), WIDE_EP if moe else 1):
        for ep in (1, tp) if moe and tp > 1 else (1,):
            for dp in (False, True) if ep == tp > 1 else (False,):
                lay = Layout(hi, float(tp), 1.0, float(ep), dp)
                if bool(deployable(m, h, mi, lay, True, setup.scenario.uneven_heads)):
                    out.append(lay)
        tp *= 2
    return out


def _concurrencies(top: float) -> np.ndarray:
    """:data:`CONCURRENCY_POINTS` whole concurrencies from 1 to ``top``, geometric (none below 1)."""
    return np.unique(np.round(np.geomspace(1, top, CONCURRENCY_POINTS))) if top >= 1 else np.zeros(0)


def _text(tp, ep, dp) -> str:
    return f"{int(tp)}:{int(ep)}" + (":dp" if dp else "")


def _stack(lays: Sequence[Layout]) -> Layout:
    return Layout(*(np.array([getattr(x, f) for x in lays]) for f in Layout._fields))


def plan_frame(
    setup: Setup,
    model: str,
    isl: int,
    osl: int,
    plans: Sequence[str] = PLANS,
    mtp: Sequence[bool] = (False, True),
    pinned: tuple[Pool | None, Pool | None] = (None, None),
    profile: ServingProfile | None = None,
) -> pl.DataFrame:
    """Every candidate plan point of ``model`` on each chip of ``setup`` (module doc) as rows of
    the serving grid's columns plus :data:`PLAN_COLUMNS`. ``pinned``: the prefill and decode
    pools' layouts (and counts, where given) on every chip."""
    isl, osl = check_workload(isl, osl)
    unknown = set(plans) - set(PLANS)
    if unknown:
        raise InvalidInput(f"unknown plan {sorted(unknown)[0]!r}; valid: {', '.join(PLANS)}")
    m, h, s = setup.models, setup.hardware, setup.scenario
    mi = m.index(model)
    d = Deployment(m, h, s, profile or profile_for(setup, "calibrated"), mi)
    table = setup.catalogs["speculative_decoding"]
    rows = table.df.filter((table.df["model"] == model) & (table.df["draft"] == MTP))
    drafts = [0] + ([int(rows["position"].max())] if not rows.is_empty() else [])
    drafts = [k for k in drafts if (k > 0) in mtp]
    acceptance = {k: catalog_acceptance(table, model, MTP, k) for k in drafts if k}
    fi, fo = float(isl), float(osl)
    frames = []
    for hi in range(len(h.names)):
        tried = layouts(setup, mi, hi)
        pick = [
            None if p is None else Layout(hi, float(p.tp), 1.0, float(p.ep), p.dp_attention) for p in pinned
        ]
        counts = [None if p is None else p.count for p in pinned]
        prefill_lays, decode_lays = ([x] if x is not None else tried for x in pick)
        if not decode_lays:
            continue
        prefill = prefill_pool(d, _stack(prefill_lays), fi) if prefill_lays else None
        # every decode layout at each of its concurrencies, as one flat array of layouts
        tops = np.atleast_1d(concurrency_limit(d, _stack(decode_lays), fi, fo))
        grids = [_concurrencies(float(t)) for t in tops]
        if not any(g.size for g in grids):
            continue
        sizes = [g.size for g in grids]
        lay_d = Layout(
            *(np.repeat(np.asarray(getattr(_stack(decode_lays), f)), sizes) for f in Layout._fields)
        )
        conc = np.concatenate(grids)
        for k in drafts:
            spec = speculation(d, lay_d, fi, fo, k, acceptance[k]) if k else None
            if "aggregated" in plans:
                r = serve_arrays(d, lay_d, conc, fi, fo, spec=spec)
                frames.append(_rows(mi, lay_d, conc, r, r["output_tps"], lay_d.tp, k, "aggregated"))
            if "disaggregated" in plans and prefill is not None:
                frames.append(
                    _disaggregated_rows(d, mi, prefill_lays, prefill, lay_d, conc, spec, k, counts, fi, fo)
                )
    if not frames:
        return pl.DataFrame()
    return _frame(setup, frames).with_columns(
        isl=pl.lit(isl, pl.Int64), osl=pl.lit(osl, pl.Int64), context=pl.lit(isl + osl, pl.Int64)
    )


def _disaggregated_rows(d, mi, prefill_lays, prefill, lay_d, conc, spec, k, counts, isl, osl) -> dict:
    """Each decode point with the prefill layout that gives it the most output tokens/s per chip
    at balanced pools, ``1 / (c_p / mu_p + c_d / mu_d)`` requests/s per chip (the bound the whole
    pool counts of :func:`~perfmodel.model.disaggregated.best_counts` approach), then its counts."""
    decode = decode_pool(d, lay_d, conc, isl, osl, spec)
    balanced = 1.0 / (
        prefill["chips"][:, None] / prefill["rate"][:, None] + decode["chips"] / decode["rate"][None, :]
    )
    ok = prefill["fits"][:, None] & np.broadcast_to(decode["fits"], conc.shape)[None, :]
    best = np.argmax(np.where(ok & np.isfinite(balanced), balanced, -1.0), axis=0)
    stacked = _stack(prefill_lays)
    lay_p = Layout(*(np.asarray(getattr(stacked, f))[best] for f in Layout._fields))
    P = {key: (np.asarray(v)[best] if np.ndim(v) else v) for key, v in prefill.items()}
    r = plan_of_pools(d, lay_p, lay_d, P, decode, isl, osl, counts[0], counts[1])

    def at(x):
        return np.broadcast_to(np.asarray(x, dtype=np.float64), conc.shape)

    # the plan's activity per chip: each pool's chips at their utilization, averaged over both pools
    rate, n_p, n_d = at(r["request_rate"]), at(r["prefill_instances"]), at(r["decode_instances"])
    busy_p, busy_d = rate / (n_p * at(r["prefill_rate"])), rate / (n_d * at(r["rate"]))
    c_p, c_d = at(r["prefill_chips"]), at(r["decode_chips"])
    picked = {
        key: at(r[key]) for key in (*SERVE_FLOAT_COLUMNS, "memory_needed_bytes", "memory_available_bytes")
    }
    for key in ("flop_per_s_chip", "bytes_per_s_chip", "tier2_bytes_per_s_chip"):
        picked[key] = (c_p * busy_p * at(r["prefill_activity"][key]) + c_d * busy_d * at(r[key])) / (
            c_p + c_d
        )
    picked["fits"] = np.broadcast_to(r["fits"], conc.shape)
    cols = _rows(mi, lay_d, conc, picked, at(r["output_tps"]), c_p + c_d, k, "disaggregated", n_d)
    texts = np.array([_text(x.tp, x.ep, x.attn_dp) for x in prefill_lays], dtype=object)
    return cols | {
        "prefill": texts[best],
        "prefill_instances": n_p.astype(np.int64),
        "decode_instances": n_d.astype(np.int64),
    }


def _rows(mi, lay, conc, r, tps, chips, k, plan, instances=1.0) -> dict:
    """Columns (numpy arrays) of :data:`GRID_COLUMNS` and :data:`PLAN_COLUMNS` for decode points
    (``lay`` one layout or one per point); :func:`_frame` joins them."""
    n = conc.size
    chips = np.broadcast_to(np.asarray(chips, dtype=np.float64), (n,))
    stps = np.broadcast_to(np.asarray(tps, dtype=np.float64), (n,))

    def each(x, dtype):
        return np.broadcast_to(np.asarray(x), (n,)).astype(dtype)

    cols = {
        "model": np.full(n, mi, dtype=np.uint32),
        "hardware": each(lay.hi, np.uint32),
        "tp": each(lay.tp, np.int32),
        "pp": each(lay.pp, np.int32),
        "ep": each(lay.ep, np.int32),
        "dp_attention": each(lay.attn_dp, bool),
        "chips": chips.astype(np.int32),
        "batch": conc.astype(np.int64),
        "users": (conc * np.broadcast_to(instances, (n,))).astype(np.int64),
        **{c: np.broadcast_to(np.asarray(r[c], dtype=np.float64), (n,)) for c in SERVE_FLOAT_COLUMNS},
        "stps": stps,
        "stps_per_chip": stps / chips,
        "memory_needed_gib": np.broadcast_to(r["memory_needed_bytes"], (n,)) / GIB,
        "memory_available_gib": np.broadcast_to(r["memory_available_bytes"], (n,)) / GIB,
        "fits": np.broadcast_to(np.asarray(r["fits"], dtype=bool), (n,)),
        "plan": np.full(n, PLANS.index(plan), dtype=np.uint32),
        "mtp": np.full(n, k, dtype=np.int64),
        "prefill": np.full(n, "", dtype=object),
        "prefill_instances": np.zeros(n, dtype=np.int64),
        "decode_instances": np.ones(n, dtype=np.int64),
    }
    return cols


def _frame(setup: Setup, blocks: list[dict]) -> pl.DataFrame:
    """One frame of the blocks of :func:`_rows`, in :data:`GRID_COLUMNS` then :data:`PLAN_COLUMNS`."""
    cols = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    t_compute, t_mem = cols["t_compute_s"], cols["t_mem_s"]
    frame = pl.DataFrame(
        {k: v for k, v in cols.items() if k not in ("model", "hardware", "plan", "prefill")}
        | {
            "model": enum_series(cols["model"], pl.Enum(setup.models.names)),
            "hardware": enum_series(cols["hardware"], pl.Enum(setup.hardware.names)),
            "plan": enum_series(cols["plan"], pl.Enum(PLANS)).cast(pl.String),
            "prefill": pl.Series(cols["prefill"].tolist(), dtype=pl.String),
            "bound": enum_series((t_compute <= t_mem).astype(np.uint32), BOUND),
        }
    )
    return frame.with_columns(
        context=pl.lit(None, pl.Int64),
        isl=pl.lit(None, pl.Int64),
        osl=pl.lit(None, pl.Int64),
        mode=pl.lit("calibrated"),
    ).select(*GRID_COLUMNS, *PLAN_COLUMNS)


def best_plan(
    model: str,
    hardware: str,
    isl: int,
    osl: int,
    min_utps: float,
    *,
    plans: tuple[str, ...] = PLANS,
    mtp: tuple[bool, ...] = (False, True),
    prefill: Pool | None = None,
    decode: Pool | None = None,
    setup: Setup | None = None,
    **given,
) -> PlanChoice:
    """The plan with the most output tokens/s per chip at UTPS >= ``min_utps`` on ``hardware``;
    ``plans``, ``mtp`` and the pools' layouts (``prefill``, ``decode``: their chip is
    ``hardware``; a count given is kept) pin what is searched, so a buyer compares like with like.
    ``candidates``: each plan's (plan, MTP, prefill and decode layouts) best point."""
    if not min_utps >= 0:
        raise InvalidInput(f"min_utps must be >= 0 tokens/s, got {min_utps}")
    setup = setup or prepare(models=[model], hardware=[hardware], **given)
    if list(setup.hardware.names) != [hardware]:
        setup = prepare(setup.catalogs, setup.scenario, None, [model], [hardware], engine=setup.engine)
    frame = plan_frame(setup, model, isl, osl, plans, mtp, (prefill, decode))
    keys = ["plan", "mtp", "prefill", "tp", "ep", "dp_attention"]
    fitting = frame.filter("fits") if not frame.is_empty() else frame
    if fitting.is_empty():
        return PlanChoice(None, fitting)
    meets = pl.col("utps") >= min_utps
    cands = (
        fitting.with_columns(
            meets=meets, score=pl.when(meets).then("stps_per_chip").otherwise(-pl.col("utps"))
        )
        .sort("score", descending=True)
        .group_by(keys, maintain_order=True)
        .first()
        .drop("score")
    )
    ok = cands.filter("meets")
    if ok.is_empty():
        return PlanChoice(None, cands)
    top = ok.row(0, named=True)
    drafting = Drafting(top["mtp"]) if top["mtp"] else None
    dec = Pool(hardware, top["tp"], top["ep"], top["dp_attention"], top["decode_instances"])
    if top["plan"] == "aggregated":
        best = serve_plan(
            model,
            isl,
            osl,
            top["batch"],
            hardware=hardware,
            tp=dec.tp,
            ep=dec.ep,
            dp_attention=dec.dp_attention,
            drafting=drafting,
            setup=setup,
        )
    else:
        tp, ep, *dp = top["prefill"].split(":")
        pre = Pool(hardware, int(tp), int(ep), bool(dp), top["prefill_instances"])
        best = serve_plan(
            model, isl, osl, top["batch"], prefill=pre, decode=dec, drafting=drafting, setup=setup
        )
    return PlanChoice(best, cands)
