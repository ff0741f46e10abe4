"""Design: a what-if chip from parts (memory technology x stacks, collective latency), ranked
against the catalog for the current question. The new row joins this session's catalogs."""

import polars as pl
import streamlit as st

from app_support import RANK_COLUMNS, apply_catalogs, catalogs_for, current, overrides
from perfmodel.catalog import InvalidInput
from tco.explore import design_overrides
from tco.formatting import usd

cats = catalogs_for(overrides())
st.title("Design a what-if accelerator")
techs = [
    r["name"]
    for r in cats["memory_technologies"].df.filter(pl.col("stack_bw").is_not_null()).iter_rows(named=True)
]
c = st.columns(4)
template = c[0].selectbox(
    "Start from", cats["hardware"].names(), index=cats["hardware"].names().index("xpu-hbm3")
)
memory = c[1].selectbox("Memory technology", techs, index=techs.index("HBM4") if "HBM4" in techs else 0)
stacks = c[2].slider("Stacks", 1, 16, 8)
sync_us = c[3].slider("Collective latency [us]", 0.05, 10.0, 0.5, step=0.05)
name = st.text_input("Name", value=f"{template}-{memory.lower()}-x{stacks}")
settings = [f"memory={memory}", f"stacks={stacks}", f"sync_us={sync_us:g}"]
try:
    new, derivation = design_overrides(cats, name, template, settings)
except InvalidInput as e:
    st.error(str(e))
    st.stop()
for line in derivation:
    st.markdown(f"- {line}")
st.caption("Price (bottom-up estimate), power and embodied carbon follow from the catalogs as for any chip.")
added = st.button("Add to this session's catalogs and rank it") and apply_catalogs(new)
if added or name in cats["hardware"].names():
    ev, ranked = current()
    row = ranked.filter(pl.col("hardware") == name)
    if row.height:
        r = row.row(0, named=True)
        st.markdown(
            f"**{name}** ranks {r['rank']} of {ranked.height} for {ev.model} at {ev.context:,} tokens: "
            f"{usd(r['usd_per_mtok'])} per million tokens, {r['utps']:,.0f} tokens/s per user on {r['chips']} chips"
            + (f" ({r['reason']})" if r["reason"] else "")
            + f"; estimated price {usd(r['price_usd'])}."
        )
    st.dataframe(ranked.select(*RANK_COLUMNS), column_config=RANK_COLUMNS, hide_index=True, width="stretch")
