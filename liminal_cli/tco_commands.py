"""``python -m tco {rank,plan,sensitivity,tradeoff,report,catalog,design,explore}``: the economics from the shell."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from liminal_cli.arguments import (
    CHIPS,
    CONTEXT,
    FLOOR,
    FRACTION,
    GLOSSARY,
    MTP_CHOICES,
    TARGET,
    Parser,
    Unique,
    add_catalogs,
    add_deployment_flags,
    add_site,
    batch_spec,
    emit,
    names_in,
    output_dir,
    output_file,
    question,
    run,
    warn,
    whole,
)
from liminal_cli.plan_command import PLAN_EXAMPLE, PLAN_HELP, add_plan_arguments, run_plan
from liminal_cli.serve_commands import add_workload, summary_line
from perfmodel.inputs import InvalidInput
from tco.options import CONTEXTS, COST_BASES, EFFICIENCY_OBJECTIVES, FLOORS, OBJECTIVES

_EXAMPLES = {
    "rank": "python -m tco rank --model llama3-70b --context 4096 --min-utps 2000",
    "sensitivity": "python -m tco sensitivity --model llama3-70b --min-utps 30",
    "tradeoff": "python -m tco tradeoff --model llama3-70b --hardware xpu-hbm3 --slowdown 0.10",
    "report": "python -m tco report --model llama3-70b --context 4096 --min-utps 30 --out out/report",
    "list": "python -m tco list hardware",
    "catalog": "python -m tco catalog check my-catalogs/",
    "design": "python -m tco design new --name my-chip --from xpu-hbm3 --set memory=HBM4 stacks=12 "
    "--catalogs my-catalogs/",
    "explore": "python -m tco explore bandwidth --model llama3-70b --tp 8 128",
}
LISTS = ("models", "hardware", "sites", "scenarios")


def _sub(sub, name: str, help: str, example: str | None = None) -> Parser:
    return sub.add_parser(
        name,
        help=help,
        description=f"{help[0].upper()}{help[1:]}. {GLOSSARY}",
        epilog=f"example:\n  {example or _EXAMPLES[name]}",
    )


def _add_question(p: Parser, many: bool = False, floor: bool = True) -> None:
    """Flags every economics command shares; ``many``: several models and contexts (a report);
    ``floor``: the command ranks under a UTPS floor (a trade-off starts from the fastest point)."""
    nargs = "+" if many else None
    action = Unique if many else "store"
    p.add_argument("--model", required=True, nargs=nargs, action=action, help="model(s) from models.csv")
    p.add_argument(
        "--context",
        type=CONTEXT,
        nargs=nargs,
        action=action,
        help="limit mode: tokens per sequence of the decode step (default ISL + OSL); giving it selects --mode limit",
    )
    add_workload(p, mode_default=None)
    if floor:
        p.add_argument("--min-utps", type=FLOOR, default=0.0, help="UTPS floor [tokens/s per user]")
    add_site(p)
    p.add_argument("--objective", choices=tuple(OBJECTIVES), default="tokens_per_usd", help="what to rank by")
    add_deployment_flags(p, "designs to compare (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--cost-basis", choices=COST_BASES, default="own", help="all-in owner cost or rental prices"
    )


def _plans(text: str) -> tuple[str, ...]:
    """``aggregated``, ``disaggregated``, both comma-separated, or ``all``."""
    from perfmodel.api.plan_search import PLANS

    names = PLANS if text.strip() == "all" else tuple(dict.fromkeys(t.strip() for t in text.split(",")))
    bad = [n for n in names if n not in PLANS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"plans are {', '.join(PLANS)} (comma-separated) or all, got {text!r}"
        )
    return names


def _add_plan_search(p: Parser) -> None:
    """--plans and --mtp: the serving plans the ranking searches (docs/model.md section 9.6)."""
    p.add_argument(
        "--plans",
        type=_plans,
        default=("aggregated",),
        help="serving plans searched per design: aggregated, disaggregated, or all (default aggregated); "
        "the ranking names each design's plan",
    )
    p.add_argument(
        "--mtp",
        choices=tuple(MTP_CHOICES),
        default="off",
        help="search without (off), with (on) or both ways the model's multi-token prediction "
        "(speculative_decoding.csv; default off)",
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
        type=DRAWS,
        metavar="N",
        help="N Monte Carlo draws: $/Mtok p10/p50/p90, P(cheapest)",
    )
    return p


#: Monte Carlo draws of ``--uncertainty``.
DRAWS = whole(1_000_000, "draws")


def _availability(text: str) -> tuple[str, ...]:
    from tco.questions.ranking import check_availability

    try:
        return check_availability(text.split(","))
    except InvalidInput as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parser() -> Parser:
    p = Parser(
        prog="python -m tco",
        description=f"Tokens per dollar, per joule and per gram of CO2e. {GLOSSARY}",
        epilog="examples:\n  " + "\n  ".join(_EXAMPLES.values()),
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    r = _add_economics(_sub(sub, "rank", "rank every design under a UTPS floor"))
    _add_question(r)
    _add_plan_search(r)
    add_plan_arguments(_add_economics(_sub(sub, "plan", PLAN_HELP, PLAN_EXAMPLE)))
    _add_question(_sub(sub, "sensitivity", "tornado table over the catalog's low/high values"))
    t = _sub(sub, "tradeoff", "efficiency gained by running a little slower per user")
    _add_question(t, floor=False)
    t.add_argument("--slowdown", type=FRACTION, default=0.10, help="fraction of the fastest UTPS given up")
    r = _sub(sub, "report", "HTML + Markdown report with charts for one or more models")
    _add_question(r, many=True)
    _add_plan_search(r)
    r.add_argument("--slowdown", type=FRACTION, default=0.10, help="fraction of the fastest UTPS given up")
    r.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    r.add_argument("--demand", type=Path, help="also plan the fleet for this demand forecast (see plan)")
    pf = _sub(
        sub,
        "power-fit",
        "fit power_calibration.csv to power_measurements.csv (leave-one-model-out error too)",
        "python -m tco power-fit --out out/power_calibration.csv",
    )
    pf.add_argument("--out", type=Path, required=True, help="power calibration CSV to write")
    add_catalogs(pf)
    pf.add_argument("--json", action="store_true", help="print JSON instead of lines")
    ls = _sub(sub, "list", "list the names of the catalogs' models, hardware, sites or scenarios")
    ls.add_argument("what", choices=LISTS, help="which names to list")
    add_catalogs(ls)
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c = _sub(sub, "catalog", "check, diff or extend catalog folders")
    csub = c.add_subparsers(dest="action", required=True, parser_class=Parser)
    ck = _sub(csub, "check", "validate a catalog folder; every problem at once", _EXAMPLES["catalog"])
    ck.add_argument("directory", nargs="?", help="catalog folder (default: the packaged catalogs)")
    ck.add_argument("--json", action="store_true", help="print JSON instead of lines")
    df = _sub(
        csub,
        "diff",
        "what changed between two folders and which rankings move",
        "python -m tco catalog diff catalogs/ my-catalogs/",
    )
    df.add_argument("old", help="the catalog folder before")
    df.add_argument("new", help="the catalog folder after")
    df.add_argument(
        "--model", nargs="+", action=Unique, help="models whose ranking to compare (default: all)"
    )
    df.add_argument("--json", action="store_true", help="print JSON instead of lines")
    nc = _sub(
        csub,
        "new-chip",
        "add a design to a catalog folder from a template row",
        "python -m tco catalog new-chip --name my-chip --from xpu-hbm3 --set mem_bw=20TB/s --catalogs my-catalogs/",
    )
    _add_new_design(
        nc,
        "COLUMN=VALUE",
        "hardware columns to change, any unit of the column's dimension: mem_bw=20TB/s mem_capacity=288GiB",
    )
    im = _sub(
        csub,
        "import-model",
        "add a model to a catalog folder from its Hugging Face config.json (offline)",
        "python -m tco catalog import-model ~/models/Qwen3-32B --name qwen3-32b --catalogs my-catalogs/",
    )
    im.add_argument(
        "config", nargs="?", type=Path, help="a config.json, a model folder, or a hub cache folder"
    )
    im.add_argument(
        "--from-hub",
        metavar="ID",
        help="fetch the config of this Hugging Face repository (needs huggingface_hub and a network)",
    )
    im.add_argument("--name", help="the model's name in the catalog (default: from the config's path)")
    im.add_argument("--source", help="where the config was published (default: its path, or the hub URL)")
    add_catalogs(im, required=True, what="the folder to write models.csv into")
    im.add_argument("--json", action="store_true", help="print JSON instead of a line")
    st = _sub(
        csub,
        "stale",
        "list catalog rows whose date (price date, or the latest date their source names) is older than a limit",
        "python -m tco catalog stale my-catalogs/ --older-than 12months",
    )
    st.add_argument("directory", nargs="?", help="catalog folder (default: the packaged catalogs)")
    st.add_argument(
        "--older-than", default="12months", help="age limit: 12months, 2years, 6m ... (default: 12months)"
    )
    st.add_argument("--undated", action="store_true", help="list the rows without any date too")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    d = _sub(sub, "design", "what-if designs built from parts")
    dsub = d.add_subparsers(dest="action", required=True, parser_class=Parser)
    dn = _sub(
        dsub, "new", "write a design row with its derived figures into a catalog folder", _EXAMPLES["design"]
    )
    _add_new_design(
        dn, "KEY=VALUE", "memory=HBM4 stacks=12 sync_us=0.5, or any hardware column (mem_bw=20TB/s)"
    )
    e = _sub(sub, "explore", "the study's sensitivity analyses and the UTPS-target question")
    esub = e.add_subparsers(dest="action", required=True, parser_class=Parser)
    for name, what, example in (
        ("bandwidth", "UTPS against memory bandwidth per chip (1 to 1000 TB/s)", _EXAMPLES["explore"]),
        (
            "latency",
            "UTPS against collective latency (0.1 to 10 us)",
            "python -m tco explore latency --model llama3-70b --tp 8 128 --target-utps 2000",
        ),
    ):
        x = _sub(esub, name, what, example)
        x.add_argument(
            "--model",
            nargs="+",
            action=Unique,
            default=["llama3-70b", "llama3-405b", "deepseek-v3"],
            help="models",
        )
        x.add_argument("--hardware", default="xpu-hbm3", help="base chip (its other figures are kept)")
        x.add_argument(
            "--tp", type=CHIPS, nargs="+", action=Unique, default=[8, 128], help="tensor-parallel chips"
        )
        x.add_argument("--context", type=CONTEXT, default=131072, help="tokens per sequence")
        x.add_argument("--batch", type=batch_spec, default=1, help="sequences per micro-batch, or max")
        x.add_argument("--scenario", default="liminal-2025", help="named assumptions from scenarios.csv")
        _add_output(x)
    esub.choices["latency"].add_argument(
        "--target-utps", type=TARGET, help="also the latency that reaches this UTPS [tokens/s per user]"
    )
    mt = _sub(
        esub,
        "memory-table",
        "one model at a fixed chip count on each memory technology",
        "python -m tco explore memory-table --model llama3-405b --chips 128",
    )
    mt.add_argument("--model", default="llama3-405b", help="a model of models.csv")
    mt.add_argument(
        "--hardware",
        nargs="+",
        action=Unique,
        default=["xpu-hbm3", "xpu-hbm4", "xpu-3d-dram", "xpu-sram", "xpu-cows"],
        help="designs",
    )
    mt.add_argument("--chips", type=CHIPS, default=128, help="tensor-parallel chips of one instance")
    mt.add_argument("--context", type=CONTEXT, default=131072, help="tokens per sequence")
    mt.add_argument("--scenario", default="liminal-2025", help="named assumptions from scenarios.csv")
    _add_output(mt)
    tg = _sub(
        esub,
        "target",
        "which designs reach a UTPS target, for which models, at what cost",
        "python -m tco explore target --utps 10000",
    )
    tg.add_argument("--utps", type=TARGET, default=10000.0, help="UTPS target [tokens/s per user]")
    _add_models_contexts(tg)
    add_site(tg)
    tg.add_argument("--scenario", help="named assumptions from scenarios.csv (default: published)")
    _add_output(tg)
    vs = _sub(
        esub,
        "against-dram",
        "what-if designs against the best DRAM design: tokens per $, per J, gCO2e",
        "python -m tco explore against-dram --hardware xpu-pnm --model llama3-70b --min-utps 30 2000",
    )
    vs.add_argument(
        "--hardware", nargs="+", action=Unique, help="designs to compare (default: vendor 'What-if design')"
    )
    _add_models_contexts(vs)
    vs.add_argument(
        "--min-utps",
        type=FLOOR,
        nargs="+",
        action=Unique,
        default=list(FLOORS),
        help="UTPS floors [tokens/s per user]",
    )
    vs.add_argument(
        "--objective",
        nargs="+",
        action=Unique,
        choices=list(OBJECTIVES),
        default=list(EFFICIENCY_OBJECTIVES),
        help="efficiencies to compare",
    )
    add_site(vs)
    vs.add_argument("--scenario", help="named assumptions from scenarios.csv (default: published)")
    _add_output(vs)
    return p


def _add_models_contexts(p: Parser) -> None:
    """``--model`` (default: all) and ``--context`` (default: the study's contexts), both lists."""
    p.add_argument("--model", nargs="+", action=Unique, help="models (default: all)")
    p.add_argument(
        "--context",
        type=CONTEXT,
        nargs="+",
        action=Unique,
        default=list(CONTEXTS),
        help="tokens per sequence",
    )


def _add_new_design(p: Parser, metavar: str, set_help: str) -> None:
    """--name, --from, --set, --catalogs, --json: a new design written into a catalog folder."""
    p.add_argument("--name", required=True, help="the new design's name (letters, digits, . _ + -)")
    p.add_argument("--from", dest="template", default="xpu-hbm3", help="hardware row to start from")
    p.add_argument("--set", action="extend", nargs="+", default=[], metavar=metavar, help=set_help)
    add_catalogs(
        p, required=True, what="folder to write (created if needed; missing files start from the defaults)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of lines")


def _add_output(p: Parser) -> None:
    add_catalogs(p)
    p.add_argument("--out", type=Path, help="also write the table to this CSV file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _power_fit(args) -> int:
    """Fit the power model, write the calibration, print fitted and held-out errors."""
    from perfmodel.catalog.economics_set import load_catalogs
    from perfmodel.catalog.folder import catalog_output
    from tco.economics.power_calibration import calibration_csv, fit, held_out, power_points, predict, summary

    output_file(args.out)
    catalogs = _load(args.catalogs)
    rewritten = catalogs["power_calibration"].path.name  # the one input it may replace (see run_fit)
    output_file(args.out, inputs=[p for p in catalogs.origins.values() if p.name != rewritten])
    with catalog_output(args.out, catalogs, args.catalogs) as write:
        catalogs = load_catalogs(args.catalogs)
        points = power_points(catalogs)
        values = fit(points)
        heldout = held_out(points)
        write(calibration_csv(catalogs, values, heldout))
    fitted = predict(points, values.__getitem__) / points["power_per_chip"].to_numpy()
    result = {
        "out": str(args.out),
        "chips": {
            k: {f: v[f] for f in ("serving_floor", "dynamic_scale", "points")} for k, v in values.items()
        },
        "fitted": summary(fitted),
        "held_out": summary(heldout["ratio"].to_numpy()),
    }

    emit(
        result,
        args.json,
        lambda r: "\n".join(
            [f"wrote {r['out']}"]
            + [
                f"{k}: serving floor {v['serving_floor']:.3f} x TDP, dynamic scale {v['dynamic_scale']:.3f} "
                f"({v['points']} points)"
                for k, v in r["chips"].items()
            ]
            + [
                f"fitted points:   {summary_line(r['fitted'])}",
                f"held-out points: {summary_line(r['held_out'])}",
            ]
        ),
    )
    return 0


def _load(directory):
    """The catalogs of ``directory`` (else the defaults); their plausibility warnings on stderr."""
    from perfmodel.catalog.economics_set import load_catalogs

    catalogs = load_catalogs(directory)
    warn(catalogs.warnings())
    return catalogs


def _report_plan(args, catalogs):
    """The fleet plan of ``--demand`` for the report, under the report's mode, site and economics."""
    if args.demand is None:
        return None
    from tco.planning.fleet import plan_forecast

    asked = question(
        args, catalogs, model=None, context=None, hardware=None, kv_precision=None, availability=None
    )
    return plan_forecast(args.demand, asked)


def _header(ev, args) -> str:
    return (
        f"{ev.model}, {ev.workload}, UTPS floor {getattr(args, 'min_utps', 0.0):g} tokens/s; "
        f"site {ev.site.name}; cost basis {ev.cost_basis}; scenario {ev.scenario} ({ev.precision}); "
        f"power model {ev.power_model}; "
        f"catalogs {ev.catalogs.digest()}"
    )


def _catalog(args) -> int:
    from tco.designs.catalog_upkeep import add_chip, check, diff

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
        if errors:  # a broken folder is a user's bad input, like every other: exit 2, one line
            print(f"error: {where}: {len(errors)} error(s), listed above", file=sys.stderr)
            return 2
        return 0
    if args.action == "diff":
        d = diff(args.old, args.new, args.model)
        emit(d, args.json, _render_diff)
        return 0
    if args.action == "stale":
        return _stale(args)
    output_dir(Path(args.catalogs), "--catalogs")
    if args.action == "import-model":
        return _import_model(args)
    result = add_chip(args.catalogs, args.name, args.template, args.set)
    emit(result, args.json, lambda r: f"added {r['name']} to " + " and ".join(r["written"]))
    return 0


def _stale(args) -> int:
    import polars as pl

    from perfmodel.catalog.economics_set import load_catalogs
    from tco.designs.freshness import parse_age, row_dates, stale
    from tco.reporting.formatting import text_table

    months = parse_age(args.older_than)
    catalogs = load_catalogs(args.directory)
    old = stale(catalogs, months, undated=args.undated)
    undated = row_dates(catalogs).filter(pl.col("date").is_null()).height
    where = args.directory or "the packaged catalogs"
    emit(
        old.to_dicts(),
        args.json,
        lambda _: (
            (text_table(old) + "\n" if old.height else "")
            + f"{old.height} row(s) older than {months} months in {where}; {undated} row(s) carry no date"
        ),
    )
    return 0


def _import_model(args) -> int:
    from tco.designs.catalog_upkeep import add_model

    if (args.config is None) == (args.from_hub is None):
        raise InvalidInput(
            "give a config (a config.json, a model folder or a hub cache folder) or --from-hub ID, not both"
        )
    config, source = args.config, args.source
    if args.from_hub:
        config, source = (
            _hub_config(args.from_hub),
            source or f"https://huggingface.co/{args.from_hub}/blob/main/config.json",
        )
    result = add_model(args.catalogs, config, args.name, source)
    emit(
        result,
        args.json,
        lambda r: (
            f"added {r['name']} ({r['params']['total'] / 1e9:.1f}B parameters, "
            f"{r['params']['active'] / 1e9:.1f}B active, {r['precision']}) to " + " and ".join(r["written"])
        ),
    )
    return 0


def _hub_config(repo: str) -> Path:
    """The config.json of Hugging Face repository ``repo``, fetched into the local hub cache."""
    try:
        from huggingface_hub import hf_hub_download
    except ModuleNotFoundError:
        raise InvalidInput(
            "--from-hub needs huggingface_hub (pip install huggingface_hub); or give a downloaded config"
        ) from None
    try:
        path = Path(hf_hub_download(repo, "config.json"))
    except Exception as e:  # the hub client raises many kinds (offline, gated, not found)
        raise InvalidInput(
            f"--from-hub {repo}: could not fetch config.json ({type(e).__name__}: {str(e)[:200]})"
        ) from None
    return path


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
    if args.out:
        output_file(args.out)
    from perfmodel.api.setup import prepare
    from perfmodel.api.sweeps import bandwidth_sweep, latency_sweep
    from perfmodel.outputs import safe_csv, write_output
    from tco.questions.study import against_best_dram, memory_table, utps_target
    from tco.reporting.formatting import text_table

    cats = _load(args.catalogs)
    models = names_in(cats, "models", args.model)
    hardware = names_in(cats, "hardware", getattr(args, "hardware", None))
    if args.action in ("bandwidth", "latency"):
        common = dict(
            base=hardware,
            tps=args.tp,
            context=args.context,
            batch=args.batch,
            setup=prepare(cats, args.scenario, models=models, hardware=[hardware]),
        )
        if args.action == "bandwidth":
            table = bandwidth_sweep(models, **common)
        else:
            table = latency_sweep(models, target_utps=args.target_utps, **common)
    elif args.action == "memory-table":
        table = memory_table(models, hardware, args.chips, args.context, args.scenario, cats)
    elif args.action == "target":
        table = utps_target(args.utps, models, args.context, cats, site=args.region, scenario=args.scenario)
    else:
        table = against_best_dram(
            hardware,
            models,
            args.context,
            args.min_utps,
            args.objective,
            cats,
            site=args.region,
            scenario=args.scenario,
        )
    if args.out:
        write_output(args.out, safe_csv(table))
    emit(table.to_dicts(), args.json, lambda _: text_table(table))
    return 0


def _list(args) -> int:
    from tco.designs.catalog_upkeep import listing
    from tco.reporting.formatting import text_table

    table = listing(_load(args.catalogs), args.what)
    emit(table.to_dicts(), args.json, lambda _: text_table(table))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "plan":
        return run_plan(args, _load(args.catalogs))
    if args.command == "catalog":
        return _catalog(args)
    if args.command == "explore":
        return _explore(args)
    if args.command == "list":
        return _list(args)
    if args.command == "power-fit":
        return _power_fit(args)
    if args.command == "design":
        from tco.designs.parts import new_design

        output_dir(Path(args.catalogs), "--catalogs")
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
        output_dir(args.out)
        from tco.reporting.document import report

        catalogs = _load(args.catalogs)
        template = question(args, catalogs, model=None, context=None)
        paths = report(
            template.over(names_in(catalogs, "models", args.model), args.context or (None,)),
            args.out,
            objective=args.objective,
            slowdown=args.slowdown,
            command=shlex.join(["python", "-m", "tco", *(argv if argv is not None else sys.argv[1:])]),
            progress=True,
            plan=_report_plan(args, catalogs),
        )
        emit(
            {k: str(v) for k, v in paths.items()},
            args.json,
            lambda d: f"wrote {d['html']}, {d['markdown']} and {d['workbook']}",
        )
        return 0
    from tco.questions.ranking import select
    from tco.reporting.formatting import rank_table, text_table

    if args.command == "tradeoff" and (not args.hardware or len(args.hardware) != 1):
        raise InvalidInput("tradeoff needs exactly one design: --hardware NAME")
    from tco.questions.ranking import evaluate

    ev = evaluate(question(args, _load(args.catalogs)))
    if args.command == "rank":
        ranked = select(ev, args.min_utps, args.objective, args.availability)
        if args.uncertainty:
            from tco.questions.monte_carlo import uncertainty

            spread = uncertainty(ev, args.uncertainty, args.min_utps, availability=args.availability)
            ranked = ranked.join(spread, on="hardware", how="left")
        emit(
            ranked.to_dicts(),
            args.json,
            lambda _: _header(ev, args) + "\n" + rank_table(ranked, args.objective),
        )
    elif args.command == "sensitivity":
        from tco.questions.sensitivity_analysis import sensitivity

        table = sensitivity(ev, args.min_utps, args.objective)
        emit(table.to_dicts(), args.json, lambda _: _header(ev, args) + "\n" + text_table(table))
    elif args.command == "tradeoff":
        from tco.questions.tradeoffs import tradeoff

        result = tradeoff(
            ev, ev.catalogs["hardware"].resolve(args.hardware[0]), args.slowdown, args.objective
        )
        emit(result, args.json, lambda r: _header(ev, args) + "\n" + r["sentence"])
    return 0


def entry() -> None:
    sys.exit(run(main))
