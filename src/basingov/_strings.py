"""pandas' ``str`` dtype kept as Python objects while basingov computes.

pandas 3 stores the values of its default string dtype, ``str``, in Arrow arrays when
pyarrow is installed (its option ``mode.string_storage``, default ``"auto"``). basingov's
string work is many small steps on ids, names and codes: lookups, takes, factorizing,
and conversions to numpy object arrays for code that walks them. With Arrow storage each
step converts between Arrow buffers and Python strings. pandas' other storage,
``"python"``, is the same ``str`` dtype, with the same NaN for a missing value and the
same values, kept as Python strings in a numpy array, and skips those conversions.

While a pipeline run or a command runs, basingov sets that storage
(:func:`python_strings`), and the dask tasks it sends compute with it too
(:class:`same_strings`). The four shipped basins then run about a fifth faster
and write the same bytes (docs/performance.md, P4; ``tests/test_strings.py``).

pandas options belong to the process, not to a thread, so while basingov computes, other
threads of the same process also make ``str`` columns with Python storage. The first
basingov call to enter sets the option and the last to leave restores the value it found.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

__all__ = ["STORAGE", "python_strings", "same_strings"]

#: The pandas string storage basingov computes with (pandas' ``mode.string_storage``).
STORAGE = "python"

_OPTION = "mode.string_storage"
_lock = threading.Lock()
_depth = 0
_saved: Any = None


@contextlib.contextmanager
def python_strings() -> Iterator[None]:
    """Make new ``str`` columns store their values as Python strings while the block runs.

    Re-entrant and shared by threads: the option is set when the first block is entered
    and restored when the last one is left.

    Examples
    --------
    >>> with python_strings():
    ...     pd.Series(["DE1", "NL3"]).dtype.storage
    'python'
    >>> pd.get_option("mode.string_storage") == "python"
    False
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = pd.get_option(_OPTION)
            pd.set_option(_OPTION, STORAGE)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                pd.set_option(_OPTION, _saved)


class same_strings:
    """``fn`` to run with the string storage of the code that made it: a dask task.

    Made inside :func:`python_strings` (a pipeline run), ``fn`` runs inside it on the
    worker too, so the frames a worker sends back match those of the calling process;
    made elsewhere (a library call outside a run), ``fn`` runs as it is. Keeps ``fn``'s
    name, which dask shows for the task.

    Examples
    --------
    >>> def storage():
    ...     return pd.Series(["a"]).dtype.storage
    >>> with python_strings():
    ...     task = same_strings(storage)
    >>> task(), same_strings(storage)() == pd.Series(["a"]).dtype.storage
    ('python', True)
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.python = pd.get_option(_OPTION) == STORAGE
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.python:
            return self.fn(*args, **kwargs)
        with python_strings():
            return self.fn(*args, **kwargs)
