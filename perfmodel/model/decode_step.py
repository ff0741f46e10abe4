"""The decode-step model (after Liminal, Kozyrakis, Sankaralingam et al., arXiv 2507.14397).

One decode step advances ``B`` sequences of context ``T`` by one token each on ``TP x PP`` chips.
With ``PP`` pipeline stages, ``PP`` micro-batches of ``B`` sequences are in flight, so a token
passes every stage once per step:

- ``M = W_read(B) + B * KV(T)`` bytes; ``W_read`` counts the always-read weights plus the
  expected number of distinct routed experts ``E * (1 - (1 - k/E)^B)`` per MoE layer.
- ``T_mem = M / (TP * BW)`` and ``T_compute = F_tensor / (TP * FLOPS_tensor) + F_scalar / (TP * FLOPS_scalar)``.
- ``T_exposed = n_allreduce * t(TP) + n_alltoall * t(EP) + PP * t_hop`` where a tensor-parallel
  layer has two all-reduces (after attention and after the FFN); with expert parallelism an MoE
  layer replaces its FFN all-reduce by an all-to-all dispatch and combine. Each collective costs
  its latency plus, where the scenario says so, the ring time of its message on the link.
- ``T_batch = max(T_compute, T_mem) + T_exposed``; ``UTPS = 1 / T_batch``; ``STPS = PP * B / T_batch``.
- Heads split unevenly (a scenario's ``uneven_heads``): the busiest chip holds ``u / TP`` of the
  attention (FLOPs, KV cache, attention weights) instead of ``1 / TP`` (:func:`head_imbalance`)
  and times the step.
- Memory needed: all weights + KV cache of ``PP * B`` sequences; available: ``TP * PP`` chips' capacity.
- A second memory tier (e.g. High Bandwidth Flash) holds the read-only weights: they stream
  from it at its bandwidth while the KV cache streams from main memory, concurrently, so
  ``T_mem = max(W_read / (TP * BW_2), KV / (TP * BW_1))``; each part must fit its own tier.

Every function here takes numpy arrays of magnitudes in base units (bytes, s, FLOP) that
broadcast against each other, so one call evaluates a whole grid without a Python loop.
"""

from __future__ import annotations

import numpy as np

from perfmodel.model.architecture import ModelArrays
from perfmodel.model.hardware import HardwareArrays
from perfmodel.model.scenario import Scenario


def kv_bytes_per_sequence(m: ModelArrays, s: Scenario, mi, context):
    """KV-cache bytes of one sequence, ``KV(T) = b_kv (n_full T + n_win min(T, W))``.

    Sliding-window layers keep at most their window ``W`` of tokens (docs/model.md §1).

    Parameters
    ----------
    m : ModelArrays
        The models; ``mi`` indexes one (or broadcasts).
    s : Scenario
        Its ``kv_bytes`` [B per element] sets the KV-cache precision.
    mi : int or array
        Model index.
    context : numeric
        Tokens held per sequence [tokens].

    Returns
    -------
    numeric
        KV-cache bytes of one sequence [B].
    """
    windowed = np.minimum(context, m.window[mi])
    return s.kv_bytes * (m.kv_full[mi] * context + m.kv_window[mi] * windowed)


def weight_bytes_total(m: ModelArrays, s: Scenario, mi):
    """Bytes of every weight a model instance holds, ``b_w N_total``.

    Parameters
    ----------
    m : ModelArrays
    s : Scenario
        Its ``weight_bytes`` [B per parameter] sets the weight precision.
    mi : int or array
        Model index.

    Returns
    -------
    numeric
        Weight bytes [B].
    """
    return s.weight_bytes * m.total_params[mi]


def expert_miss_log(experts, per_token):
    """``ln(1 - k/E)``: the log of the chance that one token leaves a given routed expert alone.

    Parameters
    ----------
    experts : numeric
        Routed experts per MoE layer ``E`` [experts]; 0 for a dense model.
    per_token : numeric
        Experts each token is routed to ``k`` [experts].

    Returns
    -------
    numeric
        ``ln(1 - k/E)`` [dimensionless]; ``-inf`` when every token touches every expert.
    """
    e = np.maximum(experts, 1.0)
    with np.errstate(divide="ignore"):
        return np.log1p(-np.minimum(per_token / e, 1.0))


