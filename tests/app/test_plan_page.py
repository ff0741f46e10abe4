"""The Plan page through streamlit.testing.v1.AppTest: the example forecast is planned as the
library plans it under the sidebar's assumptions and Compare's rules (chips that ship, none that is
only rented when owned), the power cap and headroom change the answer, and a bad upload is refused
with a message that names its line, leaving the forecast as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from perfmodel.catalog.economics_set import load_catalogs
from tco.planning.demand import demand_arrays, load_demand
from tco.planning.fleet import evaluate_streams, plan
from tco.questions.question import Question
from tco.reporting.fleet_text import plan_sentence

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


EXAMPLE = ROOT / "examples" / "demand.csv"


def _library_plan(cost_basis: str = "own"):
    """The library's plan of the example forecast under the app's defaults: calibrated, chips that
    ship, and (owned) without the chips that are only rented."""
    cats = load_catalogs()
    demand = demand_arrays(load_demand(EXAMPLE, cats))
    evaluated = evaluate_streams(demand.streams, Question(catalogs=cats, cost_basis=cost_basis))
    return plan(demand, evaluated, availability=["shipping"])  # owned: rent-only chips are left out


@pytest.fixture(scope="module")
def library_sentence() -> str:
    return plan_sentence(_library_plan())


@pytest.fixture
def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S).run()
    at.switch_page("app_pages/plan.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_example_forecast_is_planned_as_the_library_plans_it(page, library_sentence):
    assert page.success[0].value == library_sentence
    assert page.dataframe[0].value.shape[0] >= 2
    assert page.get("arrow_vega_lite_chart") or page.get("vega_lite_chart")


def test_renting_shipping_chips_with_uncertainty(page, library_sentence):
    page.sidebar.radio(key="cost_basis").set_value("rent").run()
    page.number_input(key="plan_draws").set_value(500).run()
    assert not page.exception, [e.value for e in page.exception]
    sentence = page.success[0].value
    assert "$0 of purchases" in sentence and "p10-p90" in sentence and "[hypothetical]" not in sentence


def test_a_tight_power_cap_and_more_headroom_change_the_answer(page, library_sentence):
    page.selectbox(key="plan_headroom").set_value("0.3").run()
    assert not page.exception
    assert "headroom 0.3" in page.success[0].value
    assert page.success[0].value != library_sentence
    page.number_input(key="plan_max_mw").set_value(0.5).run()
    assert not page.exception
    assert "No fleet of one or two chips serves the forecast under 0.5 MW" in page.success[0].value


def test_plan_follows_the_sidebar_and_has_no_widgets_of_its_own(page):
    """One source of every assumption: the mode, cost basis and designs shown are the sidebar's."""
    keys = {w.key for kind in ("selectbox", "radio", "checkbox") for w in page.main.get(kind)}
    assert not keys & {"plan_mode", "plan_cost_basis", "plan_shipping", "mode", "cost_basis", "availability"}
    page.sidebar.radio(key="cost_basis").set_value("rent").run()
    assert page.success[0].value == plan_sentence(_library_plan("rent"))
    assert "$0 of purchases" in page.success[0].value


def test_an_owned_fleet_buys_only_chips_one_can_buy_and_explains_its_tco(page):
    fleets = next(d.value for d in page.dataframe if "fleet" in d.value.columns)["fleet"].tolist()
    assert fleets and not any(f.startswith(("tpu", "xpu")) or "+ tpu" in f for f in fleets), fleets
    assert "[hypothetical]" not in page.success[0].value
    assert "the TCO can be below the purchases" in "\n".join(c.value for c in page.caption)


def _ragged() -> bytes:
    lines = EXAMPLE.read_text().splitlines()
    body = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    lines[body[2]] += ",extra"  # one row with a cell more than the header
    return "\n".join(lines).encode()


def test_a_ragged_forecast_is_refused_naming_its_line():
    # AppTest has no file-upload element: run the page's own check of an upload.
    at = AppTest.from_string(
        "import streamlit as st\nfrom app_support import accept_forecast\n"
        "from perfmodel.catalog.economics_set import load_catalogs\n"
        f"accept_forecast('mine.csv', {_ragged()!r}, load_catalogs())\n",
        default_timeout=TIMEOUT_S,
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    message = at.error[0].value
    assert "mine.csv was not loaded; the forecast stays as it was" in message
    assert "cells as in the header" in message and "mine.csv:" in message
    assert "plan_csv" not in at.session_state


def test_an_unreadable_forecast_in_the_session_shows_the_example_and_no_traceback(page):
    page.session_state["plan_csv"] = _ragged()
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    assert "the example is shown instead" in page.error[0].value
    page.switch_page("app_pages/compare.py").run()
    assert not page.exception and not page.error
