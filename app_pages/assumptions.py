"""Assumptions: scenario and power model, and the tables behind the site's figures; every page follows them."""

import streamlit as st

from app_support import as_written, catalogs_for, current, overrides, site_figures, table

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
st.caption(
    "The site's figures (electricity price, PUE, lifetime, utilization) are set in the sidebar, beside the "
    "question, so every page shows them; empty there: the site's own value below."
)
st.markdown(f"In force: {site_figures(current()[0])}.")
st.subheader("Sites")
table(as_written(cats["datacenter"]))
st.subheader("Grid carbon intensity")
table(as_written(cats["grid_carbon"]))
