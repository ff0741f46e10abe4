"""Numbers for people: ``$0.042``, ``1.2 M``, ``31.9 tok/s`` (CLI tables, reports and the app)."""

from __future__ import annotations

import math

import polars as pl

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float | None, digits: int = 3) -> str:
    """``1234567 -> '1.23 M'``; NaN/None -> '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    for scale, prefix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}"
    return f"{value:.{digits}g}"


def usd(value: float | None) -> str:
    """Dollars to 4 significant digits: ``$0.04213``, ``$3.374``, ``$27,500``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        return f"${value:,.0f}"
    return f"${value:.4g}"


def plan_text(r: dict) -> str:
    """A ranking row's serving plan in words: ``aggregated``, or its pools (instances x TP:EP,
    ``dp`` for attention data-parallel; the decode pool's layout is the row's), with its MTP."""
    if r.get("plan") in (None, "aggregated"):
        text = "aggregated"
    else:
        dp = ":dp" if r["dp_attention"] else ""
        text = f"prefill {r['prefill_instances']}x{r['prefill']} + decode {r['decode_instances']}x{r['tp']}:{r['ep']}{dp}"
    return text + (f", MTP {r['mtp']}" if r.get("mtp") else "")


def rank_rows(ranked: pl.DataFrame) -> list[list[str]]:
    """Each design's row of the ranking as formatted cells (4 significant digits)."""
    rows = []
    for r in ranked.iter_rows(named=True):
        rows.append(
            [
                str(r["rank"]),
                r["hardware"]
                + (" [hypothetical]" if r.get("availability") == "hypothetical" else "")
                + (" *" if r["price_is_estimate"] else ""),
                f"{r['memory_class']}/{r['memory_technology']}",
                "–" if r["chips"] is None else f"{r['chips']} ({r['tp']}x{r['pp']}x{r['ep']})",
                plan_text(r),
                "–" if r["batch"] is None else str(r["batch"]),
                "–" if r["engine"] in (None, "none") else r["engine"],
                si(r["utps"], 4),
                si(r["stps"], 4),
                si(r["tokens_per_usd"], 4),
                usd(r["usd_per_mtok"]),
                si(r["tokens_per_joule"], 4),
                si(r["gco2e_per_mtok"], 4),
                r["reason"] or r["bottleneck"],
                *(_spread(r) if "usd_per_mtok_p10" in r else ()),
            ]
        )
    return rows


def _spread(r: dict) -> tuple[str, str]:
    """The uncertainty cells: $/Mtok p10-p90 and the probability of being the cheapest."""
    if r["usd_per_mtok_p10"] is None:
        return "–", "–"
    return f"{usd(r['usd_per_mtok_p10'])}-{usd(r['usd_per_mtok_p90'])}", f"{r['p_cheapest']:.0%}"


RANK_HEADER = [
    "#",
    "hardware",
    "memory",
    "chips (tp x pp x ep)",
    "plan",
    "batch",
    "engine",
    "UTPS [tok/s]",
    "STPS [tok/s]",
    "tokens/$",
    "$/Mtok",
    "tokens/J",
    "gCO2e/Mtok",
    "limited by / why not",
]


def rank_table(ranked: pl.DataFrame, objective: str) -> str:
    """The ranking as an aligned text table with units in the headers."""
    rows = rank_rows(ranked)
    head = RANK_HEADER + (["$/Mtok p10-p90", "P(cheapest)"] if "usd_per_mtok_p10" in ranked.columns else [])
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    basis = ranked["cost_basis"][0] if "cost_basis" in ranked.columns and ranked.height else "own"
    lines.append(
        f"ranked by {objective}; cost basis {basis}; * price is an estimate (vendor-derived or bottom-up); "
        "[hypothetical] marks a design no one can buy"
    )
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):  # an infinite bound (no crossover, any latency) is no figure
        return si(value, 4) if math.isfinite(value) else ("unbounded" if value > 0 else "-unbounded")
    return str(value)


def text_table(df: pl.DataFrame) -> str:
    """Every row and column of ``df`` as an aligned text table: whole names, 4 significant
    digits with SI prefixes (``1.234 M``), ``–`` for a missing value, ``unbounded`` for an
    infinite bound, no truncation and no frame decoration."""
    rows = [[_cell(v) for v in row] for row in df.iter_rows()]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(df.columns)]
    numeric = [t.is_numeric() for t in df.dtypes]
    lines = ["  ".join(h.ljust(w) for h, w in zip(df.columns, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric, strict=True)
        ).rstrip()
        for r in rows
    ]
    return "\n".join(lines)
