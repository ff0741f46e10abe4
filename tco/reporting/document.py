"""A report a person can act on: ranking, trade-off, cost and carbon, with its assumptions.

One section per (model, context): the answer in a sentence, the ranking table, the trade-off
sentences ("Running 10% slower per user raises tokens per dollar 6.3x on xpu-hbm3"), the
UTPS-efficiency frontier, and the cost and carbon breakdowns. The same content is written as
Markdown (charts as PNG files beside it) and as one self-contained HTML file (charts inline as
SVG), plus every chart as PNG and SVG. The header records everything needed to reproduce it.

Safe by construction: every text is escaped for HTML (element text and attributes) and for
Markdown (which passes raw HTML through), and file names are slugs of letters, digits, ``.``,
``_`` and ``-`` that cannot leave the output folder (a model named ``../x`` writes ``x-...``).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import altair as alt
import polars as pl
import vl_convert as vlc
from tqdm import tqdm

from perfmodel.api.sweeps import bandwidth_sweep, latency_sweep
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import Catalogs
from perfmodel.inputs import InvalidInput
from perfmodel.outputs import write_output
from perfmodel.units import Q_
from tco.planning.fleet import Plan
from tco.questions.cost_curves import buyer_curves
from tco.questions.question import Question
from tco.questions.ranking import Evaluation, evaluate, select
from tco.questions.tradeoffs import frontier, tradeoff
from tco.reporting.charts import (
    buyer_chart,
    carbon_breakdown_chart,
    cost_breakdown_chart,
    frontier_chart,
    sweep_chart,
)
from tco.reporting.fleet_text import plan_section
from tco.reporting.formatting import RANK_HEADER, rank_rows, usd
from tco.reporting.workbook import Answer, workbook

#: Frontier points more than this factor below a design's best metric are left off the chart
#: (they are configurations that add hundreds of chips for a few percent of UTPS).
FRONTIER_SPAN = 100.0
#: Designs drawn on a section's frontier chart (the best-ranked ones).
FRONTIER_DESIGNS = 8
#: The study's sensitivity analyses in each section: this chip's other figures, at these TPs,
#: under the study's own assumptions (scenario liminal-2025).
SWEEP_BASE = "xpu-hbm3"
SWEEP_TP = (8, 128)


@dataclass
class Section:
    """Everything one (model, context) section shows."""

    title: str
    slug: str
    answer: str
    ranked: pl.DataFrame
    tradeoffs: list[dict]
    charts: dict[str, alt.Chart]
    estimates: list[str] = field(default_factory=list)
    evaluation: Evaluation | None = None
    min_utps: float = 0.0


def answer_sentence(ranked: pl.DataFrame, model: str, min_utps: float, objective: str) -> str:
    """The ranking's answer in one sentence."""
    meeting = ranked.filter("meets_floor")
    floor = (
        f"a floor of {min_utps:,.0f} tokens/s per user" if min_utps > 0 else "no floor on tokens/s per user"
    )
    if meeting.height == 0:
        return f"No design in the catalog serves {model} with {floor}; the table says what each one reaches."
    top = meeting.row(0, named=True)
    est = " (estimated price)" if top["price_is_estimate"] else ""
    return (
        f"For {model} with {floor}, {top['hardware']}{est} ranks first by {objective.replace('_', ' ')}: "
        f"{usd(top['usd_per_mtok'])} and {top['gco2e_per_mtok']:,.1f} gCO2e per million tokens, "
        f"{top['tokens_per_joule']:.3g} tokens per joule, on {top['chips']} chips serving {top['users']:,} users "
        f"at {top['utps']:,.0f} tokens/s each. {meeting.height} of {ranked.height} designs meet the floor."
    )


