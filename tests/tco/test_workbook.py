"""The Excel workbook for finance (tco.reporting.workbook): it opens with openpyxl, its figures are
the ranking's and the Monte-Carlo spread's, numbers are numbers, no text cell is a formula even
when a chip is named like one, the site in force is the one recorded, and the report lists it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.units import Q_
from tco.planning.fleet import plan_forecast
from tco.questions.monte_carlo import uncertainty
from tco.questions.question import Question
from tco.questions.ranking import evaluate, select
from tco.questions.tradeoffs import tradeoff
from tco.reporting.workbook import Answer, workbook

#: Chip names a spreadsheet would run as formulas.
HOSTILE = {"h100-sxm": '=HYPERLINK("x")', "h200-sxm": "@SUM(1)", "b200-hgx": "-2+3"}
SHEETS = ["Assumptions", "Ranking", "Cost breakdown", "Trade-off", "Fleet plan by month"]
DEMAND = Path(__file__).resolve().parents[2] / "examples" / "demand.csv"
#: XlsxWriter stores numbers with 16 significant digits.
STORED_RTOL = 1e-15


def _renamed(folder: Path, names: dict[str, str]) -> Path:
    """The packaged catalogs in ``folder`` with every cell named in ``names`` renamed."""
    folder.mkdir()
    for src in DEFAULT_DIR.glob("*.csv"):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for line in src.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                out.write(line + "\n")
            else:
                writer.writerow([names.get(c, c) for c in next(csv.reader([line]))])
        (folder / src.name).write_text(out.getvalue(), encoding="utf-8")
    return folder


def _rows(ws) -> list[dict]:
    head, *body = ws.iter_rows(values_only=True)
    return [dict(zip(head, r, strict=True)) for r in body]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A workbook of a catalog whose chips are named like formulas, with its ranking and spread."""
    cats = load_catalogs(_renamed(tmp_path_factory.mktemp("wb") / "cats", HOSTILE))
    designs = (*HOSTILE.values(), "xpu-hbm3", "mi300x")
    ev = evaluate(Question("llama3-8b", catalogs=cats, hardware=designs))
    ranked = select(ev, 30.0)
    spread = uncertainty(ev, 2_000, 30.0)
    trades = [tradeoff(ev, h) for h in ranked.filter("meets_floor")["hardware"]]
    plan = plan_forecast(DEMAND, Question(catalogs=cats, min_utps=30.0))
    data = workbook([Answer(ev, ranked, spread, trades, 30.0)], plan, command="=cmd")
    return openpyxl.load_workbook(io.BytesIO(data)), ranked, spread, plan


def test_workbook_opens_with_its_five_sheets(hostile):
    book, *_ = hostile
    assert book.sheetnames == SHEETS


def test_ranking_figures_equal_the_ranking_and_the_spread(hostile):
    book, ranked, spread, _ = hostile
    rows = {r["hardware"].removeprefix("'"): r for r in _rows(book["Ranking"])}
    assert len(rows) == ranked.height
    for r in ranked.iter_rows(named=True):
        got = rows[r["hardware"]]
        assert got["rank"] == r["rank"]
        assert got["usd_per_mtok [USD/Mtoken]"] == pytest.approx(r["usd_per_mtok"], rel=STORED_RTOL)
        assert got["tokens_per_joule [token/J]"] == pytest.approx(r["tokens_per_joule"], rel=STORED_RTOL)
    assert spread.height >= 3
    for s in spread.iter_rows(named=True):
        got = rows[s["hardware"]]
        for q in ("p10", "p90"):
            usd, tpj = f"usd_per_mtok_{q}", f"tokens_per_joule_{q}"
            assert got[f"{usd} [USD/Mtoken]"] == pytest.approx(s[usd], rel=STORED_RTOL)
            assert got[f"{tpj} [token/J]"] == pytest.approx(s[tpj], rel=STORED_RTOL)
        assert got["usd_per_mtok_p10 [USD/Mtoken]"] < got["usd_per_mtok_p90 [USD/Mtoken]"]