def distinct_experts(experts, per_token, batch, miss_log=None):
    """Expected distinct routed experts that ``batch`` tokens touch under uniform routing,
    ``E (1 - (1 - k/E)^B)`` (docs/model.md §1); 0 for dense models (``E = 0``).

    Parameters
    ----------
    experts : numeric
        Routed experts per MoE layer ``E`` [experts].
    per_token : numeric
        Experts per token ``k`` [experts].
    batch : numeric
        Tokens in the step ``B`` [tokens].
    miss_log : numeric, optional
        :func:`expert_miss_log` computed once for many batches.

    Returns
    -------
    numeric
        Distinct experts read per MoE layer [experts].
    """
    if np.ndim(experts) == 0 and experts <= 0:  # one dense model: nothing to route
        return np.zeros(np.shape(batch))
    miss = expert_miss_log(experts, per_token) if miss_log is None else miss_log
    untouched = np.exp(batch * miss)
    if np.ndim(experts) == 0:
        return experts * (1.0 - untouched)
    return np.where(experts > 0, experts * (1.0 - untouched), 0.0)


def head_imbalance(heads, tp):
    """The busiest chip's attention over the even share ``heads / TP``, ``u >= 1`` (docs/model.md §5).

    With heads split unevenly (a scenario's ``uneven_heads``, the study's TP128 on any head
    count), the busiest chip holds ``ceil(heads / TP)`` heads when ``TP <= heads``, and
    ``1 / floor(TP / heads)`` of one head when ``TP > heads`` (each head split across
    ``floor(TP / heads)`` chips, the rest idle in attention); it sets the step time. So
    ``u = ceil(heads / TP) TP / heads`` or ``TP / (heads floor(TP / heads))``: exactly 1 when
    TP divides the heads or is a multiple of them (the products are exact integers).

    Parameters
    ----------
    heads : numeric
        Attention (query) heads [heads].
    tp : numeric
        Tensor parallelism [chips].

    Returns
    -------
    numeric
        ``u`` [dimensionless]: the busiest chip's attention FLOPs, KV bytes and attention weight
        bytes are ``u / TP`` of the model's.
    """
    tp = np.asarray(tp, dtype=np.float64)
    per_head = np.maximum(np.floor(tp / heads), 1.0)
    return np.where(tp > heads, tp / (heads * per_head), np.ceil(heads / tp) * tp / heads)


def max_batch(m: ModelArrays, h: HardwareArrays, s: Scenario, mi, hi, tp, pp, context):
    """Largest ``B`` whose ``PP B`` sequences fit beside the weights (0 when none fits),
    ``B = floor((TP PP C - W) / (PP KV(T)))``.

    With a second memory tier the weights live there (if they fit) and the KV cache has the
    whole main memory.

    Parameters
    ----------
    m, h, s : ModelArrays, HardwareArrays, Scenario
    mi, hi : int or array
        Model and chip indices.
    tp, pp : numeric
        Tensor and pipeline parallelism [chips].
    context : numeric
        Tokens per sequence ``T`` [tokens].

    Returns
    -------
    numeric
        Sequences per micro-batch [sequences].
    """
    weights = weight_bytes_total(m, s, mi)
    tier2 = h.tier2_capacity[hi] > 0
    free = tp * pp * h.mem_capacity[hi] - np.where(tier2, 0.0, weights)
    b = np.floor(free / (pp * kv_bytes_per_sequence(m, s, mi, context)))
    b = np.where(tier2 & (weights > tp * pp * h.tier2_capacity[hi]), 0.0, b)
    return np.maximum(b, 0.0)


def _latency(h: HardwareArrays, s: Scenario, hi, group, span, sync_s, within=None):
    """Latency of one collective among ``group`` chips spread over ``span`` chips [s].

    An explicit ``sync_s`` wins; then ``within``, a measured latency inside the scale-up domain
    (calibrated mode), with the chip's scale-out figure beyond it; then the scenario's two-anchor
    power law in ``group``; then the chip's own figure, inside or beyond its domain by ``span``.
    """
    if sync_s is not None:
        return np.where(group > 1, sync_s, 0.0)
    if within is not None:
        return np.where(group > 1, np.where(span <= h.domain[hi], within, h.scaleout_sync[hi]), 0.0)
    if s.sync_anchors is not None:
        (n_a, t_a), (n_b, t_b) = s.sync_anchors
        alpha = np.log(t_b / t_a) / np.log(n_b / n_a)
        return np.where(group > 1, t_a * (group / n_a) ** alpha, 0.0)
    return np.where(group > 1, np.where(span <= h.domain[hi], h.sync[hi], h.scaleout_sync[hi]), 0.0)


