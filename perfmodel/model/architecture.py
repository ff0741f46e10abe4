"""Per-model sums that the decode model needs, derived from a published architecture.

Parameter counts follow the config.json fields (matrices only; biases and norms are below 0.1%):

- GQA attention: ``hidden*heads*head_dim`` (Q) + ``2*hidden*kv_heads*head_dim`` (K, V)
  + ``heads*head_dim*hidden`` (O).
- MLA attention (DeepSeek-V2/V3): Q through its low rank, ``hidden*(kv_lora+rope)`` down,
  ``kv_lora*heads*(nope+v)`` up, ``heads*v*hidden`` out.
- Gated FFN (SwiGLU): ``3*hidden*ffn``; an MoE layer has ``experts`` routed and
  ``shared_experts`` always-on experts of ``ffn_expert`` plus a ``hidden*experts`` router.

KV cache elements per token per layer: GQA ``2*kv_heads*head_dim``; MLA ``kv_lora+rope``
(docs/model.md, section 1). Attention FLOPs per token per context token per layer: GQA ``4*heads*head_dim``
(QK^T and AV); MLA with absorbed projections ``2*heads*(2*kv_lora+rope)``.

A scenario may replace the parameter counts (the Liminal study's, without embeddings). The MoE
split is then solved from (active, total) with the architecture's E and k:
``expert = (total-active)/(E-k)``, ``always = active - k*expert``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfmodel.catalog.schemas import moe_layer_count
from perfmodel.catalog.table import Table

#: Scalar (non-tensor) FLOPs per element: softmax per attention score (max, subtract, exp, sum,
#: divide), RMSNorm per hidden element (two per layer), SwiGLU per FFN element. Counting
#: convention of LLM-Viewer (hahnyuan/LLM-Viewer, ``model_analyzer``); small next to matmuls.
SOFTMAX_FLOP_PER_SCORE = 5.0
NORM_FLOP_PER_ELEMENT = 5.0
ACTIVATION_FLOP_PER_ELEMENT = 5.0


@dataclass(frozen=True)
class ModelArrays:
    """One entry per model (numpy arrays, parameters as counts, per-token sums over layers)."""

    names: tuple[str, ...]
    layers: np.ndarray
    moe_layers: np.ndarray
    hidden: np.ndarray
    always_params: np.ndarray  # read every step: attention, dense FFN, shared experts, router
    attn_params: np.ndarray  # the attention's share of always_params (split by heads), summed over layers
    expert_params: np.ndarray  # one routed expert, summed over MoE layers
    heads: np.ndarray  # attention (query) heads
    kv_groups: np.ndarray  # KV heads (1 for MLA: one latent shared by every head)
    experts: np.ndarray  # routed experts per MoE layer (0 for dense)
    experts_per_token: np.ndarray
    embedding_params: np.ndarray  # input embedding (looked up, not streamed)
    lm_head_params: np.ndarray  # output projection (read every step); 0 when tied or excluded
    kv_full: np.ndarray  # KV elements per token, summed over full-attention layers
    kv_window: np.ndarray  # KV elements per token, summed over sliding-window layers
    window: np.ndarray  # sliding window [tokens] (0: none)
    attn_flop_full: np.ndarray  # attention FLOPs per token per context token, full layers
    attn_flop_window: np.ndarray
    softmax_full: np.ndarray  # scalar FLOPs per token per context token, full layers
    softmax_window: np.ndarray
    scalar_per_token: np.ndarray  # norm and activation FLOPs per token
    param_source: tuple[str, ...]

    @property
    def total_params(self) -> np.ndarray:
        """Parameters held in memory (embeddings included only if the scenario counts them)."""
        return (
            self.always_params
            + self.experts * self.expert_params
            + self.lm_head_params
            + self.embedding_params
        )

    @property
    def active_params(self) -> np.ndarray:
        """Matmul parameters each token uses (routed experts at k per token, LM head if counted)."""
        return self.always_params + self.experts_per_token * self.expert_params + self.lm_head_params

    def index(self, name: str) -> int:
        return self.names.index(name)


def _v(r: dict, key: str) -> int:
    return r[key] or 0


def _attention(r: dict) -> tuple[float, float, float]:
    """Per layer: attention parameters, KV elements per token, attention FLOPs per context token."""
    h, heads = r["hidden"], r["heads"]
    if r["kv_lora_rank"]:
        rope, nope, v, kvr = r["qk_rope_head_dim"], r["qk_nope_head_dim"], r["v_head_dim"], r["kv_lora_rank"]
        qdim = heads * (nope + rope)
        q = h * r["q_lora_rank"] + r["q_lora_rank"] * qdim if r["q_lora_rank"] else h * qdim
        params = q + h * (kvr + rope) + kvr * heads * (nope + v) + heads * v * h
        return params, kvr + rope, 2.0 * heads * (2 * kvr + rope)
    hd, kv = r["head_dim"], r["kv_heads"]
    params = 2 * h * heads * hd + 2 * h * kv * hd
    return params, 2.0 * kv * hd, 4.0 * heads * hd


def architecture_row(r: dict) -> dict:
    """Sums over layers for one models.csv row, from its published architecture."""
    layers, h = r["layers"], r["hidden"]
    moe = moe_layer_count(r)
    dense = layers - moe
    attn, kv, attn_flop = _attention(r)
    e, k, fe = _v(r, "experts"), _v(r, "experts_per_token"), _v(r, "ffn_expert")
    expert = 3.0 * h * fe * moe
    always = layers * attn + dense * 3.0 * h * _v(r, "ffn_dense")
    always += moe * (_v(r, "shared_experts") * 3.0 * h * fe + h * e)
    sliding = _v(r, "sliding_layers")
    active_ffn = dense * _v(r, "ffn_dense") + moe * (k + _v(r, "shared_experts")) * fe
    return {
        "layers": layers,
        "moe_layers": moe,
        "hidden": h,
        "always_params": always,
        "attn_params": float(layers * attn),
        "expert_params": expert,
        "heads": r["heads"],
        "kv_groups": 1 if r["kv_lora_rank"] else r["kv_heads"],
        "experts": e,
        "experts_per_token": k,
        "embedding_params": float(r["vocab"] * h),
        "lm_head_params": 0.0 if r["tied_embeddings"] else float(r["vocab"] * h),
        "kv_full": kv * (layers - sliding),
        "kv_window": kv * sliding,
        "window": _v(r, "sliding_window"),
        "attn_flop_full": attn_flop * (layers - sliding),
        "attn_flop_window": attn_flop * sliding,
        "softmax_full": SOFTMAX_FLOP_PER_SCORE * r["heads"] * (layers - sliding),
        "softmax_window": SOFTMAX_FLOP_PER_SCORE * r["heads"] * sliding,
        "scalar_per_token": 2 * NORM_FLOP_PER_ELEMENT * h * layers + ACTIVATION_FLOP_PER_ELEMENT * active_ffn,
    }


def _apply_counts(row: dict, active: float, total: float) -> dict:
    """Replace parameter counts with a scenario's (no embeddings), keeping the MoE structure."""
    e, k = row["experts"], row["experts_per_token"]
    expert_sum = (total - active) / (e - k) if e > k else 0.0
    out = dict(row)
    out["expert_params"] = expert_sum
    out["always_params"] = active - k * expert_sum
    out["embedding_params"] = 0.0
    out["lm_head_params"] = 0.0
    return out


def model_arrays(
    models: Table,
    names: list[str] | None = None,
    counts: dict[str, tuple[float, float]] | None = None,
    include_embeddings: bool = True,
    sliding_window: bool = True,
) -> ModelArrays:
    """Arrays for ``names`` (default: every model). ``counts`` maps a model to (active, total).

    Models without an entry in ``counts`` keep their architecture's counts; embeddings are
    then dropped when ``include_embeddings`` is false, and ``param_source`` says which applied.
    ``sliding_window`` false treats sliding-window layers as full attention (how the Liminal
    study sizes gpt-oss's KV cache).
    """
    names = names or models.names()
    rows, sources = [], []
    for name in names:
        published = models.row(name)
        row = architecture_row(published if sliding_window else published | {"sliding_layers": 0})
        if counts and name in counts:
            row = _apply_counts(row, *counts[name])
            sources.append("scenario")
        else:
            if not include_embeddings:
                row["embedding_params"] = row["lm_head_params"] = 0.0
            sources.append("architecture")
        rows.append(row)
    fields = {f: np.array([r[f] for r in rows], dtype=np.float64) for f in rows[0]}
    return ModelArrays(names=tuple(names), param_source=tuple(sources), **fields)
