"""Start a command-line entry point; a missing dependency ends in one line, not a traceback."""

import sys
from importlib import import_module


def launch(cli_module: str) -> None:
    """Import ``cli_module`` and run its ``entry()``."""
    try:
        entry = import_module(cli_module).entry
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in ("perfmodel", "tco", "catalogs"):
            raise
        sys.exit(
            f"error: the Python package {e.name!r} is not installed in this environment; "
            "install the project first (pip install -e . in a virtual environment, see README.md)"
        )
    entry()
