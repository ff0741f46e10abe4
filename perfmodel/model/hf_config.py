"""A Hugging Face ``config.json`` as a row of ``catalogs/models.csv`` (issue 24, item 1).

:func:`read_hf_config` reads one published config (a file, a model folder, or a hub cache folder
``models--org--name``, offline) and returns the catalog row keyed by the exact headers of
``catalogs/models.csv``, the weight precision its quantization config implies (``bf16``, ``fp8``
or ``fp4``), and the parameter counts computed from the architecture with the formulas of
:mod:`perfmodel.architecture` (so the counts are the ones the decode model uses).

Families: Llama 2/3 (``llama``), Mistral, Qwen 2.5/3 dense and MoE (``qwen2``, ``qwen3``,
``qwen2_moe``, ``qwen3_moe``), Mixtral, DeepSeek V2/V3 and the models built on them (``kimi_k2``,
``glm4_moe_lite``, and ``kimi_k25``'s text model), gpt-oss, GLM 4.5 (``glm4_moe``), Llama 4
(``llama4``, its ``text_config``) and MiniMax-M2. How fields map where the catalog has no exact
column:

- Llama 4 chunked attention (``attention_chunk_size`` on the RoPE layers) is written as a
  sliding window of the chunk size: a chunked layer keeps and attends over at most one chunk,
  the sliding-window bound (chunks restart, so the real average is about half a chunk).
- Qwen2-MoE's shared expert of ``shared_expert_intermediate_size`` becomes that many experts of
  ``moe_intermediate_size`` (exact for the parameter count); a size that is not a multiple is
  refused.
- Multi-token-prediction layers (``num_nextn_predict_layers``; MiniMax ``num_mtp_modules`` x
  ``mtp_transformer_layers``) have no column: they are returned in ``mtp_layers`` and left out of
  the parameter counts, as the published counts do (DeepSeek-V3's 671B; the Hub's 685B adds
  its MTP module).
- ``ffn_dense`` is filled only when some layer has a dense FFN (Llama 4 Scout's
  ``intermediate_size_mlp`` and Qwen3-MoE's ``intermediate_size`` are used by no layer).

Parameter counts (units of 1 in :class:`ParameterCounts`, 1e9 in the row as the header says):
``total`` holds every weight matrix (embeddings, output head unless tied, all layers, and a
Llama 4 vision tower), ``active`` is what one token uses: the same minus the routed experts it
does not use and minus the vision tower. Both count the input embedding, so a dense model has
``active == total`` as the catalog writes it; :attr:`ParameterCounts.embedding` gives the part
that some vendors leave out of their "active" figure (OpenAI and DeepSeek do).

Anything the catalog cannot express is refused with one-line :class:`~perfmodel.inputs.InvalidInput`
naming the file and the field: an unknown ``model_type``, hybrid Mamba or linear-attention layers,
sparse or compressed attention, integer (weight-only) quantization, and malformed files (over
:data:`MAX_CONFIG_BYTES`, not UTF-8 JSON, not an object, a size that is not a positive integer).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from perfmodel.catalog.schemas import MODELS
from perfmodel.catalog.table import in_header_unit, split_header
from perfmodel.inputs import InvalidInput
from perfmodel.model.architecture import architecture_row

#: Largest config.json (or hf_quant_config.json) read [bytes]; published ones are under 20 kB.
MAX_CONFIG_BYTES = 1 << 20
#: Largest size accepted for any dimension, count or vocabulary.
MAX_SIZE = 1 << 31
#: Most layers accepted (per-layer patterns are built as sets of layer indices).
MAX_LAYERS = 10_000
#: Longest text value quoted back in an error message [characters].
_SHOWN = 60
CONFIG_FILE = "config.json"
QUANT_FILE = "hf_quant_config.json"
_REVISION = re.compile(r"[0-9a-fA-F]{7,64}")  # a snapshot folder is named by its commit hash
_CACHE_DIR = re.compile(r"models--(?P<org>[^/\\]+?)--(?P<name>[^/\\]+)")
_MISSING = object()

#: Fields whose presence (a non-empty value) means an architecture the catalog cannot express.
REFUSED_FIELDS = {
    "hybrid_override_pattern": "a hybrid Mamba/attention layer pattern (state-space layers have no catalog column)",
    "layers_block_type": "a hybrid layer pattern (Mamba or linear blocks have no catalog column)",
    "block_configs": "per-layer heterogeneous blocks (a NAS-pruned model; the catalog has one layer shape)",
    "index_topk": "sparse attention (an indexer picks the attended tokens; the catalog attends densely)",
    "compress_ratios": "compressed attention (per-layer KV compression has no catalog column)",
    "linear_num_key_heads": "linear-attention layers (Gated DeltaNet has no catalog column)",
    "mamba_num_heads": "state-space (Mamba) layers",
    "o_lora_rank": "a low-rank attention output projection (not in the catalog's MLA shape)",
}
_ATTENTION_KINDS = ("full_attention", "sliding_attention", "chunked_attention")


@dataclass(frozen=True)
class ParameterCounts:
    """Weights of the imported model [parameters]; see the module docstring for what each holds."""

    total: int
    active: int
    embedding: int  # input embedding (looked up per token, not multiplied)
    lm_head: int  # output projection (0 when tied to the embedding)
    vision: int  # vision tower (Llama 4), in total only


@dataclass(frozen=True)
class ImportedModel:
    """One config.json as the catalog sees it."""

    row: dict[str, object]  # keyed by the exact headers of catalogs/models.csv
    precision: str  # weight precision: bf16, fp8 or fp4
    kv_precision: str | None  # KV-cache precision the checkpoint declares (None: not declared)
    model_type: str
    mtp_layers: int  # multi-token-prediction layers (not in the row, not in the counts)
    params: ParameterCounts
    config_path: Path
    notes: tuple[str, ...]  # approximations made on the way (one line each)


# ----------------------------------------------------------------------------------------------
# Public functions


def read_hf_config(path: str | Path, *, name: str | None = None, source: str | None = None) -> ImportedModel:
    """Import the config at ``path`` (file, model folder or hub cache folder; no network).

    ``name`` is the row's name (default: the model folder's name, lower case); ``source`` is the
    row's source (default: the config file's path). An ``hf_quant_config.json`` beside the
    config is read too. Raises :class:`InvalidInput` (one line, naming the file and the field).
    """
    config_path = find_config(path)
    where = str(config_path)
    data = _load_object(config_path, where)
    quant_path = config_path.parent / QUANT_FILE
    quant = _load_object(quant_path, str(quant_path)) if quant_path.is_file() else None
    return _import(data, quant, config_path, name=name, source=source)


def model_row(path: str | Path, *, name: str | None = None, source: str | None = None) -> dict[str, object]:
    """The catalog row of the config at ``path`` (:func:`read_hf_config`'s ``row``)."""
    return read_hf_config(path, name=name, source=source).row


def find_config(path: str | Path) -> Path:
    """The config.json that ``path`` names: the file itself, ``<folder>/config.json``, or in a hub
    cache folder ``models--org--name`` the snapshot ``refs/main`` points to (or the only one)."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.is_dir():
        _fail(p, None, "no such file or folder")
    if (p / CONFIG_FILE).is_file():
        return p / CONFIG_FILE
    snapshots = p / "snapshots"
    if snapshots.is_dir():
        ref = p / "refs" / "main"
        if ref.is_file():
            revision = _read_bytes(ref, str(ref), limit=256).decode("ascii", "replace").strip()
            if _REVISION.fullmatch(revision) and (snapshots / revision / CONFIG_FILE).is_file():
                return snapshots / revision / CONFIG_FILE
        found = sorted(d for d in snapshots.iterdir() if (d / CONFIG_FILE).is_file())
        if len(found) == 1:
            return found[0] / CONFIG_FILE
        _fail(p, "snapshots", f"{len(found)} snapshots hold a config.json and refs/main names none; pass one")
    _fail(p, CONFIG_FILE, "not found (give a config.json, a model folder, or a hub cache folder)")


def catalog_header() -> list[str]:
    """The column headers of ``catalogs/models.csv`` as written (units included)."""
    return list(_header())


@functools.lru_cache(maxsize=1)
def _header() -> tuple[str, ...]:
    from perfmodel.catalog.folder import DEFAULT_DIR

    text = (DEFAULT_DIR / MODELS.file).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return tuple(next(csv.reader([line])))
    raise InvalidInput(f"{DEFAULT_DIR / MODELS.file}: no header line")


def csv_line(row: dict[str, object]) -> str:
    """``row`` as one CSV line in the catalog's column order (empty cells for None)."""

    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        return f"{v:g}" if isinstance(v, float) else str(v)

    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([cell(row[h]) for h in _header()])
    return out.getvalue()


# ----------------------------------------------------------------------------------------------
# Reading files


def _fail(where: object, field: str | None, expected: str, value: object = _MISSING) -> NoReturn:
    text = f"{where}: " + (f"{field}: " if field else "") + expected
    if value is not _MISSING:
        text += f" (got {_show(value)})"
    raise InvalidInput(" ".join(text.split()))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _read_bytes(path: Path, where: str, limit: int = MAX_CONFIG_BYTES) -> bytes:
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as e:
        _fail(where, None, f"a readable file ({e.strerror})")
    if len(raw) > limit:
        _fail(where, None, f"a file of at most {limit} bytes")
    return raw


def _load_object(path: Path, where: str) -> dict:
    raw = _read_bytes(path, where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        _fail(where, None, f"UTF-8 text (byte {e.start} is not)")

    def no_constant(name: str) -> NoReturn:
        _fail(where, None, f"JSON numbers (found {name})")

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                _fail(where, key, "a key given once (it appears twice)")
            out[key] = value
        return out

    try:
        data = json.loads(text, parse_constant=no_constant, object_pairs_hook=no_duplicates)
    except InvalidInput:
        raise
    except json.JSONDecodeError as e:
        _fail(where, None, f"JSON ({e.msg} at line {e.lineno} column {e.colno})")
    except (ValueError, RecursionError) as e:
        _fail(where, None, f"JSON ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'invalid'})")
    if not isinstance(data, dict):
        _fail(where, None, f"a JSON object, not {type(data).__name__}")
    return data


class _Fields:
    """Typed access to one config object, with errors that name the file and the field."""

    def __init__(self, data: dict, where: str, prefix: str = ""):
        self.data, self.where, self.prefix = data, where, prefix

    def name(self, key: str) -> str:
        return self.prefix + key

    def fail(self, key: str, expected: str, value: object = _MISSING) -> NoReturn:
        _fail(self.where, self.name(key), expected, value)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def int(
        self, key: str, default: object = _MISSING, minimum: int = 1, maximum: int = MAX_SIZE
    ) -> int | None:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                self.fail(key, "a value (the field is missing)")
            return default  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"an integer >= {minimum}", value)
        if value < minimum or value > maximum:
            self.fail(key, f"an integer from {minimum} to {maximum}", value)
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, "true or false", value)
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or len(value) > 200:
            self.fail(key, "a short text", value)
        return value

    def int_list(self, key: str, length: int | None = None, minimum: int = 0) -> list[int] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            self.fail(key, "a list of integers", value)
        if length is not None and len(value) != length:
            self.fail(key, f"{length} entries (one per layer), not {len(value)}")
        if any(v < minimum or v > MAX_SIZE for v in value):
            self.fail(key, f"integers >= {minimum}", value)
        return value

    def text_list(self, key: str, length: int) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            self.fail(key, "a list of texts", value)
        if len(value) != length:
            self.fail(key, f"{length} entries (one per layer), not {len(value)}")
        return value

    def sub(self, key: str) -> _Fields:
        value = self.data.get(key)
        if not isinstance(value, dict):
            self.fail(key, "a JSON object", value)
        return _Fields(value, self.where, self.name(key) + ".")


