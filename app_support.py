"""Shared state of the Streamlit app: cached catalogs and evaluations, the selection and the URL.

No model or cost logic here: every figure comes from ``perfmodel`` and ``tco``.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from perfmodel.catalog import CatalogError
from perfmodel.catalog_set import Catalogs
from tco.catalogs import load_catalogs
from tco.economics import DEFAULT_REGION, load_site
from tco.rank import OBJECTIVES, Evaluation, evaluate, select
from tco.schemas import SCHEMAS

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
    st.session_state.setdefault("overrides", {})
    st.session_state.setdefault("site_changes", {})
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
        st.number_input(
            "UTPS floor [tokens/s per user]", min_value=0.0, max_value=1e6, step=10.0, key="min_utps"
        )
        st.selectbox("Site (energy price, PUE, grid)", regions, key="region")
        st.selectbox("Rank by", list(OBJECTIVES), key="objective", format_func=lambda o: OBJECTIVE_LABELS[o])
        st.caption(
            f"Catalog version {cats.digest()}"
            + (" (edited this session)" if st.session_state.overrides else "")
        )


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
    "tp": st.column_config.NumberColumn("TP"),
    "pp": st.column_config.NumberColumn("PP"),
    "ep": st.column_config.NumberColumn("EP"),
    "users": st.column_config.NumberColumn("users"),
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


def report_command() -> str:
    s = st.session_state
    return (
        f"python -m tco report --model {s.model} --context {s.context} --min-utps {s.min_utps:g} "
        f"--region {s.region} --objective {s.objective} --slowdown {s.slowdown:g} --scenario {s.scenario} --out DIR"
    )


def apply_catalog(name: str, data: bytes) -> bool:
    """Validate ``data`` as catalog ``name`` with the CLI's validator; apply it only if valid."""
    ok = apply_catalogs({name: data})
    if ok:
        st.session_state[f"applied_{name}"] = data
    return ok


def apply_catalogs(new: dict[str, bytes]) -> bool:
    """Apply several catalog files at once if the whole set validates; say why not otherwise."""
    trial = dict(st.session_state.overrides) | new
    try:
        catalogs_for(tuple(sorted(trial.items())))
    except CatalogError as e:
        st.error("Not applied; the catalog stays as it was:\n\n" + "\n".join(f"- {p}" for p in e.problems))
        return False
    st.session_state.overrides = trial
    st.success(", ".join(SCHEMAS[n].file for n in new) + " updated for this session; every page now uses it.")
    return True
