"""Numba kernels of the spillover routing (dense sweep, tree zones)."""

from __future__ import annotations

import numpy as np

from basingov._jit import njit
from basingov.network import csr_reverse

__all__ = [
    "stretch_labels",
    "sweep_dense",
    "tree_local",
    "tree_paths",
    "tree_reverse",
    "tree_samples",
    "tree_zones_sparse",
    "zone_columns",
]


@njit(cache=True)
def stretch_labels(  # pragma: no cover - compiled
    on: np.ndarray,
    walk: np.ndarray,
    of: np.ndarray,
    codes: np.ndarray,
    a_code: np.ndarray,
    b_code: np.ndarray,
    succ: np.ndarray,
    sstart: np.ndarray,
    pred: np.ndarray,
    pstart: np.ndarray,
    upstream: np.ndarray,
) -> np.ndarray:
    """Routing labels of the pieces on boundary stretches (``stretch_route_codes``).

    ``on``: the pieces on a stretch (``of[i]`` is its stretch, A and B its sides
    ``a_code``/``b_code``), ascending; ``walk``: the same pieces, upstream first.
    ``succ``/``pred`` with ``sstart``/``pstart`` are each piece's downstream and upstream
    neighbours (CSR); ``upstream`` the river length above each piece. First each
    stretch's exit label: the side its main flow (longest upstream river) leaves into.
    Then, walking down, a stretch piece takes the label of the upstream neighbour in its
    stretch or labelled A or B with the longest river upstream (the first such on a tie,
    the first NaN if any, as ``np.argmax``), else, entered from a third jurisdiction, the
    exit label; a piece without upstream neighbours keeps its own label.
    """
    n_st = a_code.shape[0]
    exit_code = np.full(n_st, -1, dtype=np.int64)
    exit_up = np.full(n_st, -1.0)
    for t in range(on.shape[0]):
        i = on[t]
        k = of[i]
        for e in range(sstart[i], sstart[i + 1]):
            o = succ[e]
            if of[o] != k and (codes[o] == a_code[k] or codes[o] == b_code[k]):
                if upstream[i] > exit_up[k]:
                    exit_code[k] = codes[o]
                    exit_up[k] = upstream[i]
                break  # only the first such neighbour counts
    rc = codes.copy()
    for t in range(walk.shape[0]):
        i = walk[t]
        k = of[i]
        best = -1
        for e in range(pstart[i], pstart[i + 1]):
            q = pred[e]
            if of[q] == k or rc[q] == a_code[k] or rc[q] == b_code[k]:
                if best < 0:
                    best = q
                elif np.isnan(upstream[best]):
                    pass
                elif np.isnan(upstream[q]) or upstream[q] > upstream[best]:
                    best = q
        if best >= 0:
            rc[i] = rc[best]
        elif pstart[i + 1] > pstart[i] and exit_code[k] >= 0:
            rc[i] = exit_code[k]
    return rc


@njit(cache=True)
def sweep_dense(  # pragma: no cover - compiled
    order: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    frac: np.ndarray,
    keep: np.ndarray,
    entry: np.ndarray,
    load: np.ndarray,
    origin: np.ndarray,
    lake: np.ndarray,
    flux: np.ndarray,
    gen: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    dlv: np.ndarray,
) -> None:
    """Route every origin at once along an acyclic network (``flux`` holds n x J, zeroed)."""
    nj = flux.shape[1]
    for k in range(order.shape[0]):
        i = order[k]
        o = origin[i]
        fsum = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            fsum += frac[e]
        out_frac = 1.0 - fsum
        kp = keep[i]
        for j in range(nj):
            u = flux[i, j]
            out = kp * u
            loss = (1.0 - kp) * u
            if j == o:
                out += entry[i] * load[i]
                loss += (1.0 - entry[i]) * load[i]
            flux[i, j] = out
            if lake[i]:
                ret[j] += loss
            else:
                dec[j] += loss
            dlv[j] += out * out_frac
            for e in range(indptr[i], indptr[i + 1]):
                flux[indices[e], j] += frac[e] * out
        gen[o] += load[i]