def build_section(ev: Evaluation, min_utps: float, objective: str, slowdown: float) -> Section:
    """Rank, trade-off and charts for one evaluated (model, context)."""
    ranked = select(ev, min_utps, objective)
    fitting = set(ev.frame.filter("fits")["hardware"].cast(pl.String).unique().to_list())
    designs = [h for h in ranked["hardware"].to_list() if h in fitting]
    tradeoffs = [tradeoff(ev, h, slowdown, objective) for h in designs]
    shown = designs[:FRONTIER_DESIGNS]
    front = frontier(ev.frame, "tokens_per_usd").with_columns(pl.col("hardware").cast(pl.String))
    front = front.filter(pl.col("hardware").is_in(shown)).filter(
        pl.col("tokens_per_usd") >= pl.col("tokens_per_usd").max().over("hardware") / FRONTIER_SPAN
    )
    marks = pl.DataFrame(
        [
            {
                "utps": t[k]["utps"],
                "tokens_per_usd": t[k]["tokens_per_usd"],
                "label": f"{t['hardware']} {name}",
            }
            for t in tradeoffs[:1]
            for k, name in (("baseline", "fastest"), ("tradeoff", f"-{slowdown:.0%}"))
        ]
    )
    title = f"{ev.model}, {ev.workload}"
    study = {
        "base": SWEEP_BASE,
        "tps": SWEEP_TP,
        "context": ev.context,
        "scenario": "liminal-2025",
        "catalogs": ev.catalogs,
    }
    curves = buyer_curves(ev.frame)
    charts = {
        "throughput": buyer_chart(curves, "stps_per_chip", min_utps),
        "cost-curves": buyer_chart(curves, "usd_per_mtok", min_utps),
        "frontier": frontier_chart(front, "tokens_per_usd", f"{title}: UTPS against tokens per USD", marks),
        "cost": cost_breakdown_chart(ranked),
        "carbon": carbon_breakdown_chart(ranked),
        "bandwidth": sweep_chart(
            bandwidth_sweep([ev.model], **study),
            "mem_bw_tbs",
            "memory bandwidth per chip [TB/s]",
            f"UTPS against memory bandwidth ({SWEEP_BASE}, one user)",
        ),
        "latency": sweep_chart(
            latency_sweep([ev.model], **study),
            "sync_us",
            "latency of one collective [us]",
            f"UTPS against collective latency ({SWEEP_BASE}, one user)",
        ),
    }
    estimates = [
        f"{r['hardware']}: {usd(r['price_usd'])} ({r['price_type']})"
        for r in ranked.filter("price_is_estimate").iter_rows(named=True)
    ]
    return Section(
        title=title,
        slug=slug(f"{ev.model}-{ev.context}" if ev.mode == "limit" else f"{ev.model}-{ev.isl}-{ev.osl}"),
        answer=answer_sentence(ranked, ev.model, min_utps, objective),
        ranked=ranked,
        tradeoffs=tradeoffs,
        charts=charts,
        estimates=estimates,
        evaluation=ev,
        min_utps=min_utps,
    )


def header_lines(catalogs: Catalogs, ev: Evaluation, command: str) -> list[str]:
    """The assumptions every figure rests on, and how to reproduce the report."""
    s = ev.site
    kwh = Q_(1, "kWh").to("J").magnitude
    year = Q_(1, "year").to("s").magnitude
    user = catalogs.user_files()
    return [
        f"Generated {dt.date.today().isoformat()} by liminal-tco {version('liminal-tco')}.",
        f"Reproduce: `{command}`",
        f"Catalog version {catalogs.digest()} (SHA-256 of the catalog files)"
        + (f"; from the user's folder: {', '.join(user)}" if user else "; packaged defaults")
        + ".",
        f"Scenario {ev.scenario}, {ev.precision} weights; power model {ev.power_model}; "
        f"cost basis {ev.cost_basis}.",
        f"Site {s.name}: PUE {s.pue:g}, electricity {s.energy_price * kwh:.3g} USD/kWh, grid "
        f"{s.grid_intensity * kwh:.0f} gCO2e/kWh ({s.grid_region}), hardware lifetime "
        f"{s.lifetime / year:.3g} years, utilization {s.utilization:.0%}, cost of capital "
        f"{s.cost_of_capital * year:.0%}/year, facility {s.facility}.",
        (
            "Performance is a limit model (after Liminal, arXiv 2507.14397): no kernel or scheduling "
            "inefficiency, decode only (no prefill)."
            if ev.mode == "limit"
            else "Performance is the calibrated serving model: prefill and decode of a continuously batched "
            "server, deployable layouts, efficiencies fitted to public measurements (docs/model.md)."
        )
        + " Prices marked * are estimates.",
    ]


