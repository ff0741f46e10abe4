"""Validation against the Liminal study's published tables (copied to ``perfmodel/calibration/reference``).

- ``liminal_capacity.csv``: memory per model instance (IET REACH 2025 keynote, "Memory Capacity").
- ``liminal_system_scale.csv``: UTPS and STPS of xpu-hbm3 at TP8 and TP128, 128K context
  ("What can System Scale get you?").

Tolerances (issue 3): capacity within 3 % or 1 GiB, because the source prints whole GiB; UTPS
of dense models and every STPS within 10 %, because the source prints two or three significant
figures ("2.1K") and does not publish its FLOP or collective accounting. UTPS of MoE models is
reported but not gated: the study's expert-parallel overheads are not described.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from perfmodel.api.decoding import capacity, decode
from perfmodel.api.setup import prepare
from perfmodel.catalog.folder import Catalogs, load_catalogs

REFERENCE_DIR = Path(__file__).parent / "reference"
SCENARIO = "liminal-2025"
CAPACITY_RTOL = 0.03
CAPACITY_ATOL_GIB = 1.0
THROUGHPUT_RTOL = 0.10
SYSTEM_SCALE_HARDWARE = "xpu-hbm3"
SYSTEM_SCALE_CONTEXT = 131072


def _rows(name: str) -> list[dict[str, str]]:
    lines = (REFERENCE_DIR / name).read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


def _tokens(text: str) -> int:
    return int(text[:-1]) * 1024 if text.endswith("K") else int(text)


def reference_cases(catalogs: Catalogs | None = None) -> pl.DataFrame:
    """Every reference figure with the model's value, the relative error and whether it passes."""
    catalogs = catalogs or load_catalogs()
    setup = prepare(catalogs, SCENARIO)
    moe = {n for n, e in zip(setup.models.names, setup.models.experts, strict=True) if e > 0}
    out = []
    for row in _rows("liminal_capacity.csv"):
        model = row.pop("model")
        for header, value in row.items():
            t, b = re.match(r"T=(\w+)_B=(\d+)", header).groups()
            got = capacity(model, _tokens(t), int(b), setup=setup).total.to("GiB").m
            ref = float(value)
            tol = max(CAPACITY_RTOL, CAPACITY_ATOL_GIB / ref)
            out.append(("capacity", model, f"T={t} B={b}", "memory_gib", ref, got, tol, True))
    for row in _rows("liminal_system_scale.csv"):
        model = row.pop("model")
        for tp in (8, 128):
            one = decode(
                model, SYSTEM_SCALE_HARDWARE, tp=tp, batch=1, context=SYSTEM_SCALE_CONTEXT, setup=setup
            )
            full = decode(
                model, SYSTEM_SCALE_HARDWARE, tp=tp, batch="max", context=SYSTEM_SCALE_CONTEXT, setup=setup
            )
            case = f"TP{tp} T=128K"
            out.append(
                (
                    "system_scale",
                    model,
                    case + " B=1",
                    "utps",
                    float(row[f"utps_tp{tp}"]),
                    one.utps.m,
                    THROUGHPUT_RTOL,
                    model not in moe,
                )
            )
            out.append(
                (
                    "system_scale",
                    model,
                    case + f" B=max({full.batch})",
                    "stps",
                    float(row[f"stps_tp{tp}"]),
                    full.stps.m,
                    THROUGHPUT_RTOL,
                    True,
                )
            )
            out.append(
                (
                    "system_scale",
                    model,
                    case + f" B=max({full.batch})",
                    "utps",
                    float(row[f"utps_at_stps_tp{tp}"]),
                    full.utps.m,
                    THROUGHPUT_RTOL,
                    model not in moe,
                )
            )
    df = pl.DataFrame(
        out,
        schema=["table", "model", "case", "quantity", "reference", "modelled", "tolerance", "gated"],
        orient="row",
    )
    err = (pl.col("modelled") - pl.col("reference")) / pl.col("reference")
    return df.with_columns(error=err).with_columns(passes=pl.col("error").abs() <= pl.col("tolerance"))
