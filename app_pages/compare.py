"""Compare: the ranking under the floor, efficiency bars, and the selected design's breakdown."""

import polars as pl
import streamlit as st

from app_support import RANK_COLUMNS, current
from tco.charts import carbon_breakdown_chart, cost_breakdown_chart, efficiency_bars
from tco.formatting import si, usd
from tco.report import answer_sentence

ev, ranked = current()
s = st.session_state
st.title("Compare designs")
meeting = ranked.filter("meets_floor")
(st.success if meeting.height else st.warning)(answer_sentence(ranked, s.model, s.min_utps, s.objective))
if meeting.height:
    top = meeting.row(0, named=True)
    c = st.columns(4)
    c[0].metric("Cost per million tokens", usd(top["usd_per_mtok"]), help=top["hardware"])
    c[1].metric("Carbon per million tokens", f"{top['gco2e_per_mtok']:,.1f} gCO2e")
    c[2].metric("Tokens per joule", f"{top['tokens_per_joule']:.3g}")
    c[3].metric("Chips per instance", f"{top['chips']:,}")
table = ranked.with_columns(
    reason=pl.when(pl.col("reason") == "").then(pl.col("bottleneck")).otherwise("reason")
)
st.dataframe(table.select(*RANK_COLUMNS), column_config=RANK_COLUMNS, hide_index=True, width="stretch")
if not meeting.height:
    st.info(
        "No design meets the floor: lower the UTPS floor, shorten the context, or see each design's limit above."
    )
    st.stop()
c = st.columns(2)
c[0].altair_chart(efficiency_bars(ranked, "tokens_per_usd"), width="stretch")
c[1].altair_chart(efficiency_bars(ranked, "tokens_per_joule"), width="stretch")
designs = meeting["hardware"].to_list()
if s.design not in designs:
    s.design = designs[0]
st.selectbox("Breakdown of the selected design", designs, key="design")
row = meeting.filter(pl.col("hardware") == s.design)
r = row.row(0, named=True)
st.markdown(
    f"**{r['hardware']}**: {r['chips']} chips (TP {r['tp']} x PP {r['pp']} x EP {r['ep']}), batch {r['batch']}, "
    f"{r['utps']:,.0f} tokens/s per user, {si(r['stps'])} tokens/s in all; chip price {usd(r['price_usd'])}"
    f" ({r['price_type']}); limited by {r['bottleneck']}."
)
c = st.columns(2)
c[0].altair_chart(cost_breakdown_chart(row), width="stretch")
c[1].altair_chart(carbon_breakdown_chart(row), width="stretch")
