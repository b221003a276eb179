"""Run a vectorised geometry operation on slices of its arrays in threads.

Shapely's vectorised functions release the GIL, so the heaviest GEOS calls of a run (cells
cut by a basin outline, parts of cells in jurisdictions) use every core of the machine.
Each element is computed by the same function as in a single call, so the results are
the same, bit for bit, whatever the number of threads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from basingov.errors import ConfigError

__all__ = ["chunked", "workers"]

#: Environment variable giving the number of threads (default: the cores this process may
#: use; 1 in a dask worker). Set it to 1 where processes already share the cores.
THREADS_ENV = "BASINGOV_THREADS"

#: Arrays shorter than this are not split.
MIN_CHUNKED = 1024


def _in_dask_worker() -> bool:
    """Whether this code runs in a task of a dask worker."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


def workers() -> int:
    """Return the number of threads: ``$BASINGOV_THREADS``, else the usable cores.

    In a task of a dask worker the default is 1: the cluster's workers are the
    parallelism, and threads of their own only contend for the cores the other workers
    use (dask sets its workers' OpenMP, MKL and OpenBLAS threads to 1 for the same
    reason). On the P6 machine, two workers ran the four shipped basins in 9.30 s with
    this and one BLAS thread each, against 9.57 s with two of each (medians of five
    alternated runs; docs/performance.md, P6).

    Raises
    ------
    ConfigError
        If ``$BASINGOV_THREADS`` is not a whole number >= 1.

    Examples
    --------
    >>> workers() >= 1
    True
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            msg = (
                f"{THREADS_ENV} must be a whole number of threads >= 1, got {env!r}; "
                "unset it to use every core"
            )
            raise ConfigError(msg)
        return int(env)
    if _in_dask_worker():
        return 1
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def chunked(func: Callable[..., Any], *arrays: Any, min_size: int = MIN_CHUNKED) -> np.ndarray:
    """Return ``func(*arrays)``, computed on slices of the arrays in threads.

    ``func`` must work element by element along the first axis (as shapely's vectorised
    functions do) and return one value per element; the slices' results are joined in
    order.

    Examples
    --------
    >>> import shapely
    >>> pts = shapely.points(np.arange(3000.0), np.zeros(3000))
    >>> d = chunked(shapely.get_x, pts, min_size=10)
    >>> bool((d == np.arange(3000.0)).all())
    True
    """
    n = len(arrays[0])
    k = min(workers(), max(1, n // max(1, min_size)))
    if k <= 1:
        return np.asarray(func(*arrays))
    edges = np.linspace(0, n, k + 1).astype(np.int64)

    def part(i: int) -> Any:
        return func(*(a[edges[i] : edges[i + 1]] for a in arrays))

    with ThreadPoolExecutor(k) as ex:
        parts = list(ex.map(part, range(k)))
    return np.concatenate([np.asarray(p) for p in parts])
