"""Catalogs: view, edit (validated on every edit), upload and download each CSV.

A download is the file in force (its ``#`` lines with units and sources included), with every text
cell a spreadsheet would read as a formula neutralized as the ranking CSV's are
(``perfmodel.outputs.neutralize``); after an upload or an edit it is the new file. Several files
uploaded together (a new chip's hardware and economics rows) are validated as one change.
"""

import polars as pl
import streamlit as st

from app_support import (
    MAX_UPLOAD_BYTES,
    apply_catalog,
    apply_uploads,
    catalogs_for,
    overrides,
    safe_catalog_bytes,
    split_csv,
)
from perfmodel.catalog.economics_schemas import SCHEMAS
from perfmodel.inputs import CatalogError
from tco.designs.freshness import row_dates

cats = catalogs_for(overrides())
s = st.session_state
st.title("Catalogs")
st.selectbox("Catalog", list(SCHEMAS), key="catalog_name")
name = s.catalog_name
table = cats[name]
st.caption(f"{table.path.name}: {table.df.height} rows. Units come from the headers; every row has a source.")
try:
    comments, original = split_csv(table.raw, table.path.name)
except CatalogError as e:  # the loader read it, so this is not expected; the page still works
    st.error("This file cannot be shown as a table: " + "; ".join(map(str, e.problems)))
    comments, original = None, None
if original is not None:
    editor = (
        f"editor_{name}_{cats.digest()}"  # a new editor for each version: an applied edit is not re-applied
    )
    edited = st.data_editor(original, num_rows="dynamic", key=editor, width="stretch", hide_index=True)
    if not edited.equals(original) and apply_catalog(
        name, "\n".join([*comments, edited.write_csv()]).encode()
    ):
        st.rerun()
with st.expander("How fresh each row is (its price date, else the latest date its source names)"):
    ages = (
        row_dates(cats)
        .filter(pl.col("file") == table.path.name)
        .select(
            pl.col("name").alias("row"),
            pl.col("date").fill_null("no date"),
            pl.col("dated_by").fill_null("–").alias("dated by"),
            pl.col("age_months").cast(pl.String).fill_null("unknown").alias("age [months]"),
        )
    )
    st.dataframe(ages, hide_index=True, width="stretch")
upload = st.file_uploader(
    f"Replace {table.path.name} with your CSV (at most 2 MiB)", type=["csv"], key=f"upload_{name}"
)
if upload is not None:
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"{upload.name} is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes.")
    elif s.get(f"applied_{name}") != data and apply_catalog(name, data):
        st.rerun()
several = st.file_uploader(
    "Or upload several catalog files as one change (e.g. a new chip's hardware.csv and "
    "hardware_economics.csv); each is named by its file name",
    type=["csv"],
    accept_multiple_files=True,
    key="upload_several",
)
staged = {f.name: f.getvalue() for f in several or ()}
if staged and s.get("applied_several") != staged and apply_uploads(staged):
    s.applied_several = staged
    st.rerun()
c = st.columns(2)
c[0].download_button(
    f"Download {table.path.name}", safe_catalog_bytes(table), file_name=table.path.name, mime="text/csv"
)
if s.overrides and c[1].button("Restore the default catalogs"):
    s.overrides = {}
    st.rerun()
