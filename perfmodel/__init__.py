"""Analytical performance model of LLM decoding (after the Liminal limit study, arXiv 2507.14397)."""

from perfmodel.api import Capacity, Decode, Setup, capacity, decode, decode_grid, iter_decode_grid, prepare
from perfmodel.catalog import CatalogError
from perfmodel.catalog_set import Catalogs, load_catalogs
from perfmodel.scenario import Scenario, load_scenario
from perfmodel.units import Q_, ureg

__all__ = [
    "Capacity",
    "CatalogError",
    "Catalogs",
    "Decode",
    "Q_",
    "Scenario",
    "Setup",
    "capacity",
    "decode",
    "decode_grid",
    "iter_decode_grid",
    "load_catalogs",
    "load_scenario",
    "prepare",
    "ureg",
]
