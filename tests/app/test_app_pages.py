"""The app through streamlit.testing.v1.AppTest: every page loads; widgets change the numbers shown;
the selection survives a page change and a link reproduces it; no page shows an internal name, a
base-unit figure or "None"; an invalid upload shows the validator's message and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.units import ureg
from tco.economics.costs import load_site
from tco.questions.question import Question
from tco.questions.ranking import RANK_COLUMNS, evaluate, rank, select
from tco.questions.study import versus_best_dram, what_if_designs
from tco.reporting.buyer_text import can_buy

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ("compare", "tradeoff", "plan", "capacity", "design", "explore", "catalogs", "assumptions", "export")
TIMEOUT_S = 120
#: Metric values are shown to 4 significant digits ($0.06268).
SHOWN_RTOL = 5e-4


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(
        e.value for e in (*at.success, *at.warning, *at.info, *at.error, *at.markdown, *at.caption)
    )


def _dollars(text: str) -> float:
    return float(text.lstrip("$").replace(",", ""))


def _buyable(min_utps=30.0, objective="tokens_per_usd", **kwargs) -> dict:
    ev = evaluate(Question("llama3-70b", **kwargs))  # the app's default: calibrated, ISL 1024, OSL 1024
    ranked = select(ev, min_utps, objective)
    return ranked.filter(pl.col("meets_floor") & can_buy()).row(0, named=True)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads(app, page):
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title


def test_root_opens_compare_at_its_own_path(app):
    assert app.title[0].value == "Compare designs"
    assert "Assumptions in force: llama3-70b" in app.caption[0].value


def test_answer_is_the_best_buyable_chip_and_follows_the_floor(app):
    top30 = _buyable(30)
    assert f"the best chip you can buy by tokens per dollar is {top30['hardware']}:" in app.success[0].value
    assert _dollars(app.metric[0].value) == pytest.approx(top30["usd_per_mtok"], rel=SHOWN_RTOL)
    app.sidebar.number_input(key="min_utps").set_value(300).run()
    top300 = _buyable(300)
    assert "at least 300 tokens/s per user" in app.success[0].value
    assert f"is {top300['hardware']}:" in app.success[0].value
    assert top300["hardware"] != top30["hardware"]
    assert app.query_params["min_utps"] in ("300.0", ["300.0"])


def test_hypothetical_designs_only_behind_the_toggle(app):
    hypothetical = {"xpu-hbm4", "xpu-3d-dram", "xpu-sram"}
    app.sidebar.number_input(key="min_utps").set_value(100).run()
    shown = set(app.dataframe[0].value["design"])
    assert not shown & hypothetical and "h100-sxm" in shown
    best = select(evaluate(Question("llama3-70b")), 100.0).filter("meets_floor").row(0, named=True)
    assert best["availability"] != "shipping"  # the cheapest design of all is not one you can buy
    assert f"Best design of any kind: {best['hardware']} ({best['availability']})" in app.success[0].value
    app.radio(key="availability").set_value("shipping,announced,hypothetical").run()
    shown = set(app.dataframe[0].value["design"])
    assert {f"{h} (hypothetical)" for h in hypothetical} <= shown and "h100-sxm" in shown
    assert not any(re.search(r"xpu-[\w-]+$", d) for d in shown)  # every hypothetical design is marked


def test_designs_that_miss_the_floor_are_listed_apart_without_rank(app):
    app.sidebar.number_input(key="min_utps").set_value(1000).run()
    meet, miss = (d.value for d in app.dataframe[:2])
    assert list(meet["#"]) == list(range(1, len(meet) + 1))
    assert "#" not in miss.columns and len(miss) > 0
    assert set(meet["design"]).isdisjoint(miss["design"])
    assert meet.columns[:3].tolist() == ["#", "design", "$ per million tokens"]


def test_cost_basis_rent_reprices_and_both_are_shown(app):
    both = next(d.value for d in app.dataframe if "$ per million tokens, rented" in d.value.columns)
    owned = both.set_index("design")["$ per million tokens, owned"]
    assert app.metric[0].value == owned[_buyable(30)["hardware"]]
    assert "–" in set(both["$ per million tokens, rented"])  # not every chip is for rent
    app.sidebar.radio(key="cost_basis").set_value("rent").run()
    rented = _buyable(30, cost_basis="rent")
    assert f"is {rented['hardware']}:" in app.success[0].value
    assert _dollars(app.metric[0].value) == pytest.approx(rented["usd_per_mtok"], rel=SHOWN_RTOL)
    assert "rent: published rental prices" in app.caption[0].value
    assert app.query_params["cost_basis"] in ("rent", ["rent"])


def test_ranking_shows_the_spread_and_the_chance_of_being_cheapest(app):
    meet = app.dataframe[0].value
    low, high = meet["$ per million tokens, p10"], meet["$ per million tokens, p90"]
    assert (low < high).all()
    assert meet["chance it is the cheapest"].sum() == pytest.approx(1.0, abs=1e-9)


def test_model_change_changes_the_numbers(app):
    before = app.metric[0].value
    app.sidebar.selectbox(key="model").set_value("llama3-8b").run()
    assert "llama3-8b" in app.success[0].value
    assert app.metric[0].value != before


def test_assumptions_survive_a_page_change_and_reach_compare(app):
    app.switch_page("app_pages/assumptions.py").run()
    app.selectbox(key="scenario").set_value("liminal-2025").run()
    app.number_input(key="energy_price").set_value(0.25).run()
    app.switch_page("app_pages/tradeoff.py").run()
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    line = app.caption[0].value
    assert "scenario liminal-2025" in line and "electricity 0.25 USD/kWh (set here)" in line
    cats = load_catalogs()
    price = ureg.Quantity(0.25, "USD/kWh").to("USD/J").magnitude
    site = load_site(cats, "us-average").varied(energy_price=price)
    want = _buyable(30, scenario="liminal-2025", site=site)
    assert _dollars(app.metric[0].value) == pytest.approx(want["usd_per_mtok"], rel=SHOWN_RTOL)
    assert app.query_params["energy_price"] in ("0.25", ["0.25"])
    app.switch_page("app_pages/assumptions.py").run()
    assert app.number_input(key="energy_price").value == 0.25  # the page shows what is in force


def test_a_link_reproduces_the_view(app):
    app.sidebar.selectbox(key="model").set_value("llama3-8b").run()
    app.switch_page("app_pages/assumptions.py").run()
    app.number_input(key="energy_price").set_value(0.3).run()
    app.number_input(key="utilization").set_value(50).run()
    app.switch_page("app_pages/compare.py").run()
    shown = (app.success[0].value, [m.value for m in app.metric], app.caption[0].value)
    link = {k: v[0] if isinstance(v, list) else v for k, v in app.query_params.items()}
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    fresh.query_params.update(link)
    fresh.run()
    assert (fresh.success[0].value, [m.value for m in fresh.metric], fresh.caption[0].value) == shown


def test_edited_catalogs_are_named_in_the_link(app):
    app.session_state["overrides"] = {"models": load_catalogs()["models"].raw + b"\n"}
    app.run()
    digest = app.query_params["catalogs"]
    digest = digest[0] if isinstance(digest, list) else digest
    assert digest != load_catalogs().digest()
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    fresh.query_params["catalogs"] = digest
    fresh.run()
    assert f"This link was made with edited catalogs (version {digest})" in fresh.warning[0].value


def test_trade_off_starts_deployable_and_follows_the_metric(app):
    app.switch_page("app_pages/tradeoff.py").run()
    app.selectbox(key="design").set_value("h100-sxm").run()
    assert "instances of at most 8 chips" in app.success[0].value
    start = app.dataframe[0].value.iloc[0]
    assert int(start["chips (parallelism)"].split()[0]) <= 8
    app.sidebar.selectbox(key="objective").set_value("usd_per_mtok").run()
    assert "cuts cost per million tokens" in app.success[0].value
    assert app.metric[0].label == "lower cost per million tokens"
    app.select_slider(key="slowdown").set_value(0.0).run()
    assert app.metric[0].value == "1.00x"
    app.number_input(key="max_chips").set_value(64).run()
    assert "instances of at most 64 chips" in app.success[0].value


def test_trade_off_from_a_picked_configuration(app):
    app.switch_page("app_pages/tradeoff.py").run()
    app.selectbox(key="design").set_value("h100-sxm").run()
    picked = app.selectbox(key="baseline").options[-1]
    app.selectbox(key="baseline").set_value(picked).run()
    assert not app.exception
    start = app.dataframe[0].value.iloc[0]
    assert f"batch {start['batch']}" in picked


def _visible_text(at: AppTest) -> list[str]:
    """Every string a person reads on the page: texts, labels, options, table headers and cells."""
    out = [_texts(at), *(e.value for e in at.title), *(e.value for e in at.subheader)]
    for m in at.metric:
        out += [m.label, m.value]
    for kind in ("selectbox", "number_input", "slider", "radio", "text_input", "multiselect", "button"):
        for w in at.get(kind):
            out.append(w.label)
            out += [str(o) for o in getattr(w, "options", [])]  # as the widget formats them
    for d in at.dataframe:
        df = d.value
        assert not df.isna().any().any(), df  # an empty cell reads "None" in the browser
        out += [str(c) for c in df.columns]
        out += [str(v) for c in df.columns if df[c].dtype == object for v in df[c]]
    return out


@pytest.mark.parametrize("page", [p for p in PAGES if p != "catalogs"])  # Catalogs shows the files as written
def test_no_page_shows_internal_names_base_units_or_none(app, page):
    app.switch_page(f"app_pages/{page}.py").run()
    text = "\n".join(_visible_text(app))
    site = load_site(load_catalogs())
    internal = [c for c in RANK_COLUMNS if "_" in c] + ["T_batch"]
    for word in internal:
        assert not re.search(rf"\b{word}\b", text), word
    assert not re.search(r"\bNone\b", text)
    for base in (site.energy_price, site.lifetime):  # USD per joule, seconds
        assert f"{base:.4g}" not in text and f"{base:g}" not in text
    assert not re.search(r"\d\.\d{6,}", text)  # no unformatted decimals (4 significant digits at most)


def test_model_that_fits_nowhere_is_explained(app):
    app.sidebar.selectbox(key="model").set_value("kimi-k2").run()
    app.sidebar.number_input(key="min_utps").set_value(100000).run()
    assert not app.exception
    assert "No design in the catalog serves kimi-k2" in app.warning[0].value


def test_invalid_upload_is_refused_and_catalog_unchanged(app):
    app.switch_page("app_pages/catalogs.py").run()
    app.selectbox(key="catalog_name").set_value("hardware").run()
    caption = "\n".join(c.value for c in app.caption)
    bad = Path(__file__).resolve().parents[1] / "data" / "bad_hardware.csv"
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


def test_catalog_picker_and_applied_file_stay(app):
    app.switch_page("app_pages/catalogs.py").run()
    app.selectbox(key="catalog_name").set_value("hardware").run()
    raw = load_catalogs()["models"].raw
    fewer = b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"gpt-oss-20b,"))
    app.session_state["overrides"] = {"models": fewer}
    app.switch_page("app_pages/compare.py").run()
    app.switch_page("app_pages/catalogs.py").run()
    assert app.selectbox(key="catalog_name").value == "hardware"
    app.selectbox(key="catalog_name").set_value("models").run()
    rows = load_catalogs(overrides={"models": fewer})["models"].df.height
    assert rows == load_catalogs()["models"].df.height - 1
    assert f"{rows} rows" in "\n".join(c.value for c in app.caption)


def test_implausible_catalog_values_are_a_visible_notice(app):
    lines = load_catalogs()["hardware"].raw.decode().split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("h100-sxm,"))
    cells = lines[row].split(",")
    cells[3] = "90000"  # mem_bw [TB/s]: 27,000 times an H100's
    lines[row] = ",".join(cells)
    app.session_state["overrides"] = {"hardware": "\n".join(lines).encode()}
    app.run()
    assert not app.exception
    assert re.search(r"hardware\.csv:\d+:mem_bw: got '90000'", app.warning[0].value)


def test_design_page_adds_a_ranked_design(app):
    app.switch_page("app_pages/design.py").run()
    assert "mem_bw = 8 x 2 TB/s = 16 TB/s" in app.markdown[0].value
    app.button[0].click().run()
    assert not app.exception
    assert "updated for this session" in app.success[0].value
    assert "xpu-hbm3-hbm4-x8** ranks" in _texts(app)
    app.switch_page("app_pages/compare.py").run()
    app.switch_page("app_pages/design.py").run()
    assert app.slider(key="new_stacks").value == 8 and "xpu-hbm3-hbm4-x8** ranks" in _texts(app)


def test_explore_compares_what_if_designs_with_the_library(app):
    app.sidebar.number_input(key="min_utps").set_value(100).run()
    app.switch_page("app_pages/explore.py").run()
    assert not app.exception
    shown = app.dataframe[-1].value.set_index("design")
    cats = load_catalogs()
    want = versus_best_dram(
        evaluate(Question("llama3-70b", catalogs=cats)), what_if_designs(cats) + ["xpu-3d-dram"], [100.0]
    )
    assert set(shown.index) == set(want["hardware"])
    label = {"tokens_per_usd": "advantage in tokens per $", "tokens_per_joule": "advantage in tokens per J"}
    label["gco2e_per_mtok"] = "advantage in gCO2e per Mtok"
    for r in want.iter_rows(named=True):
        assert shown.loc[r["hardware"], label[r["objective"]]] == pytest.approx(r["advantage"], rel=1e-12)


def test_rank_is_unchanged_by_the_app(app):
    """The app's ranking is the library's: every design that meets the floor, in order."""
    app.radio(key="availability").set_value("shipping,announced,hypothetical").run()
    meeting = rank("llama3-70b", min_utps=30).filter("meets_floor")["hardware"].to_list()
    shown = [d.split(" (")[0] for d in app.dataframe[0].value["design"]]
    assert shown == meeting
