"""Start a command-line entry point; a missing dependency ends in one line, not a traceback."""

import sys
from importlib import import_module

#: The project's own packages: a missing one is a broken install, shown as the error it is.
OWN = ("perfmodel", "tco", "liminal_cli", "catalogs")


def missing_dependency(e: ModuleNotFoundError) -> str | None:
    """The one-line message for a dependency that is not installed; None for the project's own."""
    if not e.name or e.name.split(".")[0] in OWN:
        return None
    return (
        f"error: the Python package {e.name!r} is not installed in this environment; "
        "install the project first (pip install -e . in a virtual environment, see README.md)"
    )


def launch(cli_module: str) -> None:
    """Import ``cli_module`` and run its ``entry()`` (commands import their dependencies lazily,
    so :func:`liminal_cli.arguments.run` reports a missing one too)."""
    try:
        entry = import_module(cli_module).entry
    except ModuleNotFoundError as e:
        message = missing_dependency(e)
        if message is None:
            raise
        sys.exit(message)
    entry()
