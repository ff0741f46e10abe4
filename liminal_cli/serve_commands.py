"""``python -m perfmodel {serve,fit}`` and ``validate --measured``: the serving model from the shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from liminal_cli.arguments import (
    CHIPS,
    CONTEXT,
    FRACTION,
    GLOSSARY,
    MAX_CONTEXT,
    add_common,
    batch_spec,
    emit,
    key_values,
    number,
    output_file,
    whole,
)
from perfmodel.inputs import DEFAULT_ISL, DEFAULT_OSL, MODES, PRECISIONS, InvalidInput

WORKLOAD_HELP = "input (prompt) tokens per request [tokens]"


#: Output tokens per request: at least 2 (the first comes from the prefill).
OSL = whole(MAX_CONTEXT, "tokens", lo=2)
DRAFT_TOKENS = whole(16, "tokens")
FRACTION_CLOSED = number(0, 1)
RATE = number(0, 1e9, "requests/s", open_low=True)
SLO = number(0, 1e6, "s", open_low=True)


def add_workload(p: argparse.ArgumentParser, mode_default: str | None = "calibrated") -> None:
    """--mode, --isl, --osl, --kv-precision, --engine: the workload and which model answers."""
    default = mode_default or "calibrated, or limit when --context is given"
    p.add_argument(
        "--mode",
        choices=MODES,
        default=mode_default,
        help="calibrated: a real deployment (fitted efficiencies, deployable layouts, prefill counted); "
        f"limit: the study's peak figures, decode only (default: {default})",
    )
    p.add_argument(
        "--isl", type=CONTEXT, default=DEFAULT_ISL, help=f"{WORKLOAD_HELP} (default {DEFAULT_ISL})"
    )
    p.add_argument(
        "--osl",
        type=OSL,
        default=DEFAULT_OSL,
        help=f"output tokens per request, the first from the prefill [tokens] (default {DEFAULT_OSL})",
    )
    p.add_argument(
        "--kv-precision",
        choices=PRECISIONS,
        help="KV-cache precision (default: the weights', FP8 when the weights are FP4)",
    )
    p.add_argument(
        "--engine",
        help="serving engine of engine_profiles.csv that runs every chip (calibrated mode; default: "
        "each chip's engine most measured on it, named in the output)",
    )


#: Flags of a serving plan (docs/model.md §9); any of them runs the plan model (calibrated mode).
PLAN_FLAGS = (
    "prefill_pool",
    "decode_pool",
    "mtp",
    "draft",
    "acceptance",
    "prefix_hit",
    "arrival_rate",
    "prefill_tokens",
)


def acceptance_list(text: str) -> tuple[float, ...]:
    """``a1,a2,...``: per-position acceptance rates, each in [0, 1]."""
    try:
        values = tuple(FRACTION_CLOSED(x) for x in text.split(","))
    except (argparse.ArgumentTypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(f"acceptance rates a1,a2,... each in [0, 1]: {e}") from None
    return values


def add_plan_flags(s: argparse.ArgumentParser) -> None:
    """--prefill-pool, --decode-pool, --mtp, --draft, --draft-tokens, --acceptance, --prefix-hit,
    --arrival-rate, --ttft-slo, --tpot-slo, --prefill-tokens (docs/model.md §9)."""
    g = s.add_argument_group("serving plan (calibrated mode, docs/model.md section 9)")
    pool = "CHIP:TP[:EP][:dp][xN]: N instances (default: the count that maximises tokens/s per chip)"
    g.add_argument("--prefill-pool", metavar="POOL", help=f"disaggregated prefill pool, {pool}")
    g.add_argument("--decode-pool", metavar="POOL", help=f"disaggregated decode pool, {pool}")
    g.add_argument("--mtp", type=DRAFT_TOKENS, metavar="K", help="K draft tokens by the model's MTP module")
    g.add_argument("--draft", metavar="MODEL", help="a draft model of models.csv (with --draft-tokens)")
    g.add_argument("--draft-tokens", type=DRAFT_TOKENS, metavar="K", help="draft tokens per step of --draft")
    g.add_argument(
        "--acceptance",
        type=acceptance_list,
        metavar="A1,A2,...",
        help="acceptance per draft position (default: speculative_decoding.csv)",
    )
    g.add_argument(
        "--prefix-hit", type=FRACTION, metavar="F", help="share of prompt tokens found in a prefix cache"
    )
    g.add_argument(
        "--arrival-rate",
        type=RATE,
        metavar="R",
        help="Poisson arrivals [requests/s]: TTFT/TPOT p50/p90/p99, goodput",
    )
    g.add_argument(
        "--ttft-slo",
        type=SLO,
        default=2.5,
        metavar="S",
        help="TTFT objective for goodput [s] (default 2.5, DistServe)",
    )
    g.add_argument(
        "--tpot-slo",
        type=SLO,
        default=0.15,
        metavar="S",
        help="TPOT objective for goodput [s] (default 0.15, DistServe)",
    )
    g.add_argument(
        "--prefill-tokens",
        type=whole(100_000_000, "tokens"),
        metavar="T",
        help="tokens of one prefill-pool step (default 16,384 per attention rank)",
    )


def add_parsers(sub) -> None:
    """The ``serve`` and ``fit`` subcommands; ``validate`` gets ``--measured`` in liminal_cli.perfmodel_commands."""
    s = sub.add_parser(
        "serve",
        help="a served workload: TTFT, TPOT, UTPS, output tokens/s with prefill counted",
        description="Serve requests of ISL prompt and OSL output tokens at a concurrency on one model "
        "instance. UTPS = 1 / TPOT is the decode speed each user sees; output_tps counts the whole "
        f"instance, prefill's share of the machine included. {GLOSSARY}",
        epilog="example:\n  python -m perfmodel serve --model llama3-70b --hardware h100-sxm --tp 8 "
        "--concurrency 64 --isl 1024 --osl 1024",
    )
    s.add_argument("--model", required=True, help="a model of models.csv")
    s.add_argument(
        "--hardware", help="a chip of hardware.csv (an aggregated instance; required without pools)"
    )
    s.add_argument("--tp", type=CHIPS, help="tensor-parallel chips (required without pools)")
    s.add_argument("--pp", type=CHIPS, default=1, help="pipeline stages")
    s.add_argument("--ep", type=CHIPS, default=1, help="expert-parallel ranks (divides tp)")
    s.add_argument(
        "--dp-attention", action="store_true", help="attention data-parallel over the EP group (ep = tp)"
    )
    s.add_argument(
        "--concurrency",
        type=batch_spec,
        required=True,
        help="requests in flight (per decode instance of a disaggregated plan), or 'max' (largest that fits)",
    )
    add_plan_flags(s)
    add_workload(s)
    add_common(s)
    f = sub.add_parser(
        "fit",
        help="fit efficiencies.csv to measurements.csv (leave-one-source-out error too)",
        description=f"Fit efficiencies.csv to measurements.csv. {GLOSSARY}",
        epilog="example:\n  python -m perfmodel fit --out out/efficiencies.csv",
    )
    f.add_argument("--catalogs", metavar="DIR", help="catalog folder (default: the packaged catalogs)")
    f.add_argument("--out", type=Path, required=True, help="efficiencies CSV to write")
    f.add_argument(
        "--engines-out",
        type=Path,
        help="engine profiles CSV to write, with the fitted overheads (default: engine_profiles.csv "
        "beside --out)",
    )


#: Copies of a sweep's grid its output file adds in memory while it is written (CSV text is about
#: twice the grid's cells; Parquet compresses column by column).
OUTPUT_COPIES = {".csv": 2.0, ".parquet": 0.0}


def sweep(args, catalogs, sync):
    """``perfmodel sweep``: the study's decode grid at ``--context`` (limit, the default), or the
    serving grid at ``--isl``/``--osl`` (calibrated); refused before it starts when the grid and
    its output file would not fit the memory budget (:func:`perfmodel.api.decoding.check_memory`)."""
    import polars as pl

    from perfmodel.api.decoding import GRID_COPIES, check_decode_grid, iter_decode_grid
    from perfmodel.api.serving import check_serve_grid, iter_serve_grid
    from perfmodel.api.setup import prepare

    axes = {"tp": args.tp, "pp": args.pp, "ep": args.ep, "batch": args.batch}
    copies = GRID_COPIES + OUTPUT_COPIES[args.out.suffix.lower()]
    setup = prepare(
        catalogs, args.scenario, args.precision, args.model, args.hardware, args.kv_precision, args.engine
    )
    if args.mode == "limit":
        check_decode_grid(setup, args.context, axes, copies)
        frames = iter_decode_grid(setup, args.context, sync, **axes)
    else:
        check_serve_grid(setup, axes, copies)
        frames = iter_serve_grid(setup, "calibrated", args.isl, args.osl, sync, **axes)
    return pl.concat(list(frames))


def run_serve(args, catalogs) -> int:
    if any(getattr(args, f) is not None for f in PLAN_FLAGS):
        return run_plan(args, catalogs)
    from perfmodel.api.serving import serve
    from perfmodel.api.setup import prepare

    for flag in ("hardware", "tp"):
        if getattr(args, flag) is None:
            raise InvalidInput(f"--{flag} is required (or give --prefill-pool and --decode-pool)")
    setup = prepare(
        catalogs, args.scenario, args.precision, [args.model], [args.hardware], args.kv_precision, args.engine
    )
    r = serve(
        args.model,
        args.hardware,
        args.isl,
        args.osl,
        args.concurrency,
        args.mode,
        setup=setup,
        tp=args.tp,
        pp=args.pp,
        ep=args.ep,
        dp_attention=args.dp_attention,
    )
    return _print_served(r, setup, args)


def run_plan(args, catalogs) -> int:
    """``serve`` with a serving plan's flags: :func:`perfmodel.api.plans.serve_plan`."""
    from perfmodel.api.plans import Drafting, plan_pools, serve_plan
    from perfmodel.api.setup import prepare
    from perfmodel.units import Q_

    if args.mode == "limit":
        raise InvalidInput(
            "serving plans (pools, drafts, prefix cache, arrivals) are calibrated mode only; drop --mode limit"
        )
    if args.mtp is not None and args.draft is not None:
        raise InvalidInput("give --mtp K or --draft MODEL --draft-tokens K, not both")
    if (args.draft is None) != (args.draft_tokens is None):
        raise InvalidInput("--draft MODEL needs --draft-tokens K, and --draft-tokens needs --draft")
    drafting = None
    if args.mtp is not None or args.draft is not None:
        drafting = Drafting(args.mtp or args.draft_tokens, args.draft, args.acceptance)
    elif args.acceptance is not None:
        raise InvalidInput("--acceptance needs --mtp K or --draft MODEL --draft-tokens K")
    prefill, decode = plan_pools(
        (args.prefill_pool, args.decode_pool), args.dp_attention, catalogs["hardware"].resolve
    )
    if args.draft is not None:
        args.draft = catalogs["models"].resolve(args.draft)
    if prefill is None and (args.hardware is None or args.tp is None):
        raise InvalidInput(
            "name the instance (--hardware and --tp) or both pools (--prefill-pool, --decode-pool)"
        )
    chips = [p.hardware for p in (prefill, decode) if p is not None] or [args.hardware]
    models = list(dict.fromkeys([args.model] + ([args.draft] if args.draft else [])))
    setup = prepare(
        catalogs,
        args.scenario,
        args.precision,
        models,
        list(dict.fromkeys(chips)),
        args.kv_precision,
        args.engine,
    )
    r = serve_plan(
        args.model,
        args.isl,
        args.osl,
        args.concurrency,
        hardware=args.hardware,
        tp=args.tp or 1,
        pp=args.pp,
        ep=args.ep,
        dp_attention=args.dp_attention,
        prefill=prefill,
        decode=decode,
        drafting=drafting,
        prefix_hit=args.prefix_hit or 0.0,
        arrival_rate=None if args.arrival_rate is None else Q_(args.arrival_rate, "1/s"),
        ttft_slo=Q_(args.ttft_slo, "s"),
        tpot_slo=Q_(args.tpot_slo, "s"),
        prefill_tokens=args.prefill_tokens,
        setup=setup,
    )
    return _print_served(r, setup, args)


