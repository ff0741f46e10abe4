"""Compare: the best chip a buyer can order, every design's curves, and the ranking under the floor."""

import polars as pl
import streamlit as st

from app_support import (
    COLUMNS,
    STATE,
    assumptions_line,
    colours,
    current,
    ranking_tables,
    shown_designs,
    spread,
    table,
)
from tco.questions.cost_curves import buyer_curves
from tco.reporting.buyer_text import buyer_answer, buyer_order, can_buy, chips, design_text, own_against_rent
from tco.reporting.charts import (
    METRIC_LABELS,
    buyer_chart,
    carbon_breakdown_chart,
    cost_breakdown_chart,
    efficiency_bars,
)
from tco.reporting.formatting import si, usd

#: The ranking's columns shown first, with their widths [px], so the table fits a 968 px frame
#: without scrolling; every column is under "Every column of the ranking".
HEADLINE = {
    "rank": 40,
    "design": 180,
    "usd_per_mtok": 150,
    "usd_per_mtok_p10": 110,
    "usd_per_mtok_p90": 110,
    "utps": 130,
    "instance": 170,
}
SHORT_LABELS = {"usd_per_mtok_p10": "p10 [$/Mtok]", "usd_per_mtok_p90": "p90 [$/Mtok]"}
#: The charts behind each selector, one drawn at a time: the curves' and the bars' metrics, and
#: the selected design's breakdowns.
CURVES = ("usd_per_mtok", "stps_per_chip")
EFFICIENCIES = ("tokens_per_usd", "tokens_per_joule")
BREAKDOWNS = {"cost": cost_breakdown_chart, "carbon": carbon_breakdown_chart}


def pick(key: str, label: str, options, format_func=METRIC_LABELS.get) -> str:
    """The option of ``options`` selected in a segmented control kept in ``key`` (and the URL); a
    value that is not an option (a link's) gives the default."""
    if st.session_state[key] not in options:
        st.session_state[key] = STATE[key][1]
    st.segmented_control(label, options, key=key, format_func=format_func, required=True)
    return st.session_state[key]


ev, ranked = current()
s = st.session_state
st.title("Compare designs")
st.caption(assumptions_line(ev))
shown = shown_designs(ranked)
meeting = shown.filter("meets_floor")
(st.success if meeting.height else st.warning)(buyer_answer(ranked, s.model, s.min_utps, s.objective))
# p10/p90 of $/Mtok over the inputs' low/high ranges, and each design's chance of being the cheapest
spreads = spread()
buyable = meeting.filter(can_buy()).join(spreads, on="hardware", how="left")
if buyable.height:
    top = buyable.row(0, named=True)
    c = st.columns(4)
    c[0].metric(
        "Cost per million tokens", usd(top["usd_per_mtok"]), help=f"best chip you can buy: {top['hardware']}"
    )
    if top["usd_per_mtok_p10"] is not None:
        c[0].caption(f"p10-p90: {usd(top['usd_per_mtok_p10'])} to {usd(top['usd_per_mtok_p90'])}")
    c[1].metric("Carbon per million tokens", f"{top['gco2e_per_mtok']:,.0f} gCO2e")
    c[2].metric("Tokens per joule", f"{top['tokens_per_joule']:.3g}")
    c[3].metric("Chips per instance", f"{top['chips']:,}")

st.subheader("Every design at every speed")
st.caption(
    "Each line is one design's best configurations, from the fastest per user down; hover a point for "
    "its configuration. Dashed: announced or hypothetical. The red rule is your floor."
)
curve = pick("curve", "Curve", CURVES)
frame = ev.frame.filter(pl.col("availability").is_in(s.availability.split(",")))
st.altair_chart(
    buyer_chart(buyer_curves(frame, (curve,)), curve, s.min_utps, palette=colours(ev)), width="stretch"
)

meet_table, miss_table = ranking_tables(shown.join(spreads, on="hardware", how="left"))
st.subheader(f"Designs that meet the floor ({meet_table.height})")
st.caption(
    "The chips you can buy first, in rank order; then designs you can only rent, announced and hypothetical "
    "ones. p10/p90: the cost over the inputs' low and high ranges."
)
table(
    meet_table.select(c for c in HEADLINE if c in meet_table.columns),
    {
        c: COLUMNS[c] | {"width": w, "label": SHORT_LABELS.get(c, COLUMNS[c]["label"])}
        for c, w in HEADLINE.items()
    },
)
if miss_table.height:
    st.subheader(f"Designs that miss the floor ({miss_table.height})")
    table(miss_table)
with st.expander("Every column of the ranking"):
    table(meet_table)
if not meeting.height:
    st.info("No design shown meets the floor: lower the floor, shorten the requests, or show more designs.")
    st.stop()
st.subheader("Owning against renting")
st.caption(
    "Each design that meets the floor, priced as an owner (all-in cost per chip-hour) and at the published "
    "rental prices (rentals.csv); empty where no one rents it."
)
own, rent = (current(basis)[1] for basis in ("own", "rent"))
owned = buyer_order(shown_designs(own))
both = own_against_rent(owned, shown_designs(rent)).drop("availability")
names = dict(owned.select("hardware", design_text()).iter_rows())  # rent-only chips marked as above
table(
    both.with_columns(
        pl.col("hardware").replace_strict(names),
        *(pl.col(c).map_elements(usd, return_dtype=pl.String, skip_nulls=False) for c in both.columns[1:]),
    )
)
st.altair_chart(efficiency_bars(shown, pick("efficiency", "Efficiency", EFFICIENCIES)), width="stretch")
labels = dict(buyer_order(meeting).select("hardware", design_text()).iter_rows())
designs = list(labels)
if s.design not in designs:
    s.design = designs[0]
st.selectbox("Breakdown of the selected design", designs, key="design", format_func=labels.get)
row = meeting.filter(pl.col("hardware") == s.design)
r = row.row(0, named=True)
st.markdown(
    f"**{labels[s.design]}**: {chips(r['chips'])} (TP {r['tp']} x PP {r['pp']} x "
    f"EP {r['ep']}), batch {r['batch']}, {r['utps']:,.0f} tokens/s per user, {si(r['stps'])} tokens/s in all; "
    f"chip price {usd(r['price_usd'])} ({r['price_type']}); limited by "
    f"{r['bottleneck']}."
)
breakdown = pick("breakdown", "Breakdown", list(BREAKDOWNS), str.capitalize)
st.altair_chart(BREAKDOWNS[breakdown](row), width="stretch")
