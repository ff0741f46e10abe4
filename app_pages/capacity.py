"""Capacity and performance: memory needed against held, and where the decode step's time goes."""

import polars as pl
import streamlit as st

from app_support import current
from tco.charts import memory_chart, time_breakdown_chart

ev, ranked = current()
s = st.session_state
st.title("Capacity and performance")
st.caption(f"Each design at its ranked configuration for {s.model}, {s.context:,} tokens of context.")
c = st.columns(2)
c[0].altair_chart(memory_chart(ranked), width="stretch")
c[1].altair_chart(time_breakdown_chart(ranked), width="stretch")
fits = (
    ev.frame.filter("fits")
    .group_by(pl.col("hardware").cast(pl.String))
    .agg(
        pl.col("chips").min().alias("fewest chips that fit"), pl.col("utps").max().alias("best UTPS [tok/s]")
    )
    .sort("fewest chips that fit")
)
st.subheader("Fewest chips that hold one instance")
st.dataframe(
    fits,
    hide_index=True,
    width="stretch",
    column_config={"best UTPS [tok/s]": st.column_config.NumberColumn(format="%.0f")},
)
