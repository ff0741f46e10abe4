"""Buyable first: the ranking's answer for a buyer, and owning against renting.

A buyer wants the best chip that ships and, beside it, the best design of any kind, so the
price of waiting for an announced or hypothetical design is plain. Every ranking row says its
design's ``availability`` (hardware.csv).
"""

from __future__ import annotations

import polars as pl

from tco.questions.tradeoffs import METRIC_WORDS
from tco.reporting.formatting import usd


def chips(n: int) -> str:
    """``n`` chips in words: ``1 chip``, ``8 chips``."""
    return f"{n:,} chip" + ("" if n == 1 else "s")


def design_label(name: str, availability: str) -> str:
    """``name`` as a person reads it: marked when it cannot be bought today."""
    return name if availability == "shipping" else f"{name} ({availability})"


def can_buy() -> pl.Expr:
    """Rows of a ranking one can order: shipping, never rent-only (TPUs, Trainium: no one sells
    them), and, when owned, priced by the market or its vendor."""
    purchasable = (pl.col("cost_basis") == "rent") | (pl.col("price_type") != "bottom-up")
    return (pl.col("availability") == "shipping") & ~pl.col("rent_only") & purchasable


def buyer_answer(ranked: pl.DataFrame, model: str, min_utps: float, objective: str) -> str:
    """The best chip a buyer can order and, beside it, the best design of any kind, in one sentence.

    ``ranked`` is :func:`tco.questions.ranking.select`'s ranking with an ``availability`` column. A chip one
    can buy ships and, when owned, has a market or vendor-derived price: a chip that is only
    rented (TPUs) has no owner's price beyond the bottom-up estimate and is not offered as a
    purchase.
    """
    meeting = ranked.filter("meets_floor")
    floor = f"at least {min_utps:,.0f} tokens/s per user" if min_utps > 0 else "no floor on tokens/s per user"
    if meeting.height == 0:
        return f"No design in the catalog serves {model} with {floor}; the tables say what each one reaches."
    words = METRIC_WORDS[objective][1]
    buyable = meeting.filter(can_buy())
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


def own_against_rent(own: pl.DataFrame, rent: pl.DataFrame) -> pl.DataFrame:
    """Owning against renting, side by side, for the designs that meet the floor either way.

    ``own`` and ``rent`` are :func:`tco.questions.ranking.select` rankings of one question under each cost
    basis. Columns: hardware, availability, usd_per_mtok_own, usd_per_mtok_rent,
    usd_per_chip_hour_own, usd_per_chip_hour_rent (null where the design has no rental price),
    in the order of ``own``.
    """
    keep = ["hardware", "usd_per_mtok", "usd_per_chip_hour"]
    return (
        own.filter("meets_floor")
        .select(*keep, "availability")
        .join(rent.filter("meets_floor").select(keep), on="hardware", how="left", suffix="_rent")
        .rename({"usd_per_mtok": "usd_per_mtok_own", "usd_per_chip_hour": "usd_per_chip_hour_own"})
        .select(
            "hardware",
            "availability",
            "usd_per_mtok_own",
            "usd_per_mtok_rent",
            "usd_per_chip_hour_own",
            "usd_per_chip_hour_rent",
        )
    )
