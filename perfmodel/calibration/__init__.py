"""The model against public figures: the fit of the serving efficiencies to measured runs and
its held-out error (:mod:`~perfmodel.calibration.efficiency_fit`), and the Liminal study's
reference tables (:mod:`~perfmodel.calibration.study_tables`, data in ``reference/``).

It predicts through :mod:`perfmodel.api` like any user; it may import the layers below it, never
the economics or a command.
"""
