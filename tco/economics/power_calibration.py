"""The power model under load, fitted to accelerator power measured while serving.

The physics alone (:func:`tco.equations.dynamic_power`: energy per FLOP at the process node,
energy per bit of the memory) puts an H100 serving gpt-oss-20b at about 270 W, where ML.ENERGY
measured 440-610 W. A serving chip keeps its clocks, caches and on-die data movement busy
whatever the size of a step. :func:`tco.equations.serving_power` therefore draws
``min(f x TDP + s x P_dynamic, TDP)``, and this module fits the serving floor ``f`` and the
dynamic scale ``s`` per measured chip (docs/model.md, section 8):

- each point of ``power_measurements.csv`` is served by the calibrated model at its workload;
  its FLOP/s and memory traffic are scaled to the *measured* throughput, so the fit checks the
  power model, not the throughput model;
- least squares on ``ln(model / measured)`` (scipy ``least_squares``, bounded), with a weak
  pull toward the uncalibrated physics (``f`` = 0.3, ``s`` = 1);
- held-out error: each model in turn is left out, the chip refitted on the others, and the
  left-out model's points predicted.
- refuses garbage (:mod:`perfmodel.calibration.fit_guards`): unknown names, values outside their
  bands, a power outside 0.1-1 x the chip's TDP, fewer than 4 points per chip, a figure at its bound
  or outside its band in power_calibration.csv.

A chip without measurements names the chip it ``resembles`` in ``power_calibration.csv``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable

import numpy as np
import polars as pl

from perfmodel.calibration.fit_guards import figure_problems, implausible, known_rows, refuse, too_few
from perfmodel.catalog.economics_schemas import POWER_CALIBRATION, POWER_FIELDS, POWER_MEASUREMENTS
from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.table import preamble, split_header
from perfmodel.inputs import InvalidInput, Problem
from tco import equations as eq
from tco.economics.chip_costs import chip_table

#: Prior (the uncalibrated physics: the catalog's 30 % static estimate, dynamic energy as is),
#: bounds and the weight of the prior on the log of each figure.
PRIOR = {"serving_floor": 0.3, "dynamic_scale": 1.0}
BOUNDS = {"serving_floor": (0.05, 1.0), "dynamic_scale": (0.01, 50.0)}
PRIOR_WEIGHT = 0.1
FILE = POWER_MEASUREMENTS.file


def power_points(catalogs: Catalogs) -> pl.DataFrame:
    """``power_measurements.csv`` with its ``line``, ``tdp_w`` and ``dynamic_w``, the physical
    dynamic power of each point's FLOPs and memory traffic at its measured throughput.

    Refused (:class:`CatalogError`, ``file:row:column``): a row naming a model or chip the catalogs
    lack, a value outside its column's plausibility band, a configuration the serving model cannot
    serve, and a measured power outside :func:`power_range` of its chip.
    """
    from perfmodel.api.serving import serve
    from perfmodel.api.setup import prepare
    from perfmodel.catalog.schemas import PRECISION_BYTES

    df = known_rows(catalogs, "power_measurements", {"model": "models", "hardware": "hardware"})
    refuse(implausible(catalogs, "power_measurements"))
    chips = {c["hardware"]: c for c in chip_table(catalogs).iter_rows(named=True)}
    tdp, dynamic, problems = [], [], []
    for r in df.iter_rows(named=True):
        c = chips[r["hardware"]]
        lo, hi = power_range(c["tdp_w"])
        if not lo <= r["power_per_chip"] <= hi:
            problems.append(
                Problem(
                    FILE,
                    r["line"],
                    "power_per_chip",
                    f"{r['power_per_chip']:.6g} W",
                    f"a mean power per chip from {lo:.4g} to {hi:.4g} W: at most {r['hardware']}'s TDP "
                    "(hardware_economics.csv), the cap of a serving chip and of the model, and at least the "
                    "lowest plausible serving floor times the TDP",
                )
            )
        setup = prepare(catalogs, "published", r["precision"], [r["model"]], [r["hardware"]])
        try:
            s = serve(
                r["model"],
                r["hardware"],
                tp=r["tp"],
                isl=round(r["isl"]),
                osl=round(r["osl"]),
                concurrency=max(1, round(r["concurrency"])),
                setup=setup,
            )
        except InvalidInput as e:
            problems.append(
                Problem(FILE, r["line"], None, None, f"a configuration the model can serve ({e})")
            )
            continue
        scale = r["output_tps_per_chip"] / (s.output_tps.to("token/s").m / s.chips)
        dynamic.append(
            eq.dynamic_power(
                c["energy_per_flop_j"] * PRECISION_BYTES[r["precision"]],
                s.flop_per_s_chip.to("FLOP/s").m * scale,
                c["memory_energy_j_per_bit"],
                s.bytes_per_s_chip.to("bit/s").m * scale,
                c["tier2_energy_j_per_bit"],
                s.tier2_bytes_per_s_chip.to("bit/s").m * scale,
            )
        )
        tdp.append(c["tdp_w"])
    refuse(problems)
    return df.with_columns(
        tdp_w=pl.Series(tdp, dtype=pl.Float64), dynamic_w=pl.Series(dynamic, dtype=pl.Float64)
    )


def power_range(tdp_w: float) -> tuple[float, float]:
    """Mean power per chip [W] a serving chip can draw: from the lowest plausible serving floor
    (``serving_floor`` of power_calibration.csv) times the TDP, to the TDP, the cap of
    :func:`tco.equations.serving_power` and of the chip's power management."""
    return POWER_CALIBRATION.column("serving_floor").plausible[0] * tdp_w, tdp_w


