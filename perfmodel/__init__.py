"""Analytical performance model of LLM serving: the Liminal limit study's decode step
(arXiv 2507.14397) and a calibrated serving model with prefill (docs/model.md).

The public names load on first use (PEP 562), so ``python -m perfmodel --help`` and the other
entry points start without importing numpy, polars or pint. A missing dependency raises its
``ModuleNotFoundError`` on first access; the entry points turn it into one line
(:mod:`perfmodel.launch`).
"""

import sys
import types
from importlib import import_module

_WHERE = {
    "Capacity": "perfmodel.api",
    "Decode": "perfmodel.api",
    "Setup": "perfmodel.api",
    "capacity": "perfmodel.api",
    "decode": "perfmodel.api",
    "decode_grid": "perfmodel.api",
    "iter_decode_grid": "perfmodel.api",
    "prepare": "perfmodel.api",
    "CatalogError": "perfmodel.inputs",
    "Catalogs": "perfmodel.catalog_set",
    "load_catalogs": "perfmodel.catalog_set",
    "Scenario": "perfmodel.scenario",
    "load_scenario": "perfmodel.scenario",
    "Serve": "perfmodel.serve_api",
    "iter_serve_grid": "perfmodel.serve_api",
    "serve": "perfmodel.serve_api",
    "serve_grid": "perfmodel.serve_api",
    "Q_": "perfmodel.units",
    "ureg": "perfmodel.units",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'perfmodel' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The package module: a submodule named like a public function (``perfmodel.decode``) does
    not hide the function once imported (as it did not when the API was imported eagerly)."""

    def __setattr__(self, name: str, value) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted(_WHERE)
