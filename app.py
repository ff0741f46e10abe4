"""Streamlit app: compare LLM inference hardware by cost, energy and carbon.

A thin layer: widgets in, library calls (``perfmodel``, ``tco``) out, Altair charts drawn.
The whole selection lives in one state (``app_support.STATE``) mirrored in the URL query
parameters, so a link reproduces the view; every page has its own path (``/compare``, ...).

    streamlit run app.py
"""

from __future__ import annotations

import streamlit as st

from app_support import catalogs_for, init_state, overrides, sidebar, sync_url
from perfmodel.inputs import CatalogError, InvalidInput, UnknownName

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
init_state()
try:
    catalogs = catalogs_for(overrides())
except CatalogError as e:
    st.session_state.overrides = {}
    st.error(f"The edited catalogs did not load and were reset to the defaults: {e}")
    st.stop()
sidebar(catalogs)
pages = {slug: st.Page(f"app_pages/{slug}.py", title=title, url_path=slug) for slug, title in PAGES}
# The root URL (and /home, a path people type) opens Compare at its own path, so /compare is a link
# like every other page's. A default page is served at the root only, hence a second one for /home.
root, home = (
    st.Page(
        lambda: st.switch_page(pages["compare"]),
        title=title,
        url_path=path,
        default=default,
        visibility="hidden",
    )
    for title, path, default in (("Start", "start", True), ("Home", "home", False))
)
page = st.navigation([*pages.values(), root, home])
if "applied_message" in st.session_state:
    st.success(st.session_state.pop("applied_message"))
try:
    page.run()
except (CatalogError, InvalidInput, UnknownName) as e:
    st.error(str(e))
sync_url()
