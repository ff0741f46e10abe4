"""The economics of LLM inference hardware, above :mod:`perfmodel`.

Layers, each importing only those before it: :mod:`tco.options` (the choices the questions take)
and :mod:`tco.equations` (power, energy and capital, one function per equation);
:mod:`tco.economics` (prices, costs, power); :mod:`tco.questions` (rank, sensitivity,
uncertainty, trade-off, the study's questions); :mod:`tco.designs` (what-if designs, catalog
upkeep) and :mod:`tco.planning` (fleet plans); :mod:`tco.reporting` (reports and charts). The
command line is :mod:`liminal_cli`; ``python -m tco`` starts it.
"""
