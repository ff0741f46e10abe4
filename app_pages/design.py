"""Design: a what-if chip from parts (memory technology x stacks, collective latency), ranked
against the catalog for the current question. The new row joins this session's catalogs."""

import polars as pl
import streamlit as st

from app_support import apply_catalogs, catalogs_for, current, overrides, ranking_tables, table
from perfmodel.inputs import InvalidInput
from tco.designs.catalog_upkeep import NAME, NAME_TEXT
from tco.designs.parts import design_overrides
from tco.reporting.formatting import usd

cats = catalogs_for(overrides())
s = st.session_state
st.title("Design a what-if accelerator")
techs = [
    r["name"]
    for r in cats["memory_technologies"].df.filter(pl.col("stack_bw").is_not_null()).iter_rows(named=True)
]
for key, valid in (("new_template", cats["hardware"].names()), ("new_memory", techs)):
    if s[key] not in valid:
        s[key] = valid[0]
c = st.columns(4)
c[0].selectbox("Start from", cats["hardware"].names(), key="new_template")
c[1].selectbox("Memory technology", techs, key="new_memory")
c[2].slider("Stacks", 1, 16, key="new_stacks")
c[3].slider("Collective latency [us]", 0.05, 10.0, step=0.05, key="new_sync_us")
derived = f"{s.new_template}-{s.new_memory.lower()}-x{s.new_stacks}"
st.text_input("Name", value=None, placeholder=derived, key="new_name")
name = s.new_name or derived
if not NAME.fullmatch(name):  # before any catalog is written: a bad name is the name's error, not a file's
    st.error(f"Name {name!r}: expected {NAME_TEXT}.")
    st.stop()
settings = [f"memory={s.new_memory}", f"stacks={s.new_stacks}", f"sync_us={s.new_sync_us:g}"]
if name not in cats["hardware"].names():
    try:
        new, derivation = design_overrides(cats, name, s.new_template, settings)
    except InvalidInput as e:
        st.error(str(e))
        st.stop()
    for line in derivation:
        st.markdown(f"- {line}")
    st.caption(
        "Price (bottom-up estimate), power and embodied carbon follow from the catalogs as for any chip."
    )
    if st.button("Add to this session's catalogs and rank it") and apply_catalogs(new):
        st.rerun()
else:
    ev, ranked = current()
    row = ranked.filter(pl.col("hardware") == name)
    if row.height:
        r = row.row(0, named=True)
        meeting = ranked.filter("meets_floor").height
        verdict = (
            f"ranks {r['rank']} of the {meeting} designs that meet the floor"
            if r["meets_floor"]
            else (f"misses the floor ({r['reason']})")
        )
        st.markdown(
            f"**{name}** {verdict} for {ev.model} ({ev.workload}): {usd(r['usd_per_mtok'])} per million "
            f"tokens, {r['utps']:,.0f} tokens/s per user on {r['chips']} chips; estimated price {usd(r['price_usd'])}."
        )
    meet, miss = ranking_tables(ranked)
    table(meet)
    if miss.height:
        table(miss)