# ----------------------------------------------------------------------------------------------
# Architecture


@dataclass
class _Arch:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int | None
    vocab: int
    tied: bool
    ffn_dense: int | None = None
    ffn_expert: int | None = None
    experts: int | None = None
    experts_per_token: int | None = None
    shared_experts: int | None = None
    moe_layers: frozenset[int] | None = None  # None: dense model
    moe_field: str = "moe_layers"  # the config field that placed the MoE layers (for errors)
    mla: tuple[int, int | None, int, int, int] | None = None  # kv_lora, q_lora, rope, nope, v
    window: int | None = None
    sliding_layers: int = 0
    mtp_layers: int = 0
    vision: int = 0


def _attention_gqa(f: _Fields) -> dict:
    hidden, heads = f.int("hidden_size"), f.int("num_attention_heads")
    kv = f.int("num_key_value_heads", default=heads)
    head_dim = f.int("head_dim", default=None)
    if head_dim is None:
        if hidden % heads:
            f.fail("head_dim", f"a value (hidden_size {hidden} is not a multiple of {heads} heads)")
        head_dim = hidden // heads
    if heads % kv:
        f.fail("num_key_value_heads", f"a divisor of num_attention_heads ({heads})", kv)
    return {
        "layers": f.int("num_hidden_layers", maximum=MAX_LAYERS),
        "hidden": hidden,
        "heads": heads,
        "kv_heads": kv,
        "head_dim": head_dim,
        "vocab": f.int("vocab_size"),
        "tied": f.bool("tie_word_embeddings", False),
    }