def report(
    questions: Sequence[Question],
    out: Path | str,
    *,
    objective: str = "tokens_per_usd",
    slowdown: float = 0.10,
    command: str | None = None,
    progress: bool = False,
    plan: Plan | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``report.xlsx`` (:mod:`~tco.reporting.workbook`) and
    every chart (PNG, SVG) into ``out``; returns paths.

    Each file is written whole through a temporary file renamed into place
    (:func:`perfmodel.outputs.write_output`): a full disk names the file and leaves no half of it.

    One section per question (:meth:`tco.questions.question.Question.over` makes one per model and
    context), each ranked under its floor; the catalogs of the first question serve them all.
    ``plan``: a fleet plan (:func:`tco.planning.fleet.plan`) to add as the last section.
    """
    if not questions:
        raise InvalidInput("a report needs at least one question (a model)")
    catalogs = questions[0].catalogs or load_catalogs()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sections, first, paths = [], None, {}
    for q in tqdm(questions, desc="report", disable=not progress, unit="section"):
        ev = evaluate(q.but(catalogs=catalogs))
        first = first or ev
        section = build_section(ev, q.min_utps, objective, slowdown)
        taken = {s.slug for s in sections}
        while section.slug in taken:  # two names with the same slug ("a/b", "a-b")
            section.slug += "-"
        sections.append(section)
        paths |= _write_charts(section, out)  # inside the loop: the progress bar ends when the work does
    command = command or _command(questions, objective, slowdown, out)
    header = header_lines(catalogs, first, command)
    blocks = _blocks(sections, header, objective, slowdown)
    if plan is not None:
        fleet = plan_section(plan)
        paths |= _write_charts(fleet, out)
        blocks += fleet.blocks
    md, page = out / "report.md", out / "report.html"
    write_output(md, _markdown(blocks))
    write_output(page, _html(blocks, out))
    answers = [Answer.of(s.evaluation, s.ranked, s.tradeoffs, s.min_utps) for s in sections]
    book = out / "report.xlsx"
    write_output(book, workbook(answers, plan, command=command))
    return {"markdown": md, "html": page, "workbook": book, **paths}


def _command(questions: Sequence[Question], objective: str, slowdown: float, out: Path) -> str:
    q = questions[0]
    models = list(dict.fromkeys(x.model for x in questions))
    given = list(dict.fromkeys(x.context for x in questions if x.context is not None))
    parts = ["python -m tco report --model", *models, *(["--context", *map(str, given)] if given else [])]
    parts += [f"--min-utps {q.min_utps:g}"]
    parts += [f"--region {q.site}"] if isinstance(q.site, str) and q.site else []
    parts += [f"--objective {objective}", f"--slowdown {slowdown:g}"]
    parts += [f"--scenario {q.scenario}"] if q.scenario else []
    return " ".join([*parts, f"--out {out}"])


def slug(text: str) -> str:
    """A file-name part from ``text``: runs of anything but letters, digits, ``.``, ``_`` and ``-``
    become ``-``, and no leading dot or dash (so never ``..``, a hidden file or an option)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).lstrip(".-")[:100] or "section"


def _write_charts(s: Section, out: Path) -> dict[str, Path]:
    paths = {}
    for name, chart in s.charts.items():
        spec = chart.to_json()
        for ext, render in (
            ("png", lambda j: vlc.vegalite_to_png(j, scale=2)),
            ("svg", vlc.vegalite_to_svg),
        ):
            path = out / f"{s.slug}-{name}.{ext}"
            data = render(spec)
            write_output(path, data)
            paths[f"{s.slug}-{name}.{ext}"] = path
    return paths


