"""Serving plans (docs/model.md §9): disaggregated pools, wide expert parallelism, speculative
decoding, prefix caching, open-loop arrivals, and the plan search, against public figures."""

from __future__ import annotations

import heapq
import json

import numpy as np
import pytest

from liminal_cli.arguments import run
from liminal_cli.perfmodel_commands import main as perfmodel_main
from perfmodel.api.plan_search import best_plan
from perfmodel.api.plans import Drafting, Pool, serve_plan
from perfmodel.catalog.folder import load_catalogs
from perfmodel.model import arrivals
from perfmodel.model import plan_equations as plan_eq
from perfmodel.units import Q_

CATS = load_catalogs()


def _plan(model, isl, osl, concurrency, prefill, decode, **kw):
    return serve_plan(model, isl, osl, concurrency, prefill=prefill, decode=decode, catalogs=CATS, **kw)


# --- the equations, on Quantities ------------------------------------------------------------


def test_plan_equations_run_on_quantities():
    """KV transfer = latency + bytes / (links x bandwidth): 1 GB over 8 links of 50 GB/s and 5 us
    is 2.505 ms; a prefix hit of 0.5 on 2,000 tokens leaves 1,000 to compute."""
    t = plan_eq.kv_transfer_time(Q_(1, "GB"), 8, Q_(50, "GB/s"), Q_(5, "us"))
    assert t.to("ms").m == pytest.approx(2.505)
    assert plan_eq.new_prompt_tokens(Q_(2000, "token"), 0.5, Q_(1, "token")) == Q_(1000, "token")
    # token counts as plain numbers, as serving_equations.mean_prefill_context takes them
    assert plan_eq.cached_prefill_context(2000.0, 0.0) == 1000.5
    assert plan_eq.cached_prefill_context(2000.0, 0.5) == 1000 + 1001 / 2
    assert plan_eq.tokens_per_step([0.92, 0.66, 0.24]) == pytest.approx(2.82)
    rate = plan_eq.plan_request_rate(3, Q_(2, "1/s"), 2, Q_(5, "1/s"))
    assert rate == Q_(6, "1/s")


# --- the queueing model against a discrete-event simulation ----------------------------------


def _des_waits(a: np.ndarray, servers: int, service: float) -> np.ndarray:
    """A central FCFS queue of ``servers`` servers as a discrete-event simulation: a heap of
    the times the servers come free; each arrival in order takes the earliest."""
    free = [0.0] * servers
    heapq.heapify(free)
    waits = np.empty_like(a)
    for i, t in enumerate(a):
        start = max(t, heapq.heappop(free))
        waits[i] = start - t
        heapq.heappush(free, start + service)
    return waits


@pytest.mark.parametrize("servers", [1, 4, 16])
@pytest.mark.parametrize("load", [0.5, 0.9])
def test_the_vectorized_prefill_queue_matches_a_discrete_event_simulation(servers, load):
    """p50 and p90 TTFT (wait + service) of the M/D/c prefill queue within 10 % of the DES at
    50 % and 90 % load, on the same 20,000 Poisson arrivals."""
    service = 0.4
    rate = load * servers / service
    a = arrivals.arrival_times(rate)
    ours = arrivals.fcfs_start_times(a, servers, service) - a + service
    des = _des_waits(a, servers, service) + service
    for q in (0.5, 0.9):
        assert np.quantile(ours, q) == pytest.approx(np.quantile(des, q), rel=0.10)


def test_the_simulated_queue_has_the_pollaczek_khinchine_mean_wait():
    """M/D/1 at 50 % load: mean wait rho S / (2 (1 - rho)) = 0.5 S, within 10 %."""
    service, rho = 0.2, 0.5
    waits = arrivals.prefill_waits(rho / service, 1, service)
    assert waits.mean() == pytest.approx(rho * service / (2 * (1 - rho)), rel=0.10)


# --- monotonic laws --------------------------------------------------------------------------