def dp_ranks(h: HardwareArrays, hi, tp, attn_dp, per_rank=False):
    """Ranks that share a step's per-token work with attention data-parallel (docs/model.md
    §9.4): ``TP`` where each rank schedules its own sequences and sends only its own tokens to the
    experts (an engine's ``dp_per_rank``: SGLang's and vLLM's DP ranks with DeepEP), and always
    beyond the scale-up domain (wide expert parallelism, each rank over its own NIC); else 1, the
    tokens gathered to every rank (TensorRT-LLM's attention DP)."""
    return np.where(np.asarray(attn_dp) & (np.asarray(per_rank) | (tp > h.domain[hi])), tp, 1.0)


def remote_domains(domains, per_token):
    """Other scale-up domains a token's ``k`` experts sit on, ``G (1 - (1 - 1/G)^k) (G - 1) / G``
    for experts spread evenly over ``G`` domains: wide expert parallelism sends a token once to each
    remote domain and forwards it inside the domain over the scale-up links (DeepEP's internode
    kernels, github.com/deepseek-ai/DeepEP; DeepSeek-V3, arXiv 2412.19437 §3.2.2). Routing limited
    to fewer domains (DeepSeek-V3's 4 nodes) sends fewer; this is the upper bound."""
    g = np.maximum(np.asarray(domains, dtype=np.float64), 1.0)
    return g * (1.0 - (1.0 - 1.0 / g) ** per_token) * (g - 1.0) / g


def _link_bw(h: HardwareArrays, hi, span):
    return np.where(span <= h.domain[hi], h.scaleup_bw[hi], h.scaleout_bw[hi])


def collective_costs(
    m: ModelArrays, h: HardwareArrays, s: Scenario, mi, hi, tp, pp, ep, sync_s, within=None, attn_dp=False
):
    """The collectives of one step, ``T_exposed = n_allreduce t(TP) + n_alltoall t(EP) + PP t_hop``.

    A tensor-parallel layer has two all-reduces (after attention and after the FFN); with expert
    parallelism an MoE layer replaces its FFN all-reduce by an all-to-all dispatch and combine.
    Each collective costs its latency plus, where the scenario says so, the ring time of its
    message (``hidden`` activations per token) on the link. With attention data-parallel
    (``attn_dp``) every rank runs attention for its own sequences, so only the all-to-alls remain.

    Parameters
    ----------
    m, h, s : ModelArrays, HardwareArrays, Scenario
    mi, hi : int or array
        Model and chip indices.
    tp, pp, ep : numeric
        Tensor, pipeline and expert parallelism [chips].
    sync_s : float, optional
        Latency of every collective [s], overriding the chip's and the scenario's.
    within : numeric, optional
        Measured latency inside the scale-up domain [s] (the calibrated mode).
    attn_dp : bool or array
        Attention data-parallel.

    Returns
    -------
    latency : numeric
        Latency of the step's collectives [s].
    per_token : numeric
        Link time per token of the step [s/token] (0 without the scenario's collective bandwidth).
    """
    return summed_collectives(collective_parts(m, h, s, mi, hi, tp, pp, ep, sync_s, within, attn_dp), s)


def summed_collectives(parts: dict, s: Scenario):
    """The ``(latency, per_token)`` of all the kinds of :func:`collective_parts` together."""
    (ar, ar_tok), (a2a, a2a_tok), (hop, hop_tok) = parts["allreduce"], parts["alltoall"], parts["hops"]
    latency = ar + a2a + hop
    if not s.collective_bandwidth:
        return latency, 0.0
    return latency, ar_tok + a2a_tok + hop_tok


