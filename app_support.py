"""Shared state of the Streamlit app: one selection for every page, the URL, cached evaluations.

Every assumption (the question in the sidebar, the Assumptions page's figures, each page's own
choices) is one key of :data:`STATE`. It is read from the URL on the first run, kept across page
changes, applied on every page and written back to the URL, so a link reproduces the numbers.
No model or cost logic here: every figure comes from ``perfmodel`` and ``tco``.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from perfmodel.catalog.economics_schemas import SCHEMAS
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.schemas import AVAILABILITY
from perfmodel.catalog.table import Table
from perfmodel.inputs import DEFAULT_ISL, DEFAULT_OSL, NUMBER, CatalogError, Problem
from perfmodel.inputs import MODES as PERF_MODES
from perfmodel.outputs import neutralize
from perfmodel.units import parse_unit, ureg
from tco.economics.costs import DEFAULT_REGION, Site, load_site
from tco.options import CONTEXT_CHOICES, DEFAULT_MODE, OBJECTIVES
from tco.options import COST_BASES as LIBRARY_COST_BASES
from tco.planning.demand import load_demand
from tco.questions.monte_carlo import uncertainty
from tco.questions.question import Question
from tco.questions.ranking import Evaluation, evaluate, select
from tco.questions.tradeoffs import METRIC_WORDS
from tco.reporting.buyer_text import buyer_order, design_text
from tco.reporting.charts import design_palette
from tco.reporting.formatting import si, usd

#: Draws of the uncertain inputs behind the p10/p90 figures (seeded: a link gives the same figures).
UNCERTAINTY_DRAWS = 10_000
MAX_UPLOAD_BYTES = int(ureg.Quantity(2, "MiB").to("B").magnitude)
#: Performance models the app offers, the default first (see ``tco.questions.ranking.evaluate``).
MODES = (DEFAULT_MODE, *(m for m in PERF_MODES if m != DEFAULT_MODE))
#: Which designs are shown: the choices of ``tco rank --availability``, widest last.
AVAILABILITY_CHOICES = tuple(",".join(AVAILABILITY[: i + 1]) for i in range(len(AVAILABILITY)))
#: Site figures a user may override: label, the catalog's base unit, the unit shown.
SITE_FIELDS = {
    "energy_price": ("electricity [USD/kWh]", "USD/J", "USD/kWh"),
    "pue": ("PUE", "dimensionless", "dimensionless"),
    "lifetime": ("hardware lifetime [years]", "s", "year"),
    "utilization": ("utilization [% of hours serving]", "dimensionless", "percent"),
}


def _ints(text: str) -> list[int]:
    """A list of integers as the URL writes it: ``[8, 128]``."""
    return [int(x) for x in text.strip("[]").split(",") if x.strip()]


#: The engine choice that lets each chip run its own (the engine most measured on it).
OWN_ENGINE = "own"

#: Every key of the selection: parser of its URL value, default (None: the catalog's value).
STATE = {
    "model": (str, "llama3-70b"),
    "mode": (str, MODES[0]),
    "isl": (int, DEFAULT_ISL),
    "osl": (int, DEFAULT_OSL),
    "context": (int, 4096),
    "min_utps": (float, 30.0),
    "region": (str, DEFAULT_REGION),
    "objective": (str, "tokens_per_usd"),
    "availability": (str, AVAILABILITY_CHOICES[0]),
    "scenario": (str, "published"),
    "power_model": (str, "activity"),
    "engine": (str, OWN_ENGINE),
    "cost_basis": (str, "own"),
    **{field: (float, None) for field in SITE_FIELDS},
    "slowdown": (float, 0.10),
    "max_chips": (int, None),
    "baseline": (str, "ranked"),
    "design": (str, None),
    "curve": (str, "usd_per_mtok"),
    "efficiency": (str, "tokens_per_usd"),
    "breakdown": (str, "cost"),
    "catalog_name": (str, "models"),
    "new_template": (str, "xpu-hbm3"),
    "new_memory": (str, "HBM4"),
    "new_stacks": (int, 8),
    "new_sync_us": (float, 0.5),
    "new_name": (str, None),
    "sweep_base": (str, "xpu-hbm3"),
    "sweep_scenario": (str, "liminal-2025"),
    "sweep_tps": (_ints, [8, 128]),
}
OBJECTIVE_LABELS = {o: METRIC_WORDS[o][1] for o in OBJECTIVES}
COST_BASE_LABELS = {"own": "own: all-in owner cost", "rent": "rent: published rental prices"}
COST_BASES = {b: COST_BASE_LABELS[b] for b in LIBRARY_COST_BASES}
AVAILABILITY_LABELS = dict(
    zip(
        AVAILABILITY_CHOICES,
        ("chips that ship", "+ announced", "+ announced and hypothetical designs"),
        strict=True,
    )
)
MODE_LABELS = {
    "calibrated": "calibrated: what a real deployment reaches",
    "limit": "limit: the study's decode-only bound",
}


def shown(field: str, value: float) -> float:
    """A site figure from the catalog's base unit into the unit a person reads."""
    _, base, unit = SITE_FIELDS[field]
    return float(ureg.Quantity(value, base).to(unit).magnitude)