def test_higher_acceptance_never_lowers_utps():
    utps = [
        serve_plan(
            "deepseek-v3",
            1024,
            1024,
            16,
            hardware="h200-sxm",
            tp=8,
            ep=8,
            drafting=Drafting(1, None, (a,)),
            catalogs=CATS,
        ).utps.m
        for a in (0.0, 0.3, 0.6, 0.9)
    ]
    assert utps == sorted(utps)


def test_zero_acceptance_costs_the_draft_and_the_verify():
    """A draft that is never accepted keeps one token per step and pays for its own step and the
    wider verify: slower than no speculation."""
    none = serve_plan("deepseek-v3", 1024, 1024, 16, hardware="h200-sxm", tp=8, ep=8, catalogs=CATS)
    zero = serve_plan(
        "deepseek-v3",
        1024,
        1024,
        16,
        hardware="h200-sxm",
        tp=8,
        ep=8,
        drafting=Drafting(1, None, (0.0,)),
        catalogs=CATS,
    )
    assert zero.tokens_per_step == 1.0
    assert zero.utps < none.utps


def test_prefix_hits_shorten_ttft_but_not_the_memory():
    hits = [0.0, 0.3, 0.6, 0.9]
    runs = [
        serve_plan("llama3-70b", 4000, 500, 32, hardware="h100-sxm", tp=4, prefix_hit=h, catalogs=CATS)
        for h in hits
    ]
    ttft = [r.ttft.m for r in runs]
    assert ttft == sorted(ttft, reverse=True)
    assert len({round(r.memory_needed.m, 6) for r in runs}) == 1


def test_the_decode_pool_does_not_see_the_prefill_pool():
    """TPOT of a disaggregated plan is the decode pool's alone: any prefill layout gives the same."""
    dec = Pool("h100-sxm", 8, 1, False, 2)
    a = _plan("llama3-70b", 2000, 500, 64, Pool("h100-sxm", 2), dec)
    b = _plan("llama3-70b", 2000, 500, 64, Pool("h100-sxm", 8), dec)
    assert a.tpot == b.tpot
    assert a.ttft != b.ttft


def test_searched_pool_counts_balance_the_two_pools():
    """The searched counts leave the faster pool at most one instance's worth of spare rate."""
    r = _plan("llama3-70b", 2000, 500, 64, Pool("h100-sxm", 4), Pool("h100-sxm", 8))
    pre, dec = r.pools
    spare = max(pre["capacity_rps"], dec["capacity_rps"]) - min(pre["capacity_rps"], dec["capacity_rps"])
    one = max(pre["capacity_rps"] / pre["instances"], dec["capacity_rps"] / dec["instances"])
    assert spare <= one


def test_a_transfer_over_the_scale_out_network_is_slower_than_inside_the_domain():
    """Same layouts: one 8-chip prefill and one 8-chip decode instance of GB200 share the NVL72
    domain; of H100 (8-chip domain) they talk over the NICs."""
    inside = _plan(
        "llama3-70b", 4000, 500, 64, Pool("b200-nvl72", 8, count=1), Pool("b200-nvl72", 8, count=1)
    )
    across = _plan("llama3-70b", 4000, 500, 64, Pool("h100-sxm", 8, count=1), Pool("h100-sxm", 8, count=1))
    assert inside.kv_transfer < across.kv_transfer


# --- public cases (docs/model.md §9.7) --------------------------------------------------------


@pytest.fixture(scope="module")
def sglang_h100():
    """LMSYS, 2025-05-05, 'Deploying DeepSeek with PD Disaggregation and Large-scale Expert
    Parallelism on 96 H100 GPUs': prefill on 4 nodes (EP32, DP attention), decode on 9 nodes
    (EP72, DP attention, 256 sequences per GPU at 2,000-token inputs), SGLang, FP8."""
    return _plan(
        "deepseek-v3",
        2000,
        100,
        256 * 72,
        Pool("h100-sxm", 32, 32, True, 1),
        Pool("h100-sxm", 72, 72, True, 1),
        precision="fp8",
        engine="sglang",
    )


def test_sglang_96_h100_prefill_per_node(sglang_h100):
    """54,543 input tokens/s per node for 2K prompts (the blog's prefill table), within 25 %."""
    prefill = sglang_h100.pools[0]
    per_node = prefill["capacity_rps"] * 2000 / (prefill["chips"] / 8)
    assert per_node == pytest.approx(54_543, rel=0.25)


