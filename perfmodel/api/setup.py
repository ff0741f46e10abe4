"""What every evaluation starts from: the catalogs, the scenario and the model and hardware
arrays resolved once (:class:`Setup`), and the argument checks the public functions share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pint
import polars as pl

from perfmodel.catalog.folder import Catalogs, load_catalogs
from perfmodel.inputs import InvalidInput
from perfmodel.model.architecture import ModelArrays, model_arrays
from perfmodel.model.hardware import HardwareArrays, hardware_arrays
from perfmodel.model.scenario import Scenario, load_scenario
from perfmodel.units import Q_

GIB = Q_(1, "GiB").to("B").m
BatchSpec = int | str


@dataclass(frozen=True)
class Setup:
    """Catalogs, scenario and the model/hardware arrays one evaluation uses, and the serving
    engine the calibrated mode runs (None: each chip's own, the engine most measured on it)."""

    catalogs: Catalogs
    scenario: Scenario
    models: ModelArrays
    hardware: HardwareArrays
    engine: str | None = None


def prepare(
    catalogs: Catalogs | None = None,
    scenario: str | Scenario | None = None,
    precision: str | None = None,
    models: Sequence[str] | None = None,
    hardware: Sequence[str] | None = None,
    kv_precision: str | None = None,
    engine: str | None = None,
) -> Setup:
    """Resolve names against the catalogs; ``KeyError`` lists the valid names of a bad one."""
    catalogs = catalogs or load_catalogs()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(catalogs, scenario, precision, kv_precision)
    else:
        scenario = scenario.with_precision(precision, kv_precision)
    m = model_arrays(
        catalogs["models"],
        list(models) if models else None,
        scenario.counts,
        scenario.include_embeddings,
        scenario.sliding_window,
    )
    h = hardware_arrays(catalogs["hardware"], list(hardware) if hardware else None, scenario.precision)
    engine = None if engine is None else catalogs["engine_profiles"].resolve(engine)
    return Setup(catalogs, scenario, m, h, engine)


def positive_int(name: str, value) -> int:
    if isinstance(value, pint.Quantity):
        value = value.to("token").magnitude if not value.dimensionless else value.magnitude
    if isinstance(value, bool) or not float(value).is_integer() or value < 1:
        raise InvalidInput(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


BOUND = pl.Enum(["compute", "memory"])


def enum_series(codes: np.ndarray, dtype: pl.Enum) -> pl.Series:
    """Categorical column from integer codes without building Python strings per row."""
    return pl.Series(dtype.categories).cast(dtype).gather(codes)


#: A configuration's layout and its defaults (``tp``, ``pp``, ``ep``: chips along each axis).
LAYOUT = {"tp": 1, "pp": 1, "ep": 1}
#: A grid's axes and their defaults (``batch`` per pipeline micro-batch; may include ``"max"``).
GRID_AXES = {"tp": (1, 2, 4, 8), "pp": (1,), "ep": (1,), "batch": (1,)}
#: What :func:`prepare` takes by name, when a function builds its own setup.
SETUP_OPTIONS = ("catalogs", "scenario", "precision", "kv_precision", "engine")


def split_options(options: dict, defaults: dict, setup_too: bool = True) -> tuple[dict, dict]:
    """``options`` as (the ``defaults``' keys, filled in; the :func:`prepare` arguments among them).

    Any other name raises :class:`InvalidInput` naming it and the valid ones.
    """
    valid = (*defaults, *(SETUP_OPTIONS if setup_too else ()))
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InvalidInput(f"unknown option {', '.join(unknown)}; valid: {', '.join(valid)}")
    own = {k: options.get(k, v) for k, v in defaults.items()}
    return own, {k: options[k] for k in SETUP_OPTIONS if k in options}
