"""Buyable first: which designs a buyer can order, and the ranking's answer for a buyer.

A buyer wants the best chip that ships and, beside it, the best design of any kind, so the
price of waiting for an announced or hypothetical design is plain.
"""

from __future__ import annotations

import polars as pl

from perfmodel.catalog_set import Catalogs
from tco.formatting import usd
from tco.tradeoff import METRIC_WORDS

#: Availability of a design, best first: what a buyer can order today, then what is announced.
AVAILABILITY = ("shipping", "announced", "hypothetical")
#: Vendors of designs no one sells: the study's xPUs and the catalog's what-if designs. Used only
#: while hardware.csv has no ``availability`` column of its own.
HYPOTHETICAL_VENDORS = ("Liminal study", "What-if design")


def with_availability(frame: pl.DataFrame, catalogs: Catalogs) -> pl.DataFrame:
    """``frame`` with an ``availability`` column per ``hardware`` (kept if it has one already).

    From hardware.csv's ``availability`` column where it has one; otherwise a design of a
    :data:`HYPOTHETICAL_VENDORS` vendor is hypothetical and every other design ships.
    """
    if "availability" in frame.columns:
        return frame
    hw = catalogs["hardware"].df
    if "availability" in hw.columns:
        mapping = dict(hw.select("name", "availability").iter_rows())
    else:
        mapping = {
            name: "hypothetical" if vendor in HYPOTHETICAL_VENDORS else "shipping"
            for name, vendor in hw.select("name", "vendor").iter_rows()
        }
    return frame.with_columns(
        availability=pl.col("hardware").cast(pl.String).replace_strict(mapping, default="hypothetical")
    )


def chips(n: int) -> str:
    """``n`` chips in words: ``1 chip``, ``8 chips``."""
    return f"{n:,} chip" + ("" if n == 1 else "s")


def design_label(name: str, availability: str) -> str:
    """``name`` as a person reads it: marked when it cannot be bought today."""
    return name if availability == "shipping" else f"{name} ({availability})"


def buyer_answer(ranked: pl.DataFrame, model: str, min_utps: float, objective: str) -> str:
    """The best chip a buyer can order and, beside it, the best design of any kind, in one sentence.

    ``ranked`` is :func:`tco.rank.select`'s ranking with an ``availability`` column.
    """
    meeting = ranked.filter("meets_floor")
    floor = f"at least {min_utps:,.0f} tokens/s per user" if min_utps > 0 else "no floor on tokens/s per user"
    if meeting.height == 0:
        return f"No design in the catalog serves {model} with {floor}; the tables say what each one reaches."
    words = METRIC_WORDS[objective][1]
    buyable = meeting.filter(pl.col("availability") == "shipping")
    if buyable.height:
        b = buyable.row(0, named=True)
        text = (
            f"For {model} with {floor}, the best chip you can buy by {words} is {b['hardware']}: "
            f"{usd(b['usd_per_mtok'])} per million tokens on {chips(b['chips'])}, {b['users']:,} users "
            f"at {b['utps']:,.0f} tokens/s each."
        )
    else:
        text = f"No chip you can buy today serves {model} with {floor}."
    top = meeting.row(0, named=True)
    if buyable.height and top["hardware"] == b["hardware"]:
        return text + " No design of any kind, announced or hypothetical, does better."
    ratio = top[objective] / b[objective] if buyable.height else None
    better = "" if ratio is None else f", {max(ratio, 1 / ratio):.1f}x better on {words}"
    return (
        text + f" Best design of any kind: {design_label(top['hardware'], top['availability'])}, "
        f"{usd(top['usd_per_mtok'])} per million tokens{better}."
    )
