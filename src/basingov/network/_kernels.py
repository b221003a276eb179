"""Numba kernels for the river-network array core (order, accumulation, walks)."""

from __future__ import annotations

import numpy as np

from basingov._jit import njit

__all__ = [
    "accumulate_csr",
    "accumulate_tree",
    "csr_reverse",
    "dense_positions",
    "distance_down",
    "kahn_order_csr",
    "kahn_order_tree",
    "label_down",
    "map_ids_dense",
    "map_ids_hash",
    "strahler_tree",
    "tree_order",
    "upstream_main_walk",
    "walk_csr",
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
def _push_sources(indeg: np.ndarray, order: np.ndarray) -> int:  # pragma: no cover - compiled
    """Write the nodes without inflow (``indeg == 0``) into ``order``; return their number."""
    tail = 0
    for i in range(indeg.shape[0]):
        if indeg[i] == 0:
            order[tail] = i
            tail += 1
    return tail


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
    none = np.empty(0, dtype=np.int64)
    tail, _ = tree_order(idx_ds, indeg, order, none, none, none)
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
    tail = _push_sources(indeg, order)
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
def label_down(
    idx_ds: np.ndarray, order: np.ndarray, at: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Each node's own label ``at`` (>= 0), else the label of the first labelled node below.

    Nodes with no labelled node below them get -1; so do nodes missing from ``order``.
    """
    lab = np.full(idx_ds.shape[0], -1, dtype=np.int64)
    for j in range(order.shape[0] - 1, -1, -1):  # downstream first
        i = order[j]
        if at[i] >= 0:
            lab[i] = at[i]
        elif idx_ds[i] >= 0:
            lab[i] = lab[idx_ds[i]]
    return lab


@njit(cache=True)
def csr_reverse(
    src: np.ndarray, dst: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """CSR of edges grouped by ``dst`` (i.e. upstream neighbours of each node).

    ``indices[indptr[i]:indptr[i + 1]]`` are the ``src`` of the edges with ``dst == i``,
    in the order they are listed (a stable counting sort); every ``dst`` must lie in
    ``[0, n)``.
    """
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
def walk_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    order: np.ndarray,
    rank: np.ndarray,
    length: np.ndarray,
    start: int,
    max_km: float,
    upstream: bool,
) -> np.ndarray:  # pragma: no cover - compiled
    """All nodes up- or downstream of ``start`` within ``max_km`` of it.

    ``indptr/indices`` list the neighbours of each node in the direction of the walk:
    upstream neighbours (``upstream=True``; nodes are visited in reverse topological
    order) or downstream neighbours (nodes visited in topological order). The distance
    of a node is the summed length of the reaches strictly between it and ``start`` (the
    shortest, if several paths exist), i.e. up to its downstream end (walking upstream) or
    its upstream end (walking downstream).
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    dist[start] = 0.0
    out = np.empty(n, dtype=np.int64)
    no = 0
    stop, step = (-1, -1) if upstream else (order.shape[0], 1)
    for j in range(rank[start], stop, step):
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


# ----------------------------------------------------------------------------------------
# fused topology core (``network._topology``, single downstream pointer)
#
# Work arrays are allocated by the caller with numpy: numpy advises the kernel to back
# large allocations with huge pages, numba's allocator does not, and at millions of
# reaches the random accesses below are bound by TLB misses (2x slower without).
# ----------------------------------------------------------------------------------------
@njit(cache=True)
def _count_links(idx: np.ndarray, indeg: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Count reaches into ``indeg`` of their downstream position ``idx``; tally the rest.

    ``idx`` holds -1 at outlets and -2 for an unknown downstream id. Returns
    ``[dangling, self-loops, outlets]``. A separate pass after the id lookup: the random
    reads of the lookup and the random writes here do not compete (as fast as one loop).
    """
    n_dangling = 0
    n_self = 0
    n_out = 0
    for i in range(idx.shape[0]):
        d = idx[i]
        if d == -1:
            n_out += 1
        elif d == -2:
            n_dangling += 1
        else:
            if d == i:
                n_self += 1
            indeg[d] += 1
    return np.array([n_dangling, n_self, n_out], dtype=np.int64)


@njit(cache=True)
def map_ids_dense(
    ids: np.ndarray,
    ds: np.ndarray,
    outlet: int,
    lo: int,
    table: np.ndarray,
    idx: np.ndarray,
    indeg: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Map downstream ids to positions through a dense table ``id - lo -> position``.

    ``table`` (length ``span``) must be filled with -1 and ``indeg`` with 0. Writes
    ``idx`` (downstream position; -1 at outlets, -2 for an unknown id) and ``indeg``
    (number of reaches draining into each reach).

    Returns ``[reach ids equal to outlet, dangling, self-loops, outlets, distinct ids]``;
    fewer distinct ids than reaches means duplicated ids.
    """
    n = ids.shape[0]
    span = table.shape[0]
    n_outid = 0
    for i in range(n):
        k = ids[i]
        if k == outlet:
            n_outid += 1
        table[k - lo] = i
    n_distinct = 0
    for j in range(span):
        if table[j] >= 0:
            n_distinct += 1
    for i in range(n):
        k = ds[i]
        j = k - lo
        d = np.int64(table[j]) if 0 <= j < span else np.int64(-1)
        idx[i] = -1 if k == outlet else (d if d >= 0 else -2)
    links = _count_links(idx, indeg)
    return np.array([n_outid, links[0], links[1], links[2], n_distinct], dtype=np.int64)


@njit(cache=True)
def _slot(slots: np.ndarray, shift: int, key: int) -> np.int64:  # pragma: no cover - compiled
    """Slot of ``key`` in the table of :func:`map_ids_hash`, or the empty slot ending its probe."""
    mask = np.uint64(slots.shape[0] - 1)
    h = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(shift)
    while True:
        j = np.int64(h)
        if slots[j, 1] < 0 or slots[j, 0] == key:
            return j
        h = (h + np.uint64(1)) & mask


@njit(cache=True)
def map_ids_hash(
    ids: np.ndarray,
    ds: np.ndarray,
    outlet: int,
    slots: np.ndarray,
    shift: int,
    idx: np.ndarray,
    indeg: np.ndarray,
    dups: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Map downstream ids to positions through an open-addressing hash table.

    ``slots`` is a ``(2**b, 2)`` int64 array filled with -1 (key, position side by
    side, so a probe touches one cache line) and ``shift = 64 - b``: the slot is the
    top ``b`` bits of ``id * 0x9E3779B97F4A7C15`` (Fibonacci hashing, which spreads
    ids with regular low bits such as HydroBASINS' multiples of 10), then linear
    probing. Writes ``idx``, ``indeg`` (as :func:`map_ids_dense`) and the positions of
    duplicated ids (a repeat of an earlier id) into ``dups``.

    Returns ``[reach ids equal to outlet, dangling, self-loops, outlets, duplicates]``.
    """
    n = ids.shape[0]
    n_outid = 0
    nd = 0
    for i in range(n):
        k = ids[i]
        if k == outlet:
            n_outid += 1
        j = _slot(slots, shift, k)
        if slots[j, 1] < 0:
            slots[j, 0] = k
            slots[j, 1] = i
        else:
            dups[nd] = i
            nd += 1
    for i in range(n):
        k = ds[i]
        if k == outlet:
            idx[i] = -1
            continue
        d = slots[_slot(slots, shift, k), 1]
        idx[i] = d if d >= 0 else -2
    links = _count_links(idx, indeg)
    return np.array([n_outid, links[0], links[1], links[2], nd], dtype=np.int64)


@njit(cache=True)
def tree_order(
    idx: np.ndarray,
    indeg: np.ndarray,
    order: np.ndarray,
    count: np.ndarray,
    outlets: np.ndarray,
    sizes: np.ndarray,
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Kahn's topological order for one downstream pointer, with outlets and piece sizes.

    ``indeg`` (from :func:`map_ids_dense` / :func:`map_ids_hash`) is consumed. Writes the
    order into ``order`` and each outlet (in order of completion) into ``outlets``. When
    ``count`` is non-empty (ones, length n) it also accumulates the number of reaches
    draining through each reach, so that ``sizes`` receives the size of each outlet's
    piece; with an empty ``count`` the sizes are not computed (one outlet: its piece is
    the whole network).

    Returns ``(number ordered, number of outlets)``; fewer than n ordered means some
    reaches lie in or below a cycle.
    """
    pieces = count.shape[0] > 0
    tail = _push_sources(indeg, order)
    head = 0
    no = 0
    while head < tail:
        i = order[head]
        head += 1
        d = idx[i]
        if d < 0:
            if no < outlets.shape[0]:
                outlets[no] = i
                if pieces:
                    sizes[no] = count[i]
            no += 1
            continue
        if pieces:
            count[d] += count[i]
        r = indeg[d] - 1
        indeg[d] = r
        if r == 0:
            order[tail] = d
            tail += 1
    return tail, no
