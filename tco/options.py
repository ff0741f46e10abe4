"""The choices the economics questions take (light to import: the command line's help uses them)."""

#: Objective -> True when larger is better.
OBJECTIVES = {
    "tokens_per_usd": True,
    "tokens_per_joule": True,
    "usd_per_mtok": False,
    "gco2e_per_mtok": False,
}
#: The contexts (tokens) and UTPS floors (tokens/s per user) the study's questions are asked at.
CONTEXTS = (4096, 131072)
#: Contexts a person picks from (the study's two among them) [tokens].
CONTEXT_CHOICES = (1024, 4096, 8192, 32768, 131072)
#: The mode a question without a context is answered in (the other: ``limit``).
DEFAULT_MODE = "calibrated"
FLOORS = (30.0, 2000.0)
#: Cost bases: the owner's all-in cost, or rental prices.
COST_BASES = ("own", "rent")
#: The three efficiencies a design is judged by: per dollar, per joule, per gram of CO2e.
EFFICIENCY_OBJECTIVES = ("tokens_per_usd", "tokens_per_joule", "gco2e_per_mtok")
