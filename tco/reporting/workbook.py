"""The report as an Excel workbook for finance and procurement (written with XlsxWriter).

Sheets: Assumptions (each with its value, unit, date and source: the site's rows of
datacenter.csv and grid_carbon.csv, the scenario, the power model, the cost basis, the catalogs'
digest and every price used), Ranking (with the Monte-Carlo p10/p50/p90 of
:func:`tco.questions.monte_carlo.uncertainty`), Cost breakdown (per design and million tokens),
Trade-off (:func:`tco.questions.tradeoffs.tradeoff`) and Fleet plan by month
(:class:`tco.planning.fleet.Plan`).

Numbers are stored as numbers, with their unit in the column header. Text is never a formula:
every text cell goes through :func:`perfmodel.outputs.neutralize` (OWASP, "CSV Injection"), as
in the CSVs, and is written as a string (the writer's formula, URL and number guessing are off).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

import polars as pl
import xlsxwriter

from perfmodel.catalog.table import in_header_unit
from perfmodel.outputs import neutralize
from tco.economics.costs import Site
from tco.planning.fleet import Plan
from tco.questions.monte_carlo import uncertainty
from tco.questions.ranking import Evaluation

#: Units of the library's column names: exact names first, then by how a name ends.
UNITS = {
    "usd_per_mtok": "USD/Mtoken",
    "tokens_per_usd": "token/USD",
    "tokens_per_joule": "token/J",
    "gco2e_per_mtok": "gCO2e/Mtoken",
    "utps": "token/s per user",
    "stps": "token/s",
    "stps_per_chip": "token/s per chip",
    "usd_per_hour": "USD/hour",
    "usd_per_chip_hour": "USD/chip-hour",
    "p_cheapest": "probability",
    "output_tokens": "token",
    "slowdown": "fraction",
    "actual_slowdown": "fraction",
    "max_chips": "chips",
    "context": "token",
    "isl": "token",
    "osl": "token",
    "mw": "MW",
}
SUFFIX_UNITS = (
    ("_usd_per_mtok", "USD/Mtoken"),
    ("_gco2e_per_mtok", "gCO2e/Mtoken"),
    ("_gib", "GiB"),
    ("_usd", "USD"),
    ("_mw", "MW"),
    ("tco2e", "tCO2e"),
    ("_w", "W"),
    ("_s", "s"),
)
#: Columns of the Ranking sheet, in this order (those a frame has).
RANKING = (
    "rank",
    "model",
    "mode",
    "isl",
    "osl",
    "context",
    "design",
    "hardware",
    "availability",
    "meets_floor",
    "usd_per_mtok",
    "usd_per_mtok_p10",
    "usd_per_mtok_p50",
    "usd_per_mtok_p90",
    "tokens_per_joule",
    "tokens_per_joule_p10",
    "tokens_per_joule_p50",
    "tokens_per_joule_p90",
    "p_cheapest",
    "tokens_per_usd",
    "gco2e_per_mtok",
    "price_usd",
    "price_type",
    "price_is_estimate",
    "cost_basis",
    "chips",
    "tp",
    "pp",
    "ep",
    "batch",
    "users",
    "utps",
    "stps",
    "stps_per_chip",
    "memory_technology",
    "memory_class",
    "memory_needed_gib",
    "memory_available_gib",
    "bottleneck",
    "reason",
)
#: The figures of each end of a trade-off (baseline and trade-off point).
TRADEOFF_POINT = ("chips", "tp", "pp", "ep", "batch", "users", "utps", "stps_per_chip", "tokens_per_usd")
TRADEOFF_POINT += ("usd_per_mtok", "tokens_per_joule", "gco2e_per_mtok")
TRADEOFF_GAINS = ("gain", "gain_tokens_per_usd", "gain_tokens_per_joule", "gain_stps", "gain_gco2e_per_mtok")
#: Figures of a site in the order the sheet lists them (datacenter.csv columns, then the grid's).
SITE_ORDER = tuple(f for f in Site.__dataclass_fields__ if f not in ("name", "grid_region", "grid_intensity"))
#: Monte-Carlo draws behind the report's p10/p90 (seeded, as the app's: the same figures each time).
DRAWS = 10_000
#: Width of a column [characters]: its header's, within these bounds.
WIDTH = (10, 60)


@dataclass(frozen=True)
class Answer:
    """One (model, workload) of the workbook: what the report computed for it.

    ``ranked``: :func:`tco.questions.ranking.select` (or the rows a page shows, with its ranks);
    ``spread``: :func:`tco.questions.monte_carlo.uncertainty` of the same evaluation;
    ``tradeoffs``: :func:`tco.questions.tradeoffs.tradeoff` of each design.
    """

    evaluation: Evaluation
    ranked: pl.DataFrame
    spread: pl.DataFrame
    tradeoffs: Sequence[dict]
    min_utps: float = 0.0

    @classmethod
    def of(cls, ev: Evaluation, ranked: pl.DataFrame, tradeoffs: Sequence[dict], min_utps: float) -> Answer:
        """The answer with its spread: :data:`DRAWS` seeded draws over every design under the floor."""
        return cls(ev, ranked, uncertainty(ev, DRAWS, min_utps), tradeoffs, min_utps)


def workbook(answers: Sequence[Answer], plan: Plan | None = None, *, command: str = "") -> bytes:
    """The workbook's bytes (module doc); ``command`` reproduces it (recorded with the assumptions)."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    head = ("assumption", "value", "unit", "date", "source")
    _table(book.add_worksheet("Assumptions"), bold, head, assumption_rows(answers, command))
    ranking = ranking_frame(answers)
    _frame(book.add_worksheet("Ranking"), bold, ranking)
    keep = ("rank", "model", "isl", "osl", "context", "design", "hardware", "cost_basis", "usd_per_mtok")
    breakdown = pl.concat([_with_question(a, a.ranked) for a in answers], how="diagonal_relaxed")
    parts = [c for c in breakdown.columns if c.endswith(("_usd_per_mtok", "_gco2e_per_mtok"))]
    extra = ("gco2e_per_mtok", "usd_per_hour", "usd_per_chip_hour", "wall_power_w")
    _frame(
        book.add_worksheet("Cost breakdown"),
        bold,
        breakdown.select(c for c in (*keep, *parts, *extra) if c in breakdown.columns),
    )
    _frame(book.add_worksheet("Trade-off"), bold, tradeoff_frame(answers))
    plan_sheet = book.add_worksheet("Fleet plan by month")
    if plan is None:
        plan_sheet.write_string(0, 0, "No demand forecast was given (python -m tco report --demand FILE).")
    else:
        _frame(plan_sheet, bold, plan.monthly)
    book.close()
    return buf.getvalue()


