"""Strict loading of catalog CSV files.

A catalog is a CSV file whose numeric column headers carry their unit (``mem_bw[TB/s]``), with
a ``source`` column on every row. Each file has a :class:`Schema`; loading checks the header
(known columns, required ones present, units that parse and have the column's dimension) and
every cell (present where required, a finite number, integer where a count is expected, within
its allowed range), converts each quantity column once to the column's canonical unit, and
returns a :class:`Table` of plain floats. Every problem found is reported together, each as
``file:row:column`` (row = line number in the file), the value, and what was expected. Nothing
is dropped or coerced silently.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pint
import polars as pl

from perfmodel.inputs import (
    NUMBER,
    CatalogError,
    InvalidInput,
    Problem,
    UnknownName,
    digits_hint,
    hidden_character,
    name_key,
)
from perfmodel.outputs import NotRegularFile, read_regular
from perfmodel.units import Q_, not_ascii, parse_unit, ureg

Kind = Literal["text", "int", "float", "bool"]
_HEADER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(.*)\])?\s*$")
_TRUE = {"true", "yes", "1"}
_MAX_EXACT_INT = 2.0**53  # integers beyond this are not exact in a float64 CSV value
_FALSE = {"false", "no", "0"}
#: Largest catalog file read [bytes]; the packaged files are under 20 kB each.
MAX_FILE_BYTES = 1 << 20
#: Longest cell read [characters] (a source URL with notes fits comfortably).
MAX_CELL = 2000


@dataclass(frozen=True)
class Column:
    """One column of a catalog.

    ``unit`` is the canonical unit values are stored in (quantity columns only); the header may
    use any unit of the same dimension. ``minimum`` is the smallest allowed value and
    ``strict`` makes it exclusive. ``choices`` restricts a text column.
    """

    name: str
    kind: Kind
    unit: str | None = None
    required: bool = True
    minimum: float | None = 0.0
    strict: bool = True
    choices: tuple[str, ...] | None = None
    doc: str = ""
    plausible: tuple[float, float] | None = None  # band in canonical units; outside it: a warning

    def expected(self, header_unit: str | None = None) -> str:
        """What a valid cell of this column looks like, in words (in the file's unit if known)."""
        if self.kind == "text":
            return "one of " + ", ".join(self.choices) if self.choices else "non-empty text"
        if self.kind == "bool":
            return "true or false"
        noun = "an integer" if self.kind == "int" else "a number"
        if self.minimum is not None:
            rel = ">" if self.strict else ">="
            noun += f" {rel} {self.minimum:g}"
        if header_unit:
            noun += f" (in {header_unit}, as the header says)"
        elif self.unit:
            noun += f" in a unit of {self.dimension_text()} (header like {self.name}[{self.unit}])"
        return noun

    def implausible(self, value: float, header_unit: str | None) -> str | None:
        """What to say about ``value`` (canonical units) outside the plausibility band, else None."""
        if self.plausible is None or value is None or self.plausible[0] <= value <= self.plausible[1]:
            return None
        lo, hi = self.plausible
        if self.unit and header_unit:
            lo, hi = (in_header_unit(x, self.unit, header_unit) for x in (lo, hi))
            return f"a plausible value between {lo:.4g} and {hi:.4g} {header_unit} (check the figure and its unit)"
        return f"a plausible value between {lo:.4g} and {hi:.4g} (check the figure)"

    def dimension_text(self) -> str:
        return str(ureg.Unit(self.unit).dimensionality) if self.unit else "1"


@dataclass(frozen=True)
class Schema:
    """The columns of one catalog file; ``key`` names the column whose values must be unique."""

    file: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("name",)
    row_check: Callable[[dict], Iterable[tuple[str, str]]] | None = None
    #: Most data rows a file may hold: every row is evaluated on every question, so memory and
    #: time grow with it (a 31,000-row hardware file drove one ranking to 24 GB).
    max_rows: int = 2000

    def column(self, name: str) -> Column:
        return {c.name: c for c in self.columns}[name]


@dataclass(frozen=True)
class Table:
    """A validated catalog: plain columns in canonical units, plus where each row came from."""

    name: str
    path: Path
    df: pl.DataFrame
    units: dict[str, str]
    header_units: dict[str, str]
    lines: tuple[int, ...] = field(repr=False)
    raw: bytes = field(repr=False, default=b"")
    warnings: tuple[Problem, ...] = ()

    def names(self) -> list[str]:
        return self.df["name"].to_list()

    def resolve(self, name: str) -> str:
        """The catalog's spelling of ``name``: exact, else the one name equal as names are
        compared (:func:`perfmodel.inputs.name_key`: case, character width, invisible characters).

        An unknown name raises :class:`UnknownName` with the closest names ("did you mean")
        and every valid one.
        """
        names = self.names()
        if name in names:
            return name
        key = name_key(name)
        folded = [n for n in names if name_key(n) == key]
        if len(folded) == 1:
            return folded[0]
        keyed = {name_key(n): n for n in names}
        close = difflib.get_close_matches(key, list(keyed), n=3, cutoff=0.6)
        close += [keyed[n] for n in keyed if key in n and keyed[n] not in close][:3]
        close = list(dict.fromkeys(keyed.get(c, c) for c in close))[:3]
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise UnknownName(f"unknown {self.name} entry {name!r}{hint}; valid names: {', '.join(names)}")

    def row(self, name: str) -> dict:
        """The row named ``name`` (see :meth:`resolve`); ``KeyError`` lists the valid names."""
        return self.df.filter(pl.col("name") == self.resolve(name)).row(0, named=True)

    def as_written(self, column: str, value: float) -> str:
        """``value`` (canonical units) in the unit the file's header uses, e.g. ``'0.081 USD/kWh'``."""
        if column not in self.units:
            return f"{value:g}"
        shown = in_header_unit(value, self.units[column], self.header_units[column])
        return f"{shown:.4g} {self.header_units[column]}"

    def quantity(self, column: str, name: str | None = None) -> pint.Quantity:
        """Column ``column`` as a Quantity (array over rows, or the value of row ``name``)."""
        values = self.df[column].to_numpy() if name is None else self.row(name)[column]
        return Q_(values, self.units[column])


def in_header_unit(value: float, unit: str, header_unit: str) -> float:
    """``value`` in canonical ``unit`` expressed in a (validated) header's unit, e.g. ``1e9`` or ``TB/s``."""
    return float((Q_(value, unit) / parse_unit(header_unit)).to("").magnitude)


def split_header(cell: str) -> tuple[str, str | None] | None:
    """``'mem_bw[TB/s]'`` -> ``('mem_bw', 'TB/s')``; None when the header is malformed."""
    m = _HEADER.match(cell)
    if not m:
        return None
    unit = m.group(2)
    return m.group(1), (unit.strip() if unit is not None else None)


def is_comment(record: list[str]) -> bool:
    """Whether a CSV record before the header is skipped: blank, or a first cell that starts with
    ``#`` after spaces (``" # note"`` too). The one rule for the loader and every writer."""
    return not "".join(record).strip() or record[0].lstrip().startswith("#")


def preamble(text: str) -> tuple[list[str], str]:
    """The lines before the header (comments, blank lines) and the header line of catalog ``text``,
    as :func:`read_table` finds them (:func:`is_comment`); ``ValueError`` if it has no header."""
    lines = text.splitlines()
    line = next((line for line, rec in _records(text) if not is_comment(rec)), None)
    if line is None:
        raise ValueError("a header row (the file is empty)")
    return lines[: line - 1], lines[line - 1]


def _decode(raw: bytes, file: str) -> tuple[str | None, list[Problem]]:
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, [
            Problem(file, line, None, repr(raw[e.start : e.end]), "UTF-8 text (save the CSV as UTF-8)")
        ]


def _header_problems(
    schema: Schema, header: list[str], file: str, line: int
) -> tuple[dict[int, Column], dict[str, float], dict[str, str], list[Problem]]:
    """Map header cells to schema columns; returns index->column, unit factors, header units."""
    known = {c.name: c for c in schema.columns}
    problems: list[Problem] = []
    index: dict[int, Column] = {}
    factors: dict[str, float] = {}
    header_units: dict[str, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(header):
        parsed = split_header(cell)
        if parsed is None:
            problems.append(Problem(file, line, cell, cell, "a header like name or name[unit]"))
            continue
        name, unit = parsed
        col = known.get(name)
        if col is None:
            problems.append(Problem(file, line, name, cell, "one of the known columns: " + ", ".join(known)))
            continue
        if name in seen:
            problems.append(Problem(file, line, name, cell, "each column once (duplicate header)"))
            continue
        seen.add(name)
        if col.unit is None:
            if unit is not None:
                problems.append(Problem(file, line, name, cell, f"no unit on column {name}"))
                continue
        else:
            if not unit:
                problems.append(
                    Problem(file, line, name, cell, f"a unit in brackets, e.g. {name}[{col.unit}]")
                )
                continue
            try:
                factor = float(parse_unit(unit).to(col.unit).magnitude)
            except pint.DimensionalityError:
                problems.append(
                    Problem(
                        file,
                        line,
                        name,
                        unit,
                        f"a unit of {col.dimension_text()} such as {col.unit}",
                    )
                )
                continue
            except ValueError:
                problems.append(
                    Problem(
                        file,
                        line,
                        name,
                        unit,
                        f"a unit pint understands, such as {col.unit}{not_ascii(unit)}",
                    )
                )
                continue
            if not (factor > 0 and math.isfinite(factor)):
                problems.append(Problem(file, line, name, unit, f"a positive unit such as {col.unit}"))
                continue
            factors[name] = factor
            header_units[name] = unit
        index[i] = col
    for col in schema.columns:
        if col.required and col.name not in seen:
            problems.append(Problem(file, line, col.name, None, "this required column"))
    return index, factors, header_units, problems


#: Characters a free-text cell (a source, a note) may hold that a name may not: line breaks and tabs.
_FREE_TEXT_SPACE = "\n\r\t"


def _cell(
    col: Column, text: str, factor: float, unit: str | None = None, name: bool = False
) -> tuple[object, str | None]:
    """Parse one cell (header unit ``unit``); returns (value, None) or (None, what was expected).

    No text cell holds an invisible character (a zero-width space, a bidirectional override);
    a ``name`` cell (one that identifies its row) holds no whitespace but plain spaces either.
    """
    if text == "":
        return (None, None) if not col.required else (None, col.expected(unit))
    if col.kind == "text":
        hidden = hidden_character(text, "" if name else _FREE_TEXT_SPACE)
        if hidden is not None:
            return None, f"text without invisible or control characters (found {hidden})"
        if col.choices and text not in col.choices:
            return None, col.expected(unit)
        return text, None
    if col.kind == "bool":
        low = text.lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE, None
        return None, col.expected(unit)
    if not NUMBER.fullmatch(text):
        return None, col.expected(unit) + digits_hint(text)
    number = float(text)
    if not math.isfinite(number):
        return None, col.expected(unit)
    if col.kind == "int":
        if number != int(number) or abs(number) > _MAX_EXACT_INT:
            return None, col.expected(unit) + f" below {_MAX_EXACT_INT:.0f}"
        number = int(number)
    if col.minimum is not None and (number < col.minimum or (col.strict and number == col.minimum)):
        return None, col.expected(unit)
    if col.kind == "float":
        number *= factor
        if not math.isfinite(number):
            return None, col.expected(unit) + " that stays finite in base units"
    return number, None


def read_table(source: Path | str | bytes, schema: Schema, file: str | None = None) -> Table:
    """Load and validate one catalog CSV (a path, or raw bytes named ``file``).

    Blank lines and lines starting with ``#`` (after spaces) before the header are comments
    (:func:`is_comment`); a path is read only if it is a regular file, at most one byte past the
    cap. Raises :class:`CatalogError` listing every problem. Values outside a column's
    plausibility band load, with a warning on ``Table.warnings`` (and on the error, if there is one).
    """
    path = Path(source) if not isinstance(source, bytes) else Path(file or schema.file)
    file = file or path.name
    if isinstance(source, bytes):
        raw = source
    else:
        try:
            raw = read_regular(path, MAX_FILE_BYTES)
        except NotRegularFile as e:
            raise CatalogError(
                [Problem(file, None, None, None, f"a regular file ({path} is {e.kind})")]
            ) from None
        except OSError as e:
            raise CatalogError(
                [Problem(file, None, None, None, f"a readable file ({path}: {e.strerror})")]
            ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise CatalogError([_too_big(file, len(raw))])
    text, problems = _decode(raw, file)
    if text is None:
        raise CatalogError(problems)
    try:
        records = _records(text)
    except csv.Error as e:
        raise CatalogError([Problem(file, None, None, None, f"well-formed CSV ({e})")]) from None
    header: list[str] | None = None
    header_line = 0
    body: list[tuple[int, list[str]]] = []
    for line, rec in records:
        blank = not "".join(rec).strip()
        if header is None:
            if not is_comment(rec):
                header, header_line = rec, line
        elif not blank:
            body.append((line, rec))
    if header is None:
        raise CatalogError([Problem(file, None, None, None, "a header row (the file is empty)")])
    if len(body) > schema.max_rows:
        raise CatalogError(
            [Problem(file, None, None, f"{len(body)} rows", f"at most {schema.max_rows:,} data rows")]
        )
    # Header problems do not stop the cell checks of the columns that are fine: every problem at once.
    index, factors, header_units, problems = _header_problems(schema, header, file, header_line)
    if not body:
        problems.append(Problem(file, None, None, None, "at least one data row (the file has only a header)"))
    columns: dict[str, list] = {c.name: [] for c in schema.columns}
    names = {"name", *schema.key}  # the columns that identify a row
    warnings: list[Problem] = []
    kept: list[int] = []  # line of each parsed row
    for line, rec in body:
        if len(rec) != len(header):
            problems.append(
                Problem(file, line, None, f"{len(rec)} cells", f"{len(header)} cells as in the header")
            )
            continue
        parsed: dict[str, object] = {c.name: None for c in schema.columns}
        long = [i for i, cell in enumerate(rec) if len(cell) > MAX_CELL]
        if long:
            cell_name = index[long[0]].name if long[0] in index else None
            problems.append(
                Problem(file, line, cell_name, f"{len(rec[long[0]])} characters", f"at most {MAX_CELL}")
            )
            continue
        for i, col in index.items():
            value, expected = _cell(
                col,
                rec[i].strip(),
                factors.get(col.name, 1.0),
                header_units.get(col.name),
                name=col.name in names,
            )
            if expected is not None:
                problems.append(Problem(file, line, col.name, rec[i], expected))
            elif col.kind in ("int", "float"):
                doubt = col.implausible(value, header_units.get(col.name))
                if doubt:
                    warnings.append(Problem(file, line, col.name, rec[i], doubt, "warning"))
            parsed[col.name] = value
        if schema.row_check is not None:
            for column, expected in schema.row_check(parsed):
                cell = next((rec[i].strip() for i, col in index.items() if col.name == column), "")
                problems.append(Problem(file, line, column, cell or None, expected))
        for name, value in parsed.items():
            columns[name].append(value)
        kept.append(line)
    lines = tuple(kept)
    problems += _duplicates(schema, columns, lines, file)
    if problems:
        raise CatalogError(problems + warnings)
    df = pl.DataFrame(
        {c.name: pl.Series(c.name, columns[c.name], dtype=_DTYPES[c.kind]) for c in schema.columns}
    )
    units = {c.name: c.unit for c in schema.columns if c.unit}
    return Table(path.stem, path, df, units, header_units, lines, raw, tuple(warnings))


def _too_big(file: str, size: int) -> Problem:
    return Problem(file, None, None, f"{size:,} bytes", f"a file of at most {MAX_FILE_BYTES:,} bytes")


#: The exceptions live in :mod:`perfmodel.inputs` (light to import); imported from here as before.
__all__ = [
    "CatalogError",
    "Column",
    "InvalidInput",
    "Problem",
    "Schema",
    "Table",
    "UnknownName",
    "read_table",
]

_DTYPES = {"text": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean}


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Each CSV record with the line number it starts on (quoted cells may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            return out
        out.append((start, rec))


def _duplicates(schema: Schema, columns: dict[str, list], lines: tuple[int, ...], file: str) -> list[Problem]:
    """Rows whose keys are equal as names are compared (:func:`perfmodel.inputs.name_key`):
    ``H100-SXM`` beside ``h100-sxm`` is one design written twice, each problem naming both rows."""
    seen: dict[tuple, tuple[int, tuple]] = {}
    problems = []
    keys = list(zip(*(columns[k] for k in schema.key), strict=True))
    for key, line in zip(keys, lines, strict=True):
        if None in key:
            continue
        compared = tuple(name_key(v) if isinstance(v, str) else v for v in key)
        if compared not in seen:
            seen[compared] = (line, key)
            continue
        first, spelled = seen[compared]
        expected = f"a unique value (already used on row {first}"
        if spelled != key:
            expected += f" as {'/'.join(map(str, spelled))!r}; names are compared ignoring case and width"
        problems.append(Problem(file, line, "/".join(schema.key), "/".join(map(str, key)), expected + ")"))
    return problems