def _blocks(sections: list[Section], header: list[str], objective: str, slowdown: float) -> list[tuple]:
    """The report as a list of (kind, ...) blocks that both renderers walk."""
    blocks: list[tuple] = [
        ("h1", "LLM inference hardware: tokens per dollar, per joule and per gram of CO2e")
    ]
    blocks += [("list", header)]
    for s in sections:
        blocks += [("h2", s.title), ("p", s.answer), ("h3", f"Ranking by {objective.replace('_', ' ')}")]
        blocks += [("table", RANK_HEADER, rank_rows(s.ranked))]
        blocks += [("h3", "Every design at every speed (dashed: announced or hypothetical)")]
        blocks += [("chart", s.slug, "throughput"), ("chart", s.slug, "cost-curves")]
        blocks += [("h3", f"Trade-off: {slowdown:.0%} slower per user")]
        blocks += [("list", [t["sentence"] for t in s.tradeoffs])]
        blocks += [("chart", s.slug, "frontier"), ("h3", "Cost and carbon per million tokens")]
        blocks += [("chart", s.slug, "cost"), ("chart", s.slug, "carbon")]
        if s.estimates:
            blocks += [("p", "Estimated prices: " + "; ".join(s.estimates) + ".")]
        blocks += [("h3", "Limits: memory bandwidth and collective latency (the study's assumptions)")]
        blocks += [("chart", s.slug, "bandwidth"), ("chart", s.slug, "latency")]
    return blocks


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(text: str) -> str:
    """``text`` for Markdown: HTML characters as entities (Markdown passes raw HTML through, so
    ``<script>`` would run), Markdown's own syntax characters backslash-escaped, one line."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def _md_inline(text: str) -> str:
    """:func:`md_text`, except `code` spans, which stay code (shown literally by CommonMark; a
    text with ``<``, ``>`` or ``&`` is escaped whole, so no raw markup reaches any renderer)."""
    parts = text.split("`")
    if len(parts) % 2 == 0 or re.search("[<>&]", text):  # unmatched backticks, or markup: plain text
        return md_text(text)
    out = []
    for i, p in enumerate(parts):
        if i % 2:
            fence = "`" * (max((len(r) for r in re.findall("`+", p)), default=0) + 1)
            out.append(f"{fence} {' '.join(p.split())} {fence}")
        else:
            out.append(md_text(p))
    return "".join(out)


def _markdown(blocks: list[tuple]) -> str:
    lines: list[str] = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + md_text(rest[0]), ""]
        elif kind == "p":
            lines += [md_text(rest[0]), ""]
        elif kind == "list":
            lines += [f"- {_md_inline(item)}" for item in rest[0]] + [""]
        elif kind == "table":
            head, rows = rest
            esc = [[md_text(c) for c in r] for r in [head, *rows]]
            lines += ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in esc[1:]] + [""]
        elif kind == "chart":
            slug, name = rest
            lines += [f"![{name} chart]({slug}-{name}.png)", ""]
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
color:#1b1b1b;line-height:1.45}table{border-collapse:collapse;font-size:13px;margin:1em 0;width:100%}th,td{border-bottom:1px solid
#ddd;padding:4px 8px;text-align:right;white-space:nowrap}th{background:#f3f5f8;position:sticky;top:0}td:nth-child(2),
td:nth-child(3),td:last-child,th:last-child{text-align:left}td:last-child{white-space:normal;min-width:200px}
.header li{color:#444}h2{border-top:2px solid #2171b5;padding-top:.6em;margin-top:2em}.chart{margin:1em 0}"""


def _html(blocks: list[tuple], out: Path) -> str:
    body: list[str] = []
    first_list = True
    for kind, *rest in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(rest[0])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(rest[0])}</p>")
        elif kind == "list":
            cls = ' class="header"' if first_list else ""
            first_list = False
            items = "".join(f"<li>{_inline(i)}</li>" for i in rest[0])
            body.append(f"<ul{cls}>{items}</ul>")
        elif kind == "table":
            head, rows = rest
            th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
            trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")
        elif kind == "chart":
            svg = (out / f"{rest[0]}-{rest[1]}.svg").read_text(encoding="utf-8")
            anchor = html.escape(f"{rest[0]}-{rest[1]}", quote=True)
            body.append(f'<div class="chart" id="{anchor}">{svg}</div>')
    title = html.escape(blocks[0][1])
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def _inline(text: str) -> str:
    """Escape (quotes too), then render `code` spans."""
    parts = html.escape(text, quote=True).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
