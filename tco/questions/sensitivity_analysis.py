"""How the ranking moves when disputed inputs vary over their catalog low/high (a tornado table).

Factors: chip price (every chip to its own low, then its own high; under the rent basis, its
lowest and highest rental offer), energy price, PUE,
hardware lifetime, utilization, cost of capital and colocation price (the site's
``_low``/``_high`` columns). Each variant
re-prices the same searched configurations (:meth:`tco.questions.ranking.Evaluation.recost`) and re-selects.
"""

from __future__ import annotations

import polars as pl

from tco.questions.ranking import Evaluation, select

SITE_FACTORS = ("energy_price", "pue", "lifetime", "utilization", "cost_of_capital", "colocation_price")


def _variants(ev: Evaluation):
    row = ev.catalogs["datacenter"].row(ev.site.name)
    for bound in ("low", "high"):
        if ev.cost_basis == "rent":  # a renter's chip price is the rental offer
            chips = ev.chips.with_columns(pl.col(f"rental_usd_per_s_{bound}").alias("rental_usd_per_s"))
            yield "rental price", bound, f"each chip's {bound}est offer", ev.recost(chips=chips)
            continue
        chips = ev.chips.with_columns(pl.col(f"price_{bound}_usd").alias("price_usd"))
        yield "chip price", bound, f"each chip's price_{bound}", ev.recost(chips=chips)
    for factor in SITE_FACTORS:
        for bound in ("low", "high"):
            value = row[f"{factor}_{bound}"]
            if value is None:
                continue
            shown = ev.catalogs["datacenter"].as_written(f"{factor}_{bound}", value)
            yield factor, bound, shown, ev.recost(site=ev.site.varied(**{factor: value}))


def sensitivity(ev: Evaluation, min_utps: float = 0.0, objective: str = "tokens_per_usd") -> pl.DataFrame:
    """One row per (factor, bound): the winner, the baseline winner's objective and its change.

    Columns: factor, bound, value, top_design, top_availability (a hypothetical winner says so),
    top_value, baseline_top, baseline_top_value, change_pct (of the baseline winner's objective),
    winner_changed, order_changed.
    """
    base = select(ev, min_utps, objective)
    base_top = base["hardware"][0]
    base_value = base[objective][0]
    base_order = base["hardware"].to_list()
    rows = []
    for factor, bound, value, variant in _variants(ev):
        r = select(variant, min_utps, objective)
        same = r.filter(pl.col("hardware") == base_top)[objective][0]
        rows.append(
            {
                "factor": factor,
                "bound": bound,
                "value": value,
                "top_design": r["hardware"][0],
                "top_availability": r["availability"][0],
                "top_value": r[objective][0],
                "baseline_top": base_top,
                "baseline_top_value": same,
                "change_pct": 100.0 * (same / base_value - 1.0),
                "winner_changed": r["hardware"][0] != base_top,
                "order_changed": r["hardware"].to_list() != base_order,
            }
        )
    df = pl.DataFrame(rows)
    swing = df.group_by("factor", maintain_order=True).agg(pl.col("change_pct").abs().max().alias("swing"))
    return df.join(swing, on="factor").sort("swing", descending=True, maintain_order=True).drop("swing")
