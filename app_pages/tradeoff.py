"""Trade-off: the UTPS-efficiency frontier of one design and what a slowdown buys."""

import polars as pl
import streamlit as st

from app_support import OBJECTIVE_LABELS, RANK_COLUMNS, current
from tco.charts import frontier_chart
from tco.tradeoff import METRICS, frontier, tradeoff

ev, ranked = current()
s = st.session_state
st.title("Trade-off: a little slower per user, much more efficient")
fitting = [
    h for h in ranked["hardware"].to_list() if h in set(ev.frame.filter("fits")["hardware"].cast(pl.String))
]
if not fitting:
    st.warning(f"{s.model} fits on no design at {s.context:,} tokens of context.")
    st.stop()
if s.design not in fitting:
    s.design = fitting[0]
c = st.columns([2, 2, 2])
c[0].selectbox("Design", fitting, key="design")
c[1].slider(
    "Slowdown accepted [fraction of the fastest UTPS]", 0.0, 0.5, step=0.01, key="slowdown", format="%.2f"
)
metric = c[2].selectbox(
    "Efficiency metric",
    [m for m in METRICS if m != "stps_per_chip"],
    format_func=lambda o: OBJECTIVE_LABELS[o],
)
t = tradeoff(ev, s.design, s.slowdown, metric)
st.success(t["sentence"])
points = frontier(ev.frame.filter(pl.col("hardware") == s.design), metric).with_columns(
    pl.col("hardware").cast(pl.String)
)
marks = pl.DataFrame(
    [
        {"utps": t["baseline"]["utps"], metric: t["baseline"][metric], "label": "fastest"},
        {"utps": t["tradeoff"]["utps"], metric: t["tradeoff"][metric], "label": f"{s.slowdown:.0%} slower"},
    ]
)
st.altair_chart(
    frontier_chart(points, metric, f"{s.design}: UTPS against {OBJECTIVE_LABELS[metric]}", marks),
    width="stretch",
)
GAIN_LABELS = {
    "gain_tokens_per_usd": "tokens per dollar",
    "gain_tokens_per_joule": "tokens per joule",
    "gain_stps": "throughput per chip",
    "gain_gco2e_per_mtok": "less CO2e per token",
}
cols = st.columns(len(GAIN_LABELS))
for col, (key, label) in zip(cols, GAIN_LABELS.items(), strict=True):
    col.metric(label, f"{t[key]:.2f}x")
points_table = pl.DataFrame([t["baseline"], t["tradeoff"], t["batch_only"]]).with_columns(
    point=pl.Series(["fastest", "trade-off", "batching alone (fastest point's chips)"])
)
shown = {"point": st.column_config.TextColumn("point")} | {
    k: v for k, v in RANK_COLUMNS.items() if k in points_table.columns
}
st.dataframe(points_table.select(*shown), column_config=shown, hide_index=True, width="stretch")
