"""Catalogs: view, edit (validated on every edit), upload and download each CSV."""

import polars as pl
import streamlit as st

from app_support import MAX_UPLOAD_BYTES, apply_catalog, catalogs_for, overrides
from tco.export import safe_csv
from tco.schemas import SCHEMAS

cats = catalogs_for(overrides())
st.title("Catalogs")
name = st.selectbox("Catalog", list(SCHEMAS), key="catalog_name")
table = cats[name]
st.caption(f"{table.path.name}: {table.df.height} rows. Units come from the headers; every row has a source.")
raw = table.raw.decode("utf-8-sig")
body = "\n".join(line for line in raw.splitlines() if not line.startswith("#"))
original = pl.read_csv(body.encode(), infer_schema=False)
edited = st.data_editor(original, num_rows="dynamic", key=f"editor_{name}", width="stretch", hide_index=True)
if not edited.equals(original):
    apply_catalog(name, edited.write_csv().encode())
upload = st.file_uploader(
    f"Replace {table.path.name} with your CSV (at most 2 MiB)", type=["csv"], key=f"upload_{name}"
)
if upload is not None:
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"{upload.name} is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes.")
    elif st.session_state.get(f"applied_{name}") != data:
        apply_catalog(name, data)
c = st.columns(2)
c[0].download_button(
    f"Download {table.path.name}",
    safe_csv(pl.read_csv(body.encode(), infer_schema=False)),
    file_name=table.path.name,
    mime="text/csv",
)
if st.session_state.overrides and c[1].button("Restore the default catalogs"):
    st.session_state.overrides = {}
    st.rerun()
