"""Writing a catalog folder safely: one lock, one journal, all files or none.

A folder that the tools write (``catalog new-chip``, ``design new``) has a lock file
(:data:`LOCK_FILE`): writers hold it exclusively, readers shared, so a reader never sees half of
a change. A change to several files is all or nothing: the new files are staged beside the old
ones, then a journal (:data:`JOURNAL`, renamed into place: the commit point) lists them, then
they are renamed over the old ones and the journal is removed. A process killed before the
journal leaves the old folder (plus staged files the next writer removes); killed after it, the
loader reads the staged files the journal names, so the folder reads as the new one, and the
next writer finishes the renames (the write-ahead pattern of SQLite's rollback journal, turned
forward).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from perfmodel.inputs import CatalogError, Problem
from perfmodel.outputs import NotRegularFile, current_umask, special_kind

#: The lock file and the journal of a written catalog folder (module doc).
LOCK_FILE = ".catalog.lock"
JOURNAL = ".catalog-journal.json"
_HELD: set[Path] = set()  # folders this process holds exclusively (a nested shared lock would deadlock)


def holds(folder: Path) -> bool:
    """Whether this process holds ``folder``'s exclusive lock (a nested shared lock would deadlock)."""
    return folder.resolve() in _HELD


@contextmanager
def folder_lock(folder: Path | str, exclusive: bool) -> Iterator[None]:
    """Hold ``folder``'s lock: ``exclusive`` to write (the folder and its lock file are created),
    else shared to read (a folder whose lock file cannot be opened is read without it).
    Re-entrant inside the process that holds the exclusive lock.
    """
    folder = Path(folder)
    key = folder.resolve()
    if key in _HELD:
        yield
        return
    if exclusive:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT if exclusive else os.O_RDONLY, 0o666)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if exclusive:
            _HELD.add(key)
        yield
    finally:
        if exclusive:
            _HELD.discard(key)
        os.close(fd)


def pending(folder: Path) -> dict[str, str]:
    """A committed change not yet moved into place: catalog file -> its staged file (module doc)."""
    try:
        text = (folder / JOURNAL).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise CatalogError(
            [Problem(JOURNAL, None, None, None, f"a readable journal ({e.strerror})")]
        ) from None
    try:
        files = json.loads(text)["files"]
        if not all(isinstance(k, str) and isinstance(v, str) and "/" not in k + v for k, v in files.items()):
            raise ValueError
        return files
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CatalogError(
            [
                Problem(
                    JOURNAL,
                    None,
                    None,
                    None,
                    "a journal written by this tool (delete it to keep the folder as is)",
                )
            ]
        ) from None


def write_files(directory: Path | str, files: dict[str, bytes]) -> list[Path]:
    """Replace catalog ``files`` (file name -> bytes) of ``directory`` all at once (module doc of
    this module): under the folder's lock, staged, committed by the journal,
    renamed into place. Each file keeps its permissions; its previous version is kept as
    ``name + '.bak'``. A file that is a device, FIFO, folder or a link to nothing is refused
    before anything is written (:class:`perfmodel.outputs.NotRegularFile`); an ``OSError`` (a
    full disk) names the file it was writing. Returns the paths written.
    """
    folder = Path(directory)
    with folder_lock(folder, exclusive=True):
        finish_pending(folder)
        for name in files:
            kind = special_kind(folder / name)
            if kind:
                raise NotRegularFile(folder / name, kind)
        staged = {}
        for name, data in files.items():
            target, tmp = folder / name, folder / f".{name}.new"
            mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~current_umask()
            _write_synced(tmp, data, target)
            os.chmod(tmp, mode)
            staged[name] = tmp.name
        tmp = folder / f"{JOURNAL}.new"
        _write_synced(tmp, json.dumps({"files": staged}).encode(), folder / JOURNAL)
        os.replace(tmp, folder / JOURNAL)  # the commit point
        _sync_dir(folder)
        finish_pending(folder)
    return [folder / name for name in files]


def _write_synced(tmp: Path, data: bytes, target: Path) -> None:
    """``data`` in ``tmp``, on disk; a failure (a full disk) removes ``tmp`` and names ``target``."""
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror or str(e), str(target)) from e


def finish_pending(folder: Path) -> None:
    """Complete a committed change (rename its staged files into place) and drop staged files
    of an uncommitted one; the caller holds the folder's exclusive lock."""
    staged = pending(folder)
    for name, tmp_name in staged.items():
        tmp, target = folder / tmp_name, folder / name
        if tmp.exists():
            if target.exists():
                shutil.copy2(target, target.with_name(name + ".bak"))
            os.replace(tmp, target)
    _sync_dir(folder)
    (folder / JOURNAL).unlink(missing_ok=True)
    for leftover in folder.glob(".*.new"):
        leftover.unlink()


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
