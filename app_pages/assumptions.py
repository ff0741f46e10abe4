"""Assumptions: scenario, power model and the site's figures; every page follows them."""

import streamlit as st

from app_support import SITE_FIELDS, catalogs_for, overrides
from tco.economics import load_site

cats = catalogs_for(overrides())
s = st.session_state
st.title("Assumptions")
c = st.columns(2)
c[0].selectbox("Scenario", cats["scenarios"].names(), key="scenario")
c[1].selectbox(
    "Power model",
    ["activity", "tdp"],
    key="power_model",
    help="activity: static power + energy per FLOP and per bit moved, capped at TDP; tdp: every chip at TDP",
)
st.dataframe(cats["scenarios"].df, hide_index=True, width="stretch")
st.subheader(f"Site {s.region}")
base = load_site(cats, s.region)
changes = s.site_changes.setdefault(s.region, {})
cols = st.columns(len(SITE_FIELDS))
for col, (field, (label, factor)) in zip(cols, SITE_FIELDS.items(), strict=True):
    value = col.number_input(
        label,
        value=float(changes.get(field, getattr(base, field)) * factor),
        min_value=1.0 if field == "pue" else 1e-9,
        max_value=1.0 if field == "utilization" else None,
        format="%.4g",
        key=f"site_{field}",
    )
    if abs(value / factor - getattr(base, field)) > 1e-12 * max(1.0, abs(getattr(base, field))):
        changes[field] = value / factor
    else:
        changes.pop(field, None)
if changes and st.button("Restore the catalog's values"):
    s.site_changes[s.region] = {}
    st.rerun()
st.dataframe(cats["datacenter"].df, hide_index=True, width="stretch")
st.dataframe(cats["grid_carbon"].df, hide_index=True, width="stretch")
