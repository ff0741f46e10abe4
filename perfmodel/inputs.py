"""What a user types, and what is wrong with it: light definitions every entry point imports.

Nothing here imports numpy, polars or pint, so ``python -m tco --help`` and argument errors
answer without building the unit registry. :mod:`perfmodel.catalog.table` re-exports the
exceptions; :mod:`perfmodel.units` parses units with :data:`NUMBER`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: A number as people write it: ``12``, ``-0.5``, ``.5``, ``2.5e-3`` (no ``inf``, ``nan``,
#: ``1_000``, ``0x10``, and at most three exponent digits).
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
#: Longest number or unit text accepted [characters].
MAX_TEXT = 64
#: Weight, KV-cache and activation precisions the model knows.
PRECISIONS = ("bf16", "fp8", "fp4")
#: Which model answers: the study's limit (peak figures, decode only) or the calibrated serving model.
MODES: tuple[str, ...] = ("limit", "calibrated")
#: The serving workload when none is given: input and output tokens per request.
DEFAULT_ISL = 1024
DEFAULT_OSL = 1024


def parse_number(text: str) -> float:
    """A finite number in plain decimal or scientific notation; ``ValueError`` otherwise."""
    if not isinstance(text, str) or len(text) > MAX_TEXT or not NUMBER.fullmatch(text.strip()):
        raise ValueError(f"a number such as 12, 0.5 or 2.5e3, got {text!r}")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"a finite number, got {text!r}")
    return value


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog: where, what value, and what was expected."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = ":".join([self.file] + [str(x) for x in (self.row, self.column) if x is not None])
        got = "" if self.value is None else f" got {self.value!r};"
        return f"{where}:{got} expected {self.expected}"


class UnknownName(KeyError):
    """A name (model, chip, scenario, region) that the catalog does not have; lists valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidInput(ValueError):
    """A user's argument is out of range or inconsistent (names the argument and what is allowed)."""


class CatalogError(ValueError):
    """A catalog file (or set of files) failed validation; ``problems`` lists every issue."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        head = f"{len(errors)} problem(s) in catalog data:"
        super().__init__("\n".join([head] + [f"  {p}" for p in errors]))
