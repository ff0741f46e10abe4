"""Issue 25, files and paths: every input and output a regular file, no output over an input of
the same command, writes through a temporary file renamed into place (a failure names its path
and leaves no half file), one lock for every writer of a catalog folder, a dangling link an
error, and exit status 2 for every bad input.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from liminal_cli.arguments import run
from liminal_cli.perfmodel_commands import main as perf_main
from liminal_cli.tco_commands import main as tco_main
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.catalog.journal import LOCK_FILE
from perfmodel.catalog.table import MAX_FILE_BYTES, preamble
from perfmodel.inputs import CatalogError
from perfmodel.outputs import NotRegularFile, read_regular, write_output

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DEMAND = ROOT / "examples" / "demand.csv"


def _one_line(main, *argv: str, capsys, code: int = 2) -> str:
    """Run a command as its entry point does; it must end with ``code`` and one line on stderr
    (a progress bar's lines aside)."""
    try:
        got = run(main, list(argv))
    except SystemExit as e:  # argparse's usage errors
        got = e.code
    _, err = capsys.readouterr()
    assert got == code, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("report: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


# --- outputs go only to a regular file ---------------------------------------------------------------


def test_fit_refuses_a_character_device(capsys):
    line = _one_line(perf_main, "fit", "--out", "/dev/full", capsys=capsys)
    assert line == "error: --out /dev/full: is a character device, not a regular file; give a file name"
    assert Path("/dev/full").is_char_device()


def test_power_fit_refuses_a_fifo_a_device_and_links_to_them(tmp_path, fifo, capsys):
    to_fifo, to_device, dangling = tmp_path / "to-fifo", tmp_path / "to-null", tmp_path / "dangling"
    to_fifo.symlink_to(fifo)
    to_device.symlink_to("/dev/null")
    dangling.symlink_to(tmp_path / "nothing")
    cases = {
        fifo: "a FIFO (named pipe)",
        Path("/dev/null"): "a character device",
        to_fifo: "a FIFO (named pipe)",
        to_device: "a character device",
        dangling: "a link to a missing file",
    }
    for path, kind in cases.items():
        line = _one_line(tco_main, "power-fit", "--out", str(path), capsys=capsys)
        assert line == f"error: --out {path}: is {kind}, not a regular file; give a file name"
    assert fifo.is_fifo() and Path("/dev/null").is_char_device()
    assert dangling.is_symlink() and not (tmp_path / "nothing").exists()


def test_write_output_refuses_special_files_and_writes_through_a_link(tmp_path, fifo):
    with pytest.raises(NotRegularFile, match="is a FIFO"):
        write_output(fifo, "x")
    assert fifo.is_fifo()
    target, link = tmp_path / "target.csv", tmp_path / "link.csv"
    target.write_text("old")
    link.symlink_to(target)
    write_output(link, "new")
    assert link.is_symlink() and target.read_text() == "new"  # the link kept, its file replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "pipe.csv", "target.csv"]


# --- never over an input of the same command ---------------------------------------------------------


def test_fit_refuses_to_overwrite_its_measurements(tmp_path, capsys):
    folder = tmp_path / "cats"
    folder.mkdir()
    shutil.copy(DEFAULT_DIR / "measurements.csv", folder)
    (tmp_path / "alias.csv").hardlink_to(folder / "measurements.csv")  # same inode, another name
    before = (folder / "measurements.csv").read_bytes()
    for out in (folder / "measurements.csv", tmp_path / "x" / ".." / "cats" / "measurements.csv"):
        line = _one_line(perf_main, "fit", "--catalogs", str(folder), "--out", str(out), capsys=capsys)
        assert line == (
            f"error: --out {out}: would overwrite {folder / 'measurements.csv'}, an input of this command; "
            "write to another file"
        )
    line = _one_line(
        perf_main, "fit", "--catalogs", str(folder), "--out", str(tmp_path / "alias.csv"), capsys=capsys
    )
    assert "would overwrite" in line and str(folder / "measurements.csv") in line
    assert (folder / "measurements.csv").read_bytes() == before


def test_plan_refuses_to_overwrite_its_demand(tmp_path, capsys):
    demand = tmp_path / "demand.csv"
    shutil.copy(EXAMPLE_DEMAND, demand)
    line = _one_line(tco_main, "plan", "--demand", str(demand), "--out", str(demand), capsys=capsys)
    assert (
        line
        == f"error: --out {demand}: would overwrite {demand}, an input of this command; write to another file"
    )
    assert demand.read_bytes() == EXAMPLE_DEMAND.read_bytes()


def test_plan_demand_must_be_a_regular_file(fifo, tmp_path, capsys):
    for path, kind in ((Path("/dev/zero"), "a character device"), (fifo, "a FIFO (named pipe)")):
        line = _one_line(tco_main, "plan", "--demand", str(path), capsys=capsys)
        assert line == f"error: --demand {path}: is {kind}, not a regular file; give a CSV file"
    line = _one_line(tco_main, "plan", "--demand", str(tmp_path / "none.csv"), capsys=capsys)
    assert line == f"error: --demand {tmp_path / 'none.csv'}: no such file"


# --- one lock for every writer of a catalog folder ----------------------------------------------------


@pytest.mark.subprocess
def test_fit_into_a_catalog_folder_holds_its_lock_and_keeps_a_chip_added_meanwhile(
    tmp_path, monkeypatch, capsys
):
    """The fit reads and writes under the folder's lock: a ``new-chip`` started during the fit
    waits for it, then adds its rows to the fitted file (it used to be lost)."""
    import perfmodel.calibration.efficiency_fit as efficiency_fit

    folder = tmp_path / "cats"
    folder.mkdir()
    shutil.copy(DEFAULT_DIR / "efficiencies.csv", folder)
    real_fit, started = efficiency_fit.fit, []

    def fit_while_new_chip_starts(*args, **kwargs):
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
        try:  # another open file of the lock: a shared lock is refused while the fit holds it
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        if not started:
            argv = ["catalog", "new-chip", "--name", "late-chip", "--catalogs", str(folder)]
            started.append(subprocess.Popen([sys.executable, "-m", "tco", *argv], cwd=ROOT, text=True))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(efficiency_fit, "fit", fit_while_new_chip_starts)
    out = folder / "efficiencies.csv"
    assert run(perf_main, ["fit", "--catalogs", str(folder), "--out", str(out)]) == 0
    assert started[0].wait(timeout=300) == 0
    efficiencies = load_catalogs(folder)["efficiencies"].df
    assert "late-chip" in set(efficiencies["hardware"])
    assert (efficiencies["fit"].str.starts_with("joint least squares")).sum() > 0  # the fitted rows kept
    assert (folder / "efficiencies.csv.bak").read_bytes() == (DEFAULT_DIR / "efficiencies.csv").read_bytes()
    capsys.readouterr()


# --- inputs: a dangling link is an error, never the default; reads are capped ---------------------------


def test_a_dangling_catalog_link_is_an_error_naming_the_file(tmp_path, capsys):
    folder = tmp_path / "cats"
    folder.mkdir()
    (folder / "hardware.csv").symlink_to(tmp_path / "moved-away.csv")
    with pytest.raises(CatalogError, match="link to a missing file"):
        load_catalogs(folder)
    try:
        code = run(tco_main, ["catalog", "check", str(folder)])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2 and err == f"error: {folder}: 1 error(s), listed above\n"
    assert out.splitlines() == [
        f"error: hardware.csv: expected a regular file ({folder / 'hardware.csv'} is a link to a missing file)",
        f"1 error(s), 0 warning(s) in {folder}",
    ]


def test_a_catalog_that_is_a_device_or_fifo_is_refused_not_read(tmp_path, fifo, capsys):
    folder = tmp_path / "cats"
    folder.mkdir()
    (folder / "hardware.csv").symlink_to("/dev/zero")
    shutil.move(fifo, folder / "models.csv")
    assert run(tco_main, ["rank", "--model", "llama3-70b", "--catalogs", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [  # a catalog error lists every problem, one line each
        "error: 2 problem(s) in catalog data:",
        f"  models.csv: expected a regular file ({folder / 'models.csv'} is a FIFO (named pipe))",
        f"  hardware.csv: expected a regular file ({folder / 'hardware.csv'} is a character device)",
    ]


def test_reads_stop_one_byte_past_the_cap(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(64 * MAX_FILE_BYTES)  # sparse: 64 MiB that cost no disk
    assert len(read_regular(big, MAX_FILE_BYTES)) == MAX_FILE_BYTES + 1
    with pytest.raises(NotRegularFile, match="character device"):
        read_regular("/dev/zero", MAX_FILE_BYTES)


# --- the loader and the writers agree on comment lines -----------------------------------------------


def test_a_comment_starting_with_a_space_is_a_comment_for_every_writer(tmp_path, capsys):
    assert preamble(" # note\n\n# more\nname,x\nrow,1\n") == ([" # note", "", "# more"], "name,x")
    folder = tmp_path / "cats"
    folder.mkdir()
    for name in ("hardware.csv", "efficiencies.csv", "power_calibration.csv"):
        (folder / name).write_text(" # my note\n" + (DEFAULT_DIR / name).read_text(encoding="utf-8"))
    assert run(tco_main, ["catalog", "new-chip", "--name", "noted-chip", "--catalogs", str(folder)]) == 0
    capsys.readouterr()
    cats = load_catalogs(folder)
    for table in ("hardware", "efficiencies", "power_calibration"):
        assert (folder / f"{table}.csv").read_text().startswith(" # my note\n")
    assert "noted-chip" in cats["hardware"].names()
    assert "noted-chip" in set(cats["efficiencies"].df["hardware"])
    assert cats["power_calibration"].df.filter(hardware="noted-chip")["resembles"].to_list() != [None]


# --- new-chip validates everything before it writes, and never writes the packaged catalogs ----------


def test_new_chip_refuses_a_name_given_by_set_before_writing(tmp_path, capsys):
    folder = tmp_path / "cats"
    argv = ["catalog", "new-chip", "--name", "ok", "--set", 'name==HYPERLINK("http://x")', "--catalogs"]
    line = _one_line(tco_main, *argv, str(folder), capsys=capsys)
    assert line == 'error: --set name==HYPERLINK("http://x"): the name is given by --name, not by --set'
    assert not folder.exists()


def test_new_chip_refuses_the_packaged_catalogs_however_spelled(tmp_path, monkeypatch, capsys):
    before = _snapshot(DEFAULT_DIR)
    link = tmp_path / "defaults"
    link.symlink_to(DEFAULT_DIR)
    monkeypatch.chdir(DEFAULT_DIR.parent)
    for spelling in ("catalogs", "./catalogs/", str(DEFAULT_DIR / ".." / "catalogs"), str(link)):
        for command in (["catalog", "new-chip"], ["design", "new"]):
            line = _one_line(tco_main, *command, "--name", "x-chip", "--catalogs", spelling, capsys=capsys)
            assert line.startswith(f"error: --catalogs {Path(spelling)}: is the packaged catalogs folder")
    assert _snapshot(DEFAULT_DIR) == before and not (DEFAULT_DIR / LOCK_FILE).exists()


# --- a failed write names its path and leaves no half file; exit 2 for a broken folder --------------


def _full_disk(*_args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    path.write_text("old")
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError) as failed:
        write_output(path, "new")
    assert failed.value.errno == errno.ENOSPC and failed.value.filename == str(path)
    assert sorted(tmp_path.iterdir()) == [path] and path.read_text() == "old"


def test_report_on_a_full_disk_is_one_line_with_the_path_and_no_truncated_png(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    monkeypatch.setattr(os, "fsync", _full_disk)
    line = _one_line(
        tco_main,
        "report",
        "--model",
        "llama3-8b",
        "--context",
        "4096",
        "--out",
        str(out),
        capsys=capsys,
        code=1,
    )
    assert line.startswith(f"error: {out}") and line.endswith(".png: No space left on device"), line
    assert list(out.iterdir()) == []


def test_catalog_check_of_a_broken_folder_exits_2(tmp_path, capsys):
    folder = tmp_path / "cats"
    folder.mkdir()
    (folder / "hardware.csv").write_text("name,mem_bw[TB/s]\nx,fast\n")
    try:
        code = run(tco_main, ["catalog", "check", str(folder)])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2 and "error: hardware.csv:2:mem_bw" in out
    errors = sum(line.startswith("error: hardware.csv") for line in out.splitlines())
    assert err.splitlines() == [f"error: {folder}: {errors} error(s), listed above"]
