"""Streamlit app: compare LLM inference hardware by cost, energy and carbon.

A thin layer: widgets in, library calls (``perfmodel``, ``tco``) out, Altair charts drawn.
The selection lives in the URL query parameters, so a link reproduces the view.

    streamlit run app.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from perfmodel.catalog import CatalogError, InvalidInput, UnknownName
from perfmodel.catalog_set import Catalogs
from tco.catalogs import load_catalogs
from tco.charts import (
    carbon_breakdown_chart, cost_breakdown_chart, efficiency_bars, frontier_chart, memory_chart, time_breakdown_chart,
)
from tco.economics import DEFAULT_REGION, load_site
from tco.export import safe_csv
from tco.formatting import si, usd
from tco.rank import OBJECTIVES, Evaluation, evaluate, select
from tco.report import answer_sentence, report
from tco.schemas import SCHEMAS
from tco.tradeoff import METRICS, frontier, tradeoff

MAX_UPLOAD_BYTES = 2 * 2**20
CONTEXTS = (1024, 4096, 8192, 32768, 131072)
SITE_FIELDS = {  # field -> (label, factor from base units to the unit shown)
    "pue": ("PUE", 1.0),
    "energy_price": ("electricity [USD/kWh]", 3.6e6),
    "lifetime": ("hardware lifetime [years]", 1 / 31557600),
    "utilization": ("utilization [fraction of hours serving]", 1.0),
}
SELECTION = {  # session key -> (query-parameter parser, default)
    "model": (str, "llama3-70b"),
    "context": (int, 4096),
    "min_utps": (float, 30.0),
    "region": (str, DEFAULT_REGION),
    "objective": (str, "tokens_per_usd"),
    "scenario": (str, "published"),
    "power_model": (str, "activity"),
    "design": (str, ""),
    "slowdown": (float, 0.10),
}


@st.cache_resource(max_entries=16, show_spinner=False)
def catalogs_for(overrides: tuple[tuple[str, bytes], ...]) -> Catalogs:
    return load_catalogs(overrides=dict(overrides))


@st.cache_resource(max_entries=64, show_spinner="Searching every design's parallelism and batch…")
def evaluation(overrides, model, context, region, scenario, power_model, site_changes) -> Evaluation:
    cats = catalogs_for(overrides)
    site = load_site(cats, region).varied(**dict(site_changes))
    return evaluate(model, context, catalogs=cats, scenario=scenario, power_model=power_model, site=site)


def overrides() -> tuple[tuple[str, bytes], ...]:
    return tuple(sorted(st.session_state.setdefault("overrides", {}).items()))


def site_changes() -> tuple:
    changes = st.session_state.setdefault("site_changes", {}).get(st.session_state.region, {})
    return tuple(sorted(changes.items()))


def init_selection() -> None:
    """Session state from the URL on the first run; defaults otherwise."""
    params = st.query_params
    for key, (parse, default) in SELECTION.items():
        if key not in st.session_state:
            try:
                st.session_state[key] = parse(params[key]) if key in params else default
            except ValueError:
                st.session_state[key] = default


def sync_url() -> None:
    st.query_params.update({k: str(st.session_state[k]) for k in SELECTION if st.session_state.get(k) != ""})


def sidebar(cats: Catalogs) -> None:
    """The question every page answers: model, context, service level, site, objective."""
    models = cats["models"].names()
    regions = cats["datacenter"].names()
    for key, valid in (("model", models), ("region", regions), ("objective", list(OBJECTIVES))):
        if st.session_state[key] not in valid:
            st.session_state[key] = valid[0]
    if st.session_state.context not in CONTEXTS:
        st.session_state.context = 4096
    with st.sidebar:
        st.header("Your question")
        st.selectbox("Model", models, key="model")
        st.select_slider("Context [tokens per user]", CONTEXTS, key="context", format_func=lambda c: f"{c:,}")
        st.number_input("UTPS floor [tokens/s per user]", min_value=0.0, max_value=1e6, step=10.0, key="min_utps")
        st.selectbox("Site (energy price, PUE, grid)", regions, key="region")
        st.selectbox("Rank by", list(OBJECTIVES), key="objective", format_func=lambda o: OBJECTIVE_LABELS[o])
        st.caption(f"Catalog version {cats.digest()}" + (" (edited this session)" if st.session_state.overrides else ""))


OBJECTIVE_LABELS = {
    "tokens_per_usd": "tokens per dollar",
    "tokens_per_joule": "tokens per joule",
    "usd_per_mtok": "$ per million tokens",
    "gco2e_per_mtok": "gCO2e per million tokens",
}


def current() -> tuple[Evaluation, pl.DataFrame]:
    s = st.session_state
    ev = evaluation(overrides(), s.model, s.context, s.region, s.scenario, s.power_model, site_changes())
    return ev, select(ev, s.min_utps, s.objective)


RANK_COLUMNS = {
    "rank": st.column_config.NumberColumn("#", width="small"),
    "hardware": st.column_config.TextColumn("design"),
    "memory_class": st.column_config.TextColumn("memory"),
    "memory_technology": st.column_config.TextColumn("technology"),
    "chips": st.column_config.NumberColumn("chips"),
    "batch": st.column_config.NumberColumn("batch"),
    "utps": st.column_config.NumberColumn("UTPS [tok/s per user]", format="%.1f"),
    "stps": st.column_config.NumberColumn("STPS [tok/s]", format="compact"),
    "tokens_per_usd": st.column_config.NumberColumn("tokens per $", format="compact"),
    "usd_per_mtok": st.column_config.NumberColumn("$ per Mtok", format="$%.4f"),
    "tokens_per_joule": st.column_config.NumberColumn("tokens per J", format="%.3f"),
    "gco2e_per_mtok": st.column_config.NumberColumn("gCO2e per Mtok", format="%.1f"),
    "price_usd": st.column_config.NumberColumn("price per chip [$]", format="dollar"),
    "price_is_estimate": st.column_config.CheckboxColumn("price estimated"),
    "meets_floor": st.column_config.CheckboxColumn("meets floor"),
    "reason": st.column_config.TextColumn("why not / limited by", width="large"),
}


def page_compare() -> None:
    ev, ranked = current()
    s = st.session_state
    st.title("Compare designs")
    meeting = ranked.filter("meets_floor")
    (st.success if meeting.height else st.warning)(answer_sentence(ranked, s.model, s.min_utps, s.objective))
    if meeting.height:
        top = meeting.row(0, named=True)
        c = st.columns(4)
        c[0].metric("Cost per million tokens", usd(top["usd_per_mtok"]), help=top["hardware"])
        c[1].metric("Carbon per million tokens", f"{top['gco2e_per_mtok']:,.1f} gCO2e")
        c[2].metric("Tokens per joule", f"{top['tokens_per_joule']:.3g}")
        c[3].metric("Chips per instance", f"{top['chips']:,}")
    table = ranked.with_columns(reason=pl.when(pl.col("reason") == "").then(pl.col("bottleneck")).otherwise("reason"))
    st.dataframe(table.select(*RANK_COLUMNS), column_config=RANK_COLUMNS, hide_index=True, width="stretch")
    if not meeting.height:
        st.info("No design meets the floor: lower the UTPS floor, shorten the context, or see each design's limit above.")
        return
    c = st.columns(2)
    c[0].altair_chart(efficiency_bars(ranked, "tokens_per_usd"), width="stretch")
    c[1].altair_chart(efficiency_bars(ranked, "tokens_per_joule"), width="stretch")
    designs = meeting["hardware"].to_list()
    if s.design not in designs:
        s.design = designs[0]
    st.selectbox("Breakdown of the selected design", designs, key="design")
    row = meeting.filter(pl.col("hardware") == s.design)
    r = row.row(0, named=True)
    st.markdown(
        f"**{r['hardware']}**: {r['chips']} chips (TP {r['tp']} x PP {r['pp']} x EP {r['ep']}), batch {r['batch']}, "
        f"{r['utps']:,.0f} tokens/s per user, {si(r['stps'])} tokens/s in all; chip price {usd(r['price_usd'])}"
        f" ({r['price_type']}); limited by {r['bottleneck']}."
    )
    c = st.columns(2)
    c[0].altair_chart(cost_breakdown_chart(row), width="stretch")
    c[1].altair_chart(carbon_breakdown_chart(row), width="stretch")


def page_tradeoff() -> None:
    ev, ranked = current()
    s = st.session_state
    st.title("Trade-off: a little slower per user, much more efficient")
    fitting = [h for h in ranked["hardware"].to_list() if h in set(ev.frame.filter("fits")["hardware"].cast(pl.String))]
    if not fitting:
        st.warning(f"{s.model} fits on no design at {s.context:,} tokens of context.")
        return
    if s.design not in fitting:
        s.design = fitting[0]
    c = st.columns([2, 2, 2])
    c[0].selectbox("Design", fitting, key="design")
    c[1].slider("Slowdown accepted [fraction of the fastest UTPS]", 0.0, 0.5, step=0.01, key="slowdown",
                format="%.2f")
    metric = c[2].selectbox("Efficiency metric", [m for m in METRICS if m != "stps_per_chip"],
                            format_func=lambda o: OBJECTIVE_LABELS[o])
    t = tradeoff(ev, s.design, s.slowdown, metric)
    st.success(t["sentence"])
    points = frontier(ev.frame.filter(pl.col("hardware") == s.design), metric).with_columns(
        pl.col("hardware").cast(pl.String)
    )
    marks = pl.DataFrame([
        {"utps": t["baseline"]["utps"], metric: t["baseline"][metric], "label": "fastest"},
        {"utps": t["tradeoff"]["utps"], metric: t["tradeoff"][metric], "label": f"{s.slowdown:.0%} slower"},
    ])
    st.altair_chart(frontier_chart(points, metric, f"{s.design}: UTPS against {OBJECTIVE_LABELS[metric]}", marks),
                    width="stretch")
    gains = {k.removeprefix("gain_"): v for k, v in t.items() if k.startswith("gain_")}
    cols = st.columns(len(gains))
    for col, (k, v) in zip(cols, gains.items(), strict=True):
        col.metric(f"gain in {k.replace('_', ' ')}", f"{v:.2f}x")
    st.dataframe(pl.DataFrame([t["baseline"], t["tradeoff"]]).with_columns(point=pl.Series(["fastest", "trade-off"])),
                 hide_index=True, width="stretch")


def page_capacity() -> None:
    ev, ranked = current()
    s = st.session_state
    st.title("Capacity and performance")
    st.caption(f"Each design at its ranked configuration for {s.model}, {s.context:,} tokens of context.")
    c = st.columns(2)
    c[0].altair_chart(memory_chart(ranked), width="stretch")
    c[1].altair_chart(time_breakdown_chart(ranked), width="stretch")
    fits = ev.frame.filter("fits").group_by(pl.col("hardware").cast(pl.String)).agg(
        pl.col("chips").min().alias("fewest chips that fit"), pl.col("utps").max().alias("best UTPS [tok/s]")
    ).sort("fewest chips that fit")
    st.subheader("Fewest chips that hold one instance")
    st.dataframe(fits, hide_index=True, width="stretch")


def page_catalogs() -> None:
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
    upload = st.file_uploader(f"Replace {table.path.name} with your CSV (at most 2 MiB)", type=["csv"],
                              key=f"upload_{name}")
    if upload is not None:
        data = upload.getvalue()
        if len(data) > MAX_UPLOAD_BYTES:
            st.error(f"{upload.name} is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes.")
        elif st.session_state.get(f"applied_{name}") != data:
            apply_catalog(name, data)
    c = st.columns(2)
    c[0].download_button(f"Download {table.path.name}", safe_csv(pl.read_csv(body.encode(), infer_schema=False)),
                         file_name=table.path.name, mime="text/csv")
    if st.session_state.overrides and c[1].button("Restore the default catalogs"):
        st.session_state.overrides = {}
        st.rerun()


def apply_catalog(name: str, data: bytes) -> None:
    """Validate ``data`` as catalog ``name`` with the CLI's validator; apply it only if valid."""
    trial = dict(st.session_state.overrides) | {name: data}
    try:
        catalogs_for(tuple(sorted(trial.items())))
    except CatalogError as e:
        st.error("Not applied; the catalog stays as it was:\n\n" + "\n".join(f"- {p}" for p in e.problems))
        return
    st.session_state.overrides = trial
    st.session_state[f"applied_{name}"] = data
    st.success(f"{SCHEMAS[name].file} updated for this session; every page now uses it.")


