"""Explore: the study's sensitivity analyses for the selected model (memory bandwidth, collective
latency), the memory-technology table, the UTPS-target question, and the what-if designs against
the best DRAM design."""

import polars as pl
import streamlit as st

from app_support import OBJECTIVE_LABELS, catalogs_for, current, overrides, table
from perfmodel.api.setup import prepare
from perfmodel.api.sweeps import bandwidth_sweep, latency_sweep
from tco.questions.study import memory_table, utps_target, versus_best_dram, what_if_designs
from tco.reporting.charts import sweep_chart

s = st.session_state
cats = catalogs_for(overrides())
st.title("Explore the limits")
ev, _ = current()
st.caption(
    f"The study's sweeps use its limit model (decode only, peak figures) at {ev.context:,} tokens of context; "
    f"the what-if comparison below uses the question in force ({ev.workload})."
)
TPS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
for key, valid in (("sweep_base", cats["hardware"].names()), ("sweep_scenario", cats["scenarios"].names())):
    if s[key] not in valid:
        s[key] = valid[0]
s.sweep_tps = [tp for tp in s.sweep_tps if tp in TPS]
c = st.columns(3)
base = c[0].selectbox("Base chip", cats["hardware"].names(), key="sweep_base")
scenario = c[1].selectbox("Scenario of these sweeps", cats["scenarios"].names(), key="sweep_scenario")
tps = c[2].multiselect("Tensor parallelism", TPS, key="sweep_tps")
if not tps:
    st.info("Pick at least one tensor-parallel size.")
    st.stop()
setup = prepare(cats, scenario, models=[s.model], hardware=[base])
common = {"base": base, "tps": tps, "context": ev.context, "setup": setup}
c = st.columns(2)
c[0].altair_chart(
    sweep_chart(
        bandwidth_sweep([s.model], **common),
        "mem_bw_tbs",
        "memory bandwidth per chip [TB/s]",
        f"{s.model}: tokens/s per user against memory bandwidth",
    ),
    width="stretch",
)
lat = latency_sweep([s.model], target_utps=max(s.min_utps, 1.0), **common)
c[1].altair_chart(
    sweep_chart(
        lat,
        "sync_us",
        "latency of one collective [us]",
        f"{s.model}: tokens/s per user against collective latency",
    ),
    width="stretch",
)
per_tp = lat.group_by("tp", maintain_order=True).agg(
    pl.col("crossover_us").first(), pl.col("needed_us").first()
)
for r in per_tp.iter_rows(named=True):
    need = r["needed_us"]
    need_text = (
        "no latency reaches it (memory or compute alone is too slow)" if need != need else f"{need:.2f} us"
    )
    st.markdown(
        f"- TP{r['tp']}: collectives overtake memory time above **{r['crossover_us']:.2f} us** per collective; "
        f"{max(s.min_utps, 1.0):,.0f} tokens/s per user needs at most **{need_text}**"
    )
st.subheader("Memory technologies at 128 chips")
designs = [
    d
    for d in ("xpu-hbm3", "xpu-hbm4", "xpu-3d-dram", "xpu-sram", "xpu-cows")
    if d in cats["hardware"].names()
]
table(memory_table(s.model, designs, 128, ev.context, scenario, cats))
st.subheader("Who reaches 10,000 tokens/s per user?")
if st.button("Rank every design at 10,000 tokens/s per user for this model"):
    target = utps_target(10000, [s.model], [ev.context], cats, region=s.region)
    table(target)
st.subheader("What-if designs against the best DRAM design")
st.caption(
    "Each what-if design (vendor 'What-if design' in hardware.csv) at its best configuration under "
    "the floor, against the best conventional DRAM design that meets it. Advantage above 1: the "
    "what-if design is better (more tokens per $ or per joule, fewer gCO2e per million tokens)."
)
picked = st.multiselect(
    "Designs to compare", cats["hardware"].names(), default=what_if_designs(cats) + ["xpu-3d-dram"]
)
if picked:
    vs = versus_best_dram(ev, picked, [s.min_utps])
    table(
        vs.pivot(on="objective", index="hardware", values="advantage"),
        {
            "tokens_per_usd": st.column_config.NumberColumn("advantage in tokens per $", format="%.2fx"),
            "tokens_per_joule": st.column_config.NumberColumn("advantage in tokens per J", format="%.2fx"),
            "gco2e_per_mtok": st.column_config.NumberColumn("advantage in gCO2e per Mtok", format="%.2fx"),
        },
    )
    refs = vs.unique("objective", keep="first", maintain_order=True)
    st.markdown(
        "Best DRAM design it is compared with: "
        + "; ".join(
            f"{OBJECTIVE_LABELS[r['objective']]}: {r['reference'] or 'none meets the floor'}"
            for r in refs.iter_rows(named=True)
        )
    )
    missing = vs.filter(pl.col("reason") != "").unique("hardware", keep="first")
    for r in missing.iter_rows(named=True):
        st.markdown(f"- {r['hardware']}: {r['reason']}")
