"""Importing Hugging Face config.json files as rows of catalogs/models.csv (perfmodel.model.hf_config).

Fixtures: tests/data/hf_configs/<model>/config.json, each with a SOURCE.txt naming the Hub URL, the
copy it was taken from and how faithful that copy is.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.catalog.schemas import MODELS
from perfmodel.catalog.table import read_table
from perfmodel.inputs import InvalidInput
from perfmodel.model import hf_config

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
HEADER = hf_config.catalog_header()
PARAM_COLUMNS = [h for h in HEADER if "params" in h]
ARCH_COLUMNS = [h for h in HEADER if h not in PARAM_COLUMNS]


def _catalog_rows() -> list[dict[str, str]]:
    lines = (DEFAULT_DIR / "models.csv").read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


def _cells(row: dict[str, object]) -> dict[str, str]:
    return dict(zip(HEADER, next(csv.reader([hf_config.csv_line(row)])), strict=True))


CATALOG = _catalog_rows()

# ----------------------------------------------------------------------------------------------
# Every catalog row from its published config

#: Cells where a catalog row and its published config disagree: (catalog, imported). Reported, not
#: changed. Llama 4's RoPE layers (3 in 4) use 8192-token chunked attention, which the catalog rows
#: leave out (every layer sized as full attention); Scout has no dense FFN layer, so its
#: intermediate_size_mlp (the catalog's ffn_dense) is used by no layer.
CATALOG_DIFFERENCES = {
    "llama4-scout": {
        "ffn_dense": ("16384", ""),
        "sliding_window": ("", "8192"),
        "sliding_layers": ("", "36"),
    },
    "llama4-maverick": {"sliding_window": ("", "8192"), "sliding_layers": ("", "36")},
}


def test_every_catalog_model_has_a_published_config_fixture():
    assert {r["name"] for r in CATALOG} <= {
        d.name for d in FIXTURES.iterdir() if (d / "config.json").is_file()
    }
    assert all((d / "SOURCE.txt").is_file() for d in FIXTURES.iterdir())


@pytest.mark.parametrize("row", CATALOG, ids=lambda r: r["name"])
def test_catalog_row_is_reproduced_from_its_config(row):
    """Every architecture column (and name and source) equals the catalog's cell, except the
    differences listed above."""
    source = row["source"].removesuffix(" (text_config)")
    cells = _cells(hf_config.model_row(FIXTURES / row["name"], name=row["name"], source=source))
    differences = {c: (row[c], cells[c]) for c in ARCH_COLUMNS if row[c] != cells[c]}
    assert differences == CATALOG_DIFFERENCES.get(row["name"], {})


# ----------------------------------------------------------------------------------------------
# Parameter counts against the published figures

ALL, NO_EMBEDDING, NO_EMBEDDINGS = "all", "no input embedding", "no embeddings"
#: Published counts [1e9]: total, active, what the active figure counts, where published. Catalog
#: models use the catalog's figures ("as published"). A figure is matched within 1% or within its
#: own rounding (half a unit of its last digit), whichever is wider: "17B" cannot be checked to 1%.
PUBLISHED = {
    "llama3-8b": ("8.0", "8.0", ALL, "catalog"),
    "llama3-70b": ("70.6", "70.6", ALL, "catalog"),
    "llama2-70b": ("69.0", "69.0", ALL, "catalog"),
    "llama3-405b": ("405.9", "405.9", ALL, "catalog"),
    "llama4-scout": ("109", "17", ALL, "catalog; model card 109B total (with the vision tower), 17B active"),
    "llama4-maverick": ("400", "17", ALL, "catalog; model card"),
    "deepseek-v3": (
        "671",
        "37",
        NO_EMBEDDING,
        "catalog; README_WEIGHTS: 671B main model, 36.6B active incl. output head",
    ),
    "qwen3-4b": ("4.0", "4.0", ALL, "catalog; model card 4.0B (3.6B non-embedding)"),
    "qwen3-30b-a3b": ("30.5", "3.3", ALL, "catalog; model card 30.5B total, 3.3B activated"),
    "qwen3-235b-a22b": ("235", "22", ALL, "catalog; model card"),
    "kimi-k2": ("1040", "32", NO_EMBEDDING, "catalog; Kimi K2 report 1.04T total, 32B activated"),
    "gpt-oss-20b": (
        "20.9",
        "3.6",
        NO_EMBEDDING,
        "catalog; model card 20.91B / 3.61B (active excludes the embedding)",
    ),
    "gpt-oss-120b": ("116.8", "5.1", NO_EMBEDDING, "catalog; model card 116.83B / 5.13B"),
    "mixtral-8x7b": ("46.7", "12.9", ALL, "catalog; Mistral: 46.7B total, 12.9B per token"),
    "qwen2.5-7b": ("7.61", "7.61", ALL, "model card: 7.61B (6.53B non-embedding)"),
    "qwen2.5-3b": ("3.09", "3.09", ALL, "model card: 3.09B (2.77B non-embedding)"),
    "deepseek-r1": ("671", "37", NO_EMBEDDING, "model card: 671B total, 37B activated"),
    "qwen3-coder-480b-a35b": ("480", "35", ALL, "model card: 480B total, 35B activated"),
    "qwen3-235b-a22b-nvfp4": ("235", "22", ALL, "base model's card"),
    "mixtral-8x22b": ("141", "39", ALL, "Mistral: 141B total, 39B active"),
    "glm-4.5-air": ("106", "12", NO_EMBEDDINGS, "model card 106B / 12B (what 'active' counts is not stated)"),
    "glm-4.7-flash": ("30", "3", NO_EMBEDDINGS, "model card: 30B-A3B (what 'active' counts is not stated)"),
    "minimax-m2.5": (
        "230",
        "10",
        NO_EMBEDDINGS,
        "model card 230B / 10B (what 'active' counts is not stated)",
    ),
}
#: Published figures the architecture does not reproduce (strict: they fail the day they match).
PARAM_DISAGREEMENTS = {
    ("kimi-k2", "total"): "1.04T published; the config's matrices sum to 1026.4B (-1.3%)",
    ("qwen3-30b-a3b", "active"): "3.3B published; 3.353B with embeddings, 3.04B without the input embedding",
}


def _tolerance(text: str) -> float:
    decimals = len(text.partition(".")[2])
    return max(0.01 * float(text), 0.5 * 10.0**-decimals)


def _param_cases():
    for model, (total, active, counts, _) in PUBLISHED.items():
        for kind, figure in (("total", total), ("active", active)):
            reason = PARAM_DISAGREEMENTS.get((model, kind))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(model, kind, figure, counts, marks=marks, id=f"{model}-{kind}")


@pytest.mark.parametrize(("model", "kind", "figure", "counts"), list(_param_cases()))
def test_parameter_count_matches_the_published_figure(model, kind, figure, counts):
    p = hf_config.read_hf_config(FIXTURES / model).params
    if kind == "total":
        value = p.total
    else:
        value = (
            p.active - (p.embedding if counts != ALL else 0) - (p.lm_head if counts == NO_EMBEDDINGS else 0)
        )
    assert value / 1e9 == pytest.approx(float(figure), abs=_tolerance(figure))


def test_row_parameter_columns_hold_the_computed_counts_in_the_header_unit():
    m = hf_config.read_hf_config(FIXTURES / "deepseek-v3")
    assert m.params.total == 671_025_397_760  # 61 MLA layers, 3 dense, 58 x (256 routed + 1 shared)
    assert m.params.active == 37_551_276_032
    assert m.params.active - m.params.embedding == 36_624_596_992  # README_WEIGHTS: 36.6B
    assert m.row["total_params_published[1e9]"] == 671.0
    assert m.row["active_params_published[1e9]"] == 37.55
    dense = hf_config.read_hf_config(FIXTURES / "qwen3-4b").params
    assert dense.total == dense.active and dense.lm_head == 0  # tied embeddings


@pytest.mark.parametrize(
    ("model", "figure"),
    [("qwen2.5-7b", "6.53"), ("qwen2.5-3b", "2.77"), ("qwen3-4b", "3.6"), ("qwen3-30b-a3b", "29.9")],
)
def test_non_embedding_count_matches_qwen_model_cards(model, figure):
    """Qwen's cards also publish the count without embeddings: checks the embedding and head
    accounting (tied in the 3B and 4B models)."""
    p = hf_config.read_hf_config(FIXTURES / model).params
    assert (p.total - p.embedding - p.lm_head) / 1e9 == pytest.approx(float(figure), abs=_tolerance(figure))


def test_multi_token_prediction_layers_are_reported_and_not_counted():
    assert {
        m: hf_config.read_hf_config(FIXTURES / m).mtp_layers
        for m in ("deepseek-v3", "kimi-k2", "glm-4.5-air", "minimax-m2.5")
    } == {
        "deepseek-v3": 1,
        "kimi-k2": 0,
        "glm-4.5-air": 1,
        "minimax-m2.5": 3,
    }
    # DeepSeek-V3's published 671B leaves out its MTP module; so does the count above (671.03B).


def test_llama4_vision_tower_is_in_total_only():
    m = hf_config.read_hf_config(FIXTURES / "llama4-scout")
    assert m.params.vision == 34 * (4 * 1408**2 + 2 * 1408 * 5632) + 3 * 14 * 14 * 1408 + 4096 * 5120
    assert m.params.total - m.params.vision == pytest.approx(107.77e9, rel=1e-3)  # text model: -1.1% of 109B
    assert m.params.active == 17_172_398_080


# ----------------------------------------------------------------------------------------------
# Mapping details


def test_precision_and_kv_precision_from_the_quantization_config():
    got = {
        m: (r.precision, r.kv_precision)
        for m in (
            "llama3-8b",
            "deepseek-v3",
            "kimi-k2",
            "gpt-oss-20b",
            "qwen3-235b-a22b-nvfp4",
            "minimax-m2.5",
        )
        for r in [hf_config.read_hf_config(FIXTURES / m)]
    }
    assert got == {
        "llama3-8b": ("bf16", None),
        "deepseek-v3": ("fp8", None),
        "kimi-k2": ("fp8", None),
        "gpt-oss-20b": ("fp4", None),  # mxfp4 experts; attention and router stay 16-bit (a note says so)
        "qwen3-235b-a22b-nvfp4": ("fp4", "fp8"),  # hf_quant_config.json: NVFP4 weights, FP8 KV cache
        "minimax-m2.5": ("fp8", None),
    }


def test_new_models_import_to_rows_the_catalog_loader_accepts():
    """The imported rows of every importable fixture, written as CSV, load through the strict
    catalog loader with the same values."""
    models = [
        "qwen2.5-7b",
        "deepseek-r1",
        "qwen3-coder-480b-a35b",
        "qwen3-235b-a22b-nvfp4",
        "mixtral-8x22b",
        "glm-4.5-air",
        "glm-4.7-flash",
        "minimax-m2.5",
    ]
    rows = [hf_config.model_row(FIXTURES / m, source=f"https://example.org/{m}/config.json") for m in models]
    text = ",".join(HEADER) + "\n" + "".join(hf_config.csv_line(r) + "\n" for r in rows)
    table = read_table(text.encode(), MODELS, file="models.csv")
    assert table.names() == models
    glm = table.row("glm-4.5-air")
    assert (glm["layers"], glm["first_dense"], glm["experts"], glm["shared_experts"], glm["ffn_dense"]) == (
        46,
        1,
        128,
        1,
        10944,
    )
    flash = table.row("glm-4.7-flash")
    assert (flash["kv_lora_rank"], flash["qk_nope_head_dim"], flash["v_head_dim"], flash["head_dim"]) == (
        512,
        192,
        256,
        None,
    )
    assert table.row("minimax-m2.5")["experts"] == 256
    qwen = table.row("qwen2.5-7b")  # sliding_window 131072 with use_sliding_window false: full attention
    assert (qwen["sliding_window"], qwen["sliding_layers"], qwen["tied_embeddings"]) == (None, None, False)


def test_gpt_oss_sliding_layers_come_from_layer_types():
    row = hf_config.model_row(FIXTURES / "gpt-oss-120b")
    assert (row["sliding_window"], row["sliding_layers"]) == (128, 18)


def _edited(tmp_path: Path, model: str, change=None, text_config: bool = False, **fields) -> Path:
    data = json.loads((FIXTURES / model / "config.json").read_text())
    target = data["text_config"] if text_config else data
    for key, value in fields.items():
        if value is _DELETE:
            target.pop(key, None)
        else:
            target[key] = value
    if change:
        change(data)
    folder = tmp_path / model
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(data))
    return folder


_DELETE = object()


def test_llama4_chunked_layers_follow_no_rope_layers(tmp_path):
    every_layer = _edited(tmp_path / "a", "llama4-scout", text_config=True, no_rope_layers=[1] * 48)
    assert hf_config.model_row(every_layer)["sliding_layers"] == 48
    one_in_two = _edited(tmp_path / "b", "llama4-scout", text_config=True, no_rope_layers=[1, 0] * 24)
    assert hf_config.model_row(one_in_two)["sliding_layers"] == 24
    no_chunks = _edited(tmp_path / "c", "llama4-scout", text_config=True, attention_chunk_size=None)
    assert hf_config.model_row(no_chunks)["sliding_layers"] is None


def test_qwen_sliding_window_applies_above_max_window_layers_only_when_enabled(tmp_path):
    on = _edited(tmp_path / "a", "qwen2.5-7b", use_sliding_window=True, max_window_layers=20)
    assert (hf_config.model_row(on)["sliding_window"], hf_config.model_row(on)["sliding_layers"]) == (
        131072,
        8,
    )
    assert hf_config.model_row(FIXTURES / "qwen2.5-7b")["sliding_layers"] is None  # published: disabled


def test_qwen2_moe_shared_expert_becomes_whole_experts(tmp_path):
    folder = _edited(
        tmp_path / "a", "qwen3-30b-a3b", model_type="qwen2_moe", shared_expert_intermediate_size=4 * 768
    )
    row = hf_config.model_row(folder)
    assert (row["experts"], row["shared_experts"], row["ffn_expert"]) == (128, 4, 768)
    odd = _edited(
        tmp_path / "b", "qwen3-30b-a3b", model_type="qwen2_moe", shared_expert_intermediate_size=1000
    )
    with pytest.raises(
        InvalidInput, match="shared_expert_intermediate_size: a multiple of moe_intermediate_size"
    ):
        hf_config.model_row(odd)


def test_maverick_interleaved_moe_layers(tmp_path):
    row = hf_config.model_row(FIXTURES / "llama4-maverick")
    assert (row["moe_every"], row["first_dense"], row["ffn_dense"]) == (2, None, 16384)
    listed = _edited(tmp_path, "llama4-maverick", text_config=True, moe_layers=list(range(1, 48, 2)))
    assert hf_config.model_row(listed)["moe_every"] == 2


# ----------------------------------------------------------------------------------------------
# Refusals: one line naming the file and the field

#: Fixtures the catalog cannot express, and the field each is refused by.
REFUSED = {
    "deepseek-v3.2": "index_topk",  # DeepSeek sparse attention
    "deepseek-v4-flash": "index_topk",  # sparse + compressed attention
    "glm-5": "index_topk",  # DSA
    "qwen3.5-397b-a17b": "text_config.linear_num_key_heads",  # Gated DeltaNet hybrid
    "nemotron-3-nano-30b-a3b": "hybrid_override_pattern",  # Mamba hybrid
    "kimi-k2.5": "text_config.quantization_config.config_groups.group_0.weights.num_bits",  # INT4 W4A16
    "gemma-4-26b-a4b": "model_type",  # unknown family
}


def _one_line_error(path: Path, field: str) -> str:
    with pytest.raises(InvalidInput) as info:
        hf_config.read_hf_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path if path.is_file() else path / "config.json") + ": " + field + ":"), (
        message
    )
    return message


@pytest.mark.parametrize(("model", "field"), REFUSED.items())
def test_unsupported_architecture_is_refused_by_its_field(model, field):
    _one_line_error(FIXTURES / model, field)


def test_unknown_model_type_lists_the_supported_ones(tmp_path):
    message = _one_line_error(_edited(tmp_path, "llama3-8b", model_type="falcon"), "model_type")
    assert "(got 'falcon')" in message and "llama, llama4" in message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"num_hidden_layers": -32}, "num_hidden_layers"),
        ({"num_hidden_layers": 0}, "num_hidden_layers"),
        ({"num_hidden_layers": "32"}, "num_hidden_layers"),
        ({"num_hidden_layers": 32.0}, "num_hidden_layers"),
        ({"num_hidden_layers": True}, "num_hidden_layers"),
        ({"hidden_size": 2**40}, "hidden_size"),
        ({"num_hidden_layers": 2**30}, "num_hidden_layers"),
        ({"vocab_size": _DELETE}, "vocab_size"),
        ({"num_key_value_heads": 7}, "num_key_value_heads"),
        ({"hidden_size": 4097}, "head_dim"),
        ({"tie_word_embeddings": "no"}, "tie_word_embeddings"),
        ({"torch_dtype": "float32"}, "torch_dtype"),
        ({"quantization_config": {"quant_method": "gptq", "bits": 4}}, "quantization_config.quant_method"),
        ({"layer_types": ["linear_attention"] * 32}, "layer_types"),
        ({"layer_types": ["full_attention"] * 31}, "layer_types"),
        ({"sliding_window": 4096}, "sliding_window"),
        ({"architectures": ["LlamaForSequenceClassification"]}, "architectures"),
    ],
)
def test_bad_field_is_refused_in_one_line(tmp_path, fields, field):
    _one_line_error(_edited(tmp_path, "llama3-8b", **fields), field)


def test_irregular_moe_layers_are_refused(tmp_path):
    trailing_dense = _edited(tmp_path, "qwen3-30b-a3b", mlp_only_layers=[47])
    _one_line_error(trailing_dense, "mlp_only_layers")
    gaps = _edited(tmp_path / "b", "llama4-maverick", text_config=True, moe_layers=[1, 3, 7])
    _one_line_error(gaps, "text_config.moe_layers")


def test_quantization_files_that_disagree_are_refused(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "qwen3-235b-a22b-nvfp4", folder)
    data = json.loads((folder / "config.json").read_text())
    data["quantization_config"] = {"quant_method": "fp8", "fmt": "e4m3"}
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(
        InvalidInput,
        match=r"hf_quant_config\.json: quantization\.quant_algo: the precision config\.json declares \(fp8\)",
    ):
        hf_config.read_hf_config(folder)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[1, 2]", "a JSON object, not list"),
        (b'{"model_type": "llama",', "JSON (Expecting"),
        (b'{"model_type": "llama", "model_type": "qwen3"}', "model_type: a key given once"),
        (b'{"num_hidden_layers": NaN}', "JSON numbers (found NaN)"),
        (b'{"a": "\xff"}', "UTF-8 text"),
        (b"[" * 200_000 + b"]" * 200_000, "JSON (RecursionError"),
        (b'{"vocab_size": 1' + b"0" * 5000 + b"}", "JSON (ValueError"),
        (b" " * (hf_config.MAX_CONFIG_BYTES + 1), f"a file of at most {hf_config.MAX_CONFIG_BYTES} bytes"),
    ],
)
def test_hostile_file_is_refused_in_one_line(tmp_path, content, expected):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as info:
        hf_config.read_hf_config(path)
    assert (
        str(info.value).startswith(f"{path}: ")
        and expected in str(info.value)
        and "\n" not in str(info.value)
    )


# ----------------------------------------------------------------------------------------------
# Where the config is read from


def test_file_folder_and_default_name_and_source():
    folder = FIXTURES / "mixtral-8x7b"
    from_folder = hf_config.model_row(folder)
    from_file = hf_config.model_row(folder / "config.json")
    assert from_folder == from_file
    assert from_folder["name"] == "mixtral-8x7b"
    assert from_folder["source"] == str(folder / "config.json")
    assert (
        hf_config.model_row(folder, name="m", source="https://x/config.json")["source"]
        == "https://x/config.json"
    )


def _hub_cache(root: Path, model: str, revisions: list[str], ref: str | None) -> Path:
    cache = root / f"models--org--{model.upper()}"
    blob = cache / "blobs" / "abc123"
    blob.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / model / "config.json", blob)
    for revision in revisions:
        snapshot = cache / "snapshots" / revision
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").symlink_to(blob)  # the hub cache links snapshots to blobs
    if ref is not None:
        (cache / "refs").mkdir()
        (cache / "refs" / "main").write_text(ref)
    return cache


def test_hub_cache_folder_uses_refs_main(tmp_path):
    cache = _hub_cache(tmp_path, "qwen3-4b", ["a" * 40, "b" * 40], ref="b" * 40)
    assert hf_config.find_config(cache) == cache / "snapshots" / ("b" * 40) / "config.json"
    row = hf_config.model_row(cache)
    assert row["name"] == "qwen3-4b" and row["tied_embeddings"] is True
    assert hf_config.model_row(cache / "snapshots" / ("a" * 40) / "config.json")["name"] == "qwen3-4b"


def test_hub_cache_without_ref_takes_its_only_snapshot_and_refuses_a_choice(tmp_path):
    single = _hub_cache(tmp_path / "one", "qwen3-4b", ["c" * 40], ref=None)
    assert hf_config.model_row(single)["hidden"] == 2560
    several = _hub_cache(tmp_path / "two", "qwen3-4b", ["a" * 40, "b" * 40], ref="../../../etc")
    with pytest.raises(
        InvalidInput, match=r"snapshots: 2 snapshots hold a config\.json and refs/main names none"
    ):
        hf_config.read_hf_config(several)


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="no such file or folder"):
        hf_config.read_hf_config(tmp_path / "nothing")
    with pytest.raises(InvalidInput, match=r"config\.json: not found"):
        hf_config.read_hf_config(tmp_path)
