"""Achieved efficiencies fitted to public measurements, and the model checked against them.

Every row of ``measurements.csv`` is a served configuration (model, chip, TP/PP/EP, precision,
ISL, OSL, concurrency or ``max``) with its measured output tokens/s per chip. The serving model
predicts each point with a chip's five efficiencies (``bw_efficiency``, ``prefill_efficiency``,
``decode_efficiency``, ``step_overhead``, ``collective_latency``) and the point's own engine
profile. The fit (docs/model.md §7):

- minimizes ``sum_i ln(model_i / measured_i)^2`` per chip (scipy ``least_squares``, trust region
  with bounds), plus a weak pull of each parameter toward a prior (ridge weight
  :data:`PRIOR_WEIGHT` on the log of the parameter), so that a parameter the data do not
  constrain stays at a plausible value instead of wandering;
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
  a chip with fewer than 12 points, a figure at its bound, a point missed by more than
  :data:`FIT_WORST`; each as ``file:row:column`` (:class:`~perfmodel.inputs.CatalogError`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from perfmodel.api.setup import prepare
from perfmodel.calibration.fit_guards import figure_problems, implausible, known_rows, refuse, too_few
from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.serving_schemas import EFFICIENCIES, EFFICIENCY_FIELDS, MEASUREMENTS
from perfmodel.catalog.table import preamble, split_header
from perfmodel.inputs import Problem
from perfmodel.model.hardware import HardwareArrays
from perfmodel.model.profiles import ServingProfile, fitted_profile, limit_profile
from perfmodel.model.serving_step import Deployment, Layout, concurrency_limit, serve_arrays
from perfmodel.units import Q_

#: Prior (starting) value of each parameter and its bounds, base units.
#: Memory-bound decode kernels reach 70-90 % of peak bandwidth, large prefill GEMMs 50-80 % of the
#: dense tensor peak; 1 ms per step and 10 us per all-reduce are typical of CUDA-graph serving
#: (vLLM and TensorRT-LLM profiles). The priors only matter where the data say little.
PRIOR = {
    "bw_efficiency": 0.8,
    "prefill_efficiency": 0.6,
    "decode_efficiency": 0.5,
    "step_overhead": 1e-3,
    "token_overhead": 1e-6,
    "collective_latency": 1e-5,
}
BOUNDS = {
    "bw_efficiency": (0.1, 1.0),
    "prefill_efficiency": (0.05, 1.0),
    "decode_efficiency": (0.05, 1.0),
    "step_overhead": (1e-6, 0.05),
    "token_overhead": (1e-9, 1e-4),
    "collective_latency": (1e-6, 5e-4),
}
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
#: A fitted point the fitted model misses by more than this factor is refused (the worst fitted point
#: of the packaged measurements is 2.32x, docs/model.md §7, "Known misses").
FIT_WORST = 3.0
FILE = MEASUREMENTS.file
#: Columns of measurements.csv that name a row of another catalog.
MEASUREMENT_NAMES = {"model": "models", "hardware": "hardware", "engine": "engine_profiles"}


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


def far_off(catalogs: Catalogs, df: pl.DataFrame, values: dict) -> list[Problem]:
    """Fitted points the fitted model misses by more than :data:`FIT_WORST`: no efficiency of the
    chip explains them, so they are refused rather than left to bend the chip's figures."""
    problems = []
    for g in _groups(catalogs, df):
        model = predict_points(g, _chip_params(values, _value_keys(values, g.df)))["model_tps_per_chip"]
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
    """Points grouped by (precision, KV precision): one setup each, arrays per point."""
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
        engines = [catalogs["engine_profiles"].row(e) for e in g["engine"]]
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


def _chip_params(values: dict, keys: list) -> dict[str, np.ndarray]:
    """Per-point parameter arrays from per-key figures (key: chip or chip/precision)."""
    return {f: np.array([values[k][f] for k in keys]) for f in EFFICIENCY_FIELDS}


