"""The buyer's question: for a model, context and UTPS floor, which design is best, and why.

For every hardware design, a grid searches tensor, pipeline and expert parallelism and the batch
(including the largest that fits): in ``calibrated`` mode the serving model at a workload (ISL,
OSL; deployable layouts, achieved efficiencies, prefill counted), in ``limit`` mode the study's
decode step at a context. :func:`tco.economics.costs.cost_frame` prices every configuration; the best configuration that fits and meets the floor represents the design.
Designs are ranked by the objective; a design that cannot meet the floor is listed last with the
reason (does not fit, or the best UTPS it reaches and what limits it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from perfmodel.api.decoding import iter_decode_grid
from perfmodel.api.plan_search import PLAN_COLUMNS, plan_frame
from perfmodel.api.serving import check_workload, iter_serve_grid, profile_for
from perfmodel.api.setup import prepare
from perfmodel.catalog.economics_set import load_catalogs, require_economics
from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.schemas import AVAILABILITY
from perfmodel.inputs import InvalidInput
from perfmodel.model.profiles import check_mode
from tco.economics.chip_costs import chip_table
from tco.economics.costs import CAPEX_ITEMS, OTHER_ITEMS, CostBasis, PowerModel, Site, cost_frame, load_site
from tco.economics.rentals import with_rentals
from tco.options import OBJECTIVES
from tco.questions.question import Question, as_question

SEARCH_TP = tuple(2**i for i in range(11))  # 1 .. 1024
SEARCH_PP = (1, 2, 4, 8, 16, 32, 64)
SEARCH_EP = (1, 2, 4, 8, 16, 32, 64)
SEARCH_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, "max")
SEARCH = {"tp": SEARCH_TP, "pp": SEARCH_PP, "ep": SEARCH_EP, "batch": SEARCH_BATCH}
#: A design that misses the floor is shown at a configuration within this fraction of its best UTPS.
NEAR_FASTEST = 0.95
#: Largest model instance searched [chips]: a few racks of scale-up, or many small SRAM chips.
MAX_CHIPS = 4096

RANK_COLUMNS = (
    "rank",
    "mode",
    "engine",
    "isl",
    "osl",
    "hardware",
    "memory_technology",
    "memory_class",
    "chips",
    "tp",
    "pp",
    "ep",
    "dp_attention",
    *PLAN_COLUMNS,
    "batch",
    "users",
    "utps",
    "stps",
    "stps_per_chip",
    "tokens_per_usd",
    "tokens_per_joule",
    "usd_per_mtok",
    "capex_usd_per_mtok",
    "energy_usd_per_mtok",
    "other_usd_per_mtok",
    *(f"{k}_usd_per_mtok" for k in (*CAPEX_ITEMS, *OTHER_ITEMS)),
    "gco2e_per_mtok",
    "operational_gco2e_per_mtok",
    "embodied_gco2e_per_mtok",
    "usd_per_hour",
    "usd_per_chip_hour",
    "cost_basis",
    "wall_power_w",
    "price_usd",
    "price_is_estimate",
    "price_type",
    "availability",
    "rent_only",
    "meets_floor",
    "reason",
    "bottleneck",
    "memory_needed_gib",
    "memory_available_gib",
    "t_compute_s",
    "t_mem_s",
    "t_exposed_s",
    "t_batch_s",
    "ttft_s",
    "tpot_s",
)

#: Figures a design without a fitting configuration lacks, and those one without a price lacks.
THROUGHPUT_COLUMNS = ("utps", "stps", "stps_per_chip")
COST_COLUMNS = tuple(
    c for c in RANK_COLUMNS if c in ("tokens_per_usd", "tokens_per_joule") or c.endswith("_per_mtok")
)


@dataclass(frozen=True)
class Evaluation:
    """Every searched configuration of one :class:`Question` (``perf``) priced into ``frame``.

    ``question`` is resolved: its mode is set, its context defaults to ``isl + osl``, and its
    scenario and precision name the ones used. ``recost`` prices the same configurations under
    other economics without re-running the performance model (what the sensitivity analysis does).
    """

    perf: pl.DataFrame
    chips: pl.DataFrame
    frame: pl.DataFrame
    question: Question

    @property
    def site(self) -> Site:
        return self.question.site

    @property
    def catalogs(self) -> Catalogs:
        return self.question.catalogs

    @property
    def model(self) -> str:
        return self.question.model

    @property
    def context(self) -> int:
        return self.question.context

    @property
    def mode(self) -> str:
        return self.question.mode

    @property
    def isl(self) -> int | None:
        """Input tokens per request (None in the limit mode, which has a context instead)."""
        return self.question.isl if self.mode == "calibrated" else None

    @property
    def osl(self) -> int | None:
        return self.question.osl if self.mode == "calibrated" else None

    @property
    def scenario(self) -> str:
        return self.question.scenario

    @property
    def precision(self) -> str:
        return self.question.precision

    @property
    def power_model(self) -> PowerModel:
        return self.question.power_model

    @property
    def cost_basis(self) -> CostBasis:
        return self.question.cost_basis

    @property
    def workload(self) -> str:
        """Which model and workload produced the figures, in words."""
        if self.mode == "calibrated":
            engine = self.question.engine or "each chip's most measured engine"
            q = self.question
            plans = ""
            if q.searches_plans:
                mtp = " and ".join("with MTP" if m else "without MTP" for m in q.mtp)
                plans = f", plans searched: {' and '.join(q.plans)}, {mtp}"
            return (
                f"{self.isl:,} input / {self.osl:,} output tokens per request, calibrated serving model "
                f"({engine}{plans})"
            )
        return f"{self.context:,} tokens of context, limit model (decode only, peak figures)"

    def recost(
        self, site: Site | None = None, chips: pl.DataFrame | None = None, cost_basis: CostBasis | None = None
    ) -> Evaluation:
        site = site or self.site
        chips = self.chips if chips is None else chips
        question = self.question.but(site=site, cost_basis=cost_basis or self.cost_basis)
        frame = cost_frame(self.perf, chips, site, self.precision, self.power_model, question.cost_basis)
        return replace(self, chips=chips, frame=check_finite(frame, self.model), question=question)


def evaluate(question: Question) -> Evaluation:
    """Search every design's parallelism and batch for ``question.model`` and price it.

    ``calibrated``: the serving model at ``isl``/``osl`` over deployable layouts.
    ``limit``: the study's decode step at ``context`` tokens (default ``isl + osl``).
    Without ``mode``, a ``context`` asks for the limit and its absence for calibrated.
    ``cost_basis``: ``own`` (all-in owner cost) or ``rent`` (published rental prices; designs
    without one drop out).
    """
    q = question
    if not q.model:
        raise InvalidInput("a question needs a model (a name of models.csv)")
    mode = check_mode(q.mode or ("limit" if q.context is not None else "calibrated"))
    isl, osl = check_workload(q.isl, q.osl)
    if mode == "calibrated" and q.context is not None:
        raise InvalidInput("context applies to limit mode; in calibrated mode give isl and osl")
    context = int(q.context) if q.context is not None else isl + osl
    catalogs = require_economics(q.catalogs) if q.catalogs is not None else load_catalogs()
    setup = prepare(catalogs, q.scenario, q.precision, [q.model], q.hardware, q.kv_precision, q.engine)
    site = q.site if isinstance(q.site, Site) else load_site(catalogs, q.site)
    profile = profile_for(setup, mode)
    if mode == "calibrated":
        frames = iter_serve_grid(setup, mode, isl, osl, profile=profile, **SEARCH)
    else:
        frames = iter_decode_grid(setup, (context,), **SEARCH)
    engines = pl.DataFrame(
        {"hardware": list(setup.hardware.names), "engine": list(profile.engine)},
        schema={"hardware": pl.String, "engine": pl.String},
    )
    perf = (
        pl.concat(list(frames))
        .filter(pl.col("chips") <= MAX_CHIPS)
        .join(engines, left_on=pl.col("hardware").cast(pl.String), right_on="hardware", how="left")
    )
    perf = perf.with_columns(
        plan=pl.lit("aggregated"),
        mtp=pl.lit(0, pl.Int64),
        prefill=pl.lit("", pl.String),
        prefill_instances=pl.lit(0, pl.Int64),
        decode_instances=pl.lit(1, pl.Int64),
    )
    if mode == "calibrated" and q.searches_plans:
        perf = _with_plans(perf, setup, q, isl, osl, profile, engines)
    if mode == "limit":
        perf = perf.with_columns(
            mode=pl.lit(mode),
            dp_attention=pl.lit(False),
            isl=pl.lit(None, pl.Int64),
            osl=pl.lit(None, pl.Int64),
            ttft_s=pl.lit(None, pl.Float64),
            tpot_s=pl.col("t_batch_s"),
        )
    chips = with_rentals(chip_table(catalogs), catalogs)
    frame = check_finite(
        cost_frame(perf, chips, site, setup.scenario.precision, q.power_model, q.cost_basis), q.model
    )
    resolved = q.but(
        mode=mode,
        context=context,
        isl=isl,
        osl=osl,
        scenario=setup.scenario.name,
        precision=setup.scenario.precision,
        engine=setup.engine,
        site=site,
        catalogs=catalogs,
    )
    return Evaluation(perf, chips, frame, resolved)


def _with_plans(perf: pl.DataFrame, setup, q: Question, isl: int, osl: int, profile, engines) -> pl.DataFrame:
    """The serving grid's aggregated rows (where asked) and the plan search's rows
    (:func:`perfmodel.api.plan_search.plan_frame`) for the plans and MTP settings asked."""
    if not q.plans or not q.mtp:
        raise InvalidInput("a question searches at least one plan and one MTP setting")
    searched = plan_frame(setup, q.model, isl, osl, q.plans, q.mtp, profile=profile)
    if "aggregated" in q.plans and False in q.mtp:  # the grid has these, pipelined layouts too
        searched = searched.filter((pl.col("plan") != "aggregated") | (pl.col("mtp") > 0))
    else:
        perf = perf.clear()
    searched = searched.filter(pl.col("chips") <= MAX_CHIPS).join(
        engines, left_on=pl.col("hardware").cast(pl.String), right_on="hardware", how="left"
    )
    return pl.concat([perf, searched.select(perf.columns)], how="vertical_relaxed")


#: Figures every configuration has finite (its times), and every one that fits (its results).
TIME_COLUMNS = ("t_compute_s", "t_mem_s", "t_exposed_s", "t_batch_s")
RESULT_COLUMNS = ("utps", "stps", "usd_per_mtok", "tokens_per_usd", "tokens_per_joule", "gco2e_per_mtok")


def check_finite(frame: pl.DataFrame, model: str) -> pl.DataFrame:
    """``frame``, or :class:`InvalidInput` naming the designs whose figures are inf or nan on
    ``model`` (a catalog figure at the edge of float64 that slipped past the catalog's ranges)."""

    def finite(columns: Sequence[str]) -> pl.Expr:
        return pl.all_horizontal(pl.col(c).is_finite().fill_null(True) for c in columns)

    bad = frame.filter(~finite(TIME_COLUMNS) | (pl.col("fits") & ~finite(RESULT_COLUMNS)))
    if bad.height == 0:
        return frame
    row = bad.row(0, named=True)
    column = next(
        c for c in (*TIME_COLUMNS, *RESULT_COLUMNS) if row[c] is not None and not np.isfinite(row[c])
    )
    names = bad["hardware"].cast(pl.String).unique(maintain_order=True).to_list()
    raise InvalidInput(
        f"{', '.join(names)}: {column} is {row[column]} on {model} at tp {row['tp']}, batch {row['batch']} "
        "(a figure of the design is too small or too large for float64; check its rows of hardware.csv "
        "and hardware_economics.csv)"
    )


def _bottleneck() -> pl.Expr:
    t = pl.col("t_batch_s")
    shares = {
        "compute": pl.col("t_compute_s") / t,
        "memory bandwidth": pl.col("t_mem_s") / t,
        "collectives": pl.col("t_exposed_s") / t,
    }
    share = pl.max_horizontal(*shares.values())
    label = pl.when(shares["collectives"] >= share).then(pl.lit("collectives"))
    label = (
        label.when(shares["compute"] >= share).then(pl.lit("compute")).otherwise(pl.lit("memory bandwidth"))
    )
    return pl.format("{} ({}% of T_batch)", label, (share * 100).round(0).cast(pl.Int64))


def check_availability(availability: Sequence[str] | None) -> tuple[str, ...] | None:
    """The availability filter, each value one of :data:`perfmodel.catalog.schemas.AVAILABILITY`."""
    if availability is None:
        return None
    bad = [a for a in availability if a not in AVAILABILITY]
    if bad:
        raise InvalidInput(f"unknown availability {', '.join(bad)}; valid: {', '.join(AVAILABILITY)}")
    return tuple(availability)


def select(
    ev: Evaluation,
    min_utps: float = 0.0,
    objective: str = "tokens_per_usd",
    availability: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One row per design: its best configuration under the floor, ranked by ``objective``.

    ``availability``: keep only designs whose availability is one of these (default: all).
    """
    if objective not in OBJECTIVES:
        raise InvalidInput(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")
    if not np.isfinite(min_utps) or min_utps < 0:
        raise InvalidInput(f"min_utps must be a finite number >= 0, got {min_utps!r}")
    larger = OBJECTIVES[objective]
    df = ev.frame.with_columns(bottleneck=_bottleneck())
    keep = check_availability(availability)
    if keep is not None:
        df = df.filter(pl.col("availability").is_in(keep))
    fitting = df.filter("fits")
    ok = fitting.filter(pl.col("utps") >= min_utps)
    best = (
        ok.sort(objective, descending=larger)
        .group_by("hardware", maintain_order=True)
        .first()
        .with_columns(meets_floor=pl.lit(True), reason=pl.lit(""))
    )
    # A design that misses the floor is shown at its cheapest configuration within 5 % of the best
    # UTPS it reaches (the absolute fastest often needs 8x the chips for 1 % more speed).
    missing = fitting.filter(~pl.col("hardware").is_in(best["hardware"].implode())).with_columns(
        best_utps=pl.col("utps").max().over("hardware")
    )
    fastest = (
        missing.filter(pl.col("utps") >= NEAR_FASTEST * pl.col("best_utps"))
        .sort(objective, descending=larger)
        .group_by("hardware", maintain_order=True)
        .first()
        .with_columns(
            meets_floor=pl.lit(False),
            reason=pl.format(
                "best UTPS {} tokens/s < floor {}, limited by {}",
                pl.col("best_utps").round(1),
                pl.lit(f"{min_utps:g}"),
                pl.col("bottleneck"),
            ),
        )
        .drop("best_utps")
    )
    seen = pl.concat([best["hardware"], fastest["hardware"]])
    nofit = (
        df.filter(~pl.col("hardware").is_in(seen.implode()), pl.col("batch") == 1)
        .sort("memory_available_gib", descending=True)
        .group_by("hardware", maintain_order=True)
        .first()
        .with_columns(
            meets_floor=pl.lit(False),
            reason=pl.format(
                "does not fit: needs {} GiB at batch 1, the largest instance searched ({} chips) holds {} GiB",
                pl.col("memory_needed_gib").round(1),
                pl.col("chips"),
                pl.col("memory_available_gib").round(1),
            ),
        )
    )
    nan = float("nan")
    # A configuration that does not fit has no throughput or cost to report.
    nofit = nofit.with_columns(pl.lit(nan).alias(c) for c in (*THROUGHPUT_COLUMNS, *COST_COLUMNS))
    ranked = pl.concat(
        [
            best.sort(objective, descending=larger),
            fastest.sort("utps", descending=True),
            nofit.sort("memory_available_gib", descending=True),
        ],
        how="vertical_relaxed",
    )
    ranked = pl.concat([ranked, _unpriced(ev, ranked, keep, min_utps)], how="diagonal_relaxed")
    ranked = ranked.with_columns(
        rank=pl.int_range(1, ranked.height + 1),
        hardware=pl.col("hardware").cast(pl.String),
        model=pl.lit(ev.model),
        context=pl.lit(ev.context),
        mode=pl.lit(ev.mode),
        isl=pl.lit(ev.isl, pl.Int64),
        osl=pl.lit(ev.osl, pl.Int64),
    )
    return ranked.select(*RANK_COLUMNS)


def _unpriced(
    ev: Evaluation, ranked: pl.DataFrame, keep: tuple[str, ...] | None, min_utps: float
) -> pl.DataFrame:
    """Designs searched but without a price under the evaluation's cost basis (the rent basis
    without a rental offer; a rent-only chip without one), listed last with why, never dropped:
    at their smallest instance that meets the floor (else their fastest), with no cost figures."""
    perf = ev.perf.with_columns(pl.col("hardware").cast(pl.String)).filter(
        ~pl.col("hardware").is_in(ranked["hardware"].implode()), "fits"
    )
    chips = ev.chips.with_columns(pl.col("hardware").cast(pl.String))
    if keep is not None:
        perf = perf.filter(
            pl.col("hardware").is_in(chips.filter(pl.col("availability").is_in(keep))["hardware"].implode())
        )
    shown = (
        perf.sort(pl.col("utps") >= min_utps, "chips", "stps", descending=[True, False, True])
        .group_by("hardware", maintain_order=True)
        .first()
    )
    why = (
        "no price: the rent basis needs an offer in rentals.csv, and it has none"
        if ev.cost_basis == "rent"
        else "no price: rent-only (no one sells it) and rentals.csv has no offer"
    )
    nan = float("nan")
    design = chips.select(
        "hardware", "memory_technology", "memory_class", "availability", "rent_only", "price_type"
    )
    return shown.join(design, on="hardware", how="left").with_columns(
        bottleneck=_bottleneck(),
        meets_floor=pl.lit(False),
        reason=pl.lit(why),
        price_is_estimate=pl.lit(True),
        cost_basis=pl.lit("rent"),
        **{c: pl.lit(nan) for c in COST_COLUMNS},
    )


def buyable_first(ranked: pl.DataFrame) -> pl.DataFrame:
    """A buyer's view of :func:`select`: shipping designs, then announced, then hypothetical ones,
    each group in its rank order (the ``rank`` column keeps the position among all designs)."""
    order = pl.col("availability").replace_strict(
        list(AVAILABILITY), list(range(len(AVAILABILITY))), return_dtype=pl.Int64
    )
    return ranked.sort(order, "rank", maintain_order=True)


def rank(question: Question | str, objective: str = "tokens_per_usd", **fields) -> pl.DataFrame:
    """Rank every hardware design for a question under its UTPS floor (module doc and
    :func:`evaluate`); ``question`` may be a model's name with the question's ``fields``."""
    q = as_question(question, **fields)
    return select(evaluate(q), q.min_utps, objective, q.availability)
