"""Disaggregated serving: a prefill pool and a decode pool, the KV cache moved between them.

The plan of DistServe (arXiv 2401.09670), Mooncake (arXiv 2407.00079) and SGLang's and DeepSeek's
deployments (docs/model.md §9.3). Each pool is ``N`` instances of one layout, possibly of
different chips:

- a **prefill instance** runs prefill-only steps of up to its token budget: a prompt of
  ``ISL' = (1 - h) ISL`` tokens to compute (prefix cache hit ``h``) advances ``chunk = min(ISL',
  budget)`` tokens a step, beside up to ``n = floor(budget / ISL')`` other prompts, so a step
  holds ``n chunk`` tokens and a prompt is served in ``S_p = ceil(ISL' / chunk) t(n chunk)``;
  the instance completes ``mu_p = PP n / S_p`` prompts per second;
- a **decode instance** runs decode-only steps of its ``C`` sequences (no prompt chunks between
  them, the point of disaggregation): ``TPOT = t(C) / E`` with ``E`` tokens kept per step
  (speculative decoding), each request ``(OSL - 1) TPOT`` in it, ``mu_d = C / ((OSL - 1) TPOT)``;
- the **KV transfer** of each prompt, ``t_kv = t_link + KV(ISL) / (links bw)``: inside the
  scale-up domain when both pools are the same chip and fit one domain together, else over the
  scale-out network (per-chip NIC bandwidth and latency; mixed chips: the slower side). One link
  per rank holding the sequence (every TP rank of the smaller instance; one rank with attention
  data-parallel, which keeps a sequence on one rank). It delays the first token and runs beside
  compute (RDMA from the prefill's memory): it is in TTFT, not in the pools' rates.

The plan completes ``min(N_p mu_p, N_d mu_d)`` requests per second (:func:`plan_rate`); the pool
counts that maximise output tokens per second per chip are searched (:func:`best_counts`).
"""

from __future__ import annotations

import numpy as np

from perfmodel.model import plan_equations as plan_eq
from perfmodel.model import serving_equations as eq
from perfmodel.model.decode_step import kv_bytes_per_sequence
from perfmodel.model.serving_step import (
    STEP_KEYS,
    Deployment,
    Layout,
    Speculation,
    decode_step,
    kv_replicas,
    layout_terms,
    memory_concurrency,
    served,
    step_parts,
)

#: Instances per pool the ratio search tries (1 to 64 each: up to 64 prefill against 64 decode
#: instances, wider than any public deployment's ratio, e.g. SGLang's 4 prefill to 9 decode nodes).
MAX_INSTANCES = 64
#: Share of the best tokens/s per chip a smaller plan may give up (1 %) and still be chosen.
COUNT_TOLERANCE = 0.01
#: Prompt tokens a prefill instance's step takes per attention rank: 16,384 (DeepSeek's prefill
#: profile, github.com/deepseek-ai/profile-data: "a batch size of 16K tokens per GPU"; SGLang's
#: 96-H100 deployment, lmsys.org/blog/2025-05-05-large-scale-ep: --chunked-prefill-size 524288
#: over 32 data-parallel ranks). A prefill-only instance is configured for its prompts; the
#: engine's own budget (engine_profiles.csv) is sized for steps shared with decode.
PREFILL_TOKENS_PER_RANK = 16_384


def _layout(lay: Layout) -> Layout:
    tp, pp, ep = (np.asarray(a, dtype=np.float64) for a in lay[1:4])
    return Layout(np.asarray(lay.hi, dtype=np.int64), tp, pp, ep, np.asarray(lay.attn_dp, dtype=bool))


def prefill_budget(lay: Layout):
    """Tokens of a prefill-only step: :data:`PREFILL_TOKENS_PER_RANK` per attention rank."""
    return PREFILL_TOKENS_PER_RANK * np.where(
        np.asarray(lay.attn_dp), np.asarray(lay.tp, dtype=np.float64), 1.0
    )


