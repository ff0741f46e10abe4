"""The Plan page through streamlit.testing.v1.AppTest: the example forecast is planned as the
library plans it, and the power cap and headroom change the answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from perfmodel.catalog.economics_set import load_catalogs
from tco.planning.fleet import plan_forecast
from tco.questions.question import Question
from tco.reporting.fleet_text import plan_sentence

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def library_sentence() -> str:
    return plan_sentence(plan_forecast(ROOT / "examples" / "demand.csv", Question(catalogs=load_catalogs())))


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
    page.radio(key="plan_cost_basis").set_value("rent").run()
    page.checkbox(key="plan_shipping").check().run()
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
