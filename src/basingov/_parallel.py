"""Element-wise geometry operations that a scale-out engine may spread over its workers.

Stages call :func:`elementwise` for a vectorised, element-by-element operation on large
arrays (``shapely.intersection`` of raster cells with polygons, say). By default it is the
plain call. Inside :func:`spread_over` (which :mod:`basingov.scale` enters for a run on
dask) an array of at least :data:`MIN_ELEMENTS` elements is cut into blocks that run as
tasks; the blocks are put back in order, so the result is the same array, element for
element, as the plain call. The setting is a context variable, scoped to the ``with``
block (and to the thread or task that entered it), not a global switch.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

import numpy as np

__all__ = ["MIN_ELEMENTS", "BlockMapper", "elementwise", "spread_over", "spreading"]

#: Arrays shorter than this are computed in place: shipping them costs more than it saves.
MIN_ELEMENTS = 20_000


class BlockMapper(Protocol):
    """Run ``fn(*block)`` for every block and return the results in order."""

    def __call__(self, fn: Callable[..., Any], blocks: Sequence[tuple[Any, ...]]) -> list[Any]: ...


_MAPPER: ContextVar[tuple[BlockMapper, int] | None] = ContextVar(
    "basingov_block_mapper", default=None
)


@contextlib.contextmanager
def spread_over(mapper: BlockMapper, n_blocks: int) -> Iterator[None]:
    """Within the block, :func:`elementwise` calls on large arrays run through ``mapper``.

    Parameters
    ----------
    mapper
        Runs ``fn(*block)`` for each block (e.g. as dask tasks) and returns the results
        in the order of the blocks.
    n_blocks
        Number of blocks an array is cut into.

    Examples
    --------
    >>> calls = []
    >>> def serial(fn, blocks):
    ...     calls.append(len(blocks))
    ...     return [fn(*b) for b in blocks]
    >>> a = np.arange(MIN_ELEMENTS, dtype=float)
    >>> with spread_over(serial, 4):
    ...     out = elementwise(np.multiply, a, 2.0)
    >>> calls, bool((out == 2 * a).all())
    ([4], True)
    """
    token = _MAPPER.set((mapper, max(1, int(n_blocks))))
    try:
        yield
    finally:
        _MAPPER.reset(token)


def spreading() -> bool:
    """Return whether :func:`elementwise` calls are spread over workers here.

    Examples
    --------
    >>> spreading()
    False
    >>> with spread_over(lambda fn, blocks: [fn(*b) for b in blocks], 2):
    ...     spreading()
    True
    """
    return _MAPPER.get() is not None


def elementwise(fn: Callable[..., Any], a: Any, *others: Any) -> Any:
    """``fn(a, *others)`` for an element-wise ``fn``, in blocks when spread over workers.

    Parameters
    ----------
    fn
        A vectorised function whose element ``i`` of the result depends only on element
        ``i`` of each array argument (shapely's binary operations, numpy ufuncs). It must
        be importable by name on the workers (a module-level function).
    a
        The leading array (1-D).
    *others
        Arrays as long as ``a`` (cut into the same blocks) or scalars (sent whole).

    Returns
    -------
    numpy.ndarray
        ``fn(a, *others)``; blocks are concatenated in order.

    Examples
    --------
    >>> import shapely
    >>> elementwise(shapely.length, np.array([shapely.LineString([(0, 0), (3, 4)])]))
    array([5.])
    """
    setting = _MAPPER.get()
    n = len(a)
    if setting is None or n < MIN_ELEMENTS:
        return fn(a, *others)
    mapper, k = setting
    k = min(k, max(1, n // (MIN_ELEMENTS // 4)))
    bounds = np.linspace(0, n, k + 1).astype(np.int64)
    aligned = [isinstance(o, np.ndarray) and o.ndim >= 1 and len(o) == n for o in others]
    blocks = [
        (a[s:e], *(o[s:e] if al else o for o, al in zip(others, aligned, strict=True)))
        for s, e in itertools.pairwise(bounds)
        if e > s
    ]
    return np.concatenate(mapper(fn, blocks))