def to_base(field: str, value: float) -> float:
    """A site figure as typed (:func:`shown`'s unit) back into the catalog's base unit."""
    _, base, unit = SITE_FIELDS[field]
    return float(ureg.Quantity(value, unit).to(base).magnitude)


@st.cache_resource(max_entries=16, show_spinner=False)
def catalogs_for(overrides: tuple[tuple[str, bytes], ...]) -> Catalogs:
    return load_catalogs(overrides=dict(overrides))


@st.cache_resource(max_entries=64, show_spinner=False)
def evaluation(overrides, question: Question, site_changes) -> Evaluation:
    """The search at the site's own figures, priced again under this session's changes."""
    ev = _searched(overrides, question.but(cost_basis="own"))
    if site_changes or question.cost_basis != ev.cost_basis:
        return ev.recost(site_for(ev.catalogs, question.site, site_changes), cost_basis=question.cost_basis)
    return ev


@st.cache_resource(max_entries=32, show_spinner="Searching every design's parallelism and batch…")
def _searched(overrides, question: Question) -> Evaluation:
    return evaluate(question.but(catalogs=catalogs_for(overrides)))


def site_for(cats: Catalogs, region: str, changes: tuple[tuple[str, float], ...]) -> Site:
    """The one place the app builds a site: the catalog's row for ``region`` with ``changes``."""
    return load_site(cats, region).varied(**dict(changes))


def overrides() -> tuple[tuple[str, bytes], ...]:
    return tuple(sorted(st.session_state.setdefault("overrides", {}).items()))


def site_changes() -> tuple[tuple[str, float], ...]:
    """The Assumptions page's overrides of the site's figures, in base units."""
    s = st.session_state
    return tuple((f, to_base(f, s[f])) for f in SITE_FIELDS if s[f] is not None)


def workload() -> tuple[tuple[str, object], ...]:
    """The performance model and workload the evaluation runs: mode, ISL/OSL, context."""
    s = st.session_state
    return (("mode", s.mode), ("isl", s.isl), ("osl", s.osl), ("context", s.context))


def init_state() -> None:
    """The selection from the URL on the first run; kept across pages on every later run.

    Streamlit forgets the value of a widget whose page is not shown; writing every key back at
    the start of a run keeps it (Streamlit's documented way to keep widget values across pages).
    """
    s = st.session_state
    s.setdefault("overrides", {})
    params = st.query_params
    for key, (parse, default) in STATE.items():
        if key not in s:
            try:
                s[key] = parse(params[key]) if key in params else default
            except ValueError:
                s[key] = default
        s[key] = s[key]
    s.setdefault("linked_catalogs", params.get("catalogs"))


def sync_url() -> None:
    """Write the selection into the URL (and, when catalogs were edited, their version)."""
    s = st.session_state
    params = {k: str(s[k]) for k in STATE if s[k] is not None}
    if s.overrides:
        params["catalogs"] = catalogs_for(overrides()).digest()
    elif "catalogs" in st.query_params:
        del st.query_params["catalogs"]
    st.query_params.update(params)
    for k in STATE:
        if s[k] is None and k in st.query_params:
            del st.query_params[k]


