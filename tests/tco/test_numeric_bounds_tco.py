"""Issue 25: figures at the edge of float64 refused where they enter (the hardware catalog's hard
ranges, the forecast's maxima), non-finite results reported naming the design, server counts
kept inside the integers, and the Monte Carlo's memory estimated and bounded before it runs."""

from __future__ import annotations

import math

import polars as pl
import pytest

import tco.planning.fleet as fleet
import tco.questions.monte_carlo as monte_carlo
from perfmodel.api.decoding import GRID_COLUMNS, decode_grid
from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.catalog.schemas import HARDWARE, hard_range
from perfmodel.catalog.table import read_table
from perfmodel.inputs import CatalogError, InvalidInput
from tco.planning.demand import load_demand
from tco.questions.question import Question
from tco.questions.ranking import RESULT_COLUMNS, TIME_COLUMNS, check_finite, evaluate

EXAMPLE_DEMAND = DEFAULT_DIR.parent / "examples" / "demand.csv"


@pytest.fixture(scope="module")
def ev():
    return evaluate(Question("llama3-70b", min_utps=30))


def _with_h100(column: str, value: str) -> bytes:
    """hardware.csv with h100-sxm's ``column`` set to ``value`` (in the header's unit)."""
    lines = (DEFAULT_DIR / "hardware.csv").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    index = [h.split("[")[0] for h in lines[at].split(",")].index(column)
    row = next(i for i, line in enumerate(lines) if line.startswith("h100-sxm,"))
    cells = lines[row].split(",")
    cells[index] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines).encode()


@pytest.mark.parametrize(
    ("column", "value"),
    [("mem_bw", "1e-320"), ("mem_bw", "1e20"), ("tensor_bf16", "1e-300"), ("mem_capacity", "1e-310")],
)
def test_hardware_figures_outside_the_hard_range_are_refused(column, value):
    with pytest.raises(CatalogError) as e:
        read_table(_with_h100(column, value), HARDWARE, "hardware.csv")
    lo, hi = hard_range(HARDWARE.column(column))
    assert f":{column}: got '{value}'; expected a value between {lo:.3g} and {hi:.3g}" in str(e.value)


def test_hard_ranges_lie_outside_every_plausibility_band_and_hold_every_packaged_chip():
    table = read_table(DEFAULT_DIR / "hardware.csv", HARDWARE)
    for col in HARDWARE.columns:
        if col.kind == "float" and col.plausible:
            lo, hi = hard_range(col)
            assert lo < col.plausible[0] and hi > col.plausible[1]
            values = table.df[col.name].drop_nulls()
            assert values.is_between(lo, hi).all(), col.name


def test_packaged_evaluation_is_finite_and_passes_unchanged(ev):
    assert check_finite(ev.frame, ev.model) is ev.frame
    fits = ev.frame.filter("fits")
    assert fits.select(pl.col(*RESULT_COLUMNS, *TIME_COLUMNS).is_finite().all()).row(0) == (True,) * 10


@pytest.mark.parametrize(("column", "bad"), [("usd_per_mtok", math.nan), ("t_mem_s", math.inf)])
def test_a_non_finite_figure_is_an_error_naming_the_design(ev, column, bad):
    design = ev.frame.filter("fits")["hardware"].cast(pl.String)[-1]
    frame = ev.frame.with_columns(
        pl.when(pl.col("hardware").cast(pl.String) == design)
        .then(bad)
        .otherwise(pl.col(column))
        .alias(column)
    )
    with pytest.raises(InvalidInput) as e:
        check_finite(frame, ev.model)
    message = str(e.value)
    assert message.startswith(f"{design}: {column} is {bad} on llama3-70b") and "hardware.csv" in message


def test_forecast_figures_beyond_their_maxima_are_refused(ev):
    text = EXAMPLE_DEMAND.read_text()
    body = text.replace(",4e+09,2048,512,30,2.0,", ",4e+09,1e300,512,1e9,5000,", 1)
    assert body != text
    with pytest.raises(CatalogError) as e:
        load_demand(body.encode(), ev.catalogs, "demand.csv")
    message = str(e.value)
    assert "demand.csv:4:isl: got '1e300'; expected at most 1e+07 token" in message
    assert "min_utps" not in message  # a floor no chip reaches is an answer (no chip serves)
    assert "demand.csv:4:peak_to_mean: got '5000'; expected at most 1e+03" in message


def test_a_chip_that_would_need_too_many_servers_does_not_serve_the_stream(monkeypatch):
    question = Question(None)
    free = fleet.plan_forecast(EXAMPLE_DEMAND, question)
    cap = float(free.plans["servers"].median())
    monkeypatch.setattr(fleet, "MAX_SERVERS", cap)
    capped = fleet.plan_forecast(EXAMPLE_DEMAND, question)
    assert 0 < capped.plans.height < free.plans.height
    kept = capped.plans.select("fleet", "servers", "tco_usd").filter(~pl.col("fleet").str.contains(" + "))
    assert (
        kept.join(free.plans, on="fleet")
        .select(
            (pl.col("servers") == pl.col("servers_right")) & (pl.col("tco_usd") == pl.col("tco_usd_right"))
        )
        .to_series()
        .all()
    )
    reasons = " ".join(capped.unserved["reason"])
    assert f"servers at the peak, more than the {cap:.0e} a plan counts" in reasons


def test_monte_carlo_chunk_changes_nothing_but_memory(ev, monkeypatch):
    whole = monte_carlo.uncertainty(ev, 3000, 30)
    monkeypatch.setattr(monte_carlo, "CHUNK_CELLS", 1000)  # a few draws per chunk
    assert monte_carlo.uncertainty(ev, 3000, 30).equals(whole)


def test_monte_carlo_memory_is_estimated_before_it_runs(ev, monkeypatch):
    monkeypatch.setenv("LIMINAL_MEMORY_GIB", "0.5")
    monte_carlo.uncertainty(ev, 10_000, 30)  # about 40 MiB for the packaged designs: within the budget
    with pytest.raises(InvalidInput) as e:
        monte_carlo.uncertainty(ev, 1_000_000, 30)  # over 1 GiB
    designs = ev.frame.filter("fits", pl.col("utps") >= 30)["hardware"].n_unique()
    assert f"the Monte Carlo of {designs} designs x 1,000,000 draws would take about " in str(e.value)
    assert "over the budget of 0.5 GiB" in str(e.value) and "--uncertainty" in str(e.value)


def test_decode_grid_columns_are_the_ones_its_memory_estimate_counts():
    grid = decode_grid(["llama3-70b"], ["h100-sxm"], tp=[1, 8], batch=[1, "max"])
    assert tuple(grid.columns) == GRID_COLUMNS
