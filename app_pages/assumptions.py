"""Assumptions: scenario, power model and the site's figures; every page follows them."""

import streamlit as st

from app_support import SITE_FIELDS, as_written, catalogs_for, overrides, shown, site_for, table

cats = catalogs_for(overrides())
s = st.session_state
st.title("Assumptions")
st.caption("What you set here applies on every page and travels in the page's link.")
c = st.columns(2)
c[0].selectbox("Scenario", cats["scenarios"].names(), key="scenario")
c[1].selectbox(
    "Power model",
    ["activity", "tdp"],
    key="power_model",
    format_func={
        "activity": "activity (static + per FLOP + per bit, capped at TDP)",
        "tdp": "every chip at TDP",
    }.get,
)
st.subheader("Scenarios")
table(as_written(cats["scenarios"]))
st.subheader(f"Site {s.region}")
st.caption("Leave a figure empty to use the site's own value (shown greyed).")
base = site_for(cats, s.region, ())
cols = st.columns(len(SITE_FIELDS))
for col, (field, (label, _, _)) in zip(cols, SITE_FIELDS.items(), strict=True):
    col.number_input(
        label,
        value=None,
        min_value=1.0 if field == "pue" else 1e-6,
        max_value=100.0 if field == "utilization" else None,
        format="%.4g",
        placeholder=f"{shown(field, getattr(base, field)):.4g}",
        key=field,
    )
if any(s[f] is not None for f in SITE_FIELDS):
    st.button("Restore the site's values", on_click=lambda: s.update(dict.fromkeys(SITE_FIELDS)))
st.subheader("Sites")
table(as_written(cats["datacenter"]))
st.subheader("Grid carbon intensity")
table(as_written(cats["grid_carbon"]))
