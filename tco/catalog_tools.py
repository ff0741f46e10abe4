"""Keeping catalogs current safely: check a folder, diff two folders, add a chip, write atomically.

- :func:`check`: every problem of every file at once (schema, units and their dimension, types,
  ranges, unique names, references between files, a source on every row) plus plausibility
  warnings; nothing raises.
- :func:`diff`: rows added and removed, values changed (old -> new, in the new file's unit), and
  the top design for each catalog model at the default service level, before and after.
- :func:`add_chip`: a new design from a template row with ``--set column=value`` changes (any
  unit of the right dimension); without a price it gets the bottom-up estimate.
- :func:`write_atomic`: a temporary file renamed into place, the previous version kept as ``.bak``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from perfmodel.catalog import CatalogError, InvalidInput, Problem, Table, read_table, split_header
from perfmodel.catalog_set import DEFAULT_DIR, Catalogs, reference_problems
from perfmodel.units import Q_, ureg
from tco.catalogs import load_catalogs
from tco.rank import rank
from tco.schemas import REFERENCES, SCHEMAS

#: The service level ``diff`` ranks at: 4K context and 30 tokens/s per user (a chat-like reading speed).
DEFAULT_SLA_CONTEXT = 4096
DEFAULT_SLA_MIN_UTPS = 30.0


def check(directory: Path | str | None = None) -> list[Problem]:
    """Every error and warning of a catalog folder (files it lacks come from the defaults)."""
    folder = Path(directory) if directory is not None else DEFAULT_DIR
    if not folder.is_dir():
        return [Problem(str(folder), None, None, None, "a folder of catalog CSV files")]
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    for name, schema in SCHEMAS.items():
        path = folder / schema.file
        try:
            tables[name] = read_table(path if path.exists() else DEFAULT_DIR / schema.file, schema)
            problems += tables[name].warnings
        except CatalogError as e:
            problems += e.problems
    usable = tuple(r for r in REFERENCES if r[0] in tables and r[2] in tables)
    return problems + reference_problems(tables, usable)


@dataclass(frozen=True)
class Change:
    file: str
    key: str
    column: str
    old: str
    new: str


def _cell_text(table: Table, column: str, value) -> str:
    if value is None:
        return "(empty)"
    if column in table.units and isinstance(value, float):
        return table.as_written(column, value)
    return str(value)


def diff(old: Path | str, new: Path | str, models: list[str] | None = None) -> dict:
    """What changed between two catalog folders and which rankings move (module doc).

    Keys: added, removed (lists of "file: key"), changed (list of :class:`Change` as dicts),
    rankings (per model: top design and $/Mtok before and after, and whether it moved).
    """
    a, b = load_catalogs(old), load_catalogs(new)
    added, removed, changed = [], [], []
    for name, schema in SCHEMAS.items():
        ta, tb = a[name], b[name]
        key = list(schema.key)
        ka = {tuple(r[k] for k in key): r for r in ta.df.iter_rows(named=True)}
        kb = {tuple(r[k] for k in key): r for r in tb.df.iter_rows(named=True)}
        label = lambda k: "/".join(map(str, k))  # noqa: E731
        added += [f"{schema.file}: {label(k)}" for k in kb if k not in ka]
        removed += [f"{schema.file}: {label(k)}" for k in ka if k not in kb]
        for k in ka.keys() & kb.keys():
            for col in ta.df.columns:
                va, vb = ka[k][col], kb[k][col]
                same = va == vb or (
                    isinstance(va, float)
                    and isinstance(vb, float)
                    and abs(va - vb) <= 1e-12 * max(abs(va), abs(vb))
                )
                if not same:
                    changed.append(
                        Change(schema.file, label(k), col, _cell_text(ta, col, va), _cell_text(tb, col, vb))
                    )
    rankings = []
    for model in models or sorted(set(a["models"].names()) & set(b["models"].names())):
        before = _top(a, model)
        after = _top(b, model)
        rankings.append({"model": model, "before": before, "after": after, "moved": before[0] != after[0]})
    return {
        "added": added,
        "removed": removed,
        "changed": [c.__dict__ for c in sorted(changed, key=lambda c: (c.file, c.key, c.column))],
        "rankings": rankings,
        "sla": {"context": DEFAULT_SLA_CONTEXT, "min_utps": DEFAULT_SLA_MIN_UTPS},
    }


def _top(catalogs: Catalogs, model: str) -> tuple[str, float | None]:
    r = rank(model, DEFAULT_SLA_CONTEXT, DEFAULT_SLA_MIN_UTPS, catalogs=catalogs).row(0, named=True)
    return (r["hardware"], r["usd_per_mtok"]) if r["meets_floor"] else ("(none meets the floor)", None)


def write_atomic(path: Path, data: bytes) -> Path | None:
    """Write ``data`` to ``path`` through a temporary file renamed into place.

    The previous version, if any, is kept as ``path + '.bak'`` (returned). An interruption
    leaves either the old or the new file, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        backup = None
        if path.exists():
            backup = path.with_name(path.name + ".bak")
            shutil.copy2(path, backup)
        os.replace(tmp, path)
        return backup
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(f"--set expects column=value (e.g. mem_bw=20TB/s), got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _append_row(
    raw: bytes, template: str, changes: dict[str, str], name: str, file: str
) -> tuple[bytes, set[str]]:
    """``raw`` CSV bytes with a copy of row ``template`` renamed ``name`` and ``changes`` applied."""
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    records = [(i, r) for i, r in enumerate(csv.reader(lines)) if r and not r[0].startswith("#")]
    header = records[0][1]
    parsed = [split_header(h) for h in header]
    rows = {r[0]: r for _, r in records[1:]}
    if template not in rows:
        raise InvalidInput(f"no row {template!r} in {file} to start from; valid: {', '.join(rows)}")
    if name in rows:
        raise InvalidInput(f"{file} already has a row named {name!r}")
    row = list(rows[template])
    row[0] = name
    used = set()
    for i, (col, unit) in enumerate(parsed):
        if col not in changes:
            continue
        used.add(col)
        value = changes[col]
        if unit and value:
            try:
                q = Q_(ureg.parse_expression(value))
            except Exception as e:
                raise InvalidInput(f"--set {col}={value}: not a quantity pint understands ({e})") from None
            if q.dimensionless and not Q_(1, unit).dimensionless:
                q = Q_(q.magnitude, unit)  # a bare number is read in the header's unit
            try:
                value = f"{q.to(ureg.parse_expression(unit).units).magnitude:.10g}"
            except Exception:
                raise InvalidInput(
                    f"--set {col}={changes[col]}: expected a quantity convertible to {unit}"
                ) from None
        row[i] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    return (text.rstrip("\n") + "\n" + buf.getvalue()).encode(), used


