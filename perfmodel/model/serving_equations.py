"""Equations of the serving model: prefill and decode of a continuously batched server.

Each function is one equation of ``docs/model.md`` (section numbers in brackets). They take
numpy arrays of magnitudes in base units (B, FLOP, s; token counts as plain numbers) that
broadcast against each other, and they run unchanged on ``pint.Quantity`` arguments, which is
how the tests check their units.

References
----------
.. [1] Kwon et al., "Efficient Memory Management for Large Language Model Serving with
   PagedAttention" (vLLM), SOSP 2023, arXiv 2309.06180.
.. [2] Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve"
   (chunked prefill), OSDI 2024, arXiv 2403.02310.
.. [3] Kozyrakis, Sankaralingam et al., "Liminal" limit study, arXiv 2507.14397 (the decode step).
.. [4] Little, "A Proof for the Queuing Formula L = lambda W", Operations Research 9(3), 1961.
"""

from __future__ import annotations

import numpy as np


def _pure(ratio):
    """A ratio as a plain number before rounding: ``GiB / MiB`` is 1024, not 1 (pint keeps units
    of the same dimension unreduced); plain arrays pass through."""
    return ratio.to("dimensionless") if hasattr(ratio, "to") else ratio


def decode_steps(osl):
    """Decode steps of one request, ``D = OSL - 1`` (docs/model.md §2).

    The first output token comes out of the prefill; each later one takes one decode step.

    Parameters
    ----------
    osl : numeric
        Output tokens per request [tokens], at least 2.

    Returns
    -------
    numeric
        Decode steps per request [steps].
    """
    return osl - 1


def mean_decode_context(isl, osl):
    """Average context a decode step attends over, ``T_dec = ISL + OSL / 2`` (§2).

    The context of a sequence grows from ISL to ISL + OSL - 1 while it decodes; the KV cache read
    per step is linear in it, so the mean context gives the mean step.

    Parameters
    ----------
    isl : numeric
        Input (prompt) tokens per request [tokens].
    osl : numeric
        Output tokens per request [tokens].

    Returns
    -------
    numeric
        Mean context of a decode step [tokens].
    """
    return isl + osl / 2


def mean_prefill_context(isl):
    """Average context a prompt token attends over under causal attention, ``(ISL + 1) / 2`` (§2).

    Summing the context ``t = 1 .. ISL`` gives ``ISL (ISL + 1) / 2``: attention's prefill work
    grows with ISL squared.

    Parameters
    ----------
    isl : numeric
        Input tokens per request [tokens].

    Returns
    -------
    numeric
        Mean attended context of a prompt token [tokens].
    """
    return (isl + 1) / 2


def prefill_tokens_per_step(decode_tokens, isl, osl):
    """Prompt tokens a step carries on average in steady state, ``P = B_dec ISL / D`` (§3) [2]_.

    With chunked prefill the steps carry the decode tokens of the sequences in flight and the
    prompt chunks of the requests that replace the finished ones; each sequence brings ISL
    prompt tokens per D decode steps.

    Parameters
    ----------
    decode_tokens : numeric
        Sequences decoding in the step [tokens].
    isl, osl : numeric
        Input and output tokens per request [tokens].

    Returns
    -------
    numeric
        Prompt tokens per step [tokens].
    """
    return decode_tokens * isl / decode_steps(osl)


def chunk_share(prefill_tokens, chunk):
    """Fraction of steps that carry a prompt chunk, ``min(P / chunk, 1)`` (§3) [2]_.

    Prompts arrive in chunks, not spread evenly over every step: a step either decodes only or
    also carries a chunk. A chunk step is often compute-bound while a decode step is bound by
    memory, and the experts a step touches grow less than linearly with its tokens, so the two
    kinds are timed apart and averaged.

    Parameters
    ----------
    prefill_tokens : numeric
        Prompt tokens per step on average [tokens].
    chunk : numeric
        Prompt tokens a chunk step carries [tokens].

    Returns
    -------
    numeric
        Share of steps with a chunk (dimensionless, at most 1).
    """
    return np.minimum(prefill_tokens / chunk, 1)


def mean_step_time(t_decode, t_chunk, share):
    """Mean time of a step, ``(1 - f) t_decode + f t_chunk`` (§3).

    Parameters
    ----------
    t_decode : numeric
        Time of a decode-only step [s].
    t_chunk : numeric
        Time of a step that also carries a prompt chunk [s].
    share : numeric
        Share of steps with a chunk.

    Returns
    -------
    numeric
        Mean step time [s].
    """
    return (1 - share) * t_decode + share * t_chunk


