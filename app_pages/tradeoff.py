"""Trade-off: from a deployable starting point, what running a little slower per user buys."""

import polars as pl
import streamlit as st

from app_support import OBJECTIVE_LABELS, assumptions_line, current, table
from tco.questions.tradeoffs import (
    CONFIG_KEYS,
    METRIC_WORDS,
    default_max_chips,
    deployable,
    frontier,
    tradeoff,
)
from tco.reporting.buyer_text import design_label
from tco.reporting.charts import frontier_chart

ev, ranked = current()
s = st.session_state
st.title("Trade-off: a little slower per user, much more efficient")
st.caption(assumptions_line(ev))
fits = set(ev.frame.filter("fits")["hardware"].cast(pl.String).unique().to_list())
fitting = ranked.filter(pl.col("hardware").is_in(fits))
if not fitting.height:
    st.warning(f"{s.model} fits on no design ({ev.workload}).")
    st.stop()
labels = dict(fitting.select("hardware", "availability").iter_rows())
designs = fitting.sort(pl.col("availability") != "shipping", maintain_order=True)["hardware"].to_list()
if s.design not in designs:
    s.design = designs[0]
c = st.columns(4)
c[0].selectbox("Design", designs, key="design", format_func=lambda h: design_label(h, labels[h]))
domain = default_max_chips(ev, s.design)
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
configs = ["fastest"] + ["-".join(map(str, r)) for r in options.select(*CONFIG_KEYS).iter_rows()]
if s.baseline not in configs:
    s.baseline = "fastest"
speed = dict(zip(configs[1:], options["utps"], strict=True))
c[2].selectbox(
    "Starting point",
    configs,
    key="baseline",
    format_func=lambda k: (
        "the fastest instance"
        if k == "fastest"
        else "TP {} x PP {} x EP {}, batch {}".format(*k.split("-")) + f" ({speed[k]:,.0f} tokens/s per user)"
    ),
)
steps = [i / 100 for i in range(51)]
s.slowdown = min(steps, key=lambda x: abs(x - s.slowdown))
c[3].select_slider(
    "Slowdown accepted", steps, key="slowdown", format_func=lambda x: f"{x:.0%} of the starting speed"
)
picked = (
    None if s.baseline == "fastest" else dict(zip(CONFIG_KEYS, map(int, s.baseline.split("-")), strict=True))
)
t = tradeoff(ev, s.design, s.slowdown, s.objective, max_chips=limit, baseline=picked)
st.success(t["sentence"])
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
