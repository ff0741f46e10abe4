"""Serving plans (docs/model.md §9): aggregated or disaggregated, with speculative decoding, a
prefix cache and open-loop arrivals, for one model; Quantities at the boundary.

:func:`serve_plan` answers what ``python -m perfmodel serve`` prints: the plan's latencies and
throughput, its pools and the KV transfer between them, the tokens each verify step keeps and,
with an arrival rate, the TTFT and TPOT quantiles and the goodput.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pint

from perfmodel.api.open_loop import (
    DEFAULT_TPOT_SLO,
    DEFAULT_TTFT_SLO,
    Arrivals,
    aggregated_arrivals,
    disaggregated_arrivals,
)
from perfmodel.api.serving import (
    check_workload,
    profile_for,
    resolve_concurrency,
    served_figures,
    served_json,
)
from perfmodel.api.setup import Setup, positive_int, prepare
from perfmodel.inputs import DEFAULT_ISL, DEFAULT_OSL, InvalidInput
from perfmodel.model.disaggregated import plan_arrays, prefill_budget
from perfmodel.model.serving_step import (
    Deployment,
    Layout,
    check_deployable,
    concurrency_limit,
    serve_arrays,
)
from perfmodel.model.speculation import MTP, catalog_acceptance, speculation
from perfmodel.units import Q_

_POOL = re.compile(r"(?P<chip>[^:]+):(?P<tp>[0-9]+)(?::(?P<ep>[0-9]+))?(?P<dp>:dp)?(?:x(?P<n>[0-9]+))?")


@dataclass(frozen=True)
class Pool:
    """One pool of a disaggregated plan: ``count`` instances (None: searched) of ``tp`` chips of
    ``hardware`` with ``ep`` expert-parallel ranks, attention data-parallel or not."""

    hardware: str
    tp: int
    ep: int = 1
    dp_attention: bool = False
    count: int | None = None

    @classmethod
    def parse(cls, text: str, dp_attention: bool = False) -> Pool:
        """``CHIP:TP[:EP][:dp][xN]``, e.g. ``h100-sxm:32:32:dpx3`` (``--dp-attention`` sets dp)."""
        m = _POOL.fullmatch(text.strip())
        if m is None:
            raise InvalidInput(
                f"a pool is CHIP:TP[:EP][:dp][xN] (e.g. h100-sxm:8 or h100-sxm:32:32:dpx3), got {text!r}"
            )
        tp = positive_int("tp", int(m["tp"]))
        ep = positive_int("ep", int(m["ep"] or 1))
        count = None if m["n"] is None else positive_int("instances", int(m["n"]))
        return cls(m["chip"], tp, ep, bool(m["dp"]) or dp_attention, count)


@dataclass(frozen=True)
class Drafting:
    """Speculative decoding asked for: ``k`` draft tokens by the model's MTP module (``draft``
    None) or by a draft model, at ``acceptance`` per position (None: speculative_decoding.csv)."""

    k: int
    draft: str | None = None
    acceptance: tuple[float, ...] | None = None


@dataclass(frozen=True)
class PlanServe:
    """A served plan: latencies in s, rates in token/s, memory in GiB; ``pools`` describes each
    pool (chip, layout, instances, chips, and its activity for the power model)."""

    plan: str
    model: str
    mode: str
    engine: str
    basis: str
    isl: int
    osl: int
    concurrency: int
    prefix_hit: float
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
    kv_transfer: pint.Quantity
    tokens_per_step: float
    pools: tuple[dict, ...]
    drafting: Drafting | None = None
    arrivals: Arrivals | None = field(default=None)

    @property
    def chips(self) -> int:
        return sum(p["chips"] for p in self.pools)

    def as_dict(self) -> dict:
        """The JSON of ``python -m perfmodel serve --json``: issue 11's keys (the decode pool's
        layout and memory for a disaggregated plan) and issue 23's."""
        decode = self.pools[-1]
        out = served_json(
            self, decode["hardware"], decode["tp"], decode["pp"], decode["ep"], decode["dp_attention"]
        )
        out |= {
            "plan": self.plan,
            "prefill_chips": self.pools[0]["chips"] if self.plan == "disaggregated" else 0,
            "decode_chips": decode["chips"] if self.plan == "disaggregated" else 0,
            "kv_transfer_s": float(self.kv_transfer.to("s").m),
            "tokens_per_step": self.tokens_per_step,
            "prefix_hit": self.prefix_hit,
            "pools": [{k: v for k, v in p.items() if not k.endswith("_per_s_chip")} for p in self.pools],
        }
        if self.drafting is not None:
            out["draft"] = self.drafting.draft or MTP
            out["draft_tokens"] = self.drafting.k
            out["acceptance"] = list(self.drafting.acceptance or ())
        if self.arrivals is not None:
            out |= self.arrivals.as_dict()
        return out