def test_sglang_96_h100_decode_per_node(sglang_h100):
    """22,282 output tokens/s per node at 256 sequences per GPU and 2K inputs, within 25 %."""
    per_node = sglang_h100.concurrency / sglang_h100.tpot.m / 9
    assert per_node == pytest.approx(22_282, rel=0.25)


@pytest.fixture(scope="module")
def sglang_gb200():
    """LMSYS, 2025-09-25, GB200 NVL72 part II: FP8 attention and NVFP4 experts (fp4 weights, FP8
    KV here), decode on 48 ranks at 1,408 sequences each (2K inputs), prefill on small
    instances (2 ranks in the blog; the FP4 weights need 4 GB200 here)."""
    return _plan(
        "deepseek-v3",
        2000,
        100,
        1408 * 48,
        Pool("b200-nvl72", 4, 4, True, 1),
        Pool("b200-nvl72", 48, 48, True, 1),
        precision="fp4",
        kv_precision="fp8",
        engine="sglang",
    )


def test_sglang_gb200_decode_per_gpu(sglang_gb200):
    """13,386 output tokens/s per GPU, within 25 %."""
    assert sglang_gb200.fits
    assert 1408 / sglang_gb200.tpot.m == pytest.approx(13_386, rel=0.25)


@pytest.mark.xfail(
    strict=True,
    reason="0.68x: the prefill runs at B200's fitted prefill efficiency, which ends at its sourced low "
    "bound (efficiencies.csv, 'at a bound'), and the NVFP4 experts with FP8 attention are modelled as "
    "FP4 throughout (docs/model.md section 9.7)",
)
def test_sglang_gb200_prefill_per_gpu(sglang_gb200):
    """26,156 input tokens/s per GPU, within 25 %."""
    prefill = sglang_gb200.pools[0]
    assert prefill["capacity_rps"] * 2000 / prefill["chips"] == pytest.approx(26_156, rel=0.25)


#: DeepSeek's inference-system overview (open-infra-index, 2025-03-01): a day on H800 nodes.
DAY_INPUT, DAY_OUTPUT, DAY_HIT, DAY_NODES, DAY_COST = 608e9, 168e9, 0.563, 226.75, 87_072.0
#: Requests of the day: input and output in the day's ratio with the published mean KV length
#: per output token, 4,989 = ISL + OSL / 2; decode at 20-22 tokens/s per user and 14.8k per
#: node, so 14,800 / 8 / 21 = 88 sequences per GPU (Little's law on the published figures).
DAY_OSL = round(4989 / (DAY_INPUT / DAY_OUTPUT + 0.5))
DAY_ISL = round(DAY_OSL * DAY_INPUT / DAY_OUTPUT)


@pytest.fixture(scope="module")
def deepseek_day():
    """Prefill units of 4 nodes (EP32, DP32), decode units of 18 nodes (EP144, DP144), FP8; the
    engine with per-rank data-parallel scheduling and DeepEP (SGLang's profile) stands in for
    DeepSeek's own."""
    return _plan(
        "deepseek-v3",
        DAY_ISL,
        DAY_OSL,
        88 * 144,
        Pool("h800-sxm", 32, 32, True, 1),
        Pool("h800-sxm", 144, 144, True, 1),
        precision="fp8",
        engine="sglang",
        prefix_hit=DAY_HIT,
    )


def test_deepseek_day_prefill_and_decode_per_node(deepseek_day):
    """73.7k input tokens/s (cache hits included) and 14.8k output tokens/s per H800 node."""
    prefill = deepseek_day.pools[0]
    assert prefill["capacity_rps"] * DAY_ISL / 4 == pytest.approx(73_700, rel=0.25)
    assert deepseek_day.concurrency / deepseek_day.tpot.m / 18 == pytest.approx(14_800, rel=0.25)
    assert 20 * 0.75 <= deepseek_day.utps.m <= 22 * 1.25


