"""The app through streamlit.testing.v1.AppTest: every page loads; widgets change the numbers shown;
the selection survives a page change and a link reproduces it; no page shows an internal name, a
base-unit figure or "None"; an invalid upload shows the validator's message and changes nothing."""

from __future__ import annotations

import csv
import io
import json
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
from tco.reporting.buyer_text import buyer_order, can_buy

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ("compare", "tradeoff", "plan", "capacity", "design", "explore", "catalogs", "assumptions", "export")
TIMEOUT_S = 120
#: Metric values are shown to 4 significant digits ($0.06268).
SHOWN_RTOL = 5e-4
#: Compare's chart selectors: each value and the title of the chart it draws (the default first).
SELECTORS = {
    "curve": {"usd_per_mtok": "USD per million tokens", "stps_per_chip": "Output tokens/s per chip"},
    "efficiency": {
        "tokens_per_usd": "tokens per USD",
        "tokens_per_joule": "tokens per joule (tokens/s per W)",
    },
    "breakdown": {"cost": "Cost per million tokens", "carbon": "Carbon per million tokens"},
}


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


def _charts(at: AppTest) -> list[str]:
    """The titles of the charts on the page, in order."""
    return [json.loads(c.proto.spec)["title"] for c in at.get("vega_lite_chart")]


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
    headline = app.dataframe[0].value
    assert (headline["p10 [$/Mtok]"] < headline["p90 [$/Mtok]"]).all()
    meet = next(d.value for d in app.dataframe if "chance it is the cheapest" in d.value.columns)
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


@pytest.mark.parametrize("key", list(SELECTORS))
def test_each_selector_value_draws_its_chart_alone(app, key):
    assert _charts(app) == [next(iter(charts.values())) for charts in SELECTORS.values()]
    for value, title in SELECTORS[key].items():
        app.segmented_control(key=key).set_value(value).run()
        shown = _charts(app)
        assert len(shown) == len(SELECTORS) and title in shown
        assert not set(shown) & (set(SELECTORS[key].values()) - {title})  # one chart per selector


def test_selectors_round_trip_through_the_url_and_a_page_change(app):
    picked = {key: list(values)[1] for key, values in SELECTORS.items()}
    for key, value in picked.items():
        app.segmented_control(key=key).set_value(value).run()
    app.switch_page("app_pages/tradeoff.py").run()
    app.switch_page("app_pages/compare.py").run()
    link = {k: v[0] if isinstance(v, list) else v for k, v in app.query_params.items()}
    assert {k: link[k] for k in picked} == picked
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    fresh.query_params.update(link)
    fresh.run()
    assert {k: fresh.segmented_control(key=k).value for k in picked} == picked
    assert _charts(fresh) == _charts(app) == [SELECTORS[k][v] for k, v in picked.items()]
    typo = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    typo.query_params.update(link | {"curve": "usd"})
    typo.run()
    assert typo.segmented_control(key="curve").value == "usd_per_mtok"  # an unknown value: the default


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
    """The app's ranking is the library's, in the buyer's order: every design that meets the floor."""
    app.radio(key="availability").set_value("shipping,announced,hypothetical").run()
    meeting = buyer_order(rank("llama3-70b", min_utps=30).filter("meets_floor"))["hardware"].to_list()
    shown = [d.split(" (")[0] for d in app.dataframe[0].value["design"]]
    assert shown == meeting


def _hardware_with(edit) -> bytes:
    """The packaged hardware.csv with ``edit`` applied to its lines."""
    return "\n".join(edit(load_catalogs()["hardware"].raw.decode().split("\n"))).encode()


