"""Export: the ranking as CSV and the report (HTML, Markdown) for the current selection."""

import tempfile
from pathlib import Path

import streamlit as st

from app_support import assumptions_line, current, report_command
from perfmodel.outputs import safe_csv
from tco.reporting.document import report

ev, ranked = current()
s = st.session_state
st.title("Export")
st.caption(assumptions_line(ev))
st.download_button(
    "Ranking (CSV)", safe_csv(ranked), file_name=f"ranking-{s.model}-{ev.mode}.csv", mime="text/csv"
)
if st.button("Build the report for this selection"):
    with tempfile.TemporaryDirectory() as tmp, st.spinner("Rendering charts…"):
        paths = report(
            [ev.question.but(min_utps=s.min_utps, context=ev.context if ev.mode == "limit" else None)],
            tmp,
            objective=s.objective,
            slowdown=s.slowdown,
            command=report_command(),
        )
        st.session_state.report_files = {
            k: Path(v).read_bytes() for k, v in paths.items() if k in ("html", "markdown")
        }
files = st.session_state.get("report_files")
if files:
    c = st.columns(2)
    c[0].download_button("Report (HTML)", files["html"], file_name="report.html", mime="text/html")
    c[1].download_button("Report (Markdown)", files["markdown"], file_name="report.md", mime="text/markdown")
