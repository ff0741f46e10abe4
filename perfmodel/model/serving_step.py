"""The serving model: a continuously batched server with chunked prefill, in steady state.

``C`` requests are in flight on an instance of ``TP x PP`` chips (``C / PP`` per pipeline
micro-batch). Every step carries the decode tokens of the sequences that decode and, in chunks,
the prompts of the requests that replace finished ones (chunked prefill, vLLM V1 and
Sarathi-Serve style); weights stream once per step for both. The step is timed like the limit
model's decode step (arXiv 2507.14397) at the efficiencies of a :class:`ServingProfile`:

1. first pass, every sequence decoding; prompts bring ``P = B ISL / (OSL - 1)`` tokens per step
   on average, in chunks: a share ``min(P / chunk, 1)`` of steps carries one, the rest only
   decode, and the mean step ``t_1`` weighs the two kinds;
2. TTFT: a new prompt advances ``chunk = min(ISL, budget - B)`` tokens per step, each step
   carrying ``B`` decode tokens and, when prompts arrive faster than one chunk per step, the
   other prompts' chunks beside it: ``TTFT = ceil(ISL / chunk) t(B, max(P, chunk))``;
3. the sequences still in prefill do not decode: ``B_dec = B D t_1 / (TTFT + D t_1)``, and the
   steady mean step at ``B_dec`` is the TPOT (one correction, first order in TTFT / latency);
4. latency ``TTFT + (OSL - 1) TPOT``; output tokens/s ``C OSL / latency`` (Little's law).

Memory holds the KV blocks in use, as paged-KV engines do: every sequence at the mean context
ISL + OSL / 2 plus the engine's reserve for growth, a share ``r`` of its remaining OSL / 2
tokens (``r = 1``: the worst case ISL + OSL, the limit's accounting and TensorRT-LLM's default;
``r = 0``: blocks on demand with preemption, vLLM). The engine's batch cap holds per
data-parallel rank. Decode is timed at the mean context ISL + OSL / 2. The equations are in :mod:`perfmodel.model.serving_equations` and
``docs/model.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from perfmodel.inputs import InvalidInput
from perfmodel.model import plan_equations as plan_eq
from perfmodel.model import serving_equations as eq
from perfmodel.model.architecture import ModelArrays
from perfmodel.model.decode_step import (
    attention_excess,
    collective_parts,
    distinct_experts,
    dp_ranks,
    expert_miss_log,
    kv_bytes_per_sequence,
    summed_collectives,
    weight_bytes_total,
)
from perfmodel.model.hardware import HardwareArrays
from perfmodel.model.profiles import ServingProfile
from perfmodel.model.scenario import Scenario


def kv_replicas(m: ModelArrays, mi, tp, prof: ServingProfile, attn_dp=False):
    """KV copies per head: 1 in the limit (the study's accounting) and with attention
    data-parallel (each rank keeps its own sequences), the engines' replication otherwise."""
    if not prof.calibrated:
        return np.ones_like(np.asarray(tp, dtype=np.float64))
    return np.where(attn_dp, 1.0, eq.kv_replication(tp, m.kv_groups[mi]))


def attention_copies(tp, attn_dp):
    """Copies of the non-expert weights: one per rank with attention data-parallel, else one."""
    return np.where(attn_dp, tp, 1.0)


def weights_held(m: ModelArrays, s: Scenario, mi, tp, attn_dp=False):
    """Bytes of weights an instance holds; with attention data-parallel every rank holds the
    attention, dense and embedding weights, and the routed experts are split across ranks."""
    extra = (attention_copies(tp, attn_dp) - 1.0) * (
        m.always_params[mi] + m.lm_head_params[mi] + m.embedding_params[mi]
    )
    return weight_bytes_total(m, s, mi) + s.weight_bytes * extra


class Layout(NamedTuple):
    """Where an instance runs, one layout or many as broadcastable arrays: the chip's index in the
    hardware arrays, tensor, pipeline and expert parallelism, attention data-parallel."""

    hi: object
    tp: object
    pp: object
    ep: object = 1.0
    attn_dp: object = False


class Deployment(NamedTuple):
    """What a serving evaluation reads besides the layout: the model and hardware arrays, the
    scenario, the serving profile, and the model's index."""

    m: ModelArrays
    h: HardwareArrays
    s: Scenario
    prof: ServingProfile
    mi: int


def kv_held(d: Deployment, lay: Layout, isl, osl):
    """KV bytes one sequence holds on average, replicas included: at the context of
    :func:`~perfmodel.model.serving_equations.held_context` under the engine's reserve."""
    m, h, s, prof, mi = d
    ctx = eq.held_context(isl, osl, prof.kv_reserve[lay.hi])
    return kv_bytes_per_sequence(m, s, mi, ctx) * kv_replicas(m, mi, lay.tp, prof, lay.attn_dp)


def batch_cap(d: Deployment, lay: Layout):
    """Most sequences the engine runs on an instance: its cap per data-parallel rank times the
    ranks (one per chip of the group with attention data-parallel, else one)."""
    return d.prof.max_concurrency[lay.hi] * np.where(lay.attn_dp, lay.tp, 1.0)


def memory_concurrency(d: Deployment, lay: Layout, isl, osl):
    """Largest concurrency whose KV cache fits beside the weights (0: the weights do not fit).

    With a second memory tier the weights live there (if they fit) and the KV cache has the
    whole usable main memory.
    """
    m, h, s, prof, mi = d
    hi, tp, pp, attn_dp = lay.hi, lay.tp, lay.pp, lay.attn_dp
    usable = eq.usable_memory(h.mem_capacity[hi], prof.memory_fraction[hi], prof.workspace[hi])
    weights = weights_held(m, s, mi, tp, attn_dp)
    tier2 = h.tier2_capacity[hi] > 0
    c = eq.max_concurrency(tp * pp, usable, np.where(tier2, 0.0, weights), kv_held(d, lay, isl, osl))
    return np.where(tier2 & (weights > tp * pp * h.tier2_capacity[hi]), 0.0, c)


def concurrency_limit(d: Deployment, lay: Layout, isl, osl):
    """Largest concurrency that fits the memory and the engine's batch cap (0: the weights do not fit)."""
    return np.minimum(memory_concurrency(d, lay, isl, osl), batch_cap(d, lay))


class Speculation(NamedTuple):
    """Speculative decoding (docs/model.md §9.1): ``k`` draft tokens per sequence and step,
    ``tokens`` kept per step (:func:`~perfmodel.model.plan_equations.tokens_per_step`), and the
    draft's cost, ``scale`` times a decode step of ``draft`` (the :func:`layout_terms` of the
    drafting network): an MTP module is one decoder layer of the model itself (``scale = k /
    layers``), a draft model runs ``k`` whole steps of its own. ``weights``: the bytes of the
    draft the instance holds besides the model's (an MTP module's are not in the model's count)."""

    k: int
    tokens: float
    draft: dict
    scale: float
    weights: float


def layout_terms(d: Deployment, lay: Layout, isl, osl, sync_s, hit=0.0) -> dict:
    """What a step costs per token and per step on one layout, and what the layout holds,
    independent of its tokens: gathered once per layout, so the steps below are arithmetic on
    flat arrays. ``hit``: the prompt's share found in a prefix cache (its tokens attend over it)."""
    m, h, s, prof, mi = d
    hi, tp, pp, ep, attn_dp = lay
    ctx = eq.mean_decode_context(isl, osl)
    pctx = plan_eq.cached_prefill_context(isl, hit)
    repl = kv_replicas(m, mi, tp, prof, attn_dp)
    wb, window = s.weight_bytes, m.window[mi]
    attn_dec = m.attn_flop_full[mi] * ctx + m.attn_flop_window[mi] * np.minimum(ctx, window)
    attn_pf = m.attn_flop_full[mi] * pctx + m.attn_flop_window[mi] * np.minimum(pctx, window)
    soft_dec = m.softmax_full[mi] * ctx + m.softmax_window[mi] * np.minimum(ctx, window)
    soft_pf = m.softmax_full[mi] * pctx + m.softmax_window[mi] * np.minimum(pctx, window)
    within = None if prof.collective_latency is None else prof.collective_latency[hi]
    ranks = dp_ranks(h, hi, tp, attn_dp, prof.dp_per_rank[hi]) if prof.calibrated else 1.0
    collectives = collective_parts(m, h, s, mi, hi, tp, pp, ep, sync_s, within, attn_dp, ranks)
    tier2_bw = h.tier2_bw[hi]
    usable = eq.usable_memory(h.mem_capacity[hi], prof.memory_fraction[hi], prof.workspace[hi])
    return {
        "tp": tp,
        "pp": pp,
        "experts": m.experts[mi],
        "miss_log": expert_miss_log(m.experts[mi], m.experts_per_token[mi]),
        "always_bytes": wb * attention_copies(tp, attn_dp) * (m.always_params[mi] + m.lm_head_params[mi]),
        "expert_bytes": wb * m.expert_params[mi],
        "kv_read_per_token": kv_bytes_per_sequence(m, s, mi, ctx) * repl,
        "kv_write_per_token": kv_bytes_per_sequence(m, s, mi, 1.0) * repl,
        # A prompt's LM head runs for its last token only; decode tokens all need it.
        "flop_decode": 2.0 * m.active_params[mi] + attn_dec,
        "flop_prefill": 2.0 * (m.active_params[mi] - m.lm_head_params[mi]) + attn_pf,
        "scalar_decode": m.scalar_per_token[mi] + soft_dec,
        "scalar_prefill": m.scalar_per_token[mi] + soft_pf,
        "decode_rate": eq.achieved_rate(tp, h.tensor[hi], prof.decode_efficiency[hi]),
        "prefill_rate": eq.achieved_rate(tp, h.tensor[hi], prof.prefill_efficiency[hi]),
        "scalar_rate": eq.achieved_rate(tp, h.scalar[hi], 1.0),
        "bw": eq.achieved_rate(tp, h.mem_bw[hi], prof.bw_efficiency[hi]),
        # A second tier (weights there, KV cache in main memory) only where a chip has one.
        "tier2": tier2_bw > 0 if np.any(tier2_bw > 0) else None,
        "tier2_bw": eq.achieved_rate(tp, np.where(tier2_bw > 0, tier2_bw, 1.0), prof.bw_efficiency[hi]),
        "collectives": summed_collectives(collectives, s),
        # Two micro-batches hide the expert-parallel all-to-all behind compute where the engine
        # overlaps them (SGLang two-batch overlap, DeepEP): only the rest stays exposed.
        "overlap": _overlapped(collectives, ep, prof.ep_overlap[hi]),
        "step_overhead": prof.step_overhead[hi],
        # an attention-DP rank that schedules its own sequences pays only their per-token overhead
        "token_overhead": prof.token_overhead[hi] / ranks,
        "weights": weights_held(m, s, mi, tp, attn_dp),
        "kv_held": kv_held(d, lay, isl, osl),
        "usable": usable,
        "tier2_capacity": h.tier2_capacity[hi],
        "max_step_tokens": prof.max_step_tokens[hi],
        "max_concurrency": batch_cap(d, lay),
        "uneven": _uneven(d, lay, ctx, pctx),
    }


def _uneven(d: Deployment, lay: Layout, ctx, pctx):
    """In the limit with heads split unevenly (the scenario's ``uneven_heads``): what the busiest
    chip holds beyond the even share (:func:`~perfmodel.model.decode_step.attention_excess`) as
    ``(u, weight bytes, tensor FLOPs per decode token, per prefill token, scalar FLOPs per decode
    token, per prefill token)``, each times ``TP``; None otherwise. Attention data-parallel runs
    whole heads on every rank: no excess there."""
    m, h, s, prof, mi = d
    if prof.calibrated or not s.uneven_heads:
        return None
    tp = np.where(lay.attn_dp, 1.0, lay.tp)  # u = 1 where attention is data-parallel
    u, w, f_dec, s_dec = attention_excess(m, s, mi, tp, ctx)
    _, _, f_pf, s_pf = attention_excess(m, s, mi, tp, pctx)
    return u, w, f_dec, f_pf, s_dec, s_pf


def _overlapped(parts: dict, ep, overlap):
    """Where ``overlap``, the all-to-all's latency and time per token, then the other
    collectives' (a flat tuple, as :func:`_repeat` expects); None when no layout overlaps."""
    if not np.any(overlap & (ep > 1)):
        return None
    (ar, ar_tok), (a2a, a2a_tok), (hop, hop_tok) = parts["allreduce"], parts["alltoall"], parts["hops"]
    return overlap & (ep > 1), a2a, a2a_tok, ar + hop, ar_tok + hop_tok


def _repeat(L: dict, counts: np.ndarray) -> dict:
    """``L`` of layouts with each layout's arrays repeated ``counts`` times (a grid's batch axis)."""

    def rep(v):
        return np.repeat(v, counts) if np.ndim(v) else v

    return {k: tuple(rep(x) for x in v) if isinstance(v, tuple) else rep(v) for k, v in L.items()}


def step_parts(L: dict, decode_tokens, prefill_tokens, work: bool = True, reads=None) -> dict:
    """One step carrying ``decode_tokens`` and ``prefill_tokens`` per micro-batch: its time and,
    with ``work``, its parts and the FLOPs and bytes it moves. ``reads``: the sequences whose KV
    cache the decode tokens read (default one each; a verify step reads it once for its 1 + k
    tokens)."""
    tokens = decode_tokens + prefill_tokens
    touched = distinct_experts(L["experts"], None, tokens, L["miss_log"])
    weights_read = L["always_bytes"] + touched * L["expert_bytes"]
    reads = decode_tokens if reads is None else reads
    kv_bytes = reads * L["kv_read_per_token"] + prefill_tokens * L["kv_write_per_token"]
    f_dec = decode_tokens * L["flop_decode"]
    f_pf = prefill_tokens * L["flop_prefill"]
    f_sc = decode_tokens * L["scalar_decode"] + prefill_tokens * L["scalar_prefill"]
    # The chip that times the step (the busiest of an uneven head split); the work is unchanged.
    w_t, kv_t, dec_t, pf_t, sc_t = weights_read, kv_bytes, f_dec, f_pf, f_sc
    if L["uneven"] is not None:
        u, w_x, dec_x, pf_x, sdec_x, spf_x = L["uneven"]
        w_t, kv_t = weights_read + w_x, u * kv_bytes
        dec_t, pf_t = f_dec + decode_tokens * dec_x, f_pf + prefill_tokens * pf_x
        sc_t = f_sc + (decode_tokens * sdec_x + prefill_tokens * spf_x)
    t_compute = eq.compute_time(dec_t, pf_t, sc_t, L["decode_rate"], L["prefill_rate"], L["scalar_rate"])
    tier2 = L["tier2"]
    t_mem = eq.memory_time(w_t + kv_t, L["bw"])
    if tier2 is not None:
        t_mem = np.where(
            tier2,
            np.maximum(eq.memory_time(w_t, L["tier2_bw"]), eq.memory_time(kv_t, L["bw"])),
            t_mem,
        )
    latency, per_token = L["collectives"]
    t_exposed = latency + tokens * per_token
    overhead = eq.step_overhead(L["step_overhead"], L["token_overhead"], tokens)
    t = eq.step_time(t_compute, t_mem, t_exposed, overhead)
    if L["overlap"] is not None:
        where, a2a, a2a_tok, rest, rest_tok = L["overlap"]
        t_a2a, t_rest = a2a + tokens * a2a_tok, rest + tokens * rest_tok
        t = np.where(where, eq.overlapped_step_time(t_compute, t_mem, t_a2a, t_rest, overhead), t)
        t_exposed = np.where(where, t_rest + np.maximum(t_a2a - np.maximum(t_compute, t_mem), 0.0), t_exposed)
    if not work:
        return {"t": t}
    return {
        "t": t,
        "t_compute": t_compute,
        "t_mem": t_mem,
        "t_exposed": t_exposed,
        "flop": f_dec + f_pf,
        "bytes": weights_read + kv_bytes
        if tier2 is None
        else np.where(tier2, kv_bytes, weights_read + kv_bytes),
        "tier2_bytes": 0.0 if tier2 is None else np.where(tier2, weights_read, 0.0),
    }


STEP_KEYS = ("t", "t_compute", "t_mem", "t_exposed", "flop", "bytes", "tier2_bytes")


def decode_step(L: dict, seqs, prefill_tokens, work: bool = True, spec: Speculation | None = None) -> dict:
    """A step in which ``seqs`` sequences per micro-batch decode beside ``prefill_tokens``: one
    token each, or with ``spec`` a verify step of ``1 + k`` tokens each after the draft's
    (docs/model.md §9.1), the draft's time and work added."""
    if spec is None:
        return step_parts(L, seqs, prefill_tokens, work)
    verify = step_parts(L, seqs * (1 + spec.k), prefill_tokens, work, reads=seqs)
    draft = step_parts(spec.draft, seqs, 0.0, work)
    return {k: verify[k] + spec.scale * draft[k] for k in verify}


def _mean_step(L: dict, seqs, chunk, isl, osl, keys=("t",), spec=None) -> tuple[dict, np.ndarray]:
    """The mean step (decode-only steps and steps with prompt chunks in their steady-state
    shares; ``keys`` of the step's figures averaged) and the time of a step with chunks. ``isl``:
    the prompt tokens a request computes; with ``spec`` requests finish ``tokens`` times as many
    steps sooner, so prompts arrive that much faster."""
    kept = 1.0 if spec is None else spec.tokens
    prefill = eq.prefill_tokens_per_step(seqs * kept, isl, osl)
    share = eq.chunk_share(prefill, chunk)
    work = keys != ("t",)
    decode_only = decode_step(L, seqs, 0.0, work, spec)
    with_chunk = decode_step(L, seqs, np.maximum(prefill, chunk), work, spec)
    return {k: eq.mean_step_time(decode_only[k], with_chunk[k], share) for k in keys}, with_chunk["t"]


def serve_arrays(
    d: Deployment,
    lay: Layout,
    concurrency,
    isl,
    osl,
    sync_s: float | None = None,
    per_layout: np.ndarray | None = None,
    hit=0.0,
    spec: Speculation | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate the serving model for broadcastable index/parameter arrays (see module doc).

    ``per_layout``: ``lay`` holds layouts and the ``concurrency`` array lists
    ``per_layout[i]`` values for layout ``i`` in turn (a grid's batch axis); each layout's terms
    are then computed once. ``hit``: the prompt's share found in a prefix cache, not prefilled;
    ``spec``: speculative decoding (docs/model.md §9).

    Returns arrays of ``ttft_s, tpot_s, utps, request_latency_s, output_tps, t_compute_s,
    t_mem_s, t_exposed_s, t_batch_s`` (the step; TPOT times the tokens kept per step),
    ``memory_needed_bytes, memory_available_bytes, fits`` (in memory and within the batch cap),
    ``in_memory``, ``batch_cap`` and the activity each chip sustains in the steady step,
    ``flop_per_s_chip``, ``bytes_per_s_chip``, ``tier2_bytes_per_s_chip``.
    """
    tp, pp, ep, concurrency, isl, osl = (
        np.asarray(a, dtype=np.float64) for a in (lay.tp, lay.pp, lay.ep, concurrency, isl, osl)
    )
    lay = Layout(lay.hi, tp, pp, ep, np.asarray(lay.attn_dp, dtype=bool))
    L = layout_terms(d, lay, isl, osl, sync_s, hit)
    if per_layout is not None:
        L = _repeat(L, per_layout)
    pp = L["pp"]
    kept, drafted = (1.0, 0) if spec is None else (spec.tokens, spec.k)
    new = plan_eq.new_prompt_tokens(isl, hit)
    b = concurrency / pp
    chunk = np.minimum(new, np.maximum(L["max_step_tokens"] - b * (1 + drafted), 1.0))
    first, chunk_step = _mean_step(L, b, chunk, new, osl, spec=spec)
    ttft = eq.prefill_chunks(new, chunk) * chunk_step
    b_dec = b * eq.decoding_share(ttft, first["t"] / kept, osl)
    steady, _ = _mean_step(L, b_dec, chunk, new, osl, keys=STEP_KEYS, spec=spec)
    tpot = steady["t"] / kept
    latency = eq.request_latency(ttft, tpot, osl)
    return served(L, concurrency, osl, ttft, tpot, steady, spec) | {
        "output_tps": eq.output_throughput(concurrency, osl, latency),
        "request_latency_s": latency,
    }


def served(L: dict, concurrency, osl, ttft, tpot, steady: dict, spec: Speculation | None = None) -> dict:
    """The figures of an instance that runs ``concurrency`` sequences at ``tpot`` with ``steady``
    (:data:`STEP_KEYS`) its step: latencies, the memory it needs and whether it fits in memory and
    within the engine's batch cap, and the activity each chip sustains over the step. A draft
    (``spec``) adds its weights to the memory."""
    weights, kv, usable, tier2_cap = L["weights"], L["kv_held"], L["usable"], L["tier2_capacity"]
    if spec is not None:
        weights = weights + spec.weights
    tp, pp = L["tp"], L["pp"]
    chips = tp * pp
    tier2 = tier2_cap > 0
    needed = weights + concurrency * kv
    in_memory = np.where(
        tier2,
        (weights <= chips * tier2_cap) & (concurrency * kv <= chips * usable),
        needed <= chips * usable,
    )
    within_cap = concurrency <= L["max_concurrency"]
    per_chip_step = tp * steady["t"]
    return {
        "ttft_s": ttft,
        "tpot_s": tpot,
        "utps": 1.0 / tpot,
        "t_compute_s": steady["t_compute"],
        "t_mem_s": steady["t_mem"],
        "t_exposed_s": steady["t_exposed"],
        "t_batch_s": steady["t"],
        "memory_needed_bytes": needed,
        "memory_available_bytes": chips * (usable + tier2_cap),
        "fits": in_memory & within_cap,
        "in_memory": in_memory,
        "batch_cap": L["max_concurrency"],
        "flop_per_s_chip": steady["flop"] / per_chip_step,
        "bytes_per_s_chip": steady["bytes"] / per_chip_step,
        "tier2_bytes_per_s_chip": steady["tier2_bytes"] / per_chip_step,
    }


def deployable(
    m: ModelArrays, h: HardwareArrays, mi, lay: Layout, calibrated: bool, uneven_heads: bool = False
):
    """Which parallel layouts can be deployed (docs/model.md §5); broadcasts over its arguments.

    Every mode: PP at most the layers; EP > 1 only on MoE models, dividing TP and at most the
    experts; TP splits the heads evenly (``heads % TP == 0``) or, in the limit, splits every
    head evenly across chips (``TP % heads == 0``, the study's TP128 on 64 heads). The limit
    with ``uneven_heads`` (the scenario's) accepts any TP: the busiest chip's share of the heads
    times the step (:func:`~perfmodel.model.decode_step.head_imbalance`). Calibrated:
    without attention data-parallel, TP divides the heads, and the KV heads divide TP or TP
    divides them (vLLM's rule, with KV heads replicated beyond), and TP stays inside one
    scale-up domain; larger instances pipeline across domains, or, with attention data-parallel, spread their experts over the scale-out
    network (wide expert parallelism, docs/model.md §9.4: only the all-to-alls cross it).
    """
    hi, tp, pp, ep, attn_dp = lay
    heads, kv, e = m.heads[mi], m.kv_groups[mi], m.experts[mi]
    ep_ok = (ep == 1) | ((e > 0) & (np.mod(tp, ep) == 0) & (ep <= e))
    ok = ep_ok & (pp <= m.layers[mi]) & (~np.asarray(attn_dp) | ((e > 0) & (ep == tp) & (tp > 1)))
    heads_split = np.mod(heads, tp) == 0
    if not calibrated:
        return ok if uneven_heads else ok & (heads_split | (np.mod(tp, heads) == 0))
    kv_ok = (np.mod(kv, tp) == 0) | (np.mod(tp, kv) == 0)
    dp = np.asarray(attn_dp)  # every rank runs whole attention heads for its own sequences
    return ok & (dp | (heads_split & kv_ok)) & ((tp <= h.domain[hi]) | (dp & (ep == tp)))


def why_not_deployable(
    m: ModelArrays, h: HardwareArrays, mi: int, lay: Layout, calibrated: bool, uneven_heads: bool = False
) -> str | None:
    """The reason a layout cannot be deployed, in words; None when it can."""
    hi, tp, pp, ep, attn_dp = lay
    name, heads, kv = m.names[mi], int(m.heads[mi]), int(m.kv_groups[mi])
    if attn_dp and not (m.experts[mi] > 0 and ep == tp > 1):
        return f"attention data-parallel needs an MoE model with ep = tp > 1 (got {name}, tp {tp}, ep {ep})"
    if pp > m.layers[mi]:
        return f"pp ({pp}) cannot exceed the model's {int(m.layers[mi])} layers"
    if ep > 1 and m.experts[mi] == 0:
        return f"ep must be 1 for the dense model {name}"
    if ep > 1 and (tp % ep or ep > m.experts[mi]):
        return f"ep ({ep}) must divide tp ({tp}) and not exceed the {int(m.experts[mi])} experts of {name}"
    if calibrated:
        if attn_dp:  # whole heads on every rank; the all-to-alls may cross domains (wide EP)
            return None
        if heads % tp:
            return f"tp ({tp}) must divide the {heads} attention heads of {name}"
        if kv % tp and tp % kv:
            return f"tp ({tp}) and the {kv} KV heads of {name} must divide one another"
        if tp > h.domain[hi]:
            return (
                f"tp ({tp}) exceeds the {int(h.domain[hi])}-chip scale-up domain of {h.names[hi]}; "
                "use pipeline parallelism (--pp) across domains, attention data-parallel with ep = tp "
                "(wide expert parallelism over the scale-out network), or --mode limit"
            )
    elif heads % tp and tp % heads and not uneven_heads:
        return (
            f"tp ({tp}) must divide the {heads} attention heads of {name}, or be a multiple of them "
            "(a scenario with uneven_heads, such as liminal-2025, splits them unevenly)"
        )
    return None


def check_deployable(
    m: ModelArrays, h: HardwareArrays, mi: int, lay: Layout, calibrated: bool, uneven_heads: bool = False
) -> None:
    """Raise ``InvalidInput`` with the reason when a layout cannot be deployed."""
    reason = why_not_deployable(m, h, mi, lay, calibrated, uneven_heads)
    if reason:
        raise InvalidInput(reason)