def page_assumptions() -> None:
    cats = catalogs_for(overrides())
    s = st.session_state
    st.title("Assumptions")
    c = st.columns(2)
    c[0].selectbox("Scenario", cats["scenarios"].names(), key="scenario")
    c[1].selectbox("Power model", ["activity", "tdp"], key="power_model",
                   help="activity: static power + energy per FLOP and per bit moved, capped at TDP; tdp: every chip at TDP")
    st.dataframe(cats["scenarios"].df, hide_index=True, width="stretch")
    st.subheader(f"Site {s.region}")
    base = load_site(cats, s.region)
    changes = s.site_changes.setdefault(s.region, {})
    cols = st.columns(len(SITE_FIELDS))
    for col, (field, (label, factor)) in zip(cols, SITE_FIELDS.items(), strict=True):
        value = col.number_input(label, value=float(changes.get(field, getattr(base, field)) * factor),
                                 min_value=1.0 if field == "pue" else 1e-9,
                                 max_value=1.0 if field == "utilization" else None, format="%.4g", key=f"site_{field}")
        if abs(value / factor - getattr(base, field)) > 1e-12 * max(1.0, abs(getattr(base, field))):
            changes[field] = value / factor
        else:
            changes.pop(field, None)
    if changes and st.button("Restore the catalog's values"):
        s.site_changes[s.region] = {}
        st.rerun()
    st.dataframe(cats["datacenter"].df, hide_index=True, width="stretch")
    st.dataframe(cats["grid_carbon"].df, hide_index=True, width="stretch")


