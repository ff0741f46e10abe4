"""``python -m perfmodel {capacity,decode,serve,sweep,validate,fit}``: the performance model from the shell."""

from __future__ import annotations

import sys
from pathlib import Path

from liminal_cli import serve_commands
from liminal_cli.arguments import (
    BATCH,
    CHIPS,
    CONTEXT,
    GLOSSARY,
    SYNC_US,
    Parser,
    Unique,
    add_catalogs,
    add_common,
    batch_spec,
    emit,
    key_values,
    output_file,
    run,
    warn,
)
from perfmodel.inputs import InvalidInput

_EXAMPLES = {
    "capacity": "python -m perfmodel capacity --model deepseek-v3 --context 131072 --batch 32",
    "decode": "python -m perfmodel decode --model llama3-70b --hardware xpu-hbm3 --tp 8 --batch max --context 4096",
    "sweep": "python -m perfmodel sweep --model llama3-70b --tp 1 8 --batch 1 max --out out/sweep.csv",
    "validate": "python -m perfmodel validate",
}


def _sub(sub, name: str, help: str) -> Parser:
    return sub.add_parser(
        name, help=help, description=f"{help}. {GLOSSARY}", epilog=f"example:\n  {_EXAMPLES[name]}"
    )


def _parser() -> Parser:
    p = Parser(
        prog="python -m perfmodel",
        description=f"Analytical LLM decode model (after arXiv 2507.14397). {GLOSSARY}",
        epilog="example:\n  " + "\n  ".join(_EXAMPLES.values()),
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = _sub(sub, "capacity", "memory one model instance needs")
    c.add_argument("--model", required=True, help="a model of models.csv")
    c.add_argument("--context", type=CONTEXT, required=True, help="tokens per sequence")
    c.add_argument("--batch", type=BATCH, required=True, help="sequences held at once")
    add_common(c)

    d = _sub(sub, "decode", "one configuration: UTPS, STPS and where the time goes")
    d.add_argument("--model", required=True, help="a model of models.csv")
    d.add_argument("--hardware", required=True, help="a chip of hardware.csv")
    d.add_argument("--tp", type=CHIPS, required=True, help="tensor-parallel chips")
    d.add_argument("--pp", type=CHIPS, default=1, help="pipeline stages")
    d.add_argument("--ep", type=CHIPS, default=1, help="expert-parallel ranks (divides tp)")
    d.add_argument("--batch", type=batch_spec, required=True, help="sequences per micro-batch, or max")
    d.add_argument("--context", type=CONTEXT, required=True, help="tokens per sequence")
    d.add_argument("--sync-us", type=SYNC_US, help="latency of every collective [us] (default: the chip's)")
    add_common(d)

    s = _sub(sub, "sweep", "evaluate a grid and write it to CSV or Parquet")
    s.add_argument("--model", nargs="+", action=Unique, help="models (default: all)")
    s.add_argument("--hardware", nargs="+", action=Unique, help="chips (default: all)")
    s.add_argument(
        "--tp",
        type=CHIPS,
        nargs="+",
        action=Unique,
        default=[1, 2, 4, 8, 16, 32, 64, 128],
        help="tensor-parallel chips",
    )
    s.add_argument("--pp", type=CHIPS, nargs="+", action=Unique, default=[1], help="pipeline stages")
    s.add_argument("--ep", type=CHIPS, nargs="+", action=Unique, default=[1], help="expert-parallel ranks")
    s.add_argument(
        "--batch",
        type=batch_spec,
        nargs="+",
        action=Unique,
        default=[1, 8, 32, 128, "max"],
        help="sequences per micro-batch, or max",
    )
    s.add_argument(
        "--context", type=CONTEXT, nargs="+", action=Unique, default=[4096], help="tokens per sequence"
    )
    s.add_argument("--sync-us", type=SYNC_US, help="latency of every collective [us] (default: each chip's)")
    s.add_argument("--out", type=Path, required=True, help="output file, .csv or .parquet")
    serve_commands.add_workload(s, mode_default="limit")
    add_common(s)

    v = _sub(sub, "validate", "compare with the Liminal study's published tables")
    add_catalogs(v)
    v.add_argument(
        "--measured",
        action="store_true",
        help="compare the serving model with the public measurements in measurements.csv instead",
    )
    v.add_argument("--json", action="store_true", help="print JSON instead of a table")
    serve_commands.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sweep":
        output_file(args.out)
        if args.out.suffix.lower() not in (".csv", ".parquet"):
            raise InvalidInput(f"--out must end in .csv or .parquet, got {args.out.name!r}")
    from perfmodel.catalog.folder import load_catalogs

    catalogs = load_catalogs(args.catalogs)
    warn(catalogs.warnings())
    if args.command == "validate":
        if args.measured:
            return serve_commands.run_validate_measured(catalogs, args.json)
        return _validate(catalogs, args.json)
    if args.command == "serve":
        args.model, args.hardware = (
            catalogs["models"].resolve(args.model),
            None if args.hardware is None else catalogs["hardware"].resolve(args.hardware),
        )
        return serve_commands.run_serve(args, catalogs)
    if args.command == "fit":
        output_file(args.out)
        return serve_commands.run_fit(args, catalogs)
    from perfmodel.api.decoding import capacity, decode
    from perfmodel.api.setup import prepare
    from perfmodel.units import Q_

    models, chips = catalogs["models"], catalogs["hardware"]
    sync = None if getattr(args, "sync_us", None) is None else Q_(args.sync_us, "us")
    if args.command == "capacity":
        model = models.resolve(args.model)
        setup = prepare(catalogs, args.scenario, args.precision, [model])
        cap = capacity(model, args.context, args.batch, setup=setup)
        out = {"model": model, "context": args.context, "batch": args.batch, "scenario": setup.scenario.name}
        emit(out | cap.as_dict(), args.json, key_values)
    elif args.command == "decode":
        model, hardware = models.resolve(args.model), chips.resolve(args.hardware)
        setup = prepare(catalogs, args.scenario, args.precision, [model], [hardware])
        r = decode(model, hardware, args.batch, args.context, sync, setup, tp=args.tp, pp=args.pp, ep=args.ep)
        out = r.as_dict() | {"scenario": setup.scenario.name, "precision": setup.scenario.precision}
        if not r.fits:
            print(
                f"note: does not fit: needs {r.memory_needed.m:.1f} GiB, "
                f"{r.tp * r.pp} chips hold {r.memory_available.m:.1f} GiB",
                file=sys.stderr,
            )
        emit(out, args.json, key_values)
    elif args.command == "sweep":
        from perfmodel.outputs import frame_bytes, write_output

        args.model = [models.resolve(m) for m in args.model] if args.model else None
        args.hardware = [chips.resolve(h) for h in args.hardware] if args.hardware else None
        df = serve_commands.sweep(args, catalogs, sync)
        write_output(args.out, frame_bytes(df, args.out.suffix.lower()))
        emit(
            {"rows": df.height, "out": str(args.out)},
            args.json,
            lambda d: f"wrote {d['rows']:,} configurations to {d['out']}",
        )
    return 0


def _validate(catalogs, as_json: bool) -> int:
    import polars as pl

    from perfmodel.calibration.study_tables import reference_cases

    df = reference_cases(catalogs)
    gated = df.filter("gated")
    summary = {
        "cases": df.height,
        "mean_abs_error": float(df["error"].abs().mean()),
        "max_abs_error": float(df["error"].abs().max()),
        "gated_failures": int((~gated["passes"]).sum()),
    }
    if as_json:
        emit({"cases": df.to_dicts(), "summary": summary}, True, str)
    else:
        with pl.Config(
            tbl_rows=-1,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            float_precision=3,
            tbl_width_chars=200,
            tbl_cols=-1,
        ):
            print(df.with_columns(pl.col("error") * 100).rename({"error": "error_%"}))
        print(key_values(summary))
    return 1 if summary["gated_failures"] else 0


def entry() -> None:
    sys.exit(run(main))
