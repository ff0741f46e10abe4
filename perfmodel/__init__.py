"""Analytical performance model of LLM serving: the Liminal limit study's decode step
(arXiv 2507.14397) and a calibrated serving model with prefill (docs/model.md)."""

try:
    from perfmodel.api import (
        Capacity,
        Decode,
        Setup,
        capacity,
        decode,
        decode_grid,
        iter_decode_grid,
        prepare,
    )
    from perfmodel.catalog import CatalogError
    from perfmodel.catalog_set import Catalogs, load_catalogs
    from perfmodel.scenario import Scenario, load_scenario
    from perfmodel.serve_api import Serve, iter_serve_grid, serve, serve_grid
    from perfmodel.units import Q_, ureg
except ModuleNotFoundError as _missing:
    # A dependency is not installed: ``python -m perfmodel`` still starts and says so in one line
    # (perfmodel.launch); any other use raises the original error on first access.
    if (_missing.name or "").split(".")[0] == "perfmodel":
        raise
    _MISSING = _missing  # the ``except`` name is unbound when the block ends

    def __getattr__(name: str):
        raise _MISSING


__all__ = [
    "Capacity",
    "CatalogError",
    "Catalogs",
    "Decode",
    "Q_",
    "Scenario",
    "Serve",
    "Setup",
    "capacity",
    "decode",
    "decode_grid",
    "iter_decode_grid",
    "iter_serve_grid",
    "load_catalogs",
    "load_scenario",
    "prepare",
    "serve",
    "serve_grid",
    "ureg",
]
