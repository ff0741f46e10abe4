"""The throughput-interactivity trade-off: what giving up a little UTPS buys in efficiency.

The Liminal study's headline (arXiv 2507.14397): a larger batch shares each weight read among
more users, so running ~10 % slower per user can buy several times the system efficiency.

- :func:`frontier`: per design, the Pareto frontier of UTPS against an efficiency metric over
  every fitting configuration (batch and parallelism): no other configuration of the design is
  at least as fast and at least as efficient with one of the two strictly better.
- :func:`tradeoff`: a buyer starts from an instance they can deploy, so every point is searched
  among the fitting configurations of at most ``max_chips`` chips (default: the design's
  scale-up domain, one server or rack, or the fewest chips that hold the model if more). The
  *baseline* is the fastest of them (ties broken by the objective), or a configuration the user
  picks; the *trade-off point* is the configuration with the best objective among those within
  ``slowdown`` of the baseline's UTPS. Gains are ratios trade-off / baseline (inverted for
  metrics where lower is better), so a gain is never below 1 and is exactly 1 at 0 % slowdown.
  The gain is also split: ``batch_only`` is the best point within the slowdown on the
  baseline's own instance (same tp, pp, ep: only the batch grows, the study's mechanism); the
  rest comes from moving to a smaller or cheaper instance.
- :func:`slowdown_for_gain`: the converse, the least slowdown that reaches a target gain.
"""

from __future__ import annotations

import polars as pl

from perfmodel.inputs import InvalidInput
from tco.options import OBJECTIVES
from tco.questions.ranking import RANK_COLUMNS, Evaluation

#: Efficiency metrics and whether larger is better: the ranking objectives and throughput per chip.
METRICS = {"stps_per_chip": True} | OBJECTIVES
#: What a baseline or trade-off point reports: the ranking's configuration and efficiency columns.
POINT_COLUMNS = RANK_COLUMNS[1 : RANK_COLUMNS.index("usd_per_mtok") + 1] + ("gco2e_per_mtok",)
#: The configuration that names a point (what a user picks as a baseline).
CONFIG_KEYS = ("tp", "pp", "ep", "batch")
#: How the sentence names a gain in each metric: the verb (every gain is >= 1) and the words.
METRIC_WORDS = {
    "stps_per_chip": ("raises", "throughput per chip"),
    "tokens_per_usd": ("raises", "tokens per dollar"),
    "tokens_per_joule": ("raises", "tokens per joule"),
    "usd_per_mtok": ("cuts", "cost per million tokens"),
    "gco2e_per_mtok": ("cuts", "carbon per million tokens"),
}


def _check_metric(metric: str) -> bool:
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    return METRICS[metric]


def frontier(
    frame: pl.DataFrame, metric: str = "tokens_per_usd", by: str | None = "hardware"
) -> pl.DataFrame:
    """Non-dominated (UTPS, ``metric``) points of the fitting rows, per ``by`` group (None: joint).

    Sorted by UTPS descending within each group; vectorized (sort + running best).
    """
    larger = _check_metric(metric)
    score = pl.col(metric) if larger else -pl.col(metric)
    keys = [by] if by else []
    df = (
        frame.filter("fits")
        .with_columns(_score=score)
        .sort([*keys, "utps", "_score"], descending=[*([False] * len(keys)), True, True])
    )
    running = pl.col("_score").cum_max().shift(1)
    running = running.over(by) if by else running
    return df.filter(running.is_null() | (pl.col("_score") > running)).drop("_score")


def _point(row: dict) -> dict:
    return {k: row[k] for k in POINT_COLUMNS if k in row}


def default_max_chips(ev: Evaluation, hardware: str) -> int:
    """The largest instance a buyer starts from [chips]: ``hardware``'s scale-up domain (one
    server or rack), or the fewest chips that hold the model when one domain cannot."""
    domain = int(ev.catalogs["hardware"].row(hardware)["scaleup_domain"])
    fitting = ev.frame.filter(pl.col("fits") & (pl.col("hardware") == hardware))["chips"]
    return max(domain, fitting.min() or domain)


