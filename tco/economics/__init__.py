"""What a chip-hour costs and what it draws: chip prices (market or bottom-up), the owner's cost
per chip-hour at a site, rentals, the power drawn while serving (fitted to measurements) and the
energy per token.

Built from the catalogs and :mod:`tco.equations`; it may import :mod:`perfmodel` (its catalogs and
public API) and :mod:`tco.options`; never the questions, planning, reporting or a command.
"""
