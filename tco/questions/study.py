"""The study's questions: the memory-technology table, which designs reach a UTPS target (e.g.
10,000 tokens/s per user) at what cost, and how what-if designs compare with the best DRAM design on tokens per dollar, per joule and per gCO2e.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from perfmodel.api.decoding import decode
from perfmodel.api.setup import prepare
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import Catalogs
from tco.options import CONTEXTS, EFFICIENCY_OBJECTIVES, FLOORS, OBJECTIVES
from tco.questions.question import Question
from tco.questions.ranking import Evaluation, evaluate, rank, select


def memory_table(
    model: str = "llama3-405b",
    designs: Sequence[str] = ("xpu-hbm3", "xpu-hbm4", "xpu-3d-dram", "xpu-sram", "xpu-cows"),
    chips: int = 128,
    context: int = 131072,
    scenario: str = "liminal-2025",
    catalogs: Catalogs | None = None,
) -> pl.DataFrame:
    """UTPS of ``model`` on each design at ``chips`` chips (tensor-parallel, one user), and the
    chips it needs to hold one instance at all (what limits SRAM designs).

    Columns: hardware, memory_technology, chips, fits, memory_needed_gib, memory_available_gib,
    utps, chips_to_fit, utps_at_chips_to_fit. Tensor parallelism beyond the heads splits each
    head evenly, so the UTPS at the chips to fit is evaluated at the next multiple of the heads.
    """
    catalogs = catalogs or load_catalogs()
    setup = prepare(catalogs, scenario, models=[model], hardware=list(designs))
    rows = []
    for hw in designs:
        r = decode(model, hw, tp=chips, batch=1, context=context, setup=setup)
        per_chip = r.memory_available.m / chips
        need = max(chips, math.ceil(r.memory_needed.m / per_chip))
        heads = int(setup.models.heads[setup.models.index(model)])
        deployable = need if heads % need == 0 else math.ceil(need / heads) * heads
        at_fit = decode(model, hw, tp=deployable, batch=1, context=context, setup=setup)
        rows.append(
            {
                "hardware": hw,
                "memory_technology": catalogs["hardware"].row(hw)["memory_technology"],
                "chips": chips,
                "fits": r.fits,
                "memory_needed_gib": r.memory_needed.m,
                "memory_available_gib": r.memory_available.m,
                "utps": r.utps.m,
                "chips_to_fit": math.ceil(r.memory_needed.m / per_chip),
                "utps_at_chips_to_fit": at_fit.utps.m,
            }
        )
    return pl.DataFrame(rows)


def utps_target(
    target: float = 10000.0,
    models: Sequence[str] | None = None,
    contexts: Sequence[int] = CONTEXTS,
    catalogs: Catalogs | None = None,
    **kwargs,
) -> pl.DataFrame:
    """For each design, model and context: can it reach ``target`` UTPS, and at what cost.

    Columns: model, context, hardware, memory_class, reaches, utps, chips, usd_per_mtok,
    gco2e_per_mtok, reason.
    """
    catalogs = catalogs or load_catalogs()
    frames = []
    for model in models or catalogs["models"].names():
        for context in contexts:
            r = rank(model, context=context, min_utps=target, catalogs=catalogs, **kwargs)
            frames.append(
                r.select(
                    pl.lit(model).alias("model"),
                    pl.lit(context).alias("context"),
                    "hardware",
                    "memory_class",
                    pl.col("meets_floor").alias("reaches"),
                    "utps",
                    "chips",
                    "usd_per_mtok",
                    "gco2e_per_mtok",
                    "reason",
                )
            )
    return pl.concat(frames)


def what_if_designs(catalogs: Catalogs) -> list[str]:
    """The catalog's what-if designs: hardware rows whose vendor is ``What-if design``."""
    hw = catalogs["hardware"].df
    return hw.filter(pl.col("vendor") == "What-if design")["name"].to_list()


