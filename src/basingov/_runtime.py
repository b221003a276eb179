"""How the process computes while a basingov run or command runs: strings and the collector.

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
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

__all__ = ["STORAGE", "computing", "same_runtime"]

#: The pandas string storage basingov computes with (pandas' ``mode.string_storage``).
STORAGE = "python"

_OPTION = "mode.string_storage"
_lock = threading.Lock()
_depth = 0
_saved: Any = None


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