def _print_served(r, setup, args) -> int:
    """Print a served configuration or plan (JSON or key-value lines) with its scenario, precisions
    and energy per output token, and what the user must know on stderr."""
    out = r.as_dict() | {
        "scenario": setup.scenario.name,
        "precision": setup.scenario.precision,
        "kv_precision": setup.scenario.kv_precision,
        "joules_per_output_token": _joules_per_token(r, args.catalogs, setup.scenario.precision),
    }
    _notes(r)
    emit(out, args.json, key_values)
    return 0


def _notes(r) -> None:
    """What the user must know about a served configuration that does not fit, on stderr."""
    prefill = [p for p in r.pools if p.get("role") == "prefill" and not p["fits"]]
    if prefill:
        print(
            f"note: does not fit: a prefill instance of {prefill[0]['tp']} {prefill[0]['hardware']} does not hold "
            "the weights and its step's prompts; give the prefill pool more chips (CHIP:TP) or --prefill-tokens fewer",
            file=sys.stderr,
        )
    elif not r.in_memory:
        print(
            f"note: does not fit: needs {r.memory_needed.m:.1f} GiB, the engine gives "
            f"{r.memory_available.m:.1f} GiB on {r.chips} chips",
            file=sys.stderr,
        )
    elif not r.fits:
        print(
            f"note: the engine's batch cap binds: {r.engine} runs at most {r.batch_cap:,} sequences on this "
            f"instance, fewer than the {r.concurrency:,} asked (the memory would hold them)",
            file=sys.stderr,
        )