def collective_parts(
    m: ModelArrays,
    h: HardwareArrays,
    s: Scenario,
    mi,
    hi,
    tp,
    pp,
    ep,
    sync_s,
    within=None,
    attn_dp=False,
    ranks=1.0,
) -> dict:
    """The step's collectives of :func:`collective_costs` by kind: ``allreduce``, ``alltoall``
    (expert-parallel dispatch and combine) and ``hops`` (pipeline), each ``(latency [s],
    link time per token [s/token])``; the link times are 0 without the scenario's collective
    bandwidth. ``ranks``: the ranks whose links carry the all-to-all's tokens together
    (:func:`dp_ranks`; 1 in the limit)."""
    layers, moe = m.layers[mi], m.moe_layers[mi]
    use_ep = ep > 1
    n_allreduce = np.where((tp > 1) & ~np.asarray(attn_dp), 2.0 * layers - np.where(use_ep, moe, 0.0), 0.0)
    n_alltoall = np.where(use_ep, 2.0 * moe, 0.0)
    n_hops = np.where(pp > 1, pp, 0.0)
    t_ar = _latency(h, s, hi, tp, tp, sync_s, within)
    t_a2a = _latency(h, s, hi, ep, tp, sync_s, within)
    t_hop = _latency(h, s, hi, np.where(pp > 1, 2.0, 1.0), tp * pp, sync_s, within)
    if not s.collective_bandwidth:
        return {
            "allreduce": (n_allreduce * t_ar, 0.0),
            "alltoall": (n_alltoall * t_a2a, 0.0),
            "hops": (n_hops * t_hop, 0.0),
        }
    msg = m.hidden[mi] * s.activation_bytes  # per token
    up = _link_bw(h, hi, tp)
    wide = (ranks > 1) & (tp > h.domain[hi])  # never in the limit, whose ranks are 1
    copies = np.where(
        wide,
        remote_domains(ep / h.domain[hi], m.experts_per_token[mi]),
        (ep - 1.0) / ep * m.experts_per_token[mi],
    )
    return {
        "allreduce": (n_allreduce * t_ar, n_allreduce * 2.0 * (tp - 1.0) / tp * msg / up),
        "alltoall": (n_alltoall * t_a2a, n_alltoall * copies * msg / (up * ranks)),
        "hops": (n_hops * t_hop, n_hops * msg / _link_bw(h, hi, tp * pp)),
    }


def attention_excess(m: ModelArrays, s: Scenario, mi, tp, context):
    """What the busiest chip of an uneven head split holds beyond the even share, per token and
    times ``TP`` (so it adds to the step's figures before their division by ``TP``):
    ``(u, weight bytes, tensor FLOPs per token, scalar FLOPs per token)`` with ``u`` of
    :func:`head_imbalance`; the KV cache it reads is ``u`` times the even share. All excesses are
    ``(u - 1)`` times the attention's, so they are exactly 0 where the split is even."""
    u = head_imbalance(m.heads[mi], tp)
    extra = u - 1.0
    windowed = np.minimum(context, m.window[mi])
    attn_tensor = 2.0 * m.attn_params[mi] + m.attn_flop_full[mi] * context + m.attn_flop_window[mi] * windowed
    attn_scalar = m.softmax_full[mi] * context + m.softmax_window[mi] * windowed
    return u, extra * s.weight_bytes * m.attn_params[mi], extra * attn_tensor, extra * attn_scalar