def check_hit(hit) -> float:
    """A prefix-cache hit rate in [0, 1)."""
    try:
        h = float(hit)
    except (TypeError, ValueError):
        raise InvalidInput(f"prefix hit must be a share in [0, 1), got {hit!r}") from None
    if not 0.0 <= h < 1.0:
        raise InvalidInput(
            f"prefix hit must be a share in [0, 1) (the prompt's last token is always computed), got {h}"
        )
    return h


def _speculation(setup: Setup, d: Deployment, lay: Layout, isl, osl, drafting: Drafting | None):
    if drafting is None:
        return None, None
    k = positive_int("draft tokens", drafting.k)
    table = setup.catalogs["speculative_decoding"]
    model = setup.models.names[d.mi]
    draft_index = None
    if drafting.draft is not None:
        if drafting.draft not in setup.models.names:
            raise InvalidInput(
                f"draft model {drafting.draft!r} is not among the models evaluated; name one of models.csv "
                f"({', '.join(setup.models.names)})"
            )
        draft_index = setup.models.index(drafting.draft)
    acceptance = drafting.acceptance or catalog_acceptance(table, model, drafting.draft or MTP, k)
    spec = speculation(d, lay, float(isl), float(osl), k, acceptance, draft_index)
    return spec, Drafting(k, drafting.draft, tuple(acceptance))


def _pool_row(name: str, hardware: str, lay: Layout, instances, r: dict, busy, capacity, fits) -> dict:
    """One pool's description, with its chips' activity at the plan's load (``busy``: the share
    of time its instances work) and ``capacity``, the requests per second the pool completes
    working all the time."""
    chips = int(lay.tp * lay.pp)
    return {
        "role": name,
        "hardware": hardware,
        "tp": int(lay.tp),
        "pp": int(lay.pp),
        "ep": int(lay.ep),
        "dp_attention": bool(lay.attn_dp),
        "instances": int(instances),
        "chips": chips * int(instances),
        "utilization": float(busy),
        "capacity_rps": float(capacity),
        "fits": bool(fits),
        "flop_per_s_chip": float(r["flop_per_s_chip"]) * float(busy),
        "bytes_per_s_chip": float(r["bytes_per_s_chip"]) * float(busy),
        "tier2_bytes_per_s_chip": float(r["tier2_bytes_per_s_chip"]) * float(busy),
    }


def serve_plan(
    model: str,
    isl=DEFAULT_ISL,
    osl=DEFAULT_OSL,
    concurrency="max",
    *,
    hardware: str | None = None,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    dp_attention: bool = False,
    prefill: Pool | None = None,
    decode: Pool | None = None,
    drafting: Drafting | None = None,
    prefix_hit=0.0,
    arrival_rate: pint.Quantity | None = None,
    ttft_slo: pint.Quantity = DEFAULT_TTFT_SLO,
    tpot_slo: pint.Quantity = DEFAULT_TPOT_SLO,
    prefill_tokens: int | None = None,
    setup: Setup | None = None,
    **given,
) -> PlanServe:
    """Serve ``model`` on an aggregated instance (``hardware``, ``tp``, ``pp``, ``ep``) or on a
    disaggregated plan (``prefill`` and ``decode`` pools, their counts searched where not given),
    in calibrated mode (docs/model.md §9). ``concurrency``: requests in flight per (decode)
    instance, or ``"max"``; ``arrival_rate`` adds the open-loop figures (Poisson arrivals at that
    rate over the whole plan). ``given``: what :func:`perfmodel.api.setup.prepare` takes."""
    if (prefill is None) != (decode is None):
        raise InvalidInput("a disaggregated plan needs both pools: give --prefill-pool and --decode-pool")
    isl, osl = check_workload(isl, osl)
    hit = check_hit(prefix_hit)
    chips = [p.hardware for p in (prefill, decode) if p is not None] or [hardware]
    if chips[0] is None:
        raise InvalidInput("name the chip (--hardware) or both pools (--prefill-pool, --decode-pool)")
    models = [model] + ([drafting.draft] if drafting and drafting.draft else [])
    setup = setup or prepare(models=list(dict.fromkeys(models)), hardware=list(dict.fromkeys(chips)), **given)
    m, h, s = setup.models, setup.hardware, setup.scenario
    mi = m.index(model)
    prof = profile_for(setup, "calibrated")
    d = Deployment(m, h, s, prof, mi)
    if prefill is None:
        lay = Layout(
            h.index(hardware),
            positive_int("tp", tp),
            positive_int("pp", pp),
            positive_int("ep", ep),
            dp_attention,
        )
        return _aggregated(
            setup, d, lay, isl, osl, concurrency, hit, drafting, arrival_rate, ttft_slo, tpot_slo
        )
    return _disaggregated(
        setup,
        d,
        prefill,
        decode,
        isl,
        osl,
        concurrency,
        hit,
        drafting,
        arrival_rate,
        ttft_slo,
        tpot_slo,
        prefill_tokens,
    )


def _q(x, unit: str) -> pint.Quantity:
    return Q_(float(np.asarray(x)), unit)


