"""What-if designs and the study's questions: designs from parts, the memory-technology table,
which designs reach a UTPS target (e.g. 10,000 tokens/s per user) at what cost, and how what-if
designs compare with the best DRAM design on tokens per dollar, per joule and per gCO2e.

A design is a template chip with parts changed: ``memory`` (a technology of
memory_technologies.csv) x ``stacks`` gives bandwidth and capacity (per-stack figures of that
technology), ``sync_us`` the collective latency, and any hardware column may be set directly.
Price (bottom-up), power and embodied carbon then follow from the catalogs as for any chip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl

from perfmodel.api import decode, prepare
from perfmodel.catalog import InvalidInput
from perfmodel.catalog_set import Catalogs
from perfmodel.units import Q_
from tco.catalog_tools import add_chip, chip_rows, resembling
from tco.catalogs import load_catalogs
from tco.options import CONTEXTS, EFFICIENCY_OBJECTIVES, FLOORS, OBJECTIVES
from tco.rank import Evaluation, evaluate, rank, select

DESIGN_KEYS = ("memory", "stacks", "sync_us")
#: Most memory stacks one package carries in a design (today's largest carry 8 to 12).
MAX_STACKS = 64


def design_settings(catalogs: Catalogs, settings: Sequence[str]) -> tuple[list[str], list[str]]:
    """Translate design keys (memory, stacks, sync_us) into hardware columns.

    Returns (column settings for :func:`tco.catalog_tools.add_chip`, derivation lines).
    """
    pairs = dict(s.split("=", 1) for s in settings if "=" in s)
    bad = [s for s in settings if "=" not in s]
    if bad:
        raise InvalidInput(f"--set expects key=value, got {bad[0]!r}")
    columns = {k: v for k, v in pairs.items() if k not in DESIGN_KEYS}
    derivation = []
    if "memory" in pairs or "stacks" in pairs:
        if not ("memory" in pairs and "stacks" in pairs):
            raise InvalidInput("memory and stacks go together: --set memory=HBM4 --set stacks=8")
        tech = catalogs["memory_technologies"].row(pairs["memory"])
        try:
            stacks = int(pairs["stacks"])
        except ValueError:
            raise InvalidInput(f"stacks must be a whole number, got {pairs['stacks']!r}") from None
        if not 1 <= stacks <= MAX_STACKS:
            raise InvalidInput(f"stacks must be a whole number from 1 to {MAX_STACKS}, got {stacks}")
        if tech["stack_bw"] is None or tech["stack_capacity"] is None:
            raise InvalidInput(
                f"{tech['name']} has no per-stack bandwidth and capacity in memory_technologies.csv"
            )
        stack_bw = Q_(tech["stack_bw"], "B/s").to("TB/s").magnitude
        stack_cap = Q_(tech["stack_capacity"], "B").to("GiB").magnitude
        bw, cap = stacks * stack_bw, stacks * stack_cap
        columns |= {
            "memory_technology": tech["name"],
            "mem_bw": f"{bw:.10g} TB/s",
            "mem_capacity": f"{cap:.10g} GiB",
        }
        derivation.append(
            f"mem_bw = {stacks} x {stack_bw:g} TB/s = {bw:g} TB/s; "
            f"mem_capacity = {stacks} x {stack_cap:g} GiB = {cap:g} GiB ({tech['name']})"
        )
    if "sync_us" in pairs:
        columns["sync_latency"] = f"{pairs['sync_us']} us"
        derivation.append(f"sync_latency = {pairs['sync_us']} us")
    return [f"{k}={v}" for k, v in columns.items()], derivation


def _design_columns(
    catalogs: Catalogs, template: str, settings: Sequence[str]
) -> tuple[list[str], list[str]]:
    columns, derivation = design_settings(catalogs, settings)
    text = "; ".join(derivation) or "no derived figures"
    columns.append(f"source=user design from {template}: {text}; price from the bottom-up estimate")
    return columns, derivation


def new_design(directory: Path | str, name: str, template: str, settings: Sequence[str]) -> dict:
    """Write design ``name`` into the catalog folder ``directory``; returns rows and derivation."""
    folder = Path(directory)
    columns, derivation = _design_columns(
        load_catalogs(folder if folder.is_dir() else None), template, settings
    )
    return add_chip(folder, name, template, columns) | {"derivation": derivation}


def design_overrides(
    catalogs: Catalogs, name: str, template: str, settings: Sequence[str]
) -> tuple[dict[str, bytes], list[str]]:
    """Catalog overrides (CSV bytes) that add design ``name`` to ``catalogs``, and its derivation.

    In the calibrated mode the design serves with the achieved efficiencies, and draws the power,
    of the measured chip its template resembles (``resembles`` rows in efficiencies.csv and
    power_calibration.csv, never a silent 1.0).
    """
    columns, derivation = _design_columns(catalogs, template, settings)
    raw = {cat: catalogs[cat].raw for cat in ("hardware", "hardware_economics")}
    return chip_rows(raw, name, template, columns) | resembling(catalogs, name, template), derivation


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
            r = rank(model, context, target, catalogs=catalogs, **kwargs)
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
    them, for every model and context (``kwargs`` go to ``tco.rank.evaluate``); see :func:`versus_best_dram`.
    """
    catalogs = catalogs or load_catalogs()
    designs = list(designs or what_if_designs(catalogs))
    for name in designs:
        catalogs["hardware"].row(name)  # an unknown name raises, listing the valid ones
    return pl.concat(
        versus_best_dram(evaluate(model, context, catalogs=catalogs, **kwargs), designs, floors, objectives)
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
    that meets the floor, each at its own best configuration under the floor (``tco.rank.select``).

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
    """For each objective, the rows ``tco.rank.select`` can pick under any floor: per design,
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