def decode_arrays(
    m: ModelArrays,
    h: HardwareArrays,
    s: Scenario,
    mi,
    hi,
    tp,
    pp,
    ep,
    batch,
    context,
    sync_s: float | None = None,
) -> dict[str, np.ndarray]:
    """The decode step (module doc): ``T_batch = max(T_compute, T_mem) + T_exposed``.

    Parameters
    ----------
    m, h, s : ModelArrays, HardwareArrays, Scenario
    mi, hi : int or array
        Model and chip indices.
    tp, pp, ep : numeric
        Tensor, pipeline and expert parallelism [chips].
    batch : numeric
        Sequences per pipeline micro-batch ``B`` [sequences].
    context : numeric
        Tokens of context per sequence ``T`` [tokens].
    sync_s : float, optional
        Latency of every collective [s], overriding the chip's and the scenario's.

    Returns
    -------
    dict of arrays (the broadcast shape)
        ``t_compute_s``, ``t_mem_s``, ``t_exposed_s``, ``t_batch_s`` [s]; ``utps`` [token/s per
        user] ``= 1 / T_batch``; ``stps`` [token/s] ``= PP B / T_batch``; ``memory_needed_bytes``
        and ``memory_available_bytes`` [B]; ``fits`` [bool]; the activity each chip sustains,
        ``flop_per_s_chip`` [FLOP/s] (tensor), ``bytes_per_s_chip`` and ``tier2_bytes_per_s_chip``
        [B/s] (memory reads): with PP micro-batches in flight every stage is busy, so per chip it
        is the step's work / (TP T_batch).
    """
    tp = np.asarray(tp, dtype=np.float64)
    pp = np.asarray(pp, dtype=np.float64)
    ep = np.asarray(ep, dtype=np.float64)
    batch = np.asarray(batch, dtype=np.float64)
    context = np.asarray(context, dtype=np.float64)
    wb = s.weight_bytes

    # Bytes read per step (model x batch x context).
    kv_seq = kv_bytes_per_sequence(m, s, mi, context)
    touched = distinct_experts(m.experts[mi], m.experts_per_token[mi], batch)
    weights_read = wb * (m.always_params[mi] + m.lm_head_params[mi] + touched * m.expert_params[mi])
    bytes_read = weights_read + batch * kv_seq

    # FLOPs per step.
    windowed = np.minimum(context, m.window[mi])
    f_tensor = batch * (
        2.0 * m.active_params[mi] + m.attn_flop_full[mi] * context + m.attn_flop_window[mi] * windowed
    )
    f_scalar = batch * (
        m.scalar_per_token[mi] + m.softmax_full[mi] * context + m.softmax_window[mi] * windowed
    )
    kv_read = batch * kv_seq

    # The chip that times the step: with heads split unevenly the busiest one holds u / TP of the
    # attention (its FLOPs, KV cache and weights) instead of 1 / TP; the work done is unchanged.
    w_busy, kv_busy, bytes_busy = weights_read, kv_read, bytes_read
    f_tensor_busy, f_scalar_busy = f_tensor, f_scalar
    if s.uneven_heads:
        u, w_extra, f_extra, s_extra = attention_excess(m, s, mi, tp, context)
        w_busy, kv_busy = weights_read + w_extra, u * kv_read
        bytes_busy = w_busy + kv_busy
        f_tensor_busy, f_scalar_busy = f_tensor + batch * f_extra, f_scalar + batch * s_extra

    # With a second tier, weights stream from it while the KV cache streams from main memory.
    tier2 = h.tier2_bw[hi] > 0
    t_mem = np.where(
        tier2,
        np.maximum(w_busy / (tp * np.where(tier2, h.tier2_bw[hi], 1.0)), kv_busy / (tp * h.mem_bw[hi])),
        bytes_busy / (tp * h.mem_bw[hi]),
    )
    t_compute = f_tensor_busy / (tp * h.tensor[hi]) + f_scalar_busy / (tp * h.scalar[hi])

    latency, per_token = collective_costs(m, h, s, mi, hi, tp, pp, ep, sync_s)
    t_exposed = latency + batch * per_token
    t_batch = np.maximum(t_compute, t_mem) + t_exposed
    weights = weight_bytes_total(m, s, mi)
    needed = weights + pp * batch * kv_seq
    chips = tp * pp
    available = chips * (h.mem_capacity[hi] + h.tier2_capacity[hi])
    fits = np.where(
        tier2,
        (weights <= chips * h.tier2_capacity[hi]) & (pp * batch * kv_seq <= chips * h.mem_capacity[hi]),
        needed <= available,
    )
    return {
        "t_compute_s": t_compute,
        "t_mem_s": t_mem,
        "t_exposed_s": t_exposed,
        "t_batch_s": t_batch,
        "utps": 1.0 / t_batch,
        "stps": pp * batch / t_batch,
        "memory_needed_bytes": needed,
        "memory_available_bytes": available,
        "fits": fits,
        "flop_per_s_chip": f_tensor / (tp * t_batch),
        "bytes_per_s_chip": np.where(tier2, kv_read, bytes_read) / (tp * t_batch),
        "tier2_bytes_per_s_chip": np.where(tier2, weights_read, 0.0) / (tp * t_batch),
    }
