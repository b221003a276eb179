"""The `basingov` click group, its global options, and the entry point."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from types import FrameType
from typing import Any, NoReturn, TextIO

import click

from basingov import __version__
from basingov._runtime import computing, held_inside_compiler
from basingov.errors import BasingovError

__all__ = ["cli", "main", "query"]

_LEVELS = [logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG]
#: Set by the group from -v/-q: quiet hides warnings, debug prints tracebacks of errors.
_STATE: dict[str, bool] = {"quiet": False, "debug": False}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="basingov")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("-q", "--quiet", count=True, help="Less output: errors only, no warnings.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """basingov: river-basin governance across administrative borders.

    Human-readable output goes to stderr; JSON goes to stdout where a command offers it.
    Exit status: 0 success, 1 error, 2 usage error, 129 hung up, 130 interrupted,
    143 terminated.
    """
    level = _LEVELS[max(0, min(len(_LEVELS) - 1, 1 + verbose - quiet))]
    root = logging.getLogger("basingov")
    handler = next((h for h in root.handlers if getattr(h, "_basingov_cli", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._basingov_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # the handler filters what the terminal shows; a run may lower the logger's own level
    # to write its run.log, which must not make the terminal chattier
    handler.setLevel(level)
    root.setLevel(level)
    _third_party_logging(logging.ERROR if quiet > verbose else logging.WARNING)
    _STATE["quiet"] = quiet > verbose
    _STATE["debug"] = verbose - quiet >= 2
    ctx.ensure_object(dict)
    ctx.obj["progress"] = quiet == 0
    # every command computes with Python-stored strings and a frozen heap (basingov._runtime)
    ctx.with_resource(computing())


def _leave_the_terminal() -> None:
    """In a process forked from the command (a LocalCluster's dask worker), drop its handlers.

    The command's terminal shows what the command says; a worker's basin writes its
    messages to its own ``run.log``, as a spawned worker (which never had these handlers)
    does. Without this, ``-v`` interleaved the stage messages of several basins, unlabelled.

    The terminal's Ctrl-C and hang-up reach every process of the command, and the command
    answers them: it kills its workers and removes what their basins left
    (:func:`basingov.scale.engine`, :func:`basingov.pipeline.run_many`). A worker that
    took them itself broke its event loop in the middle of a task, and dask warned of
    lost workers and tasks "to be recomputed elsewhere". Such a worker now ignores them
    (SIGTERM, which dask sends to stop a worker, is kept).
    """
    for logger in (logging.getLogger("basingov"), logging.getLogger()):
        for h in [h for h in logger.handlers if getattr(h, "_basingov_cli", False)]:
            logger.removeHandler(h)
    hup = getattr(signal, "SIGHUP", None)
    for sig, ours in ((signal.SIGINT, _on_sigint), (hup, _on_sigterm)):
        if sig is not None and signal.getsignal(sig) is ours:
            with contextlib.suppress(ValueError):
                signal.signal(sig, signal.SIG_IGN)


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_leave_the_terminal)


class _NotBasingov(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("basingov")  # those have their own handler


def _third_party_logging(level: int) -> None:
    """Show other libraries' log warnings as one line each, and none with ``-q``.

    Without a handler Python prints them raw (e.g. matplotlib's "created a temporary cache
    directory" when the home folder is unusable), whatever ``-q`` says.
    """
    top = logging.getLogger()
    handler = next((h for h in top.handlers if getattr(h, "_basingov_cli", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("Warning (%(name)s): %(message)s"))
        handler.addFilter(_NotBasingov())
        handler._basingov_cli = True  # type: ignore[attr-defined]
        top.addHandler(handler)
    handler.stream = sys.stderr  # type: ignore[attr-defined]  # the current one (CliRunner)
    handler.setLevel(level)


@cli.group()
def query() -> None:
    """Spatial queries: upstream, downstream, crossings, jurisdiction, river, station."""


# --- command registration: one import + add_command per command module ---------------
# (keep this block as plain lines so several modules can be added independently)
from basingov.cli.clean import clean  # noqa: E402
from basingov.cli.datasets import datasets  # noqa: E402
from basingov.cli.map import map_  # noqa: E402
from basingov.cli.report import report  # noqa: E402
from basingov.cli.run import run  # noqa: E402
from basingov.cli.spill import spill  # noqa: E402
from basingov.cli.validate import validate  # noqa: E402

cli.add_command(datasets)
cli.add_command(map_)
cli.add_command(report)
cli.add_command(validate)
cli.add_command(run)
cli.add_command(spill)
cli.add_command(clean)
from basingov.cli.query_overlay import crossings, jurisdiction  # noqa: E402

query.add_command(crossings)
query.add_command(jurisdiction)
from basingov.cli.query_network import downstream, upstream  # noqa: E402

query.add_command(upstream)
query.add_command(downstream)
from basingov.cli.query_river import river  # noqa: E402

query.add_command(river)
from basingov.cli.query_station import station  # noqa: E402

query.add_command(station)
from basingov.cli.compare import compare  # noqa: E402

cli.add_command(compare)
# ---------------------------------------------------------------------------------------


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Print a warning as one line, without the source line Python adds (none with -q)."""
    if not _STATE["quiet"]:
        click.echo(f"Warning: {message}", err=True)


#: Exit codes (docs/errors.md): errors 1, usage errors 2 (click's), interrupts 128 + signal.
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


EXIT_SIGHUP = 129


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that every ``finally`` (temporary folders) runs."""


_SIGNALS: list[int] = []


#: When this command raised its interrupts (``time.monotonic()``); :func:`main` clears it.
_RAISED: list[float] = []

#: Seconds after an interrupt was raised during which further signals are not raised: the
#: first one's cleanup (temporary folders, a cluster's workers) runs to its end. A command
#: still running after that (a library swallowed the interrupt) can be interrupted again.
_CLEANUP_GRACE_S = 10.0


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _raise_now(signum, frame):
        _SIGNALS.append(signum)  # remembered: a library may re-raise a plain KeyboardInterrupt
        raise _Terminated


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: raise KeyboardInterrupt, as Python does, but never inside numba's compiler."""
    if _raise_now(signum, frame):
        raise KeyboardInterrupt


def _raise_now(signum: int, frame: FrameType | None) -> bool:
    """Whether a handler raises its interrupt now: not inside numba (sent again), nor twice."""
    return not held_inside_compiler(signum, frame) and not _cleaning_up()


def _cleaning_up() -> bool:
    """Whether an interrupt was raised less than :data:`_CLEANUP_GRACE_S` ago; else note one now.

    An impatient user's second and third Ctrl-C came while the first one's
    KeyboardInterrupt was still unwinding, and a new one raised in a ``finally`` block on
    its way stopped the cleanup: the temporary folder stayed (seen under load). Blocking
    the signals (:func:`basingov._outdir.signals_deferred`) only covers the cleanup
    itself, and only the main thread: the system hands a signal sent to the process to
    any thread that does not block it, and Python then runs the handler in the main
    thread all the same.
    """
    now = time.monotonic()
    if _RAISED and now - _RAISED[-1] < _CLEANUP_GRACE_S:
        return True
    _RAISED.append(now)
    return False


_OS_HINTS = {
    errno.ENOSPC: "the disk is full; free some space or write to another disk with -o",
    errno.EDQUOT: "the disk quota is exceeded; free some space or write elsewhere with -o",
    errno.EACCES: "permission denied; choose a path you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted; choose a path you can write to",
    errno.EROFS: "the file system is read-only; write to another folder with -o",
    errno.ENOENT: "no such file or folder; check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "the path is a folder where a file was expected; check the path",
    errno.EMFILE: "too many open files; raise the limit with `ulimit -n`",
    errno.ENAMETOOLONG: "a file name is too long (at most 255 bytes per name); use a shorter one",
    errno.ELOOP: "a symbolic link in the path points back to itself; check the path",
    errno.EIO: "the disk or network share reported an input/output error; check it",
}


def _os_message(exc: OSError) -> str:
    """One paragraph for an operating-system error: what failed, where, and what to do."""
    where = " ".join(repr(str(f)) for f in (exc.filename, exc.filename2) if f is not None)
    what = exc.strerror or f"{type(exc).__name__}: {exc}"
    hint = _OS_HINTS.get(exc.errno or -1, "check the path and try again")
    nothing = " Outputs are written to a temporary folder first, so none was left half-written."
    return f"Error: {what}{' at ' + where if where else ''}: {hint}.{nothing}"


def _debug_hint() -> str:
    return "" if _STATE["debug"] else " (run with -vv for the traceback)"


def main() -> None:
    """Entry point of the ``basingov`` console script; maps errors to one-paragraph messages.

    Exit codes: 0 success, 1 error, 2 usage error, 129 hung up (SIGHUP), 130 interrupted
    (Ctrl-C), 143 terminated (SIGTERM). With ``-vv`` the traceback is printed too.
    """
    warnings.showwarning = _show_warning
    logging.raiseExceptions = False  # a full disk under run.log must not print a traceback
    _RAISED.clear()
    previous: dict[int, object] = {}
    hup = getattr(signal, "SIGHUP", None)  # a closed terminal (not under nohup: ignored)
    for sig in (signal.SIGTERM, hup):
        if sig is None or (sig == hup and signal.getsignal(sig) is not signal.SIG_DFL):
            continue
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            previous[sig] = signal.signal(sig, _on_sigterm)
    _UNRAISABLE.append(sys.unraisablehook)
    sys.unraisablehook = _interrupt_again
    try:
        _main(sys.argv[1:], previous)
    finally:
        sys.unraisablehook = _UNRAISABLE.pop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _interrupt_again(unraisable: Any) -> None:
    """Deliver again an interrupt that a C library's callback swallowed.

    A signal that arrives while a C library runs a Python callback (through ctypes) raises
    KeyboardInterrupt inside the callback; ctypes prints it as "Exception ignored" and the
    run went on (SIGTERM: exit 0). Here it is sent to the main thread again, to be raised
    once the callback has returned. numba's callbacks never get that far: a signal there
    is held by the handlers (:func:`basingov._runtime.held_inside_compiler`), since the
    library that made the call cannot go on without the callback's answer.
    """
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt):
        if _RAISED:  # swallowed: no cleanup is under way, the signal sent again must raise
            _RAISED.pop()
        sig = _SIGNALS[-1] if isinstance(exc, _Terminated) and _SIGNALS else signal.SIGINT
        # from another thread, a moment later: the main thread has left the callback (if
        # not, the signal is swallowed again and comes back here)
        timer = threading.Timer(0.05, os.kill, (os.getpid(), sig))
        timer.daemon = True
        timer.start()
        return
    (_UNRAISABLE[-1] if _UNRAISABLE else sys.__unraisablehook__)(unraisable)


#: The unraisable-exception hooks :func:`main` replaced (restored when it returns).
_UNRAISABLE: list[Any] = []


def _take_ctrl_c(previous: dict[int, object]) -> None:
    """Handle Ctrl-C with :func:`_on_sigint` from here; the old handler goes into ``previous``.

    It replaces basingov's start-up handler (Python's own comes back after the command,
    as the start-up one said nothing was written) or Python's own; a Ctrl-C that is
    ignored (a background job, nohup) or handled by a program that calls :func:`main` is
    left alone.
    """
    now = signal.getsignal(signal.SIGINT)
    if now is signal.default_int_handler or getattr(now, "_basingov_start", False):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            signal.signal(signal.SIGINT, _on_sigint)
            previous[signal.SIGINT] = signal.default_int_handler


def _main(argv: list[str], previous: dict[int, object]) -> None:
    try:
        _take_ctrl_c(previous)  # from here a Ctrl-C is handled below (temporary folders removed)
        cli(args=argv, standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        _exit_interrupted(exc)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BasingovError as exc:
        _traceback()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        _traceback()
        click.echo(_os_message(exc) + _debug_hint(), err=True)
        sys.exit(EXIT_ERROR)
    except MemoryError:
        _traceback()
        click.echo(
            "Error: out of memory; run one basin at a time, lower [spillover] "
            "monte_carlo_runs, or use a machine with more memory." + _debug_hint(),
            err=True,
        )
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug: one paragraph, the traceback with -vv
        if _RAISED:
            # an interrupt that a library turned into its own error (a pybind11 module
            # whose initialisation it cut: "ImportError: initialization failed")
            _exit_interrupted(exc)
        _traceback()
        click.echo(
            f"Error: internal error {type(exc).__name__}: {exc}. This is a bug in basingov; "
            f"please report it with the command you ran{_debug_hint()}.",
            err=True,
        )
        sys.exit(EXIT_ERROR)


def _exit_interrupted(exc: BaseException) -> NoReturn:
    """Say which signal stopped the command (nothing was left half-written) and exit."""
    _traceback()
    if _SIGNALS and _SIGNALS[0] == getattr(signal, "SIGHUP", None):
        click.echo("Hung up (SIGHUP); no partial output was left.", err=True)
        sys.exit(EXIT_SIGHUP)
    if isinstance(exc, _Terminated) or signal.SIGTERM in _SIGNALS:
        click.echo("Terminated (SIGTERM); no partial output was left.", err=True)
        sys.exit(EXIT_SIGTERM)
    click.echo("Interrupted; no partial output was left.", err=True)
    sys.exit(EXIT_SIGINT)


def _traceback() -> None:
    if _STATE["debug"]:
        click.echo(traceback.format_exc().rstrip(), err=True)
