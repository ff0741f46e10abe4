"""Trade-off: from a deployable starting point, what running a little slower per user buys."""

import polars as pl
import streamlit as st

from app_support import OBJECTIVE_LABELS, assumptions_line, colours, current, shown_designs, table
from tco.questions.tradeoffs import (
    CONFIG_KEYS,
    METRIC_WORDS,
    default_max_chips,
    deployable,
    frontier,
    tradeoff,
)
from tco.reporting.buyer_text import buyer_order, design_text, no_gain_reason
from tco.reporting.charts import frontier_chart

ev, ranked = current()
s = st.session_state
st.title("Trade-off: a little slower per user, much more efficient")
st.caption(assumptions_line(ev))
fits = set(ev.frame.filter("fits")["hardware"].cast(pl.String).unique().to_list())
# the designs in the buyer's order (Compare's answer first), each labelled as Compare labels it
fitting = buyer_order(shown_designs(ranked)).filter(pl.col("hardware").is_in(fits))
if not fitting.height:
    st.warning(f"{s.model} fits on no design shown ({ev.workload}); show more designs in the sidebar.")
    st.stop()
labels = dict(fitting.select("hardware", design_text()).iter_rows())
designs = list(labels)
if s.design not in designs:
    s.design = designs[0]
c = st.columns(4)
c[0].selectbox("Design", designs, key="design", format_func=labels.get)
# Compare's configuration of the design: the default starting point, within the default chip limit
chosen = fitting.filter(pl.col("hardware") == s.design).row(0, named=True)
ranked_config = dict(zip(CONFIG_KEYS, (chosen[k] for k in CONFIG_KEYS), strict=True))
domain = max(default_max_chips(ev, s.design), chosen["chips"] if chosen["meets_floor"] else 0)
c[1].number_input(
    "Largest instance [chips]",
    value=None,
    min_value=1,
    max_value=1 << 16,
    placeholder=f"{domain} (one domain)",
    key="max_chips",
    help="Every point is searched among instances of at most this many chips; empty: one scale-up "
    "domain (server or rack), or the fewest chips that hold the model when one domain cannot.",
)
limit = s.max_chips or domain
rows = deployable(ev, s.design, limit)
if not rows.height:
    st.warning(f"{s.model} fits on no instance of {s.design} with at most {limit:,} chips; raise the limit.")
    st.stop()
# a configuration travels in the URL as "tp-pp-ep-batch"
options = rows.unique(CONFIG_KEYS, keep="first", maintain_order=True)
picks = ["-".join(map(str, r)) for r in options.select(*CONFIG_KEYS).iter_rows()]
speed = dict(zip(picks, options["utps"], strict=True))
configs = (["ranked"] if chosen["meets_floor"] and chosen["chips"] <= limit else []) + ["fastest", *picks]
if s.baseline not in configs:
    s.baseline = configs[0]
c[2].selectbox(
    "Starting point",
    configs,
    key="baseline",
    format_func=lambda k: (
        f"Compare's pick ({chosen['utps']:,.0f} tokens/s per user)"
        if k == "ranked"
        else "the fastest instance"
        if k == "fastest"
        else "TP {} x PP {} x EP {}, batch {}".format(*k.split("-")) + f" ({speed[k]:,.0f} tokens/s per user)"
    ),
)
steps = [i / 100 for i in range(51)]
s.slowdown = min(steps, key=lambda x: abs(x - s.slowdown))
c[3].select_slider(
    "Slowdown accepted", steps, key="slowdown", format_func=lambda x: f"{x:.0%} of the starting speed"
)
if s.baseline == "fastest":
    picked = None
elif s.baseline == "ranked":
    picked = ranked_config
else:
    picked = dict(zip(CONFIG_KEYS, map(int, s.baseline.split("-")), strict=True))
t = tradeoff(ev, s.design, s.slowdown, s.objective, max_chips=limit, baseline=picked)
st.success(t["sentence"])
reason = no_gain_reason(t)
if reason:
    st.info(reason)
gains = {s.objective: t["gain"]} | {
    m: t["gain_stps" if m == "stps_per_chip" else f"gain_{m}"]
    for m in ("tokens_per_usd", "tokens_per_joule", "stps_per_chip", "gco2e_per_mtok")
    if m != s.objective
}
cols = st.columns(len(gains))
for col, (metric, gain) in zip(cols, gains.items(), strict=True):
    verb, words = METRIC_WORDS[metric]
    more = "more" if verb == "raises" else "lower"
    col.metric(f"{more} {words}", f"{gain:.2f}x", help=f"the trade-off point {verb} {words} this many times")
points = frontier(rows, s.objective)
marks = pl.DataFrame(
    [
        {"utps": t[k]["utps"], s.objective: t[k][s.objective], "label": label}
        for k, label in (("baseline", "start"), ("tradeoff", f"{s.slowdown:.0%} slower"))
    ]
)
st.altair_chart(
    frontier_chart(
        points,
        s.objective,
        f"{s.design}, instances of at most {limit:,} chips: tokens/s per user against {OBJECTIVE_LABELS[s.objective]}",
        marks,
        palette=colours(ev),
    ),
    width="stretch",
)
table(
    pl.DataFrame([t["baseline"], t["tradeoff"], t["batch_only"]]).select(
        pl.Series("point", ["starting point", "trade-off", "batching alone (starting point's chips)"]),
        pl.format("{} (TP {} x PP {} x EP {})", "chips", "tp", "pp", "ep").alias("instance"),
        "batch",
        "users",
        "utps",
        "usd_per_mtok",
        "tokens_per_usd",
        "tokens_per_joule",
        "gco2e_per_mtok",
    )
)
