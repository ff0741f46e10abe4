"""Keeping catalogs current safely: check a folder, diff two folders, add a chip, write atomically.

- :func:`check`: every problem of every file at once (schema, units and their dimension, types,
  ranges, unique names, references between files, a source on every row) plus plausibility
  warnings; nothing raises.
- :func:`diff`: rows added and removed, values changed (old -> new, in the new file's unit), and
  the top design for each catalog model at the default service level, before and after.
- :func:`add_chip`: a new design from a template row with ``--set column=value`` changes (any
  unit of the right dimension); without a price it gets the bottom-up estimate.
- :func:`write_files`: several files replaced all or nothing under the folder's lock, each
  keeping its permissions, the previous versions kept as ``.bak``.
- :func:`listing`: the names of models, hardware, sites or scenarios with a few columns each.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pint
import polars as pl

from perfmodel.catalog.economics_schemas import REFERENCES, SCHEMAS
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import DEFAULT_DIR, Catalogs, file_source, read_folder, reference_problems
from perfmodel.catalog.journal import finish_pending, folder_lock, pending, write_files
from perfmodel.catalog.table import Table, in_header_unit, preamble, read_table, split_header
from perfmodel.inputs import CatalogError, InvalidInput, Problem
from perfmodel.outputs import same_file
from perfmodel.units import parse_quantity, parse_unit
from tco.questions.ranking import rank

#: The service level ``diff`` ranks at: 4K context and 30 tokens/s per user (a chat-like reading speed).
DEFAULT_SLA_CONTEXT = 4096
DEFAULT_SLA_MIN_UTPS = 30.0
#: A new design's name: what the command line and file names can carry safely.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
NAME_TEXT = "1 to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit"


def check(directory: Path | str | None = None) -> list[Problem]:
    """Every error and warning of a catalog folder (files it lacks come from the defaults)."""
    folder = Path(directory) if directory is not None else DEFAULT_DIR
    if not folder.is_dir():
        return [Problem(str(folder), None, None, None, "a folder of catalog CSV files")]

    def read() -> tuple[dict[str, Table], list[Problem]]:
        problems: list[Problem] = []
        tables: dict[str, Table] = {}
        try:
            staged = pending(folder)
        except CatalogError as e:
            return tables, e.problems
        for name, schema in SCHEMAS.items():
            try:
                source = file_source(folder, schema.file, staged)[1]
                tables[name] = read_table(source, schema, file=schema.file)
                problems += tables[name].warnings
            except CatalogError as e:
                problems += e.problems
        return tables, problems

    tables, problems = read_folder(folder, read)
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
    r = rank(model, context=DEFAULT_SLA_CONTEXT, min_utps=DEFAULT_SLA_MIN_UTPS, catalogs=catalogs).row(
        0, named=True
    )
    return (r["hardware"], r["usd_per_mtok"]) if r["meets_floor"] else ("(none meets the floor)", None)


def _settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(f"--set expects column=value (e.g. mem_bw=20TB/s), got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    if "name" in out:
        raise InvalidInput(f"--set name={out['name']}: the name is given by --name, not by --set")
    return out


def _append_row(
    raw: bytes, template: str, changes: dict[str, str], name: str, file: str
) -> tuple[bytes, set[str]]:
    """``raw`` CSV bytes with a copy of row ``template`` renamed ``name`` and ``changes`` applied."""
    text = raw.decode("utf-8-sig")
    comments, header_line = preamble(text)
    header = next(csv.reader([header_line]))
    parsed = [split_header(h) for h in header]  # the loader checked every header cell
    body = csv.reader(io.StringIO("\n".join(text.splitlines()[len(comments) + 1 :]), newline=""))
    rows = {r[0]: r for r in body if "".join(r).strip()}
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
                q = parse_quantity(value)
                scale = parse_unit(unit)
                if q.dimensionless and not scale.dimensionless:
                    q = q.magnitude * scale  # a bare number is read in the header's unit
                shown = (q / scale).to("").magnitude
            except ValueError as e:
                raise InvalidInput(f"--set {col}={value}: {e}") from None
            except pint.DimensionalityError:
                raise InvalidInput(
                    f"--set {col}={value}: expected a quantity convertible to {unit}"
                ) from None
            if not math.isfinite(shown):
                raise InvalidInput(f"--set {col}={value}: expected a finite quantity in {unit}")
            value = f"{shown:.10g}"
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


#: Catalogs whose rows give a chip its measured figures; a new design ``resembles`` a measured chip in each.
RESEMBLING = ("efficiencies", "power_calibration")


def resembling(catalogs: Catalogs, name: str, template: str) -> dict[str, bytes]:
    """``efficiencies.csv`` and ``power_calibration.csv`` with a row for design ``name`` that
    resembles what ``template`` resembles (``template`` itself when it is fitted): a new design
    serves in calibrated mode with a measured chip's efficiencies and draws a measured chip's
    power, never a silent 1.0 (docs/model.md, sections 7 and 8)."""
    return {cat: _resembling_row(catalogs[cat], name, template) for cat in RESEMBLING}


def _resembling_row(table: Table, name: str, template: str) -> bytes:
    rows = table.df.filter(pl.col("hardware") == template)
    if rows.height == 0:
        raise InvalidInput(f"{template} has no row in {table.path.name} to take a new design's figures from")
    first = rows.row(0, named=True)
    like = first["resembles"] or template
    header = preamble(table.raw.decode("utf-8-sig"))[1]
    cells = dict.fromkeys(next(csv.reader([header])), "")
    cells.update(
        {
            "hardware": name,
            "resembles": like,
            "fit": f"resembles {like}",
            "source": f"estimate: design built from {template}",
        }
    )
    for column in ("precision", "engine"):  # efficiencies.csv: one row for every precision
        if column in cells:
            cells[column] = "any" if column == "precision" else first[column]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells.values())
    return table.raw.rstrip(b"\r\n") + b"\n" + buf.getvalue().encode()


def add_chip(
    directory: Path | str, name: str, template: str = "xpu-hbm3", settings: list[str] | None = None
) -> dict:
    """Add design ``name`` (see :func:`chip_rows`) to the catalogs in ``directory``.

    Writes ``hardware.csv``, ``hardware_economics.csv``, ``efficiencies.csv`` and
    ``power_calibration.csv`` there (starting
    from the defaults where absent) only after the whole folder validates with the new rows.
    Returns the new rows (as loaded) and the paths written.
    """
    if not NAME.fullmatch(name):
        raise InvalidInput(f"--name {name!r}: expected {NAME_TEXT}")
    _settings(settings or [])  # every setting's form checked before the folder is touched
    folder = Path(directory)
    if same_file(folder, DEFAULT_DIR):
        raise InvalidInput(
            f"--catalogs {folder}: is the packaged catalogs folder, which is never written; "
            "give a folder of your own (missing files start from the defaults)"
        )
    with folder_lock(folder, exclusive=True):  # read, change and write as one step
        finish_pending(folder)
        current = load_catalogs(folder)
        new = chip_rows(
            {cat: current[cat].raw for cat in ("hardware", "hardware_economics")}, name, template, settings
        )
        new |= resembling(current, name, template)
        catalogs = load_catalogs(folder, overrides=new)  # validate before writing
        written = write_files(folder, {SCHEMAS[cat].file: data for cat, data in new.items()})
    rows = {cat: catalogs[cat].row(name) for cat in ("hardware", "hardware_economics")}
    return {"name": name, "rows": rows, "written": [str(p) for p in written]}


#: What ``tco list`` shows of each catalog: (catalog, columns).
LISTS = {
    "models": ("models", ("name", "layers", "hidden", "experts", "total_params_published")),
    "hardware": (
        "hardware",
        ("name", "vendor", "availability", "memory_technology", "mem_bw", "mem_capacity"),
    ),
    "sites": ("datacenter", ("name", "grid_region", "pue", "energy_price", "utilization")),
    "scenarios": ("scenarios", ("name", "precision", "param_counts", "description")),
}


def listing(catalogs: Catalogs, what: str) -> pl.DataFrame:
    """The names of ``what`` (models, hardware, sites or scenarios) with a few columns each;
    quantities in the unit of the file's header, named in the column (``mem_bw[TB/s]``)."""
    if what not in LISTS:
        raise InvalidInput(f"expected one of {', '.join(LISTS)}, got {what!r}")
    table = catalogs[LISTS[what][0]]
    cols = []
    for c in LISTS[what][1]:
        if c in table.header_units:
            shown = [
                None if v is None else in_header_unit(v, table.units[c], table.header_units[c])
                for v in table.df[c]
            ]
            cols.append(pl.Series(f"{c}[{table.header_units[c]}]", shown, dtype=pl.Float64))
        else:
            cols.append(table.df[c])
    return pl.DataFrame(cols)


