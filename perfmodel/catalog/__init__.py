"""The catalogs: strict CSV tables with units in their headers, their schemas, the folder they
load from, and the journaled writes that change it.

Everything that reads or writes a catalog file lives here: :mod:`~perfmodel.catalog.table` (one
file: headers, units, cells, every problem as file:row:column), the schemas of the performance
(:mod:`~perfmodel.catalog.schemas`, :mod:`~perfmodel.catalog.serving_schemas`) and economics
(:mod:`~perfmodel.catalog.economics_schemas`) tables, :mod:`~perfmodel.catalog.folder` (a folder
of files over the packaged defaults, cross-checked), :mod:`~perfmodel.catalog.economics_set`
(the full set the economics needs) and :mod:`~perfmodel.catalog.journal` (the lock and the
all-or-nothing write). It imports only :mod:`perfmodel.units`, :mod:`perfmodel.inputs`,
:mod:`perfmodel.outputs` and the packaged ``catalogs`` data: never the model, the economics or a
command.
"""
