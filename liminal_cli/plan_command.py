"""``python -m tco plan --demand FILE``: which fleet to buy for a demand forecast, month by month.

The flags are built from light modules; the planner (polars, SciPy) is imported when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from liminal_cli.arguments import (
    add_deployment_flags,
    add_site,
    emit,
    input_file,
    number,
    output_file,
    question,
    whole,
)
from perfmodel.inputs import MODES, PRECISIONS
from tco.options import COST_BASES

PLAN_HELP = "fleets to buy for a demand forecast: servers, TCO, MW and CO2e month by month"
PLAN_EXAMPLE = "python -m tco plan --demand examples/demand.csv --max-mw 5 --json"
#: Longest horizon planned [months] (twenty years).
MAX_HORIZON_MONTHS = 240
#: Largest power cap [MW] (a gigawatt campus).
MAX_MW = 10_000.0


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """The ``plan`` command's flags (``--availability`` and ``--uncertainty`` come with the ranking's)."""
    p.add_argument("--demand", type=Path, required=True, help="forecast CSV (see examples/demand.csv)")
    add_site(p)
    p.add_argument(
        "--horizon-months",
        type=whole(MAX_HORIZON_MONTHS, "months"),
        help="months to plan (default: the forecast's; past its end its last month holds)",
    )
    p.add_argument(
        "--max-mw", type=number(0, MAX_MW, "MW", open_low=True), help="cap on provisioned power [MW]"
    )
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
        "--cost-basis", choices=COST_BASES, default="own", help="own (default) or rent the servers"
    )
    add_deployment_flags(p, "chips to plan with (default: all)")
    p.add_argument("--kv-precision", choices=PRECISIONS, help="KV-cache precision (default: the weights')")
    p.add_argument("--out", type=Path, help="also write the monthly plan of every fleet to this CSV file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_plan(args: argparse.Namespace, catalogs) -> int:
    """Plan the forecast with ``catalogs``, print it (and write the monthly CSV)."""
    from perfmodel.outputs import safe_csv, write_output
    from tco.planning.fleet import Headroom, plan_forecast
    from tco.reporting.fleet_text import plan_text

    input_file(args.demand, "--demand")
    if args.out:
        output_file(args.out, inputs=[args.demand, *catalogs.origins.values()])
    result = plan_forecast(
        args.demand,
        question(args, catalogs, model=None, context=None),
        horizon_months=args.horizon_months,
        headroom=Headroom.parse(args.headroom) if args.headroom else None,
        max_mw=args.max_mw,
        draws=args.uncertainty,
    )
    if args.out:
        write_output(args.out, safe_csv(result.monthly))
    emit(result.to_json(), args.json, lambda _: plan_text(result))
    return 0
