"""Benchmark: the calibrated mode beside a peer, NVIDIA AIConfigurator, on the same measured points.

Every current, steady point of ``catalogs/measurements.csv`` (the points ``python -m perfmodel fit``
fits) that AIConfigurator can run is predicted three ways: by this project's calibrated mode with
the fitted figures of the catalogs (``compare``), by this project with the point's source left out
of the fit (``held_out``), and by AIConfigurator's aggregated (in-flight batching) estimate
(``cli_estimate``, mode ``agg``, its default kernel database for the system and backend). The
tables give, on the points all three predict: points, median ratio model / measured, share within
25 %, and the worst factor; overall, dense and MoE apart, and per source; with the points each side
could not run and why, and the time per estimate.

AIConfigurator is an optional extra (``pip install -e '.[peers]'``), never needed by the project
or its tests; without it the script says so and exits 2.

    python benchmarks/peer_aiconfigurator.py [--json] [--json-out FILE] [--ctx-tokens engine|isl] [--limit N]

How a measured point becomes an AIConfigurator run (:func:`peer_config`):

- model: its Hugging Face name among AIConfigurator's bundled model configs (:data:`MODELS`);
- chip: ``h100-sxm`` -> ``h100_sxm``, ``h200-sxm`` -> ``h200_sxm``, ``b200-hgx`` -> ``b200_sxm``,
  ``b200-nvl72`` -> ``gb200`` (:data:`SYSTEMS`); AMD and other chips have no AIConfigurator system;
- engine: ``trtllm``, ``vllm``, ``sglang`` as the backend of the same name, at AIConfigurator's
  latest database version for that system;
- precision: ``fp8`` -> GEMM and MoE ``fp8`` (``fp8_block`` for DeepSeek, its native format);
  ``fp4`` -> ``nvfp4`` on Blackwell; gpt-oss's ``fp4`` is its native MXFP4, left to AIConfigurator's
  own choice from the checkpoint, except that on Blackwell with TensorRT-LLM its MoE runs
  ``w4a8_mxfp4_mxfp8``, as AIConfigurator's own search sets it; ``bf16`` -> ``bfloat16``; the KV cache as the point's
  ``kv_precision``;
- parallelism: ``tp_size = tp``, ``pp_size = pp``; with ``dp_attention`` the attention runs data
  parallel (``tp_size = 1``, ``attention_dp_size = tp``); MoE experts over ``moe_ep_size = ep``
  and ``moe_tp_size = tp / ep``;
- lengths: ``isl`` and ``osl`` rounded to whole tokens;
- step budget: ``ctx_tokens`` (the prompt tokens an in-flight-batching step may take) = the
  engine's token budget of a step (``max_step_tokens`` of ``engine_profiles.csv``: 8192 for
  TensorRT-LLM ``max_num_tokens``, vLLM ``max_num_batched_tokens`` and SGLang
  ``chunked_prefill_size``), the setting these runs used; ``--ctx-tokens isl`` gives
  ``cli_estimate``'s own default instead (one prompt per step), which starves short-prompt,
  large-batch runs of prefill;
- concurrency: ``batch_size`` = the point's concurrency (per attention-data-parallel rank where
  the attention runs data parallel); a ``max`` (offline throughput) point runs at the largest batch
  AIConfigurator's own memory model fits into its KV cache budget, at most the run's
  ``max_seqs`` where it set one, else the engine's batch cap (``max_concurrency`` of
  ``engine_profiles.csv``, 2048 for TensorRT-LLM): the same rule this project's model applies to
  such points.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import statistics
import sys
import time
from collections import Counter

PEER = "aiconfigurator"
PEER_VERSION = "0.12.0"
INSTALL_HINT = (
    f"{PEER} is not installed: pip install -e '.[peers]' (AIConfigurator {PEER_VERSION}, an optional extra)"
)

#: This project's chip -> AIConfigurator system.
SYSTEMS = {
    "h100-sxm": "h100_sxm",
    "h200-sxm": "h200_sxm",
    "b200-hgx": "b200_sxm",
    "b200-nvl72": "gb200",
}
BLACKWELL = {"b200_sxm", "gb200"}
#: This project's model -> an AIConfigurator bundled model config (the same architecture).
MODELS = {
    "llama3-8b": "meta-llama/Meta-Llama-3.1-8B",
    "llama3-70b": "meta-llama/Meta-Llama-3.1-70B",
    "llama3-405b": "meta-llama/Meta-Llama-3.1-405B",
    "llama4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "llama4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3",
    "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "kimi-k2": "moonshotai/Kimi-K2-Instruct",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
    "qwen3-coder-480b-a35b": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "gpt-oss-20b": "openai/gpt-oss-20b",
    "gpt-oss-120b": "openai/gpt-oss-120b",
    "mixtral-8x7b": "mistralai/Mixtral-8x7B-v0.1",
    "mixtral-8x22b": "mistralai/Mixtral-8x22B-v0.1",
    "minimax-m2.5": "MiniMaxAI/MiniMax-M2.5",
}
#: Models whose checkpoint carries its own 4-bit format (MXFP4): AIConfigurator picks the modes.
NATIVE_FP4 = {"gpt-oss-20b", "gpt-oss-120b"}
#: Models whose FP8 checkpoint is block-scaled.
BLOCK_FP8 = {"deepseek-v3", "deepseek-r1", "kimi-k2"}
BACKENDS = {"trtllm", "vllm", "sglang"}
KV_MODES = {"fp8": "fp8", "bf16": "bfloat16", "fp16": "bfloat16", "int8": "int8"}
#: Probe batches for the memory line of a ``max`` point (small, so that they fit where a long
#: context leaves room for few sequences).
PROBES = (1, 2)
TOOLS = ("this project, fitted", "this project, held out", f"AIConfigurator {PEER_VERSION}")


def peer_config(
    row: dict, *, moe: bool, batch_cap: int | None = None, step_tokens: int | None = None
) -> dict | str:
    """The ``cli_estimate`` arguments of one measured point (a row of ``measurements``; ``moe``:
    whether its model has experts), or why AIConfigurator cannot run it. A ``max`` point gets
    ``batch_size`` None and ``max_batch`` the largest batch it may take (the run's ``max_seqs``,
    else ``batch_cap``); ``step_tokens``, the engine's token budget of a step, is AIConfigurator's
    ``ctx_tokens`` (None: its default, the prompt length)."""
    system = SYSTEMS.get(row["hardware"])
    if system is None:
        return f"chip {row['hardware']}: no AIConfigurator system"
    model = MODELS.get(row["model"])
    if model is None:
        return f"model {row['model']}: not among AIConfigurator's model configs"
    if row["engine"] not in BACKENDS:
        return f"engine {row['engine']}: not an AIConfigurator backend"
    if row["pp"] != 1 and row["ep"] != 1:
        return "pipeline and expert parallel at once"
    quant = _quant_modes(row["model"], row["precision"], system, row["engine"], moe)
    if isinstance(quant, str):
        return quant
    kv = KV_MODES.get(row["kv_precision"] or row["precision"])
    if kv is None:
        return f"KV cache {row['kv_precision']}: no AIConfigurator mode"
    tp, ep = int(row["tp"]), int(row["ep"])
    if tp % ep:
        return f"ep {ep} does not divide tp {tp}"
    dp = tp if row["dp_attention"] else 1
    cfg = {
        "model_path": model,
        "system_name": system,
        "backend_name": row["engine"],
        "isl": round(row["isl"]),
        "osl": round(row["osl"]),
        "tp_size": tp // dp,
        "pp_size": int(row["pp"]),
        "attention_dp_size": dp,
        "kvcache_quant_mode": kv,
    } | quant
    if step_tokens is not None:
        cfg["ctx_tokens"] = int(step_tokens)
    if moe:
        cfg |= {"moe_tp_size": tp // ep, "moe_ep_size": ep}
    if row["concurrency"] == "max":
        cap = row.get("max_seqs") or batch_cap
        if not cap:
            return "max concurrency without a batch cap"
        return cfg | {"batch_size": None, "max_batch": max(1, int(cap) // dp)}
    concurrency = int(row["concurrency"])
    if concurrency % dp:
        return f"concurrency {concurrency} not a multiple of {dp} attention ranks"
    return cfg | {"batch_size": concurrency // dp}


def _quant_modes(model: str, precision: str, system: str, backend: str, moe: bool) -> dict | str:
    if model in NATIVE_FP4 and precision == "fp4":
        # AIConfigurator's own search (sdk/task_v2.py) promotes gpt-oss on Blackwell TensorRT-LLM to
        # MXFP8 activations; cli_estimate alone would keep the checkpoint's W4A16 (Hopper) lane.
        return {"moe_quant_mode": "w4a8_mxfp4_mxfp8"} if system in BLACKWELL and backend == "trtllm" else {}
    if precision == "fp8":
        mode = "fp8_block" if model in BLOCK_FP8 else "fp8"
    elif precision == "fp4":
        if system not in BLACKWELL:
            return f"fp4 {model} on {system}: no NVFP4 tensor cores"
        mode = "nvfp4"
    elif precision in ("bf16", "fp16"):
        mode = "bfloat16"
    else:
        return f"precision {precision}: no AIConfigurator mode"
    out = {"gemm_quant_mode": mode}
    return out | {"moe_quant_mode": mode} if moe else out


class Peer:
    """AIConfigurator's aggregated estimate, in process, quiet, with the time of each call."""

    def __init__(self, cli_estimate):
        self._estimate = cli_estimate
        self.seconds: list[float] = []

    def estimate(self, cfg: dict):
        args = {k: v for k, v in cfg.items() if k != "max_batch"}
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                return self._estimate(mode="agg", **args)
        finally:
            self.seconds.append(time.perf_counter() - start)

    def run(self, cfg: dict) -> tuple[float, int, str]:
        """Output tokens/s per GPU, the batch it ran at and its database version."""
        if cfg["batch_size"] is None:
            cfg = cfg | {"batch_size": self.max_batch(cfg)}
        r = self.estimate(cfg)
        for _ in range(3):  # the memory line is an estimate: step down while the KV cache overflows
            if not r.kv_cache_warning or cfg.get("max_batch") is None or cfg["batch_size"] <= 1:
                break
            cfg = cfg | {"batch_size": max(1, int(cfg["batch_size"] * 0.9))}
            r = self.estimate(cfg)
        return float(r.raw["tokens/s/gpu"]), int(r.raw["concurrency"]), r.backend_version

    def max_batch(self, cfg: dict) -> int:
        """The largest batch per rank whose KV cache fits AIConfigurator's budget for it (two
        probes give its memory line, as ``pareto_analysis._analytical_max_batch_size`` does),
        at most ``cfg["max_batch"]``."""
        (b1, m1, s), (b2, m2, _) = (
            (b, r.summary.get_memory(), r.summary)
            for b, r in ((b, self.estimate(cfg | {"batch_size": b})) for b in PROBES)
        )
        kv = (m2["kvcache"] - m1["kvcache"]) / (b2 - b1)
        total = (m2["total"] - m1["total"]) / (b2 - b1)
        act = total - kv
        fixed = m1["total"] - total * b1
        cap = s._mem_capacity_bytes / (1 << 30)
        best = (cap - fixed) / total if total > 0 else math.inf
        frac = s._free_gpu_memory_fraction
        if frac is not None:
            f = frac * (1 - s._kv_cache_reserved_fraction) * (1 - s._kv_cache_tolerance)
            if s._fraction_of_free:  # b kv <= f (cap - fixed - b act)
                best = min(best, f * (cap - fixed) / (kv + f * act))
            else:  # b kv <= f cap - fixed - b act
                best = min(best, (f * cap - fixed) / (kv + act))
        return int(max(1, min(cfg["max_batch"], math.floor(best))))