def test_numbers_are_numbers_and_no_text_is_a_formula(hostile):
    book, *_ = hostile
    for ws in book:
        numbers = 0
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), (ws.title, cell.value)
                numbers += isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
        assert numbers > 0, ws.title
    ranking = _rows(book["Ranking"])
    assert {"'" + n for n in HOSTILE.values()} <= {r["hardware"] for r in ranking}
    assert all(isinstance(r["usd_per_mtok [USD/Mtoken]"], float) for r in ranking if r["meets_floor"])
    assert all(isinstance(r["chips"], int) for r in ranking)


def test_fleet_plan_by_month_is_the_plan(hostile):
    book, *_, plan = hostile
    rows = _rows(book["Fleet plan by month"])
    assert len(rows) == plan.monthly.height
    assert [r["capex_usd [USD]"] for r in rows] == pytest.approx(
        plan.monthly["capex_usd"].to_list(), rel=1e-15
    )
    assert [r["month"] for r in rows] == plan.monthly["month"].to_list()


def test_trade_off_and_cost_breakdown_per_design(hostile):
    book, ranked, *_ = hostile
    trades = _rows(book["Trade-off"])
    assert len(trades) == ranked.filter("meets_floor").height
    assert all(t["gain"] >= 1.0 and t["sentence"].startswith("Running") for t in trades)
    parts = _rows(book["Cost breakdown"])
    for p in parts:
        if p["usd_per_mtok [USD/Mtoken]"] is not None:
            items = ("capex", "energy", "other")
            total = sum(p[f"{i}_usd_per_mtok [USD/Mtoken]"] for i in items)
            assert total == pytest.approx(p["usd_per_mtok [USD/Mtoken]"], rel=1e-9)


def test_assumptions_record_the_site_in_force_with_sources_and_price_dates(catalogs):
    ev = evaluate(Question("llama3-8b", catalogs=catalogs, hardware=("h100-sxm", "xpu-hbm3")))
    price = Q_(0.30, "USD/kWh").to("USD/J").magnitude
    changed = ev.recost(ev.site.varied(energy_price=price))
    data = workbook([Answer(changed, select(changed), uncertainty(changed, 500), [])])
    rows = {r["assumption"]: r for r in _rows(openpyxl.load_workbook(io.BytesIO(data))["Assumptions"])}
    energy = rows["site: energy_price"]
    assert (energy["value"], energy["unit"]) == (pytest.approx(0.30), "USD/kWh")
    assert "set for this result" in energy["source"] and "0.081" in energy["source"]
    pue = rows["site: pue"]
    assert pue["value"] == pytest.approx(1.56) and pue["source"].startswith("datacenter.csv: PUE: Uptime")
    assert rows["grid carbon intensity"]["unit"] == "gCO2e/kWh"
    assert "grid_carbon.csv" in rows["grid carbon intensity"]["source"]
    h100 = rows["price: h100-sxm"]
    assert (h100["value"], h100["unit"], h100["date"]) == (27500, "USD per chip", "2023-06")
    assert rows["catalog version"]["value"] == catalogs.digest()
    assert rows["cost basis"]["value"] == "own" and rows["power model"]["value"] == "activity"


def test_report_writes_and_lists_the_workbook(run_command, tmp_path):
    out = tmp_path / "report"
    args = [
        "--model",
        "llama3-8b",
        "--hardware",
        "h100-sxm",
        "xpu-hbm3",
        "--min-utps",
        "30",
        "--out",
        str(out),
    ]
    done = run_command("tco", "report", *args)
    assert done.returncode == 0, done.stderr
    assert str(out / "report.xlsx") in done.stdout and str(out / "report.html") in done.stdout
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book.sheetnames == SHEETS
    assert {r["hardware"] for r in _rows(book["Ranking"])} == {"h100-sxm", "xpu-hbm3"}
