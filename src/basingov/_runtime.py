"""How the process computes while a basingov run or command runs: strings, collector, Ctrl-C.

Two process-wide settings, set by :func:`computing` when the first run or command enters
it and restored when the last one leaves (a run in another thread keeps them):

- **Strings.** pandas 3 stores the values of its default string dtype, ``str``, in Arrow
  arrays when pyarrow is installed (its option ``mode.string_storage``, default
  ``"auto"``). basingov's string work is many small steps on ids, names and codes:
  lookups, takes, factorizing, and conversions to numpy object arrays for code that walks
  them, each converting between Arrow buffers and Python strings. pandas' other storage,
  ``"python"``, is the same ``str`` dtype, with the same NaN for a missing value and the
  same values, kept as Python strings in a numpy array, and skips those conversions.
- **The garbage collector.** Python's full collections walk every container object of the
  process: the modules, classes and compiled kernels loaded before the run, about 200,000
  objects, several times per basin (about 1 s of a Rhine run). :func:`gc.freeze` moves
  the objects that exist when the run starts out of the collector's walks;
  :func:`gc.unfreeze` puts them back when it ends. Objects freed by their reference
  counts are freed as before; reference cycles among the frozen objects wait for the
  first full collection after the run.

The four shipped basins run about a fifth faster and write the same bytes
(docs/performance.md, P4; ``tests/test_runtime.py``). The dask tasks a run sends compute
the same way (:class:`same_runtime`).

Not a setting of :func:`computing`, and not limited to a run:

- **Ctrl-C inside numba.** A Ctrl-C raised while numba loads or compiles a kernel lands
  in a Python function that LLVM calls through ctypes; the exception is swallowed there,
  LLVM builds the kernel without its code and numba writes through a null address: the
  process (a notebook's kernel) crashes. :func:`guard_compiler` (registered by every
  basingov module with kernels when imported) holds it: while the main thread holds
  numba's compiler lock (a kernel loads or compiles, basingov's or another library's),
  any Python handler for SIGINT, SIGTERM or SIGHUP (Python's KeyboardInterrupt, a
  program's own, the ``basingov`` command's) is replaced by the same handler, held until
  the main thread has left numba's code (:func:`held_inside_compiler`), and put back
  when the lock is let go. The command's handlers also check for themselves
  (``basingov.cli.main``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pandas as pd

__all__ = ["STORAGE", "computing", "guard_compiler", "held_inside_compiler", "same_runtime"]

#: The pandas string storage basingov computes with (pandas' ``mode.string_storage``).
STORAGE = "python"

_OPTION = "mode.string_storage"
_lock = threading.Lock()
_depth = 0
_saved: Any = None

#: Top-level packages whose Python code a C library calls back: numba's object cache, called
#: by LLVM through ctypes while a kernel is compiled or loaded from numba's cache. An
#: exception raised in such a callback is swallowed; LLVM then builds the kernel without
#: its code, and numba's next step wrote through a null address (a segmentation fault,
#: leaving the temporary folder behind, when a Ctrl-C or SIGTERM came at that moment).
COMPILER_PACKAGES = frozenset({"numba", "llvmlite"})


def held_inside_compiler(signum: int, frame: FrameType | None) -> bool:
    """Hold a signal that interrupted the main thread in numba's or llvmlite's Python code.

    For a signal handler (``frame`` is the one it was given): if the main thread is in
    that code, ``signum`` is sent to this process again in 50 ms, from another thread,
    and True is returned (the handler returns without raising). The main thread raises it
    then if it has left the compiler (a kernel takes well under a second to load from
    numba's cache); if not, the signal is held once more.

    Examples
    --------
    >>> import sys
    >>> held_inside_compiler(2, sys._getframe())
    False
    """
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).partition(".")[0] in COMPILER_PACKAGES:
            timer = threading.Timer(0.05, os.kill, (os.getpid(), signum))
            timer.daemon = True
            timer.start()
            return True
        frame = frame.f_back
    return False


#: The signals whose Python handlers are held while the main thread loads a kernel.
_HELD_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Held:
    """A Python signal handler, called once the main thread has left numba's code."""

    def __init__(self, handler: Callable[[int, FrameType | None], Any]) -> None:
        self.handler = handler

    def __call__(self, signum: int, frame: FrameType | None) -> Any:
        if held_inside_compiler(signum, frame):
            return None
        return self.handler(signum, frame)


class _CompilerLockGuard:
    """Numba event listener: hold the Python signal handlers while the main thread compiles.

    numba announces its compiler lock (``"numba:compiler_lock"``) on every acquire and
    release, in the thread that takes it, and both a kernel's load from numba's cache
    and its compilation run under it. The lock is re-entrant: the handlers are swapped
    when the main thread takes it first and put back when it lets it go last, unless the
    program set another handler in between.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.swapped: dict[int, tuple[Any, _Held]] = {}

    def on_start(self, event: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self.depth += 1
        if self.depth == 1:
            for sig in _HELD_SIGNALS:
                now = signal.getsignal(sig)
                if callable(now) and not isinstance(now, _Held):
                    held = _Held(now)
                    signal.signal(sig, held)
                    self.swapped[sig] = (now, held)

    def on_end(self, event: Any) -> None:
        if threading.current_thread() is not threading.main_thread() or self.depth == 0:
            return
        self.depth -= 1
        if self.depth == 0:
            for sig, (before, held) in self.swapped.items():
                if signal.getsignal(sig) is held:
                    signal.signal(sig, before)
            self.swapped.clear()


_guard: Any = None


def guard_compiler() -> None:
    """Hold Python's signal handlers while the main thread loads or compiles a numba kernel.

    Idempotent; registers one listener for numba's compiler lock (see the module's
    docstring). A program's own handler, Python's KeyboardInterrupt and the command's
    handlers are all held, so a signal no longer lands in LLVM's callback into numba,
    where it was swallowed and the process then crashed.
    """
    global _guard
    if _guard is not None:
        return
    # numba is imported here, by the modules that define kernels, and not by this module:
    # basingov's commands that compute nothing do not load it
    from numba.core import event

    class Guard(_CompilerLockGuard, event.Listener):
        """:class:`_CompilerLockGuard` as the numba listener that ``event.register`` takes."""

    with _lock:
        if _guard is None:
            _guard = Guard()
            event.register("numba:compiler_lock", _guard)


@contextlib.contextmanager
def computing() -> Iterator[None]:
    """Compute with Python-stored strings and a frozen heap while the block runs.

    Re-entrant and shared by threads: the settings are made when the first block is
    entered and undone when the last one is left.

    Examples
    --------
    >>> import gc
    >>> with computing():
    ...     pd.Series(["DE1", "NL3"]).dtype.storage, gc.get_freeze_count() > 0
    ('python', True)
    >>> pd.get_option("mode.string_storage") == "python"
    False
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = pd.get_option(_OPTION)
            pd.set_option(_OPTION, STORAGE)
            gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.unfreeze()
                pd.set_option(_OPTION, _saved)


class same_runtime:
    """``fn`` to run as the code that made it runs: a dask task.

    Made inside :func:`computing` (a pipeline run), ``fn`` runs inside it on the worker
    too, so the frames a worker sends back are of the same types as those of the calling
    process; made elsewhere (a library call outside a run), ``fn`` runs as it is. Keeps
    ``fn``'s name, which dask shows for the task.

    Examples
    --------
    >>> def storage():
    ...     return pd.Series(["a"]).dtype.storage
    >>> with computing():
    ...     task = same_runtime(storage)
    >>> task(), same_runtime(storage)() == pd.Series(["a"]).dtype.storage
    ('python', True)
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.inside = _depth > 0
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.inside:
            return self.fn(*args, **kwargs)
        with computing():
            return self.fn(*args, **kwargs)