def _joules_per_token(r, folder, precision: str) -> float:
    """Energy per output token at the chips' activity power (tco's power model, at the chip)."""
    from perfmodel.catalog.economics_set import load_catalogs as economics_catalogs
    from tco.economics.energy_per_token import joules_per_output_token

    return joules_per_output_token(r, economics_catalogs(folder), precision)


def run_fit(args, catalogs) -> int:
    """Fit the chips' figures and the engines' overheads and write ``efficiencies.csv`` to
    ``--out`` and ``engine_profiles.csv`` beside it (``--engines-out`` elsewhere): never over
    another file the fit reads (``measurements.csv``: refused), and into a catalog folder under its
    lock, the catalogs read again under it so a chip added meanwhile keeps its row
    (:func:`catalog_output`)."""
    from perfmodel.calibration.efficiency_fit import (
        bound_text,
        compare,
        efficiency_rows_csv,
        engine_rows_csv,
        fit,
        held_out,
        heldout_by,
        measurements,
        summary,
    )
    from perfmodel.catalog.folder import catalog_output, load_catalogs

    engines_out = args.engines_out or args.out.parent / catalogs["engine_profiles"].path.name
    rewritten = {catalogs["efficiencies"].path.name, catalogs["engine_profiles"].path.name}
    for path, flag in ((args.out, "--out"), (engines_out, "--engines-out")):
        output_file(path, flag, inputs=[p for p in catalogs.origins.values() if p.name not in rewritten])
    if engines_out.parent.resolve() != args.out.parent.resolve():
        raise InvalidInput("--engines-out must be in the folder of --out (the two are written at once)")
    with catalog_output(args.out, catalogs, args.catalogs) as write:
        catalogs = load_catalogs(args.catalogs)
        values = fit(catalogs)
        heldout = held_out(catalogs)
        by = heldout_by(values, heldout)
        write(
            efficiency_rows_csv(catalogs, values, by["chips"], measurements(catalogs)),
            {engines_out.name: engine_rows_csv(catalogs, values, by["engines"])},
        )
    fitted = compare(catalogs, values).filter("fitted")
    bounds = [
        f"{'/'.join(k) if isinstance(k, tuple) else k}: {bound_text(v)}"
        for k, v in [*values.chips.items(), *values.engines.items()]
        if v["at_bound"]
    ]
    emit(
        {
            "out": str(args.out),
            "engines_out": str(engines_out),
            "fitted": summary(fitted["ratio"].to_numpy()),
            "held_out": summary(heldout["ratio"].to_numpy()),
            "at_bound": bounds,
        },
        False,
        lambda d: "\n".join(
            [
                f"wrote {d['out']} and {d['engines_out']}",
                f"fitted points:   {summary_line(d['fitted'])}",
                f"held-out points: {summary_line(d['held_out'])}",
                *(f"at a bound: {b}" for b in d["at_bound"]),
            ]
        ),
    )
    return 0


