"""``python -m perfmodel {capacity,decode,serve,sweep,validate,fit}``: the performance model from the shell."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from perfmodel import cli_serve
from perfmodel.api import capacity, decode, prepare
from perfmodel.catalog import InvalidInput
from perfmodel.catalog_set import load_catalogs
from perfmodel.cli_common import (
    Parser,
    add_common,
    batch_spec,
    emit,
    key_values,
    non_negative_float,
    positive_int,
    run,
)
from perfmodel.units import Q_
from perfmodel.validation import reference_cases


def _parser() -> Parser:
    p = Parser(
        prog="python -m perfmodel", description="Analytical LLM decode model (after arXiv 2507.14397)."
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = sub.add_parser("capacity", help="memory one model instance needs")
    c.add_argument("--model", required=True)
    c.add_argument("--context", type=positive_int, required=True, help="tokens per sequence")
    c.add_argument("--batch", type=positive_int, required=True, help="sequences")
    add_common(c)

    d = sub.add_parser("decode", help="one configuration: UTPS, STPS and where the time goes")
    d.add_argument("--model", required=True)
    d.add_argument("--hardware", required=True)
    d.add_argument("--tp", type=positive_int, required=True, help="tensor-parallel chips")
    d.add_argument("--pp", type=positive_int, default=1, help="pipeline stages")
    d.add_argument("--ep", type=positive_int, default=1, help="expert-parallel ranks (divides tp)")
    d.add_argument("--batch", type=batch_spec, required=True, help="sequences per micro-batch, or 'max'")
    d.add_argument("--context", type=positive_int, required=True, help="tokens per sequence")
    d.add_argument("--sync-us", type=non_negative_float, help="latency of every collective [us] (overrides)")
    add_common(d)

    s = sub.add_parser("sweep", help="evaluate a grid and write it to CSV or Parquet")
    s.add_argument("--model", nargs="+", help="models (default: all)")
    s.add_argument("--hardware", nargs="+", help="chips (default: all)")
    s.add_argument("--tp", type=positive_int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 128])
    s.add_argument("--pp", type=positive_int, nargs="+", default=[1])
    s.add_argument("--ep", type=positive_int, nargs="+", default=[1])
    s.add_argument("--batch", type=batch_spec, nargs="+", default=[1, 8, 32, 128, "max"])
    s.add_argument("--context", type=positive_int, nargs="+", default=[4096])
    s.add_argument("--sync-us", type=non_negative_float)
    s.add_argument("--out", type=Path, required=True, help="output file, .csv or .parquet")
    cli_serve.add_workload(s, mode_default="limit")
    add_common(s)

    v = sub.add_parser("validate", help="compare with the Liminal study's published tables")
    v.add_argument("--catalogs", metavar="DIR")
    v.add_argument(
        "--measured",
        action="store_true",
        help="compare the serving model with the public measurements in measurements.csv instead",
    )
    v.add_argument("--json", action="store_true")
    cli_serve.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    catalogs = load_catalogs(args.catalogs)
    if args.command == "validate":
        if args.measured:
            return cli_serve.run_validate_measured(catalogs, args.json)
        return _validate(catalogs, args.json)
    if args.command == "serve":
        return cli_serve.run_serve(args, catalogs)
    if args.command == "fit":
        return cli_serve.run_fit(args, catalogs)
    sync = None if getattr(args, "sync_us", None) is None else Q_(args.sync_us, "us")
    if args.command == "capacity":
        setup = prepare(catalogs, args.scenario, args.precision, [args.model])
        cap = capacity(args.model, args.context, args.batch, setup=setup)
        out = {
            "model": args.model,
            "context": args.context,
            "batch": args.batch,
            "scenario": setup.scenario.name,
        }
        emit(out | cap.as_dict(), args.json, key_values)
    elif args.command == "decode":
        setup = prepare(catalogs, args.scenario, args.precision, [args.model], [args.hardware])
        r = decode(
            args.model, args.hardware, args.tp, args.pp, args.ep, args.batch, args.context, sync, setup=setup
        )
        out = r.as_dict() | {"scenario": setup.scenario.name, "precision": setup.scenario.precision}
        if not r.fits:
            print(
                f"note: does not fit: needs {r.memory_needed.m:.1f} GiB, "
                f"{r.tp * r.pp} chips hold {r.memory_available.m:.1f} GiB",
                file=sys.stderr,
            )
        emit(out, args.json, key_values)
    elif args.command == "sweep":
        suffix = args.out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InvalidInput(f"--out must end in .csv or .parquet, got {args.out.name!r}")
        df = cli_serve.sweep(args, catalogs, sync)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            df.write_csv(args.out)
        else:
            df.write_parquet(args.out)
        emit(
            {"rows": df.height, "out": str(args.out)},
            args.json,
            lambda d: f"wrote {d['rows']:,} configurations to {d['out']}",
        )
    return 0


def _validate(catalogs, as_json: bool) -> int:
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
