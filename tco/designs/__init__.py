"""Changing the catalogs: what-if designs from parts (:mod:`~tco.designs.parts`) and catalog
upkeep (:mod:`~tco.designs.catalog_upkeep`: check, diff, list, add a chip).

Writes go through :mod:`perfmodel.catalog.journal`. It may import the questions (a diff ranks both
folders) and everything below them; never planning, reporting or a command.
"""
