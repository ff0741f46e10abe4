"""Hostile catalog folders for tests: the packaged catalogs copied, one file's rows edited."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

from perfmodel.catalog.folder import DEFAULT_DIR

Rows = list[dict[str, str]]


def edited_folder(tmp_path: Path, file: str, edit: Callable[[Rows], Rows]) -> Path:
    """The packaged catalogs copied to ``tmp_path / "catalogs"`` with ``edit`` applied to the data rows
    of ``file`` (dicts keyed by header cell, e.g. ``output_tps_per_chip[token/s]``); comments and the
    header are kept."""
    folder = tmp_path / "catalogs"
    if not folder.exists():
        shutil.copytree(DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lines = (folder / file).read_text(encoding="utf-8").splitlines(keepends=True)
    reader = csv.DictReader(ln for ln in lines if not ln.startswith("#"))
    rows = edit(list(reader))
    buf = io.StringIO()
    buf.writelines(ln for ln in lines if ln.startswith("#"))
    writer = csv.DictWriter(buf, reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / file).write_text(buf.getvalue(), encoding="utf-8")
    return folder


def column(rows: Rows, name: str) -> str:
    """The header cell of column ``name`` (``isl`` -> ``isl[token]``)."""
    return next(c for c in rows[0] if c.split("[")[0] == name)


def line_of(folder: Path, file: str, needle: str) -> int:
    """The line number of the one line of ``file`` that contains ``needle``."""
    hits = [n for n, ln in enumerate((folder / file).read_text().splitlines(), 1) if needle in ln]
    assert len(hits) == 1, hits
    return hits[0]