def sidebar(cats: Catalogs) -> None:
    """The question every page answers: model, workload, service level, site, objective."""
    s = st.session_state
    models = cats["models"].names()
    regions = cats["datacenter"].names()
    for key, valid in (
        ("model", models),
        ("region", regions),
        ("objective", list(OBJECTIVES)),
        ("mode", MODES),
        ("availability", AVAILABILITY_CHOICES),
        ("scenario", cats["scenarios"].names()),
        ("power_model", ["activity", "tdp"]),
        ("cost_basis", list(COST_BASES)),
        ("engine", [OWN_ENGINE, *cats["engine_profiles"].names()]),
    ):
        if s[key] not in valid:
            s[key] = STATE[key][1] if STATE[key][1] in valid else valid[0]
    if s.context not in CONTEXT_CHOICES:
        s.context = STATE["context"][1]
    with st.sidebar:
        st.header("Your question")
        st.selectbox("Model", models, key="model")
        st.selectbox("Performance model", MODES, key="mode", format_func=MODE_LABELS.get)
        if s.mode == "limit":
            st.select_slider(
                "Context [tokens per user]", CONTEXT_CHOICES, key="context", format_func=lambda c: f"{c:,}"
            )
        else:
            c = st.columns(2)
            c[0].number_input("Input length [tokens]", min_value=1, max_value=1 << 20, step=256, key="isl")
            c[1].number_input("Output length [tokens]", min_value=1, max_value=1 << 20, step=256, key="osl")
            st.selectbox(
                "Serving engine",
                [OWN_ENGINE, *cats["engine_profiles"].names()],
                key="engine",
                format_func=lambda e: "each chip's most measured" if e == OWN_ENGINE else e,
            )
        st.number_input(
            "Floor [tokens/s per user]", min_value=0.0, max_value=1e6, step=10.0, key="min_utps", format="%g"
        )
        st.selectbox("Site (energy price, PUE, grid)", regions, key="region")
        site_inputs(cats)
        st.selectbox("Rank by", list(OBJECTIVES), key="objective", format_func=OBJECTIVE_LABELS.get)
        st.radio(
            "Cost basis", list(COST_BASES), key="cost_basis", horizontal=True, format_func=COST_BASES.get
        )
        st.radio(
            "Designs shown", AVAILABILITY_CHOICES, key="availability", format_func=AVAILABILITY_LABELS.get
        )
        st.caption(f"Catalog version {cats.digest()}" + (" (edited this session)" if s.overrides else ""))
    catalog_notice(cats)
    linked = s.linked_catalogs
    if linked and linked != cats.digest():
        st.warning(
            f"This link was made with edited catalogs (version {linked}); they are not in this session, "
            f"so the figures use version {cats.digest()}. Upload the same files on the Catalogs page "
            "to reproduce them."
        )


def scaled_headers(cats: Catalogs) -> list[Problem]:
    """Every header whose unit carries a number beside a unit (``mem_bw[2*TB/s]``): the loader
    multiplies the column by it (perfmodel/catalog/table.py), which a person should see. A bare
    scale on a count (``total_params[1e9]``, billions) is the packaged catalogs' own way and is left."""
    out = []
    for name in sorted(cats.tables):
        table = cats.tables[name]
        for column, unit in table.header_units.items():
            q = parse_unit(unit)
            if q.magnitude != 1 and not q.unitless:
                out.append(
                    Problem(
                        table.path.name,
                        None,
                        column,
                        unit,
                        f"a unit without a number; every value of {column} is multiplied by {q.magnitude:g}",
                        "warning",
                    )
                )
    return out


def site_inputs(cats: Catalogs) -> None:
    """The site's figures a person may change (empty: the site's own value, shown greyed), in the
    sidebar with the rest of the question, so every page follows them and the link carries them."""
    s = st.session_state
    base = site_for(cats, s.region, ())
    for field, (label, _, _) in SITE_FIELDS.items():
        st.number_input(
            label,
            value=None,
            min_value=1.0 if field == "pue" else 1e-6,
            max_value=100.0 if field == "utilization" else None,
            format="%.4g",
            placeholder=f"{shown(field, getattr(base, field)):.4g} (the site's)",
            key=field,
        )
    if any(s[f] is not None for f in SITE_FIELDS):
        st.button("Restore the site's values", on_click=lambda: s.update(dict.fromkeys(SITE_FIELDS)))


def catalog_notice(cats: Catalogs) -> None:
    """A visible notice of every catalog value that loaded but looks implausible, and of every
    header whose unit multiplies its column by a number (:func:`scaled_headers`)."""
    doubts = [*scaled_headers(cats), *cats.warnings()]
    if doubts:
        st.warning(
            "Catalog values to check (they are in use, but outside the plausible range or scaled by "
            "their header):\n\n" + "\n".join(f"- {w}" for w in doubts)
        )


def colours(ev: Evaluation) -> dict[str, str]:
    """One colour per design of the catalogs, the same on every page and in every view."""
    return design_palette(ev.frame.select("hardware", "memory_class").unique())