def _attention_mla(f: _Fields) -> dict:
    heads = f.int("num_attention_heads")
    mla = (
        f.int("kv_lora_rank"),
        f.int("q_lora_rank", default=None),
        f.int("qk_rope_head_dim"),
        f.int("qk_nope_head_dim"),
        f.int("v_head_dim"),
    )
    return {
        "layers": f.int("num_hidden_layers", maximum=MAX_LAYERS),
        "hidden": f.int("hidden_size"),
        "heads": heads,
        "kv_heads": f.int("num_key_value_heads", default=heads),
        "head_dim": None,
        "vocab": f.int("vocab_size"),
        "tied": f.bool("tie_word_embeddings", False),
        "mla": mla,
    }


def _layer_types(f: _Fields, layers: int) -> tuple[int, int]:
    """(sliding layers, chunked layers) from ``layer_types``; other kinds are refused."""
    kinds = f.text_list("layer_types", layers) or []
    for kind in kinds:
        if kind not in _ATTENTION_KINDS:
            f.fail(
                "layer_types",
                f"attention kinds {', '.join(_ATTENTION_KINDS)} (the catalog has no layer of this kind)",
                kind,
            )
    return kinds.count("sliding_attention"), kinds.count("chunked_attention")


def _sliding(f: _Fields, arch: dict, rule: str) -> None:
    """Sets ``window``/``sliding_layers``. ``rule``: how the family decides without layer_types."""
    layers = arch["layers"]
    if f.has("layer_types"):
        sliding, chunked = _layer_types(f, layers)
        if chunked:
            f.fail("layer_types", "no chunked_attention outside Llama 4 (no chunk size to read)")
    elif rule == "qwen":
        use = f.bool("use_sliding_window", False) and f.has("sliding_window")
        sliding = layers - f.int("max_window_layers", default=layers, minimum=0) if use else 0
        sliding = max(sliding, 0)
    elif rule == "all":
        sliding = layers if f.has("sliding_window") else 0
    elif rule == "alternate":  # gpt-oss without layer_types: even layers slide
        sliding = (layers + 1) // 2 if f.has("sliding_window") else 0
    else:
        if f.has("sliding_window"):
            f.fail(
                "sliding_window",
                "no sliding window for this family (which layers would use it?)",
                f.data["sliding_window"],
            )
        sliding = 0
    if sliding:
        arch["window"] = f.int("sliding_window")
        arch["sliding_layers"] = sliding


