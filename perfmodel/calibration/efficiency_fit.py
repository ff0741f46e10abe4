"""Achieved efficiencies fitted to public measurements, and the model checked against them.

Every row of ``measurements.csv`` is a served configuration (model, chip, TP/PP/EP, precision,
ISL, OSL, concurrency or ``max``) with its measured output tokens/s per chip. The serving model
predicts each point with its chip's physics (``CHIP_FIELDS``: bandwidth and FLOP/s reached in
prefill and decode, collective latency; ``efficiencies.csv``) and its engine's behaviour
(``ENGINE_FIELDS``: overheads per step and per token, with the engine's bounds and KV reserve;
``engine_profiles.csv``), and the run's own batch cap where it set one. The fit (docs/model.md §7):

- minimizes ``sum_i ln(model_i / measured_i)^2`` over every point at once (scipy
  ``least_squares``, trust region with bounds and a sparse Jacobian): the chips' figures are
  shared by every engine measured on them and the engines' overheads by every chip, so a chip
  measured with one engine predicts another engine's run;
- keeps every figure inside its sourced physical range (``efficiency_ranges.csv`` for the chips,
  the ``_low``/``_high`` columns of ``engine_profiles.csv`` for the engines), with a weak pull
  toward the middle of the range (ridge weight :data:`PRIOR_WEIGHT` on the log of the figure),
  so that a figure the data do not constrain stays plausible; a figure that ends at its bound is
  reported with the median error of its points there;
- fits a chip per precision where it has at least :data:`MIN_POINTS_PER_PRECISION` points at it,
  else one ``any`` row over all its points; never one constant per point;
- reports the error on points held out of the fit: every source in turn is left out, the chips
  refitted on the rest, and the left-out source's points predicted;
- fits and gates the *current* points only: those measured within :data:`CURRENT_WINDOW_DAYS`
  of the newest measurement. Serving software moves fast (the same chip and model gain 1.5-3x
  within a year as kernels and schedulers mature), and the calibrated mode predicts what today's
  software reaches; older points stay in the catalog and in the report, marked as history;
- screens out *stalled* runs: where a source publishes the mean and median request latency,
  a run whose mean exceeds its median by more than :data:`STALL_RATIO` had requests stuck far
  longer than the typical one (a warm-up or scheduler stall), so its throughput is not the
  steady state the model predicts. The points stay in the report, marked ``steady = false``;
- pools a measured chip whose ``efficiencies.csv`` row ``resembles`` another into that chip's
  fit (the same GPU and software in another system, e.g. GB200 NVL72 and B200 HGX), so that
  both take one set of efficiencies fitted on both chips' points;
- refuses garbage (:mod:`~perfmodel.calibration.fit_guards`): a row naming an unknown model, chip
  or engine, a value outside its column's band, a throughput above the limit of its configuration,
  a chip with fewer than 8 points or an engine with fewer than 4, a chip or engine without a
  range, a point missed by more than :data:`FIT_WORST`; each as ``file:row:column``
  (:class:`~perfmodel.inputs.CatalogError`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from perfmodel.api.setup import prepare
from perfmodel.calibration.fit_guards import (
    at_bound,
    implausible,
    known_rows,
    missing_ranges,
    refuse,
    too_few,
)
from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.serving_schemas import (
    CHIP_FIELDS,
    ENGINE_FIELDS,
    MEASUREMENTS,
)
from perfmodel.catalog.table import in_header_unit, preamble, split_header
from perfmodel.inputs import Problem
from perfmodel.model.hardware import HardwareArrays
from perfmodel.model.profiles import ServingProfile, engine_row, fitted_profile, limit_profile
from perfmodel.model.serving_step import Deployment, Layout, concurrency_limit, serve_arrays
from perfmodel.units import Q_

PRIOR_WEIGHT = 0.1
MIN_POINTS_PER_PRECISION = 20
CURRENT_WINDOW_DAYS = 270
#: With lengths drawn from [0.8, 1.0] x nominal, a steady run's mean request latency stays within
#: 5 % of its median (271 of the 281 InferenceMAX runs with both figures); the other ten are 13-86 %
#: over, with p99 time-to-first-token of 70-80 s against a median under 1.2 s.
STALL_RATIO = 1.10
#: Acceptance of the calibrated mode (issue 11): median ratio model / measured in this band,
#: at least 70 % of the points within 25 %, none off by more than 2x.
MEDIAN_BAND = (0.8, 1.25)
WITHIN = 0.25
SHARE_WITHIN = 0.70
WORST = 2.0
#: A fitted point the fitted model misses by more than this factor is refused (docs/model.md §7,
#: "Known misses").
FIT_WORST = 3.0
FILE = MEASUREMENTS.file
#: Columns of measurements.csv that name a row of another catalog.
MEASUREMENT_NAMES = {"model": "models", "hardware": "hardware", "engine": "engine_profiles"}


@dataclass(frozen=True)
class Fit:
    """Fitted figures: per chip key ``(chip, precision or "any")`` the ``CHIP_FIELDS``, per engine
    the ``ENGINE_FIELDS``; each with ``points`` and ``sources`` behind it, and ``at_bound``, the
    figures that ended at a bound of their range."""

    chips: dict[tuple[str, str], dict]
    engines: dict[str, dict]

    def params(self, df: pl.DataFrame) -> dict[str, np.ndarray] | None:
        """Per-point figures for ``df``'s points (chip row by :func:`value_keys`, the point's
        engine); None where a point's chip or engine was not fitted."""
        keys = value_keys(self.chips, df)
        if any(k not in self.chips for k in keys) or any(e not in self.engines for e in df["engine"]):
            return None
        chip = {f: np.array([self.chips[k][f] for k in keys]) for f in CHIP_FIELDS}
        return chip | {f: np.array([self.engines[e][f] for e in df["engine"]]) for f in ENGINE_FIELDS}


