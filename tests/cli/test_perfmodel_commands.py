"""``python -m perfmodel``: JSON contracts, one-line errors with exit status 2, files written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import perfmodel
from liminal_cli.arguments import run
from liminal_cli.perfmodel_commands import main
from perfmodel.catalog.folder import DEFAULT_DIR

ROOT = Path(__file__).resolve().parents[2]
DECODE_KEYS = set(
    ["utps", "stps", "batch", "fits", "t_batch_s", "t_compute_s", "t_mem_s", "t_exposed_s", "memory_gib"]
)
#: A subprocess builds the unit registry and imports polars: generous, but bounded.


def _run(capsys, *args: str) -> tuple[int, str, str]:
    """In-process, the way ``python -m perfmodel`` runs (argparse exits with SystemExit)."""
    try:
        code = run(main, list(args))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


# --- decode and capacity ---------------------------------------------------------------------------


@pytest.mark.subprocess
def test_decode_json_subprocess_matches_the_api(run_command):
    args = [
        "--model",
        "llama3-70b",
        "--hardware",
        "xpu-hbm3",
        "--tp",
        "8",
        "--batch",
        "1",
        "--context",
        "131072",
    ]
    p = run_command("perfmodel", "decode", *args, "--scenario", "liminal-2025", "--json")
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert set(got) >= DECODE_KEYS
    want = perfmodel.decode("llama3-70b", "xpu-hbm3", tp=8, batch=1, context=131072, scenario="liminal-2025")
    assert got["utps"] == want.utps.to("token/s").m
    assert got["stps"] == want.stps.to("token/s").m
    assert got["t_batch_s"] == want.t_batch.to("s").m
    assert got["t_compute_s"] == want.t_compute.to("s").m
    assert got["t_mem_s"] == want.t_mem.to("s").m
    assert got["t_exposed_s"] == want.t_exposed.to("s").m
    assert got["memory_gib"] == want.memory_needed.to("GiB").m
    assert (got["batch"], got["fits"], got["scenario"]) == (1, True, "liminal-2025")


@pytest.mark.parametrize(
    "extra,kwargs",
    [
        ([], {}),
        (["--pp", "2", "--batch", "max"], {"pp": 2, "batch": "max"}),
        (["--sync-us", "3"], {"sync": perfmodel.Q_(3, "us")}),
        (["--precision", "bf16"], {"precision": "bf16"}),
    ],
)
def test_decode_json_in_process_matches_the_api(capsys, extra, kwargs):
    args = {"tp": 4, "batch": 16, "context": 8192} | {k: v for k, v in kwargs.items() if k in ("pp", "batch")}
    argv = ["decode", "--model", "qwen3-30b-a3b", "--hardware", "h100-sxm", "--tp", "4", "--context", "8192"]
    if "--batch" not in extra:
        argv += ["--batch", "16"]
    code, out, _ = _run(capsys, *argv, *extra, "--json")
    assert code == 0
    got = json.loads(out)
    want = perfmodel.decode(
        "qwen3-30b-a3b",
        "h100-sxm",
        **args,
        **{k: v for k, v in kwargs.items() if k not in ("pp", "batch")},
    ).as_dict()
    for key in DECODE_KEYS:
        assert got[key] == want[key], key
    assert got["precision"] == kwargs.get("precision", "fp8")


def test_decode_table_output(capsys):
    code, out, _ = _run(
        capsys, "decode", "--model", "llama3-8b", "--hardware", "h100-sxm", "--tp", "1", "--batch", "1",
        "--context", "4096",
    )  # fmt: skip
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    want = perfmodel.decode("llama3-8b", "h100-sxm", tp=1, batch=1, context=4096)
    assert float(lines["utps"]) == pytest.approx(want.utps.m, rel=1e-5)  # printed to 6 figures
    assert lines["fits"] == "True"


def test_capacity_json(capsys):
    code, out, _ = _run(
        capsys, "capacity", "--model", "llama3-8b", "--context", "4096", "--batch", "32",
        "--scenario", "liminal-2025", "--json",
    )  # fmt: skip
    assert code == 0
    got = json.loads(out)
    assert {"weights_gib", "kv_gib", "total_gib"} <= set(got)
    weights, kv = 7e9, 32 * 4096 * 32 * 2 * 8 * 128
    assert got["weights_gib"] == pytest.approx(weights / 2**30, rel=1e-12)
    assert got["kv_gib"] == pytest.approx(kv / 2**30, rel=1e-12)
    assert got["total_gib"] == pytest.approx((weights + kv) / 2**30, rel=1e-12)


@pytest.mark.subprocess
def test_non_fitting_configuration_is_an_answer(run_command):
    p = run_command("perfmodel",
        "decode", "--model", "llama3-405b", "--hardware", "h100-sxm", "--tp", "1", "--batch", "1",
        "--context", "4096", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["fits"] is False
    assert got["memory_gib"] > got["memory_available_gib"] == 80
    assert "does not fit" in p.stderr


# --- user errors: one line, exit 2, no traceback --------------------------------------------------


@pytest.mark.subprocess
def test_unknown_model_lists_valid_names(run_command):
    p = run_command(
        "perfmodel",
        *[
            "decode",
            "--model",
            "llama9",
            "--hardware",
            "h100-sxm",
            "--tp",
            "1",
            "--batch",
            "1",
            "--context",
            "8",
        ],
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'llama9'" in lines[0]
    for name in ("llama3-8b", "llama3-70b", "deepseek-v3", "gpt-oss-120b"):
        assert name in lines[0]
    assert p.stdout == ""


def test_unknown_hardware_lists_valid_names(capsys):
    code, out, err = _run(
        capsys, "decode", "--model", "llama3-8b", "--hardware", "h900", "--tp", "1", "--batch", "1",
        "--context", "8",
    )  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "'h900'" in err and "h100-sxm" in err and "xpu-hbm3" in err


def test_unknown_model_in_capacity(capsys):
    code, _, err = _run(capsys, "capacity", "--model", "nope", "--context", "8", "--batch", "1")
    assert code == 2
    assert "'nope'" in err and "llama3-8b" in err


@pytest.mark.parametrize(
    "flag,value",
    [("--batch", "0"), ("--tp", "-1"), ("--context", "abc"), ("--pp", "1.5"), ("--sync-us", "-1")],
)
def test_bad_number_names_the_flag(capsys, flag, value):
    base = {"--model": "llama3-8b", "--hardware": "h100-sxm", "--tp": "1", "--batch": "1", "--context": "8"}
    argv = ["decode"]
    for k, v in (base | {flag: value}).items():
        argv += [k, v]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert f"argument {flag}" in lines[0]
    assert repr(value) in lines[0]


@pytest.mark.subprocess
def test_bad_number_subprocess_has_no_traceback(run_command):
    p = run_command(
        "perfmodel",
        *[
            "decode",
            "--model",
            "llama3-8b",
            "--hardware",
            "h100-sxm",
            "--tp",
            "-1",
            "--batch",
            "1",
            "--context",
            "8",
        ],
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "--tp" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_invalid_parallelism_is_a_user_error(capsys):
    code, _, err = _run(
        capsys, "decode", "--model", "llama3-8b", "--hardware", "h100-sxm", "--tp", "8", "--ep", "2",
        "--batch", "1", "--context", "8",
    )  # fmt: skip
    assert code == 2
    assert "ep must be 1 for the dense model llama3-8b" in err


# --- sweep ----------------------------------------------------------------------------------------

SWEEP = [
    "sweep", "--model", "llama3-8b", "deepseek-v3", "--hardware", "h100-sxm", "xpu-hbm3",
    "--tp", "1", "8", "--ep", "1", "8", "--batch", "1", "8", "max", "--context", "1024",
]  # fmt: skip
# llama3-8b: 2 hw x 2 tp x 3 batch; deepseek-v3: 2 hw x (tp1: ep1; tp8: ep1, ep8) x 3 batch
SWEEP_ROWS = 2 * 2 * 3 + 2 * 3 * 3


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sweep_writes_every_row(capsys, tmp_path, suffix):
    out = tmp_path / "sub" / f"grid{suffix}"
    code, stdout, _ = _run(capsys, *SWEEP, "--out", str(out), "--json")
    assert code == 0
    assert json.loads(stdout) == {"rows": SWEEP_ROWS, "out": str(out)}
    df = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
    assert df.height == SWEEP_ROWS
    want = perfmodel.decode_grid(
        ["llama3-8b", "deepseek-v3"], ["h100-sxm", "xpu-hbm3"], tp=[1, 8], ep=[1, 8], batch=[1, 8, "max"],
        context=[1024],
    )  # fmt: skip
    assert df["utps"].to_list() == pytest.approx(want["utps"].to_list(), rel=1e-12)


@pytest.mark.subprocess
def test_sweep_subprocess_csv(run_command, tmp_path):
    out = tmp_path / "grid.csv"
    p = run_command("perfmodel", *SWEEP, "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert pl.read_csv(out).height == SWEEP_ROWS
    assert f"{SWEEP_ROWS:,}" in p.stdout


def test_sweep_refuses_other_suffixes(capsys, tmp_path):
    code, _, err = _run(capsys, *SWEEP, "--out", str(tmp_path / "grid.xlsx"))
    assert code == 2
    assert "--out must end in .csv or .parquet" in err
    assert not (tmp_path / "grid.xlsx").exists()


# --- validate and catalogs ------------------------------------------------------------------------


@pytest.mark.subprocess
def test_validate_exits_zero(run_command):
    p = run_command("perfmodel", "validate")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "gated_failures" in p.stdout
    assert "llama3-70b" in p.stdout


def test_validate_json_summary(capsys):
    code, out, _ = _run(capsys, "validate", "--json")
    assert code == 0
    got = json.loads(out)
    assert got["summary"]["gated_failures"] == 0
    assert got["summary"]["cases"] == len(got["cases"]) == 32


def _broken_hardware(folder: Path) -> None:
    text = (DEFAULT_DIR / "hardware.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("h100-sxm,"))
    lines[i] = lines[i].replace("h100-sxm,NVIDIA,HBM3,3.35,", "h100-sxm,NVIDIA,HBM3,-3.35,")
    assert lines[i] != text.splitlines()[i]
    (folder / "hardware.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return i + 1  # line number in the file


@pytest.mark.subprocess
def test_broken_catalog_folder_names_file_row_column(run_command, tmp_path):
    line = _broken_hardware(tmp_path)
    p = run_command("perfmodel",
        "decode", "--model", "llama3-8b", "--hardware", "h100-sxm", "--tp", "1", "--batch", "1",
        "--context", "8", "--catalogs", str(tmp_path),
    )  # fmt: skip
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert f"hardware.csv:{line}:mem_bw" in p.stderr
    assert "'-3.35'" in p.stderr
    assert p.stdout == ""


def test_broken_catalog_folder_in_validate(capsys, tmp_path):
    line = _broken_hardware(tmp_path)
    code, _, err = _run(capsys, "validate", "--catalogs", str(tmp_path))
    assert code == 2
    assert f"hardware.csv:{line}:mem_bw" in err


def test_catalog_folder_is_used(capsys, tmp_path):
    text = (DEFAULT_DIR / "hardware.csv").read_text(encoding="utf-8").replace("h100-sxm,", "my-h100,")
    (tmp_path / "hardware.csv").write_text(text, encoding="utf-8")
    argv = ["decode", "--model", "llama3-8b", "--tp", "1", "--batch", "1", "--context", "8", "--json"]
    code, out, _ = _run(capsys, *argv, "--hardware", "my-h100", "--catalogs", str(tmp_path))
    assert code == 0
    mine = json.loads(out)
    code, out, _ = _run(capsys, *argv, "--hardware", "h100-sxm")
    assert mine["utps"] == json.loads(out)["utps"]


@pytest.mark.subprocess
def test_broken_models_catalog_is_a_user_error_not_a_traceback(run_command, tmp_path):
    # a models.csv whose MoE rows have a bad 'layers' cell is a catalog problem (file:row:column)
    text = (DEFAULT_DIR / "models.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("deepseek-v3,"))
    lines[i] = lines[i].replace("deepseek-v3,61,", "deepseek-v3,sixty-one,")
    (tmp_path / "models.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = run_command("perfmodel", "validate", "--catalogs", str(tmp_path))
    assert "Traceback" not in p.stderr
    assert p.returncode == 2
    assert f"models.csv:{i + 1}:layers" in p.stderr


def test_missing_dependency_ends_in_one_line(tmp_path, monkeypatch):
    """A CLI whose dependency is not installed exits with one line naming the package and the fix."""
    from liminal_cli.startup import launch

    (tmp_path / "needs_missing_dep.py").write_text("import no_such_package_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        launch("needs_missing_dep")
    message = str(exit_info.value.code)
    assert message.startswith("error: the Python package 'no_such_package_xyz' is not installed")
    assert "pip install -e ." in message and "\n" not in message