def _moe_pattern(f: _Fields, field: str, layers: int, moe: Iterable[int]) -> frozenset[int]:
    moe = frozenset(moe)
    if not moe or any(i < 0 or i >= layers for i in moe):
        f.fail(field, f"MoE layers within 0..{layers - 1} (found {len(moe)})")
    return moe


def _llama(f: _Fields, rule: str = "none") -> _Arch:
    arch = _attention_gqa(f)
    arch["ffn_dense"] = f.int("intermediate_size")
    _sliding(f, arch, rule)
    return _Arch(**arch)


def _qwen_moe(f: _Fields, shared_field: bool) -> _Arch:
    arch = _attention_gqa(f)
    layers = arch["layers"]
    step = f.int("decoder_sparse_step", default=1)
    dense = set(f.int_list("mlp_only_layers") or [])
    moe = _moe_pattern(
        f, "mlp_only_layers", layers, (i for i in range(layers) if i not in dense and (i + 1) % step == 0)
    )
    expert = f.int("moe_intermediate_size")
    shared_size = f.int("shared_expert_intermediate_size", default=None if shared_field else 0, minimum=0)
    if shared_size is None:
        f.fail("shared_expert_intermediate_size", "a value (qwen2_moe always has a shared expert)")
    if shared_size % expert:
        f.fail(
            "shared_expert_intermediate_size",
            f"a multiple of moe_intermediate_size ({expert}); the catalog has one expert size",
            shared_size,
        )
    arch.update(
        experts=f.int("num_experts"),
        experts_per_token=f.int("num_experts_per_tok"),
        ffn_expert=expert,
        shared_experts=shared_size // expert,
        moe_layers=moe,
        moe_field="mlp_only_layers" if dense else "decoder_sparse_step",
        ffn_dense=f.int("intermediate_size") if len(moe) < layers else None,
    )
    _sliding(f, arch, "qwen")
    return _Arch(**arch)


