"""A fleet plan in words and tables: the CLI's text, the report's section, the app's sentence."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt

from tco.planning.fleet import Plan
from tco.reporting.fleet_charts import plan_chart
from tco.reporting.formatting import si, usd

#: Fleets shown in the text and Markdown tables (the best ones; the JSON and CSV hold all).
SHOWN_FLEETS = 10
_HEADER = (
    "fleet",
    "servers (peak)",
    "chips",
    "capex [USD]",
    "TCO [USD]",
    "USD/Mtok",
    "peak MW",
    "tCO2e",
    "meets demand",
)


def plan_sentence(p: Plan) -> str:
    """The plan's answer in one sentence: the best fleet, its TCO, peak MW and emissions."""
    d = p.demand
    span = f"{d.months[0]} to {d.months[-1]} ({len(d.months)} months, {d.streams.height} workloads)"
    meeting = p.plans.filter("meets_demand")
    if meeting.height == 0:
        cap = f" under {p.max_mw:g} MW" if p.max_mw is not None else ""
        return f"No fleet of one or two chips serves the forecast{cap} from {span}."
    b = meeting.row(0, named=True)
    return (
        f"From {span}, the cheapest fleet is {_fleet(b)}: {b['servers']:,} servers ({b['chips']:,} chips) "
        f"at the peak, {usd(b['capex_usd'])} of purchases, a TCO of {usd(b['tco_usd'])} "
        f"({usd(b['usd_per_mtok'])} per million output tokens{_spread(b, '; ', '')}), "
        f"{b['peak_mw']:.2f} MW provisioned "
        f"and {b['tco2e']:,.0f} tCO2e; headroom {p.headroom}."
    )


def _spread(r: dict, before: str = " (", after: str = ")") -> str:
    """``p10-p90 $a-$b`` between ``before`` and ``after`` when uncertainty is on, else nothing."""
    if r["tco_usd_p10"] is None:
        return ""
    return f"{before}p10-p90 {usd(r['tco_usd_p10'])}-{usd(r['tco_usd_p90'])}{after}"


def _fleet(r: dict) -> str:
    """The fleet's name, marked when a chip in it cannot be bought today."""
    kinds = sorted(set(r["availability"]) - {"shipping"})
    return r["fleet"] + (f" [{', '.join(kinds)}]" if kinds else "")


def _rows(p: Plan) -> list[list[str]]:
    return [
        [
            _fleet(r),
            f"{r['servers']:,}",
            f"{r['chips']:,}",
            usd(r["capex_usd"]),
            usd(r["tco_usd"]) + _spread(r),
            usd(r["usd_per_mtok"]),
            f"{r['peak_mw']:.3g}",
            si(r["tco2e"]),
            "yes" if r["meets_demand"] else f"no: {r['reason']}",
        ]
        for r in p.plans.head(SHOWN_FLEETS).iter_rows(named=True)
    ]


def _unserved_lines(p: Plan) -> list[str]:
    return [f"{r['hardware']}: {r['reason']}" for r in p.unserved.iter_rows(named=True)]


def plan_text(p: Plan) -> str:
    """The sentence, the best fleets as an aligned table, and the chips that cannot serve."""
    rows = _rows(p)
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(_HEADER)]
    lines = [plan_sentence(p), ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(_HEADER, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    if p.unserved.height:
        lines += ["", "cannot serve the forecast:"] + [f"  {line}" for line in _unserved_lines(p)]
    return "\n".join(lines)


@dataclass(frozen=True)
class PlanSection:
    """The plan as a report section: its blocks (walked by :mod:`tco.reporting.document`) and its chart."""

    slug: str
    charts: dict[str, alt.VConcatChart]
    blocks: list[tuple]


def plan_section(p: Plan) -> PlanSection:
    """The sentence, the best fleets, the monthly chart of the best fleet, the chips left out."""
    meeting = p.plans.filter("meets_demand")
    best = (meeting if meeting.height else p.plans)["fleet"][0]
    blocks: list[tuple] = [
        ("h2", "Fleet plan"),
        ("p", plan_sentence(p)),
        ("table", list(_HEADER), _rows(p)),
        ("chart", "plan", "monthly"),
        ("p", _NOTE),
    ]
    if p.unserved.height:
        blocks += [("p", "Chips that cannot serve the forecast:"), ("list", _unserved_lines(p))]
    return PlanSection("plan", {"monthly": plan_chart(p.monthly, best)}, blocks)


_NOTE = (
    "TCO charges each owned chip the ranking's capital and operating cost per hour (purchases less "
    "the book value left at the horizon's end, plus energy, facility and maintenance); capex is the "
    "cash spent on purchases. Provisioned MW: every owned chip at TDP with host overhead and PUE. "
    "The chart shows the best fleet."
)
