"""What-if designs from parts: a template chip with parts changed.

A design is a template chip with parts changed: ``memory`` (a technology of
memory_technologies.csv) x ``stacks`` gives bandwidth and capacity (per-stack figures of that
technology), ``sync_us`` the collective latency, and any hardware column may be set directly.
Price (bottom-up), power and embodied carbon then follow from the catalogs as for any chip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import Catalogs
from perfmodel.inputs import InvalidInput
from perfmodel.units import Q_
from tco.designs.catalog_upkeep import add_chip, chip_rows, resembling

DESIGN_KEYS = ("memory", "stacks", "sync_us")


#: Most memory stacks one package carries in a design (today's largest carry 8 to 12).
MAX_STACKS = 64


def design_settings(catalogs: Catalogs, settings: Sequence[str]) -> tuple[list[str], list[str]]:
    """Translate design keys (memory, stacks, sync_us) into hardware columns.

    Returns (column settings for :func:`tco.designs.catalog_upkeep.add_chip`, derivation lines).
    """
    pairs = dict(s.split("=", 1) for s in settings if "=" in s)
    bad = [s for s in settings if "=" not in s]
    if bad:
        raise InvalidInput(f"--set expects key=value, got {bad[0]!r}")
    columns = {k: v for k, v in pairs.items() if k not in DESIGN_KEYS}
    derivation = []
    if "memory" in pairs or "stacks" in pairs:
        if not ("memory" in pairs and "stacks" in pairs):
            raise InvalidInput("memory and stacks go together: --set memory=HBM4 --set stacks=8")
        tech = catalogs["memory_technologies"].row(pairs["memory"])
        try:
            stacks = int(pairs["stacks"])
        except ValueError:
            raise InvalidInput(f"stacks must be a whole number, got {pairs['stacks']!r}") from None
        if not 1 <= stacks <= MAX_STACKS:
            raise InvalidInput(f"stacks must be a whole number from 1 to {MAX_STACKS}, got {stacks}")
        if tech["stack_bw"] is None or tech["stack_capacity"] is None:
            raise InvalidInput(
                f"{tech['name']} has no per-stack bandwidth and capacity in memory_technologies.csv"
            )
        stack_bw = Q_(tech["stack_bw"], "B/s").to("TB/s").magnitude
        stack_cap = Q_(tech["stack_capacity"], "B").to("GiB").magnitude
        bw, cap = stacks * stack_bw, stacks * stack_cap
        columns |= {
            "memory_technology": tech["name"],
            "mem_bw": f"{bw:.10g} TB/s",
            "mem_capacity": f"{cap:.10g} GiB",
        }
        derivation.append(
            f"mem_bw = {stacks} x {stack_bw:g} TB/s = {bw:g} TB/s; "
            f"mem_capacity = {stacks} x {stack_cap:g} GiB = {cap:g} GiB ({tech['name']})"
        )
    if "sync_us" in pairs:
        columns["sync_latency"] = f"{pairs['sync_us']} us"
        derivation.append(f"sync_latency = {pairs['sync_us']} us")
    return [f"{k}={v}" for k, v in columns.items()], derivation


def _design_columns(
    catalogs: Catalogs, template: str, settings: Sequence[str]
) -> tuple[list[str], list[str]]:
    columns, derivation = design_settings(catalogs, settings)
    text = "; ".join(derivation) or "no derived figures"
    columns.append(f"source=user design from {template}: {text}; price from the bottom-up estimate")
    return columns, derivation


def new_design(directory: Path | str, name: str, template: str, settings: Sequence[str]) -> dict:
    """Write design ``name`` into the catalog folder ``directory``; returns rows and derivation."""
    folder = Path(directory)
    columns, derivation = _design_columns(
        load_catalogs(folder if folder.is_dir() else None), template, settings
    )
    return add_chip(folder, name, template, columns) | {"derivation": derivation}


def design_overrides(
    catalogs: Catalogs, name: str, template: str, settings: Sequence[str]
) -> tuple[dict[str, bytes], list[str]]:
    """Catalog overrides (CSV bytes) that add design ``name`` to ``catalogs``, and its derivation.

    In the calibrated mode the design serves with the achieved efficiencies, and draws the power,
    of the measured chip its template resembles (``resembles`` rows in efficiencies.csv and
    power_calibration.csv, never a silent 1.0).
    """
    columns, derivation = _design_columns(catalogs, template, settings)
    raw = {cat: catalogs[cat].raw for cat in ("hardware", "hardware_economics")}
    return chip_rows(raw, name, template, columns) | resembling(catalogs, name, template), derivation