def _all_moe(f: _Fields, experts_key: str, rule: str) -> _Arch:
    """Mixtral and gpt-oss: every layer routes over ``experts_key`` experts of intermediate_size."""
    arch = _attention_gqa(f)
    k = f.int("num_experts_per_tok", default=None)
    alias = f.int("experts_per_token", default=None)
    if k is not None and alias is not None and k != alias:
        f.fail("experts_per_token", f"equal to num_experts_per_tok ({k})", alias)
    k = k if k is not None else alias
    if k is None:
        f.fail("num_experts_per_tok", "a value (the field is missing)")
    arch.update(
        experts=f.int(experts_key),
        experts_per_token=k,
        ffn_expert=f.int("intermediate_size"),
        shared_experts=0,
        moe_layers=frozenset(range(arch["layers"])),
    )
    _sliding(f, arch, rule)
    return _Arch(**arch)


def _routed_layers(f: _Fields, layers: int) -> tuple[frozenset[int], str]:
    """DeepSeek-style MoE layers: ``mlp_layer_types`` if given, else ``first_k_dense_replace``
    dense layers and then every ``moe_layer_freq``-th layer."""
    types = f.text_list("mlp_layer_types", layers)
    if types is not None:
        if any(t not in ("dense", "sparse") for t in types):
            f.fail("mlp_layer_types", "dense or sparse for each layer")
        return _moe_pattern(
            f, "mlp_layer_types", layers, (i for i, t in enumerate(types) if t == "sparse")
        ), "mlp_layer_types"
    first = f.int("first_k_dense_replace", default=0, minimum=0)
    freq = f.int("moe_layer_freq", default=1)
    field = "moe_layer_freq" if freq > 1 else "first_k_dense_replace"
    return _moe_pattern(f, field, layers, (i for i in range(first, layers) if i % freq == 0)), field


def _deepseek_moe(f: _Fields, arch: dict) -> None:
    if not f.has("n_routed_experts"):  # a dense member of the family
        arch["ffn_dense"] = f.int("intermediate_size")
        return
    moe, field = _routed_layers(f, arch["layers"])
    arch.update(
        experts=f.int("n_routed_experts"),
        experts_per_token=f.int("num_experts_per_tok"),
        ffn_expert=f.int("moe_intermediate_size"),
        shared_experts=f.int("n_shared_experts", default=0, minimum=0),
        moe_layers=moe,
        moe_field=field,
        ffn_dense=f.int("intermediate_size") if len(moe) < arch["layers"] else None,
    )


def _deepseek(f: _Fields) -> _Arch:
    arch = _attention_mla(f)
    _deepseek_moe(f, arch)
    _sliding(f, arch, "none")
    arch["mtp_layers"] = f.int("num_nextn_predict_layers", default=0, minimum=0)
    return _Arch(**arch)


def _glm(f: _Fields) -> _Arch:
    arch = _attention_gqa(f)
    _deepseek_moe(f, arch)
    _sliding(f, arch, "none")
    arch["mtp_layers"] = f.int("num_nextn_predict_layers", default=0, minimum=0)
    return _Arch(**arch)


def _minimax(f: _Fields) -> _Arch:
    arch = _attention_gqa(f)
    kinds = f.int_list("attn_type_list", arch["layers"])
    if kinds is not None and any(k != 1 for k in kinds):
        f.fail("attn_type_list", "1 (softmax attention) for every layer; 0 is linear (lightning) attention")
    expert = f.int("intermediate_size")
    shared = f.int("shared_intermediate_size", default=0, minimum=0)
    if shared % expert:
        f.fail("shared_intermediate_size", f"a multiple of intermediate_size ({expert})", shared)
    arch.update(
        experts=f.int("num_local_experts"),
        experts_per_token=f.int("num_experts_per_tok"),
        ffn_expert=expert,
        shared_experts=shared // expert,
        moe_layers=frozenset(range(arch["layers"])),
    )
    _sliding(f, arch, "none")
    if f.bool("use_mtp", False):
        arch["mtp_layers"] = f.int("num_mtp_modules", default=1) * f.int("mtp_transformer_layers", default=1)
    return _Arch(**arch)