def _value_keys(values: dict, df: pl.DataFrame) -> list[tuple[str, str]]:
    """The fitted row each point of ``df`` takes: its chip at its precision, else its chip's ``any``."""
    return [
        (h, p) if (h, p) in values else (h, "any")
        for h, p in zip(df["fit_chip"], df["precision"], strict=True)
    ]


def fit_key(hardware: str, precision: str, precise: set[tuple[str, str]]) -> tuple[str, str]:
    """The efficiency row a point belongs to: its own precision if fitted apart, else ``any``."""
    return (hardware, precision) if (hardware, precision) in precise else (hardware, "any")


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


def fit(catalogs: Catalogs) -> dict[tuple[str, str], dict[str, float]]:
    """Fitted figures per (chip, precision or ``any``) over the current, steady points, with
    ``points``, the number of points behind each, guarded (:mod:`~perfmodel.calibration.fit_guards`):
    refuses rows above the limit, chips with too few points, figures at a bound and points the
    fitted model misses by more than :data:`FIT_WORST`, each as :class:`CatalogError`."""
    every = measurements(catalogs, fitted_only=False)
    refuse(impossible_points(catalogs, every))
    df = every.filter("fitted")
    counts = dict(df.group_by("fit_chip").len().iter_rows())
    refuse(too_few(counts, len(EFFICIENCY_FIELDS), FILE, "current, steady points"))
    values = fit_points(catalogs, df)
    refuse(figure_problems(values, {f: BOUNDS[f] for f in EFFICIENCY_FIELDS}, EFFICIENCIES, FILE))
    refuse(far_off(catalogs, df, values))
    return values


