"""Plan: from a demand forecast to the fleet to buy, with its TCO, power and carbon month by month."""

from pathlib import Path

import polars as pl
import streamlit as st

from app_support import MAX_UPLOAD_BYTES, catalogs_for, overrides, site_changes, site_for, table
from perfmodel.inputs import CatalogError
from perfmodel.outputs import safe_csv
from tco.planning.demand import demand_arrays, load_demand
from tco.planning.fleet import DEFAULT_HEADROOM, Headroom, evaluate_streams, plan
from tco.questions.question import Question
from tco.reporting.fleet_charts import plan_chart
from tco.reporting.fleet_text import plan_sentence

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demand.csv"
HEADROOMS = (DEFAULT_HEADROOM, "0", "0.1", "0.2", "0.3")
PLAN_COLUMNS = {
    "fleet": st.column_config.TextColumn("fleet"),
    "servers": st.column_config.NumberColumn("servers (peak)"),
    "chips": st.column_config.NumberColumn("chips (peak)"),
    "racks": st.column_config.NumberColumn("racks (peak)"),
    "capex_usd": st.column_config.NumberColumn("purchases [$]", format="compact"),
    "tco_usd": st.column_config.NumberColumn("TCO [$]", format="compact"),
    "tco_usd_p10": st.column_config.NumberColumn("TCO p10 [$]", format="compact"),
    "tco_usd_p90": st.column_config.NumberColumn("TCO p90 [$]", format="compact"),
    "usd_per_mtok": st.column_config.NumberColumn("$ per Mtok", format="$%.4f"),
    "peak_mw": st.column_config.NumberColumn("peak MW", format="%.2f"),
    "tco2e": st.column_config.NumberColumn("tCO2e", format="%.0f"),
    "meets_demand": st.column_config.CheckboxColumn("meets demand"),
    "reason": st.column_config.TextColumn("why not", width="large"),
}


@st.cache_resource(max_entries=16, show_spinner="Searching every chip's configurations for each workload…")
def evaluations(overrides, streams, mode, cost_basis, region, scenario, power_model, site_changes):
    """Each (model, isl, osl) evaluated once per catalog set, site, mode and cost basis (cached)."""
    cats = catalogs_for(overrides)
    site = site_for(cats, region, site_changes)
    frame = pl.DataFrame(list(streams), schema=["model", "isl", "osl"], orient="row")
    asked = Question(
        mode=mode, cost_basis=cost_basis, scenario=scenario, power_model=power_model, site=site, catalogs=cats
    )
    return evaluate_streams(frame, asked)


s = st.session_state
cats = catalogs_for(overrides())
st.title("Plan a fleet for a demand forecast")
st.caption(
    "Each row: a month, a model, its mean output tokens per day, input and output lengths, the UTPS "
    "floor and the busiest hour over the mean. The fleet serves each month's peak and keeps what it buys. "
    "The sidebar's site applies; models, lengths and floors come from the forecast."
)
upload = st.file_uploader("Upload a forecast CSV (at most 2 MiB)", type=["csv"], key="plan_upload")
if upload is not None and len(upload.getvalue()) <= MAX_UPLOAD_BYTES:
    s.plan_csv = upload.getvalue()
elif upload is not None:
    st.error(f"{upload.name} is {len(upload.getvalue()):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes.")
raw = s.setdefault("plan_csv", EXAMPLE.read_bytes()).decode("utf-8-sig")
body = "\n".join(line for line in raw.splitlines() if not line.startswith("#"))
original = pl.read_csv(body.encode(), infer_schema=False)
edited = st.data_editor(original, num_rows="dynamic", key="plan_editor", width="stretch", hide_index=True)
try:
    forecast = load_demand(edited.write_csv().encode(), cats, file="demand.csv")
except CatalogError as e:
    st.error("The forecast has problems:\n\n" + "\n".join(f"- {p}" for p in e.problems))
    st.stop()
c = st.columns(5)
span = len(demand_arrays(forecast).months)
horizon = c[0].number_input("Horizon [months]", 1, 240, value=span, key="plan_horizon")
max_mw = c[1].number_input("Power cap [MW] (0: none)", 0.0, 10_000.0, value=0.0, step=0.5, key="plan_max_mw")
headroom = c[2].selectbox(
    "Headroom for failures",
    HEADROOMS,
    key="plan_headroom",
    format_func=lambda h: (
        "n+1: one spare scale-up domain" if h == DEFAULT_HEADROOM else f"{float(h):.0%} more"
    ),
)
scale = c[3].number_input(
    "Demand x (forecast error)", 0.1, 10.0, value=1.0, step=0.1, key="plan_scale", format="%.2f"
)
mode = c[4].selectbox("Performance model", ("calibrated", "limit"), key="plan_mode")
c = st.columns(3)
basis = c[0].radio("Cost basis", ("own", "rent"), horizontal=True, key="plan_cost_basis")
shipping = c[1].checkbox("Chips that ship today only", key="plan_shipping")
draws = c[2].number_input(
    "Uncertainty draws per workload (0: off)", 0, 20_000, value=0, step=500, key="plan_draws"
)
demand = demand_arrays(forecast, int(horizon)).scaled(scale)
streams = tuple(demand.streams.select("model", "isl", "osl").unique().sort("model", "isl", "osl").rows())
evaluated = evaluations(
    overrides(), streams, mode, basis, s.region, s.scenario, s.power_model, site_changes()
)
result = plan(
    demand,
    evaluated,
    headroom=Headroom.parse(headroom),
    max_mw=max_mw or None,
    availability=("shipping",) if shipping else None,
    draws=int(draws) or None,
)
st.success(plan_sentence(result))
# Columns without a figure (the p10/p90 spread when uncertainty is off) are left out, not shown empty.
shown_columns = [c for c in PLAN_COLUMNS if c in result.plans.columns and result.plans[c].null_count() == 0]
table(result.plans.select(shown_columns), PLAN_COLUMNS)
fleets = result.plans["fleet"].to_list()
if fleets:
    if s.get("plan_fleet") not in fleets:
        s.plan_fleet = fleets[0]
    st.altair_chart(plan_chart(result.monthly, st.selectbox("Fleet to chart", fleets, key="plan_fleet")))
for r in result.unserved.iter_rows(named=True):
    why = r["reason"].replace("of T_batch", "of the decode step")  # the step time in words
    st.caption(f"{r['hardware']} cannot serve the forecast: {why}")
c = st.columns(2)
c[0].download_button("Monthly plan of every fleet (CSV)", safe_csv(result.monthly), "plan.csv", "text/csv")
c[1].download_button("Forecast (CSV)", safe_csv(edited), "demand.csv", "text/csv")
