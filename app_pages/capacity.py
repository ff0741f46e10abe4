"""Capacity and performance: memory needed against held, and where the decode step's time goes."""

import polars as pl
import streamlit as st

from app_support import assumptions_line, current, shown_designs, table
from tco.reporting.charts import memory_chart, time_breakdown_chart

ev, ranked = current()
s = st.session_state
st.title("Capacity and performance")
st.caption(assumptions_line(ev))
st.caption("Each design shown on Compare, at its ranked configuration.")
shown = shown_designs(ranked)
c = st.columns(2)
c[0].altair_chart(memory_chart(shown), width="stretch")
c[1].altair_chart(time_breakdown_chart(shown), width="stretch")
fits = (
    ev.frame.filter(pl.col("fits") & pl.col("hardware").cast(pl.String).is_in(shown["hardware"].implode()))
    .group_by(pl.col("hardware").cast(pl.String).alias("design"))
    .agg(
        pl.col("chips").min().alias("fewest chips that fit"),
        pl.col("utps").max().alias("fastest [tokens/s per user]"),
    )
    .sort("fewest chips that fit")
)
st.subheader("Fewest chips that hold one instance")
table(fits, {"fastest [tokens/s per user]": st.column_config.NumberColumn(format="%.0f")})
