"""Every table any surface writes to a file: CSV that spreadsheets cannot run, written whole.

A cell starting with ``= + - @``, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (OWASP, "CSV Injection"); such text cells get a leading apostrophe, which the
spreadsheet shows as text. Numbers stay numbers. Files are written through a temporary file
renamed into place, so an interrupted write leaves the previous file or none, never half of one.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import polars as pl

#: First characters that make a spreadsheet cell a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_RISKY = r"^[=+\-@\t\r]"


def neutralize(text: str | None) -> str | None:
    """Prefix a cell that a spreadsheet would read as a formula with an apostrophe."""
    if text is not None and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def safe_csv(df: pl.DataFrame) -> bytes:
    """``df`` as CSV bytes with every text cell neutralized (numbers are left as numbers)."""
    text_cols = [
        c for c, t in df.schema.items() if t in (pl.String, pl.Categorical) or isinstance(t, pl.Enum)
    ]
    cleaned = df.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(_RISKY))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text_cols
    )
    return cleaned.write_csv().encode("utf-8")


def frame_bytes(df: pl.DataFrame, suffix: str) -> bytes:
    """``df`` as a ``.csv`` (through :func:`safe_csv`) or ``.parquet`` file's bytes."""
    if suffix == ".csv":
        return safe_csv(df)
    if suffix == ".parquet":
        buf = io.BytesIO()
        df.write_parquet(buf)
        return buf.getvalue()
    raise ValueError(f"a .csv or .parquet file, got {suffix!r}")


def write_output(path: Path | str, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` (folders created) through a temporary file renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        return 0o022
