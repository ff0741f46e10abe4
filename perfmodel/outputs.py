"""Every table any surface writes to a file: CSV that spreadsheets cannot run, written whole,
and the rule for every file the project reads or writes: a regular file, never a device.

A cell starting with ``= + - @``, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (OWASP, "CSV Injection"); such text cells get a leading apostrophe, which the
spreadsheet shows as text. Numbers stay numbers. Files are written through a temporary file
renamed into place, so an interrupted write leaves the previous file or none, never half of one;
a write's error names its path. A device, FIFO, socket or folder is never read or replaced (a
read of ``/dev/zero`` never ends, a write to ``/dev/full`` replaced the device with a file): a
link is followed to a regular file, and a link to nothing is refused.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path

import polars as pl

from perfmodel.inputs import InvalidInput

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


#: What a path is when it is not a regular file, by its ``stat`` type.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(InvalidInput):
    """A path to read or write that is not a regular file (``kind`` says what it is)."""

    def __init__(self, path: Path | str, kind: str):
        self.path, self.kind = Path(path), kind
        super().__init__(f"{path}: is {kind}, not a regular file; give a regular file")


def special_kind(path: Path | str) -> str | None:
    """What ``path`` is if it exists and is not a regular file (``"a character device"``, ``"a link
    to a missing file"``, ...); None for a regular file, a link to one, or no file at all."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a link to a missing file" if os.path.islink(path) else None
    except OSError:
        return None  # the read or write that follows names the path and the reason
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether ``a`` and ``b`` are one file: the same inode, or the same path once links are resolved."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of regular file ``path``, at most ``limit + 1`` of them (a longer file reads as
    too long, never to its end); :class:`NotRegularFile` for anything else (module doc)."""
    kind = special_kind(path)
    if kind:
        raise NotRegularFile(path, kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode  # what was opened, not what the name showed before
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, next((k for test, k in _KINDS if test(mode)), "not a regular file"))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_output(path: Path | str, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` (folders created) through a temporary file in its folder renamed
    into place; a link is followed to its regular file. :class:`NotRegularFile` for a device, FIFO,
    folder or a link to nothing; an ``OSError`` (a full disk) names ``path`` and leaves no file."""
    path = Path(path)
    kind = special_kind(path)
    if kind:
        raise NotRegularFile(path, kind)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    except OSError as e:
        raise OSError(e.errno, e.strerror or str(e), str(path)) from e
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
    return path


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        return 0o022
