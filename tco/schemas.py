"""Schemas of the economics catalogs (chip economics, process nodes, memory, sites, grids).

Canonical units held in the loaded tables: USD, W, m^2, s, gCO2e, J, bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from perfmodel.catalog import Column, Schema
from perfmodel.catalog_set import REFERENCES as PERF_REFERENCES
from perfmodel.schemas import SCHEMAS as PERF_SCHEMAS
from perfmodel.units import Q_
from tco.chip_cost import WAFER_DIAMETER_M, largest_die_m2

#: A die larger than this does not fit once on a wafer (dies per wafer below 1).
_LARGEST_DIE_M2 = largest_die_m2()


def _band(lo: float, hi: float, unit: str, canonical: str) -> tuple[float, float]:
    """A plausibility band given in ``unit``, in the column's ``canonical`` unit."""
    return Q_(lo, unit).to(canonical).magnitude, Q_(hi, unit).to(canonical).magnitude


def _range(
    name: str, unit: str | None, doc: str, strict: bool = True, plausible: tuple[float, float] | None = None
) -> tuple[Column, ...]:
    """A value with optional low/high bounds for the sensitivity analysis."""
    return tuple(
        Column(
            f"{name}{suffix}",
            "float",
            unit,
            required=not suffix,
            strict=strict,
            doc=doc + note,
            plausible=plausible,
        )
        for suffix, note in (("", ""), ("_low", " (low bound)"), ("_high", " (high bound)"))
    )


def _bounds_rules(names: tuple[str, ...]):
    def check(r: dict) -> Iterable[tuple[str, str]]:
        for n in names:
            low, mid, high = r.get(f"{n}_low"), r.get(n), r.get(f"{n}_high")
            if mid is None:
                continue
            if low is not None and low > mid:
                yield f"{n}_low", f"at most {n}"
            if high is not None and high < mid:
                yield f"{n}_high", f"at least {n}"

    return check


def _economics_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from _bounds_rules(("price",))(r)
    if r["price"] is None and (r["price_low"] is not None or r["price_high"] is not None):
        yield "price", "a value when price_low or price_high is given"
    if r["static_power"] is not None and r["tdp"] is not None and r["static_power"] > r["tdp"]:
        yield "static_power", "at most tdp"
    if r["die_area"] is not None and not r["wafer_scale"] and r["die_area"] > _LARGEST_DIE_M2:
        yield (
            "die_area",
            (
                f"at most {Q_(_LARGEST_DIE_M2, 'm^2').to('mm^2').magnitude:,.0f} mm^2, the largest die that "
                f"fits once on a {Q_(WAFER_DIAMETER_M, 'm').to('mm').magnitude:.0f} mm wafer; "
                "set wafer_scale=true for a wafer-scale part"
            ),
        )


HARDWARE_ECONOMICS = Schema(
    "hardware_economics.csv",
    (
        Column("name", "text", doc="a chip of hardware.csv"),
        Column("process_node", "text", doc="a node of process_nodes.csv"),
        Column("dies", "int", minimum=1, strict=False, doc="compute dies per package"),
        Column(
            "die_area",
            "float",
            "m^2",
            doc="area of one compute die (on-die SRAM included)",
            plausible=(1e-6, 0.07),
        ),
        Column("wafer_scale", "bool", doc="a whole wafer with redundancy (yield taken as 1)"),
        Column(
            "packaging_cost",
            "float",
            "USD",
            strict=False,
            doc="packaging, assembly and test",
            plausible=(0.0, 1e6),
        ),
        Column("tdp", "float", "W", doc="thermal design power per chip", plausible=(10.0, 1e5)),
        Column("static_power", "float", "W", strict=False, doc="power at idle"),
        Column(
            "price",
            "float",
            "USD",
            required=False,
            doc="market price; empty: bottom-up estimate",
            plausible=(100.0, 1e7),
        ),
        Column("price_low", "float", "USD", required=False),
        Column("price_high", "float", "USD", required=False),
        Column("price_type", "text", doc="list, street, derived, estimate or bottom-up"),
        Column("price_includes_system", "bool", doc="price covers host, network and scale-up"),
        Column("source", "text"),
    ),
    row_check=_economics_rules,
)

PROCESS_NODES = Schema(
    "process_nodes.csv",
    (
        Column("name", "text"),
        *_range("wafer_cost", "USD", "price of one 300 mm wafer", plausible=(1e3, 1e5)),
        Column(
            "defect_density",
            "float",
            "1/m^2",
            doc="defects per area, Murphy yield model",
            plausible=(10.0, 5000.0),
        ),
        Column(
            "energy_per_flop",
            "float",
            "J/FLOP",
            doc="dense tensor energy at 1-byte operands",
            plausible=(1e-15, 1e-10),
        ),
        Column("embodied_per_area", "float", "gCO2e/m^2", doc="manufacturing emissions per die area"),
        Column("source", "text"),
    ),
    row_check=_bounds_rules(("wafer_cost",)),
)