def test_deepseek_day_costs_what_deepseek_paid(deepseek_day):
    """The day's tokens at the model's per-node rates need nodes that cost, at $2 per GPU-hour,
    within 25 % of the published $87,072 (226.75 nodes on average)."""
    prefill = deepseek_day.pools[0]
    in_node = prefill["capacity_rps"] * DAY_ISL / 4
    out_node = deepseek_day.concurrency / deepseek_day.tpot.m / 18
    nodes = DAY_INPUT / 86_400 / in_node + DAY_OUTPUT / 86_400 / out_node
    cost = Q_(nodes * 8 * 24, "hour") * Q_(2, "USD/hour")
    assert cost.to("USD").m == pytest.approx(DAY_COST, rel=0.25)


@pytest.mark.parametrize(
    ("k", "speedup"),
    [(1, 1.78), (2, 2.25), (3, 2.28)],
)
def test_mtp_speedup_at_batch_one_on_eight_b200(k, speedup):
    """TensorRT-LLM's DeepSeek-R1 minimum-latency blog (8 B200, FP4, batch 1, 1k/2k): tokens/s
    per user with MTP 1, 2, 3 against none, 1.78x, 2.25x, 2.28x, within 25 %."""
    base = serve_plan(
        "deepseek-r1", 1024, 2048, 1, hardware="b200-hgx", tp=8, ep=8, precision="fp4", catalogs=CATS
    )
    mtp = serve_plan(
        "deepseek-r1",
        1024,
        2048,
        1,
        hardware="b200-hgx",
        tp=8,
        ep=8,
        drafting=Drafting(k),
        precision="fp4",
        catalogs=CATS,
    )
    assert (mtp.utps / base.utps).m == pytest.approx(speedup, rel=0.25)


@pytest.mark.parametrize(("concurrency", "speedup"), [(1, 1.8), (32, 1.5)])
def test_deepseek_v3_mtp_speedup_on_h200(concurrency, speedup):
    """SGLang's DeepSeek page: MTP speeds decoding 1.8x at batch 1 and 1.5x at batch 32 on H200
    TP8, with DeepSeek-V3's own 85 % acceptance (its technical report, §5.4.3), within 25 %."""
    kw = dict(hardware="h200-sxm", tp=8, ep=8, precision="fp8", engine="sglang", catalogs=CATS)
    base = serve_plan("deepseek-v3", 1024, 1024, concurrency, **kw)
    mtp = serve_plan("deepseek-v3", 1024, 1024, concurrency, drafting=Drafting(1), **kw)
    assert mtp.tokens_per_step == pytest.approx(1.85)
    assert (mtp.utps / base.utps).m == pytest.approx(speedup, rel=0.25)


def _inferencex(chip: str, decode: Pool, floor: float, mtp: bool) -> float:
    """Output tokens/s per GPU of the best disaggregated plan of the InferenceX recipe's layouts
    (prefill TP4, the decode layout given; counts and concurrency searched), DeepSeek-R1 FP4,
    1k/1k, TensorRT-LLM, at a UTPS floor."""
    choice = best_plan(
        "deepseek-r1",
        chip,
        1024,
        1024,
        floor,
        plans=("disaggregated",),
        mtp=(mtp,),
        prefill=Pool(chip, 4, 4),
        decode=decode,
        precision="fp4",
        kv_precision="fp8",
        engine="trtllm",
        catalogs=CATS,
    )
    return choice.best.as_dict()["output_tps_per_chip"]


@pytest.mark.xfail(
    strict=True,
    reason="0.44 against 4.39: the TensorRT-LLM profile gathers attention-DP tokens to every rank with a "
    "per-instance token overhead (dp_per_rank false, as its 63 measured attention-DP points fit), which "
    "caps DEP32 on NVL72; with per-rank accounting (the SGLang profile) the ratio is 4.79 (docs/model.md 9.7)",
)
def test_inferencex_gb200_against_b200_with_mtp():
    """InferenceX, DeepSeek-R1 FP4 1k/1k, disaggregated with MTP (Dynamo TRT-LLM): GB200 NVL72
    4,130 against B200 941 tokens/s per GPU at 125 tokens/s per user, 4.39x, within 25 %."""
    gb200 = _inferencex("b200-nvl72", Pool("b200-nvl72", 32, 32, True), 125, True)
    b200 = _inferencex("b200-hgx", Pool("b200-hgx", 8, 8, False), 125, True)
    assert gb200 / b200 == pytest.approx(4130 / 941, rel=0.25)