def tradeoff(
    ev: Evaluation,
    hardware: str,
    slowdown: float = 0.10,
    objective: str = "tokens_per_usd",
    *,
    max_chips: int | None = None,
    baseline: dict | None = None,
) -> dict:
    """Baseline, trade-off point and the gain of every metric for one design (module doc).

    ``max_chips`` [chips]: the largest instance searched (None: :func:`default_max_chips`).
    ``baseline``: a configuration (keys tp, pp, ep, batch) to start from instead of the fastest.

    Keys: model, context, mode, isl, osl, hardware, slowdown, actual_slowdown, objective, max_chips, baseline,
    tradeoff, gain (of the objective), gain_stps (STPS per chip), gain_tokens_per_usd,
    gain_tokens_per_joule, gain_usd_per_mtok, gain_gco2e_per_mtok, batch_only,
    gain_batch_only (of the objective), gain_batch_only_tokens_per_usd, sentence.
    """
    if not 0.0 <= slowdown < 1.0:
        raise InvalidInput(f"slowdown must be a fraction in [0, 1), got {slowdown!r}")
    larger = _check_metric(objective)
    limit = default_max_chips(ev, hardware) if max_chips is None else max_chips
    rows = deployable(ev, hardware, limit)
    if rows.height == 0:
        raise InvalidInput(f"{ev.model} fits on no configuration of {hardware} with at most {limit:,} chips")
    if baseline is None:
        start = rows.filter(pl.col("utps") == rows["utps"].max())
    else:
        start = rows.filter(*(pl.col(k) == baseline[k] for k in CONFIG_KEYS))
        if start.height == 0:
            raise InvalidInput(
                f"no fitting configuration of {hardware} with at most {limit:,} chips is "
                + ", ".join(f"{k} {baseline[k]}" for k in CONFIG_KEYS)
            )
    base = start.sort(objective, descending=larger).row(0, named=True)
    within = rows.filter(pl.col("utps") >= (1.0 - slowdown) * base["utps"]).sort(objective, descending=larger)
    point = within.row(0, named=True)
    if _gain(point, base, objective) < 1.0:  # a picked baseline can beat everything within the slowdown
        point = base
    same = within.filter(*(pl.col(k) == base[k] for k in ("tp", "pp", "ep"))).row(0, named=True)
    if _gain(same, base, objective) < 1.0:
        same = base
    gains = {f"gain_{m}": _gain(point, base, m) for m in METRICS}
    gains["gain_stps"] = gains.pop("gain_stps_per_chip")
    out = {
        "model": ev.model,
        "context": ev.context,
        "mode": ev.mode,
        "isl": ev.isl,
        "osl": ev.osl,
        "hardware": hardware,
        "slowdown": slowdown,
        "actual_slowdown": 1.0 - point["utps"] / base["utps"],
        "objective": objective,
        "max_chips": limit,
        "baseline": _point(base),
        "tradeoff": _point(point),
        "gain": _gain(point, base, objective),
        **gains,
        "batch_only": _point(same),
        "gain_batch_only": _gain(same, base, objective),
        "gain_batch_only_tokens_per_usd": _gain(same, base, "tokens_per_usd"),
    }
    out["sentence"] = sentence(out)
    return out


def deployable(ev: Evaluation, hardware: str, max_chips: int) -> pl.DataFrame:
    """``hardware``'s fitting configurations of at most ``max_chips`` chips, fastest first."""
    return (
        ev.frame.filter(pl.col("fits") & (pl.col("hardware") == hardware) & (pl.col("chips") <= max_chips))
        .with_columns(pl.col("hardware").cast(pl.String))
        .sort("utps", descending=True)
    )


def _gain(point: dict, baseline: dict, metric: str) -> float:
    a, b = point[metric], baseline[metric]
    return a / b if METRICS[metric] else b / a


def sentence(t: dict) -> str:
    """The trade-off in plain words, in the objective's terms, for a report or the app."""
    base, point = t["baseline"], t["tradeoff"]
    verb, words = METRIC_WORDS[t["objective"]]
    work = (
        f"{t['isl']:,} in / {t['osl']:,} out tokens"
        if t["mode"] == "calibrated"
        else f"{t['context']:,} tokens"
    )
    others = ", ".join(
        f"{METRIC_WORDS[m][1]} {t['gain_stps' if m == 'stps_per_chip' else f'gain_{m}']:.1f}x"
        for m in ("tokens_per_usd", "tokens_per_joule", "stps_per_chip")
        if m != t["objective"]
    )
    text = (
        f"Running {t['slowdown'] * 100:.0f}% slower per user {verb} {words} {t['gain']:.1f}x on "
        f"{t['hardware']} ({t['model']}, {work}, instances of at most {t['max_chips']:,} chips): "
        f"from {base['utps']:,.0f} to {point['utps']:,.0f} tokens/s per user, "
        f"{base['users']:,} to {point['users']:,} users on {base['chips']:,} to {point['chips']:,} chips; "
        f"{others}."
    )
    if point["chips"] != base["chips"]:
        text += (
            f" On the starting point's own {base['chips']:,} chips, a larger batch alone gives "
            f"{t['gain_batch_only']:.1f}x; the rest comes from the other instance."
        )
    return text


def slowdown_for_gain(
    ev: Evaluation, hardware: str, gain: float = 5.0, metric: str = "tokens_per_usd"
) -> float | None:
    """Least slowdown (fraction of the fastest UTPS) whose best ``metric`` is ``gain`` x the baseline's.

    None when no fitting configuration reaches the gain.
    """
    if not gain >= 1.0:
        raise InvalidInput(f"gain must be >= 1, got {gain!r}")
    larger = _check_metric(metric)
    front = frontier(ev.frame.filter(pl.col("hardware") == hardware), metric)
    if front.height == 0:
        return None
    base = front.row(0, named=True)
    target = base[metric] * gain if larger else base[metric] / gain
    hits = front.filter(pl.col(metric) >= target if larger else pl.col(metric) <= target)
    return None if hits.height == 0 else float(1.0 - hits["utps"][0] / base["utps"])


def joint_frontier(ev: Evaluation, metric: str = "tokens_per_usd") -> pl.DataFrame:
    """Points of every design on the frontier pooled across designs, with each point's design."""
    return frontier(ev.frame, metric, by=None).with_columns(pl.col("hardware").cast(pl.String))