def _run(code: str) -> AppTest:
    """Run app_support's own apply path in a bare script (AppTest has no file-upload element)."""
    head = "import streamlit as st\nst.session_state.setdefault('overrides', {})\n"
    at = AppTest.from_string(head + code, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_comment_after_a_space_keeps_the_catalogs_page_whole(app):
    """A first line ` # my note` loads (the loader's rule); the page keeps its editor, uploaders and
    download button and shows no traceback, and the note is not a row."""
    noted = b" # my note\n" + load_catalogs()["hardware"].raw
    app.session_state["overrides"] = {"hardware": noted}
    app.switch_page("app_pages/catalogs.py").run()
    app.selectbox(key="catalog_name").set_value("hardware").run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    editor = app.dataframe[0]
    assert editor.key.startswith("editor_hardware_")
    assert not any("my note" in str(v) for v in editor.value.iloc[:, 0])
    assert len(editor.value) == load_catalogs()["hardware"].df.height
    assert {u.key for u in app.get("file_uploader")} == {"upload_hardware", "upload_several"}
    assert app.get("download_button")[0].label == "Download hardware.csv"


def test_a_unit_with_a_number_is_a_visible_warning_naming_column_and_factor(app):
    doubled = _hardware_with(lambda lines: [line.replace("mem_bw[TB/s]", "mem_bw[2*TB/s]") for line in lines])
    assert doubled != load_catalogs()["hardware"].raw
    app.session_state["overrides"] = {"hardware": doubled}
    app.run()
    assert not app.exception
    notice = app.warning[0].value
    assert "hardware.csv:mem_bw: got '2*TB/s'" in notice
    assert "every value of mem_bw is multiplied by 2" in notice
    app.session_state["overrides"] = {}
    app.run()
    assert not any(
        "multiplied by" in w.value for w in app.warning
    )  # the packaged [1e9] counts are not flagged


def test_compare_ranks_the_answer_first_marks_rent_only_and_shows_its_spread(app):
    answer = _buyable(30)
    meet = app.dataframe[0].value
    assert meet["design"].iloc[0] == answer["hardware"]
    assert f"is {answer['hardware']}:" in app.success[0].value
    ranked = select(evaluate(Question("llama3-70b")), 30.0, "tokens_per_usd")
    rent_only = ranked.filter(pl.col("meets_floor") & (pl.col("availability") == "shipping") & ~can_buy())
    assert rent_only.height  # the packaged catalogs have TPUs, priced bottom-up when owned
    for name in rent_only["hardware"]:
        assert f"{name} (rent only)" in set(meet["design"])
    spread = re.search(r"p10-p90: \$([\d.]+) to \$([\d.]+)", "\n".join(c.value for c in app.caption))
    assert spread, [c.value for c in app.caption]
    assert float(spread[1]) < _dollars(app.metric[0].value) < float(spread[2])
    row = meet.iloc[0]
    assert float(spread[1]) == pytest.approx(row["p10 [$/Mtok]"], rel=SHOWN_RTOL)
    assert meet.shape[1] == 7  # the rest is under "Every column of the ranking", so it fits the page
    both = next(d.value for d in app.dataframe if "$ per million tokens, rented" in d.value.columns)
    assert list(both["design"])[0] == answer["hardware"]
    assert {f"{name} (rent only)" for name in rent_only["hardware"]} <= set(both["design"])


def test_trade_off_starts_where_compare_chose(app):
    answer = _buyable(30)
    app.switch_page("app_pages/tradeoff.py").run()
    assert app.selectbox(key="design").value == answer["hardware"]
    assert app.selectbox(key="baseline").value == "ranked"
    start = app.dataframe[0].value.iloc[0]
    assert start["chips (parallelism)"].startswith(f"{answer['chips']} (TP {answer['tp']} x")
    assert start["batch"] == answer["batch"]
    assert start["$ per million tokens"] == pytest.approx(answer["usd_per_mtok"], rel=1e-9)
    gain = float(app.metric[0].value.rstrip("x"))
    if gain == 1.0:  # no configuration within 10% of its speed does better: the page says why
        assert "is already the best at its speed" in app.info[0].value
    app.selectbox(key="baseline").set_value("fastest").run()
    fastest = app.dataframe[0].value.iloc[0]
    assert fastest["tokens/s per user"] >= start["tokens/s per user"]


def test_trade_off_designs_follow_the_designs_shown(app):
    app.switch_page("app_pages/tradeoff.py").run()
    options = app.selectbox(key="design").options
    assert not any("hypothetical" in o or "announced" in o for o in options)
    app.radio(key="availability").set_value("shipping,announced,hypothetical").run()
    assert any("(hypothetical)" in o for o in app.selectbox(key="design").options)


def test_catalog_download_neutralizes_formulas_and_keeps_numbers():
    from app_support import safe_catalog_bytes

    def with_formula(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if line.startswith("h100-sxm,"):
                cells = next(csv.reader([line]))
                cells[-1] = '=HYPERLINK("http://x","y")'  # the source column, last in the file
                buf = io.StringIO()
                csv.writer(buf, lineterminator="").writerow(cells)
                line = buf.getvalue()
            out.append(line)
        return out

    raw = _hardware_with(with_formula)
    table = load_catalogs(overrides={"hardware": raw})["hardware"]
    assert table.row("h100-sxm")["source"].startswith("=HYPERLINK")  # the loader keeps the text as written
    out = safe_catalog_bytes(table)
    assert b"'=HYPERLINK" in out and b",=HYPERLINK" not in out and b'"=HYPERLINK' not in out
    again = load_catalogs(overrides={"hardware": out})["hardware"]
    assert again.df.drop("source").equals(table.df.drop("source"))  # every number as it was
    assert (
        safe_catalog_bytes(load_catalogs()["hardware"]) == load_catalogs()["hardware"].raw
    )  # clean: unchanged


def test_a_new_chip_is_added_by_uploading_its_two_files_together():
    from tco.designs.catalog_upkeep import chip_rows

    cats = load_catalogs()
    raw = {c: cats[c].raw for c in ("hardware", "hardware_economics")}
    new = chip_rows(raw, "my-chip", "xpu-hbm3")
    files = {"hardware.csv": new["hardware"], "hardware_economics.csv": new["hardware_economics"]}
    alone = _run(
        f"from app_support import apply_uploads\napply_uploads({ {'hardware.csv': files['hardware.csv']}!r})\n"
    )
    assert "Not applied" in alone.error[0].value and alone.session_state["overrides"] == {}
    both = _run(f"from app_support import apply_uploads\napply_uploads({files!r})\n")
    assert not both.error, [e.value for e in both.error]
    assert set(both.session_state["overrides"]) == {"hardware", "hardware_economics"}
    cats = load_catalogs(overrides=both.session_state["overrides"])
    assert "my-chip" in cats["hardware"].names() and "my-chip" in cats["hardware_economics"].names()
    wrong = _run("from app_support import apply_uploads\napply_uploads({'hw.csv': b'name\\n'})\n")
    assert "hw.csv is not a catalog file name; valid names: " in wrong.error[0].value


def test_a_design_name_with_a_comma_is_the_names_error(app):
    app.switch_page("app_pages/design.py").run()
    app.text_input(key="new_name").set_value("my,chip").run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert errors == [
        "Name 'my,chip': expected 1 to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit."
    ]
    assert not any("efficiencies.csv" in e or "power_calibration.csv" in e for e in errors)
    assert app.session_state["overrides"] == {}


def test_design_colours_are_distinct_and_the_same_in_every_view():
    from tco.questions.cost_curves import buyer_curves
    from tco.reporting.charts import buyer_chart, design_colors, design_palette

    ev = evaluate(Question("llama3-70b"))
    palette = design_palette(ev.frame.select("hardware", "memory_class").unique())
    assert len(palette) == ev.frame["hardware"].n_unique() == len(set(palette.values()))
    everything = buyer_curves(ev.frame)
    shipping = buyer_curves(ev.frame.filter(pl.col("availability") == "shipping"))

    def colours(curves) -> dict[str, str]:
        spec = buyer_chart(curves, "usd_per_mtok", 30.0, palette=palette).to_dict()
        scale = spec["layer"][0]["encoding"]["color"]["scale"]
        return {d.split(" (")[0]: c for d, c in zip(scale["domain"], scale["range"], strict=True)}

    wide, narrow = colours(everything), colours(shipping)
    assert len(narrow) < len(wide)
    assert all(wide[d] == narrow[d] == palette[d] for d in narrow)
    legend = buyer_chart(everything, "usd_per_mtok", palette=palette).to_dict()["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0  # no label is cut
    assert design_colors(ev.frame.select("hardware", "memory_class")).domain  # builds without a palette


def test_trade_off_marks_are_labelled_on_opposite_sides():
    from tco.questions.tradeoffs import frontier
    from tco.reporting.charts import frontier_chart

    ev = evaluate(Question("llama3-70b"))
    points = frontier(ev.frame.filter(pl.col("hardware") == "h100-sxm"), "tokens_per_usd")
    marks = pl.DataFrame(
        {"utps": [30.0, 30.0], "tokens_per_usd": [1e6, 1e6], "label": ["start", "10% slower"]}
    )
    layers = frontier_chart(points, "tokens_per_usd", "", marks).to_dict()["layer"]
    texts = [
        layer["mark"]
        for layer in layers
        if isinstance(layer.get("mark"), dict) and layer["mark"]["type"] == "text"
    ]
    assert len(texts) == 2 and texts[0]["dy"] * texts[1]["dy"] < 0  # one below, one above the point


def test_catalogs_page_shows_the_age_of_every_row(app):
    """The Catalogs page says how old each row's figure is, as `tco catalog stale` reads it."""
    from tco.designs.freshness import row_dates

    app.switch_page("app_pages/catalogs.py").run()
    app.selectbox(key="catalog_name").set_value("hardware_economics").run()
    assert not app.exception
    ages = next(d.value for d in app.dataframe if "age [months]" in d.value.columns)
    want = row_dates(load_catalogs()).filter(pl.col("file") == "hardware_economics.csv")
    assert ages["row"].tolist() == want["name"].to_list()
    h100 = ages[ages["row"] == "h100-sxm"].iloc[0]
    assert h100["dated by"] == "price_date" and h100["age [months]"] == str(
        want.filter(pl.col("name") == "h100-sxm")["age_months"][0]
    )


def test_the_engine_in_the_sidebar_runs_every_chip_and_goes_in_the_url(app):
    """The sidebar's engine reaches the ranking (the library's figures for that engine) and the URL;
    B200 is measured most under TensorRT-LLM, so vLLM changes its figure."""

    def b200_utps() -> float:
        shown = {r["design"]: r["tokens/s per user"] for r in app.dataframe[0].value.to_dict("records")}
        return shown["b200-hgx"]

    own = b200_utps()
    app.sidebar.selectbox(key="engine").set_value("vllm").run()
    assert not app.exception
    assert app.query_params["engine"] in ("vllm", ["vllm"])
    lib = select(evaluate(Question("llama3-70b", isl=1024, osl=1024, engine="vllm")), 30)
    want = lib.filter(pl.col("hardware") == "b200-hgx")["utps"][0]
    assert b200_utps() == pytest.approx(want, rel=SHOWN_RTOL)
    assert b200_utps() != pytest.approx(own, rel=SHOWN_RTOL)
