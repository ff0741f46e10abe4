"""How fresh each catalog figure is: the date of every row, and the rows older than a limit.

A row's date is its own date column where the file has one (``price_date`` of
hardware_economics.csv, ``date`` of rentals.csv and the measurement files), else the latest date
its ``source`` text names (``2025-06-12``, ``2025-06`` or a year such as ``2025``), else none:
an undated row is listed as such (its age unknown), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from perfmodel.catalog.folder import Catalogs
from perfmodel.inputs import InvalidInput

#: Columns that date a row, in the order they are looked for.
DATE_COLUMNS = ("price_date", "date")
#: A date in a source text: YYYY-MM-DD, YYYY-MM or a year from 1990 to 2099 (word-bounded).
_DATE = re.compile(r"(?<![\d-])((?:19[9]\d|20\d\d))(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?(?![\d])")
#: ``--older-than`` as people write it: ``12months``, ``18 months``, ``2years``, ``1y``, ``6m``.
_AGE = re.compile(r"\s*(\d{1,3})\s*(months?|m|years?|y)\s*", re.ASCII)


def parse_age(text: str) -> int:
    """``--older-than`` in whole months (``12months``, ``2years``, ``6m``, ``1y``)."""
    m = _AGE.fullmatch(text or "")
    if not m:
        raise InvalidInput(
            f"--older-than {text!r}: expected a number of months or years, e.g. 12months or 2years"
        )
    n = int(m.group(1))
    return n * 12 if m.group(2).startswith("y") else n


def _month(text: str | None) -> dt.date | None:
    """The latest date ``text`` names, as the first day of its month (a bare year: its January)."""
    if not text:
        return None
    found = [dt.date(int(y), int(mo or 1), 1) for y, mo, _ in _DATE.findall(text)]
    return max(found) if found else None


def row_dates(catalogs: Catalogs, today: dt.date | None = None) -> pl.DataFrame:
    """Every row of every catalog with its date: file, line, name (the row's first column), date
    (YYYY-MM, null when undated), dated_by (the column or ``source``) and age_months."""
    today = today or dt.date.today()
    rows = []
    for key in sorted(catalogs.tables):
        table = catalogs[key]
        df = table.df
        first = df.columns[0]
        dated_by = next((c for c in DATE_COLUMNS if c in df.columns), None)
        dates = df[dated_by].to_list() if dated_by else [None] * df.height
        sources = df["source"].to_list() if "source" in df.columns else [None] * df.height
        for line, name, date, source in zip(table.lines, df[first].to_list(), dates, sources, strict=True):
            when, by = (_month(date), dated_by) if date else (_month(source), "source")
            age = None if when is None else (today.year - when.year) * 12 + today.month - when.month
            rows.append(
                {
                    "file": table.path.name,
                    "line": line,
                    "name": str(name),
                    "date": None if when is None else f"{when:%Y-%m}",
                    "dated_by": by if when is not None else None,
                    "age_months": age,
                }
            )
    schema = {
        "file": pl.String,
        "line": pl.Int64,
        "name": pl.String,
        "date": pl.String,
        "dated_by": pl.String,
    }
    return pl.DataFrame(rows, schema=schema | {"age_months": pl.Int64})


def stale(
    catalogs: Catalogs, older_than_months: int, today: dt.date | None = None, undated: bool = False
) -> pl.DataFrame:
    """The rows of :func:`row_dates` older than ``older_than_months`` (with ``undated``, the rows
    without a date too), oldest first."""
    dated = row_dates(catalogs, today)
    old = pl.col("age_months") > older_than_months
    keep = old | pl.col("age_months").is_null() if undated else old
    return dated.filter(keep).sort("age_months", descending=True, nulls_last=True)