@pytest.mark.xfail(
    strict=True,
    reason="1.75 against 5.87: the model's MTP side is 2.2x below InferenceX's and its no-MTP side 1.5x above "
    "(the 'Off' configuration is not published); docs/model.md 9.7",
)
def test_inferencex_b200_mtp_against_none():
    """InferenceX, B200 FP4: MTP 8,907 against none 1,518 tokens/s per GPU at 62 tokens/s per user,
    5.87x, within 25 %."""
    on = _inferencex("b200-hgx", Pool("b200-hgx", 8, 8, False), 62, True)
    off = _inferencex("b200-hgx", Pool("b200-hgx", 8, 8, False), 62, False)
    assert on / off == pytest.approx(8907 / 1518, rel=0.25)


# --- the plan search -------------------------------------------------------------------------


def test_short_prompts_on_one_gpu_keep_the_aggregated_plan():
    """Llama-3 8B, 128-token prompts and 1,024-token outputs at 30 tokens/s per user on H100: a
    dedicated prefill GPU costs more chips than the prefill it takes off the decode steps, so the
    best plan is one aggregated GPU, and the candidates show why (the best disaggregated plan
    meets the floor with fewer tokens/s per chip)."""
    choice = best_plan("llama3-8b", "h100-sxm", 128, 1024, 30, catalogs=CATS)
    assert choice.best.plan == "aggregated" and choice.best.chips == 1
    cands = choice.candidates.filter("meets")
    agg = cands.filter(plan="aggregated")["stps_per_chip"].max()
    dis = cands.filter(plan="disaggregated")["stps_per_chip"].max()
    assert dis < agg


def test_pinning_the_plan_compares_like_with_like():
    choice = best_plan("llama3-8b", "h100-sxm", 128, 1024, 30, plans=("disaggregated",), catalogs=CATS)
    assert choice.best.plan == "disaggregated"
    assert set(choice.candidates["plan"]) == {"disaggregated"}


# --- the command line ------------------------------------------------------------------------

PLAN_KEYS = {"plan", "prefill_chips", "decode_chips", "kv_transfer_s", "tokens_per_step"}
ARRIVAL_KEYS = {"ttft_p50_s", "ttft_p90_s", "tpot_p50_s", "tpot_p90_s", "goodput_rps"}


def test_serve_json_names_the_plan_and_keeps_the_old_keys(capsys):
    argv = (
        "serve --model llama3-70b --prefill-pool h100-sxm:4 --decode-pool h100-sxm:8x2 --isl 2000 --osl 500 "
        "--concurrency 64 --arrival-rate 1 --json"
    )
    assert perfmodel_main(argv.split()) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= PLAN_KEYS | ARRIVAL_KEYS
    assert {
        "ttft_s",
        "tpot_s",
        "utps",
        "output_tps",
        "output_tps_per_chip",
        "fits",
        "joules_per_output_token",
    } <= set(out)
    assert out["plan"] == "disaggregated" and out["decode_chips"] == 16
    assert out["ttft_p50_s"] <= out["ttft_p90_s"] and out["tpot_p50_s"] <= out["tpot_p90_s"]
    assert out["goodput_rps"] > 0


