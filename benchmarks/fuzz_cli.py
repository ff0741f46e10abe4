"""Fuzz every command's arguments, the catalog loader and every export with hypothesis.

    python benchmarks/fuzz_cli.py --cases 10000 [--seed 0]

Each case is one of:

- a command line of ``python -m tco`` or ``python -m perfmodel`` built from valid and hostile
  tokens (names in other cases, near misses, formula and markup text, path traversal; numbers
  out of range, ``nan``, ``1e300``, ``10**10**10``, ``1_000``; units with exponent towers; output
  paths that are folders, files under files, unwritable), run in this process;
- a hardware catalog file with hostile cells, units or bytes, read by the loader;
- a table with hostile text, written by the CSV writer, and text through the report's escaping.

A failure is a traceback (any exception the command's one error path does not turn into a line),
an exit status other than 0, 1 or 2, a case that runs longer than ``--timeout`` seconds, a
non-finite figure (``nan``, ``inf``) printed by a command that succeeded, an error that is not
one line, or an export that a spreadsheet would run or that escapes its markup or folder. The
script prints the case count, the failures (each with its input) and exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import re
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from liminal_cli.arguments import run  # noqa: E402
from liminal_cli.perfmodel_commands import main as perf_main  # noqa: E402
from liminal_cli.tco_commands import main as tco_main  # noqa: E402
from perfmodel.catalog.economics_set import load_catalogs  # noqa: E402
from perfmodel.catalog.folder import DEFAULT_DIR  # noqa: E402
from perfmodel.catalog.schemas import HARDWARE  # noqa: E402
from perfmodel.catalog.table import read_table  # noqa: E402
from perfmodel.inputs import CatalogError  # noqa: E402
from perfmodel.outputs import FORMULA_TRIGGERS, safe_csv  # noqa: E402
from tco.reporting.document import md_text, slug  # noqa: E402

CATS = load_catalogs()
MODELS = CATS["models"].names()
CHIPS = CATS["hardware"].names()
SITES = CATS["datacenter"].names()
SCENARIOS = CATS["scenarios"].names()
NONFINITE = re.compile(r"(?<![A-Za-z_])-?(nan|inf|infinity)(?![A-Za-z_])", re.I)
HOSTILE_TEXT = [
    '=HYPERLINK("http://x","y")',
    "+SUM(A1)",
    "@cmd",
    "-1",
    '../x" onmouseover="alert(1)',
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "",
    " ",
    "\x00",
    "é" * 40,
    "a" * 300,
]
HOSTILE_NUMBERS = [
    "0",
    "-1",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "-inf",
    "10**10**10",
    "1_000",
    "0x10",
    "2147483648",
    "1e-300",
    "",
    " ",
    "max",
    "1.5",
    "99999999999999999999",
    "1e",
    ".",
    "+5",
    "4096",
]
UNIT_VALUES = [
    "20TB/s",
    "10**10**10 TB/s",
    "3W",
    "1e400 TB/s",
    "abc",
    "",
    "20",
    "-5 TB/s",
    "1 TB/s*10**4",
    "288GiB",
    "HBM4",
    "nan TB/s",
    "2 parsec",
]


def _names(pool: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(pool),
        st.sampled_from(pool).map(str.upper),
        st.sampled_from(pool).map(lambda n: n[: max(1, len(n) // 2)]),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=12),
    )


NUMBER = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(-10, 300_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
SMALL = st.one_of(st.integers(1, 16).map(str), st.sampled_from(HOSTILE_NUMBERS))


class Work:
    """Folders and files the output flags point at (valid and invalid)."""

    def __init__(self, base: Path):
        self.base = base
        self.folder = base / "a-folder"
        self.folder.mkdir()
        self.file = base / "a-file.txt"
        self.file.write_text("x")
        self.catalogs = base / "cats"

    def outs(self, suffix: str) -> st.SearchStrategy[str]:
        return st.sampled_from(
            [
                str(self.base / f"out{suffix}"),
                str(self.base / "new" / f"deeper{suffix}"),
                str(self.folder),
                str(self.file),
                str(self.file / f"under{suffix}"),
                "/proc/none/x" + suffix,
                str(self.base / "out.txt"),
            ]
        )


def _flags(draw, spec: dict[str, st.SearchStrategy]) -> list[str]:
    argv: list[str] = []
    for flag in draw(st.lists(st.sampled_from(list(spec)), unique=True, max_size=len(spec))):
        strategy = spec[flag]
        if strategy is None:
            argv.append(flag)
        else:
            values = draw(st.lists(strategy, min_size=1, max_size=3))
            argv += [flag, *values]
    return argv


@st.composite
def command_lines(draw, work: Work) -> tuple[object, list[str]]:
    model, chip = _names(MODELS), _names(CHIPS)
    question = {
        "--context": NUMBER,
        "--min-utps": NUMBER,
        "--region": _names(SITES),
        "--objective": st.sampled_from(["tokens_per_usd", "usd_per_mtok", "gco2e_per_mtok", "x"]),
        "--hardware": chip,
        "--power-model": st.sampled_from(["activity", "tdp", "x"]),
        "--scenario": _names(SCENARIOS),
        "--precision": st.sampled_from(["fp8", "bf16", "fp4", "fp2"]),
        "--mode": st.sampled_from(["limit", "calibrated", "x"]),
        "--isl": NUMBER,
        "--osl": NUMBER,
        "--json": None,
    }
    kind = draw(
        st.sampled_from(
            ["rank"] * 6
            + ["sensitivity", "tradeoff", "list", "check", "new-chip", "design"] * 2
            + ["explore-bw", "explore-lat", "explore-mem", "explore-target", "explore-dram"] * 2
            + ["capacity", "decode", "sweep", "serve"] * 3
            + ["report", "diff", "validate"]
        )
    )
    if kind in ("rank", "sensitivity", "tradeoff"):
        spec = dict(question)
        if kind == "tradeoff":
            spec["--slowdown"] = NUMBER
        return tco_main, [kind, "--model", draw(model), *_flags(draw, spec)]
    if kind == "report":  # one model and at most two designs: a report renders charts (seconds)
        argv = ["report", "--model", draw(model), "--out", draw(work.outs(""))]
        argv += ["--hardware", *draw(st.lists(st.sampled_from(CHIPS), min_size=1, max_size=2))]
        return tco_main, argv + _flags(
            draw, {"--min-utps": NUMBER, "--power-model": question["--power-model"]}
        )
    if kind == "list":
        return tco_main, [
            "list",
            draw(st.sampled_from(["models", "hardware", "sites", "scenarios", "chips"])),
        ]
    if kind == "check":
        folder = draw(st.sampled_from([str(work.catalogs), str(work.file), str(work.base / "none"), ""]))
        return tco_main, ["catalog", "check", *([folder] if folder else [])]
    if kind == "diff":
        return tco_main, ["catalog", "diff", str(DEFAULT_DIR), str(work.catalogs), "--model", draw(model)]
    if kind in ("new-chip", "design"):
        sets = st.tuples(
            st.sampled_from(
                ["mem_bw", "mem_capacity", "tdp", "price", "memory", "stacks", "sync_us", "nope", ""]
            ),
            st.sampled_from(UNIT_VALUES),
        ).map("=".join)
        head = ["catalog", "new-chip"] if kind == "new-chip" else ["design", "new"]
        where = draw(st.sampled_from([str(work.catalogs)] * 4 + [str(work.file), "/proc/none"]))
        argv = [*head, "--name", draw(_names(["my-chip", "chip-2"])), "--catalogs", where]
        return tco_main, argv + ["--from", draw(chip), "--set", *draw(st.lists(sets, max_size=3))]
    if kind.startswith("explore"):
        action = {
            "bw": "bandwidth",
            "lat": "latency",
            "mem": "memory-table",
            "target": "target",
            "dram": "against-dram",
        }[kind.split("-")[1]]
        spec: dict = {
            "--catalogs": st.sampled_from([str(work.catalogs), str(work.file)]),
            "--out": work.outs(".csv"),
            "--json": None,
            "--context": NUMBER,
        }
        if action in ("bandwidth", "latency"):
            spec |= {"--tp": SMALL, "--batch": NUMBER, "--hardware": chip, "--model": model}
            if action == "latency":
                spec["--target-utps"] = NUMBER
        elif action == "memory-table":
            spec |= {"--chips": NUMBER, "--hardware": chip, "--model": model}
        elif action == "target":
            return tco_main, [
                "explore",
                "target",
                "--model",
                draw(model),
                "--context",
                draw(NUMBER),
                *_flags(draw, {"--utps": NUMBER, "--json": None}),
            ]
        else:
            spec |= {"--min-utps": NUMBER, "--hardware": chip}
            return tco_main, [
                "explore",
                action,
                "--model",
                draw(model),
                "--context",
                draw(NUMBER),
                *_flags(draw, spec),
            ]
        return tco_main, ["explore", action, *_flags(draw, spec)]
    if kind == "capacity":
        return perf_main, [
            "capacity",
            "--model",
            draw(model),
            "--context",
            draw(NUMBER),
            "--batch",
            draw(NUMBER),
        ]
    if kind == "decode":
        argv = [
            "decode",
            "--model",
            draw(model),
            "--hardware",
            draw(chip),
            "--tp",
            draw(SMALL),
            "--batch",
            draw(NUMBER),
            "--context",
            draw(NUMBER),
        ]
        return perf_main, argv + _flags(
            draw, {"--pp": SMALL, "--ep": SMALL, "--sync-us": NUMBER, "--json": None}
        )
    if kind == "serve":
        argv = [
            "serve",
            "--model",
            draw(model),
            "--hardware",
            draw(chip),
            "--tp",
            draw(SMALL),
            "--concurrency",
            draw(NUMBER),
        ]
        spec = {"--isl": NUMBER, "--osl": NUMBER, "--mode": question["--mode"], "--ep": SMALL, "--json": None}
        return perf_main, argv + _flags(draw, spec)
    if kind == "sweep":
        argv = [
            "sweep",
            "--model",
            draw(model),
            "--hardware",
            draw(chip),
            "--out",
            draw(st.one_of(work.outs(".csv"), work.outs(".parquet"))),
        ]
        return perf_main, argv + _flags(draw, {"--tp": SMALL, "--batch": NUMBER, "--context": NUMBER})
    return perf_main, ["validate", *draw(st.sampled_from([[], ["--json"]]))]


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang


def run_command(main, argv: list[str], timeout: float) -> tuple[str | None, object]:
    """Run one command line: (the failure in words or None, its exit status)."""
    out, err = io.StringIO(), io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(main, argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        code = e.code if isinstance(e.code, int) else 2
    except Hang:
        return f"no answer within {timeout:g} s", "hang"
    except BaseException:
        return "traceback:\n" + traceback.format_exc(limit=6), "traceback"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if code not in (0, 1, 2):
        return f"exit status {code}", code
    errors = [line for line in err.getvalue().splitlines() if "error" in line]
    if code == 2 and len(errors) != 1:
        return f"exit 2 without exactly one error line: {err.getvalue()[-500:]!r}", code
    found = NONFINITE.search(out.getvalue())
    if code == 0 and found:
        return f"non-finite figure in the output: {found.group(0)!r}", code
    return None, code


GOOD = (DEFAULT_DIR / "hardware.csv").read_text(encoding="utf-8")


@st.composite
def catalog_files(draw) -> bytes:
    lines = GOOD.splitlines()
    head = next(i for i, x in enumerate(lines) if not x.startswith("#"))
    rows = [next(csv.reader([x])) for x in lines[head:] if x.strip()]
    mutation = draw(st.sampled_from(["cell", "unit", "bytes", "rows", "cell"]))
    if mutation == "cell":
        r, c = draw(st.integers(1, len(rows) - 1)), draw(st.integers(0, len(rows[0]) - 1))
        rows[r][c] = draw(st.one_of(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_TEXT), st.text(max_size=30)))
    elif mutation == "unit":
        c = draw(st.sampled_from([i for i, h in enumerate(rows[0]) if "[" in h]))
        unit = draw(
            st.one_of(
                st.sampled_from(["TB/s*10**10**10", "", "GB/s", "1/0", "m^99", "((", "1e999"]),
                st.text(max_size=20),
            )
        )
        rows[0][c] = rows[0][c].split("[")[0] + f"[{unit}]"
    elif mutation == "rows":
        rows = rows[: draw(st.integers(0, len(rows)))]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    data = buf.getvalue().encode("utf-8")
    if mutation == "bytes":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=40)) + data[cut:]
    return data


def check_loader(data: bytes, timeout: float) -> str | None:
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        table = read_table(data, HARDWARE, file="hardware.csv")
    except CatalogError as e:
        if not e.problems or not all(str(p) for p in e.problems):
            return "a CatalogError without problems"
        return None
    except Hang:
        return f"loader took more than {timeout:g} s"
    except BaseException:
        return "traceback:\n" + traceback.format_exc(limit=6)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    floats = table.df.select(pl.col(pl.Float64)).to_numpy()
    return None if (floats[floats == floats] < float("inf")).all() else "a non-finite value loaded"


def check_exports(texts: list[str]) -> str | None:
    df = pl.DataFrame({"name": texts, "value": [float(i) for i in range(len(texts))]})
    for row in list(csv.reader(io.StringIO(safe_csv(df).decode("utf-8"), newline="")))[1:]:
        if row and row[0].startswith(FORMULA_TRIGGERS):
            return f"formula cell exported: {row[0]!r}"
    for t in texts:
        s, md = slug(t), md_text(t)
        if "/" in s or s.startswith((".", "-")) or not s:
            return f"slug {s!r} of {t!r} can leave the folder"
        if "<" in md or ">" in md:
            return f"markup left in Markdown: {md!r}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10000, help="generated cases in all (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one case may take (default 60)")
    args = ap.parse_args()
    failures = fuzz(args.cases, args.seed, args.timeout, verbose=True)
    return 1 if failures else 0


def fuzz(cases: int, seed_value: int = 0, timeout: float = 60.0, verbose: bool = False) -> list[str]:
    """Run ``cases`` generated cases (70 % command lines, 20 % catalog files, 10 % exports);
    returns the failures, each with its input."""
    signal.signal(signal.SIGALRM, _alarm)
    failures: list[str] = []
    counts = {"command": 0, "loader": 0, "export": 0}
    exits: dict[object, int] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-cli-") as tmp:
        work = Work(Path(tmp))
        kinds = ["command"] * 7 + ["loader"] * 2 + ["export"]
        texts = st.lists(
            st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=20)), min_size=1, max_size=5
        )

        @seed(seed_value)
        @settings(
            max_examples=cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def one(data):
            kind = data.draw(st.sampled_from(kinds))
            counts[kind] += 1
            if kind == "command":
                main_fn, argv = data.draw(command_lines(work))
                problem, code = run_command(main_fn, argv, timeout)
                exits[code] = exits.get(code, 0) + 1
                label = ("tco " if main_fn is tco_main else "perfmodel ") + " ".join(map(repr, argv))
            elif kind == "loader":
                payload = data.draw(catalog_files())
                problem, label = check_loader(payload, timeout), f"catalog bytes {payload[:200]!r}"
            else:
                payload = data.draw(texts)
                problem, label = check_exports(payload), f"export texts {payload!r}"
            if problem:
                failures.append(f"{label}\n  {problem}")
            n = sum(counts.values())
            if verbose and n % 500 == 0:
                print(
                    f"{n:,} cases, {len(failures)} failures, {time.perf_counter() - start:,.0f} s", flush=True
                )

        one()
    total = sum(counts.values())
    if verbose:
        for f in failures:
            print("FAIL", f)
        print(
            f"{total:,} cases ({counts['command']:,} command lines, {counts['loader']:,} catalog files, "
            f"{counts['export']:,} exports) in {time.perf_counter() - start:,.0f} s: {len(failures)} failures"
        )
        print("exit statuses of the command lines:", dict(sorted(exits.items(), key=str)))
    return failures


if __name__ == "__main__":
    sys.exit(main())