def site(cats: Catalogs) -> Site:
    """The site in force: the catalog's row for the region with this session's overrides."""
    return site_for(cats, st.session_state.region, site_changes())


def question(cost_basis: str | None = None) -> Question:
    """The selection as a question (without its floor and catalogs: the cache key of a search,
    beside the catalogs' overrides); ``cost_basis`` overrides the one in force."""
    s = st.session_state
    w = dict(workload())
    shape = {"context": w["context"]} if w["mode"] == "limit" else {"isl": w["isl"], "osl": w["osl"]}
    return Question(
        s.model,
        **shape,
        mode=w["mode"],
        engine=None if w["mode"] == "limit" or s.engine == OWN_ENGINE else s.engine,
        scenario=s.scenario,
        power_model=s.power_model,
        site=s.region,
        cost_basis=cost_basis or s.cost_basis,
    )


def _question(cost_basis: str | None = None) -> tuple:
    """What an evaluation depends on (the arguments of :func:`evaluation`)."""
    return overrides(), question(cost_basis), site_changes()


@st.cache_resource(max_entries=64, show_spinner=False)
def _spread(question: tuple, min_utps: float, availability: str) -> pl.DataFrame:
    return uncertainty(
        evaluation(*question), UNCERTAINTY_DRAWS, min_utps, availability=availability.split(",")
    )


def spread() -> pl.DataFrame:
    """p10/p50/p90 of each shown design's $/Mtok and its chance of being the cheapest (seeded)."""
    s = st.session_state
    return _spread(_question(), s.min_utps, s.availability)


def current(cost_basis: str | None = None) -> tuple[Evaluation, pl.DataFrame]:
    """The evaluation of the selection and its ranking (every design, with its availability);
    ``cost_basis`` asks for the other basis than the one in force."""
    s = st.session_state
    ev = evaluation(*_question(cost_basis))
    ranked = select(ev, s.min_utps, s.objective)
    return ev, ranked.with_columns(**{c: step_in_words(c) for c in ("reason", "bottleneck")})


