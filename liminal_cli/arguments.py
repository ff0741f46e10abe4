"""Command-line plumbing shared by ``python -m perfmodel`` and ``python -m tco``.

A user's mistake ends in one clear line on stderr and exit status 2, never a traceback:
unknown names list the valid ones, bad numbers name the flag and the range allowed, repeated
names and unusable output paths name the argument, and a broken catalog lists every problem as
file:row:column. A problem of the environment (a disk that is full, a file that cannot be
written for a reason the user did not cause) ends in one line and exit status 1.

This module imports nothing heavy (no numpy, polars or pint): the parsers are built from it and
answer ``--help`` and argument errors at once; the commands import the model when they run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from liminal_cli.startup import missing_dependency
from perfmodel.inputs import PRECISIONS, CatalogError, InvalidInput, UnknownName, digits_hint, parse_number

#: What UTPS and STPS mean, for every command's help.
GLOSSARY = (
    "UTPS: tokens per second each user sees (user tokens per second). "
    "STPS: tokens per second the whole system serves (STPS = users x UTPS)."
)
#: Ranges of the numeric arguments: a value outside is a typing mistake, refused with this range.
MAX_CONTEXT = 10_000_000  # tokens per sequence (the longest published context windows)
MAX_BATCH = 1_000_000  # sequences per micro-batch
MAX_PARALLEL = 65_536  # chips along one parallelism axis
MAX_UTPS = 1e7  # tokens/s per user
MAX_SYNC_US = 1e6  # microseconds per collective (one second)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that states each flag's range (from its type) and default (when it has one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if text is argparse.SUPPRESS:
            return text
        rng = getattr(action.type, "range_text", None)
        if rng and "range" not in text:
            text += f"; {rng}"
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, [], argparse.SUPPRESS)
            and "%(default)" not in text
            and "default" not in text
        ):
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
            text += f" (default: {shown})"
        return text.replace("%", "%%").replace("%%(default)s", "%(default)s")


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: ... (see --help)``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Number:
    """An argparse type: a number between ``lo`` and ``hi`` (each excluded when ``open_low``/``open_high``),
    whole if ``integer``.

    Plain decimal or scientific notation in ASCII digits only (:func:`perfmodel.inputs.parse_number`:
    ``８`` is refused, not read as 8); the range is stated in the flag's help and in the error.
    """

    def __init__(
        self,
        lo: float,
        hi: float,
        integer: bool,
        unit: str = "",
        open_low: bool = False,
        open_high: bool = False,
    ):
        self.lo, self.hi, self.integer = lo, hi, integer
        self.open_low, self.open_high = open_low, open_high
        noun = "a whole number" if integer else "a number"
        top = f"{hi:,.0f}" if hi >= 1000 else f"{hi:g}"
        unit = f" {unit}" if unit else ""
        self.range_text = (
            f"range: {noun} {'>' if open_low else '>='} {lo:g} and {'<' if open_high else '<='} {top}{unit}"
        )
        self.__name__ = "whole number" if integer else "number"  # argparse names the type on errors

    def __call__(self, text: str) -> int | float:
        try:
            value = parse_number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {self._expected()}{digits_hint(text)}, got {text!r}"
            ) from None
        too_low = value <= self.lo if self.open_low else value < self.lo
        too_high = value >= self.hi if self.open_high else value > self.hi
        if too_low or too_high or (self.integer and not value.is_integer()):
            raise argparse.ArgumentTypeError(f"expected {self._expected()}, got {text!r}")
        return int(value) if self.integer else value

    def _expected(self) -> str:
        return self.range_text.removeprefix("range: ")


def whole(hi: int, unit: str = "", lo: int = 1) -> _Number:
    """A whole number from ``lo`` to ``hi``."""
    return _Number(lo, hi, integer=True, unit=unit)


def number(lo: float, hi: float, unit: str = "", open_low: bool = False, open_high: bool = False) -> _Number:
    """A number from ``lo`` to ``hi`` (each excluded if ``open_low``/``open_high``)."""
    return _Number(lo, hi, integer=False, unit=unit, open_low=open_low, open_high=open_high)


CONTEXT = whole(MAX_CONTEXT, "tokens")
BATCH = whole(MAX_BATCH, "sequences")
CHIPS = whole(MAX_PARALLEL, "chips")
FLOOR = number(0, MAX_UTPS, "tokens/s")
TARGET = number(0, MAX_UTPS, "tokens/s", open_low=True)
SYNC_US = number(0, MAX_SYNC_US, "us")
FRACTION = number(0, 1, open_high=True)


class _Batch:
    """A batch (see :data:`BATCH`) or ``max`` (the largest batch that fits)."""

    range_text = BATCH.range_text + ", or max"
    __name__ = "batch"

    def __call__(self, text: str) -> int | str:
        if text.strip().lower() == "max":
            return "max"
        try:
            return BATCH(text)
        except argparse.ArgumentTypeError:
            expected = self.range_text.removeprefix("range: ")
            raise argparse.ArgumentTypeError(
                f"expected {expected}{digits_hint(text)}, got {text!r}"
            ) from None


batch_spec = _Batch()


class Unique(argparse.Action):
    """Store a list of names, refusing one given twice (case-insensitively)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen: dict[str, str] = {}
        for v in values:
            key = str(v).casefold()
            if key in seen:
                parser.error(f"argument {option_string}: {v!r} given twice; name each once")
            seen[key] = v
        setattr(namespace, self.dest, list(values))


