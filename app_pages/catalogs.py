"""Catalogs: view, edit (validated on every edit), upload and download each CSV.

A download is the file in force, byte for byte (its ``#`` lines with units and sources included);
after an upload or an edit it is the new file.
"""

import polars as pl
import streamlit as st

from app_support import MAX_UPLOAD_BYTES, apply_catalog, catalogs_for, overrides
from perfmodel.catalog.economics_schemas import SCHEMAS

cats = catalogs_for(overrides())
s = st.session_state
st.title("Catalogs")
st.selectbox("Catalog", list(SCHEMAS), key="catalog_name")
name = s.catalog_name
table = cats[name]
st.caption(f"{table.path.name}: {table.df.height} rows. Units come from the headers; every row has a source.")
lines = table.raw.decode("utf-8-sig").splitlines()
comments = [line for line in lines if line.startswith("#")]
body = "\n".join(line for line in lines if not line.startswith("#")).encode()
original = pl.read_csv(body, infer_schema=False).fill_null("")  # an empty cell reads empty, not "None"
editor = (
    f"editor_{name}_{cats.digest()}"  # a new editor for each version, so an applied edit is not re-applied
)
edited = st.data_editor(original, num_rows="dynamic", key=editor, width="stretch", hide_index=True)
if not edited.equals(original) and apply_catalog(name, "\n".join([*comments, edited.write_csv()]).encode()):
    st.rerun()
upload = st.file_uploader(
    f"Replace {table.path.name} with your CSV (at most 2 MiB)", type=["csv"], key=f"upload_{name}"
)
if upload is not None:
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"{upload.name} is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes.")
    elif s.get(f"applied_{name}") != data and apply_catalog(name, data):
        st.rerun()
c = st.columns(2)
c[0].download_button(f"Download {table.path.name}", table.raw, file_name=table.path.name, mime="text/csv")
if s.overrides and c[1].button("Restore the default catalogs"):
    s.overrides = {}
    st.rerun()
