"""Uncertainty on every figure: Monte Carlo over the inputs' low/high ranges (vectorized, seeded).

Each draw samples every uncertain input from a triangular distribution with its catalog value as
the mode and its low/high as the ends [1]_: each chip's price (independently per design; under
the rent basis its rental price between the lowest and highest offer; an estimated price's range
carries its markup's), the site's energy price, PUE, utilization, hardware lifetime, cost of
capital and colocation price, and in the calibrated mode each design's achieved throughput
(the fitted efficiencies' error: :data:`THROUGHPUT_SPREAD` either side; the limit mode is a
bound and has none). Per draw, each
design is represented by its cheapest configuration that fits and meets the UTPS floor, among its
``candidates`` cheapest at the catalog values (the costs are smooth in the inputs, so the draw's
cheapest lies among them). Reported per design: p10/p50/p90 of $/Mtok and of tokens per joule,
and the probability that the design is the cheapest of those meeting the floor.

References
----------
.. [1] D. Vose, *Risk Analysis: A Quantitative Guide*, 3rd ed., Wiley, 2008, sec. 10.2
   (the triangular distribution for expert low / most likely / high estimates).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from perfmodel.api.decoding import check_memory
from perfmodel.inputs import InvalidInput
from perfmodel.units import Q_
from tco.economics.costs import COST_INPUTS, instance_costs
from tco.questions.ranking import Evaluation, check_availability

#: Configurations kept per design (its cheapest at the catalog values).
CANDIDATES = 32
#: Draws evaluated at once, fewer when there are more than ``CHUNK_CELLS / CHUNK`` candidates, so
#: that an array of a chunk (candidates x draws) holds at most ``CHUNK_CELLS`` floats. Small chunks
#: stay in the CPU's cache: 10,000 draws of llama3-70b (969 candidates) take 0.43 s with 60,000
#: cells, 0.86 s with 1,500,000 and 0.48 s with 30,000 (2-core Xeon, 2 MiB L2 per core). The draws
#: are independent, so the chunk changes nothing but the time and the memory.
CHUNK = 2_000
CHUNK_CELLS = 60_000
#: Memory per candidate and draw of a chunk (its ~24 temporaries), per design and draw (a
#: triangular draw's ~11 temporaries beside the price drawn before it) and per draw (the site's six
#: figures and the winner) [bytes]: 9-50 % above the peak tracemalloc measures on llama3-70b (30
#: designs; 50 % at 10,000 draws, 10 % at 200,000).
BYTES_PER_CELL = 24 * 8
BYTES_PER_DESIGN_DRAW = 12 * 8
BYTES_PER_DRAW = 8 * 8
QUANTILES = (0.10, 0.50, 0.90)
#: Calibrated throughput within this fraction either side: the band the serving model's held-out
#: points are scored against (efficiencies.csv heldout_within_25pct, docs/model.md section 7).
THROUGHPUT_SPREAD = 0.25
_HOUR_S = Q_(1, "hour").to("s").magnitude
_MTOK = Q_(1, "Mtoken").to("token").magnitude


def triangular(rng: np.random.Generator, low, mode, high, size) -> np.ndarray:
    """Triangular draws that accept a zero-width range (low == mode == high gives the mode) and a
    mode outside [low, high] (a value set in the app beyond the catalog's range widens the range
    to it, rather than drawing NaN)."""
    low, mode, high = (np.broadcast_to(np.asarray(x, dtype=np.float64), size) for x in (low, mode, high))
    low, high = np.minimum(low, mode), np.maximum(high, mode)
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    c = np.where(width > 0, (mode - low) / safe, 0.5)
    v = rng.random(size)
    left = low + np.sqrt(v * c) * safe
    right = high - np.sqrt((1.0 - v) * (1.0 - c)) * safe
    return np.where(width > 0, np.where(v < c, left, right), mode)


def _site_draws(ev: Evaluation, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    row = ev.catalogs["datacenter"].row(ev.site.name)
    out = {}
    for f in ("energy_price", "pue", "utilization", "lifetime", "cost_of_capital", "colocation_price"):
        mode = getattr(ev.site, f)
        low = row.get(f"{f}_low")
        high = row.get(f"{f}_high")
        out[f] = triangular(rng, mode if low is None else low, mode, mode if high is None else high, n)
    return out


def _candidates(ev: Evaluation, min_utps: float, candidates: int, availability) -> pl.DataFrame:
    ok = ev.frame.filter("fits", pl.col("utps") >= min_utps)
    keep = check_availability(availability)
    if keep is not None:
        ok = ok.filter(pl.col("availability").is_in(keep))
    return (
        ok.sort("usd_per_mtok")
        .group_by("hardware", maintain_order=True)
        .head(candidates)
        .with_columns(pl.col("hardware").cast(pl.String))
    )


def uncertainty(
    ev: Evaluation,
    draws: int = 10_000,
    min_utps: float = 0.0,
    seed: int = 0,
    candidates: int = CANDIDATES,
    availability: Sequence[str] | None = None,
) -> pl.DataFrame:
    """p10/p50/p90 of $/Mtok and tokens per joule per design, and P(cheapest) (see module doc).

    Columns: hardware, usd_per_mtok_p10, usd_per_mtok_p50, usd_per_mtok_p90,
    tokens_per_joule_p10, tokens_per_joule_p50, tokens_per_joule_p90, p_cheapest.
    ``availability``: only designs of these kinds compete. Same ``seed``, same result.
    """
    if draws < 1:
        raise InvalidInput(f"the number of draws must be at least 1, got {draws}")
    rng = np.random.default_rng(seed)
    cand = _candidates(ev, min_utps, candidates, availability)
    names = cand["hardware"].unique(maintain_order=True).to_list()
    if not names:
        return pl.DataFrame(schema={"hardware": pl.String, "p_cheapest": pl.Float64})
    chunk = max(1, min(CHUNK, CHUNK_CELLS // cand.height))
    check_memory(
        BYTES_PER_CELL * cand.height * min(chunk, draws)
        + (BYTES_PER_DESIGN_DRAW * len(names) + BYTES_PER_DRAW) * draws,
        f"the Monte Carlo of {len(names):,} designs x {draws:,} draws",
        "use fewer --uncertainty draws, or fewer designs (--availability shipping)",
    )
    design = cand["hardware"].replace_strict(names, list(range(len(names))), return_dtype=pl.Int64).to_numpy()
    col = {c: cand[c].to_numpy().astype(np.float64) for c in (*COST_INPUTS, "stps") if c in cand.columns}
    site = _site_draws(ev, rng, draws)
    chips_t = ev.chips.with_columns(pl.col("hardware").cast(pl.String))
    bounds = pl.DataFrame({"hardware": names}).join(chips_t, on="hardware", how="left")
    # a design rented (the rent basis, or a rent-only chip) draws its rental price, else its price
    rented = bounds["rent_only"].to_numpy() | (ev.cost_basis == "rent")
    price = triangular(
        rng,
        np.where(rented, bounds["rental_usd_per_s_low"], bounds["price_low_usd"])[:, None],
        np.where(rented, bounds["rental_usd_per_s"], bounds["price_usd"])[:, None],
        np.where(rented, bounds["rental_usd_per_s_high"], bounds["price_high_usd"])[:, None],
        (len(names), draws),
    )
    spread = THROUGHPUT_SPREAD if getattr(ev, "mode", "limit") == "calibrated" else 0.0
    throughput = triangular(rng, 1.0 - spread, 1.0, 1.0 + spread, (len(names), draws))
    usd = np.empty((len(names), draws))
    tpj = np.empty((len(names), draws))
    for start in range(0, draws, chunk):
        d = slice(start, min(start + chunk, draws))
        s = {k: v[None, d] for k, v in site.items()}
        cost, token_rate, wall = _per_config(col, price[design, d], s, ev)
        token_rate = token_rate * throughput[design, d]
        per_mtok = cost / token_rate * _MTOK
        best, best_tpj = _best_per_design(per_mtok, token_rate / wall, design, len(names))
        usd[:, d], tpj[:, d] = best, best_tpj
    cheapest = np.argmin(usd, axis=0)
    out = {"hardware": names}
    for q in QUANTILES:
        out[f"usd_per_mtok_p{round(q * 100)}"] = np.quantile(usd, q, axis=1)
    for q in QUANTILES:
        out[f"tokens_per_joule_p{round(q * 100)}"] = np.quantile(tpj, q, axis=1)
    out["p_cheapest"] = np.bincount(cheapest, minlength=len(names)) / draws
    return pl.DataFrame(out)


def _per_config(col: dict, price: np.ndarray, s: dict, ev: Evaluation):
    """Cost [USD/s], tokens [token/s] and wall power [W] of every candidate for every draw:
    :func:`tco.economics.costs.instance_costs` with the draws' price and site figures (``price``
    is the rental price of a rented design, the purchase price of an owned one; the cost sum
    reads each where it applies)."""
    drawn = {k: v[:, None] for k, v in col.items()} | {"price_usd": price, "rental_usd_per_s": price}
    costs = instance_costs(drawn, ev.site.varied(**s), ev.cost_basis)
    return costs["usd"], drawn["stps"] * s["utilization"], costs["wall_power_w"]


def _best_per_design(per_mtok: np.ndarray, tpj: np.ndarray, design: np.ndarray, n: int):
    """Per design and draw: the lowest $/Mtok among its candidates, and that candidate's tokens/J."""
    order = np.argsort(design, kind="stable")
    starts = np.searchsorted(design[order], np.arange(n))
    best = np.minimum.reduceat(per_mtok[order], starts, axis=0)
    is_best = per_mtok[order] == np.repeat(best, np.diff(np.append(starts, len(order))), axis=0)
    masked = np.where(is_best, tpj[order], -np.inf)
    return best, np.maximum.reduceat(masked, starts, axis=0)