def add_common(p: argparse.ArgumentParser) -> None:
    """--catalogs, --scenario, --precision, --json."""
    add_catalogs(p)
    p.add_argument("--scenario", help="named assumptions from scenarios.csv (default: published)")
    p.add_argument(
        "--precision", choices=PRECISIONS, help="weight and KV precision (default: the scenario's)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_catalogs(p: argparse.ArgumentParser, required: bool = False, what: str = "") -> None:
    """--catalogs DIR."""
    text = what or "catalog folder; files missing there come from the packaged catalogs (default: packaged)"
    p.add_argument("--catalogs", metavar="DIR", required=required, help=text)


def output_file(path: Path, flag: str = "--out", inputs: Iterable[Path | str] = ()) -> Path:
    """Check before any work that ``path`` can be written as a file; ``InvalidInput`` says why not.

    Only a regular file (or a link to one) or a new path: a device, FIFO or link to nothing is
    refused (:mod:`perfmodel.outputs`), and so is any of the command's ``inputs`` (the same
    inode or path once links are resolved): a write would lose what the command reads.
    """
    from perfmodel.outputs import same_file, special_kind

    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"{flag} {path}: is a folder; give a file name")
    kind = special_kind(path)
    if kind:
        raise InvalidInput(f"{flag} {path}: is {kind}, not a regular file; give a file name")
    for source in inputs:
        if same_file(path, source):
            raise InvalidInput(
                f"{flag} {path}: would overwrite {source}, an input of this command; write to another file"
            )
    _writable_folder(path.parent, flag, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidInput(f"{flag} {path}: the file exists and cannot be overwritten (read-only)")
    return path


def input_file(path: Path, flag: str) -> Path:
    """Check before any work that ``path`` is a regular file to read (never a device or FIFO)."""
    from perfmodel.outputs import special_kind

    path = Path(path)
    kind = special_kind(path)
    if kind:
        raise InvalidInput(f"{flag} {path}: is {kind}, not a regular file; give a CSV file")
    if not path.exists():
        raise InvalidInput(f"{flag} {path}: no such file")
    return path


def output_dir(path: Path, flag: str = "--out") -> Path:
    """Check before any work that ``path`` is, or can become, a writable folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{flag} {path}: exists and is not a folder; give a folder")
    _writable_folder(path, flag, path)
    return path


def _writable_folder(folder: Path, flag: str, shown: Path) -> None:
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidInput(f"{flag} {shown}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput(f"{flag} {shown}: cannot write in {existing} (permission denied)")


def _user_error(e: BaseException) -> bool:
    if isinstance(e, (CatalogError, UnknownName, InvalidInput)):
        return True
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(e, (pint.DimensionalityError, pint.UndefinedUnitError))


#: What a command that ran out of memory says: what to reduce, and the budget it was estimated under.
OUT_OF_MEMORY = (
    "error: out of memory: give fewer models, chips or grid values (--model, --hardware, --tp, --pp, "
    "--ep, --batch, --context) or fewer --uncertainty draws, or lower LIMINAL_MEMORY_GIB"
)


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Call ``main``: a user's error is one line and exit status 2, the environment's exit status 1."""
    try:
        return main(argv)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as e:
        message = missing_dependency(e)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 1
    except MemoryError:
        print(OUT_OF_MEMORY, file=sys.stderr)
        return 1
    except OSError as e:
        if not (e.strerror or str(e)):  # polars reports a failed allocation as a bare OSError
            print(OUT_OF_MEMORY, file=sys.stderr)
            return 1
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:
        if not _user_error(e):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2


def warn(problems: Sequence, out=None) -> None:
    """Print catalog plausibility warnings (one line each) on stderr."""
    out = out or sys.stderr
    for p in problems:
        print(f"warning: {p}", file=out)


def emit(payload, as_json: bool, render: Callable[[object], str]) -> None:
    """Print ``payload`` as strict JSON (NaN and infinities become null) or through ``render``."""
    print(json.dumps(_strict(payload), indent=2, allow_nan=False) if as_json else render(payload))


def _strict(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def key_values(d: dict) -> str:
    width = max(len(k) for k in d)
    return "\n".join(f"{k:<{width}}  {_fmt(v)}" for k, v in d.items())


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def add_deployment_flags(p, designs: str) -> None:
    """--hardware, --power-model, --catalogs, --scenario, --precision: which chips, how their power
    is counted, and the assumptions they are evaluated under (rank, report, trade-off and plan)."""
    p.add_argument("--hardware", nargs="+", action=Unique, help=designs)
    p.add_argument(
        "--power-model",
        choices=("activity", "tdp"),
        default="activity",
        help="chip power from its activity (FLOPs, bytes moved, static power) or at its TDP",
    )
    add_catalogs(p)
    p.add_argument("--scenario", help="named assumptions from scenarios.csv (default: published)")
    p.add_argument("--precision", choices=PRECISIONS, help="weight precision (default: the scenario's)")


def add_site(p: argparse.ArgumentParser) -> None:
    """--region picks the site (a row of datacenter.csv); --site is the same flag under another name."""
    p.add_argument("--region", help="site from datacenter.csv (default: us-average)")
    p.add_argument("--site", dest="region", help=argparse.SUPPRESS)


#: --mtp: the settings of multi-token prediction a plan search tries.
MTP_CHOICES = {"off": (False,), "on": (True,), "both": (False, True)}

#: Question field -> the flag (argparse destination) that sets it.
QUESTION_FLAGS = {
    "model": "model",
    "context": "context",
    "isl": "isl",
    "osl": "osl",
    "min_utps": "min_utps",
    "mode": "mode",
    "scenario": "scenario",
    "precision": "precision",
    "kv_precision": "kv_precision",
    "engine": "engine",
    "site": "region",
    "power_model": "power_model",
    "cost_basis": "cost_basis",
    "availability": "availability",
    "hardware": "hardware",
    "plans": "plans",
    "mtp": "mtp",
}


def question(args: argparse.Namespace, catalogs, **fields):
    """The question the flags ask: one place for rank, sensitivity, trade-off, report and plan
    (``fields`` set what a command asks differently, e.g. a report's model and context)."""
    from tco.questions.question import Question

    asked = {
        field: getattr(args, flag)
        for field, flag in QUESTION_FLAGS.items()
        if getattr(args, flag, None) is not None
    }
    if "mtp" in asked:
        asked["mtp"] = MTP_CHOICES[asked["mtp"]]
    asked["model"] = names_in(catalogs, "models", asked.get("model"))
    asked["hardware"] = names_in(catalogs, "hardware", asked.get("hardware"))
    return Question(catalogs=catalogs, **(asked | fields))


def names_in(catalogs, table: str, names):
    """``names`` (one or a list, or None) in the catalog's spelling; unknown ones raise."""
    if names is None:
        return None
    if isinstance(names, str):
        return catalogs[table].resolve(names)
    resolved = [catalogs[table].resolve(n) for n in names]
    twice = {n for n in resolved if resolved.count(n) > 1}
    if twice:
        raise InvalidInput(f"{', '.join(sorted(twice))} named twice; name each design or model once")
    return resolved