@njit(cache=True)
def tree_local(  # pragma: no cover - compiled
    order: np.ndarray,
    idx_ds: np.ndarray,
    keep: np.ndarray,
    entry: np.ndarray,
    load: np.ndarray,
    jur: np.ndarray,
    lake: np.ndarray,
    gen: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
) -> np.ndarray:
    """Accumulate each node's own-jurisdiction load inside its zone; return zone outflows."""
    n = idx_ds.shape[0]
    acc = np.zeros(n)
    for k in range(order.shape[0]):
        i = order[k]
        u = acc[i]
        g = load[i]
        f = keep[i] * u + entry[i] * g
        loss = (1.0 - keep[i]) * u + (1.0 - entry[i]) * g
        o = jur[i]
        gen[o] += g
        if lake[i]:
            ret[o] += loss
        else:
            dec[o] += loss
        acc[i] = f
        d = idx_ds[i]
        if d >= 0 and jur[d] == o:
            acc[d] += f
    return acc


@njit(cache=True)
def tree_reverse(  # pragma: no cover - compiled
    order: np.ndarray,
    idx_ds: np.ndarray,
    keep: np.ndarray,
    jur: np.ndarray,
    lake: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zone of each node, zone exits, and transfer/decay/retention factors to the exit.

    Zones are numbered downstream first, so every upstream zone has a larger number.
    ``trans[i]`` is the fraction of load entering node ``i`` (at its inflow) that leaves
    its zone's exit; ``rho[i]``/``dlt[i]`` the fractions retained in lakes / decayed on
    the way.
    """
    n = idx_ds.shape[0]
    zone = np.empty(n, dtype=np.int64)
    trans = np.empty(n)
    rho = np.empty(n)
    dlt = np.empty(n)
    exits = np.empty(n, dtype=np.int64)
    nz = 0
    for k in range(order.shape[0] - 1, -1, -1):
        i = order[k]
        d = idx_ds[i]
        if d < 0 or jur[d] != jur[i]:
            zone[i] = nz
            exits[nz] = i
            nz += 1
            tn = 1.0
            rn = 0.0
            dn = 0.0
        else:
            zone[i] = zone[d]
            tn = trans[d]
            rn = rho[d]
            dn = dlt[d]
        kp = keep[i]
        trans[i] = kp * tn
        if lake[i]:
            rho[i] = (1.0 - kp) + kp * rn
            dlt[i] = kp * dn
        else:
            rho[i] = kp * rn
            dlt[i] = (1.0 - kp) + kp * dn
    return zone, exits[:nz].copy(), trans, rho, dlt


@njit(cache=True)
def tree_zones_sparse(  # pragma: no cover - compiled
    exits: np.ndarray,
    zone: np.ndarray,
    idx_ds: np.ndarray,
    jur: np.ndarray,
    acc: np.ndarray,
    trans: np.ndarray,
    rho: np.ndarray,
    dlt: np.ndarray,
    off: np.ndarray,
    cols: np.ndarray,
    down: np.ndarray,
    ret_at: np.ndarray,
    own: np.ndarray,
    smat: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    dlv: np.ndarray,
    exported: np.ndarray,
    returned: np.ndarray,
    border_zone: np.ndarray,
    bb: np.ndarray,
    bj: np.ndarray,
    bv: np.ndarray,
) -> int:
    """Propagate every origin over the tree of zones, each zone carrying only its origins.

    ``off, cols, down, ret_at, own`` are the sparse zones x origins layout of
    :func:`zone_columns`. The additions are those of a dense zones x origins sweep in the
    same order (zone by zone, upstream first; zero fluxes skipped; the dense sweep is kept
    as the reference in ``tests/spillover/test_mc_batch.py``), so the results are the same bits,
    in O(n + sum of the zones' origins) instead of O(n + zones x J). The border fluxes
    are written as triplets ``(bb, bj, bv)`` = (border row, origin, flux); returns their
    number.
    """
    nz = exits.shape[0]
    x = np.zeros(cols.shape[0])
    m = 0
    for z in range(nz):
        x[own[z]] = acc[exits[z]]
    for z in range(nz - 1, -1, -1):
        e = exits[z]
        d = idx_ds[e]
        if d < 0:
            for k in range(off[z], off[z + 1]):
                dlv[cols[k]] += x[k]
            continue
        r = jur[d]
        o = jur[e]
        t = trans[d]
        rh = rho[d]
        dl = dlt[d]
        b = border_zone[z]
        for k in range(off[z], off[z + 1]):
            v = x[k]
            if v == 0.0:
                continue
            j = cols[k]
            x[down[k]] += t * v
            smat[j, r] += v
            ret[j] += rh * v
            dec[j] += dl * v
            if b >= 0:
                bb[m] = b
                bj[m] = j
                bv[m] = v
                m += 1
        exported[o] += x[own[z]]
        if ret_at[z] >= 0:
            returned[r] += x[ret_at[z]]
    return m


@njit(cache=True)
def tree_paths(  # pragma: no cover - compiled
    idx_ds: np.ndarray,
    keep: np.ndarray,
    entry: np.ndarray,
    lake: np.ndarray,
    node: np.ndarray,
    origin: np.ndarray,
    load: np.ndarray,
    border_of: np.ndarray,
    gen: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    dlv: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follow each point load down its path of a tree (few loads, any number of origins).

    ``border_of[k]`` is the border link (row) of the link leaving node ``k``, -1 if that
    link is not a border. Returns the flux leaving a node over a border link, summed per
    (link, origin) cell, as ``(link, origin, flux)`` arrays (cells of no flux left out).

    The loads are taken origin by origin, each origin's in the order given: every
    quantity of an origin (its totals, and each of its cells, from 0.0) gets the
    additions of its loads in the order given, as when the loads are taken in the order
    given and the cells are those of a dense border links x origins array. Memory: the
    cells, not the links x origins.
    """
    cap = max(16, 2 * node.shape[0])
    bl = np.empty(cap, dtype=np.int64)
    bo = np.empty(cap, dtype=np.int64)
    bv = np.empty(cap)
    m = 0
    slot = np.full(max(1, border_of.max() + 1), -1, dtype=np.int64)
    by_origin = np.argsort(origin, kind="mergesort")
    first = 0  # the first cell of the current origin
    for t in range(by_origin.shape[0]):
        e = by_origin[t]
        i = node[e]
        o = origin[e]
        if t > 0 and o != origin[by_origin[t - 1]]:
            for c in range(first, m):
                slot[bl[c]] = -1
            first = m
        g = load[e]
        gen[o] += g
        f = entry[i] * g
        if lake[i]:
            ret[o] += g - f
        else:
            dec[o] += g - f
        k = i
        while True:
            b = border_of[k]
            if b >= 0 and f != 0.0:
                c = slot[b]
                if c >= 0:
                    bv[c] += f
                else:
                    if m == bl.shape[0]:
                        bl = _grown(bl, m)
                        bo = _grown(bo, m)
                        bv = _grown(bv, m)
                    slot[b] = m
                    bl[m] = b
                    bo[m] = o
                    bv[m] = f
                    m += 1
            d = idx_ds[k]
            if d < 0:
                dlv[o] += f
                break
            nf = keep[d] * f
            if lake[d]:
                ret[o] += f - nf
            else:
                dec[o] += f - nf
            f = nf
            k = d
            if f == 0.0:
                break
    return bl[:m].copy(), bo[:m].copy(), bv[:m].copy()


@njit(cache=True)
def _grown(a: np.ndarray, used: int) -> np.ndarray:  # pragma: no cover - compiled
    """Return a buffer twice as long as ``a`` holding its first ``used`` items."""
    out = np.empty(2 * a.shape[0], dtype=a.dtype)
    out[:used] = a[:used]
    return out


@njit(cache=True)
def _add_column(  # pragma: no cover - compiled
    buf: np.ndarray, used: int, mark: np.ndarray, z: int, c: int
) -> tuple[np.ndarray, int]:
    """Append column ``c`` to ``buf[:used]`` unless zone ``z`` has it (``mark``); grow ``buf``.

    Returns the buffer (a new one, twice as long, when it was full) and its new length.
    """
    if mark[c] != z:
        mark[c] = z
        if used == buf.shape[0]:
            nb = np.empty(2 * buf.shape[0], dtype=np.int64)
            nb[:used] = buf[:used]
            buf = nb
        buf[used] = c
        used += 1
    return buf, used


@njit(cache=True)
def zone_columns(  # pragma: no cover - compiled
    ds: np.ndarray,
    zone: np.ndarray,
    exits: np.ndarray,
    pair_zone: np.ndarray,
    pair_col: np.ndarray,
    label: np.ndarray,
    nj: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the origins that can reach each zone: a sparse zones x origins layout.

    ``zone`` and ``exits`` come from :func:`tree_reverse` (zones numbered downstream
    first; ``ds`` the downstream node, -1 at outlets), ``label[z]`` is zone ``z``'s label
    and ``(pair_zone, pair_col)`` list the columns each zone holds itself (its label, the
    origins of loads placed in it). Zone ``z`` gets the columns ``cols[off[z]:off[z + 1]]``
    (ascending): its own and every column of the zones upstream of it. ``down[k]`` is the
    flat position of column ``cols[k]`` in the zone downstream of zone ``z`` (-1 at
    outlets); ``ret[z]`` the flat position of the downstream zone's label in zone ``z``
    (-1 if absent); ``own[z]`` that of zone ``z``'s own label.
    """
    nz = exits.shape[0]
    # the zones' children (upstream zones) and own columns, in CSR form
    parent = np.full(nz, -1, dtype=np.int64)
    for z in range(nz):
        d = ds[exits[z]]
        if d >= 0:
            parent[z] = zone[d]
    has_parent = np.flatnonzero(parent >= 0)
    cstart, child = csr_reverse(has_parent, parent[has_parent], nz)
    # each zone's own label first, then its pairs in their order
    own_zone = np.concatenate((np.arange(nz), pair_zone))
    ostart, owncol = csr_reverse(np.concatenate((label, pair_col)), own_zone, nz)
    # full column sets, upstream zones (larger numbers) first; stored in processing order
    mark = np.full(nj, -1, dtype=np.int64)
    size = np.zeros(nz, dtype=np.int64)
    start = np.zeros(nz, dtype=np.int64)
    buf = np.empty(max(16, 2 * nz), dtype=np.int64)
    used = 0
    for z in range(nz - 1, -1, -1):
        start[z] = used
        for k in range(ostart[z], ostart[z + 1]):
            buf, used = _add_column(buf, used, mark, z, owncol[k])
        for q in range(cstart[z], cstart[z + 1]):
            u = child[q]
            for k in range(start[u], start[u] + size[u]):
                buf, used = _add_column(buf, used, mark, z, buf[k])
        size[z] = used - start[z]
        buf[start[z] : used] = np.sort(buf[start[z] : used])
    off = np.zeros(nz + 1, dtype=np.int64)
    for z in range(nz):
        off[z + 1] = off[z] + size[z]
    cols = np.empty(off[nz], dtype=np.int64)
    for z in range(nz):
        cols[off[z] : off[z + 1]] = buf[start[z] : start[z] + size[z]]
    # flat positions in the downstream zone, of the own label and of the downstream label
    where = np.full(nj, -1, dtype=np.int64)
    down = np.full(off[nz], -1, dtype=np.int64)
    ret = np.full(nz, -1, dtype=np.int64)
    own = np.full(nz, -1, dtype=np.int64)
    for z in range(nz):
        for k in range(off[z], off[z + 1]):
            where[cols[k]] = k
        own[z] = where[label[z]]
        for q in range(cstart[z], cstart[z + 1]):
            u = child[q]
            for k in range(off[u], off[u + 1]):
                down[k] = where[cols[k]]
        for k in range(off[z], off[z + 1]):
            where[cols[k]] = -1
    for z in range(nz):
        p = parent[z]
        if p < 0:
            continue
        r = label[p]
        for k in range(off[z], off[z + 1]):
            if cols[k] == r:
                ret[z] = k
    return off, cols, down, ret, own


@njit(cache=True)
def tree_samples(  # pragma: no cover - compiled
    ds: np.ndarray,
    lake: np.ndarray,
    route: np.ndarray,
    origin: np.ndarray,
    zone: np.ndarray,
    exits: np.ndarray,
    off: np.ndarray,
    cols: np.ndarray,
    down: np.ndarray,
    ret: np.ndarray,
    own: np.ndarray,
    at_route: np.ndarray,
    at_origin: np.ndarray,
    fnode: np.ndarray,
    forigin: np.ndarray,
    fat: np.ndarray,
    fkey: np.ndarray,
    pnode: np.ndarray,
    pforeign: np.ndarray,
    pzone: np.ndarray,
    pdiag: np.ndarray,
    keep: np.ndarray,
    load: np.ndarray,
    fload: np.ndarray,
    out: np.ndarray,
) -> None:
    """Source-receptor matrix of many samples of keep factors and loads on one tree.

    Nodes are numbered in topological order (``ds[i] > i``, -1 at outlets). Sample ``s``
    has keep factors ``keep[s]`` and loads ``load[s]`` (node ``i``'s load originates in
    ``origin[i]``), plus foreign loads: entry ``k`` at node ``fnode[k]`` of origin
    ``forigin[k]`` gets the sum of ``fload[s, m]`` over the rows ``m`` with
    ``fkey[m] == k`` (in row order). ``route`` holds the routing labels, ``zone`` and
    ``exits`` their zones (:func:`tree_reverse`), and ``off, cols, down, ret, own`` the
    sparse zones x origins layout (:func:`zone_columns`); ``at_route[i]``,
    ``at_origin[i]`` and ``fat[k]`` are the flat positions of a node's label, a node's
    origin and a foreign entry's origin in its zone.

    ``out[s]`` receives the J x J matrix of :func:`basingov.spillover.transfer` with
    ``route_jur=route`` and these foreign loads, stored by pair: the cell S[o, r] that a
    node ``i`` (``o = origin[i] != r = route[i]``), a foreign entry ``k``, a column ``k``
    of the zone layout (``cols[k]`` into the label below its zone) or the diagonal ``j``
    writes is ``out[s, pnode[i]]``, ``out[s, pforeign[k]]``, ``out[s, pzone[k]]`` or
    ``out[s, pdiag[j]]``; every other cell is 0. Every load enters the zone method at its
    own zone (a load of origin ``o`` on a node labelled ``r != o`` also counts in
    ``S[o, r]`` where it enters), and the zones carry only the origins that reach them.
    """
    n = ds.shape[0]
    nz = exits.shape[0]
    nj = pdiag.shape[0]
    nk = fnode.shape[0]
    acc = np.empty(n)
    trans = np.empty(n)
    x = np.empty(cols.shape[0])
    gen = np.empty(nj)
    exported = np.empty(nj)
    returned = np.empty(nj)
    fk = np.empty(nk)
    for s in range(keep.shape[0]):
        kp = keep[s]
        g = load[s]
        sm = out[s]
        sm[:] = 0.0
        x[:] = 0.0
        gen[:] = 0.0
        exported[:] = 0.0
        returned[:] = 0.0
        # fraction of the load entering node i (at its inflow) that leaves its zone's exit
        for i in range(n - 1, -1, -1):
            d = ds[i]
            if d < 0 or route[d] != route[i]:
                trans[i] = kp[i]
            else:
                trans[i] = kp[i] * trans[d]
        # loads whose origin is the node's label accumulate inside the zone; the others
        # join the zone's origin vector at once, carried to the exit by trans
        acc[:] = 0.0
        for i in range(n):
            gi = g[i]
            o = origin[i]
            r = route[i]
            d = ds[i]
            inside = d >= 0 and route[d] == r
            f = kp[i] * acc[i]
            gen[o] += gi
            if o == r:
                f += (kp[i] if lake[i] else np.sqrt(kp[i])) * gi
            elif gi > 0.0:
                e = kp[i] if lake[i] else np.sqrt(kp[i])
                sm[pnode[i]] += gi
                exported[o] += gi
                x[at_origin[i]] += e * gi * (trans[d] if inside else 1.0)
            if inside:
                acc[d] += f
            else:
                x[at_route[i]] += f
        fk[:] = 0.0
        for m in range(fkey.shape[0]):
            fk[fkey[m]] += fload[s, m]
        for k in range(nk):
            i = fnode[k]
            o = forigin[k]
            r = route[i]
            gi = fk[k]
            d = ds[i]
            inside = d >= 0 and route[d] == r
            e = kp[i] if lake[i] else np.sqrt(kp[i])
            gen[o] += gi
            if o != r:
                sm[pforeign[k]] += gi
                exported[o] += gi
            x[fat[k]] += e * gi * (trans[d] if inside else 1.0)
        # the tree of zones, upstream zones (larger numbers) first
        for z in range(nz - 1, -1, -1):
            e = exits[z]
            d = ds[e]
            if d < 0:
                continue
            r = route[d]
            t = trans[d]
            for k in range(off[z], off[z + 1]):
                v = x[k]
                x[down[k]] += t * v
                sm[pzone[k]] += v
            exported[route[e]] += x[own[z]]
            if ret[z] >= 0:
                returned[r] += x[ret[z]]
        for j in range(nj):
            sm[pdiag[j]] = gen[j] - exported[j] + returned[j]


@njit(cache=True)
def tree_links(  # pragma: no cover - compiled
    idx_ds: np.ndarray, bad: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Check downstream pointers and build their CSR form in one pass.

    Returns the number of bad nodes (position out of range or a self-link; the first
    ``bad.shape[0]`` of them are written into ``bad``), ``indptr``, ``indices`` and the
    direction in which the position order is already topological: 1 when every link goes
    to a larger position, -1 when every link goes to a smaller one, 0 otherwise.
    """
    n = idx_ds.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices = np.empty(n, dtype=np.int64)
    nbad = 0
    m = 0
    up = True
    down = True
    for i in range(n):
        d = idx_ds[i]
        if d < -1 or d >= n or d == i:
            if nbad < bad.shape[0]:
                bad[nbad] = i
            nbad += 1
        elif d >= 0:
            indices[m] = d
            m += 1
            if d < i:
                up = False
            else:
                down = False
        indptr[i + 1] = m
    direction = 1 if up else (-1 if down else 0)
    return nbad, indptr, indices[:m], direction


@njit(cache=True)
def keep_exponents(  # pragma: no cover - compiled
    tau_h: np.ndarray, k: np.ndarray, lake: np.ndarray, ret: np.ndarray, out: np.ndarray
) -> bool:
    """Check the inputs of the keep factors and write ``-k tau`` (days) of river nodes.

    ``k``, ``lake`` and ``ret`` hold one value per node or a single value for all. Lake
    nodes get 0 (the caller puts ``1 - R`` there after the exponential, which numpy
    computes, as before). Returns False (``out`` then incomplete) at the first invalid
    value: a rate that is not finite and >= 0, a lake retention outside [0, 1] or a river
    travel time that is not finite and >= 0; the caller then finds and names them.
    """
    n = tau_h.shape[0]
    one_k = k.shape[0] == 1
    one_lake = lake.shape[0] == 1
    one_ret = ret.shape[0] == 1
    for i in range(n):
        ki = k[0] if one_k else k[i]
        if not (np.isfinite(ki) and ki >= 0.0):
            return False
        if lake[0] if one_lake else lake[i]:
            r = ret[0] if one_ret else ret[i]
            if not (r >= 0.0 and r <= 1.0):
                return False
            out[i] = 0.0
        else:
            t = tau_h[i] / 24.0
            if not (np.isfinite(t) and t >= 0.0):
                return False
            out[i] = -ki * t
    return True


@njit(cache=True)
def node_arrays_ok(  # pragma: no cover - compiled
    keep: np.ndarray, load: np.ndarray, origin: np.ndarray, n_origins: int
) -> bool:
    """Check node arrays in one pass.

    True when every keep factor lies in [0, 1], every load is finite and >= 0 and every
    origin code lies in [0, n_origins).
    """
    for i in range(keep.shape[0]):
        kp = keep[i]
        g = load[i]
        o = origin[i]
        if not (kp >= 0.0 and kp <= 1.0 and np.isfinite(g) and g >= 0.0):
            return False
        if o < 0 or o >= n_origins:
            return False
    return True