def predict(points: pl.DataFrame, figures: Callable[[str], dict[str, float]]) -> np.ndarray:
    """Modelled power of each point with ``figures(chip)`` -> serving_floor, dynamic_scale."""
    f = [figures(h) for h in points["hardware"]]
    return eq.serving_power(
        points["tdp_w"].to_numpy(),
        np.array([x["serving_floor"] for x in f]),
        np.array([x["dynamic_scale"] for x in f]),
        points["dynamic_w"].to_numpy(),
    )


def fit(points: pl.DataFrame) -> dict[str, dict]:
    """Fitted ``serving_floor`` and ``dynamic_scale`` per chip, with the points and models behind
    each, guarded (:mod:`perfmodel.calibration.fit_guards`): a chip needs
    ``MIN_POINTS_PER_FIGURE`` points per figure, and a figure that ends at its bound or outside the
    plausible band of its power_calibration.csv column (the floor 0.1-1 x TDP, the dynamic scale
    :data:`~perfmodel.catalog.economics_schemas.DYNAMIC_SCALE_BAND`) raises :class:`CatalogError`."""
    counts = dict(points.group_by("hardware").len().iter_rows())
    refuse(too_few(counts, len(POWER_FIELDS), FILE))
    values = fit_points(points)
    refuse(figure_problems(values, BOUNDS, POWER_CALIBRATION, FILE))
    return values


def fit_points(points: pl.DataFrame) -> dict[str, dict]:
    """The least-squares fit of :func:`fit`, unguarded (the held-out fits)."""
    from scipy.optimize import least_squares

    prior = np.log([PRIOR[f] for f in POWER_FIELDS])
    lo = np.log([BOUNDS[f][0] for f in POWER_FIELDS])
    hi = np.log([BOUNDS[f][1] for f in POWER_FIELDS])
    out = {}
    for (chip,), g in points.group_by("hardware", maintain_order=True):
        tdp, dyn, measured = (g[c].to_numpy() for c in ("tdp_w", "dynamic_w", "power_per_chip"))

        def residuals(x, tdp=tdp, dyn=dyn, measured=measured):
            floor, scale = np.exp(x)
            return np.concatenate(
                [np.log(eq.serving_power(tdp, floor, scale, dyn) / measured), PRIOR_WEIGHT * (x - prior)]
            )

        x = np.exp(least_squares(residuals, prior, bounds=(lo, hi)).x)
        out[chip] = dict(zip(POWER_FIELDS, x, strict=True)) | {
            "points": g.height,
            "models": sorted(set(g["model"])),
            "sources": sorted(set(g["source_id"])),
        }
    return out


def held_out(points: pl.DataFrame) -> pl.DataFrame:
    """Leave one model out: each model's points predicted by a fit on the chip's other models."""
    out = []
    for (chip, model), test in points.group_by("hardware", "model", maintain_order=True):
        train = points.filter(pl.col("hardware") == chip, pl.col("model") != model)
        if train.height == 0:
            continue
        values = fit_points(train)
        out.append(test.with_columns(model_power_w=predict(test, values.__getitem__)))
    df = pl.concat(out) if out else points.head(0).with_columns(model_power_w=pl.lit(0.0))
    return df.with_columns(ratio=pl.col("model_power_w") / pl.col("power_per_chip"))


def summary(ratios: np.ndarray) -> dict[str, float]:
    """Points, median ratio, share within 25 % and worst factor of ``ratios`` (model / measured)."""
    r = np.asarray(ratios, dtype=np.float64)
    if r.size == 0:  # nothing held out (every chip measured on one model)
        return {"points": 0} | dict.fromkeys(("median_ratio", "share_within_25pct", "worst_factor"), math.nan)
    return {
        "points": int(r.size),
        "median_ratio": float(np.median(r)),
        "share_within_25pct": float(np.mean(np.abs(r - 1.0) <= 0.25)),
        "worst_factor": float(np.maximum(r, 1.0 / r).max()),
    }


def calibration_csv(catalogs: Catalogs, values: dict[str, dict], heldout: pl.DataFrame) -> str:
    """``power_calibration.csv`` with the fitted rows replaced by ``values``; comment lines,
    header and the rows of chips that resemble another are kept."""
    table = catalogs["power_calibration"]
    comments, header = preamble(table.raw.decode("utf-8-sig"))
    names = next(csv.reader([header]))
    kept = table.df.filter(pl.col("resembles").is_not_null(), ~pl.col("hardware").is_in(list(values)))
    buf = io.StringIO()
    buf.write("\n".join([*comments, header]) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    for chip, v in sorted(values.items()):
        h = (
            summary(heldout.filter(pl.col("hardware") == chip)["ratio"].to_numpy())
            if chip in set(heldout["hardware"])
            else None
        )
        row = {
            "hardware": chip,
            "resembles": "",
            **{f: f"{v[f]:.4g}" for f in POWER_FIELDS},
            "points": v["points"],
            "heldout_points": h["points"] if h else 0,
            "heldout_median_ratio": f"{h['median_ratio']:.3f}" if h else "",
            "heldout_within_25pct": f"{h['share_within_25pct']:.3f}" if h else "",
            "fit": f"least squares on ln(model / measured power) over {v['points']} points of "
            f"power_measurements.csv ({', '.join(v['models'])}); held out: leave one model out",
            "source": f"python -m tco power-fit ({', '.join(v['sources'])})",
        }
        w.writerow([row.get(split_header(c)[0], "") for c in names])
    for r in kept.iter_rows(named=True):
        w.writerow(["" if r.get(split_header(c)[0]) is None else r[split_header(c)[0]] for c in names])
    return buf.getvalue()
