"""A demand forecast: output tokens per day of each model, month by month, under a service level.

The forecast is a CSV the user writes, validated like every catalog (units in the headers,
every problem reported as ``file:row:column``) by :func:`perfmodel.catalog.table.read_table`::

    month,model,output_tokens_per_day[token/day],isl[token],osl[token],min_utps[token/s],peak_to_mean,source
    2026-01,llama3-70b,2e9,1024,1024,30,2.0,"product plan v3"

One row is one *stream*, a (model, isl, osl, min_utps) workload, in one month; a month may hold
several models, and one model several workloads. :func:`demand_arrays` lays the forecast on the
horizon's calendar as (month x stream) arrays, the shape the planner works in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.table import Column, Schema, read_table
from perfmodel.inputs import CatalogError, InvalidInput, Problem
from perfmodel.units import Q_

#: Fewest output tokens a request can have in the serving model (one from prefill, one decoded).
MIN_OSL = 2
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)  # ASCII digits: ２０２７-01 is no month
#: The columns that name a stream (one workload of one model); a month holds each stream once.
STREAM = ("model", "isl", "osl", "min_utps")
_S_PER_DAY = Q_(1.0, "day").to("s").magnitude
_S_PER_HOUR = Q_(1.0, "hour").to("s").magnitude
_HOURS_PER_DAY = Q_(1.0, "day").to("hour").magnitude


#: Largest value of each figure of a forecast, in its column's unit: output tokens a day a
#: thousand times the whole industry's (about 1e15 a day in 2025), the command line's longest
#: context (10 M tokens), a peak a thousand times the mean. Past them a fleet's server count
#: leaves the integers a plan counts in. (A UTPS floor no chip reaches is an answer, not an error.)
MAXIMA = {"output_tokens_per_day": 1e18, "isl": 1e7, "osl": 1e7, "peak_to_mean": 1e3}


def _demand_rules(r: dict) -> Iterable[tuple[str, str]]:
    for c, most in MAXIMA.items():
        if r[c] is not None and r[c] > most:
            unit = DEMAND.column(c).unit
            yield c, f"at most {most:.3g}" + (f" {unit}" if unit else "")
    if r["month"] is not None and not _MONTH.match(r["month"]):
        yield "month", "a month written YYYY-MM, e.g. 2026-01"
    for c in ("isl", "osl"):
        if r[c] is not None and r[c] != round(r[c]):
            yield c, "a whole number of tokens"
    if r["osl"] is not None and r["osl"] < MIN_OSL:
        yield "osl", f"at least {MIN_OSL} tokens (the first comes from the prefill)"


DEMAND = Schema(
    "demand.csv",
    (
        Column("month", "text", doc="calendar month, YYYY-MM"),
        Column("model", "text", doc="a model of models.csv"),
        Column(
            "output_tokens_per_day",
            "float",
            "token/day",
            strict=False,
            doc="mean output tokens generated per day",
            plausible=(0.0, 1e16),
        ),
        Column("isl", "float", "token", doc="input (prompt) tokens per request"),
        Column("osl", "float", "token", doc="output tokens per request"),
        Column("min_utps", "float", "token/s", strict=False, doc="service level: output tokens/s per user"),
        Column(
            "peak_to_mean",
            "float",
            minimum=1.0,
            strict=False,
            doc="busiest hour's demand over the month's mean; the fleet serves the peak",
            plausible=(1.0, 20.0),
        ),
        Column("source", "text", required=False, doc="where the forecast comes from"),
    ),
    key=("month", *STREAM),
    row_check=_demand_rules,
)


def load_demand(source: Path | str | bytes, catalogs: Catalogs, file: str | None = None) -> pl.DataFrame:
    """Read and validate a demand forecast (a path, or CSV bytes named ``file``).

    Parameters
    ----------
    source : path or bytes
        The forecast CSV (see the module docstring for its columns).
    catalogs : Catalogs
        The catalogs whose ``models.csv`` every row's model must name.
    file : str, optional
        Name used in error messages when ``source`` is bytes.

    Returns
    -------
    polars.DataFrame
        One row per (month, stream): ``month`` [YYYY-MM], ``model``, ``output_tokens_per_day``
        [token/day], ``isl`` and ``osl`` [token, integers], ``min_utps`` [token/s],
        ``peak_to_mean`` [1], ``source``.

    Raises
    ------
    CatalogError
        Listing every problem as ``file:row:column: got ...; expected ...``, including models
        that ``models.csv`` does not have.
    """
    table = read_table(source, DEMAND, file=file)
    valid = set(catalogs["models"].names())
    problems = [
        Problem(table.path.name, line, "model", model, "a model of models.csv: " + ", ".join(sorted(valid)))
        for line, model in zip(table.lines, table.df["model"].to_list(), strict=True)
        if model not in valid
    ]
    if problems:
        raise CatalogError(problems)
    return table.df.with_columns(pl.col("isl", "osl").cast(pl.Int64))


@dataclass(frozen=True)
class Demand:
    """A forecast on the horizon's calendar: T months x K streams.

    Attributes
    ----------
    months : list of str
        The horizon's months, YYYY-MM, consecutive.
    hours : numpy.ndarray
        Hours in each month, shape (T,) [h].
    streams : polars.DataFrame
        K rows: ``model``, ``isl`` [token], ``osl`` [token], ``min_utps`` [token/s].
    mean_tps : numpy.ndarray
        Mean output tokens/s of each stream in each month, shape (T, K) [token/s].
    peak_tps : numpy.ndarray
        ``mean_tps x peak_to_mean``, what the fleet is sized for, shape (T, K) [token/s].
    """

    months: list[str]
    hours: np.ndarray
    streams: pl.DataFrame
    mean_tps: np.ndarray
    peak_tps: np.ndarray

    def output_tokens(self) -> np.ndarray:
        """Output tokens delivered in each month and stream, shape (T, K) [token]."""
        return self.mean_tps * self.hours[:, None] * _S_PER_HOUR

    def scaled(self, factor: float) -> Demand:
        """The same forecast with every month's tokens multiplied by ``factor``."""
        return Demand(self.months, self.hours, self.streams, self.mean_tps * factor, self.peak_tps * factor)


