"""No traceback reaches a user: OS errors, interrupts, bugs and usage errors, with exit codes."""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

import pytest

from basingov import pipeline
from basingov.cli import main
from basingov.errors import BasingovWarning
from tests.reliability.signals import default_signals


def _main(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setattr("sys.argv", ["basingov", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    code = info.value.code
    return (0 if code is None else int(code)), capsys.readouterr().err


def _raiser(exc: BaseException):  # type: ignore[no-untyped-def]
    def f(*a: object, **k: object) -> None:
        raise exc

    return f


@pytest.mark.parametrize(
    ("exc", "match"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/big/out/.x.tmp"),
            "Error: No space left on device at '/big/out/.x.tmp': the disk is full; free some space",  # noqa: E501
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/etc/out"),
            "Error: Permission denied at '/etc/out': permission denied; choose a path you can write to",  # noqa: E501
        ),
        (
            OSError(errno.EROFS, "Read-only file system", "/ro"),
            "Error: Read-only file system at '/ro': the file system is read-only",
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "/gone"),
            "Error: No such file or directory at '/gone': no such file or folder",
        ),
        (
            OSError(errno.EIO, "Input/output error"),
            "Error: Input/output error: the disk or network share reported an input/output",
        ),
        (
            OSError(errno.ENAMETOOLONG, "File name too long", "/o/" + "x" * 300),
            "Error: File name too long at '/o/xxx",
        ),
        (OSError(errno.ELOOP, "Too many levels of symbolic links", "/l"), "Error: Too many"),
        (OSError(errno.EXDEV, "Invalid cross-device link"), "Error: Invalid cross-device link"),
        (MemoryError(), "Error: out of memory; run one basin at a time"),
        (
            RuntimeError("kaboom"),
            "Error: internal error RuntimeError: kaboom. This is a bug in basingov",
        ),
    ],
)
def test_errors_are_one_paragraph(
    exc: BaseException,
    match: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(pipeline, "run", _raiser(exc))
    code, err = _main(["run", "thames", "-o", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 1
    assert err.startswith(match)
    assert "Traceback" not in err
    assert err.count("\n") == 1  # one paragraph


def test_vv_keeps_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pipeline, "run", _raiser(OSError(errno.ENOSPC, "No space left on device")))
    code, err = _main(["-vv", "run", "thames", "-o", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("Error: No space left on device")


@pytest.mark.parametrize(
    ("exc", "code", "text"), [(KeyboardInterrupt(), 130, "Interrupted"), (SystemExit(3), 3, "")]
)
def test_interrupts(
    exc: BaseException,
    code: int,
    text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(pipeline, "run", _raiser(exc))
    got, err = _main(["run", "thames", "-o", str(tmp_path / "o")], monkeypatch, capsys)
    assert got == code
    assert text in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["run"], "Missing argument 'BASIN'"),
        (["nonsense"], "No such command 'nonsense'"),
        (
            ["run", "thames", "--partitions", "0"],
            "Invalid value for '--partitions': 0 is not in the range x>=1",
        ),
        (["spill", "taihu", "--at", "1,2", "--mass", "ten"], "'ten' is not a valid float"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(argv, monkeypatch, capsys)
    assert code == 2
    assert text in err
    assert "Traceback" not in err


def test_bad_values_on_the_command_line_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(
        ["spill", "taihu", "--at", "119.924,31.781", "--mass", "inf"], monkeypatch, capsys
    )
    assert (code, err.strip()) == (1, "Error: mass_kg must be a finite number > 0, got inf")
    code, err = _main(
        ["spill", "taihu", "--at", "119.924,31.781", "--mass", "1", "--time", "9999-12-31"],
        monkeypatch,
        capsys,
    )
    assert code == 1
    assert "release time 9999-12-31T00:00:00 is outside the years 1800-2200" in err
    for flow in ("0", "nan", "-5"):  # was exit 2 (a usage error) although --mass 0 gave 1
        code, err = _main(
            ["spill", "taihu", "--at", "119.924,31.781", "--mass", "1", "--flow", flow],
            monkeypatch,
            capsys,
        )
        assert (code, err.strip()) == (
            1,
            f"Error: --flow must be a discharge > 0 in m3/s, got {float(flow)}",
        )


@pytest.mark.parametrize(("flags", "shown"), [([], True), (["-q"], False)])
def test_quiet_hides_other_libraries_log_warnings(
    flags: list[str],
    shown: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # matplotlib logs "created a temporary cache directory" when HOME is unusable; it was
    # printed raw by Python's last-resort handler, -q or not
    import logging

    def log_then_fail(*a: object, **k: object) -> None:
        logging.getLogger("matplotlib").warning("Matplotlib created a temporary cache directory")
        msg = "stop here"
        raise RuntimeError(msg)

    monkeypatch.setattr(pipeline, "run", log_then_fail)
    code, err = _main([*flags, "run", "thames", "-o", "x"], monkeypatch, capsys)
    assert code == 1
    assert ("Warning (matplotlib): Matplotlib created a temporary" in err) is shown
    assert "Error: internal error RuntimeError: stop here" in err


@pytest.mark.parametrize(("flags", "shown"), [([], True), (["-q"], False)])
def test_quiet_hides_warnings(
    flags: list[str],
    shown: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def warn_then_fail(*a: object, **k: object) -> None:
        warnings.warn("a disconnected piece", BasingovWarning, stacklevel=2)
        msg = "stop here"
        raise RuntimeError(msg)

    monkeypatch.setattr(pipeline, "run", warn_then_fail)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code, err = _main([*flags, "run", "thames", "-o", "x"], monkeypatch, capsys)
    assert code == 1
    assert ("Warning: a disconnected piece" in err) is shown
    assert "Error: internal error RuntimeError: stop here" in err


def test_ctrl_c_while_modules_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import basingov.cli as package

    real = package.importlib.import_module

    def interrupted(name: str, *a: object) -> object:
        if name == "basingov.cli.main":
            raise KeyboardInterrupt
        return real(name, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(package.importlib, "import_module", interrupted)
    monkeypatch.setattr("sys.argv", ["basingov", "run", "thames"])
    with pytest.raises(SystemExit) as info:
        package.main()
    assert info.value.code == 130
    assert capsys.readouterr().err == "Interrupted; nothing was written.\n"


@pytest.mark.parametrize(("argv0", "code"), [("basingov", 130), ("python", None)])
def test_ctrl_c_while_the_package_loads(argv0: str, code: int | None) -> None:
    # a Ctrl-C while `import basingov` ran (before the command's own handling) printed a
    # KeyboardInterrupt traceback; for the command it is one line and exit 130, a program
    # importing basingov keeps Python's KeyboardInterrupt
    import subprocess
    import sys

    src = Path(__file__).resolve().parents[2] / "src"
    script = (
        f"import sys, os, signal; sys.argv = [{argv0!r}]\n"
        "import basingov\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    import time; time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    print('KeyboardInterrupt raised'); sys.exit(7)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=default_signals,
    )
    if code is None:
        assert (r.returncode, r.stdout.strip()) == (7, "KeyboardInterrupt raised")
    else:
        assert (r.returncode, r.stderr) == (code, "Interrupted; nothing was written.\n")
