"""A folder of catalog files, loaded and cross-checked together.

The defaults ship in the ``catalogs`` package (found from its ``__file__``, so an installed copy
works without the source tree). A user's folder may hold only the files they changed; every
other file comes from the defaults, and :attr:`Catalogs.origins` says which file came from where.

Reading takes the folder's shared lock and reads a committed but unfinished change from its
staged files (:mod:`perfmodel.catalog.journal`); a command's output into a catalog folder
(:func:`catalog_output`) takes the exclusive lock every writer of the folder takes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import catalogs as _default_package
from perfmodel.catalog.journal import LOCK_FILE, folder_lock, holds, pending, write_files
from perfmodel.catalog.schemas import SCHEMAS
from perfmodel.catalog.table import MAX_FILE_BYTES, Schema, Table, read_table
from perfmodel.inputs import CatalogError, Problem
from perfmodel.outputs import read_regular, same_file, write_output

DEFAULT_DIR = Path(_default_package.__file__).parent
T = TypeVar("T")
#: Pseudo-folder naming catalogs that came as bytes (uploaded or edited), not from a file.
UPLOADED = "<uploaded>"

#: (table, column) must name an existing row of (target table, its ``name`` column).
Reference = tuple[str, str, str]
REFERENCES: tuple[Reference, ...] = (
    ("scenario_models", "scenario", "scenarios"),
    ("scenario_models", "model", "models"),
    ("speculative_decoding", "model", "models"),
)
# efficiencies.csv and measurements.csv name chips and models too, but a folder with its own,
# smaller hardware or model list must still load: their names are checked where they are used
# (calibrated mode names a chip without efficiencies; the fits refuse an unknown name by row).


@dataclass(frozen=True)
class Catalogs:
    """Validated catalog tables by name (``models``, ``hardware``, ...)."""

    tables: dict[str, Table]
    origins: dict[str, Path]

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def digest(self) -> str:
        """Short SHA-256 over every file's bytes: the catalog version a result was made with."""
        h = hashlib.sha256()
        for name in sorted(self.tables):
            h.update(name.encode())
            h.update(self.tables[name].raw)
        return h.hexdigest()[:12]

    def warnings(self) -> list[Problem]:
        """Every plausibility warning of the loaded files (a value outside its column's band,
        e.g. a bandwidth 1000x too small after a header changed from TB/s to GB/s)."""
        return [w for name in sorted(self.tables) for w in self.tables[name].warnings]

    def user_files(self) -> list[str]:
        """Files that did not come from the packaged defaults."""
        return [n for n, p in self.origins.items() if p.parent != DEFAULT_DIR]


def load_catalogs(
    directory: Path | str | None = None,
    schemas: dict[str, Schema] = SCHEMAS,
    references: tuple[Reference, ...] = REFERENCES,
    overrides: dict[str, bytes] | None = None,
) -> Catalogs:
    """Load every catalog in ``schemas`` from ``directory`` (else the defaults), all checked.

    ``overrides`` maps a catalog name (``"hardware"``) to CSV bytes that replace its file (an
    upload or an edit in the app). Raises :class:`CatalogError` with every problem of every
    file, including references between files (e.g. a scenario override naming an unknown model).
    """
    overrides = overrides or {}
    unknown = set(overrides) - set(schemas)
    if unknown:
        raise CatalogError(
            [
                Problem(n, None, None, None, "one of the catalogs: " + ", ".join(schemas))
                for n in sorted(unknown)
            ]
        )
    folder = Path(directory) if directory is not None else DEFAULT_DIR
    if not folder.is_dir():
        raise CatalogError([Problem(str(folder), None, None, None, "a folder of catalog CSV files")])

    def read() -> tuple[dict[str, Table], dict[str, Path], list[Problem]]:
        tables: dict[str, Table] = {}
        origins: dict[str, Path] = {}
        problems: list[Problem] = []
        staged = pending(folder)
        for name, schema in schemas.items():
            path, source = file_source(folder, schema.file, staged)
            if name in overrides:
                path, source = Path(UPLOADED) / schema.file, overrides[name]
            try:
                tables[name] = read_table(source, schema, file=schema.file)
                origins[name] = path
            except CatalogError as e:
                problems += e.problems
        return tables, origins, problems

    tables, origins, problems = read_folder(folder, read)
    if not problems:
        problems = reference_problems(tables, references)
    if any(p.severity == "error" for p in problems):
        raise CatalogError(problems)
    return Catalogs(tables, origins)


