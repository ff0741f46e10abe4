"""A fleet plan in words and tables: the CLI's text, the report's section, the app's sentence."""

from __future__ import annotations

from tco.formatting import si, usd
from tco.plan import Plan

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
        f"From {span}, the cheapest fleet is {b['fleet']}: {b['servers']:,} servers ({b['chips']:,} chips) "
        f"at the peak, {usd(b['capex_usd'])} of purchases, a TCO of {usd(b['tco_usd'])} "
        f"({usd(b['usd_per_mtok'])} per million output tokens), {b['peak_mw']:.2f} MW provisioned "
        f"and {b['tco2e']:,.0f} tCO2e; headroom {p.headroom}."
    )


def _rows(p: Plan) -> list[list[str]]:
    return [
        [
            r["fleet"],
            f"{r['servers']:,}",
            f"{r['chips']:,}",
            usd(r["capex_usd"]),
            usd(r["tco_usd"]),
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
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(_HEADER)]
    lines = [plan_sentence(p), ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(_HEADER, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    if p.unserved.height:
        lines += ["", "cannot serve the forecast:"] + [f"  {line}" for line in _unserved_lines(p)]
    return "\n".join(lines)


def plan_markdown(p: Plan, chart_files: dict[str, str] | None = None) -> str:
    """A report section: the sentence, the best fleets, the monthly chart(s), the excluded chips.

    ``chart_files``: chart title -> image path relative to the Markdown file.
    """
    lines = ["## Fleet plan", "", plan_sentence(p), ""]
    lines.append("| " + " | ".join(_HEADER) + " |")
    lines.append("|" + "---|" * len(_HEADER))
    lines += ["| " + " | ".join(row) + " |" for row in _rows(p)]
    for title, path in (chart_files or {}).items():
        lines += ["", f"![{title}]({path})"]
    if p.unserved.height:
        lines += ["", "Chips that cannot serve the forecast:", ""] + [f"- {x}" for x in _unserved_lines(p)]
    lines += [
        "",
        "TCO charges each owned chip the ranking's capital and operating cost per hour (purchases "
        "less the book value left at the horizon's end, plus energy, facility and maintenance); "
        "capex is the cash spent on purchases. Provisioned MW: every owned chip at TDP with host "
        "overhead and PUE.",
    ]
    return "\n".join(lines)
