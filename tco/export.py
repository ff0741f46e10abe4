"""CSV export that spreadsheet programs cannot turn into formulas (OWASP CSV injection)."""

from __future__ import annotations

import polars as pl

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str | None) -> str | None:
    """Prefix a cell that a spreadsheet would read as a formula with an apostrophe."""
    if text is not None and text.startswith(_TRIGGERS):
        return "'" + text
    return text


def safe_csv(df: pl.DataFrame) -> bytes:
    """``df`` as CSV bytes with every text cell neutralized (numbers are left as numbers)."""
    text_cols = [
        c for c, t in df.schema.items() if t in (pl.String, pl.Categorical) or isinstance(t, pl.Enum)
    ]
    risky = r"^[=+\-@\t\r]"
    cleaned = df.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(risky))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text_cols
    )
    return cleaned.write_csv().encode("utf-8")
