"""The Export page (AppTest): its ranking CSV has Compare's rows and ranks with p10/p90, it offers
the Excel workbook built from the assumptions in force, and a report built before an assumption
changed is withdrawn, not offered."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT_S = 300
#: Compare shows $/Mtok to 4 significant digits.
SHOWN_RTOL = 5e-4


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """Every download a page offers on its last run: label -> (file name, bytes)."""
    offered: dict = {}
    original = DeltaGenerator.download_button

    def record(self, label, data, *args, **kwargs):
        offered[label] = (kwargs.get("file_name"), data)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    return offered


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _export(at: AppTest, downloads: dict) -> dict:
    downloads.clear()
    at.switch_page("app_pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return downloads


def _csv(downloads: dict) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(downloads["Ranking as Compare shows it (CSV)"][1]))


def test_ranking_csv_has_the_rows_and_ranks_of_compare_with_the_spread(app, downloads):
    app.sidebar.number_input(key="min_utps").set_value(300).run()  # some designs miss the floor
    meet, miss = (d.value for d in app.dataframe[:2])
    assert len(miss) > 0
    csv = _csv(_export(app, downloads))
    assert csv["design"].to_list() == [*meet["design"], *miss["design"]]
    assert csv["rank"].to_list() == [*meet["#"], *([None] * len(miss))]
    for q in ("p10", "p90"):
        shown = meet[f"{q} [$/Mtok]"].to_list()  # Compare's short headers
        assert csv[f"usd_per_mtok_{q}"].head(len(meet)).to_list() == pytest.approx(shown, rel=SHOWN_RTOL)


def test_workbook_is_offered_and_follows_the_assumptions_in_force(app, downloads):
    name, data = _export(app, downloads)["Workbook for finance (Excel)"]
    assert name.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    ranking = [r for r in book["Ranking"].iter_rows(min_row=2, values_only=True)]
    assert len(ranking) == _csv(downloads).height
    app.session_state["energy_price"] = 0.30  # the Assumptions page's figure [USD/kWh]
    _, data = _export(app, downloads)["Workbook for finance (Excel)"]
    rows = {
        r[0]: r for r in openpyxl.load_workbook(io.BytesIO(data))["Assumptions"].iter_rows(values_only=True)
    }
    assert rows["site: energy_price"][1:3] == (pytest.approx(0.30), "USD/kWh")
    assert "electricity 0.3 USD/kWh" in app.caption[0].value


def test_a_report_built_before_an_assumption_changed_is_withdrawn(app, downloads):
    _export(app, downloads)
    app.button[0].click().run()
    assert {"Report (HTML)", "Report (Markdown)"} <= set(downloads)
    downloads.clear()
    app.sidebar.number_input(key="min_utps").set_value(300).run()
    assert not {"Report (HTML)", "Report (Markdown)"} & set(downloads)
    assert "build it again" in app.info[0].value
    assert "Workbook for finance (Excel)" in downloads