def ranking_frame(answers: Sequence[Answer]) -> pl.DataFrame:
    """Every answer's ranking with its spread, one row per (question, design), :data:`RANKING` columns."""
    frames = []
    for a in answers:
        ranked = a.ranked.with_columns(pl.col("hardware").cast(pl.String))
        new = [c for c in a.spread.columns if c == "hardware" or c not in ranked.columns]
        spread = a.spread.select(new).with_columns(pl.col("hardware").cast(pl.String))
        frames.append(
            _with_question(a, ranked.join(spread, on="hardware", how="left", maintain_order="left"))
        )
    both = pl.concat(frames, how="diagonal_relaxed")
    return both.select(c for c in RANKING if c in both.columns)


def tradeoff_frame(answers: Sequence[Answer]) -> pl.DataFrame:
    """One row per trade-off: its question, the baseline's and the trade-off point's figures, the gains."""
    rows = [
        {k: t[k] for k in ("model", "mode", "isl", "osl", "context", "hardware", "objective")}
        | {k: t[k] for k in ("slowdown", "actual_slowdown", "max_chips")}
        | {f"{end}_{k}": t[end][k] for end in ("baseline", "tradeoff") for k in TRADEOFF_POINT}
        | {k: t[k] for k in TRADEOFF_GAINS}
        | {"sentence": t["sentence"]}
        for a in answers
        for t in a.tradeoffs
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


def assumption_rows(answers: Sequence[Answer], command: str) -> list[tuple]:
    """(assumption, value, unit, date, source) of everything the figures rest on."""
    ev = answers[0].evaluation
    cats = ev.catalogs
    user = cats.user_files()
    rows: list[tuple] = [
        ("generated", dt.date.today().isoformat(), None, None, f"liminal-tco {version('liminal-tco')}"),
        ("reproduce with", command, None, None, None),
        ("catalog version", cats.digest(), "SHA-256 prefix", None, ", ".join(user) or "packaged catalogs"),
        ("scenario", ev.scenario, None, None, _cell_of(cats["scenarios"], ev.scenario, "source")),
        ("precision of the weights", ev.precision, None, None, f"scenario {ev.scenario}"),
        ("power model", ev.power_model, None, None, "docs/model.md; power_calibration.csv"),
        ("cost basis", ev.cost_basis, None, None, "own: all-in owner cost; rent: rentals.csv"),
    ]
    for a in answers:
        e = a.evaluation
        rows += [(f"question: {e.model}", e.workload, None, None, "performance model " + e.mode)]
        rows += [(f"UTPS floor: {e.model}", a.min_utps, "token/s per user", None, "question")]
    rows += site_rows(ev)
    rows += price_rows(answers)
    return rows


def site_rows(ev: Evaluation) -> list[tuple]:
    """The site in force, figure by figure, in the catalog header's unit; a figure changed from the
    catalog's row says so and gives the catalog's value."""
    s, cats = ev.site, ev.catalogs
    centers = cats["datacenter"]
    row = centers.df.filter(pl.col("name") == s.name)
    row = row.row(0, named=True) if row.height else {}
    source = row.get("source")
    rows: list[tuple] = [("site", s.name, None, None, f"datacenter.csv: {source}" if row else "set")]
    for f in SITE_ORDER:
        value, unit = getattr(s, f), centers.header_units.get(f)
        written = row.get(f)
        if unit is not None:
            value = in_header_unit(value, centers.units[f], unit)
            written = None if written is None else in_header_unit(written, centers.units[f], unit)
        same = written == value or (
            isinstance(value, float) and written is not None and math.isclose(value, written, rel_tol=1e-9)
        )
        origin = f"datacenter.csv: {source}" if same else f"set for this result (datacenter.csv: {written})"
        rows.append((f"site: {f}", value, unit, None, origin))
    grids = cats["grid_carbon"]
    grid = grids.df.filter(pl.col("name") == s.grid_region)
    g = grid.row(0, named=True) if grid.height else {}
    intensity = in_header_unit(s.grid_intensity, grids.units["intensity"], grids.header_units["intensity"])
    text = f"grid_carbon.csv {s.grid_region} ({g.get('basis')}): {g.get('source')}" if g else "set"
    rows.append(("grid carbon intensity", intensity, grids.header_units["intensity"], g.get("year"), text))
    return rows


def price_rows(answers: Sequence[Answer]) -> list[tuple]:
    """Every chip price the ranking used, with its basis, date and source; under the rent basis
    also every rental offer of those chips (rentals.csv)."""
    ev = answers[0].evaluation
    designs = list(dict.fromkeys(h for a in answers for h in a.ranked["hardware"].cast(pl.String)))
    chips = ev.chips.with_columns(pl.col("hardware").cast(pl.String)).filter(
        pl.col("hardware").is_in(designs)
    )
    econ = ev.catalogs["hardware_economics"]
    rows = []
    for c in chips.iter_rows(named=True):
        source = _cell_of(econ, c["hardware"], "source")
        rows.append(
            (
                f"price: {c['hardware']}",
                c["price_usd"],
                "USD per chip",
                c["price_date"],
                f"{c['price_type']}: {source}",
            )
        )
    if any(a.evaluation.cost_basis == "rent" for a in answers):
        rentals = ev.catalogs["rentals"]
        offers = rentals.df.filter(pl.col("hardware").is_in(designs))
        unit = rentals.header_units["price"]
        for r in offers.iter_rows(named=True):
            rows.append(
                (
                    f"rental: {r['hardware']} ({r['provider']}, {r['term']})",
                    in_header_unit(r["price"], rentals.units["price"], unit),
                    unit,
                    r["date"],
                    r["source"],
                )
            )
    return rows


def header(column: str) -> str:
    """``column`` with its unit, e.g. ``usd_per_mtok_p10 [USD/Mtoken]`` (no unit: the name)."""
    base = column.removesuffix("_p10").removesuffix("_p50").removesuffix("_p90")
    base = base.removeprefix("baseline_").removeprefix("tradeoff_")
    unit = UNITS.get(base) or next((u for end, u in SUFFIX_UNITS if base.endswith(end)), None)
    return f"{column} [{unit}]" if unit else column


def _with_question(a: Answer, frame: pl.DataFrame) -> pl.DataFrame:
    ev = a.evaluation
    return frame.with_columns(model=pl.lit(ev.model), context=pl.lit(ev.context, pl.Int64))


def _cell_of(table, name: str, column: str):
    rows = table.df.filter(pl.col("name") == name)
    return rows[column][0] if rows.height and column in rows.columns else None


def _frame(ws, bold, df: pl.DataFrame) -> None:
    _table(ws, bold, [header(c) for c in df.columns], df.rows())


def _table(ws, bold, head: Sequence[str], rows: Sequence[Sequence]) -> None:
    """``head`` in bold over ``rows``, frozen and filterable, each column as wide as its header."""
    if not head:  # nothing to show (no design has a trade-off)
        ws.write_string(0, 0, "none")
        return
    for j, h in enumerate(head):
        ws.write_string(0, j, neutralize(h), bold)
        ws.set_column(j, j, min(max(len(h), WIDTH[0]), WIDTH[1]))
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            _cell(ws, i, j, value)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(head) - 1)


def _cell(ws, i: int, j: int, value) -> None:
    """A number as a number (NaN and infinities left blank), a truth as a boolean, anything else as
    neutralized text."""
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(i, j, value)
    elif isinstance(value, int | float):
        if math.isfinite(value):
            ws.write_number(i, j, value)
    elif isinstance(value, list | tuple):
        ws.write_string(i, j, neutralize(", ".join(map(str, value))))
    else:
        ws.write_string(i, j, neutralize(str(value)))
