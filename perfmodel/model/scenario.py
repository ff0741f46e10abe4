"""Scenarios: named sets of assumptions (precision, parameter counts, collective latencies).

``liminal-2025`` reproduces the Liminal study (arXiv 2507.14397); ``published`` uses the
published architectures and each chip's own figures. Both are rows of ``scenarios.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.schemas import PRECISION_BYTES
from perfmodel.inputs import InvalidInput

DEFAULT_SCENARIO = "published"


@dataclass(frozen=True)
class Scenario:
    """Assumptions of one evaluation. ``sync_anchors``: ((chips, s), (chips, s)) or None.
    ``uneven_heads``: the limit mode accepts any TP, the busiest chip's share of the heads setting
    the step time (:func:`perfmodel.model.decode_step.head_imbalance`)."""

    name: str
    precision: str
    kv_precision: str
    activation_precision: str
    include_embeddings: bool
    sliding_window: bool
    collective_bandwidth: bool
    sync_anchors: tuple[tuple[float, float], tuple[float, float]] | None
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)
    uneven_heads: bool = False

    @property
    def weight_bytes(self) -> float:
        return PRECISION_BYTES[self.precision]

    @property
    def kv_bytes(self) -> float:
        return PRECISION_BYTES[self.kv_precision]

    @property
    def activation_bytes(self) -> float:
        return PRECISION_BYTES[self.activation_precision]

    def with_precision(self, precision: str | None, kv_precision: str | None = None) -> Scenario:
        """The same scenario with weights at ``precision`` and the KV cache at ``kv_precision``.

        None keeps the scenario's. A new weight precision without a KV precision takes the KV
        cache along, except FP4 weights, which keep an FP8 KV cache (what FP4 deployments such
        as NVFP4 checkpoints on TensorRT-LLM and vLLM use).
        """
        for p in (precision, kv_precision):
            if p is not None and p not in PRECISION_BYTES:
                raise InvalidInput(f"unknown precision {p!r}; valid: {', '.join(PRECISION_BYTES)}")
        if precision is None and kv_precision is None:
            return self
        weights = precision or self.precision
        kv = kv_precision or ("fp8" if precision == "fp4" else precision) or self.kv_precision
        return replace(self, precision=weights, kv_precision=kv)


def load_scenario(
    catalogs: Catalogs, name: str | None = None, precision: str | None = None, kv_precision: str | None = None
) -> Scenario:
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
        sliding_window=row["sliding_window"],
        collective_bandwidth=row["collective_bandwidth"],
        sync_anchors=anchors,
        counts=counts,
        uneven_heads=bool(row["uneven_heads"]),
    )
    return scenario.with_precision(precision, kv_precision)