def step_overhead(per_step, per_token, tokens):
    """Time of a step outside matmuls and memory streams, ``t_o = t_step + n t_token`` (§4).

    A fixed part (scheduling, kernel launches) and a part per token of the step (sampling over
    the vocabulary, MoE routing and token permutation, per-sequence bookkeeping).

    Parameters
    ----------
    per_step : numeric
        Fixed time per step [s].
    per_token : numeric
        Time per token of the step [s].
    tokens : numeric
        Tokens in the step (decode and prompt) [tokens].

    Returns
    -------
    numeric
        Overhead of the step [s].
    """
    return per_step + per_token * tokens


def step_time(t_compute, t_mem, t_exposed, t_overhead):
    """Time of one step, ``t = max(T_compute, T_mem) + T_exposed + t_overhead`` (§4) [3]_.

    Parameters
    ----------
    t_compute : numeric
        Tensor and scalar work at the achieved FLOP/s [s].
    t_mem : numeric
        Bytes read and written at the achieved memory bandwidth [s].
    t_exposed : numeric
        Collectives that do not overlap with either [s].
    t_overhead : numeric
        Fixed cost of a step: scheduling, kernel launches, sampling [s].

    Returns
    -------
    numeric
        Step time [s].
    """
    return np.maximum(t_compute, t_mem) + t_exposed + t_overhead


def achieved_rate(tp, peak, efficiency):
    """What the ``TP`` chips sharing a layer reach together, ``TP eta peak`` (§4).

    Parameters
    ----------
    tp : numeric
        Chips sharing each layer (tensor parallelism).
    peak : numeric
        Peak throughput per chip: tensor or scalar FLOP/s [FLOP/s], or memory bandwidth [B/s].
    efficiency : numeric
        Fraction of the peak the kernels reach.

    Returns
    -------
    numeric
        Achieved rate of the layer's chips [FLOP/s] or [B/s].
    """
    return tp * peak * efficiency


def compute_time(flop_decode, flop_prefill, flop_scalar, decode_rate, prefill_rate, scalar_rate):
    """``T_compute = F_dec / (TP eta_d R) + F_pf / (TP eta_p R) + F_sc / (TP R_sc)`` (§4),
    each denominator an :func:`achieved_rate`.

    Parameters
    ----------
    flop_decode, flop_prefill : numeric
        Tensor FLOPs of the step's decode and prompt tokens [FLOP].
    flop_scalar : numeric
        Non-tensor FLOPs (softmax, norms, activations) [FLOP].
    decode_rate, prefill_rate : numeric
        Tensor FLOP/s the layer's chips reach in decode and prefill matmuls [FLOP/s].
    scalar_rate : numeric
        Scalar FLOP/s of the layer's chips [FLOP/s].

    Returns
    -------
    numeric
        Compute time of the step [s].
    """
    return flop_decode / decode_rate + flop_prefill / prefill_rate + flop_scalar / scalar_rate


def memory_time(bytes_moved, bandwidth):
    """``T_mem = M / (TP eta_m BW)`` (§4), the denominator an :func:`achieved_rate`.

    Parameters
    ----------
    bytes_moved : numeric
        Weights and KV cache read, KV cache written in the step [B].
    bandwidth : numeric
        Memory bandwidth the layer's chips reach together [B/s].

    Returns
    -------
    numeric
        Memory time of the step [s].
    """
    return bytes_moved / bandwidth


def kv_replication(tp, kv_groups):
    """Copies of each KV head, ``max(1, TP / H_kv)`` (§5) [1]_.

    A tensor-parallel rank holds at least one KV head: when TP exceeds the KV heads, serving
    engines replicate them (vLLM ``num_kv_head_replicas``). MLA's latent cache is one group
    shared by every head, so each rank keeps all of it (``H_kv = 1``).

    Parameters
    ----------
    tp : numeric
        Tensor parallelism.
    kv_groups : numeric
        KV heads of the model (1 for MLA).

    Returns
    -------
    numeric
        Replication factor of the KV cache (dimensionless, >= 1).
    """
    return np.maximum(tp / kv_groups, 1)


def usable_memory(capacity, fraction, workspace):
    """Memory per chip an engine gives to weights and KV cache, ``C u - W_s`` (§5) [1]_.

    Parameters
    ----------
    capacity : numeric
        Memory per chip [B].
    fraction : numeric
        Fraction of it the engine may use (vLLM ``gpu_memory_utilization``, 0.9 by default).
    workspace : numeric
        Activations, CUDA graphs and communication buffers kept outside the KV cache [B].

    Returns
    -------
    numeric
        Usable memory per chip [B].
    """
    return capacity * fraction - workspace


