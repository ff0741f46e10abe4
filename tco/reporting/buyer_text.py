"""Buyable first: the ranking's answer for a buyer, and owning against renting.

A buyer wants the best chip that ships and, beside it, the best design of any kind, so the
price of waiting for an announced or hypothetical design is plain. Every ranking row says its
design's ``availability`` (hardware.csv).
"""

from __future__ import annotations

import polars as pl

from perfmodel.catalog.schemas import AVAILABILITY
from tco.questions.tradeoffs import METRIC_WORDS
from tco.reporting.formatting import usd


def chips(n: int) -> str:
    """``n`` chips in words: ``1 chip``, ``8 chips``."""
    return f"{n:,} chip" + ("" if n == 1 else "s")


def design_label(name: str, availability: str, rent: bool = False) -> str:
    """``name`` as a person reads it: marked when it cannot be bought today (``rent``: it ships
    but is only rented, see :func:`rent_only`)."""
    if rent:
        return f"{name} (rent only)"
    return name if availability == "shipping" else f"{name} ({availability})"


def rent_only() -> pl.Expr:
    """Rows of a ranking or an evaluation's frame for a chip no one sells, only rents (TPUs,
    Trainium: ``rent_only`` in hardware_economics.csv); it is priced by its rental offers."""
    return pl.col("rent_only")


def can_buy() -> pl.Expr:
    """Rows of a ranking one can order: shipping, never rent-only (TPUs, Trainium: no one sells
    them), and, when owned, priced by the market or its vendor."""
    priced = (pl.col("cost_basis") == "rent") | (pl.col("price_type") != "bottom-up")
    return (pl.col("availability") == "shipping") & ~rent_only() & priced


def design_text() -> pl.Expr:
    """Each row's design as a person reads it (:func:`design_label` over a frame): a chip that
    cannot be bought today is marked with its availability, a rental-only chip owned as rent only."""
    return (
        pl.when(rent_only())
        .then(pl.format("{} (rent only)", "hardware"))
        .when(pl.col("availability") == "shipping")
        .then(pl.col("hardware"))
        .otherwise(pl.format("{} ({})", "hardware", "availability"))
        .alias("design")
    )


def buyer_order(ranked: pl.DataFrame) -> pl.DataFrame:
    """A ranking in the order a buyer reads it: the chips one can buy first (the first is the
    answer of :func:`buyer_answer`), then rental-only, announced and hypothetical designs, each
    group in rank order (the ``rank`` column keeps the position among all designs)."""
    group = (
        pl.when(can_buy())
        .then(0)
        .when(pl.col("availability") == "shipping")
        .then(1)
        .otherwise(1 + pl.col("availability").replace_strict(list(AVAILABILITY), range(len(AVAILABILITY))))
    )
    return ranked.sort(group, "rank", maintain_order=True)


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
    top = meeting.with_columns(design_text()).row(0, named=True)
    if buyable.height and top["hardware"] == b["hardware"]:
        return text + " No design of any kind, announced or hypothetical, does better."
    ratio = top[objective] / b[objective] if buyable.height else None
    better = "" if ratio is None else f", {max(ratio, 1 / ratio):.1f}x better on {words}"
    return (
        text
        + f" Best design of any kind: {top['design']}, {usd(top['usd_per_mtok'])} per million tokens{better}."
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


def no_gain_reason(t: dict) -> str | None:
    """Why a trade-off (:func:`tco.questions.tradeoffs.tradeoff`) gains nothing, in words; None when
    it gains. The starting point is then already the best configuration by the objective among those
    that keep at least ``1 - slowdown`` of its speed per user."""
    if t["tradeoff"] != t["baseline"]:
        return None
    verb, words = METRIC_WORDS[t["objective"]]
    floor = (1.0 - t["slowdown"]) * t["baseline"]["utps"]
    if t["slowdown"] == 0:
        return f"No slowdown accepted: the starting point is the answer (1.00x). Accept a slowdown to see what it {verb}."
    return (
        f"1.00x: no configuration of {t['hardware']} with at most {t['max_chips']:,} chips that keeps at least "
        f"{floor:,.0f} tokens/s per user ({t['slowdown']:.0%} slower) has better {words} than the starting "
        "point, which is already the best at its speed. Accept a larger slowdown or allow larger instances."
    )