def fit_points(catalogs: Catalogs, df: pl.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """The least-squares fit of :func:`fit` over the points ``df``, unguarded (the held-out fits).

    Each key's points depend on that key's parameters only, so each key is its own small
    least-squares problem.
    """
    from scipy.optimize import least_squares

    precise = precise_keys(df)
    keys = [fit_key(h, pr, precise) for h, pr in zip(df["fit_chip"], df["precision"], strict=True)]
    df = df.with_columns(key=pl.Series([f"{h}/{p}" for h, p in keys]))
    # Every chip gets an ``any`` row (for precisions it was not measured at): over its points
    # outside the precision rows, or over all its points when the precision rows take them all.
    covered = set(df.filter(pl.col("key").str.ends_with("/any"))["fit_chip"])
    df = pl.concat(
        [
            df,
            df.filter(~pl.col("fit_chip").is_in(list(covered))).with_columns(key=pl.col("fit_chip") + "/any"),
        ]
    )
    prior = np.log([PRIOR[f] for f in EFFICIENCY_FIELDS])
    lo = np.log([BOUNDS[f][0] for f in EFFICIENCY_FIELDS])
    hi = np.log([BOUNDS[f][1] for f in EFFICIENCY_FIELDS])
    out = {}
    for key, sub in df.group_by("key", maintain_order=True):
        groups = list(_groups(catalogs, sub))
        measured = [g.df["output_tps_per_chip"].to_numpy() for g in groups]

        def residuals(x: np.ndarray, groups=groups, measured=measured) -> np.ndarray:
            values = dict(zip(EFFICIENCY_FIELDS, np.exp(x), strict=True))
            res = [
                np.log(
                    predict_points(g, {f: np.full(g.df.height, v) for f, v in values.items()})[
                        "model_tps_per_chip"
                    ]
                    / meas
                )
                for g, meas in zip(groups, measured, strict=True)
            ]
            return np.concatenate(res + [PRIOR_WEIGHT * (x - prior)])

        result = least_squares(residuals, np.clip(prior, lo, hi), bounds=(lo, hi))
        out[tuple(key[0].split("/"))] = dict(zip(EFFICIENCY_FIELDS, np.exp(result.x), strict=True)) | {
            "points": sub.height,
            "sources": sorted(set(sub["source_id"])),
        }
    return out


def compare(
    catalogs: Catalogs, values: dict[tuple[str, str], dict[str, float]] | None = None
) -> pl.DataFrame:
    """Every measured point with the model's calibrated and limit predictions and their ratios.

    ``values`` defaults to the efficiencies in the catalogs (``efficiencies.csv``).
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
            params = {f: np.array([r[f] for r in rows]) for f in EFFICIENCY_FIELDS}
        else:
            params = _chip_params(values, _value_keys(values, g.df))
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

    A source whose chip (at the point's precision key) has no points elsewhere cannot be
    predicted from the rest and is left out of this table (counted in ``summary``).
    """
    df = measurements(catalogs)
    out = []
    for source in df["source_id"].unique(maintain_order=True):
        train = df.filter(pl.col("source_id") != source)
        test = df.filter(pl.col("source_id") == source)
        test = test.filter(pl.col("fit_chip").is_in(train["fit_chip"].unique().implode()))
        if test.height == 0:
            continue
        values = fit_points(catalogs, train)
        for g in _groups(catalogs, test):
            pred = predict_points(g, _chip_params(values, _value_keys(values, g.df)))["model_tps_per_chip"]
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


def heldout_by_key(values: dict, heldout: pl.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """Held-out points, median ratio and share within 25 % per fitted row of ``values``."""
    keys = _value_keys(values, heldout)
    df = heldout.with_columns(key=pl.Series([f"{h}/{p}" for h, p in keys]))
    out = {}
    for (key,), g in df.group_by("key"):
        s = summary(g["ratio"].to_numpy())
        out[tuple(key.split("/"))] = {
            "heldout_points": s["points"],
            "heldout_median_ratio": s["median_ratio"],
            "heldout_within_25pct": s["share_within_25pct"],
        }
    return out


def efficiency_rows_csv(catalogs: Catalogs, values: dict, heldout: dict) -> str:
    """``efficiencies.csv`` with the fitted rows replaced by ``values``; comment lines, the
    header and the rows of chips that resemble another are kept as they are."""
    import csv
    import io

    table = catalogs["efficiencies"]
    text = table.raw.decode("utf-8-sig")
    comments, header = preamble(text)
    names = next(csv.reader([header]))
    units = {name: unit for name, unit in (split_header(c) for c in names)}
    fitted = sorted({hw for hw, _ in values})
    kept = table.df.filter(pl.col("resembles").is_not_null(), ~pl.col("hardware").is_in(fitted))
    engines = dict(zip(table.df["hardware"], table.df["engine"], strict=True))
    buf = io.StringIO()
    buf.write("\n".join(comments + [header]) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    for (hw, precision), v in sorted(values.items()):
        fit_text = (
            f"least squares on ln(model / measured) over the current points of measurements.csv "
            f"from {', '.join(v['sources'])}; held out: leave one source out"
        )
        row = {"hardware": hw, "precision": precision, "engine": engines.get(hw, "vllm"), "resembles": ""}
        for f in EFFICIENCY_FIELDS:
            row[f] = f"{Q_(v[f], 's').to(units[f]).m:.4g}" if units.get(f) else f"{v[f]:.4g}"
        row["points"] = int(v["points"])
        h = heldout.get((hw, precision), {})
        row["heldout_points"] = h.get("heldout_points", 0)
        row["heldout_median_ratio"] = f"{h['heldout_median_ratio']:.3f}" if h else ""
        row["heldout_within_25pct"] = f"{h['heldout_within_25pct']:.3f}" if h else ""
        row["fit"] = fit_text
        row["source"] = "python -m perfmodel fit"
        w.writerow([row.get(split_header(c)[0], "") for c in names])
    for r in kept.iter_rows(named=True):
        w.writerow(["" if r.get(split_header(c)[0]) is None else r[split_header(c)[0]] for c in names])
    return buf.getvalue()
