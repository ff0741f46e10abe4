"""What a user types, and what is wrong with it: light definitions every entry point imports.

Nothing here imports numpy, polars or pint, so ``python -m tco --help`` and argument errors
answer without building the unit registry. :mod:`perfmodel.catalog.table` re-exports the
exceptions; :mod:`perfmodel.units` parses units with :data:`NUMBER`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

#: A number as people write it: ``12``, ``-0.5``, ``.5``, ``2.5e-3`` (no ``inf``, ``nan``,
#: ``1_000``, ``0x10``, and at most three exponent digits). ASCII digits only: without
#: ``re.ASCII``, ``\d`` (and ``float``) read ``３５０`` or ``٣.٣٥`` as numbers.
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
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
    """A finite number in plain decimal or scientific notation, ASCII digits only; ``ValueError`` otherwise."""
    if not isinstance(text, str) or len(text) > MAX_TEXT or not NUMBER.fullmatch(text.strip()):
        raise ValueError(f"a number such as 12, 0.5 or 2.5e3{digits_hint(text)}, got {text!r}")
    value = float(text.strip())
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"a finite number, got {text!r}")
    return value


def digits_hint(text: object) -> str:
    """``', with ASCII digits 0-9'`` when ``text`` holds another script's digits (``８``), else ``''``."""
    foreign = isinstance(text, str) and any(ch.isdigit() and not ch.isascii() for ch in text)
    return ", with ASCII digits 0-9" if foreign else ""


#: Unicode categories of characters that cannot be seen: controls, format characters (zero-width
#: spaces and joiners, bidirectional overrides), unassigned, private-use and surrogate code
#: points, line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})
#: Default-ignorable code points outside those categories (combining grapheme joiner, Hangul
#: fillers, Khmer inherent vowels, Mongolian and other variation selectors), from the Unicode
#: Character Database's DerivedCoreProperties.txt, Default_Ignorable_Code_Point.
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)


@functools.cache
def _hidden(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.category(ch) in _HIDDEN_CATEGORIES
        or (ch.isspace() and ch != " ")
        or any(lo <= code <= hi for lo, hi in _IGNORABLE)
    )


def hidden_character(text: str, allowed: str = "") -> str | None:
    """The first character of ``text`` that cannot be seen, or is whitespace other than a plain
    space, and is not in ``allowed``, described as ``'U+200B ZERO WIDTH SPACE at character 5'``;
    None when there is none."""
    if text.isascii() and text.isprintable():  # printable ASCII holds nothing hidden
        return None
    for i, ch in enumerate(text, 1):
        if _hidden(ch) and ch not in allowed:
            return f"{character(ch)} at character {i}"
    return None


def character(ch: str) -> str:
    """``'U+200B ZERO WIDTH SPACE'``: a character as the Unicode standard names it."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def name_key(name: str) -> str:
    """``name`` as two names are compared: without hidden characters, NFKC-normalized and
    case-folded (Unicode's NFKC_Casefold, UAX #15 and UTS #39), any run of whitespace one space,
    so ``H100-SXM``, ``h100\u200b-sxm`` and ``ｈ１００-ｓｘｍ`` are one name."""
    visible = "".join(" " if ch.isspace() else "" if _hidden(ch) else ch for ch in str(name))
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible).casefold())
    return " ".join(folded.split())


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
