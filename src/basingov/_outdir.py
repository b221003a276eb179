"""Output folders that stay where the user put them and hold only what basingov wrote.

A run writes into a temporary folder beside its output folder ``DIR`` and renames it into
place when every stage succeeded (:func:`basingov.io.atomic_dir`). Around that:

- :func:`check_output_dir` checks the location before any work: not the current folder or
  one of its parents, no file in the way, not a file itself, writable, and, with
  ``overwrite``, a folder basingov wrote (its :data:`MANIFEST` lists every file in it);
- :func:`output_lock` holds an exclusive lock (``fcntl.flock`` on ``.DIR.basingov.lock``
  beside ``DIR``) for the whole run, so a second run to the same folder fails at once;
- temporary folders are named ``.DIR.basingov-<pid>-<random>.tmp``: those of dead runs
  (killed, power loss) are removed by the next run to ``DIR`` or by :func:`clean`;
- folders are created with the permissions the umask allows (not ``mkdtemp``'s 0700);
- a ``DIR`` that is a symbolic link is kept: its target folder is replaced.

:func:`read_run_files` opens a finished run folder again (``summary.json`` and
``BASIN.gpkg``) for the maps, the report and the comparison; :func:`read_run_table` reads
one of its ``tables/*.csv`` with the id columns as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from basingov._checks import expand_user
from basingov.errors import InputError, OutputError, OutputExistsError, OutputLockedError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the rest still applies
    fcntl = None  # type: ignore[assignment]
import signal
from importlib.metadata import PackageNotFoundError, version

__all__ = [
    "MANIFEST",
    "RUN_TEXT_COLUMNS",
    "RunFiles",
    "check_name_length",
    "check_output_dir",
    "clean",
    "commit_dir",
    "make_temp_dir",
    "output_lock",
    "read_run_files",
    "read_run_table",
    "remove_stale",
    "signals_deferred",
    "temp_file_name",
    "umask",
    "write_manifest",
]

#: File in every output folder listing the files basingov wrote there.
MANIFEST = ".basingov-manifest.json"
_TAG = "basingov"


def umask() -> int:
    """Return the process umask, read without changing it where the system allows.

    Examples
    --------
    >>> 0 <= umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # pragma: no cover - non-Linux
    os.umask(old)  # pragma: no cover
    return old  # pragma: no cover


def _stale_re(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(name)}\.{_TAG}-(\d+)-[0-9a-f]+\.(tmp|old)(\..*)?$")


def temp_file_name(target: Path, kind: str = "tmp") -> Path:
    """Return a fresh hidden name beside ``target`` carrying this process's id.

    Examples
    --------
    >>> p = temp_file_name(Path("/data/out/summary.json"))
    >>> p.parent.as_posix(), p.name.startswith(".summary.json.basingov-")
    ('/data/out', True)
    """
    return target.with_name(
        f".{target.name}.{_TAG}-{os.getpid()}-{secrets.token_hex(4)}.{kind}{target.suffix}"
    )


