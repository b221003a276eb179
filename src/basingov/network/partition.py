"""Split a river network into sub-basins: drainage units of equal size for scale-out.

:func:`sub_basins` numbers the reaches depth-first, upstream first (a post-order from each
outlet: every tributary's whole catchment before the reach it joins), and cuts that
numbering into runs of equal river length. A run is a set of neighbouring tributary
catchments plus the stretch of river they join, so each unit is compact along the network
and on the map. The overlay and loads stages work on each unit independently;
:mod:`basingov.scale` runs them as dask tasks and stitches the results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from basingov._jit import njit
from basingov.errors import InputError
from basingov.network._topology import check_positions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from basingov.network._container import RiverNetwork

__all__ = ["sub_basins", "upstream_first_order"]


@njit(cache=True)
def _post_order(idx_ds: NDArray[np.int64]) -> NDArray[np.int64]:  # pragma: no cover - numba
    n = idx_ds.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        d = idx_ds[i]
        if d >= 0:
            count[d + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    fill = count[:-1].copy()
    child = np.empty(max(int(count[n]), 1), dtype=np.int64)
    for i in range(n):  # children in position order
        d = idx_ds[i]
        if d >= 0:
            child[fill[d]] = i
            fill[d] += 1
    out = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    nxt = np.empty(n, dtype=np.int64)
    m = 0
    for r in range(n):
        if idx_ds[r] >= 0 or seen[r]:
            continue
        top = 0
        stack[0] = r
        nxt[0] = count[r]
        seen[r] = True
        while top >= 0:
            v = stack[top]
            if nxt[top] < count[v + 1]:
                c = child[nxt[top]]
                nxt[top] += 1
                if not seen[c]:
                    seen[c] = True
                    top += 1
                    stack[top] = c
                    nxt[top] = count[c]
            else:
                out[m] = v
                m += 1
                top -= 1
    for i in range(n):  # reaches on a loop of main branches that reaches no outlet
        if not seen[i]:
            out[m] = i
            m += 1
    return out


def upstream_first_order(idx_ds: NDArray[np.int64]) -> NDArray[np.int64]:
    """Reach positions in depth-first post-order from each outlet (upstream first).

    Every reach comes after the whole catchment upstream of it, and that catchment is a
    contiguous run ending at the reach. Outlets (``idx_ds == -1``) are taken in position
    order and so are the tributaries of a reach; reaches on a loop of main branches that
    reaches no outlet come last, in position order.

    Parameters
    ----------
    idx_ds
        Downstream position per reach, -1 at outlets (:attr:`RiverNetwork.idx_ds`).

    Returns
    -------
    numpy.ndarray
        int64 permutation of ``0 .. n - 1``.

    Raises
    ------
    InputError
        If ``idx_ds`` is not 1-D whole numbers or holds a value that is neither -1 nor a
        position.

    Examples
    --------
    >>> upstream_first_order(np.array([2, 2, -1, 2])).tolist()
    [0, 1, 3, 2]
    """
    # a position past the end was written out of bounds by the kernel (no bounds check)
    return np.asarray(_post_order(_checked(idx_ds)))


def _checked(idx_ds: Any) -> NDArray[np.int64]:
    """``idx_ds`` as int64 positions, or an InputError (a float such as 2.5 was truncated)."""
    return check_positions(idx_ds, name="idx_ds", outlet=True, at="reach position(s)")


def sub_basins(net: RiverNetwork, n: int) -> NDArray[np.int64]:
    """Label every reach with one of (at most) ``n`` drainage units of equal river length.

    The reaches are numbered upstream first (:func:`upstream_first_order`) and that
    numbering is cut into ``n`` runs of equal total ``length_km`` (every reach counts
    alike when lengths are missing): each unit is a set of neighbouring whole tributary
    catchments and the stretch of river they join. The split only balances the work: the
    overlay and loads computed per unit and stitched back do not depend on it
    (:mod:`basingov.scale`).

    Parameters
    ----------
    net
        The river network (or anything with ``idx_ds`` and ``reaches``).
    n
        Number of units wanted (at least 1); fewer when the network has fewer reaches.

    Returns
    -------
    numpy.ndarray
        int64 unit label per reach position, ``0 .. k - 1`` with ``k <= n``, every label
        used; unit 0 holds the first reaches of the numbering.

    Raises
    ------
    InputError
        If ``n`` is not a whole number >= 1, or ``idx_ds`` is not 1-D whole numbers, each
        -1 or a position.

    Examples
    --------
    Two 1 km tributaries join a 1 km trunk:

    >>> from basingov.examples import example_network
    >>> net = example_network([3, 3, -1], length_m=1000)
    >>> sub_basins(net, 3).tolist()
    [0, 1, 2]
    >>> sub_basins(net, 2).tolist()
    [0, 1, 1]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        msg = f"the number of sub-basins must be a whole number >= 1, got {n!r}"
        raise InputError(msg)
    idx_ds = _checked(net.idx_ds)
    size = idx_ds.shape[0]
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    reaches = net.reaches
    weight = np.ones(size)
    if "length_km" in reaches.columns:
        lk = reaches["length_km"].to_numpy(dtype=np.float64, na_value=np.nan)
        lk = np.where(np.isfinite(lk) & (lk > 0), lk, 0.0)
        if lk.sum() > 0:
            weight = lk
    order = np.asarray(_post_order(idx_ds))
    w = weight[order]
    mid = np.cumsum(w) - w / 2.0  # a reach goes to the unit holding its middle
    k = int(min(n, size))
    unit = np.minimum((mid / (w.sum() / k)).astype(np.int64), k - 1)
    label = np.empty(size, dtype=np.int64)
    label[order] = unit
    _, label = np.unique(label, return_inverse=True)  # drop unused labels, keep the order
    return np.asarray(label, dtype=np.int64).reshape(size)
