"""``python -m tco plan --demand FILE``: which fleet to buy for a demand forecast, month by month.

The parser is built from light modules; the planner (polars, SciPy) is imported when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perfmodel.cli_common import Parser, emit, positive_int
from perfmodel.schemas import PRECISIONS
from perfmodel.serving_profile import MODES


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def add_plan_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``plan`` command to ``python -m tco``."""
    p: Parser = sub.add_parser("plan", help="fleets to buy for a demand forecast: TCO, MW and CO2e by month")
    p.add_argument("--demand", type=Path, required=True, help="forecast CSV (see examples/demand.csv)")
    p.add_argument("--site", help="site from datacenter.csv (default us-average)")
    p.add_argument("--horizon-months", type=positive_int, help="months to plan (default: the forecast's)")
    p.add_argument("--max-mw", type=_positive_float, help="cap on provisioned power [MW]")
    p.add_argument(
        "--headroom",
        help="capacity for failures: n+1 (one spare scale-up domain per workload, the default) "
        "or a fraction, e.g. 0.1",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default="calibrated",
        help="calibrated: a real deployment at each workload's lengths (default); limit: the study's decode limit",
    )
    p.add_argument(
        "--cost-basis", choices=("own", "rent"), default="own", help="own (default) or rent the servers"
    )
    p.add_argument(
        "--availability",
        type=lambda text: tuple(text.split(",")),
        help="plan with chips that are e.g. shipping,announced (default: all; hypothetical ones are marked)",
    )
    p.add_argument(
        "--uncertainty",
        type=positive_int,
        metavar="N",
        help="p10/p90 of each fleet's TCO from N Monte Carlo draws per workload (default: off)",
    )
    p.add_argument("--hardware", nargs="+", help="chips to plan with (default: all)")
    p.add_argument("--power-model", choices=("activity", "tdp"), default="activity")
    p.add_argument("--catalogs", metavar="DIR")
    p.add_argument("--scenario")
    p.add_argument("--precision", choices=PRECISIONS)
    p.add_argument("--kv-precision", choices=PRECISIONS, help="KV-cache precision (default: the weights')")
    p.add_argument("--out", type=Path, help="also write the monthly plan of every fleet to this CSV file")
    p.add_argument("--json", action="store_true")


def run_plan(args: argparse.Namespace) -> int:
    """Plan the forecast, print it (and write the monthly CSV)."""
    from tco.catalogs import load_catalogs
    from tco.export import safe_csv
    from tco.plan import Headroom, plan_forecast
    from tco.plan_report import plan_text

    result = plan_forecast(
        args.demand,
        load_catalogs(args.catalogs),
        horizon_months=args.horizon_months,
        headroom=Headroom.parse(args.headroom) if args.headroom else None,
        max_mw=args.max_mw,
        availability=args.availability,
        draws=args.uncertainty,
        mode=args.mode,
        cost_basis=args.cost_basis,
        region=args.site,
        hardware=args.hardware,
        scenario=args.scenario,
        precision=args.precision,
        kv_precision=args.kv_precision,
        power_model=args.power_model,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(safe_csv(result.monthly))
    emit(result.to_json(), args.json, lambda _: plan_text(result))
    return 0