def page_export() -> None:
    ev, ranked = current()
    s = st.session_state
    st.title("Export")
    st.download_button("Ranking (CSV)", safe_csv(ranked), file_name=f"ranking-{s.model}-{s.context}.csv", mime="text/csv")
    if st.button("Build the report for this selection"):
        with tempfile.TemporaryDirectory() as tmp, st.spinner("Rendering charts…"):
            paths = report([s.model], tmp, [s.context], s.min_utps, s.region, s.objective, s.slowdown,
                           catalogs_for(overrides()), s.scenario, command=report_command())
            st.session_state.report_files = {k: Path(v).read_bytes() for k, v in paths.items()
                                             if k in ("html", "markdown")}
    files = st.session_state.get("report_files")
    if files:
        c = st.columns(2)
        c[0].download_button("Report (HTML)", files["html"], file_name="report.html", mime="text/html")
        c[1].download_button("Report (Markdown)", files["markdown"], file_name="report.md", mime="text/markdown")


def report_command() -> str:
    s = st.session_state
    return (f"python -m tco report --model {s.model} --context {s.context} --min-utps {s.min_utps:g} "
            f"--region {s.region} --objective {s.objective} --slowdown {s.slowdown:g} --scenario {s.scenario} --out DIR")


def main() -> None:
    st.set_page_config(page_title="LLM inference hardware economics", layout="wide")
    init_selection()
    st.session_state.setdefault("overrides", {})
    st.session_state.setdefault("site_changes", {})
    try:
        cats = catalogs_for(overrides())
    except CatalogError as e:
        st.error(f"The catalogs do not load: {e}")
        st.session_state.overrides = {}
        return
    sidebar(cats)
    pages = [
        st.Page(page_compare, title="Compare", url_path="compare", default=True),
        st.Page(page_tradeoff, title="Trade-off", url_path="tradeoff"),
        st.Page(page_capacity, title="Capacity and performance", url_path="capacity"),
        st.Page(page_catalogs, title="Catalogs", url_path="catalogs"),
        st.Page(page_assumptions, title="Assumptions", url_path="assumptions"),
        st.Page(page_export, title="Export", url_path="export"),
    ]
    page = st.navigation(pages)
    try:
        page.run()
    except (CatalogError, InvalidInput, UnknownName) as e:
        st.error(str(e))
    sync_url()


main()