MEMORY_TECHNOLOGIES = Schema(
    "memory_technologies.csv",
    (
        Column("name", "text"),
        Column("energy", "float", "J/bit", doc="access energy per bit moved", plausible=(1e-14, 1e-10)),
        *_range("cost", "USD/B", "price per capacity", strict=False, plausible=(0.0, 1e-7)),
        Column(
            "embodied",
            "float",
            "gCO2e/B",
            strict=False,
            doc="manufacturing emissions per capacity",
            plausible=(0.0, 1e-6),
        ),
        Column("on_die", "bool", doc="part of the logic die (SRAM): cost and carbon come from die area"),
        Column("stack_bw", "float", "B/s", required=False, doc="bandwidth per stack"),
        Column("stack_capacity", "float", "B", required=False, doc="capacity per stack"),
        Column("density", "float", "B/m^2", required=False, doc="capacity per die area (on-die memory)"),
        Column("source", "text"),
    ),
    row_check=_bounds_rules(("cost",)),
)


def _site_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from _bounds_rules(("pue", "energy_price", "lifetime", "utilization"))(r)
    for c in ("pue", "pue_low", "pue_high"):
        if r[c] is not None and r[c] < 1.0:
            yield c, "a PUE >= 1 (total facility power / IT power)"
    for c in ("utilization", "utilization_low", "utilization_high"):
        if r[c] is not None and r[c] > 1.0:
            yield c, "a fraction in (0, 1]"


def _plain_range(name: str, doc: str, plausible: tuple[float, float]) -> tuple[Column, ...]:
    return _range(name, None, doc, plausible=plausible)


DATACENTER = Schema(
    "datacenter.csv",
    (
        Column("name", "text", doc="site (region) name used by --region"),
        Column("grid_region", "text", doc="a region of grid_carbon.csv"),
        *_plain_range("pue", "power usage effectiveness", (1.0, 3.0)),
        *_range(
            "energy_price", "USD/J", "price of electricity", plausible=_band(0.01, 1.0, "USD/kWh", "USD/J")
        ),
        *_range("lifetime", "s", "amortization period of the hardware", plausible=_band(1, 15, "year", "s")),
        *_plain_range("utilization", "fraction of hours spent serving", (0.05, 1.0)),
        Column(
            "build_cost",
            "float",
            "USD/W",
            doc="data-center construction per W of IT load",
            plausible=(1.0, 50.0),
        ),
        Column("build_lifetime", "float", "s", doc="amortization period of the building"),
        Column(
            "host_overhead",
            "float",
            None,
            strict=False,
            doc="host/network power per W of accelerator",
            plausible=(0.0, 2.0),
        ),
        Column(
            "system_cost_fraction",
            "float",
            None,
            strict=False,
            doc="host+network USD per USD of accelerator",
            plausible=(0.0, 3.0),
        ),
        Column("maintenance", "float", "1/s", strict=False, doc="share of capex per unit time"),
        Column(
            "system_embodied", "float", "gCO2e", strict=False, doc="host share of embodied carbon per chip"
        ),
        Column("source", "text"),
    ),
    row_check=_site_rules,
)

GRID_CARBON = Schema(
    "grid_carbon.csv",
    (
        Column("name", "text"),
        Column("region", "text"),
        Column(
            "intensity",
            "float",
            "gCO2e/J",
            strict=False,
            doc="grid carbon intensity",
            plausible=_band(0, 1500, "gCO2e/kWh", "gCO2e/J"),
        ),
        Column("year", "int", minimum=1990, strict=False),
        Column("basis", "text"),
        Column("source", "text"),
    ),
)

SCHEMAS = PERF_SCHEMAS | {
    s.file.removesuffix(".csv"): s
    for s in (HARDWARE_ECONOMICS, PROCESS_NODES, MEMORY_TECHNOLOGIES, DATACENTER, GRID_CARBON)
}

REFERENCES = PERF_REFERENCES + (
    ("hardware_economics", "name", "hardware"),
    ("hardware", "name", "hardware_economics"),
    ("hardware_economics", "process_node", "process_nodes"),
    ("hardware", "memory_technology", "memory_technologies"),
    ("hardware", "tier2_technology", "memory_technologies"),
    ("datacenter", "grid_region", "grid_carbon"),
)