def _aggregated(setup, d, lay, isl, osl, concurrency, hit, drafting, rate, ttft_slo, tpot_slo) -> PlanServe:
    m, h = setup.models, setup.hardware
    check_deployable(m, h, d.mi, lay, True, setup.scenario.uneven_heads)
    spec, drafting = _speculation(setup, d, lay, isl, osl, drafting)
    c = resolve_concurrency(d, lay, isl, osl, concurrency)

    def at(n):
        return serve_arrays(d, lay, n, float(isl), float(osl), hit=hit, spec=spec)

    r = at(float(c))
    open_loop = None
    if rate is not None:
        cap = float(concurrency_limit(d, lay, float(isl), float(osl)))
        open_loop = aggregated_arrivals(at, cap, rate, ttft_slo, tpot_slo)
    return PlanServe(
        "aggregated",
        m.names[d.mi],
        "calibrated",
        d.prof.engine[lay.hi],
        d.prof.basis[lay.hi],
        isl,
        osl,
        c,
        hit,
        kv_transfer=Q_(0.0, "s"),
        tokens_per_step=1.0 if spec is None else float(spec.tokens),
        pools=(
            _pool_row(
                "aggregated", h.names[lay.hi], _scalar(lay), 1, r, 1.0, r["output_tps"] / osl, r["fits"]
            ),
        ),
        drafting=drafting,
        arrivals=open_loop,
        **served_figures(r),
    )


def _scalar(lay: Layout) -> Layout:
    return Layout(int(lay.hi), float(lay.tp), float(lay.pp), float(lay.ep), bool(lay.attn_dp))


def _pool_layout(setup: Setup, pool: Pool, role: str) -> Layout:
    h = setup.hardware
    if pool.hardware not in h.names:
        raise InvalidInput(f"{role} pool chip {pool.hardware!r} is not a chip of hardware.csv")
    return Layout(h.index(pool.hardware), pool.tp, 1, pool.ep, pool.dp_attention)


def _disaggregated(
    setup, d, prefill, decode, isl, osl, concurrency, hit, drafting, rate, ttft_slo, tpot_slo, prefill_tokens
) -> PlanServe:
    m, h = setup.models, setup.hardware
    lay_p, lay_d = _pool_layout(setup, prefill, "prefill"), _pool_layout(setup, decode, "decode")
    for lay in (lay_p, lay_d):
        check_deployable(m, h, d.mi, lay, True, setup.scenario.uneven_heads)
    budget = (
        prefill_budget(lay_p)
        if prefill_tokens is None
        else float(positive_int("prefill tokens", prefill_tokens))
    )
    spec, drafting = _speculation(setup, d, lay_d, isl, osl, drafting)
    c = resolve_concurrency(d, lay_d, isl, osl, concurrency)
    r = plan_arrays(
        d,
        lay_p,
        lay_d,
        float(c),
        float(isl),
        float(osl),
        hit,
        spec,
        prefill.count,
        decode.count,
        budget=budget,
    )
    r["in_memory"] = r["in_memory"] & r["prefill_fits"]  # the prompts' KV beside the prefill weights too
    n_p, n_d = int(r["prefill_instances"]), int(r["decode_instances"])
    rate_plan = float(r["request_rate"])
    busy_p, busy_d = rate_plan / (n_p * float(r["prefill_rate"])), rate_plan / (n_d * float(r["rate"]))
    pools = (
        _pool_row(
            "prefill",
            prefill.hardware,
            lay_p,
            n_p,
            r["prefill_activity"],
            busy_p,
            n_p * r["prefill_rate"],
            r["prefill_fits"],
        ),
        _pool_row("decode", decode.hardware, lay_d, n_d, r, busy_d, n_d * r["rate"], r["decode_fits"]),
    )
    open_loop = None
    if rate is not None:
        open_loop = disaggregated_arrivals(
            d, budget, lay_p, lay_d, r, spec, c, isl, osl, hit, (n_p, n_d), rate, ttft_slo, tpot_slo
        )
    engines = dict.fromkeys(d.prof.engine[x.hi] for x in (lay_p, lay_d))
    return PlanServe(
        "disaggregated",
        m.names[d.mi],
        "calibrated",
        "+".join(engines),
        "+".join(dict.fromkeys(d.prof.basis[x.hi] for x in (lay_p, lay_d))),
        isl,
        osl,
        c,
        hit,
        kv_transfer=_q(r["kv_transfer_s"], "s"),
        tokens_per_step=float(r["tokens_per_step"]),
        pools=pools,
        drafting=drafting,
        arrivals=open_loop,
        **served_figures(r),
    )


def plan_pools(
    texts: Sequence[str | None], dp_attention: bool = False, resolve: Callable[[str], str] = str
) -> tuple[Pool | None, Pool | None]:
    """The two pools from their ``CHIP:TP[:EP][:dp][xN]`` texts (None: no pool), each chip's name
    as ``resolve`` spells it (the catalog's spelling, or an error naming the valid ones)."""
    pools = [None if t is None else Pool.parse(t, dp_attention) for t in texts]
    return tuple(None if p is None else replace(p, hardware=resolve(p.hardware)) for p in pools)
