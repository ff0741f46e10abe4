"""Scenarios: named sets of assumptions (precision, parameter counts, collective latencies).

``liminal-2025`` reproduces the Liminal study (arXiv 2507.14397); ``published`` uses the
published architectures and each chip's own figures. Both are rows of ``scenarios.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from perfmodel.catalog import InvalidInput
from perfmodel.catalog_set import Catalogs
from perfmodel.schemas import PRECISION_BYTES

DEFAULT_SCENARIO = "published"


@dataclass(frozen=True)
class Scenario:
    """Assumptions of one evaluation. ``sync_anchors``: ((chips, s), (chips, s)) or None."""

    name: str
    precision: str
    kv_precision: str
    activation_precision: str
    include_embeddings: bool
    collective_bandwidth: bool
    sync_anchors: tuple[tuple[float, float], tuple[float, float]] | None
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def weight_bytes(self) -> float:
        return PRECISION_BYTES[self.precision]

    @property
    def kv_bytes(self) -> float:
        return PRECISION_BYTES[self.kv_precision]

    @property
    def activation_bytes(self) -> float:
        return PRECISION_BYTES[self.activation_precision]

    def with_precision(self, precision: str | None) -> Scenario:
        """The same scenario with weights (and KV cache) at ``precision``; None keeps it."""
        if precision is None:
            return self
        if precision not in PRECISION_BYTES:
            raise InvalidInput(f"unknown precision {precision!r}; valid: {', '.join(PRECISION_BYTES)}")
        return replace(self, precision=precision, kv_precision=precision)


def load_scenario(catalogs: Catalogs, name: str | None = None, precision: str | None = None) -> Scenario:
    """The scenario ``name`` (default ``published``) from the catalogs, optionally re-precisioned."""
    row = catalogs["scenarios"].row(name or DEFAULT_SCENARIO)
    anchors = None
    if row["sync_chips_a"] is not None:
        anchors = ((row["sync_chips_a"], row["sync_a"]), (row["sync_chips_b"], row["sync_b"]))
    counts = {}
    if row["param_counts"] == "scenario":
        overrides = catalogs["scenario_models"].df.filter(scenario=row["name"])
        counts = {
            r["model"]: (r["active_params"], r["total_params"]) for r in overrides.iter_rows(named=True)
        }
    scenario = Scenario(
        name=row["name"],
        precision=row["precision"],
        kv_precision=row["kv_precision"],
        activation_precision=row["activation_precision"],
        include_embeddings=row["include_embeddings"],
        collective_bandwidth=row["collective_bandwidth"],
        sync_anchors=anchors,
        counts=counts,
    )
    return scenario.with_precision(precision)
