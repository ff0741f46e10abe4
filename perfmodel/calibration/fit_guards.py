"""What every fit refuses before and after it fits (docs/model.md, sections 7 and 8).

A least-squares fit takes whatever it is given: one point at 1e12 tokens/s ends with an
efficiency of 1, a chip with one point with figures that mean nothing. The efficiency fit and
the power fit therefore refuse, each with ``file:row:column`` and what to change:

- a row naming a model, chip or engine the catalogs do not have (the valid names listed);
- a value outside its column's plausibility band (a warning when a catalog loads, an error
  for the fit, which would otherwise bend every figure of the chip toward it);
- a chip (or engine) with fewer than :data:`MIN_POINTS_PER_FIGURE` points per fitted figure;
- a chip or engine without a sourced range for its figures (the efficiency fit);
- a fitted figure that ends at its bound or outside the plausibility band of the column it is
  written to (the power fit): no plausible figure explains the points. The efficiency fit keeps
  its figures inside sourced physical ranges and reports one that ends at a bound
  (:func:`at_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from perfmodel.catalog.folder import DEFAULT_DIR, Catalogs
from perfmodel.catalog.table import Schema
from perfmodel.inputs import CatalogError, Problem, UnknownName

#: Points per fitted figure a chip needs: with twice as many points as figures the residuals keep as
#: many degrees of freedom as the fit takes, so they measure the model's error instead of being
#: absorbed by the figures (with as many points as figures every point is met exactly).
MIN_POINTS_PER_FIGURE = 2
#: A fitted figure within this relative distance of a bound of the fit ended at it.
AT_BOUND = 1e-3


def refuse(problems: list[Problem]) -> None:
    """Raise :class:`CatalogError` with ``problems`` if there are any."""
    if problems:
        raise CatalogError(problems)


def known_rows(catalogs: Catalogs, name: str, references: Mapping[str, str]) -> pl.DataFrame:
    """Table ``name`` with a ``line`` column and each column of ``references`` (column -> target
    catalog) in the target's spelling (names ignore case, :meth:`Table.resolve`).

    A name the target lacks is an error naming the row and the valid names, except in a packaged
    table when the user's folder has its own, smaller target file: those rows are left out.
    """
    table = catalogs[name]
    df = table.df.with_columns(line=pl.Series(table.lines, dtype=pl.Int64))
    problems = []
    for column, target in references.items():
        spelled, unknown = {}, {}
        for value in df[column].unique().to_list():
            try:
                spelled[value] = catalogs[target].resolve(value)
            except UnknownName as e:
                unknown[value] = str(e)
        if unknown and _packaged(catalogs, name) and not _packaged(catalogs, target):
            df = df.filter(~pl.col(column).is_in(list(unknown)))
        problems += [
            Problem(
                table.path.name,
                r["line"],
                column,
                r[column],
                f"a name from {catalogs[target].path.name} ({unknown[r[column]]})",
            )
            for r in df.filter(pl.col(column).is_in(list(unknown))).iter_rows(named=True)
        ]
        df = df.with_columns(pl.col(column).replace(spelled))
    refuse(problems)
    return df


def _packaged(catalogs: Catalogs, name: str) -> bool:
    return catalogs.origins[name].parent == DEFAULT_DIR


def implausible(catalogs: Catalogs, name: str) -> list[Problem]:
    """The plausibility warnings of table ``name`` as errors: a fit refuses such a value."""
    return [
        replace(p, severity="error", expected=f"{p.expected}; a fit refuses a value outside it")
        for p in catalogs[name].warnings
    ]


def too_few(
    counts: Mapping[str, int], figures: int, file: str, what: str = "points", noun: str = "chip"
) -> list[Problem]:
    """A problem naming every ``noun`` of ``counts`` (name -> ``what``, the points it is fitted to)
    with too few points for ``figures``."""
    need = MIN_POINTS_PER_FIGURE * figures
    short = {chip: n for chip, n in sorted(counts.items()) if n < need}
    why = (
        f"at least {need} {what} per {noun}: {MIN_POINTS_PER_FIGURE} per fitted figure for its "
        f"{figures} figures, so that the fit is over-determined (add points or remove the {noun}'s rows)"
    )
    if not counts:
        return [Problem(file, None, None, f"no {what}", why)]
    if not short:
        return []
    return [Problem(file, None, None, ", ".join(f"{c}: {n} point(s)" for c, n in short.items()), why)]


def figure_problems(
    values: Mapping[object, Mapping[str, float]],
    bounds: Mapping[str, tuple[float, float]],
    schema: Schema,
    file: str,
) -> list[Problem]:
    """Fitted figures that ended at a bound of the fit or outside the plausibility band of
    ``schema``'s column: the fit found no plausible figure that explains the points."""
    problems = []
    for key, v in values.items():
        label = "/".join(key) if isinstance(key, tuple) else str(key)
        for f, (lo, hi) in bounds.items():
            band = schema.column(f).plausible or (-math.inf, math.inf)
            at = next((b for b in (lo, hi) if abs(math.log(v[f] / b)) < AT_BOUND), None)
            if at is None and band[0] <= v[f] <= band[1]:
                continue
            where = f"its bound {at:.4g}" if at is not None else f"outside {band[0]:.4g}-{band[1]:.4g}"
            problems.append(
                Problem(
                    file,
                    None,
                    None,
                    f"{label} {f} fitted to {v[f]:.4g}, {where}",
                    "points a plausible figure explains: check their throughput, power, units and "
                    "configuration (no figure within the bounds fits them)",
                )
            )
    return problems


def missing_ranges(chips: list[tuple[str, str]], engines: list[str]) -> list[Problem]:
    """A problem per chip row and engine the fit would fit without a sourced range: a figure is a
    claim about hardware or software, and its range says which values are physically possible."""
    problems = [
        Problem(
            "efficiency_ranges.csv",
            None,
            None,
            f"{chip}/{precision}",
            f"a row for {chip} (precision {precision} or any) with the range of each figure and its source",
        )
        for chip, precision in chips
    ]
    return problems + [
        Problem(
            "engine_profiles.csv",
            None,
            None,
            engine,
            f"step_overhead_low/high and token_overhead_low/high for {engine}, with overhead_source",
        )
        for engine in engines
    ]


def at_bound(x, lo, hi):
    """-1 where a fitted value (log) ended at its low bound, +1 at its high bound, else 0."""
    import numpy as np

    return np.where(np.abs(x - lo) < AT_BOUND, -1, np.where(np.abs(x - hi) < AT_BOUND, 1, 0))
