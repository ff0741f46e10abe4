"""Analytical performance model of LLM serving: the Liminal limit study's decode step
(arXiv 2507.14397) and a calibrated serving model with prefill (docs/model.md).

Layers, each importing only those before it: :mod:`perfmodel.units`, :mod:`perfmodel.inputs` and
:mod:`perfmodel.outputs` (the unit registry, what a user types, the files the project writes);
:mod:`perfmodel.catalog` (CSV tables and their folder); :mod:`perfmodel.model` (the physics);
:mod:`perfmodel.api` (the functions below); :mod:`perfmodel.calibration` (the fit and the
study's tables). The command line is :mod:`liminal_cli`; ``python -m perfmodel`` starts it.

The public names load on first use (PEP 562), so ``python -m perfmodel --help`` and the other
entry points start without importing numpy, polars or pint. A missing dependency raises its
``ModuleNotFoundError`` on first access; the entry points turn it into one line
(:mod:`liminal_cli.startup`).
"""

from importlib import import_module

_WHERE = {
    "Capacity": "perfmodel.api.decoding",
    "Decode": "perfmodel.api.decoding",
    "capacity": "perfmodel.api.decoding",
    "decode": "perfmodel.api.decoding",
    "decode_grid": "perfmodel.api.decoding",
    "iter_decode_grid": "perfmodel.api.decoding",
    "Setup": "perfmodel.api.setup",
    "prepare": "perfmodel.api.setup",
    "CatalogError": "perfmodel.inputs",
    "Catalogs": "perfmodel.catalog.folder",
    "load_catalogs": "perfmodel.catalog.folder",
    "Scenario": "perfmodel.model.scenario",
    "load_scenario": "perfmodel.model.scenario",
    "Serve": "perfmodel.api.serving",
    "iter_serve_grid": "perfmodel.api.serving",
    "serve": "perfmodel.api.serving",
    "serve_grid": "perfmodel.api.serving",
    "Q_": "perfmodel.units",
    "ureg": "perfmodel.units",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'perfmodel' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted(_WHERE)