def chip_rows(
    raw: dict[str, bytes], name: str, template: str = "xpu-hbm3", settings: list[str] | None = None
) -> dict[str, bytes]:
    """``hardware`` and ``hardware_economics`` CSV bytes (given in ``raw``) with design ``name`` added.

    The new rows copy ``template`` with ``settings`` (``column=value``, any unit of the column's
    dimension) applied; the price is cleared unless set, so the bottom-up estimate applies.
    """
    changes = _settings(settings or [])
    changes.setdefault(
        "source", f"user design from {template} with " + (", ".join(settings or []) or "no changes")
    )
    changes.setdefault("availability", "hypothetical")  # a user's design is not for sale
    if "price" not in changes:
        changes.update(
            price="",
            price_low="",
            price_high="",
            price_type="bottom-up",
            price_date="",
            price_includes_system="false",
        )
    new: dict[str, bytes] = {}
    used: set[str] = set()
    for cat in ("hardware", "hardware_economics"):
        new[cat], got = _append_row(raw[cat], template, changes, name, SCHEMAS[cat].file)
        used |= got
    unknown = set(changes) - used
    if unknown:
        raise InvalidInput(f"--set names unknown columns: {', '.join(sorted(unknown))}")
    return new


def add_chip(
    directory: Path | str, name: str, template: str = "xpu-hbm3", settings: list[str] | None = None
) -> dict:
    """Add design ``name`` (see :func:`chip_rows`) to the catalogs in ``directory``.

    Writes ``hardware.csv`` and ``hardware_economics.csv`` there (starting from the defaults
    where absent) only after the whole folder validates with the new rows. Returns the new rows
    (as loaded) and the paths written.
    """
    folder = Path(directory)
    raw = {}
    for cat in ("hardware", "hardware_economics"):
        path = folder / SCHEMAS[cat].file
        raw[cat] = path.read_bytes() if path.exists() else (DEFAULT_DIR / SCHEMAS[cat].file).read_bytes()
    new = chip_rows(raw, name, template, settings)
    catalogs = load_catalogs(folder if folder.is_dir() else None, overrides=new)  # validate before writing
    for cat, data in new.items():
        write_atomic(folder / SCHEMAS[cat].file, data)
    rows = {cat: catalogs[cat].row(name) for cat in new}
    return {"name": name, "rows": rows, "written": [str(folder / SCHEMAS[c].file) for c in new]}


def to_csv(table: Table) -> bytes:
    """A loaded table back to CSV in canonical units (exact round trip of every value)."""
    heads = [f"{c}[{table.units[c]}]" if c in table.units else c for c in table.df.columns]
    df = table.df.with_columns(pl.col(pl.Boolean).cast(pl.String).str.to_lowercase())
    return df.rename(dict(zip(table.df.columns, heads, strict=True))).write_csv(float_precision=None).encode()