def demand_arrays(df: pl.DataFrame, horizon_months: int | None = None) -> Demand:
    """Lay a validated forecast on consecutive months from its first month.

    Parameters
    ----------
    df : polars.DataFrame
        Rows from :func:`load_demand`.
    horizon_months : int, optional
        Months to plan [month]. Default: the forecast's first to last month. A shorter horizon
        drops the later months; a longer one holds the last forecast month's demand flat.

    Returns
    -------
    Demand
        A month without a row for a stream has no demand for it (before the forecast ends).
    """
    if df.height == 0:
        raise InvalidInput("the demand forecast has no rows")
    if horizon_months is not None and horizon_months < 1:
        raise InvalidInput(f"horizon must be at least 1 month, got {horizon_months}")
    month = df["month"].to_numpy().astype("datetime64[M]")
    first = month.min()
    index = (month - first).astype(np.int64)
    last = int(index.max())
    horizon = last + 1 if horizon_months is None else horizon_months
    streams = df.select(STREAM).unique(maintain_order=True).sort(STREAM)
    k = df.join(streams.with_row_index("k"), on=list(STREAM), how="left")["k"].to_numpy()
    mean = np.zeros((max(horizon, last + 1), streams.height))
    peak = np.zeros_like(mean)
    mean[index, k] = df["output_tokens_per_day"].to_numpy() / _S_PER_DAY
    peak[index, k] = mean[index, k] * df["peak_to_mean"].to_numpy()
    # Past the forecast's end, its last month holds.
    mean[last + 1 :] = mean[last]
    peak[last + 1 :] = peak[last]
    calendar = first + np.arange(horizon)
    hours = ((calendar + 1).astype("datetime64[D]") - calendar.astype("datetime64[D]")).astype(
        float
    ) * _HOURS_PER_DAY
    return Demand([str(m) for m in calendar], hours, streams, mean[:horizon], peak[:horizon])
