"""One buyer's question, as one value: which model, at which workload and floor, under which
assumptions. The command line, the app and the library pass it instead of loose arguments.

A question is frozen, so it can be a cache key; its ``catalogs`` take no part in equality or
hashing (a cache keyed on a question also keys on the catalogs' version, as the app does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from perfmodel.catalog.folder import Catalogs
from perfmodel.inputs import DEFAULT_ISL, DEFAULT_OSL
from tco.economics.costs import CostBasis, PowerModel, Site


@dataclass(frozen=True)
class Question:
    """What one evaluation answers.

    Parameters
    ----------
    model : str
        A name of models.csv (``None`` only in a template, e.g. a fleet plan's, whose rows name it).
    context : int, optional
        Tokens of context [tokens]: the limit mode's decode step (without ``mode``, a context asks
        for the limit).
    isl, osl : int
        Input and output tokens per request [tokens]: the calibrated mode's workload.
    min_utps : float
        The floor every design must meet [tokens/s per user].
    mode : {"calibrated", "limit"}, optional
        Default: ``limit`` when ``context`` is given, else ``calibrated``.
    scenario, precision, kv_precision : str, optional
        Named assumptions of scenarios.csv and the weight and KV-cache precisions.
    engine : str, optional
        The serving engine of engine_profiles.csv that runs every design (calibrated mode; default:
        each chip's engine most measured on it; the ranking's ``engine`` column names it).
    site : str or Site, optional
        A row of datacenter.csv by name (default us-average), or a site with changed figures.
    power_model : {"activity", "tdp"}
    cost_basis : {"own", "rent"}
    availability : tuple of str, optional
        Only designs of these kinds compete (``shipping``, ``announced``, ``hypothetical``).
    hardware : tuple of str, optional
        The designs to compare (default: every design of the catalogs).
    plans : tuple of str
        Serving plans searched (calibrated mode, docs/model.md §9.6): ``aggregated``,
        ``disaggregated`` (default: aggregated only, the serving grid).
    mtp : tuple of bool
        Searched without (False) and with (True) the model's MTP module (default: without).
    catalogs : Catalogs, optional
        The full catalog set (default: the packaged catalogs).
    """

    model: str | None = None
    context: int | None = None
    isl: int = DEFAULT_ISL
    osl: int = DEFAULT_OSL
    min_utps: float = 0.0
    mode: str | None = None
    scenario: str | None = None
    precision: str | None = None
    kv_precision: str | None = None
    engine: str | None = None
    site: str | Site | None = None
    power_model: PowerModel = "activity"
    cost_basis: CostBasis = "own"
    availability: tuple[str, ...] | None = None
    hardware: tuple[str, ...] | None = None
    plans: tuple[str, ...] = ("aggregated",)
    mtp: tuple[bool, ...] = (False,)
    catalogs: Catalogs | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        # sequences arrive as lists from argparse and callers; a frozen question holds tuples
        for name in ("availability", "hardware", "plans", "mtp"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    @property
    def searches_plans(self) -> bool:
        """Whether serving plans beyond the aggregated grid without MTP are searched."""
        return (self.plans, self.mtp) != (("aggregated",), (False,))

    def but(self, **changes) -> Question:
        """The same question with ``changes`` (field -> value)."""
        return replace(self, **changes)

    def over(self, models: Sequence[str], contexts: Sequence[int | None] = (None,)) -> list[Question]:
        """One question per model and context (a report's sections), in that order."""
        return [self.but(model=m, context=c) for m in models for c in contexts]


def as_question(question: Question | str, **fields) -> Question:
    """``question`` itself, or a question about the model named ``question`` with ``fields``
    (so ``rank("llama3-70b", min_utps=30)`` reads as it did)."""
    if isinstance(question, Question):
        return question.but(**fields) if fields else question
    return Question(model=question, **fields)
