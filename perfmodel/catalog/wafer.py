"""Wafer geometry: the gross dies on a round wafer, and the largest die that fits once.

The die-area check of ``hardware_economics.csv`` and the bottom-up chip price
(:mod:`tco.economics.chip_costs`) share it (Hennessy & Patterson, *Computer Architecture*, 6th ed.,
sec. 1.6).
"""

from __future__ import annotations

import numpy as np

#: Diameter of the wafers every node in the catalog is priced for [m].
WAFER_DIAMETER_M = 0.300


def dies_per_wafer(area_m2, diameter_m: float = WAFER_DIAMETER_M):
    """Gross dies on a round wafer (edge loss term ``pi d / sqrt(2 A)``)."""
    area_m2 = np.asarray(area_m2, dtype=np.float64)
    return np.pi * (diameter_m / 2) ** 2 / area_m2 - np.pi * diameter_m / np.sqrt(2.0 * area_m2)


def largest_die_m2(diameter_m: float = WAFER_DIAMETER_M) -> float:
    """The largest die with at least one gross die per wafer: ``DPW(A) = 1`` solved for ``A``."""
    a, b = np.pi * (diameter_m / 2) ** 2, np.pi * diameter_m / np.sqrt(2.0)
    inv_sqrt_area = (b + np.sqrt(b * b + 4.0 * a)) / (2.0 * a)
    return float(inv_sqrt_area**-2)
