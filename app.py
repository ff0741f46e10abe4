"""Streamlit app: compare LLM inference hardware by cost, energy and carbon.

A thin layer: widgets in, library calls (``perfmodel``, ``tco``) out, Altair charts drawn.
The selection lives in the URL query parameters, so a link reproduces the view.

    streamlit run app.py
"""

from __future__ import annotations

import streamlit as st

from app_support import catalogs_for, init_selection, overrides, sidebar, sync_url
from perfmodel.catalog import CatalogError, InvalidInput, UnknownName

PAGES = (
    ("compare", "Compare"),
    ("tradeoff", "Trade-off"),
    ("plan", "Plan"),
    ("capacity", "Capacity and performance"),
    ("design", "Design"),
    ("explore", "Explore the limits"),
    ("catalogs", "Catalogs"),
    ("assumptions", "Assumptions"),
    ("export", "Export"),
)

st.set_page_config(page_title="LLM inference hardware economics", layout="wide")
init_selection()
try:
    catalogs = catalogs_for(overrides())
except CatalogError as e:
    st.session_state.overrides = {}
    st.error(f"The edited catalogs did not load and were reset to the defaults: {e}")
    st.stop()
sidebar(catalogs)
page = st.navigation(
    [
        st.Page(f"app_pages/{slug}.py", title=title, url_path=slug, default=slug == "compare")
        for slug, title in PAGES
    ]
)
try:
    page.run()
except (CatalogError, InvalidInput, UnknownName) as e:
    st.error(str(e))
sync_url()
