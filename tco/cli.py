"""``python -m tco {rank,plan,sensitivity,tradeoff,report,catalog,design,explore}``: the economics from the shell."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import polars as pl

from perfmodel.api import prepare
from perfmodel.catalog import InvalidInput
from perfmodel.cli_common import Parser, emit, non_negative_float, positive_int, run
from perfmodel.cli_serve import add_workload
from perfmodel.schemas import PRECISIONS
from perfmodel.sweeps import bandwidth_sweep, latency_sweep
from tco.catalog_tools import add_chip, check, diff
from tco.catalogs import load_catalogs
from tco.cli_plan import add_plan_parser, run_plan
from tco.economics import COST_BASES
from tco.explore import (
    CONTEXTS,
    EFFICIENCY_OBJECTIVES,
    FLOORS,
    against_best_dram,
    memory_table,
    new_design,
    utps_target,
)
from tco.export import safe_csv
from tco.formatting import rank_table
from tco.rank import OBJECTIVES, check_availability, evaluate, select
from tco.report import report
from tco.sensitivity import sensitivity
from tco.tradeoff import tradeoff
from tco.uncertainty import uncertainty


def _add_question(p: Parser, many: bool = False) -> None:
    """Flags every economics command shares; ``many``: several models and contexts (a report)."""
    nargs = "+" if many else None
    p.add_argument("--model", required=True, nargs=nargs, help="model(s) from models.csv")
    p.add_argument(
        "--context",
        type=positive_int,
        nargs=nargs,
        help="limit mode: tokens per sequence of the decode step (default ISL + OSL); giving it selects --mode limit",
    )
    add_workload(p, mode_default=None)
    p.add_argument("--min-utps", type=non_negative_float, default=0.0, help="UTPS floor [tokens/s per user]")
    p.add_argument("--region", help="site from datacenter.csv (default us-average)")
    p.add_argument("--objective", choices=tuple(OBJECTIVES), default="tokens_per_usd")
    p.add_argument("--hardware", nargs="+", help="designs to compare (default: all)")
    p.add_argument("--power-model", choices=("activity", "tdp"), default="activity")
    p.add_argument("--catalogs", metavar="DIR")
    p.add_argument("--scenario")
    p.add_argument("--precision", choices=PRECISIONS)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--cost-basis", choices=COST_BASES, default="own", help="all-in owner cost or rental prices"
    )


def _add_economics(p: Parser) -> Parser:
    """The ranking's own economics flags: which designs compete, and the uncertainty."""
    p.add_argument(
        "--availability",
        type=_availability,
        help="keep designs that are e.g. shipping,announced (default: all; hypothetical ones are marked)",
    )
    p.add_argument(
        "--uncertainty",
        type=positive_int,
        metavar="N",
        help="N Monte Carlo draws: $/Mtok p10/p50/p90, P(cheapest)",
    )
    return p