def _llama4_text(f: _Fields) -> _Arch:
    arch = _attention_gqa(f)
    layers = arch["layers"]
    step = f.int("interleave_moe_layer_step", default=1)
    listed = f.int_list("moe_layers")
    moe = listed if listed is not None else range(step - 1, layers, step)
    moe = _moe_pattern(f, "moe_layers", layers, moe)
    arch.update(
        experts=f.int("num_local_experts"),
        experts_per_token=f.int("num_experts_per_tok"),
        ffn_expert=f.int("intermediate_size"),
        shared_experts=1,  # Llama4TextMoe: one shared expert of intermediate_size
        moe_layers=moe,
        moe_field="moe_layers" if listed is not None else "interleave_moe_layer_step",
        ffn_dense=f.int("intermediate_size_mlp") if len(moe) < layers else None,
    )
    if f.has("layer_types"):
        sliding, chunked = _layer_types(f, layers)
        if sliding:
            f.fail("layer_types", "chunked_attention or full_attention (Llama 4 has no sliding window)")
    elif f.has("attention_chunk_size"):
        rope = f.int_list("no_rope_layers", layers, minimum=0)
        if rope is not None and any(v not in (0, 1) for v in rope):
            f.fail("no_rope_layers", "0 (NoPE, global attention) or 1 (RoPE, chunked) per layer")
        if not rope:  # HF default: every no_rope_layer_interval-th layer is global (NoPE)
            interval = f.int("no_rope_layer_interval", default=4)
            rope = [int((i + 1) % interval != 0) for i in range(layers)]
        chunked = sum(rope)
    else:
        chunked = 0
    if chunked:
        arch["window"] = f.int("attention_chunk_size")
        arch["sliding_layers"] = chunked
    return _Arch(**arch)


def _vision_params(v: _Fields, text_hidden: int) -> int:
    """Matrices of a ViT tower: encoder layers (4 h^2 attention + 2 h ffn MLP), the patch
    embedding and the projector to the text width (the pixel-shuffle adapter is left out)."""
    layers, h, ffn = v.int("num_hidden_layers"), v.int("hidden_size"), v.int("intermediate_size")
    patch, channels = v.int("patch_size"), v.int("num_channels", default=3)
    out = v.int("vision_output_dim", default=h)
    return layers * (4 * h * h + 2 * h * ffn) + channels * patch * patch * h + out * text_hidden


#: model_type -> parser of its (text) config.
FAMILIES: dict[str, Callable[[_Fields], _Arch]] = {
    "llama": _llama,
    "mistral": lambda f: _llama(f, "all"),
    "qwen2": lambda f: _llama(f, "qwen"),
    "qwen3": lambda f: _llama(f, "qwen"),
    "qwen2_moe": lambda f: _qwen_moe(f, shared_field=True),
    "qwen3_moe": lambda f: _qwen_moe(f, shared_field=False),
    "mixtral": lambda f: _all_moe(f, "num_local_experts", "all"),
    "gpt_oss": lambda f: _all_moe(f, "num_local_experts", "alternate"),
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "kimi_k2": _deepseek,
    "glm4_moe_lite": _deepseek,
    "glm4_moe": _glm,
    "minimax_m2": _minimax,
    "llama4_text": _llama4_text,
}
#: Multimodal wrappers whose ``text_config`` is one of :data:`FAMILIES`.
WRAPPERS = {"llama4": ("llama4_text",), "kimi_k25": ("kimi_k2", "deepseek_v3")}


def _refused_fields(f: _Fields) -> None:
    for key, why in REFUSED_FIELDS.items():
        value = f.data.get(key)
        if value not in (None, 0, "", [], {}):
            f.fail(key, f"{why}; this catalog cannot represent it", value)


def _text_config(top: _Fields) -> tuple[_Fields, str, bool]:
    """(fields of the language model, its model_type, whether it is a text_config)."""
    _refused_fields(top)
    model_type = top.text("model_type")
    if model_type is None:
        top.fail("model_type", "a value (the field is missing)")
    if model_type in WRAPPERS or (
        model_type not in FAMILIES and isinstance(top.data.get("text_config"), dict)
    ):
        text = top.sub("text_config")
        _refused_fields(text)
        inner = text.text("model_type", WRAPPERS.get(model_type, (None,))[0])
        if model_type not in WRAPPERS or inner not in WRAPPERS[model_type]:
            top.fail("model_type", f"one of {', '.join(sorted([*FAMILIES, *WRAPPERS]))}", model_type)
        return text, inner, True
    if model_type not in FAMILIES:
        top.fail("model_type", f"one of {', '.join(sorted([*FAMILIES, *WRAPPERS]))}", model_type)
    for arch_name in top.data.get("architectures") or []:
        if isinstance(arch_name, str) and not arch_name.endswith(("ForCausalLM", "ForConditionalGeneration")):
            top.fail("architectures", "a causal language model (...ForCausalLM)", arch_name)
    return top, model_type, False


