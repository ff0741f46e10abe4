"""The functions a Python user calls: :mod:`~perfmodel.api.setup` (catalogs, scenario and
arrays resolved once), :mod:`~perfmodel.api.decoding` (the limit mode: capacity, one decode
configuration, grids), :mod:`~perfmodel.api.serving` (the calibrated mode: one served workload
and serving grids) and :mod:`~perfmodel.api.sweeps` (bandwidth and latency sweeps).

Quantities cross this boundary; grids come back as polars frames with units in their column
names. It may import :mod:`perfmodel.model` and :mod:`perfmodel.catalog`; never the calibration,
the economics or a command.
"""
