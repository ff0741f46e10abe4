"""The app through streamlit.testing.v1.AppTest: every page loads; widgets change the numbers shown;
an invalid upload shows the validator's message and leaves the catalog unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tco.catalogs import load_catalogs
from tco.explore import against_best_dram, what_if_designs
from tco.rank import rank

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ("compare", "tradeoff", "plan", "capacity", "design", "explore", "catalogs", "assumptions", "export")
TIMEOUT_S = 120


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(e.value for e in (*at.success, *at.warning, *at.info, *at.error, *at.markdown))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads(app, page):
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title


def test_answer_matches_the_library_and_follows_the_floor(app):
    top30 = rank("llama3-70b", 4096, min_utps=30).row(0, named=True)
    assert f"{top30['hardware']} " in app.success[0].value
    app.sidebar.number_input[0].set_value(2000).run()
    top2000 = rank("llama3-70b", 4096, min_utps=2000).row(0, named=True)
    assert "floor of 2,000 tokens/s" in app.success[0].value
    assert f"{top2000['hardware']} " in app.success[0].value
    assert app.query_params["min_utps"] in ("2000.0", ["2000.0"])


def test_model_change_changes_the_numbers(app):
    before = app.metric[0].value
    app.sidebar.selectbox[0].set_value("llama3-8b").run()
    assert "llama3-8b" in app.success[0].value
    assert app.metric[0].value != before


def test_slowdown_changes_the_gain(app):
    app.switch_page("app_pages/tradeoff.py").run()
    first = app.success[0].value
    app.slider[0].set_value(0.0).run()
    assert not app.exception
    assert app.success[0].value != first
    assert "raises tokens per dollar 1.0x" in app.success[0].value  # no slowdown, no gain


def test_model_that_fits_nowhere_is_explained(app):
    app.sidebar.selectbox[0].set_value("kimi-k2").run()
    app.sidebar.number_input[0].set_value(100000).run()
    assert not app.exception
    assert "No design in the catalog serves kimi-k2" in app.warning[0].value


def test_invalid_upload_is_refused_and_catalog_unchanged(app):
    app.switch_page("app_pages/catalogs.py").run()
    app.selectbox(key="catalog_name").set_value("hardware").run()
    caption = "\n".join(c.value for c in app.caption)
    bad = Path(__file__).parent / "data" / "bad_hardware.csv"
    # AppTest has no file-upload element: run the page's own apply path (the validator the CLI uses).
    at = AppTest.from_string(
        "import streamlit as st\nfrom app_support import apply_catalog\n"
        f"st.session_state.setdefault('overrides', {{}})\napply_catalog('hardware', open({str(bad)!r}, 'rb').read())\n",
        default_timeout=TIMEOUT_S,
    ).run()
    message = at.error[0].value
    assert "Not applied" in message and "hardware.csv:8:mem_bw" in message
    assert at.session_state["overrides"] == {}
    assert f"{load_catalogs()['hardware'].df.height} rows" in caption


def test_design_page_adds_a_ranked_design(app):
    app.switch_page("app_pages/design.py").run()
    assert "mem_bw = 8 x 2 TB/s = 16 TB/s" in app.markdown[0].value
    app.button[0].click().run()
    assert not app.exception
    assert "updated for this session" in app.success[0].value
    assert "xpu-hbm3-hbm4-x8** ranks" in app.markdown[-1].value


def test_explore_compares_what_if_designs_with_the_library(app):
    app.sidebar.number_input[0].set_value(2000).run()
    app.switch_page("app_pages/explore.py").run()
    assert not app.exception
    shown = app.dataframe[-1].value.set_index("hardware")
    cats = load_catalogs()
    want = against_best_dram(
        what_if_designs(cats) + ["xpu-3d-dram"], ["llama3-70b"], [4096], [2000.0], catalogs=cats
    )
    assert set(shown.index) == set(want["hardware"])
    for r in want.iter_rows(named=True):
        assert shown.loc[r["hardware"], r["objective"]] == pytest.approx(r["advantage"], rel=1e-12)
