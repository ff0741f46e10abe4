"""Schemas of the economics catalogs (chip economics, process nodes, memory, sites, grids).

Canonical units held in the loaded tables: USD, W, m^2, s, gCO2e, J, bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from perfmodel.catalog.folder import REFERENCES as PERF_REFERENCES
from perfmodel.catalog.schemas import SCHEMAS as PERF_SCHEMAS
from perfmodel.catalog.serving_schemas import (
    MAX_MEASURED_CONCURRENCY,
    OUTPUT_TPS,
    SOURCE_COLUMNS,
    WORKLOAD_COLUMNS,
    heldout_columns,
    resembles_rules,
    source_rules,
)
from perfmodel.catalog.table import Column, Schema
from perfmodel.catalog.wafer import WAFER_DIAMETER_M, largest_die_m2
from perfmodel.units import Q_

#: A die larger than this does not fit once on a wafer (dies per wafer below 1).
_LARGEST_DIE_M2 = largest_die_m2()
#: Canonical magnitudes of the units plausibility bands are written in (the registry converts).
_PER_KWH = Q_(1, "1/kWh").to("1/J").magnitude
_YEAR_S = Q_(1, "year").to("s").magnitude
_PER_YEAR = Q_(1, "1/year").to("1/s").magnitude
_PER_HOUR = Q_(1, "1/hour").to("1/s").magnitude
_PER_KW_MONTH = Q_(1, "1/kW/month").to("1/W/s").magnitude
#: What a catalog price is: a market (list or street) price, or a priceless row's estimate.
PRICE_TYPES = ("market", "vendor-derived estimate", "bottom-up")


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
    if (r["price"] is not None) != (r["price_type"] == "market"):
        yield "price_type", "market exactly when a price is given (an empty price is an estimate)"
    if r["price"] is not None and r["price_date"] is None:
        yield "price_date", "the date of the market price (YYYY-MM)"
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
        Column("price_type", "text", choices=PRICE_TYPES, doc="market when priced, else how it is estimated"),
        Column("price_date", "text", required=False, doc="when the market price was published (YYYY-MM)"),
        Column("price_includes_system", "bool", doc="price covers host, chassis and scale-up (a rack price)"),
        Column(
            "rent_only",
            "bool",
            doc="no one sells the chip (TPUs, Trainium): it is priced by its rental offers whatever the cost basis",
        ),
        Column("system", "text", doc="a row of systems.csv: the rest of the server or rack"),
        Column("network", "text", doc="a row of networks.csv: the scale-out network per chip"),
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


#: Site inputs with a low/high range (sensitivity and uncertainty draw from them).
SITE_RANGES = ("pue", "energy_price", "lifetime", "utilization", "cost_of_capital", "colocation_price")


def _site_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from _bounds_rules(SITE_RANGES)(r)
    for c in ("pue", "pue_low", "pue_high"):
        if r[c] is not None and r[c] < 1.0:
            yield c, "a PUE >= 1 (total facility power / IT power)"
    for c in ("utilization", "utilization_low", "utilization_high"):
        if r[c] is not None and r[c] > 1.0:
            yield c, "a fraction in (0, 1]"


def _plain_range(name: str, doc: str, plausible: tuple[float, float]) -> tuple[Column, ...]:
    return _range(name, None, doc, plausible=plausible)


#: How a site pays for its building.
FACILITIES = ("colocation", "build")

DATACENTER = Schema(
    "datacenter.csv",
    (
        Column("name", "text", doc="site (region) name used by --region"),
        Column("grid_region", "text", doc="a region of grid_carbon.csv"),
        *_plain_range("pue", "power usage effectiveness", (1.0, 3.0)),
        *_range("energy_price", "USD/J", "price of electricity", plausible=(0.01 * _PER_KWH, 1.0 * _PER_KWH)),
        *_range("lifetime", "s", "amortization period of the hardware", plausible=(_YEAR_S, 15 * _YEAR_S)),
        *_plain_range("utilization", "fraction of hours spent serving", (0.05, 1.0)),
        *_range(
            "cost_of_capital",
            "1/s",
            "annual rate capital is annualized at",
            strict=False,
            plausible=(0.0, 0.5 * _PER_YEAR),
        ),
        Column(
            "facility", "text", choices=FACILITIES, doc="colocation (rent per kW) or build (own building)"
        ),
        *_range(
            "colocation_price",
            "USD/W/s",
            "colocation rent per provisioned IT power",
            strict=False,
            plausible=(20 * _PER_KW_MONTH, 1000 * _PER_KW_MONTH),
        ),
        Column(
            "build_cost",
            "float",
            "USD/W",
            doc="data-center construction per W of IT load",
            plausible=(1.0, 50.0),
        ),
        Column("build_lifetime", "float", "s", doc="amortization period of the building"),
        Column("maintenance", "float", "1/s", strict=False, doc="share of hardware capital per unit time"),
        Column(
            "operations",
            "float",
            "USD/s",
            strict=False,
            doc="staff, software and support per accelerator-time",
            plausible=(0.0, 5.0 * _PER_HOUR),
        ),
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
            plausible=(0.0, 1500 * _PER_KWH),
        ),
        Column("year", "int", minimum=1990, strict=False),
        Column("basis", "text"),
        Column("source", "text"),
    ),
)


def _usd(name: str, doc: str) -> Column:
    return Column(name, "float", "USD", strict=False, doc=doc, plausible=(0.0, 1e6))


SYSTEMS = Schema(
    "systems.csv",
    (
        Column("name", "text", doc="system (server or rack) type named by hardware_economics.csv"),
        Column("chips", "int", minimum=1, strict=False, doc="accelerators per system"),
        _usd("host_cpu", "host CPUs per system"),
        _usd("host_memory", "host DRAM per system"),
        _usd("storage", "local storage per system"),
        _usd("chassis", "chassis, baseboard, power supplies and cooling per system"),
        _usd("scaleup_switch", "scale-up switches per system (zero for a switchless mesh)"),
        Column(
            "host_power",
            "float",
            "W",
            strict=False,
            doc="provisioned power beyond the chips' TDP",
            plausible=(0.0, 1e5),
        ),
        Column("source", "text"),
    ),
)

NETWORKS = Schema(
    "networks.csv",
    (
        Column("name", "text", doc="scale-out network named by hardware_economics.csv"),
        _usd("nic", "NIC per chip"),
        _usd("switch", "switch ports per chip"),
        _usd("optics", "transceivers and cables per chip"),
        Column(
            "power", "float", "W", strict=False, doc="switch and optics power per chip", plausible=(0.0, 1e3)
        ),
        Column("source", "text"),
    ),
)

RENTALS = Schema(
    "rentals.csv",
    (
        Column("name", "text", doc="an identifier of the offer"),
        Column("hardware", "text", doc="a chip of hardware.csv"),
        Column("provider", "text"),
        Column("term", "text", choices=("on-demand", "reserved"), doc="on-demand or a 1-3 year contract"),
        Column(
            "price",
            "float",
            "USD/s",
            doc="rental price per accelerator-time",
            plausible=(0.1 * _PER_HOUR, 100.0 * _PER_HOUR),
        ),
        Column("date", "text", doc="when the price was published or collected (YYYY-MM)"),
        Column("source", "text"),
    ),
)

#: Fitted figures of the power model under load (tco.economics.power_calibration, docs/model.md section 8).
POWER_FIELDS = ("serving_floor", "dynamic_scale")
#: Plausible dynamic scale: the fitted chips take 0.62 and 0.90 of the catalog's physical energy
#: per FLOP and per bit (docs/model.md section 8). A factor of 4 either way keeps a wide margin
#: around them and refuses the common slips of power data, each 8x or more: a node's throughput or
#: power taken for one of its 8 GPUs, W for kW.
DYNAMIC_SCALE_BAND = (0.25, 4.0)


def _power_rules(r: dict) -> Iterable[tuple[str, str]]:
    yield from resembles_rules(r, POWER_FIELDS)
    if r["serving_floor"] is not None and r["serving_floor"] > 1:
        yield "serving_floor", "at most 1 (a fraction of the TDP)"


POWER_CALIBRATION = Schema(
    "power_calibration.csv",
    (
        Column("hardware", "text", doc="chip from hardware.csv"),
        Column("resembles", "text", required=False, doc="measured chip whose figures this chip takes"),
        Column(
            "serving_floor",
            "float",
            None,
            required=False,
            doc="power of a chip that is serving but barely busy, as a fraction of its TDP",
            plausible=(0.1, 1.0),
        ),
        Column(
            "dynamic_scale",
            "float",
            None,
            required=False,
            doc="multiplier on the physical energy of the FLOPs and memory traffic done",
            plausible=DYNAMIC_SCALE_BAND,
        ),
        *heldout_columns("model"),
        Column("fit", "text", doc="how the figures were obtained"),
        Column("source", "text"),
    ),
    key=("hardware",),
    row_check=_power_rules,
)

POWER_MEASUREMENTS = Schema(
    "power_measurements.csv",
    (
        *SOURCE_COLUMNS,
        Column("hardware", "text", doc="chip from hardware.csv"),
        Column("chips", "int", doc="chips of one model instance"),
        Column("tp", "int"),
        *WORKLOAD_COLUMNS,
        Column(
            "concurrency",
            "float",
            None,
            doc="mean requests in one step (the measured batch)",
            plausible=(1.0, MAX_MEASURED_CONCURRENCY),
        ),
        OUTPUT_TPS,
        Column(
            "power_per_chip",
            "float",
            "W",
            doc="measured mean accelerator power per chip (the fit also holds it to the chip's TDP)",
            plausible=(10.0, 1e5),
        ),
        Column(
            "joules_per_output_token", "float", "J/token", doc="measured accelerator energy per output token"
        ),
        Column("notes", "text", required=False),
    ),
    key=("source_id", "model", "precision", "hardware", "tp", "concurrency", "osl"),
    row_check=source_rules,
)

#: Catalogs the economics adds to the performance catalogs.
ECONOMICS_SCHEMAS = {
    s.file.removesuffix(".csv"): s
    for s in (
        HARDWARE_ECONOMICS,
        PROCESS_NODES,
        MEMORY_TECHNOLOGIES,
        DATACENTER,
        GRID_CARBON,
        SYSTEMS,
        NETWORKS,
        RENTALS,
        POWER_CALIBRATION,
        POWER_MEASUREMENTS,
    )
}
SCHEMAS = PERF_SCHEMAS | ECONOMICS_SCHEMAS

REFERENCES = PERF_REFERENCES + (
    ("hardware_economics", "name", "hardware"),
    ("hardware", "name", "hardware_economics"),
    ("hardware_economics", "process_node", "process_nodes"),
    ("hardware", "memory_technology", "memory_technologies"),
    ("hardware", "tier2_technology", "memory_technologies"),
    ("datacenter", "grid_region", "grid_carbon"),
    ("hardware_economics", "system", "systems"),
    ("hardware_economics", "network", "networks"),
    ("rentals", "hardware", "hardware"),
)
