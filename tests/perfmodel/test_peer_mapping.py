"""``benchmarks/peer_aiconfigurator.py`` without AIConfigurator: how a measured point becomes a
peer configuration (the exact ``cli_estimate`` arguments), why a point is skipped, and the one
line and exit 2 where the peer is not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def peer():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_aiconfigurator.py"
    spec = importlib.util.spec_from_file_location("peer_aiconfigurator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(**kw) -> dict:
    row = {
        "model": "llama3-70b",
        "hardware": "h100-sxm",
        "engine": "trtllm",
        "precision": "fp8",
        "kv_precision": "fp8",
        "tp": 4,
        "pp": 1,
        "ep": 1,
        "dp_attention": False,
        "isl": 921.6,
        "osl": 7372.8,
        "concurrency": "64",
        "max_seqs": None,
    }
    return row | kw


def test_dense_point_maps_field_by_field(peer):
    assert peer.peer_config(_row(), moe=False, step_tokens=8192) == {
        "model_path": "meta-llama/Meta-Llama-3.1-70B",
        "system_name": "h100_sxm",
        "backend_name": "trtllm",
        "isl": 922,
        "osl": 7373,
        "tp_size": 4,
        "pp_size": 1,
        "attention_dp_size": 1,
        "kvcache_quant_mode": "fp8",
        "gemm_quant_mode": "fp8",
        "ctx_tokens": 8192,
        "batch_size": 64,
    }


def test_moe_fp4_on_blackwell_maps_experts_and_nvfp4(peer):
    row = _row(
        model="deepseek-v3",
        hardware="b200-hgx",
        engine="sglang",
        precision="fp4",
        kv_precision="bf16",
        ep=4,
        concurrency="128",
    )
    assert peer.peer_config(row, moe=True) == {
        "model_path": "deepseek-ai/DeepSeek-V3",
        "system_name": "b200_sxm",
        "backend_name": "sglang",
        "isl": 922,
        "osl": 7373,
        "tp_size": 4,
        "pp_size": 1,
        "attention_dp_size": 1,
        "kvcache_quant_mode": "bfloat16",
        "gemm_quant_mode": "nvfp4",
        "moe_quant_mode": "nvfp4",
        "moe_tp_size": 1,
        "moe_ep_size": 4,
        "batch_size": 128,
    }


def test_max_point_with_attention_dp_gets_a_batch_cap_per_rank(peer):
    row = _row(
        model="deepseek-v3",
        hardware="h200-sxm",
        tp=8,
        ep=8,
        dp_attention=True,
        isl=1024.0,
        osl=1024.0,
        concurrency="max",
    )
    cfg = peer.peer_config(row, moe=True, batch_cap=2048)
    assert cfg["gemm_quant_mode"] == cfg["moe_quant_mode"] == "fp8_block"
    assert (cfg["tp_size"], cfg["attention_dp_size"], cfg["moe_tp_size"], cfg["moe_ep_size"]) == (1, 8, 1, 8)
    assert cfg["batch_size"] is None and cfg["max_batch"] == 256
    assert peer.peer_config(row | {"max_seqs": 512}, moe=True, batch_cap=2048)["max_batch"] == 64
    assert peer.peer_config(row, moe=True) == "max concurrency without a batch cap"


def test_native_mxfp4_is_left_to_the_peer(peer):
    row = _row(model="gpt-oss-120b", precision="fp4", kv_precision="bf16", tp=1, concurrency="16")
    cfg = peer.peer_config(row, moe=True)
    assert "gemm_quant_mode" not in cfg and "moe_quant_mode" not in cfg
    assert cfg["model_path"] == "openai/gpt-oss-120b" and cfg["kvcache_quant_mode"] == "bfloat16"
    on_blackwell = peer.peer_config(row | {"hardware": "b200-hgx"}, moe=True)
    assert on_blackwell["moe_quant_mode"] == "w4a8_mxfp4_mxfp8" and "gemm_quant_mode" not in on_blackwell
    assert "moe_quant_mode" not in peer.peer_config(
        row | {"hardware": "b200-hgx", "engine": "vllm"}, moe=True
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hardware": "mi355x"}, "chip mi355x: no AIConfigurator system"),
        ({"model": "qwen2.5-7b"}, "model qwen2.5-7b: not among AIConfigurator's model configs"),
        ({"precision": "fp4"}, "fp4 llama3-70b on h100_sxm: no NVFP4 tensor cores"),
        ({"engine": "dataflow"}, "engine dataflow: not an AIConfigurator backend"),
        ({"dp_attention": True, "concurrency": "6"}, "concurrency 6 not a multiple of 4 attention ranks"),
    ],
)
def test_unrunnable_points_say_why(peer, change, reason):
    assert peer.peer_config(_row(**change), moe=False) == reason


def test_without_the_peer_one_line_and_exit_2(peer, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "aiconfigurator", None)
    assert peer.main([]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.strip().splitlines() == [peer.INSTALL_HINT]
    assert "pip install -e '.[peers]'" in peer.INSTALL_HINT
