"""Index arithmetic on numpy arrays that several stages share."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["concat_ranges"]


def concat_ranges(starts: Any, counts: Any) -> NDArray[np.int64]:
    """Return the ranges ``starts[i], ..., starts[i] + counts[i] - 1``, one after the other.

    The same as ``np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts)])``,
    without a Python loop. ``starts`` may be one number for all (0: each element's offset
    in its group).

    Examples
    --------
    >>> concat_ranges([10, 0, 5], [2, 0, 3]).tolist()
    [10, 11, 5, 6, 7]
    >>> concat_ranges(0, [3, 1]).tolist()
    [0, 1, 2, 0]
    """
    cnt = np.asarray(counts, dtype=np.int64)
    first = np.broadcast_to(np.asarray(starts, dtype=np.int64), cnt.shape)
    before = np.cumsum(cnt) - cnt  # where each range begins in the output
    return np.arange(int(cnt.sum()), dtype=np.int64) + np.repeat(first - before, cnt)