def test_plain_serve_is_the_aggregated_plan(capsys):
    argv = "serve --model llama3-70b --hardware h100-sxm --tp 4 --concurrency 32 --json"
    assert perfmodel_main(argv.split()) == 0
    plain = json.loads(capsys.readouterr().out)
    assert perfmodel_main((argv + " --prefix-hit 0").split()) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["plan"] == "aggregated" and plan["kv_transfer_s"] == 0 and plan["tokens_per_step"] == 1
    for key in ("ttft_s", "tpot_s", "output_tps", "memory_gib", "joules_per_output_token"):
        assert plan[key] == pytest.approx(plain[key], rel=1e-12)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("--prefill-pool h100-sxm --decode-pool h100-sxm:8", "CHIP:TP"),
        ("--prefill-pool h100-sxm:8", "both pools"),
        ("--hardware h100-sxm --tp 8 --acceptance 0.8", "--acceptance needs"),
        ("--hardware h100-sxm --tp 8 --mtp 2", "no acceptance rate for llama3-70b"),
        ("--hardware h100-sxm --tp 8 --mtp 1 --acceptance 0.9,0.8", "one acceptance rate per draft token"),
        ("--hardware h100-sxm --tp 8 --draft llama3-8b", "--draft-tokens"),
        ("--hardware h100-sxm --tp 8 --prefix-hit 0.5 --mode limit", "calibrated mode only"),
        ("--prefill-pool nochip:8 --decode-pool h100-sxm:8", "nochip"),
    ],
)
def test_bad_plan_flags_say_what_is_wrong(capsys, args, says):
    argv = f"serve --model llama3-70b --concurrency 8 {args}"
    assert run(perfmodel_main, argv.split()) != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_the_ranking_names_the_plan_the_search_picks(capsys):
    """``tco rank --plans all --mtp both``: DeepSeek-V3 at 2,000/1,000 tokens and 30 tokens/s per
    user on H100 ranks by the plan best_plan picks (the same chip, so the most tokens per chip is
    the most tokens per dollar), and the table names its pools and MTP."""
    from liminal_cli.tco_commands import main as tco_main

    choice = best_plan("deepseek-v3", "h100-sxm", 2000, 1000, 30, catalogs=CATS)
    argv = "rank --model deepseek-v3 --isl 2000 --osl 1000 --min-utps 30 --hardware h100-sxm --plans all --mtp both"
    assert tco_main([*argv.split(), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    best = choice.best.as_dict()
    assert (row["plan"], row["mtp"]) == (best["plan"], best.get("draft_tokens", 0))
    assert row["chips"] == best["chips"] and row["stps_per_chip"] == pytest.approx(
        best["output_tps_per_chip"], rel=1e-6
    )
    assert tco_main(argv.split()) == 0
    table = capsys.readouterr().out
    pools = {p["role"]: p for p in best["pools"]}
    assert f"prefill {pools['prefill']['instances']}x" in table and f"MTP {best['draft_tokens']}" in table


def test_the_default_ranking_is_the_aggregated_grid():
    from tco.questions.question import Question
    from tco.questions.ranking import evaluate, select

    ranked = select(evaluate(Question("llama3-70b", isl=1024, osl=1024, hardware=("h100-sxm",))), 30)
    assert ranked["plan"].to_list() == ["aggregated"] and ranked["mtp"].to_list() == [0]


@pytest.mark.parametrize("mean", [0.3, 5.0, 113.0, 4000.0])
def test_the_poisson_occupancy_matches_scipy(mean):
    """The occupancy's CDF and quantiles (written with numpy, so the ranking does not import
    scipy.stats) equal scipy's to 1e-9 and exactly."""
    from scipy import stats

    cdf = arrivals.poisson_cdf(mean, mean + 12 * mean**0.5 + 30)
    assert np.max(np.abs(cdf - stats.poisson.cdf(np.arange(cdf.size), mean))) < 1e-9
    for q in (0.5, 0.9, 0.99):
        assert arrivals.occupancy_quantiles(mean, q) == 1 + stats.poisson.ppf(q, mean)


def test_the_report_names_the_plans_it_searched(tmp_path, capsys):
    from liminal_cli.tco_commands import main as tco_main

    argv = (
        "report --model deepseek-v3 --isl 2000 --osl 1000 --min-utps 30 --hardware h100-sxm --plans all "
        f"--mtp both --out {tmp_path}"
    )
    assert tco_main(argv.split()) == 0
    capsys.readouterr()
    md = (tmp_path / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| 1 | h100-sxm |"))
    assert "prefill " in row and "+ decode " in row and "MTP 1" in row
    assert "plans searched: aggregated and disaggregated" in md