@dataclass(frozen=True)
class Points:
    """The measured points of one precision group, as arrays aligned with ``df``'s rows."""

    df: pl.DataFrame
    setup: object
    hardware: HardwareArrays  # one entry per point
    mi: np.ndarray
    engine_rows: list[dict]


def measurements(catalogs: Catalogs, fitted_only: bool = True) -> pl.DataFrame:
    """``measurements.csv`` with its ``line`` in the file, a row id, the concurrency as a number
    (NaN for ``max``), ``current`` (measured within :data:`CURRENT_WINDOW_DAYS` of the newest
    point), ``steady`` (not a stalled run), ``fitted`` (both) and ``fit_chip`` (the chip whose
    efficiencies row the point is fitted into: the one its row ``resembles``, else its own); only
    the fitted points unless ``fitted_only`` is false.

    A row naming a model, chip or engine the catalogs lack, or a value outside its column's
    plausibility band, raises :class:`CatalogError` (:mod:`~perfmodel.calibration.fit_guards`).
    """
    df = known_rows(catalogs, "measurements", MEASUREMENT_NAMES)
    refuse(implausible(catalogs, "measurements"))
    df = df.with_columns(day=pl.col("date").str.to_date("%Y-%m-%d", strict=False))
    newest = df["day"].max()
    df = df.with_row_index("point").with_columns(
        concurrency_n=pl.when(pl.col("concurrency") == "max")
        .then(None)
        .otherwise(pl.col("concurrency"))
        .cast(pl.Float64),
        current=pl.col("day") >= pl.lit(newest) - pl.duration(days=CURRENT_WINDOW_DAYS),
        steady=(pl.col("latency_mean") <= STALL_RATIO * pl.col("latency_median")).fill_null(True),
    )
    eff = catalogs["efficiencies"].df.filter(pl.col("resembles").is_not_null())
    pooled = dict(zip(eff["hardware"], eff["resembles"], strict=True))
    df = df.with_columns(
        fitted=pl.col("current") & pl.col("steady"),
        fit_chip=pl.col("hardware").replace(pooled),
    )
    return df.filter("fitted") if fitted_only else df


