"""Paged KV occupancy, per-rank batch caps, overlapped expert all-to-all and the engine as its own
dimension of the calibrated mode (docs/model.md §4-§5)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from liminal_cli.perfmodel_commands import main as perfmodel_main
from perfmodel.api.serving import iter_serve_grid, profile_for, serve
from perfmodel.api.setup import prepare
from perfmodel.catalog.folder import load_catalogs
from perfmodel.inputs import InvalidInput
from perfmodel.model import serving_equations as eq
from perfmodel.model.serving_step import Deployment, Layout, batch_cap, memory_concurrency
from perfmodel.units import Q_
from tco.questions.question import Question
from tco.questions.ranking import evaluate, select

CATS = load_catalogs()


def _deployment(model: str, chip: str, **profile) -> Deployment:
    setup = prepare(CATS, models=[model], hardware=[chip])
    prof = dataclasses.replace(profile_for(setup, "calibrated"), **profile)
    return Deployment(setup.models, setup.hardware, setup.scenario, prof, 0)


def test_held_context_is_the_prompt_half_the_output_and_the_reserved_rest():
    """ISL 1,000 and OSL 1,000: 1,500 tokens held on demand (r = 0), the worst case 2,000 at r = 1."""
    isl, osl = Q_(1000, "token"), Q_(1000, "token")
    assert eq.held_context(isl, osl, 0.0) == Q_(1500, "token")
    assert eq.held_context(isl, osl, 1.0) == Q_(2000, "token")
    assert eq.held_context(isl, osl, 0.1) == Q_(1550, "token")


def test_on_demand_blocks_fit_more_sequences_than_reserved_ones():
    """Same chip, memory and model: the KV per sequence shrinks from ISL + OSL to ISL + OSL / 2
    (1,000 / 8,000 tokens: 9,000 -> 5,000), so the sequences that fit grow by up to 9/5."""
    lay = Layout(np.array([0]), np.array([4.0]), np.array([1.0]))
    worst = memory_concurrency(_deployment("llama3-70b", "h100-sxm", kv_reserve=np.ones(1)), lay, 1000, 8000)
    paged = memory_concurrency(_deployment("llama3-70b", "h100-sxm", kv_reserve=np.zeros(1)), lay, 1000, 8000)
    assert worst[0] > 0
    assert paged[0] / worst[0] == pytest.approx(9 / 5, rel=0.02)


def test_the_batch_cap_is_per_data_parallel_rank():
    d = _deployment("deepseek-v3", "b200-hgx")
    cap = d.prof.max_concurrency[0]
    one = batch_cap(d, Layout(np.array([0]), np.array([8.0]), np.array([1.0]), 8.0, False))
    ranks = batch_cap(d, Layout(np.array([0]), np.array([8.0]), np.array([1.0]), 8.0, True))
    assert one[0] == cap and ranks[0] == 8 * cap


def test_a_binding_cap_is_not_a_memory_failure(capsys):
    """SGLang caps 2,048 sequences; llama3-8b on one B200 holds far more at 128 / 128 tokens."""
    r = serve("llama3-8b", "b200-hgx", 128, 128, 4096, engine="sglang")
    assert r.in_memory and not r.fits and r.batch_cap == 2048
    argv = "serve --model llama3-8b --hardware b200-hgx --tp 1 --isl 128 --osl 128 --concurrency 4096 --engine sglang --json"
    assert perfmodel_main(argv.split()) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["batch_cap"] == 2048
    assert "batch cap binds" in out.err and "does not fit" not in out.err


def test_overlapped_all_to_all_hides_behind_the_longer_of_compute_and_memory():
    s = Q_(1, "s")
    step = eq.overlapped_step_time(3 * s, 2 * s, 1 * s, 0.5 * s, 0.25 * s)
    assert step == 3.75 * s
    assert eq.overlapped_step_time(1 * s, 2 * s, 4 * s, 0 * s, 0 * s) == 4 * s


def test_overlap_never_slows_an_expert_parallel_step():
    setup = prepare(CATS, models=["deepseek-v3"], hardware=["b200-hgx"])
    base = profile_for(setup, "calibrated")
    grid = {"tp": [8], "ep": [8], "batch": [64, 512], "dp_attention": [True]}

    def tpot(profile) -> np.ndarray:
        (frame,) = iter_serve_grid(setup, "calibrated", 1000, 1000, profile=profile, **grid)
        return frame.sort("batch")["tpot_s"].to_numpy()

    off, on = tpot(base), tpot(dataclasses.replace(base, ep_overlap=np.ones(1, bool)))
    assert (on < off).all()  # an EP8 step has an all-to-all to hide, and hiding it never costs


def test_each_chip_runs_its_most_measured_engine_unless_told():
    """B200 is measured most under TensorRT-LLM, MI300X under vLLM (measurements.csv); asking for
    vLLM changes B200's answer and leaves MI300X's as it was."""
    q = Question("llama3-70b", isl=1024, osl=1024, min_utps=30, hardware=("b200-hgx", "mi300x"))
    own = select(evaluate(q), 30).sort("hardware")
    told = select(evaluate(q.but(engine="vllm")), 30).sort("hardware")
    assert own["engine"].to_list() == ["trtllm", "vllm"]
    assert told["engine"].to_list() == ["vllm", "vllm"]
    assert own["usd_per_mtok"][0] != told["usd_per_mtok"][0]
    assert own["usd_per_mtok"][1] == told["usd_per_mtok"][1]


def test_the_limit_has_no_engine():
    with pytest.raises(InvalidInput, match="applies to calibrated mode"):
        evaluate(Question("llama3-70b", 4096, engine="vllm"))