def held_context(isl, osl, reserve):
    """Tokens whose KV blocks one sequence holds on average under paged KV (§5).

    ``ISL + OSL / 2 + r OSL / 2``: in steady state the sequences are spread evenly over their
    decode, so each holds its prompt and half its output, and the scheduler keeps blocks for a
    share ``r`` of the output still to come (``r = 1``: the worst case ISL + OSL).

    Parameters
    ----------
    isl, osl : numeric
        Prompt and output tokens per request [token].
    reserve : numeric
        Share of the remaining output whose blocks are reserved [1].

    Returns
    -------
    numeric
        Tokens held per sequence [token].
    """
    return isl + (1 + reserve) * osl / 2


def overlapped_step_time(t_compute, t_mem, t_alltoall, t_exposed, t_overhead):
    """A step whose expert-parallel all-to-all overlaps compute (two micro-batches, §4):
    ``max(T_compute, T_mem, T_a2a) + T_exposed + T_overhead``.

    Parameters
    ----------
    t_compute, t_mem, t_alltoall : numeric
        Compute, memory and all-to-all time of the step [s].
    t_exposed : numeric
        The other collectives, not overlapped [s].
    t_overhead : numeric
        Fixed and per-token overhead [s].

    Returns
    -------
    numeric
        Step time [s].
    """
    return np.maximum(np.maximum(t_compute, t_mem), t_alltoall) + t_exposed + t_overhead


def max_concurrency(chips, usable_per_chip, weights, kv_per_sequence):
    """Sequences whose KV cache fits beside the weights (§5).

    ``C_max = floor((N m_usable - W) / kv(context held))``; 0 when the weights alone do not fit.

    Parameters
    ----------
    chips : numeric
        Chips of the instance (TP x PP).
    usable_per_chip : numeric
        Usable memory per chip [B].
    weights : numeric
        Weights of the model [B].
    kv_per_sequence : numeric
        KV cache one sequence holds (:func:`held_context` tokens), replicas included [B].

    Returns
    -------
    numeric
        Largest concurrency that fits [sequences].
    """
    return np.maximum(np.floor(_pure((chips * usable_per_chip - weights) / kv_per_sequence)), 0)


def prefill_chunks(isl, chunk):
    """Steps one prompt needs, ``ceil(ISL / chunk)`` (§6) [2]_.

    Parameters
    ----------
    isl : numeric
        Input tokens per request [tokens].
    chunk : numeric
        Prompt tokens a step admits for one request [tokens].

    Returns
    -------
    numeric
        Steps of the prompt [steps].
    """
    return np.ceil(_pure(isl / chunk))


def decoding_share(ttft, tpot, osl):
    """Fraction of its time in flight a request spends decoding, ``D TPOT / (TTFT + D TPOT)`` (§6).

    Parameters
    ----------
    ttft : numeric
        Time to first token [s].
    tpot : numeric
        Time per output token [s].
    osl : numeric
        Output tokens per request [tokens].

    Returns
    -------
    numeric
        Share of the concurrency that decodes in a step (dimensionless).
    """
    decoding = decode_steps(osl) * tpot
    return decoding / (ttft + decoding)


def request_latency(ttft, tpot, osl):
    """End-to-end latency of a request, ``TTFT + D TPOT`` (§6).

    Parameters
    ----------
    ttft, tpot : numeric
        Time to first token and time per output token [s].
    osl : numeric
        Output tokens per request [tokens].

    Returns
    -------
    numeric
        Request latency [s].
    """
    return ttft + decode_steps(osl) * tpot


def output_throughput(concurrency, osl, latency):
    """Output tokens per second of an instance, ``C OSL / latency`` (Little's law) (§6) [4]_.

    A closed loop of ``C`` requests in flight, each in the system ``latency`` seconds, completes
    ``C / latency`` requests per second of ``OSL`` output tokens each; prefill's share of the
    machine is inside ``latency``.

    Parameters
    ----------
    concurrency : numeric
        Requests in flight [requests].
    osl : numeric
        Output tokens per request [tokens].
    latency : numeric
        Request latency [s].

    Returns
    -------
    numeric
        Output tokens per second of the instance [tokens/s].
    """
    return concurrency * osl / latency