# ----------------------------------------------------------------------------------------------
# Precision


def _quant_method(q: _Fields) -> tuple[str, str | None]:
    """(weight precision, KV precision or None) of one quantization_config."""
    method = q.text("quant_method")
    if method in ("fp8", "fbgemm_fp8"):
        fmt = q.text("fmt", "e4m3")
        if "e4m3" not in fmt and "e5m2" not in fmt:
            q.fail("fmt", "an FP8 format (e4m3 or e5m2)", fmt)
        return "fp8", None
    if method == "mxfp4":
        return "fp4", None
    if method == "modelopt":
        return _modelopt(q, "quant_algo", "kv_cache_quant_algo")
    if method == "compressed-tensors":
        return _compressed_tensors(q)
    q.fail(
        "quant_method",
        "fp8, fbgemm_fp8, mxfp4, modelopt or compressed-tensors float formats "
        "(integer weight-only schemes have no catalog precision)",
        method,
    )


def _modelopt(q: _Fields, algo_key: str, kv_key: str) -> tuple[str, str | None]:
    algos = {"FP8": "fp8", "FP8_PB_WO": "fp8", "FP8_BLOCKWISE": "fp8", "NVFP4": "fp4", "MXFP4": "fp4"}
    algo = q.text(algo_key)
    if algo not in algos:
        q.fail(
            algo_key, f"one of {', '.join(algos)} (other ModelOpt schemes have no catalog precision)", algo
        )
    kv = q.text(kv_key)
    if kv is not None and kv not in ("FP8", "NVFP4"):
        q.fail(kv_key, "FP8 or NVFP4", kv)
    return algos[algo], {"FP8": "fp8", "NVFP4": "fp4"}.get(kv or "")


def _compressed_tensors(q: _Fields) -> tuple[str, str | None]:
    groups = q.sub("config_groups")
    found = set()
    for name in groups.data:
        g = groups.sub(name)
        w = g.sub("weights")
        bits, kind = w.int("num_bits"), w.text("type", "int")
        if kind != "float" or bits not in (4, 8):
            w.fail(
                "num_bits",
                f"8- or 4-bit float weights; {bits}-bit {kind} weights have no catalog precision",
                bits,
            )
        found.add("fp8" if bits == 8 else "fp4")
    if len(found) != 1:
        q.fail("config_groups", "one weight precision for all groups", sorted(found))
    kv = None
    if q.has("kv_cache_scheme"):
        s = q.sub("kv_cache_scheme")
        if s.int("num_bits") == 8 and s.text("type", "float") == "float":
            kv = "fp8"
        else:
            s.fail("num_bits", "an 8-bit float KV cache", s.data.get("num_bits"))
    return found.pop(), kv


def _precision(top: _Fields, text: _Fields, quant: dict | None, quant_where: str) -> tuple[str, str | None]:
    declared = [f.sub("quantization_config") for f in (text, top) if f.has("quantization_config")]
    if len(declared) == 2 and declared[0].data != declared[1].data:
        declared[1].fail("quant_method", "the same quantization_config as text_config")
    results = [_quant_method(declared[0])] if declared else []
    if quant is not None:
        qf = _Fields(quant, quant_where)
        results.append(_modelopt(qf.sub("quantization"), "quant_algo", "kv_cache_quant_algo"))
    if results:
        if len({p for p, _ in results}) > 1:
            _fail(
                quant_where,
                "quantization.quant_algo",
                f"the precision config.json declares ({results[0][0]})",
                results[1][0],
            )
        kv = next((k for _, k in results if k), None)
        return results[0][0], kv
    for f in (text, top):
        dtype = f.text("torch_dtype") or f.text("dtype")
        if dtype is not None:
            if dtype not in ("bfloat16", "float16"):
                key = "torch_dtype" if f.has("torch_dtype") else "dtype"
                f.fail(key, "bfloat16 or float16 (the catalog's precisions are bf16, fp8 and fp4)", dtype)
            return "bf16", None
    return "bf16", None


# ----------------------------------------------------------------------------------------------
# Row


def _default_name(config_path: Path) -> str:
    for part in reversed(config_path.parts):
        m = _CACHE_DIR.fullmatch(part)
        if m:
            return m["name"].lower()
    if config_path.name == CONFIG_FILE and config_path.parent.name:
        return config_path.parent.name.lower()
    return config_path.stem.lower()