def to_csv(table: Table) -> bytes:
    """A loaded table back to CSV in canonical units (exact round trip of every value)."""
    heads = [f"{c}[{table.units[c]}]" if c in table.units else c for c in table.df.columns]
    df = table.df.with_columns(pl.col(pl.Boolean).cast(pl.String).str.to_lowercase())
    return df.rename(dict(zip(table.df.columns, heads, strict=True))).write_csv(float_precision=None).encode()


def add_model(
    directory: Path | str, config: Path | str, name: str | None = None, source: str | None = None
) -> dict:
    """Add the model of a Hugging Face ``config.json`` (a file, a model folder or a hub cache
    folder: :func:`perfmodel.model.hf_config.read_hf_config`) to ``directory``'s models.csv.

    The row is written in that file's own columns and header units, under the folder's lock, only
    after the whole folder validates with it. Returns the row (as loaded), the precision its
    quantization config maps to, the parameter counts and the path written.
    """
    from perfmodel.model.hf_config import read_hf_config

    imported = read_hf_config(config, name=name, source=source)
    model = imported.row["name"]
    if not NAME.fullmatch(model):
        raise InvalidInput(f"--name {model!r}: expected {NAME_TEXT}")
    folder = Path(directory)
    file = SCHEMAS["models"].file
    with folder_lock(folder, exclusive=True):
        finish_pending(folder)
        raw = file_source(folder, file, {})[1].read_bytes()
        new = {"models": _with_row(raw, imported.row, file)}
        catalogs = load_catalogs(folder, overrides=new)  # validate before writing
        written = write_files(folder, {file: new["models"]})
    return {
        "name": model,
        "row": catalogs["models"].row(model),
        "precision": imported.precision,
        "kv_precision": imported.kv_precision,
        "params": {"total": imported.params.total, "active": imported.params.active},
        "notes": list(imported.notes),
        "written": [str(p) for p in written],
    }


def _with_row(raw: bytes, row: dict, file: str) -> bytes:
    """``raw`` CSV bytes with ``row`` (keyed by the packaged file's headers) appended in the
    file's own column order and header units; a name the file already has is refused."""
    text = raw.decode("utf-8-sig")
    records = [r for r in csv.reader(text.splitlines()) if r and not r[0].lstrip().startswith("#")]
    header = records[0]
    if row["name"] in {r[0] for r in records[1:]}:
        raise InvalidInput(f"{file} already has a row named {row['name']!r}; give another --name")
    given = {split_header(k)[0]: (split_header(k)[1], v) for k, v in row.items()}
    cells = []
    for h in header:
        column, unit = split_header(h) or (h, None)
        if column not in given:
            raise InvalidInput(
                f"{file}: column {h!r} is not one a model config fills; remove it or add the row by hand"
            )
        from_unit, value = given[column]
        if isinstance(value, int | float) and not isinstance(value, bool) and unit != from_unit:
            value = float((value * parse_unit(from_unit or "1") / parse_unit(unit or "1")).to("").magnitude)
        cells.append(_csv_cell(value))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return (text.rstrip("\n") + "\n" + buf.getvalue()).encode()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:.10g}" if isinstance(value, float) else str(value)