def _summary(ratios) -> dict:
    from perfmodel.calibration.efficiency_fit import summary

    s = summary(ratios)
    return {k: s[k] for k in ("points", "median_ratio", "share_within_25pct", "worst_factor")}


def tables(rows: list[dict]) -> dict:
    """Per tool the error on ``rows`` (points all three predict): overall, dense, MoE, per source."""
    keys = {"this project, fitted": "fitted_ratio", "this project, held out": "heldout_ratio"}
    keys[TOOLS[2]] = "peer_ratio"

    def block(rs):
        return {tool: _summary([r[k] for r in rs]) for tool, k in keys.items()}

    out = {
        "overall": block(rows),
        "dense": block([r for r in rows if not r["moe"]]),
        "moe": block([r for r in rows if r["moe"]]),
    }
    out["by_source"] = {
        s: block([r for r in rows if r["source_id"] == s]) for s in sorted({r["source_id"] for r in rows})
    }
    return out


def _fmt(s: dict) -> str:
    if not s["points"]:
        return "| 0 | | | |"
    return (
        f"| {s['points']} | {s['median_ratio']:.3f} | {100 * s['share_within_25pct']:.0f} % "
        f"| {s['worst_factor']:.2f}x |"
    )


def markdown(result: dict) -> str:
    lines = []
    header = [
        "| tool | points | median model / measured | within 25 % | worst |",
        "|---|---:|---:|---:|---:|",
    ]
    t = result["tables"]
    for title, block in [("All points both can run", t["overall"]), ("Dense", t["dense"]), ("MoE", t["moe"])]:
        lines += [f"**{title}**", "", *header]
        lines += [f"| {tool} {_fmt(s)}" for tool, s in block.items()]
        lines.append("")
    lines += [
        "**By source**",
        "",
        "| source | tool | points | median model / measured | within 25 % | worst |",
    ]
    lines.append("|---|---|---:|---:|---:|---:|")
    for src, block in t["by_source"].items():
        lines += [f"| {src} | {tool} {_fmt(s)}" for tool, s in block.items()]
    lines.append("")
    c = result["counts"]
    lines.append(
        f"Current steady points: {c['points']}; AIConfigurator ran {c['peer_ran']}, this project held out "
        f"{c['heldout']}; both: {c['both']}."
    )
    lines += ["", "AIConfigurator could not run:", ""]
    lines += [f"- {n} x {why}" for why, n in result["peer_skipped"].items()]
    lines += ["", "This project could not hold out (its chip or engine measured by one source only):", ""]
    lines += [f"- {n} x {why}" for why, n in result["heldout_skipped"].items()]
    tm = result["timing"]
    lines += [
        "",
        f"Time per estimate: AIConfigurator {tm['peer_median_s_per_call']:.2f} s median per call "
        f"({tm['peer_calls']} calls, {tm['peer_total_s']:.0f} s in all, {tm['peer_s_per_point']:.2f} s per point "
        f"with the probes of the max points); this project {1e3 * tm['fitted_s_per_point']:.2f} ms per point "
        f"fitted, {1e3 * tm['heldout_s_per_point']:.1f} ms per point held out (a refit per source included).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", action="store_true", help="machine output: the tables, counts and every point"
    )
    parser.add_argument("--limit", type=int, help="run AIConfigurator on the first N mapped points only")
    parser.add_argument("--json-out", metavar="FILE", help="also write the machine output to FILE")
    parser.add_argument(
        "--ctx-tokens",
        choices=("engine", "isl"),
        default="engine",
        help="AIConfigurator's ctx_tokens: the engine's step token budget (default) or its own default, the isl",
    )
    args = parser.parse_args(argv)
    try:
        from aiconfigurator.cli.api import cli_estimate
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)

    import polars as pl

    from perfmodel.calibration.efficiency_fit import compare, held_out, measurements
    from perfmodel.catalog.folder import load_catalogs

    catalogs = load_catalogs()
    points = measurements(catalogs)
    start = time.perf_counter()
    fitted = compare(catalogs).filter(pl.col("fitted"))
    fitted_s = time.perf_counter() - start
    start = time.perf_counter()
    heldout = held_out(catalogs)
    heldout_s = time.perf_counter() - start
    fitted_ratio = dict(zip(fitted["point"], fitted["ratio"], strict=True))
    heldout_ratio = dict(zip(heldout["point"], heldout["ratio"], strict=True))
    engines = catalogs["engine_profiles"].df
    budget = dict(zip(engines["name"], engines["max_step_tokens"], strict=True))
    caps = dict(
        zip(
            catalogs["engine_profiles"].df["name"],
            catalogs["engine_profiles"].df["max_concurrency"],
            strict=True,
        )
    )

    models = catalogs["models"].df
    moe_models = set(models.filter(pl.col("experts").fill_null(0) > 1)["name"])

    peer = Peer(cli_estimate)
    peer_skipped: Counter = Counter()
    heldout_skipped: Counter = Counter()
    rows, ran = [], 0
    for row in points.iter_rows(named=True):
        if row["point"] not in heldout_ratio:
            heldout_skipped[f"{row['hardware']} / {row['engine']}"] += 1
        cfg = peer_config(
            row,
            moe=row["model"] in moe_models,
            batch_cap=caps.get(row["engine"]),
            step_tokens=budget.get(row["engine"]) if args.ctx_tokens == "engine" else None,
        )
        if isinstance(cfg, str):
            peer_skipped[cfg] += 1
            continue
        if args.limit is not None and ran >= args.limit:
            peer_skipped["left out by --limit"] += 1
            continue
        ran += 1
        try:
            tps, batch, version = peer.run(cfg)
        except Exception as e:  # the peer's own refusal (OOM, a kernel missing from its database)
            peer_skipped[f"AIConfigurator: {type(e).__name__}: {str(e).splitlines()[0][:90]}"] += 1
            continue
        if not (tps > 0 and math.isfinite(tps)):
            peer_skipped["AIConfigurator: no finite throughput"] += 1
            continue
        rec = {
            "point": row["point"],
            "line": row["line"],
            "source_id": row["source_id"],
            "model": row["model"],
            "hardware": row["hardware"],
            "engine": row["engine"],
            "precision": row["precision"],
            "tp": row["tp"],
            "ep": row["ep"],
            "isl": row["isl"],
            "osl": row["osl"],
            "concurrency": row["concurrency"],
            "moe": row["model"] in moe_models,
            "measured_tps_per_chip": row["output_tps_per_chip"],
            "peer_tps_per_chip": tps,
            "peer_batch": batch,
            "peer_backend_version": version,
            "peer_ratio": tps / row["output_tps_per_chip"],
            "fitted_ratio": fitted_ratio.get(row["point"]),
            "heldout_ratio": heldout_ratio.get(row["point"]),
        }
        rows.append(rec)
    both = [r for r in rows if r["heldout_ratio"] is not None and r["fitted_ratio"] is not None]
    n_points = points.height
    result = {
        "peer": {
            "name": PEER,
            "version": PEER_VERSION,
            "mode": "cli_estimate agg, default databases",
            "ctx_tokens": "engine step budget"
            if args.ctx_tokens == "engine"
            else "isl (cli_estimate default)",
        },
        "counts": {
            "points": n_points,
            "peer_ran": len(rows),
            "heldout": len(heldout_ratio),
            "both": len(both),
        },
        "peer_skipped": dict(peer_skipped.most_common()),
        "heldout_skipped": dict(heldout_skipped.most_common()),
        "tables": tables(both),
        "timing": {
            "peer_calls": len(peer.seconds),
            "peer_total_s": sum(peer.seconds),
            "peer_median_s_per_call": statistics.median(peer.seconds) if peer.seconds else math.nan,
            "peer_s_per_point": sum(peer.seconds) / max(1, ran),
            "fitted_s_per_point": fitted_s / max(1, fitted.height),
            "heldout_s_per_point": heldout_s / max(1, heldout.height),
        },
        "rows": rows,
    }
    text = json.dumps(result, indent=1, default=float)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.json:
        print(text)
    else:
        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