def impossible_points(catalogs: Catalogs, df: pl.DataFrame) -> list[Problem]:
    """Rows of ``df`` that measured more than the limit mode allows for their configuration, or
    that the model cannot serve at all: the limit (peak bandwidth and FLOP/s, no overhead) is an
    upper bound on every real run (docs/model.md §1 and §7), so such a row is a wrong figure, unit
    or configuration, and no efficiency fits it."""
    problems = []
    for g in _groups(catalogs, df):
        limit = predict_points(g, None)["model_tps_per_chip"]
        measured = g.df["output_tps_per_chip"].to_numpy()
        for line, lim, got in zip(g.df["line"], limit, measured, strict=True):
            if not (np.isfinite(lim) and lim > 0):
                problems.append(
                    Problem(
                        FILE,
                        line,
                        None,
                        None,
                        "a configuration the model can serve (check tp, pp, ep, chips)",
                    )
                )
            elif got > lim:
                problems.append(
                    Problem(
                        FILE,
                        line,
                        "output_tps_per_chip",
                        f"{got:.6g}",
                        f"at most {lim:.4g} tokens/s per chip, the limit of this configuration at peak "
                        "bandwidth and FLOP/s (no real run exceeds it: check the figure, its unit and the "
                        "configuration)",
                    )
                )
    return problems


def far_off(catalogs: Catalogs, df: pl.DataFrame, values: Fit) -> list[Problem]:
    """Fitted points the fitted model misses by more than :data:`FIT_WORST`: no figure of the
    chip or engine explains them, so they are refused rather than left to bend the figures."""
    problems = []
    for g in _groups(catalogs, df):
        model = predict_points(g, values.params(g.df))["model_tps_per_chip"]
        measured = g.df["output_tps_per_chip"].to_numpy()
        for line, m, got in zip(g.df["line"], model, measured, strict=True):
            if not max(m / got, got / m) <= FIT_WORST:
                problems.append(
                    Problem(
                        FILE,
                        line,
                        "output_tps_per_chip",
                        f"{got:.6g}",
                        f"a throughput the fitted model comes within {FIT_WORST:g}x of (it gives {m:.4g} "
                        "tokens/s per chip): check the figure, its unit and the configuration",
                    )
                )
    return problems


def _groups(catalogs: Catalogs, df: pl.DataFrame) -> Iterable[Points]:
    """Points grouped by (precision, KV precision): one setup each, arrays per point; each point's
    engine row carries the run's own batch cap where it set one (``max_seqs``)."""
    for (precision, kv), g in df.group_by(["precision", "kv_precision"], maintain_order=True):
        setup = prepare(catalogs, "published", precision)
        setup = replace(setup, scenario=replace(setup.scenario, kv_precision=kv))
        h = setup.hardware
        hi = np.array([h.index(n) for n in g["hardware"]])
        per_point = HardwareArrays(
            names=tuple(g["hardware"]),
            **{f: getattr(h, f)[hi] for f in HardwareArrays.__dataclass_fields__ if f != "names"},
        )
        mi = np.array([setup.models.index(n) for n in g["model"]])
        rows = {e: engine_row(catalogs, e) for e in g["engine"].unique()}
        engines = [
            rows[e] if cap is None else rows[e] | {"max_concurrency": cap}
            for e, cap in zip(g["engine"], g["max_seqs"], strict=True)
        ]
        yield Points(g, setup, per_point, mi, engines)


def _profile(p: Points, params: dict[str, np.ndarray] | None) -> ServingProfile:
    """A per-point profile: the points' engines, and ``params`` per point (None: the limit)."""
    n = p.df.height
    if params is None:
        return limit_profile(n)
    return fitted_profile(params, p.engine_rows, tuple(p.df["engine"]), ("fit",) * n)


