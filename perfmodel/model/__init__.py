"""The physics of serving: architectures and chips as arrays, the scenario, the Liminal decode
step, the serving equations, the calibrated serving step and its fitted profiles.

Vectorized numpy kernels over magnitudes in base units (bytes, seconds, FLOP), each equation
cited in docs/model.md. It may import :mod:`perfmodel.catalog` (to read tables into arrays),
:mod:`perfmodel.units` and :mod:`perfmodel.inputs`; never the public API, the calibration, the
economics or a command.
"""
