"""Interfaces that issues name as contracts; tests of several modules check against them."""

#: Keys of every row of ``python -m tco rank --json`` and columns of ``tco.rank`` (issue 4).
RANK_KEYS = (
    "hardware",
    "memory_technology",
    "chips",
    "tp",
    "pp",
    "ep",
    "batch",
    "utps",
    "stps",
    "tokens_per_usd",
    "tokens_per_joule",
    "usd_per_mtok",
    "gco2e_per_mtok",
    "price_is_estimate",
    "meets_floor",
    "reason",
)

#: Keys of every entry of ``python -m tco plan --json``'s ``plans`` (issue 15).
PLAN_KEYS = (
    "hardware",
    "servers",
    "chips",
    "capex_usd",
    "tco_usd",
    "usd_per_mtok",
    "peak_mw",
    "tco2e",
    "meets_demand",
)
#: Keys of every row of its ``monthly`` list (issue 15).
PLAN_MONTHLY_KEYS = ("month", "hardware", "servers_owned", "servers_bought", "capex_usd", "opex_usd", "mw")