def _availability(text: str) -> tuple[str, ...]:
    try:
        return check_availability(text.split(","))
    except InvalidInput as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parser() -> Parser:
    p = Parser(prog="python -m tco", description="Tokens per dollar, per joule and per gram of CO2e.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    _add_question(_add_economics(sub.add_parser("rank", help="rank every design under a UTPS floor")))
    add_plan_parser(sub)
    _add_question(sub.add_parser("sensitivity", help="tornado table over the catalog's low/high values"))
    t = sub.add_parser("tradeoff", help="efficiency gained by running a little slower per user")
    _add_question(t)
    t.add_argument("--slowdown", type=fraction, default=0.10, help="fraction of the fastest UTPS given up")
    r = sub.add_parser("report", help="HTML + Markdown report with charts for one or more models")
    _add_question(r, many=True)
    r.add_argument("--slowdown", type=fraction, default=0.10)
    r.add_argument("--out", type=Path, required=True, help="output folder")
    r.add_argument("--demand", type=Path, help="also plan the fleet for this forecast (see tco plan)")
    c = sub.add_parser("catalog", help="check, diff or extend catalog folders")
    csub = c.add_subparsers(dest="action", required=True, parser_class=Parser)
    ck = csub.add_parser("check", help="validate a catalog folder; every problem at once")
    ck.add_argument("directory", nargs="?", help="catalog folder (default: the packaged catalogs)")
    ck.add_argument("--json", action="store_true")
    df = csub.add_parser("diff", help="what changed between two folders and which rankings move")
    df.add_argument("old")
    df.add_argument("new")
    df.add_argument("--model", nargs="+", help="models whose ranking to compare (default: all)")
    df.add_argument("--json", action="store_true")
    nc = csub.add_parser("new-chip", help="add a design to a catalog folder from a template row")
    nc.add_argument("--name", required=True)
    nc.add_argument(
        "--from", dest="template", default="xpu-hbm3", help="row to start from (default xpu-hbm3)"
    )
    nc.add_argument(
        "--set", nargs="*", default=[], metavar="COLUMN=VALUE", help="e.g. mem_bw=20TB/s mem_capacity=288GiB"
    )
    nc.add_argument("--catalogs", metavar="DIR", required=True, help="folder to write (created if needed)")
    nc.add_argument("--json", action="store_true")
    d = sub.add_parser("design", help="what-if designs built from parts")
    dsub = d.add_subparsers(dest="action", required=True, parser_class=Parser)
    dn = dsub.add_parser("new", help="write a design row with its derived figures into a catalog folder")
    dn.add_argument("--name", required=True)
    dn.add_argument("--from", dest="template", default="xpu-hbm3")
    dn.add_argument(
        "--set",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="memory=HBM4 stacks=12 sync_us=0.5, or any hardware column (mem_bw=20TB/s)",
    )
    dn.add_argument("--catalogs", metavar="DIR", required=True)
    dn.add_argument("--json", action="store_true")
    e = sub.add_parser("explore", help="the study's sensitivity analyses and the UTPS-target question")
    esub = e.add_subparsers(dest="action", required=True, parser_class=Parser)
    for name, what in (
        ("bandwidth", "UTPS against memory bandwidth per chip"),
        ("latency", "UTPS against collective latency"),
    ):
        x = esub.add_parser(name, help=what)
        x.add_argument("--model", nargs="+", default=["llama3-70b", "llama3-405b", "deepseek-v3"])
        x.add_argument("--hardware", default="xpu-hbm3", help="base chip (its other figures are kept)")
        x.add_argument("--tp", type=positive_int, nargs="+", default=[8, 128])
        x.add_argument("--context", type=positive_int, default=131072)
        x.add_argument("--batch", default="1", help="sequences, or 'max'")
        x.add_argument("--scenario", default="liminal-2025")
        _add_output(x)
    esub.choices["latency"].add_argument("--target-utps", type=non_negative_float)
    mt = esub.add_parser("memory-table", help="one model at a fixed chip count on each memory technology")
    mt.add_argument("--model", default="llama3-405b")
    mt.add_argument(
        "--hardware", nargs="+", default=["xpu-hbm3", "xpu-hbm4", "xpu-3d-dram", "xpu-sram", "xpu-cows"]
    )
    mt.add_argument("--chips", type=positive_int, default=128)
    mt.add_argument("--context", type=positive_int, default=131072)
    mt.add_argument("--scenario", default="liminal-2025")
    _add_output(mt)
    tg = esub.add_parser("target", help="which designs reach a UTPS target, for which models, at what cost")
    tg.add_argument("--utps", type=non_negative_float, default=10000.0)
    tg.add_argument("--model", nargs="+")
    tg.add_argument("--context", type=positive_int, nargs="+", default=list(CONTEXTS))
    tg.add_argument("--region")
    tg.add_argument("--scenario")
    _add_output(tg)
    vs = esub.add_parser(
        "against-dram", help="what-if designs against the best DRAM design: tokens per $, per J, gCO2e"
    )
    vs.add_argument("--hardware", nargs="+", help="designs to compare (default: vendor 'What-if design')")
    vs.add_argument("--model", nargs="+")
    vs.add_argument("--context", type=positive_int, nargs="+", default=list(CONTEXTS))
    vs.add_argument("--min-utps", type=non_negative_float, nargs="+", default=list(FLOORS))
    vs.add_argument(
        "--objective",
        nargs="+",
        choices=list(OBJECTIVES),
        default=list(EFFICIENCY_OBJECTIVES),
    )
    vs.add_argument("--region")
    vs.add_argument("--scenario")
    _add_output(vs)
    return p


def _add_output(p: Parser) -> None:
    p.add_argument("--catalogs", metavar="DIR")
    p.add_argument("--out", type=Path, help="also write the table to this CSV file")
    p.add_argument("--json", action="store_true")


def fraction(text: str) -> float:
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _evaluate(args):
    catalogs = load_catalogs(args.catalogs)
    return evaluate(
        args.model,
        args.context,
        mode=args.mode,
        isl=args.isl,
        osl=args.osl,
        region=args.region,
        hardware=args.hardware,
        catalogs=catalogs,
        scenario=args.scenario,
        precision=args.precision,
        kv_precision=args.kv_precision,
        power_model=args.power_model,
        cost_basis=args.cost_basis,
    )


def _header(ev, args) -> str:
    return (
        f"{ev.model}, {ev.workload}, UTPS floor {args.min_utps:g} tokens/s; "
        f"site {ev.site.name}; cost basis {ev.cost_basis}; scenario {ev.scenario} ({ev.precision}); "
        f"power model {ev.power_model}; "
        f"catalogs {ev.catalogs.digest()}"
    )


def _catalog(args) -> int:
    if args.action == "check":
        problems = check(args.directory)
        errors = [p for p in problems if p.severity == "error"]
        payload = [p.__dict__ for p in problems]
        where = args.directory or "the packaged catalogs"
        emit(
            payload,
            args.json,
            lambda _: "\n".join(
                [f"{p.severity}: {p}" for p in problems]
                + [f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) in {where}"]
            ),
        )
        return 1 if errors else 0
    if args.action == "diff":
        d = diff(args.old, args.new, args.model)
        emit(d, args.json, _render_diff)
        return 0
    result = add_chip(args.catalogs, args.name, args.template, args.set)
    emit(result, args.json, lambda r: f"added {r['name']} to " + " and ".join(r["written"]))
    return 0


def _render_diff(d: dict) -> str:
    lines = [f"added: {a}" for a in d["added"]] + [f"removed: {r}" for r in d["removed"]]
    lines += [
        f"changed: {c['file']}: {c['key']}: {c['column']}: {c['old']} -> {c['new']}" for c in d["changed"]
    ]
    sla = d["sla"]
    lines.append(
        f"top design at {sla['context']:,} tokens of context and >= {sla['min_utps']:g} tokens/s per user:"
    )
    for r in d["rankings"]:
        mark = "MOVED" if r["moved"] else "same "
        lines.append(f"  {mark} {r['model']}: {r['before'][0]} -> {r['after'][0]}")
    return "\n".join(lines or ["no differences"])


def _explore(args) -> int:
    cats = load_catalogs(args.catalogs)
    if args.action in ("bandwidth", "latency"):
        batch = "max" if args.batch == "max" else positive_int(args.batch)
        common = dict(
            base=args.hardware,
            tps=args.tp,
            context=args.context,
            batch=batch,
            setup=prepare(cats, args.scenario, models=args.model, hardware=[args.hardware]),
        )
        if args.action == "bandwidth":
            table = bandwidth_sweep(args.model, **common)
        else:
            table = latency_sweep(args.model, target_utps=args.target_utps, **common)
    elif args.action == "memory-table":
        table = memory_table(args.model, args.hardware, args.chips, args.context, args.scenario, cats)
    elif args.action == "target":
        table = utps_target(
            args.utps, args.model, args.context, cats, region=args.region, scenario=args.scenario
        )
    else:
        table = against_best_dram(
            args.hardware,
            args.model,
            args.context,
            args.min_utps,
            args.objective,
            cats,
            region=args.region,
            scenario=args.scenario,
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(safe_csv(table))
    with pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True, fmt_str_lengths=80
    ):
        emit(table.to_dicts(), args.json, lambda _: str(table))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "plan":
        return run_plan(args)
    if args.command == "catalog":
        return _catalog(args)
    if args.command == "explore":
        return _explore(args)
    if args.command == "design":
        result = new_design(args.catalogs, args.name, args.template, args.set)
        emit(
            result,
            args.json,
            lambda r: "\n".join(
                [f"added {r['name']} to " + " and ".join(r["written"])]
                + [f"  {line}" for line in r["derivation"]]
            ),
        )
        return 0
    if args.command == "report":
        from tco.plan import plan_forecast

        catalogs = load_catalogs(args.catalogs)
        paths = report(
            args.model,
            args.out,
            args.context or (None,),
            args.min_utps,
            args.region,
            args.objective,
            args.slowdown,
            catalogs,
            args.scenario,
            args.precision,
            mode=args.mode,
            isl=args.isl,
            osl=args.osl,
            command=shlex.join(["python", "-m", "tco", *(argv or sys.argv[1:])]),
            progress=True,
            cost_basis=args.cost_basis,
            plan=plan_forecast(
                args.demand,
                catalogs,
                mode=args.mode,
                region=args.region,
                scenario=args.scenario,
                precision=args.precision,
            )
            if args.demand
            else None,
        )
        emit(
            {k: str(v) for k, v in paths.items()},
            args.json,
            lambda d: f"wrote {d['html']} and {d['markdown']}",
        )
        return 0
    ev = _evaluate(args)
    if args.command == "rank":
        ranked = select(ev, args.min_utps, args.objective, args.availability)
        if args.uncertainty:
            spread = uncertainty(ev, args.uncertainty, args.min_utps, availability=args.availability)
            ranked = ranked.join(spread, on="hardware", how="left")
        emit(
            ranked.to_dicts(),
            args.json,
            lambda _: _header(ev, args) + "\n" + rank_table(ranked, args.objective),
        )
    elif args.command == "sensitivity":
        table = sensitivity(ev, args.min_utps, args.objective)
        emit(table.to_dicts(), args.json, lambda _: _header(ev, args) + "\n" + str(table))
    elif args.command == "tradeoff":
        if not args.hardware or len(args.hardware) != 1:
            raise InvalidInput("tradeoff needs exactly one design: --hardware NAME")
        result = tradeoff(ev, args.hardware[0], args.slowdown, args.objective)
        emit(result, args.json, lambda r: _header(ev, args) + "\n" + r["sentence"])
    return 0


def entry() -> None:
    sys.exit(run(main))