def summary_line(s: dict) -> str:
    """One line of a fit summary: points, median ratio, share within 25 %, worst factor."""
    return (
        f"{s['points']} points, median ratio {s['median_ratio']:.3f}, "
        f"{s['share_within_25pct']:.0%} within 25%, worst {s['worst_factor']:.2f}x"
    )


def run_validate_measured(catalogs, as_json: bool) -> int:
    """Every measured point against the model; per chip and held-out summaries; exit 1 outside the band."""
    import polars as pl

    from perfmodel.calibration.efficiency_fit import MEDIAN_BAND, compare, held_out, summary

    df = compare(catalogs)
    current = df.filter("fitted")
    eff = catalogs["efficiencies"].df.filter(pl.col("heldout_points") > 0)
    engines = catalogs["engine_profiles"].df.filter(pl.col("heldout_points") > 0)
    heldout = summary(held_out(catalogs)["ratio"].to_numpy())
    per_chip = (
        current.group_by("hardware")
        .agg(
            points=pl.len(),
            median_ratio=pl.col("ratio").median(),
            worst_ratio=pl.max_horizontal(pl.col("ratio").max(), 1 / pl.col("ratio").min()),
            within_25pct=((pl.col("ratio") - 1).abs() <= 0.25).mean(),
            limit_ratio_min=pl.col("limit_ratio").min(),
        )
        .sort("hardware")
    )
    overall = summary(current["ratio"].to_numpy())
    scores = ("heldout_points", "heldout_median_ratio", "heldout_within_25pct")
    held = eff.select("hardware", "precision", *scores)
    held_engines = engines.select("name", *scores)
    limit_min = float(current["limit_ratio"].min())
    if as_json:
        cols = [
            "source_id",
            "date",
            "engine",
            "model",
            "hardware",
            "precision",
            "tp",
            "pp",
            "ep",
            "dp_attention",
            "isl",
            "osl",
            "concurrency",
            "output_tps_per_chip",
            "model_tps_per_chip",
            "ratio",
            "limit_tps_per_chip",
            "limit_ratio",
            "current",
            "steady",
            "fitted",
        ]
        emit(
            {
                "points": df.select(cols).to_dicts(),
                "per_chip": per_chip.to_dicts(),
                "held_out": held.to_dicts(),
                "held_out_engines": held_engines.to_dicts(),
                "held_out_summary": heldout,
                "summary": overall | {"limit_ratio_min": limit_min},
            },
            True,
            str,
        )
    else:
        with pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            tbl_width_chars=250,
            float_precision=3,
            fmt_str_lengths=40,
        ):
            print(
                df.select(
                    "source_id",
                    "model",
                    "hardware",
                    "precision",
                    conditions=pl.format(
                        "tp{} pp{} ep{}{} isl {} osl {} c {}",
                        "tp",
                        "pp",
                        "ep",
                        pl.when("dp_attention").then(pl.lit(" dp-attn")).otherwise(pl.lit("")),
                        pl.col("isl").round(0),
                        pl.col("osl").round(0),
                        "concurrency",
                    ),
                    measured=pl.col("output_tps_per_chip"),
                    predicted=pl.col("model_tps_per_chip"),
                    ratio=pl.col("ratio"),
                    limit_ratio=pl.col("limit_ratio"),
                    fitted=pl.col("fitted"),
                )
            )
            print(
                "\nper chip (fitted points: current and steady; limit_ratio_min >= 1: the limit is never below a measurement):"
            )
            print(per_chip)
            print("\nheld out per chip (leave one source out, from efficiencies.csv):")
            print(held)
            print("\nheld out per engine (from engine_profiles.csv):")
            print(held_engines)
        print(
            "\n"
            + key_values(
                {
                    "points (fitted)": overall["points"],
                    "points (history)": df.height - df["current"].sum(),
                    "points (stalled runs)": df.height - df["steady"].sum(),
                }
                | {k: v for k, v in overall.items() if k != "points"}
                | {"limit_ratio_min": limit_min}
            )
            + f"\nheld out (leave one source out, refitted now): {summary_line(heldout)}"
        )
    return 0 if MEDIAN_BAND[0] <= overall["median_ratio"] <= MEDIAN_BAND[1] else 1
