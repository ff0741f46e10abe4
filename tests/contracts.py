"""Interfaces that issues name as contracts; tests of several modules check against them."""

#: Keys of every row of ``python -m tco rank --json`` and columns of ``tco.questions.ranking`` (issue 4).
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

#: Keys issue 12 adds to every row of ``tco rank --json`` (besides RANK_KEYS, which it keeps, and
#: the existing usd_per_hour, wall_power_w and chips).
ECONOMICS_KEYS = ("usd_per_hour", "wall_power_w", "chips", "availability", "cost_basis", "usd_per_chip_hour")
#: Keys ``tco rank --uncertainty N --json`` adds.
UNCERTAINTY_KEYS = (
    "usd_per_mtok_p10",
    "usd_per_mtok_p50",
    "usd_per_mtok_p90",
    "tokens_per_joule_p10",
    "tokens_per_joule_p50",
    "tokens_per_joule_p90",
    "p_cheapest",
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