def predict_points(p: Points, params: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """Model output tokens/s per chip and UTPS at each point (``params`` None: the limit)."""
    prof = _profile(p, params)
    d = p.df
    hi = np.arange(d.height)
    tp, pp, ep = (d[c].to_numpy().astype(np.float64) for c in ("tp", "pp", "ep"))
    isl, osl = d["isl"].to_numpy(), d["osl"].to_numpy()
    m, s = p.setup.models, p.setup.scenario
    conc = d["concurrency_n"].to_numpy()
    dp = d["dp_attention"].to_numpy()
    d, lay = Deployment(m, p.hardware, s, prof, p.mi), Layout(hi, tp, pp, ep, dp)
    fill = concurrency_limit(d, lay, isl, osl)
    conc = np.where(np.isnan(conc), np.maximum(fill, 1.0), conc)
    r = serve_arrays(d, lay, conc, isl, osl)
    return {
        "model_tps_per_chip": r["output_tps"] / (tp * pp),
        "model_utps": r["utps"],
        "model_concurrency": conc,
        "fits": r["fits"],
    }


def value_keys(chips: dict, df: pl.DataFrame) -> list[tuple[str, str]]:
    """The chip row each point of ``df`` takes: its chip at its precision, else its chip's ``any``."""
    return [
        (h, p) if (h, p) in chips else (h, "any")
        for h, p in zip(df["fit_chip"], df["precision"], strict=True)
    ]


def precise_keys(df: pl.DataFrame) -> set[tuple[str, str]]:
    """(chip, precision) pairs with enough points to be fitted apart from the chip's other points."""
    counts = df.group_by("fit_chip", "precision").len()
    per_chip = df.group_by("fit_chip").len().rename({"len": "chip_len"})
    c = counts.join(per_chip, on="fit_chip")
    # A pair is fitted apart only if the chip keeps enough other points for its ``any`` row too.
    ok = c.filter(
        (pl.col("len") >= MIN_POINTS_PER_PRECISION)
        & (pl.col("chip_len") - pl.col("len") >= MIN_POINTS_PER_PRECISION)
    )
    return {(r["fit_chip"], r["precision"]) for r in ok.iter_rows(named=True)}


def chip_ranges(catalogs: Catalogs, key: tuple[str, str]) -> dict[str, tuple[float, float]] | None:
    """The sourced range of each chip figure for ``key``: its precision's row of
    ``efficiency_ranges.csv``, else (the ``any`` row of a chip) the envelope of the chip's rows."""
    rows = catalogs["efficiency_ranges"].df.filter(pl.col("hardware") == key[0])
    exact = rows.filter(pl.col("precision") == key[1])
    rows = exact if exact.height else rows
    if rows.height == 0:
        return None
    return {f: (rows[f"{f}_low"].min(), rows[f"{f}_high"].max()) for f in CHIP_FIELDS}


def engine_ranges(catalogs: Catalogs, engine: str) -> dict[str, tuple[float, float]] | None:
    """The sourced range of each engine overhead of ``engine``."""
    r = catalogs["engine_profiles"].row(engine)
    if any(r[f"{f}_low"] is None or r[f"{f}_high"] is None for f in ENGINE_FIELDS):
        return None
    return {f: (r[f"{f}_low"], r[f"{f}_high"]) for f in ENGINE_FIELDS}


def fit(catalogs: Catalogs) -> Fit:
    """Fitted figures over the current, steady points, guarded
    (:mod:`~perfmodel.calibration.fit_guards`): refuses rows above the limit, chips and engines
    with too few points or no sourced range, and points the fitted model misses by more than
    :data:`FIT_WORST`, each as :class:`CatalogError`."""
    every = measurements(catalogs, fitted_only=False)
    refuse(impossible_points(catalogs, every))
    df = every.filter("fitted")
    counts = dict(df.group_by("fit_chip").len().iter_rows())
    refuse(too_few(counts, len(CHIP_FIELDS), FILE, "current, steady points"))
    engines = dict(df.group_by("engine").len().iter_rows())
    refuse(too_few(engines, len(ENGINE_FIELDS), FILE, "current, steady points", "engine"))
    refuse(
        missing_ranges(
            [k for k in _chip_keys(df) if chip_ranges(catalogs, k) is None],
            [e for e in engines if engine_ranges(catalogs, e) is None],
        )
    )
    values = fit_points(catalogs, df)
    refuse(far_off(catalogs, df, values))
    return values


def _chip_keys(df: pl.DataFrame) -> list[tuple[str, str]]:
    """Every chip row the fit of ``df`` writes: the points' rows and each chip's ``any`` row."""
    return sorted(set(point_keys(df)) | {(h, "any") for h in df["fit_chip"]})


def point_keys(df: pl.DataFrame) -> list[tuple[str, str]]:
    """The chip row each point of ``df`` is fitted into: its chip at its precision where that pair
    has enough points (:func:`precise_keys`), else its chip's ``any``."""
    return value_keys(dict.fromkeys(precise_keys(df)), df)


def fit_points(catalogs: Catalogs, df: pl.DataFrame) -> Fit:
    """The least-squares fit of :func:`fit` over the points ``df``, unguarded (the held-out fits).

    Every point depends on its chip row's four figures and its engine's two, so the Jacobian is
    sparse and one joint fit over all points costs about what the per-chip fits did. A chip whose
    points all went to its precision rows gets its ``any`` row (for the precisions it was not
    measured at) by a second fit over all its points, the engines held.
    """
    chips = _solve(catalogs, df, point_keys(df), engines=None)
    out = Fit(chips["chips"], chips["engines"])
    bare = sorted({h for h in df["fit_chip"]} - {h for h, p in out.chips if p == "any"})
    if bare:
        sub = df.filter(pl.col("fit_chip").is_in(bare))
        extra = _solve(catalogs, sub, [(h, "any") for h in sub["fit_chip"]], engines=out.engines)
        out = Fit(out.chips | extra["chips"], out.engines)
    return out


def _solve(catalogs: Catalogs, df: pl.DataFrame, keys: list, engines: dict | None) -> dict:
    """Figures of the chip rows ``keys`` (one per point) and, unless ``engines`` are given, of the
    points' engines, minimizing the squared log error inside the sourced ranges."""
    from scipy.optimize import least_squares
    from scipy.sparse import lil_matrix

    chip_keys = sorted(set(keys))
    names = sorted(set(df["engine"])) if engines is None else []
    ranges = [chip_ranges(catalogs, k)[f] for k in chip_keys for f in CHIP_FIELDS]
    ranges += [engine_ranges(catalogs, e)[f] for e in names for f in ENGINE_FIELDS]
    lo, hi = (np.log([r[i] for r in ranges]) for i in (0, 1))
    prior = (lo + hi) / 2
    df = df.with_columns(_key=pl.Series([chip_keys.index(k) for k in keys]))
    groups = list(_groups(catalogs, df))
    measured = [g.df["output_tps_per_chip"].to_numpy() for g in groups]
    ci = [g.df["_key"].to_numpy() for g in groups]
    ei = [np.array([names.index(e) for e in g.df["engine"]]) if names else None for g in groups]
    nc, nf, ne = len(chip_keys) * len(CHIP_FIELDS), len(CHIP_FIELDS), len(ENGINE_FIELDS)

    def params(x: np.ndarray, c: np.ndarray, e: np.ndarray | None, g: Points) -> dict:
        chip = np.exp(x[:nc]).reshape(-1, nf)
        p = {f: chip[c, j] for j, f in enumerate(CHIP_FIELDS)}
        if e is None:
            return p | {f: np.array([engines[n][f] for n in g.df["engine"]]) for f in ENGINE_FIELDS}
        eng = np.exp(x[nc:]).reshape(-1, ne)
        return p | {f: eng[e, j] for j, f in enumerate(ENGINE_FIELDS)}

    def residuals(x: np.ndarray) -> np.ndarray:
        res = [
            np.log(predict_points(g, params(x, c, e, g))["model_tps_per_chip"] / m)
            for g, m, c, e in zip(groups, measured, ci, ei, strict=True)
        ]
        return np.concatenate(res + [PRIOR_WEIGHT * (x - prior)])

    n = sum(m.size for m in measured)
    sparsity = lil_matrix((n + prior.size, prior.size), dtype=np.int8)
    row = 0
    for c, e in zip(ci, ei, strict=True):
        for j in range(c.size):
            sparsity[row, c[j] * nf : (c[j] + 1) * nf] = 1
            if e is not None:
                sparsity[row, nc + e[j] * ne : nc + (e[j] + 1) * ne] = 1
            row += 1
    sparsity[n:, :] = np.eye(prior.size, dtype=np.int8)
    x = least_squares(residuals, prior, bounds=(lo, hi), jac_sparsity=sparsity).x
    ratios = np.exp(residuals(x)[:n])
    order = np.concatenate([g.df["_key"].to_numpy() for g in groups])
    eng_order = np.concatenate([g.df["engine"].to_numpy() for g in groups])
    src = np.concatenate([g.df["source_id"].to_numpy() for g in groups])
    ends = at_bound(x, lo, hi)

    def entry(figures: dict, where: np.ndarray, first: int) -> dict:
        return figures | {
            "points": int(where.sum()),
            "sources": sorted(set(src[where])),
            "at_bound": {
                f: (("low" if ends[first + j] < 0 else "high"), float(np.median(ratios[where])))
                for j, f in enumerate(figures)
                if ends[first + j]
            },
        }

    X = np.exp(x)
    chips = {
        k: entry(dict(zip(CHIP_FIELDS, X[i * nf : (i + 1) * nf], strict=True)), order == i, i * nf)
        for i, k in enumerate(chip_keys)
    }
    fitted = {
        e: entry(
            dict(zip(ENGINE_FIELDS, X[nc + i * ne : nc + (i + 1) * ne], strict=True)),
            eng_order == e,
            nc + i * ne,
        )
        for i, e in enumerate(names)
    }
    return {"chips": chips, "engines": fitted}


def compare(catalogs: Catalogs, values: Fit | None = None) -> pl.DataFrame:
    """Every measured point with the model's calibrated and limit predictions and their ratios.

    ``values`` defaults to the figures in the catalogs (``efficiencies.csv`` for the chips,
    ``engine_profiles.csv`` for the engines).
    """
    from perfmodel.model.profiles import efficiency_row

    df = measurements(catalogs, fitted_only=False)
    out = []
    for g in _groups(catalogs, df):
        if values is None:
            rows = [
                efficiency_row(catalogs, h, pr)
                for h, pr in zip(g.df["hardware"], g.df["precision"], strict=True)
            ]
            params = {f: np.array([r[f] for r in rows]) for f in CHIP_FIELDS}
            params |= {f: np.array([e[f] for e in g.engine_rows]) for f in ENGINE_FIELDS}
        else:
            params = values.params(g.df)
        cal, lim = predict_points(g, params), predict_points(g, None)
        out.append(
            g.df.with_columns(
                model_tps_per_chip=cal["model_tps_per_chip"],
                model_utps=cal["model_utps"],
                model_concurrency=cal["model_concurrency"],
                limit_tps_per_chip=lim["model_tps_per_chip"],
            )
        )
    return (
        pl.concat(out)
        .sort("point")
        .with_columns(
            ratio=pl.col("model_tps_per_chip") / pl.col("output_tps_per_chip"),
            limit_ratio=pl.col("limit_tps_per_chip") / pl.col("output_tps_per_chip"),
        )
    )


def held_out(catalogs: Catalogs) -> pl.DataFrame:
    """Leave-one-source-out: each source's points predicted by a fit on every other source.

    A point whose chip or engine has no points elsewhere cannot be predicted from the rest and is
    left out of this table (counted in ``summary``).
    """
    df = measurements(catalogs)
    out = []
    for source in df["source_id"].unique(maintain_order=True):
        train = df.filter(pl.col("source_id") != source)
        test = df.filter(
            pl.col("source_id") == source,
            pl.col("fit_chip").is_in(train["fit_chip"].unique().implode()),
            pl.col("engine").is_in(train["engine"].unique().implode()),
        )
        if test.height == 0:
            continue
        values = fit_points(catalogs, train)
        for g in _groups(catalogs, test):
            pred = predict_points(g, values.params(g.df))["model_tps_per_chip"]
            out.append(g.df.with_columns(model_tps_per_chip=pred))
    df = pl.concat(out) if out else df.head(0).with_columns(model_tps_per_chip=pl.lit(0.0))
    return df.with_columns(ratio=pl.col("model_tps_per_chip") / pl.col("output_tps_per_chip"))


def summary(ratios: np.ndarray) -> dict[str, float]:
    """Median ratio, share within 25 %, worst factor, median |error| of ``ratios`` (model / measured)."""
    r = np.asarray(ratios, dtype=np.float64)
    if r.size == 0:  # nothing held out (every chip measured by one source)
        return {"points": 0} | dict.fromkeys(
            ("median_ratio", "share_within_25pct", "worst_factor", "median_abs_error"), math.nan
        )
    worst = np.maximum(r, 1.0 / r)
    return {
        "points": int(r.size),
        "median_ratio": float(np.median(r)),
        "share_within_25pct": float(np.mean(np.abs(r - 1.0) <= WITHIN)),
        "worst_factor": float(worst.max()),
        "median_abs_error": float(np.median(np.abs(r - 1.0))),
    }


def passes(s: dict[str, float]) -> bool:
    """The acceptance of issue 11 on a :func:`summary`."""
    return (
        MEDIAN_BAND[0] <= s["median_ratio"] <= MEDIAN_BAND[1]
        and s["share_within_25pct"] >= SHARE_WITHIN
        and s["worst_factor"] <= WORST
    )


def heldout_by(values: Fit, heldout: pl.DataFrame) -> dict:
    """Held-out points, median ratio and share within 25 % per fitted chip row and per engine."""
    keys = value_keys(values.chips, heldout)
    df = heldout.with_columns(key=pl.Series([f"{h}/{p}" for h, p in keys]))

    def per(column: str, split) -> dict:
        out = {}
        for (key,), g in df.group_by(column):
            s = summary(g["ratio"].to_numpy())
            out[split(key)] = {
                "heldout_points": s["points"],
                "heldout_median_ratio": s["median_ratio"],
                "heldout_within_25pct": s["share_within_25pct"],
            }
        return out

    return {"chips": per("key", lambda k: tuple(k.split("/"))), "engines": per("engine", str)}


def bound_text(figures: dict) -> str:
    """Words for the figures of a fitted entry that ended at a bound of their range, and why."""
    by_side: dict[str, list[str]] = {}
    for f, (side, _) in figures["at_bound"].items():
        by_side.setdefault(side, []).append(f)
    ratio = next(iter(figures["at_bound"].values()))[1]
    ends = "; ".join(f"{', '.join(fs)} at the {side} bound" for side, fs in by_side.items())
    return (
        f"{ends} (its points at median model / measured {ratio:.2f} there: the rest of the error is "
        "something no figure inside its range describes)"
    )


def _fit_text(v: dict, what: str) -> str:
    text = (
        f"joint least squares on ln(model / measured) over the current points of measurements.csv from "
        f"{', '.join(v['sources'])}, inside the ranges of {what}; held out: leave one source out"
    )
    return text + (f"; {bound_text(v)}" if v["at_bound"] else "")


def _rewrite(table, rows: Iterable[dict], keep: pl.DataFrame) -> str:
    """``table``'s text with its data rows replaced by ``rows`` (dicts by column name, canonical
    units) then the rows of ``keep``; comment lines and the header kept as they are."""
    import csv
    import io

    comments, header = preamble(table.raw.decode("utf-8-sig"))
    columns = next(csv.reader([header]))
    buf = io.StringIO()
    buf.write("\n".join(comments + [header]) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow([row.get(split_header(c)[0], "") for c in columns])
    for r in keep.iter_rows(named=True):
        w.writerow(
            ["" if r.get(split_header(c)[0]) is None else _cell(r[split_header(c)[0]]) for c in columns]
        )
    return buf.getvalue()


def _cell(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _figures(table, v: dict, fields: Iterable[str]) -> dict:
    """``v``'s figures as cells in the units of ``table``'s header."""
    units = table.header_units
    return {f: f"{Q_(v[f], 's').to(units[f]).m:.4g}" if units.get(f) else f"{v[f]:.4g}" for f in fields}


def _heldout_cells(h: dict) -> dict:
    return {
        "heldout_points": h.get("heldout_points", 0),
        "heldout_median_ratio": f"{h['heldout_median_ratio']:.3f}" if h else "",
        "heldout_within_25pct": f"{h['heldout_within_25pct']:.3f}" if h else "",
    }


def efficiency_rows_csv(catalogs: Catalogs, values: Fit, heldout: dict, df: pl.DataFrame) -> str:
    """``efficiencies.csv`` with the fitted rows replaced by ``values``, each naming the engine
    most measured on its chip (of the points ``df``); the rows of chips that resemble another are
    kept as they are."""
    table = catalogs["efficiencies"]
    fitted = sorted({hw for hw, _ in values.chips})
    kept = table.df.filter(pl.col("resembles").is_not_null(), ~pl.col("hardware").is_in(fitted))
    engine = {
        h: g.sort(["len", "engine"], descending=[True, False])["engine"][0]
        for (h,), g in df.group_by("fit_chip", "engine").len().group_by("fit_chip")
    }
    rows = (
        {"hardware": hw, "precision": precision, "engine": engine[hw], "resembles": ""}
        | _figures(table, v, CHIP_FIELDS)
        | {"points": int(v["points"])}
        | _heldout_cells(heldout.get((hw, precision), {}))
        | {"fit": _fit_text(v, "efficiency_ranges.csv"), "source": "python -m perfmodel fit"}
        for (hw, precision), v in sorted(values.chips.items())
    )
    return _rewrite(table, rows, kept)


def engine_rows_csv(catalogs: Catalogs, values: Fit, heldout: dict) -> str:
    """``engine_profiles.csv`` with the fitted engines' overheads, points and held-out error
    replaced by ``values``; every other cell and row kept."""
    table = catalogs["engine_profiles"]
    rows = []
    for r in table.df.iter_rows(named=True):
        v = values.engines.get(r["name"])
        if v is None:
            rows.append({k: "" if x is None else _cell(x) for k, x in _in_header_units(table, r).items()})
            continue
        rows.append(
            {k: "" if x is None else _cell(x) for k, x in _in_header_units(table, r).items()}
            | _figures(table, v, ENGINE_FIELDS)
            | {"points": int(v["points"])}
            | _heldout_cells(heldout.get(r["name"], {}))
            | {"fit": _fit_text(v, "its _low and _high columns")}
        )
    return _rewrite(table, rows, table.df.head(0))


def _in_header_units(table, row: dict) -> dict:
    """A row of ``table`` (canonical units) in the units its file's header names."""
    out = {}
    for k, x in row.items():
        unit, canonical = table.header_units.get(k), table.units.get(k)
        out[k] = in_header_unit(x, canonical, unit) if x is not None and unit and canonical else x
    return out