def _foreign_entries(folder: Path, *, limit: int = 11) -> list[str] | None:
    """Entries of ``folder`` its manifest does not list (None: no manifest, not empty).

    Stops after ``limit`` foreign entries, so a big folder given by mistake is not walked.
    """
    mpath = folder / MANIFEST
    if not mpath.is_file():
        return [] if next(folder.iterdir(), None) is None else None
    try:
        listed = set(json.loads(mpath.read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    dirs = {p.as_posix() for f in listed for p in Path(f).parents} - {"."}
    foreign: list[str] = []
    for root, dnames, fnames in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for d in sorted(dnames):
            e = (rel / d).as_posix()
            if e not in dirs or (Path(root) / d).is_symlink():
                foreign.append(e)
        dnames[:] = [d for d in dnames if (rel / d).as_posix() in dirs]
        for f in sorted(fnames):
            e = (rel / f).as_posix()
            if e == MANIFEST:
                continue
            if e not in listed or (Path(root) / f).is_symlink():
                foreign.append(e)
        if len(foreign) >= limit:
            break
    return sorted(foreign)


def _describe_os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output_dir(path: str | Path, *, overwrite: bool) -> Path:
    """Check an output folder before any work and return its real (resolved) path.

    Parameters
    ----------
    path
        The output folder (``-o DIR``).
    overwrite
        Whether an existing folder may be replaced.

    Returns
    -------
    pathlib.Path
        The absolute folder to write, symbolic links resolved (a link is kept, its target
        is replaced).

    Raises
    ------
    OutputError
        If ``path`` is the current folder or one of its parents, the file-system root, a
        file, a dangling link, below a file, or in a folder that cannot be written.
    OutputExistsError
        If the folder exists and ``overwrite`` is false, or holds files basingov did not
        write (no :data:`MANIFEST`, or files it does not list).
    """
    try:
        p = expand_user(path, what="output folder")
    except InputError as exc:
        raise OutputError(str(exc)) from None
    if str(path) == "":
        msg = "the output folder is empty text; give a folder such as out/rhine"
        raise OutputError(msg)
    if p.is_symlink() and not p.exists():
        msg = f"output folder {path} is a symbolic link to {os.readlink(p)}, which does not exist"
        raise OutputError(msg)
    try:
        real = p.resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError on a link loop
        msg = (
            f"output folder {path} cannot be resolved ({exc}): a symbolic link in its path "
            "points back to itself; give another folder"
        )
        raise OutputError(msg) from None
    check_name_length(real, what="output folder")
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents or real.parent == real:
        msg = (
            f"output folder {path} is the current folder or one of its parents (or the root); "
            "a run replaces its output folder, so give a new folder such as out/BASIN"
        )
        raise OutputError(msg)
    anc = real.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        msg = f"cannot create output folder {path}: {anc} is a file, not a folder"
        raise OutputError(msg)
    if not os.access(anc, os.W_OK | os.X_OK):
        msg = (
            f"cannot write output folder {path}: no write permission in {anc}; choose a "
            "folder you can write to"
        )
        raise OutputError(msg)
    if real.exists() or real.is_symlink():
        if not real.is_dir():
            msg = f"output folder {path} exists and is a file; choose another name"
            raise OutputError(msg)
        if not overwrite:
            msg = f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
            raise OutputExistsError(msg)
        foreign = _foreign_entries(real)
        if foreign is None:
            msg = (
                f"{path} was not written by basingov (it has no {MANIFEST}); --overwrite "
                "replaces only folders basingov wrote. Move or delete its contents yourself, "
                "or choose another folder"
            )
            raise OutputExistsError(msg)
        if foreign:
            more = " and more" if len(foreign) > 10 else ""
            msg = (
                f"{path} holds files basingov did not write: {foreign[:10]}{more}; --overwrite "
                "replaces only what basingov wrote. Move those files out, or choose another "
                "folder"
            )
            raise OutputExistsError(msg)
    return real


#: Bytes basingov adds to a name for its temporary and lock names beside it
#: (``.NAME.basingov-<pid>-<8 hex>.tmp.<suffix>``).
_EXTRA_NAME_BYTES = 48


def check_name_length(path: Path, *, what: str) -> None:
    """Refuse a name too long for the temporary and lock names made beside it.

    Raises
    ------
    OutputError
        Naming the length and the limit of the file system (usually 255 bytes).

    Examples
    --------
    >>> check_name_length(Path("/tmp/out"), what="output folder")
    >>> check_name_length(Path("/tmp") / ("x" * 250), what="output folder")
    Traceback (most recent call last):
    ...
    basingov.errors.OutputError: output folder name xxxxxxxxxxxxxxxxxxxx... is 250 bytes long; give at most 207 (the file system allows 255 and basingov adds up to 48 for its temporary names)
    """  # noqa: E501
    anc = path.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    try:
        limit = os.pathconf(anc, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
        limit = 255
    n = len(os.fsencode(path.name))
    if n + _EXTRA_NAME_BYTES > limit:
        msg = (
            f"{what} name {path.name[:20]}... is {n} bytes long; give at most "
            f"{limit - _EXTRA_NAME_BYTES} (the file system allows {limit} and basingov adds up "
            f"to {_EXTRA_NAME_BYTES} for its temporary names)"
        )
        raise OutputError(msg)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _lock_holder(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="ascii").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _lock_path(real: Path) -> Path:
    return real.with_name(f".{real.name}.{_TAG}.lock")


@contextlib.contextmanager
def output_lock(real: Path) -> Iterator[bool]:
    """Hold an exclusive lock on output folder ``real`` (a lock file beside it).

    The lock is an ``fcntl.flock`` on ``.NAME.basingov.lock``: the system releases it when
    the process dies, so a killed run never blocks the next one. The lock file is removed
    when the block ends. Yields True if a lock is held (False where the system has no
    ``flock``): every temporary folder of ``real`` is then a dead run's, whatever its
    process id says (ids are reused, after a reboot above all).

    Raises
    ------
    OutputLockedError
        If another process holds the lock.
    OutputError
        If the lock file cannot be created (the folder cannot be written).
    """
    lock = _lock_path(real)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create {real.parent}: {_describe_os_error(exc)}"
        raise OutputError(msg) from exc
    if fcntl is None:  # pragma: no cover - Windows
        yield False
        return
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            msg = (
                f"cannot write in {real.parent} ({_describe_os_error(exc)}); choose an output "
                "folder you can write to"
            )
            raise OutputError(msg) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            msg = (
                f"another basingov run{_lock_holder(lock)} is writing {real}; wait for it to "
                "finish or choose another output folder"
            )
            raise OutputLockedError(msg) from None
        try:  # the file may have been removed by the previous holder: lock the current one
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def temporaries(real: Path) -> list[Path]:
    """Return the temporary folders and files of runs to ``real``, live or dead, sorted.

    Their names are ``.NAME.basingov-<pid>-<hex>.tmp`` or ``.old`` beside ``real``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / ".out.basingov-1-ab.tmp").mkdir()
    >>> [p.name for p in temporaries(d / "out")], temporaries(d / "other")
    (['.out.basingov-1-ab.tmp'], [])
    """
    if not real.name:  # the file-system root has no temporaries beside it
        return []
    pat = _stale_re(real.name)
    try:
        entries = list(real.parent.iterdir())
    except OSError:
        return []
    return sorted(p for p in entries if pat.match(p.name))


def remove_stale(real: Path, *, locked: bool = False) -> list[Path]:
    """Remove the temporary folders and files of dead runs to ``real``; return them.

    A temporary name carries its run's process id; only those of processes that no longer
    exist are removed, or, with ``locked`` (the caller holds :func:`output_lock` on
    ``real``, which every run writing ``real`` holds while its temporary folder exists),
    all but this process's own. If ``real`` is missing but a dead run's backup of it is
    present (a run killed between its two renames), the backup is put back instead.
    """
    pat = _stale_re(real.name)
    removed: list[Path] = []
    for p in temporaries(real):
        m = pat.match(p.name)
        if m is None:  # pragma: no cover - temporaries() matched it
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or (not locked and _pid_alive(pid)):
            continue
        if m.group(2) == "old" and not real.exists() and p.is_dir():
            os.replace(p, real)
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()
        removed.append(p)
    return removed


def make_temp_dir(real: Path) -> Path:
    """Create the temporary folder of a run to ``real``, with the umask's permissions."""
    for _ in range(100):
        tmp = temp_file_name(real, "tmp")
        try:
            tmp.mkdir(mode=0o777)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        os.chmod(tmp, 0o777 & ~umask())
        return tmp
    msg = f"cannot create a temporary folder beside {real}"  # pragma: no cover
    raise OutputError(msg)  # pragma: no cover


def write_manifest(folder: Path) -> Path:
    """List every file below ``folder`` in its :data:`MANIFEST`."""
    try:
        __version__ = version("basingov")
    except PackageNotFoundError:  # pragma: no cover - a source tree without installation
        __version__ = "0+unknown"
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST
    )
    path = folder / MANIFEST
    body = {
        "written_by": f"basingov {__version__}",
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": files,
        "note": "basingov run --overwrite replaces this folder only if it holds these files",
    }
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (POSIX; a no-op elsewhere)."""
    mask = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, mask)
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def commit_dir(tmp: Path, real: Path, *, overwrite: bool) -> None:
    """Rename the finished temporary folder onto ``real`` (replacing it if allowed).

    The folder is checked again first: one created during the run, or filled with other
    files, is not replaced.

    Raises
    ------
    OutputExistsError
        If ``real`` appeared during the run without ``overwrite``, or now holds other files.
    """
    if real.exists() or real.is_symlink():
        if not overwrite:
            msg = (
                f"{real} was created by something else while basingov was running; it was "
                "left as it is. Nothing was written: run again with another output folder"
            )
            raise OutputExistsError(msg)
        check_output_dir(real, overwrite=True)
        backup = temp_file_name(real, "old")
        with signals_deferred():  # Ctrl-C or SIGTERM cannot fall between the two renames
            os.replace(real, backup)
            try:
                os.replace(tmp, real)
            except BaseException:
                if not real.exists():
                    os.replace(backup, real)
                raise
        shutil.rmtree(backup, ignore_errors=True)
        return
    try:
        os.rename(tmp, real)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            msg = f"{real} was created by something else while basingov was running; kept it"
            raise OutputExistsError(msg) from exc
        raise


def clean(folder: str | Path) -> list[Path]:
    """Remove what dead basingov runs left beside and inside ``folder``; return it.

    That is: temporary folders and files named ``.NAME.basingov-<pid>-*.tmp`` or ``.old``
    of runs that are no longer running, and lock files no process holds. Outputs and the
    files of live runs (a run holds the lock of its output folder) are never touched.

    Raises
    ------
    OutputError
        If neither ``folder`` nor its parent folder exists.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "out"
    >>> clean(d)
    []
    """
    try:
        folder = expand_user(folder, what="folder").resolve()
    except (InputError, RuntimeError, OSError) as exc:
        msg = f"cannot clean {folder}: {exc}"
        raise OutputError(msg) from None
    if not folder.exists() and not folder.parent.is_dir():
        msg = f"cannot clean {folder}: neither it nor its parent folder exists"
        raise OutputError(msg)
    removed: list[Path] = []
    targets = [folder] if folder.name else []
    if folder.is_dir():
        targets += [folder / p.name for p in folder.iterdir() if not p.name.startswith(".")]
        for p in folder.iterdir():  # outputs of `run all` (or files) whose run died early
            m = re.match(rf"^\.(.+)\.{_TAG}-\d+-[0-9a-f]+\.(tmp|old)", p.name)
            if m and folder / m.group(1) not in targets:
                targets.append(folder / m.group(1))
    for t in targets:
        lock = _lock_path(t)
        had_lock = lock.exists()
        if fcntl is None:  # pragma: no cover - Windows: process ids only
            removed += remove_stale(t)
            continue
        if not t.parent.is_dir():
            continue
        try:
            with output_lock(t):  # a live run holds it: its files are kept
                removed += remove_stale(t, locked=True)
        except OutputLockedError:
            continue
        except OutputError:  # a folder that cannot be written: process ids only
            removed += remove_stale(t)
            continue
        if had_lock:
            removed.append(lock)
    return removed


class RunFiles(NamedTuple):
    """The files of a finished ``basingov run BASIN -o DIR`` folder that name its basin."""

    #: The run folder.
    path: Path
    #: The parsed ``summary.json``.
    summary: dict[str, Any]
    #: The basin name (``summary.json`` ``basin``).
    basin: str
    #: The basin's GeoPackage, ``DIR/BASIN.gpkg``.
    gpkg: Path


def read_run_files(path: str | Path) -> RunFiles:
    """Open a finished run folder: its ``summary.json`` and the GeoPackage it names.

    Parameters
    ----------
    path
        A folder written by ``basingov run BASIN -o DIR``.

    Returns
    -------
    RunFiles
        The folder, the parsed summary, the basin name and the GeoPackage path.

    Raises
    ------
    InputError
        If the folder, ``summary.json`` or ``BASIN.gpkg`` is missing, or the summary is not
        JSON or names no basin; the message says which command writes the folder.

    Examples
    --------
    >>> read_run_files("no/such/run")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: run folder no/such/run does not exist; write it with `basingov run BASIN -o no/such/run`
    """  # noqa: E501
    p = Path(path)
    if not p.is_dir():
        msg = f"run folder {p} does not exist; write it with `basingov run BASIN -o {p}`"
        raise InputError(msg)
    sfile = p / "summary.json"
    try:
        summary = json.loads(sfile.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{sfile} is missing: {p} is not a finished `basingov run` folder"
        raise InputError(msg) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{sfile} is not valid JSON ({exc}); re-run the basin into {p}"
        raise InputError(msg) from None
    name = summary.get("basin") if isinstance(summary, dict) else None
    if not isinstance(name, str) or not name:
        msg = f"{sfile} has no 'basin' name; re-run the basin into {p}"
        raise InputError(msg)
    if Path(name).name != name or name in (".", "..") or "\\" in name:
        msg = (  # the name gives the GeoPackage read from the folder: one path component
            f"{sfile}: basin = {name!r} cannot be used as a file name (it would read files "
            f"outside {p}); re-run the basin into {p}"
        )
        raise InputError(msg)
    gpkg = p / f"{name}.gpkg"
    if not gpkg.is_file():
        msg = f"{gpkg} is missing: {p} is not a finished `basingov run {name}` folder"
        raise InputError(msg)
    return RunFiles(path=p, summary=summary, basin=name, gpkg=gpkg)


#: Columns of a run's tables read as text: ids, codes and labels that look like numbers.
RUN_TEXT_COLUMNS: dict[str, type] = dict.fromkeys(
    (
        "jur_id",
        "origin",
        "receptor",
        "from_jur",
        "to_jur",
        "crossing_id",
        "station_id",
        "gauge_id",
        "parent_id",
        "payer",
        "payee",
        "section_or_pair",
        "period",
        "class",
        "latest_class",
    ),
    str,
)


def read_run_table(path: str | Path) -> pd.DataFrame:
    r"""Read a table a run wrote (``DIR/tables/NAME.csv``), :data:`RUN_TEXT_COLUMNS` as text.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("jur_id,value\n001,2.5\n", encoding="utf-8")
    >>> read_run_table(p).to_dict("records")
    [{'jur_id': '001', 'value': 2.5}]
    >>> _ = p.write_text("", encoding="utf-8")
    >>> read_run_table(p)
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: .../t.csv cannot be read as a table (No columns to parse ...
    """
    try:
        return pd.read_csv(path, dtype=RUN_TEXT_COLUMNS, keep_default_na=True, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        run = Path(path).parent.parent
        msg = (  # a run writes every table whole, with its header line: this one was damaged
            f"{path} cannot be read as a table ({exc}); the run folder {run} is damaged: "
            f"re-run the basin into it (basingov run BASIN -o {run} --overwrite)"
        )
        raise InputError(msg) from None
