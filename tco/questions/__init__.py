"""The questions a buyer asks of the model and the economics: the ranking under a UTPS floor
(:mod:`~perfmodel` results priced per design), its sensitivity and Monte-Carlo spread, the
throughput-interactivity trade-off and cost curves, and the Liminal study's questions.

It may import :mod:`tco.economics`, :mod:`tco.equations`, :mod:`tco.options` and :mod:`perfmodel`;
never designs, planning, reporting or a command.
"""