def prefill_pool(d: Deployment, lay: Layout, isl, hit=0.0, sync_s=None, prompts=None, budget=None) -> dict:
    """A prefill instance of ``lay``: ``service_s`` (S_p), ``rate`` (mu_p, prompts/s),
    ``step_tokens``, ``prompts_per_step`` (n; at most ``prompts`` where given, a step sized to a
    lighter load), whether the prompts' KV cache ``fits`` beside the weights, the step's figures
    (:data:`STEP_KEYS`) and ``chips``. ``budget``: tokens of a step (default
    :func:`prefill_budget`)."""
    lay = _layout(lay)
    L = layout_terms(d, lay, isl, 2.0, sync_s, hit)
    new = plan_eq.new_prompt_tokens(isl, hit)
    budget = prefill_budget(lay) if budget is None else np.asarray(budget, dtype=np.float64)
    chunk = np.minimum(new, budget)
    n = np.where(np.isfinite(budget), np.maximum(np.floor(budget / new), 1.0), 1.0)
    if prompts is not None:
        n = np.minimum(n, prompts)
    step = step_parts(L, 0.0, n * chunk)
    service = eq.prefill_chunks(new, chunk) * step["t"]
    held = memory_concurrency(d, lay, isl, 2.0)  # the prompts' KV cache until it is sent
    return {
        "service_s": service,
        "rate": lay.pp * n / service,
        "step_tokens": n * chunk,
        "prompts_per_step": n,
        "fits": held >= lay.pp * n,
        "chips": lay.tp * lay.pp,
        **{k: step[k] for k in STEP_KEYS},
    }


def decode_pool(
    d: Deployment, lay: Layout, concurrency, isl, osl, spec: Speculation | None = None, sync_s=None
) -> dict:
    """A decode instance of ``lay`` with ``concurrency`` sequences: the figures of
    :func:`~perfmodel.model.serving_step.served` (TTFT left 0 for the plan to set), ``rate``
    (mu_d, requests/s), ``tokens_per_step`` and ``chips``."""
    lay = _layout(lay)
    L = layout_terms(d, lay, isl, osl, sync_s)
    kept = 1.0 if spec is None else spec.tokens
    step = decode_step(L, np.asarray(concurrency, dtype=np.float64) / lay.pp, 0.0, True, spec)
    tpot = step["t"] / kept
    r = served(L, concurrency, osl, 0.0, tpot, step, spec)
    return r | {
        "rate": concurrency / (eq.decode_steps(osl) * tpot),
        "tokens_per_step": kept,
        "chips": lay.tp * lay.pp,
    }


def kv_link(d: Deployment, lay_p: Layout, lay_d: Layout, span):
    """``(links, bandwidth per link [B/s], latency [s])`` between a prefill and a decode instance
    of a plan ``span`` chips wide (both pools): the scale-up domain when the two are the same
    chip and the plan fits in one domain, else the scale-out network of the slower side."""
    h = d.h
    hp, hd = (np.asarray(x.hi, dtype=np.int64) for x in (lay_p, lay_d))
    inside = (hp == hd) & (span <= h.domain[hp])
    bw = np.where(inside, h.scaleup_bw[hp], np.minimum(h.scaleout_bw[hp], h.scaleout_bw[hd]))
    latency = np.where(inside, h.sync[hp], np.maximum(h.scaleout_sync[hp], h.scaleout_sync[hd]))
    ranks = [
        np.where(np.asarray(x.attn_dp), 1.0, np.asarray(x.tp, dtype=np.float64) * x.pp)
        for x in (lay_p, lay_d)
    ]
    return np.minimum(*ranks), bw, latency


def kv_transfer(d: Deployment, lay_p: Layout, lay_d: Layout, isl, span):
    """Seconds to move one prompt's KV cache (its prefill instance's replicas) to decode (§9.3)."""
    kv = kv_bytes_per_sequence(d.m, d.s, d.mi, isl) * kv_replicas(d.m, d.mi, lay_p.tp, d.prof, lay_p.attn_dp)
    links, bw, latency = kv_link(d, lay_p, lay_d, span)
    return plan_eq.kv_transfer_time(kv, links, bw, latency)


def plan_rate(prefill: dict, decode: dict, n_prefill, n_decode):
    """Requests per second of ``n_prefill`` and ``n_decode`` instances, ``min(N_p mu_p, N_d mu_d)``."""
    return plan_eq.plan_request_rate(n_prefill, prefill["rate"], n_decode, decode["rate"])


