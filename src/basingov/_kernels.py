"""Numba kernels for the river-network array core (order, accumulation, walks)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "accumulate_csr",
    "accumulate_tree",
    "csr_reverse",
    "dense_positions",
    "distance_down",
    "kahn_order_csr",
    "kahn_order_tree",
    "outlet_labels",
    "strahler_tree",
    "upstream_main_walk",
    "walk_down_csr",
    "walk_up_csr",
]


@njit(cache=True)
def dense_positions(
    ids: np.ndarray, lo: int, span: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Lookup table ``id - lo -> position`` and the positions of duplicated ids."""
    table = np.full(span, -1, dtype=np.int64)
    dups = np.empty(ids.shape[0], dtype=np.int64)
    nd = 0
    for i in range(ids.shape[0]):
        k = ids[i] - lo
        if table[k] >= 0:
            dups[nd] = i
            nd += 1
        else:
            table[k] = i
    return table, dups[:nd]


@njit(cache=True)
def kahn_order_tree(idx_ds: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Kahn's topological order for one downstream pointer per node.

    Returns the ordered positions; fewer than ``n`` means some nodes lie in or below a cycle.
    """
    n = idx_ds.shape[0]
    indeg = np.zeros(n, dtype=np.int64)
    for i in range(n):
        d = idx_ds[i]
        if d >= 0:
            indeg[d] += 1
    order = np.empty(n, dtype=np.int64)
    tail = 0
    for i in range(n):
        if indeg[i] == 0:
            order[tail] = i
            tail += 1
    head = 0
    while head < tail:
        i = order[head]
        head += 1
        d = idx_ds[i]
        if d >= 0:
            indeg[d] -= 1
            if indeg[d] == 0:
                order[tail] = d
                tail += 1
    return order[:tail]


@njit(cache=True)
def kahn_order_csr(
    indptr: np.ndarray, indices: np.ndarray, n: int
) -> np.ndarray:  # pragma: no cover - compiled
    """Kahn's topological order for a graph in CSR form (row = source, columns = targets)."""
    indeg = np.zeros(n, dtype=np.int64)
    for k in range(indices.shape[0]):
        indeg[indices[k]] += 1
    order = np.empty(n, dtype=np.int64)
    tail = 0
    for i in range(n):
        if indeg[i] == 0:
            order[tail] = i
            tail += 1
    head = 0
    while head < tail:
        i = order[head]
        head += 1
        for k in range(indptr[i], indptr[i + 1]):
            d = indices[k]
            indeg[d] -= 1
            if indeg[d] == 0:
                order[tail] = d
                tail += 1
    return order[:tail]


@njit(cache=True)
def outlet_labels(idx_ds: np.ndarray, order: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Position of the outlet each node drains to, following ``idx_ds``."""
    n = idx_ds.shape[0]
    lab = np.full(n, -1, dtype=np.int64)
    for j in range(order.shape[0] - 1, -1, -1):
        i = order[j]
        d = idx_ds[i]
        lab[i] = i if d < 0 else lab[d]
    return lab


@njit(cache=True)
def accumulate_tree(
    idx_ds: np.ndarray, order: np.ndarray, weights: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Sum ``weights`` over each node and everything upstream of it (single pointer)."""
    acc = weights.copy()
    for j in range(order.shape[0]):
        i = order[j]
        d = idx_ds[i]
        if d >= 0:
            acc[d] += acc[i]
    return acc


@njit(cache=True)
def accumulate_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    fractions: np.ndarray,
    order: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Accumulate with outgoing fractions (bifurcations) along a topological order."""
    acc = weights.copy()
    for j in range(order.shape[0]):
        i = order[j]
        for k in range(indptr[i], indptr[i + 1]):
            acc[indices[k]] += acc[i] * fractions[k]
    return acc


@njit(cache=True)
def strahler_tree(idx_ds: np.ndarray, order: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Strahler order: 1 at sources; +1 where two upstream branches of equal order meet."""
    n = idx_ds.shape[0]
    maxo = np.zeros(n, dtype=np.int64)
    cnt = np.zeros(n, dtype=np.int64)
    out = np.zeros(n, dtype=np.int64)
    for j in range(order.shape[0]):
        i = order[j]
        if maxo[i] == 0:
            o = 1
        elif cnt[i] > 1:
            o = maxo[i] + 1
        else:
            o = maxo[i]
        out[i] = o
        d = idx_ds[i]
        if d >= 0:
            if o > maxo[d]:
                maxo[d] = o
                cnt[d] = 1
            elif o == maxo[d]:
                cnt[d] += 1
    return out


@njit(cache=True)
def distance_down(
    idx_ds: np.ndarray, order: np.ndarray, length: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Length from each node's downstream end to its outlet along ``idx_ds``."""
    n = idx_ds.shape[0]
    dist = np.zeros(n, dtype=np.float64)
    for j in range(order.shape[0] - 1, -1, -1):
        i = order[j]
        d = idx_ds[i]
        if d >= 0:
            dist[i] = dist[d] + length[d]
    return dist


@njit(cache=True)
def csr_reverse(
    src: np.ndarray, dst: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """CSR of edges grouped by ``dst`` (i.e. upstream neighbours of each node)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(dst.shape[0]):
        indptr[dst[k] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    indices = np.empty(dst.shape[0], dtype=np.int64)
    for k in range(dst.shape[0]):
        d = dst[k]
        indices[fill[d]] = src[k]
        fill[d] += 1
    return indptr, indices


@njit(cache=True)
def walk_up_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    order: np.ndarray,
    rank: np.ndarray,
    length: np.ndarray,
    start: int,
    max_km: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """All nodes upstream of ``start`` whose downstream end is within ``max_km`` of it.

    ``indptr/indices`` list the upstream neighbours of each node. The distance of a node
    is the summed length of the reaches strictly between it and ``start`` (the shortest,
    if several paths exist). Nodes are visited in reverse topological order.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    dist[start] = 0.0
    out = np.empty(n, dtype=np.int64)
    no = 0
    for j in range(rank[start], -1, -1):
        i = order[j]
        if dist[i] == np.inf:
            continue
        out[no] = i
        no += 1
        base = dist[i] + (length[i] if i != start else 0.0)
        if base >= max_km:
            continue
        for k in range(indptr[i], indptr[i + 1]):
            u = indices[k]
            if base < dist[u]:
                dist[u] = base
    return out[:no]


@njit(cache=True)
def walk_down_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    order: np.ndarray,
    rank: np.ndarray,
    length: np.ndarray,
    start: int,
    max_km: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """All nodes downstream of ``start`` whose upstream end is within ``max_km`` of it.

    ``indptr/indices`` list the downstream neighbours of each node; nodes are visited
    in topological order.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    dist[start] = 0.0
    out = np.empty(n, dtype=np.int64)
    no = 0
    for j in range(rank[start], order.shape[0]):
        i = order[j]
        if dist[i] == np.inf:
            continue
        out[no] = i
        no += 1
        base = dist[i] + (length[i] if i != start else 0.0)
        if base >= max_km:
            continue
        for k in range(indptr[i], indptr[i + 1]):
            d = indices[k]
            if base < dist[d]:
                dist[d] = base
    return out[:no]


@njit(cache=True)
def upstream_main_walk(
    indptr: np.ndarray,
    indices: np.ndarray,
    score: np.ndarray,
    length: np.ndarray,
    start: int,
    max_km: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """Walk upstream from ``start`` taking the neighbour with the largest ``score``."""
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    out[0] = start
    no = 1
    i = start
    dist = 0.0
    while indptr[i + 1] > indptr[i]:
        best = -1
        for k in range(indptr[i], indptr[i + 1]):
            u = indices[k]
            if best < 0 or score[u] > score[best] or (score[u] == score[best] and u < best):
                best = u
        if i != start:
            dist += length[i]
        if dist >= max_km or no >= n:
            break
        out[no] = best
        no += 1
        i = best
    return out[:no]


@njit(cache=True)
def hash_positions(
    ids: np.ndarray, query: np.ndarray, outlet: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Positions of ``query`` ids among ``ids`` with an open-addressing hash table.

    Returns ``(idx, dups)``: ``idx`` is -1 where ``query == outlet`` and -2 where the id
    is unknown; ``dups`` lists positions whose id occurred earlier. O(n) expected time.
    """
    n = ids.shape[0]
    size = 1
    while size < 2 * n + 2:
        size *= 2
    mask = np.uint64(size - 1)
    mult = np.uint64(0x9E3779B97F4A7C15)
    keys = np.empty(size, dtype=np.int64)
    vals = np.full(size, -1, dtype=np.int64)
    dups = np.empty(n, dtype=np.int64)
    nd = 0
    for i in range(n):
        k = ids[i]
        h = (np.uint64(k) * mult) & mask
        while True:
            j = np.int64(h)
            if vals[j] < 0:
                keys[j] = k
                vals[j] = i
                break
            if keys[j] == k:
                dups[nd] = i
                nd += 1
                break
            h = (h + np.uint64(1)) & mask
    idx = np.empty(query.shape[0], dtype=np.int64)
    for i in range(query.shape[0]):
        k = query[i]
        if k == outlet:
            idx[i] = -1
            continue
        h = (np.uint64(k) * mult) & mask
        res = -2
        while True:
            j = np.int64(h)
            if vals[j] < 0:
                break
            if keys[j] == k:
                res = vals[j]
                break
            h = (h + np.uint64(1)) & mask
        idx[i] = res
    return idx, dups[:nd]
