"""Command-line plumbing shared by ``python -m perfmodel`` and ``python -m tco``.

A user's mistake ends in one clear line on stderr and exit status 2, never a traceback:
unknown names list the valid ones, bad numbers name the flag and what is allowed, and a broken
catalog lists every problem as file:row:column.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable

import pint

from perfmodel.catalog import CatalogError, InvalidInput, UnknownName
from perfmodel.catalog_set import DEFAULT_DIR
from perfmodel.schemas import PRECISIONS


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: ... (see --help)``."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if not value.is_integer() or value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(value)


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def batch_spec(text: str) -> int | str:
    return "max" if text == "max" else positive_int(text)


def add_common(p: argparse.ArgumentParser) -> None:
    """--catalogs, --scenario, --precision, --json."""
    p.add_argument("--catalogs", metavar="DIR", help=f"catalog folder (default: {DEFAULT_DIR})")
    p.add_argument("--scenario", help="named assumptions from scenarios.csv (default: published)")
    p.add_argument("--precision", choices=PRECISIONS, help="weight and KV precision (overrides the scenario)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Call ``main`` and turn a user's error into one message and exit status 2."""
    try:
        return main(argv)
    except CatalogError as e:
        print(f"error: {e}", file=sys.stderr)
    except (UnknownName, InvalidInput, pint.DimensionalityError, pint.UndefinedUnitError) as e:
        print(f"error: {e}", file=sys.stderr)
    except BrokenPipeError:
        return 0
    return 2


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
