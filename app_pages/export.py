"""Export: the ranking Compare shows (CSV), the Excel workbook and the report, all of the current selection.

Every download is built from the selection in force: the CSV and the workbook on every run, the
report on request and withdrawn as soon as an assumption changes, so no file says 0.081 USD/kWh
while the page says 0.30.
"""

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from app_support import (
    assumptions_line,
    current,
    overrides,
    question,
    ranking_tables,
    report_command,
    shown_designs,
    site_changes,
    spread,
)
from perfmodel.outputs import safe_csv
from tco.questions.tradeoffs import tradeoff
from tco.reporting.document import report
from tco.reporting.workbook import Answer, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def compare_rows(ranked: pl.DataFrame, spread: pl.DataFrame) -> pl.DataFrame:
    """The rows Compare shows, in its order: its rank and design label, then every figure of the
    ranking with the p10/p50/p90 spread (designs that miss the floor last, without a rank)."""
    joined = shown_designs(ranked).join(spread, on="hardware", how="left")
    meet, miss = ranking_tables(joined)
    screen = pl.concat([meet.select("rank", "design"), miss.select("design")], how="diagonal")
    ordered = pl.concat([joined.filter("meets_floor"), joined.filter(~pl.col("meets_floor"))])
    return pl.concat([screen, ordered.drop("rank")], how="horizontal")


ev, ranked = current()
s = st.session_state
st.title("Export")
st.caption(assumptions_line(ev))
spread_ = spread()
rows = compare_rows(ranked, spread_)
trades = [tradeoff(ev, h, s.slowdown, s.objective) for h in rows.filter("meets_floor")["hardware"]]
book = workbook([Answer(ev, rows, spread_, trades, s.min_utps)], command=report_command())
name = f"{s.model}-{ev.mode}"
c = st.columns(2)
c[0].download_button(
    "Ranking as Compare shows it (CSV)", safe_csv(rows), file_name=f"ranking-{name}.csv", mime="text/csv"
)
c[1].download_button("Workbook for finance (Excel)", book, file_name=f"liminal-tco-{name}.xlsx", mime=XLSX)
st.caption(
    "The workbook: the assumptions with their sources and price dates, the ranking with p10/p90, the cost "
    "breakdown per design and each design's trade-off; numbers as numbers, units in the headers."
)
# what the report depends on: a change of any of it withdraws the report built before
state = (overrides(), question(), site_changes(), s.min_utps, s.objective, s.slowdown, s.availability)
if st.button("Build the report for this selection"):
    with tempfile.TemporaryDirectory() as tmp, st.spinner("Rendering charts…"):
        paths = report(
            [ev.question.but(min_utps=s.min_utps, context=ev.context if ev.mode == "limit" else None)],
            tmp,
            objective=s.objective,
            slowdown=s.slowdown,
            command=report_command(),
        )
        s.report_files = {k: Path(v).read_bytes() for k, v in paths.items() if k in ("html", "markdown")}
        s.report_state = state
files = s.get("report_files")
if files and s.get("report_state") != state:
    s.report_files = files = None
    st.info("An assumption changed since the report was built: build it again for the selection in force.")
if files:
    c = st.columns(2)
    c[0].download_button("Report (HTML)", files["html"], file_name="report.html", mime="text/html")
    c[1].download_button("Report (Markdown)", files["markdown"], file_name="report.md", mime="text/markdown")