def reference_problems(tables: dict[str, Table], references: tuple[Reference, ...]) -> list[Problem]:
    """Rows whose reference column names a row that the target catalog does not have."""
    problems = []
    for table, column, target in references:
        valid = set(tables[target].names())
        t = tables[table]
        for line, value in zip(t.lines, t.df[column].to_list(), strict=True):
            if value is not None and value not in valid:
                problems.append(
                    Problem(
                        t.path.name,
                        line,
                        column,
                        value,
                        f"a name from {tables[target].path.name}: {', '.join(sorted(valid))}",
                    )
                )
    return problems


def read_folder(folder: Path, read: Callable[[], T]) -> T:
    """``read()`` the files of ``folder`` consistently (never half of a writer's change).

    Under the folder's shared lock when it has a lock file. A folder no writer has used has
    none and is read without it; if a writer started meanwhile (the lock file appeared), it is
    read again under the lock. The packaged defaults are never written and read as they are.
    """
    if holds(folder) or folder.resolve() == DEFAULT_DIR.resolve():
        return read()
    lock = folder / LOCK_FILE
    if not lock.exists():
        result = read()
        if not lock.exists():
            return result
    with folder_lock(folder, exclusive=False):
        return read()


def file_source(folder: Path, file: str, staged: dict[str, str]) -> tuple[Path, Path | bytes]:
    """Where catalog ``file`` of ``folder`` comes from: (its path, the path or bytes to read).

    A file a committed journal names reads from its staged copy (module doc); a file the folder
    lacks comes from the defaults. A name the folder has is read from the folder, whatever it is:
    a link to a missing file or a device is an error of that file, never the default in disguise.
    """
    path = folder / file
    if file in staged:
        try:
            return path, read_regular(folder / staged[file], MAX_FILE_BYTES)
        except FileNotFoundError:
            pass  # already renamed into place
    if not os.path.lexists(path):
        path = DEFAULT_DIR / file
    return path, path


@contextmanager
def catalog_output(
    path: Path | str, catalogs: Catalogs, reads: Path | str | None
) -> Iterator[Callable[..., Path]]:
    """A writer of ``path`` for the block, under the lock of the catalog folder it writes into:
    ``write(data, siblings)`` writes ``data`` to ``path`` and each of ``siblings`` (file name ->
    data) beside it, all at once.

    ``path`` is in a catalog folder when its name is a file of ``catalogs``, its folder is the
    one the command ``reads`` or holds a lock file (the packaged defaults excepted: no reader
    locks them). Then the folder's exclusive lock is held for the whole block, so what the
    block reads again is what the write replaces (``catalog new-chip`` waits, and its rows are
    kept), and the files are written through the journal with a ``.bak``
    (:func:`perfmodel.catalog.journal.write_files`). Elsewhere each is
    :func:`perfmodel.outputs.write_output`.
    """
    path = Path(path)
    folder = path.parent
    names = {p.name for p in catalogs.origins.values()}
    into = not same_file(folder, DEFAULT_DIR) and (
        path.name in names
        or (folder / LOCK_FILE).exists()
        or (reads is not None and same_file(folder, reads))
    )

    def files(data, siblings) -> dict[str, bytes]:
        out = {path.name: data} | dict(siblings or {})
        return {k: v.encode() if isinstance(v, str) else v for k, v in out.items()}

    if not into:

        def write_each(data, siblings=None) -> Path:
            for name, raw in files(data, siblings).items():
                write_output(folder / name, raw)
            return path

        yield write_each
        return
    with folder_lock(folder, exclusive=True):
        yield lambda data, siblings=None: write_files(folder, files(data, siblings))[0]