def against_best_dram(
    designs: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    contexts: Sequence[int] = CONTEXTS,
    floors: Sequence[float] = FLOORS,
    objectives: Sequence[str] = EFFICIENCY_OBJECTIVES,
    catalogs: Catalogs | None = None,
    **kwargs,
) -> pl.DataFrame:
    """Each of ``designs`` (default: :func:`what_if_designs`) against the best DRAM design not among
    them, for every model and context (``kwargs`` go to ``tco.questions.ranking.evaluate``); see :func:`versus_best_dram`.
    """
    catalogs = catalogs or load_catalogs()
    designs = list(designs or what_if_designs(catalogs))
    for name in designs:
        catalogs["hardware"].row(name)  # an unknown name raises, listing the valid ones
    return pl.concat(
        versus_best_dram(
            evaluate(Question(model, context, catalogs=catalogs, **kwargs)), designs, floors, objectives
        )
        for model in models or catalogs["models"].names()
        for context in contexts
    )


def versus_best_dram(
    ev: Evaluation,
    designs: Sequence[str],
    floors: Sequence[float] = FLOORS,
    objectives: Sequence[str] = EFFICIENCY_OBJECTIVES,
) -> pl.DataFrame:
    """For each UTPS floor and objective, the ``designs`` beside the best DRAM design outside them
    that meets the floor, each at its own best configuration under the floor (``tco.questions.ranking.select``).

    ``advantage`` = design / reference for a larger-is-better objective, reference / design
    otherwise: above 1 the design wins. Null when either side cannot meet the floor (``reason``).
    Columns: model, context, min_utps, objective, hardware, value, reference, reference_value,
    advantage, reason.
    """
    reduced = {o: replace(ev, frame=f) for o, f in _frontiers(ev.frame, objectives).items()}
    return pl.concat(
        _versus(select(reduced[objective], floor, objective), list(designs), objective, floor).select(
            pl.lit(ev.model).alias("model"), pl.lit(ev.context).alias("context"), pl.all()
        )
        for floor in floors
        for objective in objectives
    )


def _frontiers(frame: pl.DataFrame, objectives: Sequence[str]) -> dict[str, pl.DataFrame]:
    """For each objective, the rows ``tco.questions.ranking.select`` can pick under any floor: per design,
    the fitting configurations that no faster one beats on the objective (the UTPS-objective
    frontier), plus the batch-1 rows of a design with no fitting configuration (its "does not
    fit" line). Selecting from these gives the same answer as from all rows, many times faster.
    """
    slim = (
        frame.select("hardware", "utps", "fits", "batch", *set(objectives))
        .with_row_index("_row")
        .filter("fits")
        .sort("utps", descending=True)
    )
    unfit = pl.col("batch") == 1
    unfit &= ~pl.col("hardware").is_in(slim["hardware"].unique().implode())
    out = {}
    for objective in objectives:
        value = pl.col(objective) if OBJECTIVES[objective] else -pl.col(objective)
        rows = slim.filter(value >= value.cum_max().over("hardware"))["_row"]
        out[objective] = frame.filter(pl.int_range(pl.len()).is_in(rows.implode()) | unfit)
    return out


def _versus(ranked: pl.DataFrame, designs: list[str], objective: str, floor: float) -> pl.DataFrame:
    """One ranking: the designs' rows beside the best DRAM design outside them that meets the floor."""
    dram = ranked.filter(
        pl.col("meets_floor") & (pl.col("memory_class") == "DRAM") & ~pl.col("hardware").is_in(designs)
    )
    ref = dram.row(0, named=True) if dram.height else {"hardware": None, objective: None}
    value = pl.when(pl.col("meets_floor")).then(pl.col(objective))
    ref_value = pl.lit(ref[objective], dtype=pl.Float64)
    why = (
        pl.when(~pl.col("meets_floor"))
        .then(pl.col("reason"))
        .when(ref_value.is_null())
        .then(pl.lit(f"no other DRAM design meets the floor of {floor:g} tokens/s"))
        .otherwise(pl.lit(""))
    )
    return ranked.filter(pl.col("hardware").is_in(designs)).select(
        pl.lit(float(floor)).alias("min_utps"),
        pl.lit(objective).alias("objective"),
        "hardware",
        value.alias("value"),
        pl.lit(ref["hardware"], dtype=pl.String).alias("reference"),
        ref_value.alias("reference_value"),
        (value / ref_value if OBJECTIVES[objective] else ref_value / value).alias("advantage"),
        why.alias("reason"),
    )