def _canonical(a: _Arch, name: str, source: str) -> dict:
    moe = a.moe_layers
    first_dense = every = None
    if moe is not None:
        ordered = sorted(moe)
        gaps = {b - x for x, b in zip(ordered, ordered[1:], strict=False)}
        every = gaps.pop() if len(gaps) == 1 else 1
        first = ordered[0] - (every - 1)
        regular = not gaps and first >= 0 and ordered == list(range(ordered[0], a.layers, every))
        if not regular:
            raise ValueError("moe layers")
        first_dense = first or None
    return {
        "name": name,
        "layers": a.layers,
        "hidden": a.hidden,
        "heads": a.heads,
        "kv_heads": a.kv_heads,
        "head_dim": a.head_dim,
        "ffn_dense": a.ffn_dense,
        "ffn_expert": a.ffn_expert,
        "experts": a.experts,
        "experts_per_token": a.experts_per_token,
        "shared_experts": a.shared_experts,
        "moe_every": every,
        "first_dense": first_dense,
        "kv_lora_rank": a.mla[0] if a.mla else None,
        "q_lora_rank": a.mla[1] if a.mla else None,
        "qk_rope_head_dim": a.mla[2] if a.mla else None,
        "qk_nope_head_dim": a.mla[3] if a.mla else None,
        "v_head_dim": a.mla[4] if a.mla else None,
        "sliding_window": a.window if a.sliding_layers else None,
        "sliding_layers": a.sliding_layers or None,
        "vocab": a.vocab,
        "tied_embeddings": a.tied,
        "total_params_published": None,
        "active_params_published": None,
        "source": source,
    }


def _counts(r: dict, vision: int) -> ParameterCounts:
    s = architecture_row(r)
    always, expert = round(s["always_params"]), round(s["expert_params"])
    embedding, head = round(s["embedding_params"]), round(s["lm_head_params"])
    layers = always + head + embedding
    return ParameterCounts(
        total=layers + s["experts"] * expert + vision,
        active=layers + s["experts_per_token"] * expert,
        embedding=embedding,
        lm_head=head,
        vision=vision,
    )


def _import(
    data: dict, quant: dict | None, config_path: Path, name: str | None, source: str | None
) -> ImportedModel:
    where = str(config_path)
    top = _Fields(data, where)
    text, model_type, nested = _text_config(top)
    arch = FAMILIES[model_type](text)
    if nested and not text.has("tie_word_embeddings"):
        arch.tied = top.bool("tie_word_embeddings", arch.tied)
    notes = []
    if model_type == "llama4_text" and arch.sliding_layers:
        notes.append(
            f"{arch.sliding_layers} chunked-attention layers written as sliding windows of {arch.window} tokens"
        )
    if nested and top.has("vision_config"):
        if model_type == "llama4_text":
            arch.vision = _vision_params(top.sub("vision_config"), arch.hidden)
            notes.append(
                "vision tower counted in total_params only (encoder layers, patch embedding, projector)"
            )
        else:
            notes.append("vision tower not counted")
    precision, kv = _precision(top, text, quant, str(config_path.parent / QUANT_FILE))
    if precision == "fp4" and (text.data.get("quantization_config") or {}).get("modules_to_not_convert"):
        notes.append("mixed precision: modules_to_not_convert (attention, router, embeddings) stay 16-bit")
    src = source if source is not None else where
    if nested and source is not None and "text_config" not in src:
        src += " (text_config)"
    try:
        r = _canonical(arch, name if name is not None else _default_name(config_path), src)
    except ValueError:
        text.fail(
            arch.moe_field, "MoE layers that follow the dense ones at a regular step up to the last layer"
        )
    for column, expected in MODELS.row_check(r) if MODELS.row_check else ():
        text.fail(column, f"a config the catalog accepts ({column} must be {expected})")
    counts = _counts(r, arch.vision)
    r["total_params_published"] = counts.total
    r["active_params_published"] = counts.active
    return ImportedModel(
        row=_as_header_row(r),
        precision=precision,
        kv_precision=kv,
        model_type=model_type,
        mtp_layers=arch.mtp_layers,
        params=counts,
        config_path=config_path,
        notes=tuple(notes),
    )


def _as_header_row(r: dict) -> dict[str, object]:
    out: dict[str, object] = {}
    for header in _header():
        column, unit = split_header(header) or (header, None)
        if column not in r:
            raise InvalidInput(f"{MODELS.file}: {header}: a column perfmodel.model.hf_config does not fill")
        value = r[column]
        if unit is not None and value is not None:
            value = float(f"{in_header_unit(value, MODELS.column(column).unit or '1', unit):.4g}")
        out[header] = value
    return out