def shown_designs(ranked: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``ranked`` whose availability the selection shows."""
    return ranked.filter(pl.col("availability").is_in(st.session_state.availability.split(",")))


def site_figures(ev: Evaluation) -> str:
    """The site's figures in force, with the units a person reads, each marked if set in the sidebar."""
    changed = dict(site_changes())
    return "; ".join(
        f"{SITE_FIELDS[f][0].split(' [')[0]} {shown(f, getattr(ev.site, f)):.3g}"
        + {"energy_price": " USD/kWh", "lifetime": " years", "utilization": " %"}.get(f, "")
        + (" (set here)" if f in changed else "")
        for f in SITE_FIELDS
    )


def assumptions_line(ev: Evaluation) -> str:
    """The assumptions in force, in one line, with the units a person reads."""
    s = st.session_state
    figures = site_figures(ev)
    cats = ev.catalogs.digest() + (" (edited)" if s.overrides else "")
    return (
        f"Assumptions in force: {ev.model}, {ev.workload}; floor {s.min_utps:,.0f} tokens/s per user; "
        f"scenario {ev.scenario} ({ev.precision}); power model {ev.power_model}; cost basis {COST_BASES[ev.cost_basis]}; "
        f"site {ev.site.name}: {figures}; "
        f"catalogs {cats}."
    )


def report_command() -> str:
    s = st.session_state
    work = f"--context {s.context}" if s.mode == "limit" else f"--mode {s.mode} --isl {s.isl} --osl {s.osl}"
    return (
        f"python -m tco report --model {s.model} {work} --min-utps {s.min_utps:g} "
        f"--region {s.region} --objective {s.objective} --slowdown {s.slowdown:g} --scenario {s.scenario} "
        f"--cost-basis {s.cost_basis} --out DIR"
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
    st.session_state.applied_message = (
        ", ".join(SCHEMAS[n].file for n in new) + " updated for this session; every page now uses it."
    )
    return True


def accept_forecast(name: str, data: bytes, cats: Catalogs) -> bool:
    """Keep ``data`` (an uploaded file called ``name``) as this session's forecast if it reads as a
    table; otherwise say why on the page, naming the line (the loader's words), and keep the one in use."""
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"{name} is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes.")
        return False
    try:
        split_csv(data, name)
    except CatalogError as e:
        problems = e.problems
        try:
            load_demand(data, cats, file=name)  # names the line and the cells of a ragged row
        except CatalogError as found:
            problems = found.problems
        st.error(
            f"{name} was not loaded; the forecast stays as it was:\n\n"
            + "\n".join(f"- {p}" for p in problems)
        )
        return False
    st.session_state.plan_csv = data
    return True


def apply_uploads(files: dict[str, bytes]) -> bool:
    """Apply uploaded files (file name -> bytes) as one change: each names its catalog by its file
    name (``hardware.csv``), so a new chip's rows in two files validate together (:func:`apply_catalogs`)."""
    catalogs = {schema.file: name for name, schema in SCHEMAS.items()}
    unknown = [f for f in files if f not in catalogs]
    big = [f for f, data in files.items() if len(data) > MAX_UPLOAD_BYTES]
    if unknown:
        st.error(
            f"Not applied: {', '.join(unknown)} is not a catalog file name; valid names: {', '.join(catalogs)}."
        )
        return False
    if big:
        st.error(f"Not applied: {', '.join(big)} is over the limit of {MAX_UPLOAD_BYTES:,} bytes.")
        return False
    return apply_catalogs({catalogs[f]: data for f, data in files.items()})


def _config_text() -> pl.Expr:
    return pl.format("{} (TP {} x PP {} x EP {})", "chips", "tp", "pp", "ep")


_N = st.column_config.NumberColumn
_T = st.column_config.TextColumn
#: Every column a page shows, named in words with its unit and format (the app's glossary).
COLUMNS = {
    "rank": _N("#", width="small"),
    "design": _T("design"),
    "hardware": _T("design"),
    "model": _T("model"),
    "context": _N("context [tokens]", format="localized"),
    "usd_per_mtok": _N("$ per million tokens", format="$%.4g"),
    "tokens_per_usd": _N("tokens per $", format="compact"),
    "price_usd": _N("price per chip [USD]", format="localized"),
    "price_type": _T("price basis"),
    "utps": _N("tokens/s per user", format="%.0f"),
    "instance": _T("chips (parallelism)"),
    "chips": _N("chips", format="localized"),
    "batch": _N("batch", format="localized"),
    "users": _N("users", format="localized"),
    "stps_per_chip": _N("output tokens/s per chip", format="%.0f"),
    "tokens_per_joule": _N("tokens per joule", format="%.3g"),
    "gco2e_per_mtok": _N("gCO2e per million tokens", format="%.0f"),
    "memory": _T("memory"),
    "memory_technology": _T("memory technology"),
    "memory_class": _T("memory class"),
    "memory_needed_gib": _N("memory needed [GiB]", format="%.0f"),
    "memory_available_gib": _N("memory held [GiB]", format="%.0f"),
    "fits": st.column_config.CheckboxColumn("fits"),
    "reaches": st.column_config.CheckboxColumn("reaches the target"),
    "chips_to_fit": _N("chips to fit", format="localized"),
    "utps_at_chips_to_fit": _N("tokens/s per user on those chips", format="%.0f"),
    "limited_by": _T("limited by", width="large"),
    "best": _T("fastest it serves [tokens/s per user]"),
    "why_not": _T("why not", width="large"),
    "reason": _T("why not", width="large"),
    "price": _T("price per chip"),
    "availability": _T("availability"),
    "usd_per_mtok_own": _T("$ per million tokens, owned"),
    "usd_per_mtok_rent": _T("$ per million tokens, rented"),
    "usd_per_chip_hour_own": _T("$ per chip-hour, owned"),
    "usd_per_chip_hour_rent": _T("$ per chip-hour, rented"),
    "usd_per_chip_hour": _N("$ per chip-hour", format="$%.3g"),
    "usd_per_mtok_p10": _N("$ per million tokens, p10", format="$%.4g"),
    "usd_per_mtok_p90": _N("$ per million tokens, p90", format="$%.4g"),
    "p_cheapest": _N("chance it is the cheapest", format="percent"),
}
#: The ranking of designs that meet the floor: money and the verdict first, then the rest.
RANK_TABLE = (
    "rank",
    "design",
    "usd_per_mtok",
    "usd_per_mtok_p10",
    "usd_per_mtok_p90",
    "p_cheapest",
    "tokens_per_usd",
    "price_usd",
    "price_type",
    "utps",
    "instance",
    "batch",
    "users",
    "stps_per_chip",
    "tokens_per_joule",
    "gco2e_per_mtok",
    "memory",
    "limited_by",
)
#: Designs that miss the floor: what they reach and why not (no rank).
MISS_TABLE = ("design", "best", "why_not", "price", "memory")


#: Streamlit's table row [px], and the tallest table before it scrolls [px].
TABLE_ROW_HEIGHT = 35
TABLE_MAX_HEIGHT = 800


def table(df: pl.DataFrame, config: dict | None = None) -> None:
    """Show ``df`` with every column named in words (:data:`COLUMNS`, then ``config``)."""
    config = COLUMNS | (config or {})
    labels = {c: (config.get(c) or {}).get("label") or c.replace("_", " ") for c in df.columns}
    st.dataframe(
        df.rename(labels),
        column_config={labels[c]: config[c] for c in df.columns if c in config},
        hide_index=True,
        width="stretch",
        height=min(TABLE_MAX_HEIGHT, TABLE_ROW_HEIGHT * (df.height + 1) + 3),  # every row, up to a screen
    )


#: The library's reasons name the step time by its symbol; a person reads it in words.
STEP_SYMBOL, STEP_WORDS = "of T_batch", "of the decode step"


def step_in_words(column: str) -> pl.Expr:
    """``column``'s text with the step time's symbol in words (:data:`STEP_WORDS`)."""
    return pl.col(column).str.replace_all(STEP_SYMBOL, STEP_WORDS, literal=True)


def ranking_tables(ranked: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The designs of ``ranked`` that meet the floor and those that miss it, for :func:`table`.

    The first in the buyer's order (:func:`tco.reporting.buyer_text.buyer_order`: the chips one can
    buy, then rental-only, announced and hypothetical designs, each marked), so the table's #1 is the
    answer's chip."""
    rows = buyer_order(ranked).with_columns(
        design_text(),
        memory=pl.format("{} ({})", "memory_technology", "memory_class"),
    )
    meet = rows.filter("meets_floor").with_columns(
        pl.col("price_usd").round(0),
        rank=pl.int_range(1, pl.len() + 1),
        instance=_config_text(),
        limited_by="bottleneck",
    )
    unpriced = pl.col("utps").is_null() | pl.col("utps").is_nan()  # no price or does not fit: no figure
    miss = rows.filter(~pl.col("meets_floor")).with_columns(
        best=pl.when(unpriced)
        .then(pl.lit("–"))
        .otherwise(pl.col("utps").map_elements(lambda u: si(u, 3), return_dtype=pl.String)),
        why_not=step_in_words("reason"),
        price=pl.col("price_usd").map_elements(usd, return_dtype=pl.String).fill_null("–"),
    )
    return meet.select(c for c in RANK_TABLE if c in meet.columns), miss.select(MISS_TABLE)


def is_comment(line: str) -> bool:
    """A comment line of a catalog or forecast CSV, by the loader's rule (perfmodel/catalog/table.py):
    its first cell starts with ``#`` after any spaces."""
    return line.lstrip().startswith("#")


def split_csv(raw: bytes, file: str = "the file") -> tuple[list[str], pl.DataFrame]:
    """A CSV's comment lines and its body as text cells (an empty cell reads empty). Raises
    :class:`CatalogError` naming what is wrong when the body is not a table (a ragged row, bad bytes)."""
    try:
        lines = raw.decode("utf-8-sig").splitlines()
        body = "\n".join(line for line in lines if line.strip() and not is_comment(line))
        df = pl.read_csv(body.encode(), infer_schema=False)
    except (UnicodeDecodeError, pl.exceptions.PolarsError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CatalogError(
            [Problem("the file", None, None, None, f"a table of rows alike ({reason})")]
        ) from None
    return [line for line in lines if is_comment(line)], df.fill_null("")


def safe_catalog_bytes(catalog: Table) -> bytes:
    """``catalog``'s file for download: as written, with every text cell a spreadsheet would run as a
    formula (``=HYPERLINK(...)``) neutralized (:func:`perfmodel.outputs.neutralize`); numbers as they are."""
    comments, df = split_csv(catalog.raw, catalog.path.name)

    def cell(text: str) -> str:
        return text if NUMBER.fullmatch(text.strip()) else neutralize(text)

    cleaned = df.with_columns(pl.col(c).map_elements(cell, return_dtype=pl.String) for c in df.columns)
    if cleaned.equals(df):
        return catalog.raw
    return "\n".join([*comments, cleaned.write_csv()]).encode()


def as_written(catalog: Table) -> pl.DataFrame:
    """A catalog table as its file writes it (units in the headers), with the headers in words."""
    df = split_csv(catalog.raw)[1]
    return df.rename({c: c.replace("_", " ") for c in df.columns}).with_columns(pl.all().replace("", "–"))