def best_counts(prefill: dict, decode: dict, n_prefill=None, n_decode=None):
    """The pool counts (each 1 to :data:`MAX_INSTANCES`, or as given) with the most output tokens
    per second per chip, ``OSL min(N_p mu_p, N_d mu_d) / (N_p c_p + N_d c_d)``: the fewest chips
    among those within :data:`COUNT_TOLERANCE` of the best (a finer balance of the two pools that
    gains less is not worth a larger plan). For a given ``N_p`` the rate per chip rises with
    ``N_d`` up to the balance ``N_p mu_p / mu_d`` and falls beyond it, so only the two whole
    counts around the balance are tried. Returns ``(n_prefill, n_decode)`` as arrays of the plans'
    shape."""
    mu_p, mu_d, c_p, c_d = (
        np.asarray(x, dtype=np.float64)[..., None]
        for x in (prefill["rate"], decode["rate"], prefill["chips"], decode["chips"])
    )

    def around(n, ratio):
        balance = n * ratio
        return np.clip(np.concatenate([np.floor(balance), np.ceil(balance)], axis=-1), 1, MAX_INSTANCES)

    grid = np.arange(1, MAX_INSTANCES + 1, dtype=np.float64)
    if n_prefill is not None and n_decode is not None:
        n_p, n_d = np.asarray([float(n_prefill)]), np.asarray([float(n_decode)])
    elif n_decode is not None:
        n_d = np.asarray([float(n_decode)])
        n_p = around(n_d * np.ones_like(mu_p), mu_d / mu_p)
        n_d = np.broadcast_to(n_d, n_p.shape)
    else:
        n_p = np.asarray([float(n_prefill)]) if n_prefill is not None else grid
        n_p = n_p * np.ones_like(mu_p)
        n_d = around(n_p, mu_p / mu_d)
        n_p = np.concatenate([n_p, n_p], axis=-1)
    chips = n_p * c_p + n_d * c_d
    per_chip = np.minimum(n_p * mu_p, n_d * mu_d) / chips
    per_chip = np.where(np.isfinite(per_chip), per_chip, 0.0)
    best = per_chip.max(axis=-1, keepdims=True)
    pick = np.argmin(np.where(per_chip >= best * (1 - COUNT_TOLERANCE), chips, np.inf), axis=-1)[..., None]
    shape = np.broadcast_shapes(per_chip.shape, n_p.shape)
    take = (np.take_along_axis(np.broadcast_to(x, shape), pick, axis=-1)[..., 0] for x in (n_p, n_d))
    return tuple(take)


def plan_arrays(
    d: Deployment,
    lay_p: Layout,
    lay_d: Layout,
    concurrency,
    isl,
    osl,
    hit=0.0,
    spec: Speculation | None = None,
    n_prefill=None,
    n_decode=None,
    sync_s=None,
    budget=None,
) -> dict:
    """A disaggregated plan (module doc): the decode pool's figures with the plan's ``ttft_s``,
    ``request_latency_s``, ``output_tps`` (both pools), ``prefill_instances``,
    ``decode_instances``, ``prefill_chips``, ``decode_chips`` (each pool's total),
    ``kv_transfer_s``, ``request_rate``, ``prefill_service_s``, ``prefill_rate``,
    ``prompts_per_step``, ``prefill_fits``, ``decode_fits``, ``prefill_activity`` (the prefill chips' FLOP/s and
    bytes/s while busy) and ``fits`` (both pools); ``concurrency`` is per decode instance.
    ``budget``: tokens of a prefill step (default :func:`prefill_budget`)."""
    prefill = prefill_pool(d, lay_p, isl, hit, sync_s, budget=budget)
    decode = decode_pool(d, lay_d, concurrency, isl, osl, spec, sync_s)
    return plan_of_pools(d, lay_p, lay_d, prefill, decode, isl, osl, n_prefill, n_decode)


def plan_of_pools(
    d: Deployment,
    lay_p: Layout,
    lay_d: Layout,
    prefill: dict,
    decode: dict,
    isl,
    osl,
    n_prefill=None,
    n_decode=None,
) -> dict:
    """:func:`plan_arrays` from pools already evaluated (:func:`prefill_pool`,
    :func:`decode_pool`), their arrays broadcast against each other (a plan search pairs every
    prefill layout with every decode point)."""
    n_p, n_d = best_counts(prefill, decode, n_prefill, n_decode)
    chips_p, chips_d = n_p * prefill["chips"], n_d * decode["chips"]
    t_kv = kv_transfer(d, _layout(lay_p), _layout(lay_d), isl, chips_p + chips_d)
    rate = plan_rate(prefill, decode, n_p, n_d)
    ttft = prefill["service_s"] + t_kv
    return decode | {
        "ttft_s": ttft,
        "request_latency_s": eq.request_latency(ttft, decode["tpot_s"], osl),
        "output_tps": rate * osl,
        "request_rate": rate,
        "prefill_instances": n_p,
        "decode_instances": n_d,
        "prefill_chips": chips_p,
        "decode_chips": chips_d,
        "kv_transfer_s": t_kv,
        "prefill_service_s": prefill["service_s"],
        "prefill_rate": prefill["rate"],
        "prefill_fits": prefill["fits"],
        "prompts_per_step": prefill["prompts_per_step"],
        "prefill_activity": {
            f"{k}_per_s_chip": prefill[k] / (prefill["chips"] * prefill["t"])
            for k in ("flop", "bytes", "tier2_bytes")
        },
        "decode_fits": decode["fits"],
        "fits": decode["fits"] & prefill["fits"],
    }
