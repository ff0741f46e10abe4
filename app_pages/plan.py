"""Plan: from a demand forecast to the fleet to buy, with its TCO, power and carbon month by month."""

from pathlib import Path

import polars as pl
import streamlit as st

from app_support import (
    AVAILABILITY_LABELS,
    COST_BASES,
    MODE_LABELS,
    STEP_SYMBOL,
    STEP_WORDS,
    accept_forecast,
    catalogs_for,
    overrides,
    question,
    site_changes,
    site_figures,
    site_for,
    split_csv,
    table,
)
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
def evaluations(overrides, streams, question: Question, site_changes):
    """Each (model, isl, osl) evaluated once under the sidebar's question (its mode, cost basis,
    scenario, power model and site; cached)."""
    cats = catalogs_for(overrides)
    frame = pl.DataFrame(list(streams), schema=["model", "isl", "osl"], orient="row")
    asked = question.but(site=site_for(cats, question.site, site_changes), catalogs=cats)
    # a chip no one can buy is not in an owner's fleet (Compare's rule: tco.reporting.buyer_text)
    return evaluate_streams(frame, asked)


s = st.session_state
cats = catalogs_for(overrides())
st.title("Plan a fleet for a demand forecast")
st.caption(
    "Each row: a month, a model, its mean output tokens per day, input and output lengths, the UTPS "
    "floor and the busiest hour over the mean. The fleet serves each month's peak and keeps what it buys. "
    "The sidebar's performance model, cost basis, site and designs shown apply; models, lengths and floors "
    "come from the forecast."
)
upload = st.file_uploader("Upload a forecast CSV (at most 2 MiB)", type=["csv"], key="plan_upload")
if upload is not None:
    accept_forecast(upload.name, upload.getvalue(), cats)
try:
    _, original = split_csv(s.setdefault("plan_csv", EXAMPLE.read_bytes()), "demand.csv")
except CatalogError as e:  # only a checked forecast is kept, so this is a defence, not a path
    st.error(f"The forecast could not be read ({e.problems[0]}); the example is shown instead.")
    s.plan_csv = EXAMPLE.read_bytes()
    _, original = split_csv(s.plan_csv, "demand.csv")
edited = st.data_editor(original, num_rows="dynamic", key="plan_editor", width="stretch", hide_index=True)
try:
    forecast = load_demand(edited.write_csv().encode(), cats, file="demand.csv")
except CatalogError as e:
    st.error("The forecast has problems:\n\n" + "\n".join(f"- {p}" for p in e.problems))
    st.stop()
c = st.columns(4)
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
draws = st.number_input(
    "Uncertainty draws per workload (0: off)", 0, 20_000, value=0, step=500, key="plan_draws"
)
demand = demand_arrays(forecast, int(horizon)).scaled(scale)
streams = tuple(demand.streams.select("model", "isl", "osl").unique().sort("model", "isl", "osl").rows())
evaluated = evaluations(overrides(), streams, question(), site_changes())
result = plan(
    demand,
    evaluated,
    headroom=Headroom.parse(headroom),
    max_mw=max_mw or None,
    availability=s.availability.split(","),
    draws=int(draws) or None,
)
st.success(plan_sentence(result))
st.caption(
    f"Assumptions in force: {MODE_LABELS[s.mode]}; cost basis {COST_BASES[s.cost_basis]}; "
    f"site {s.region}: {site_figures(next(iter(evaluated.values())))}."
)
st.caption(
    f"Designs: {AVAILABILITY_LABELS[s.availability]} (sidebar), "
    + (
        "rented at the published prices."
        if s.cost_basis == "rent"
        else "bought and owned; chips that are only rented (rent only on Compare) are left out."
    )
    + " Purchases: the cash paid for the chips bought in the horizon. TCO: what the horizon costs, the "
    "purchases recovered month by month over the hardware's lifetime at the cost of capital, plus energy, "
    "facility, maintenance and operations; chips outlive the horizon, so the TCO can be below the purchases."
)
# Columns without a figure (the p10/p90 spread when uncertainty is off) are left out, not shown empty.
shown_columns = [c for c in PLAN_COLUMNS if c in result.plans.columns and result.plans[c].null_count() == 0]
table(result.plans.select(shown_columns), PLAN_COLUMNS)
fleets = result.plans["fleet"].to_list()
if fleets:
    if s.get("plan_fleet") not in fleets:
        s.plan_fleet = fleets[0]
    st.altair_chart(plan_chart(result.monthly, st.selectbox("Fleet to chart", fleets, key="plan_fleet")))
for r in result.unserved.iter_rows(named=True):
    why = r["reason"].replace(STEP_SYMBOL, STEP_WORDS)
    st.caption(f"{r['hardware']} cannot serve the forecast: {why}")
c = st.columns(2)
c[0].download_button("Monthly plan of every fleet (CSV)", safe_csv(result.monthly), "plan.csv", "text/csv")
c[1].download_button("Forecast (CSV)", safe_csv(edited), "demand.csv", "text/csv")
