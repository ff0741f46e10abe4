"""Equations of serving plans: speculative decoding, prefix caching, disaggregated pools.

Like :mod:`perfmodel.model.serving_equations`, each function is one equation of
``docs/model.md`` §9 on numpy arrays of magnitudes in base units, and runs unchanged on
``pint.Quantity`` arguments.

References
----------
.. [1] Leviathan, Kalman, Matias, "Fast Inference from Transformers via Speculative Decoding",
   ICML 2023, arXiv 2211.17192.
.. [2] DeepSeek-AI, "DeepSeek-V3 Technical Report", arXiv 2412.19437, §2.2 and §5.4.3 (MTP).
.. [3] Zhong et al., "DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large
   Language Model Serving", OSDI 2024, arXiv 2401.09670.
.. [4] Qin et al., "Mooncake: A KVCache-centric Disaggregated Architecture for LLM Serving",
   FAST 2025, arXiv 2407.00079 (KV transfer between pools, prefix cache).
"""

from __future__ import annotations

import numpy as np


def tokens_per_step(acceptance):
    """Tokens a sequence keeps per verify step, ``E = 1 + sum_i a_i`` (§9.1) [1]_.

    ``a_i`` is the per-position acceptance rate as engines report it (vLLM's
    ``spec_decode`` metrics, DeepSeek-V3 §5.4.3): the share of steps in which draft position
    ``i`` is accepted, so it never rises with ``i``; the verified token is always kept.

    Parameters
    ----------
    acceptance : sequence of numeric
        Per-position acceptance rates ``a_1 >= a_2 >= ...``, each in [0, 1].

    Returns
    -------
    numeric
        Tokens per step per sequence (dimensionless, 1 to 1 + k).
    """
    return 1 + np.sum(np.asarray(acceptance, dtype=np.float64))


def new_prompt_tokens(isl, hit, least=1.0):
    """Prompt tokens a request computes with a prefix cache, ``max((1 - h) ISL, 1)`` (§9.2) [4]_.

    A cache hit skips the prefill of the cached share ``h`` of the prompt; its KV blocks are still
    held for the sequence, so the memory is unchanged.

    Parameters
    ----------
    isl : numeric
        Input tokens per request [tokens].
    hit : numeric
        Share of prompt tokens found in the prefix cache, in [0, 1).
    least : numeric
        Tokens always computed, the prompt's last (whose logits give the first token) [tokens].

    Returns
    -------
    numeric
        Prompt tokens prefilled [tokens].
    """
    return np.maximum((1 - hit) * isl, least)


def cached_prefill_context(isl, hit):
    """Mean context a computed prompt token attends over, ``h ISL + ((1 - h) ISL + 1) / 2`` (§9.2).

    The computed tokens follow the cached prefix: each attends over the prefix and, causally, the
    computed tokens before it. ``h = 0`` gives ``(ISL + 1) / 2``, the prefill's mean context.

    Parameters
    ----------
    isl : numeric
        Input tokens per request [tokens].
    hit : numeric
        Share of prompt tokens found in the prefix cache.

    Returns
    -------
    numeric
        Mean attended context of a computed prompt token [tokens].
    """
    return hit * isl + ((1 - hit) * isl + 1) / 2


def kv_transfer_time(kv_bytes, links, link_bw, latency):
    """Time to move one request's KV cache from its prefill to its decode instance,
    ``t_kv = t_link + KV(ISL) / (n_links bw)`` (§9.3) [3]_ [4]_.

    Every prefill rank sends its shard to its decode rank at once, so the bytes share the links of
    the smaller of the two instances.

    Parameters
    ----------
    kv_bytes : numeric
        KV-cache bytes of the prompt, replicas included [B].
    links : numeric
        Links that carry it in parallel [links].
    link_bw : numeric
        Bandwidth of one link, one direction [B/s].
    latency : numeric
        Latency of one message on the link [s].

    Returns
    -------
    numeric
        Transfer time [s].
    """
    return latency + kv_bytes / (links * link_bw)


def plan_request_rate(prefill_instances, prefill_rate, decode_instances, decode_rate):
    """Requests per second a disaggregated plan sustains, ``min(N_p mu_p, N_d mu_d)`` (§9.3) [3]_.

    Parameters
    ----------
    prefill_instances, decode_instances : numeric
        Instances in each pool.
    prefill_rate : numeric
        Prompts one prefill instance completes per second [1/s].
    decode_rate : numeric
        Requests one decode instance completes per second [1/s].

    Returns
    -------
    numeric
        Requests per second [1/s].
    """
    return np.minimum(prefill_instances * prefill_rate, decode_instances * decode_rate)
