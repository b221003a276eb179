"""Outputs stay where the user put them: names, lock, manifest, location checks, leftovers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from basingov import pipeline, scale
from basingov._outdir import MANIFEST, check_output_dir, output_lock, remove_stale
from basingov._values import check_file_name
from basingov.cli import cli
from basingov.config import load_config
from basingov.errors import (
    ConfigError,
    InputError,
    OutputError,
    OutputExistsError,
    OutputLockedError,
)
from basingov.io import atomic_dir, atomic_path, clean_outputs, write_csv
from basingov.pipeline import run, run_many


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _written(folder: Path, files: dict[str, str]) -> Path:
    with atomic_dir(folder, overwrite=True) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)
    return folder


# --- names from configs ---------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/tmp/x",
        "a/b",
        ".hidden",
        "..",
        "",
        "a b",
        "x\\y",
        "C:x",
        "a\x00b",
        "-rf",
        "é" * 101,
        "toy\n",  # was accepted ("$" matches before a final newline); the run failed late
        "toy\r",
        "CON",  # Windows device names, also with an extension
        "nul.gpkg",
        "com1",
        "toy.",
    ],
)
def test_unsafe_basin_names_are_config_errors(name: str, toy: object, tmp_path: Path) -> None:
    toml_name = (
        name.replace("\\", "\\\\")
        .replace("\x00", "\\u0000")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )
    cfg = toy(replace={'name = "toy"': f'name = "{toml_name}"'})  # type: ignore[operator]
    with pytest.raises(ConfigError, match=r"\[basin\]\.name = .* cannot be used as a file name"):
        load_config(cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]


def test_safe_names_pass() -> None:
    for name in ("rhine", "taihu_2020", "Lake-Taihu.v2", "太湖", "console", "Rhône", "x" * 100):
        assert check_file_name(name, where="x") == name


# --- the lock --------------------------------------------------------------------------
def test_second_run_to_a_locked_folder_fails_cleanly(toy: object, tmp_path: Path) -> None:
    cfg = toy()  # type: ignore[operator]
    out = tmp_path / "out"
    real = check_output_dir(out, overwrite=False)
    with (
        output_lock(real),
        pytest.raises(OutputLockedError, match=r"another basingov run \(pid \d+\) is writing"),
    ):
        run(cfg, out_dir=out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_lock_file_is_removed_and_reacquired(tmp_path: Path) -> None:
    real = tmp_path / "o"
    with output_lock(real):
        assert (tmp_path / ".o.basingov.lock").exists()
    assert not (tmp_path / ".o.basingov.lock").exists()
    with output_lock(real):
        pass


# --- the manifest and --overwrite -------------------------------------------------------
def test_manifest_lists_every_file(tmp_path: Path) -> None:
    out = _written(tmp_path / "o", {"a.csv": "1", "tables/b.csv": "2"})
    body = json.loads((out / MANIFEST).read_text())
    assert body["files"] == ["a.csv", "tables/b.csv"]
    assert body["written_by"].startswith("basingov ")


def test_overwrite_replaces_only_what_basingov_wrote(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(
        OutputExistsError,
        match=r"was not written by basingov \(it has no \.basingov-manifest\.json\)",
    ):
        _written(mine, {"a.csv": "1"})
    assert (mine / "thesis.docx").read_text() == "years of work"
    out = _written(tmp_path / "o", {"a.csv": "1"})
    (out / "notes.txt").write_text("mine")
    (out / "sub").mkdir()
    with pytest.raises(
        OutputExistsError, match=r"holds files basingov did not write: \['notes.txt', 'sub'\]"
    ):
        _written(out, {"a.csv": "2"})
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    (out / "sub").rmdir()
    _written(out, {"a.csv": "2"})
    assert (out / "a.csv").read_text() == "2"
    # a corrupt manifest owns nothing
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(OutputExistsError, match=r"was not written by basingov"):
        _written(out, {"a.csv": "3"})
    # an empty folder may be replaced with --overwrite, but not without it
    (tmp_path / "empty").mkdir()

    def plain() -> None:
        with atomic_dir(tmp_path / "empty"):
            pass

    with pytest.raises(OutputExistsError, match=r"already exists; pass overwrite=True"):
        plain()
    _written(tmp_path / "empty", {"a.csv": "1"})


def test_folder_created_during_the_run_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "o"

    def race() -> None:
        with atomic_dir(out) as tmp:
            (tmp / "a.csv").write_text("ours")
            out.mkdir()
            (out / "theirs.txt").write_text("theirs")

    with pytest.raises(
        OutputExistsError, match=r"created by something else while basingov was running"
    ):
        race()
    assert sorted(p.name for p in out.iterdir()) == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_files_added_during_an_overwrite_run_are_kept(tmp_path: Path) -> None:
    out = _written(tmp_path / "o", {"a.csv": "1"})

    def race() -> None:
        with atomic_dir(out, overwrite=True) as tmp:
            (tmp / "a.csv").write_text("2")
            (out / "late.txt").write_text("keep me")

    with pytest.raises(
        OutputExistsError, match=r"holds files basingov did not write: \['late.txt'\]"
    ):
        race()
    assert (out / "late.txt").read_text() == "keep me"
    assert (out / "a.csv").read_text() == "1"


# --- the location, checked before the work ----------------------------------------------
@pytest.mark.parametrize(
    ("target", "match"),
    [
        (".", r"is the current folder or one of its parents"),
        ("..", r"is the current folder or one of its parents"),
        ("/", r"is the current folder or one of its parents \(or the root\)"),
        ("afile/out", r"afile is a file, not a folder"),
        ("afile/deeper/out", r"afile is a file, not a folder"),
        ("afile", r"exists and is a file"),
        # variants: a link loop in the path (was an internal RuntimeError), a name too long
        # for the temporary and lock names beside it (was ENAMETOOLONG after the lock)
        ("loop/out", r"a symbolic link in its path points back to itself"),
        ("x" * 240, r"is 240 bytes long; give at most 207"),
        ("ü" * 120, r"is 240 bytes long"),
    ],
)
def test_bad_locations_fail_before_any_work(
    target: str, match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")

    def boom(*a: object, **k: object) -> None:
        msg = "the work started"
        raise AssertionError(msg)

    monkeypatch.setattr(pipeline, "load_basin", boom)
    with pytest.raises(OutputError, match=match):
        run("thames", out_dir=target, overwrite=True)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["run", "thames", "-o", "afile"], r"afile exists and is a file"),
        (["report", "thames", "-o", "afile"], r"afile exists and is a file"),
        (["compare", "thames", "-o", "afile"], r"afile exists and is a file"),
        (["query", "crossings", "thames", "-o", "adir.csv"], r"adir.csv is a folder"),
        (
            ["spill", "taihu", "--at", "119.924,31.781", "--mass", "1", "-o", "adir.csv"],
            r"adir.csv is a folder",
        ),
        (
            ["spill", "taihu", "--at", "119.924,31.781", "--mass", "1", "--map", "adir.html"],
            r"adir.html is a folder",
        ),
        (
            ["spill", "taihu", "--at", "119.924,31.781", "--mass", "1", "--map", "m.txt"],
            r"Cannot write m.txt: use a .html or .htm file name",
        ),
    ],
)
def test_a_file_for_a_folder_is_an_output_error_exit_1(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # click refused the first ones as usage errors (exit 2) although docs/errors.md says
    # OutputError (exit 1); --map wrote HTML into m.txt
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.csv").mkdir()
    (tmp_path / "adir.html").mkdir()
    r = CliRunner().invoke(cli, argv)
    assert r.exit_code == 1, r.output
    assert isinstance(r.exception, OutputError | InputError), r.exception
    assert __import__("re").search(match, str(r.exception)), r.exception


def test_a_path_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffname"))
    with pytest.raises(OutputError, match=r"is not UTF-8 text \(byte 0xff\)"):
        check_output_dir(bad / "out", overwrite=False)
    from basingov.io import read_vector

    with pytest.raises(InputError, match=r"is not UTF-8 text \(byte 0xff\); GDAL"):
        read_vector(bad / "x.gpkg")


def test_dangling_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match=r"is a symbolic link to .*nowhere, which does not exist"):
        check_output_dir(tmp_path / "link", overwrite=True)


# --- symlinks, umask ---------------------------------------------------------------------
def test_overwrite_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = _written(tmp_path / "real", {"a.csv": "1"})
    link = tmp_path / "link"
    link.symlink_to(real)
    _written(link, {"a.csv": "2"})
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert (real / "a.csv").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_file_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "data.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with atomic_path(link, overwrite=True) as tmp:
        tmp.write_text("new")
    assert link.is_symlink()
    assert target.read_text() == "new"


def test_file_output_never_replaces_a_folder(tmp_path: Path) -> None:
    (tmp_path / "t.csv").mkdir()
    (tmp_path / "t.csv" / "keep").write_text("x")

    with pytest.raises(OutputError, match=r"t.csv is a folder; give a file name"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", overwrite=True)
    assert (tmp_path / "t.csv" / "keep").exists()


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o002, 0o775)])
def test_folders_respect_the_umask(mask: int, mode: int, tmp_path: Path) -> None:
    old = os.umask(mask)
    try:
        out = _written(tmp_path / "o", {"tables/a.csv": "1"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert stat.S_IMODE((out / "tables").stat().st_mode) == mode


# --- leftovers of dead runs -----------------------------------------------------------
def test_stale_temp_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead, reused = _dead_pid(), os.getppid()
    stale = tmp_path / f".o.basingov-{dead}-0badc0de.tmp"
    stale.mkdir()
    (stale / "half.gpkg").write_text("half")
    stale_file = tmp_path / f".o.basingov-{dead}-0badc0df.tmp.csv"
    stale_file.write_text("x")
    # a killed run whose process id now belongs to another, live process (after a reboot):
    # no run holds the folder's lock, so it is a leftover too (it was kept for ever)
    reused_pid = tmp_path / f".o.basingov-{reused}-0badc0de.tmp"
    reused_pid.mkdir()
    other = tmp_path / f".other.basingov-{dead}-0badc0de.tmp"
    other.mkdir()
    _written(tmp_path / "o", {"a.csv": "1"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["o", other.name])
    r = CliRunner().invoke(cli, ["clean", str(tmp_path / "other")])
    assert r.exit_code == 0, r.output
    assert "1 leftover(s) removed" in r.stderr
    assert not other.exists()


def test_clean_keeps_what_a_live_run_is_writing(tmp_path: Path) -> None:
    real = check_output_dir(tmp_path / "o", overwrite=False)
    with output_lock(real):  # a run writing o holds its lock ...
        running = tmp_path / f".o.basingov-{os.getppid()}-0badc0de.tmp"
        running.mkdir()
        assert clean_outputs(tmp_path / "o") == []
        assert clean_outputs(tmp_path) == []
        assert running.exists()  # ... so its temporary folder is kept
    assert clean_outputs(tmp_path / "o") == [running]  # the run is gone: a leftover


def test_clean_refuses_a_missing_folder_and_accepts_the_root(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"neither it nor its parent folder exists"):
        clean_outputs(tmp_path / "no" / "such")
    r = CliRunner().invoke(cli, ["clean", "/"])  # was an internal ValueError
    assert r.exit_code == 0, r.output


def test_a_killed_file_write_is_cleaned_by_the_next_write(tmp_path: Path) -> None:
    # `query -o x.gpkg` killed while writing left .x.gpkg.basingov-PID-*.tmp.gpkg for ever
    left = tmp_path / f".x.csv.basingov-{_dead_pid()}-0badc0de.tmp.csv"
    left.write_text("half")
    write_csv(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_backup_of_a_run_killed_between_renames_is_restored(tmp_path: Path) -> None:
    backup = tmp_path / f".o.basingov-{_dead_pid()}-12345678.old"
    backup.mkdir()
    (backup / "a.csv").write_text("previous")
    assert remove_stale(tmp_path / "o") == []
    assert (tmp_path / "o" / "a.csv").read_text() == "previous"


def test_clean_on_a_run_all_parent(tmp_path: Path) -> None:
    parent = tmp_path / "out"
    _written(parent / "rhine", {"a.csv": "1"})
    stale = parent / f".thames.basingov-{_dead_pid()}-abcdef01.tmp"
    stale.mkdir()
    lock = parent / ".rhine.basingov.lock"
    lock.write_text("1")
    removed = clean_outputs(parent)
    assert sorted(p.name for p in removed) == sorted([stale.name, lock.name])
    assert sorted(p.name for p in parent.iterdir()) == ["rhine"]


# --- run_many -------------------------------------------------------------------------
def test_run_many_refuses_two_configs_with_one_name(toy: object, tmp_path: Path) -> None:
    a = toy(sub="a")  # type: ignore[operator]
    b = toy(sub="b")  # type: ignore[operator]
    with pytest.raises(ConfigError, match=r"both name their basin 'toy'"):
        run_many([str(a), str(b)], out_dir=tmp_path / "out", scheduler="synchronous")


@pytest.mark.parametrize("address", ["nonsense", "http://x:1", "tcp://", "tcp://a b:1"])
def test_run_many_refuses_a_bad_scheduler_before_work(address: str, tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"is not 'local', 'synchronous' or a dask scheduler address"
    ):
        run_many(["thames"], out_dir=tmp_path, scheduler=address)


def test_empty_scheduler_is_refused_by_the_cli(tmp_path: Path) -> None:
    # `--scheduler ""` (an unset shell variable) silently started a local cluster
    r = CliRunner().invoke(cli, ["run", "all", "-o", str(tmp_path / "o"), "--scheduler", ""])
    assert r.exit_code == 1
    assert "--scheduler '' is not 'local', 'synchronous' or a dask scheduler address" in str(
        r.exception
    )
    assert not (tmp_path / "o").exists()


def test_compare_refuses_a_run_folder_naming_files_outside_it(tmp_path: Path) -> None:
    from basingov.compare import read_run

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(json.dumps({"basin": "../../etc/x"}))
    with pytest.raises(InputError, match=r"summary.json: basin = '../../etc/x' cannot be used"):
        read_run(run_dir)


def test_unreachable_scheduler_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "SCHEDULER_TIMEOUT_S", 1)
    with pytest.raises(
        InputError, match=r"cannot reach the dask scheduler at tcp://127.0.0.1:9 within 1 s"
    ):
        run_many(["taihu"], out_dir=tmp_path, scheduler="tcp://127.0.0.1:9")
    assert list(tmp_path.iterdir()) == []


def test_a_stopped_run_all_removes_dead_basins_leftovers_and_names_live_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # after an interrupted run all: a basin whose worker is dead left its temporary folder
    # and lock (removed); one still running on a cluster started separately holds its
    # lock (kept, and named, since it will write its folder after the command has ended)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = tmp_path / f".taihu.basingov-{int(dead.stdout)}-0a1b2c3d.tmp"
    gone.mkdir()
    (gone / "run.log").write_text("stopped")
    (tmp_path / ".taihu.basingov.lock").write_text(dead.stdout)
    jobs = [("taihu.toml", str(tmp_path / "taihu")), ("rhine.toml", str(tmp_path / "rhine"))]
    with output_lock(tmp_path / "rhine"):  # a live run of the Rhine (this process)
        live = tmp_path / f".rhine.basingov-{os.getpid()}-0a1b2c3d.tmp"
        live.mkdir()
        with caplog.at_level("INFO", logger="basingov"):
            pipeline._clean_after(jobs)
        assert live.is_dir()
        assert (tmp_path / ".rhine.basingov.lock").exists()
    assert not gone.exists()
    assert not (tmp_path / ".taihu.basingov.lock").exists()
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 1
    assert said[0].startswith("still running on the dask cluster: rhine; ")
