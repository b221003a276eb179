"""Validation and topology of reach tables: id mapping, bifurcations, cycles, order.

Also the compiled grouping and order kernels of the façade (:func:`csr_reverse`,
:func:`kahn_order_tree`, :func:`kahn_order_csr`) behind checks of their arrays: the
kernels index without bounds checks, so a position out of range wrote outside their
arrays (a segmentation fault, or silently wrong results). In compiled code the names call
the kernels directly: callers there hold arrays they made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numba.extending import overload
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

from basingov._checks import projected_crs, raise_problems
from basingov.errors import InputError, TopologyError
from basingov.network import _kernels as K

#: ``downstream_id`` of a reach that drains out of the network.
OUTLET_ID = -1


def _fmt_ids(ids: Sequence[Any] | np.ndarray, limit: int = 20) -> str:
    vals = [int(v) if isinstance(v, np.integer | int) else v for v in list(ids)]
    head = ", ".join(str(v) for v in vals[:limit])
    more = f", ... ({len(vals) - limit} more)" if len(vals) > limit else ""
    return f"[{head}{more}]"


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool | np.bool_)


def _id_array(
    reach_ids: Any,
    *,
    name: str = "reach id(s)",
    fix: str = "pass the reach_id values of the network",
) -> np.ndarray:
    """``reach_ids`` as int64 (ids as text are taken); refuse what is not an integer id.

    A float id such as 4.5, NaN, text that is no number, a bool or an id beyond 64 bits
    raises an :class:`~basingov.errors.InputError` naming them (``name``) and the ``fix``.
    """
    q = np.atleast_1d(np.asarray(reach_ids))
    if isinstance(reach_ids, list | tuple) and q.dtype.kind in "iuf" and q.size:
        # numpy reads [True, 6] as [1, 6] ([True, 6.0] as floats): look at the items
        items = np.atleast_1d(np.asarray(reach_ids, dtype=object))
        if items.shape == q.shape and any(_is_bool(v) for v in items.ravel().tolist()):
            q = items
    # a uint64 id beyond 2**63 - 1 wrapped round (2**64 - 2 became reach -2)
    if q.dtype.kind == "i" or (q.dtype.kind == "u" and not (q.size and q.max() >= 2**63)):
        return q.astype(np.int64)
    flat = pd.to_numeric(pd.Series(q.ravel(), dtype=object), errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(flat) & (np.mod(flat, 1) == 0) & (np.abs(flat) < 2.0**63))
    if q.dtype.kind in "bO":  # True is no reach id 1 (nor False reach 0)
        bad |= np.array([_is_bool(v) for v in q.ravel().tolist()], dtype=bool)
    if bad.any():
        shown = _fmt_ids([str(v) for v in q.ravel()[bad]])
        msg = f"{name} {shown} are not integer ids; {fix}"
        raise InputError(msg)
    return flat.astype(np.int64).reshape(q.shape)


def _scc(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[int, np.ndarray]:
    g = sparse.csr_matrix((np.ones(src.shape[0], dtype=np.int8), (src, dst)), shape=(n, n))
    ncomp, labels = csgraph.connected_components(g, directed=True, connection="strong")
    return int(ncomp), labels.astype(np.int64)


def _edge_arrays(
    idx_ds: np.ndarray,
    ids: np.ndarray,
    bifurcations: pd.DataFrame | None,
    position: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    main = np.flatnonzero(idx_ds >= 0)
    src = main
    dst = idx_ds[main]
    frac = np.ones(main.shape[0])
    if bifurcations is not None and len(bifurcations):
        bsrc = position(bifurcations["reach_id"].to_numpy())
        bds = bifurcations["downstream_id"].to_numpy(dtype=np.int64)
        bfrac = bifurcations["fraction"].to_numpy(dtype=np.float64)
        # bifurcation rows replace the main link of their reach; out-of-network rows
        # (downstream_id == OUTLET_ID) leave the network and carry their fraction away.
        keep_main = ~np.isin(main, bsrc)
        inside = bds != OUTLET_ID
        src = np.concatenate([main[keep_main], bsrc[inside]])
        dst = np.concatenate([dst[keep_main], position(bds[inside])])
        frac = np.concatenate([frac[keep_main], bfrac[inside]])
    return src.astype(np.int64), dst.astype(np.int64), frac


def _index_dtype(n: int) -> type[np.signedinteger[Any]]:
    """int32 work arrays (half the memory traffic) unless positions need 64 bits."""
    return np.int32 if n < 2**31 - 1 else np.int64


def _outlet_id(outlet_value: Any) -> int:
    """Return ``outlet_value`` as an int: one whole number of 64 bits (-1.0 is taken)."""
    v = outlet_value
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        ok = -(2**63) <= int(v) < 2**63
    else:
        ok = (
            isinstance(v, float | np.floating)
            and float(v).is_integer()
            and -(2.0**63) <= float(v) < 2.0**63
        )
    if not ok:
        msg = (
            f"outlet_value must be one whole number, the downstream id that marks outlets "
            f"(default {OUTLET_ID}), got {v!r}"
        )
        raise InputError(msg)
    return int(v)


def _map_ids(
    reach_ids: np.ndarray, downstream_ids: np.ndarray, outlet_value: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Downstream positions, in-degrees, check counts and duplicated positions.

    Dense ids (span at most ``4 n + 1024``) go through a lookup table, others through a
    hash table (:func:`basingov.network._kernels.map_ids_dense` / ``map_ids_hash``). The counts
    are ``[reach ids equal to the outlet value, dangling, self-loops, outlets]``.
    """
    outlet_value = _outlet_id(outlet_value)  # the kernels compare ids with it
    n = reach_ids.shape[0]
    ids = np.ascontiguousarray(reach_ids, dtype=np.int64)
    ds = np.ascontiguousarray(downstream_ids, dtype=np.int64)
    it = _index_dtype(n)
    idx = np.empty(n, dtype=np.int64)
    indeg = np.zeros(n, dtype=it)
    if n == 0:
        return idx, indeg, np.zeros(4, np.int64), np.empty(0, np.int64)
    lo = int(ids.min())
    span = int(ids.max()) - lo + 1
    if span <= 4 * n + 1024:
        table = np.full(span, -1, dtype=it)
        counts = K.map_ids_dense(ids, ds, outlet_value, lo, table, idx, indeg)
        # fewer distinct ids than reaches: find the duplicates (first occurrence wins)
        dups = K.dense_positions(ids, lo, span)[1] if counts[4] < n else np.empty(0, np.int64)
        return idx, indeg, counts[:4], dups
    bits = max(int(3 * n // 2 + 1).bit_length(), 1)  # 2**bits > 1.5 n: load < 2/3
    slots = np.full((1 << bits, 2), -1, dtype=np.int64)
    dup_buf = np.empty(n, dtype=np.int64)
    counts = K.map_ids_hash(ids, ds, outlet_value, slots, 64 - bits, idx, indeg, dup_buf)
    return idx, indeg, counts[:4], dup_buf[: counts[4]].copy()


def ids_to_positions(
    reach_ids: Any, downstream_ids: Any, *, outlet_value: int = OUTLET_ID
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map downstream ids onto positions.

    Parameters
    ----------
    reach_ids
        Integer ids, one per reach (whole floats and numbers as text are taken).
    downstream_ids
        Integer downstream ids, one per reach; ``outlet_value`` marks outlets.
    outlet_value
        The outlet sentinel in ``downstream_ids``.

    Returns
    -------
    idx_ds
        Position of each downstream reach; -1 at outlets and -2 where the id is unknown.
    duplicated
        Positions whose id already occurred earlier.
    sorter
        Always an empty array (kept for compatibility): ids are looked up through a
        dense table or, for sparse ids, a hash table, never by sorting.

    Raises
    ------
    InputError
        If an id is not an integer (4.5, NaN, text that is no number, a bool), the two are not
        1-D with one value per reach, or ``outlet_value`` is not one whole number.

    Examples
    --------
    >>> import numpy as np
    >>> idx, dup, _ = ids_to_positions(np.array([5, 7, 9]), np.array([7, 9, -1]))
    >>> idx.tolist(), dup.tolist()
    ([1, 2, -1], [])
    """
    # the compiled lookup reads downstream_ids at every reach position: a shorter array
    # was read past its end, a float id truncated (4.5 read as 4), NaN as -2**63
    ids = _id_array(reach_ids, name="reach_ids", fix="give each reach a whole-number id")
    ds = _id_array(
        downstream_ids,
        name="downstream_ids",
        fix=f"give whole-number ids, and outlet_value ({outlet_value}) at outlets",
    )
    if ids.ndim != 1 or ids.shape != ds.shape:
        msg = (
            f"reach_ids and downstream_ids must be 1-D with one value per reach, got shapes "
            f"{ids.shape} and {ds.shape}"
        )
        raise InputError(msg)
    idx, _, _, dups = _map_ids(ids, ds, outlet_value)
    return idx, dups, np.empty(0, np.int64)


def _check_projected(crs: Any, what: str) -> CRS:
    return projected_crs(crs, what=what)


def _validate_bifurcations(
    bif: pd.DataFrame, ids: np.ndarray, id_set_sorted: np.ndarray, problems: list[str]
) -> pd.DataFrame | None:
    missing_cols = [c for c in ("reach_id", "downstream_id", "fraction") if c not in bif]
    if missing_cols:
        problems.append(
            f"bifurcation table lacks column(s) {missing_cols}; it needs "
            "reach_id, downstream_id, fraction"
        )
        return None
    cols: dict[str, np.ndarray] = {}
    for col in ("reach_id", "downstream_id", "fraction"):
        raw = bif[col]
        if col != "fraction" and raw.dtype.kind in "iu":
            cols[col] = raw.to_numpy(dtype=np.int64)
            continue
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        # ids must be whole numbers (4.5 was truncated to 4); a fraction any number
        bad = raw.notna().to_numpy() & np.isnan(num)
        if col != "fraction":
            bad = ~(np.isfinite(num) & (np.mod(num, 1) == 0) & (np.abs(num) < 2.0**63))
        if bad.any():
            rows = np.flatnonzero(bad)
            shown = _fmt_ids([str(v) for v in raw.to_numpy()[rows]], limit=5)
            what = "numbers" if col == "fraction" else "integer ids"
            problems.append(
                f"bifurcation column {col!r} must hold {what}, got {shown} at row(s) "
                f"{_fmt_ids(rows)}"
            )
            continue
        cols[col] = num if col == "fraction" else num.astype(np.int64)
    if len(cols) < 3:
        return None
    b = pd.DataFrame(cols)
    for col in ("reach_id", "downstream_id"):
        vals = b[col].to_numpy()
        if col == "downstream_id":
            vals = vals[vals != OUTLET_ID]
        pos = np.clip(np.searchsorted(id_set_sorted, vals), 0, max(len(ids) - 1, 0))
        bad = vals[id_set_sorted[pos] != vals] if len(ids) else vals
        if bad.size:
            problems.append(f"bifurcation {col}(s) {_fmt_ids(np.unique(bad))} are not reach ids")
    badfrac = b.loc[~((b["fraction"] > 0) & (b["fraction"] <= 1)), "reach_id"]
    if len(badfrac):
        problems.append(
            f"bifurcation fractions must lie in (0, 1]; reach(es) {_fmt_ids(badfrac.unique())}"
        )
    sums = b.groupby("reach_id")["fraction"].sum()
    off = sums[~np.isclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-6)]
    if len(off):
        detail = ", ".join(f"{int(r)}: {s:.6g}" for r, s in off.head(20).items())
        problems.append(
            f"bifurcation fractions must sum to 1 per reach; they do not for reach(es) {detail}"
        )
    selfl = b.loc[b["reach_id"] == b["downstream_id"], "reach_id"]
    if len(selfl):
        problems.append(
            f"self-loop(s) in the bifurcation table at reach(es) {_fmt_ids(selfl.to_numpy())}"
        )
    dup = b.duplicated(["reach_id", "downstream_id"])
    if dup.any():
        problems.append(
            f"duplicated bifurcation link(s) from reach(es) {_fmt_ids(b.loc[dup, 'reach_id'])}"
        )
    return b


def _cycle_ids(idx_ds: np.ndarray, ordered: np.ndarray, ids: np.ndarray) -> list[list[int]]:
    """Ids of each cycle among the nodes Kahn's algorithm could not order (single pointer)."""
    rest = np.ones(idx_ds.shape[0], bool)
    rest[ordered] = False
    nodes = np.flatnonzero(rest)
    src = nodes[idx_ds[nodes] >= 0]
    _, labels = _scc(src, idx_ds[src], idx_ds.shape[0])
    lab = labels[nodes]
    sizes = np.bincount(lab)
    cyc = nodes[sizes[lab] > 1]
    out: list[list[int]] = []
    for c in np.unique(labels[cyc])[:10]:
        out.append([int(v) for v in ids[cyc[labels[cyc] == c]]])
    return out


def _order_with_cycles(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, list]:
    """Topological order of the condensation, plus the node sets of cycles."""
    ncomp, labels = _scc(src, dst, n)
    cs, cd = labels[src], labels[dst]
    keep = cs != cd
    g = sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (cs[keep], cd[keep])), shape=(ncomp, ncomp)
    )
    g.sum_duplicates()
    corder = K.kahn_order_csr(g.indptr.astype(np.int64), g.indices.astype(np.int64), ncomp)
    crank = np.empty(ncomp, dtype=np.int64)
    crank[corder] = np.arange(ncomp)
    order = np.argsort(crank[labels], kind="stable").astype(np.int64)
    sizes = np.bincount(labels)
    cyc = [np.flatnonzero(labels == c) for c in np.flatnonzero(sizes > 1)]
    return order, cyc


def _topology(
    reach_ids: np.ndarray,
    downstream_ids: np.ndarray,
    *,
    outlet_value: int,
    bifurcations: pd.DataFrame | None,
    allow_cycles: bool,
    expect_single_outlet: bool,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None, list[int]]:
    """Validate ids and links; return idx_ds, order, normalised bifurcations, comp sizes."""
    problems: list[str] = []
    n = reach_ids.shape[0]
    idx_ds, indeg, counts, dups = _map_ids(reach_ids, downstream_ids, outlet_value)
    n_outid, n_dangling, n_self, n_out = (int(c) for c in counts)
    sorter = np.empty(0, np.int64)
    if dups.size:
        problems.append(f"duplicated reach id(s) {_fmt_ids(np.unique(reach_ids[dups]))}")
    if n_outid:
        problems.append(
            f"reach id(s) equal to the outlet value {outlet_value} are not allowed: "
            f"{_fmt_ids(np.flatnonzero(reach_ids == outlet_value))} (positions)"
        )
    if n_dangling:
        dangling = idx_ds == -2
        bad = np.unique(downstream_ids[dangling])
        problems.append(
            f"dangling downstream id(s) {_fmt_ids(bad)} (not reach ids; use "
            f"{outlet_value} for outlets), at reach(es) {_fmt_ids(reach_ids[dangling])}"
        )
    if n_self:
        selfloop = idx_ds == np.arange(n)
        problems.append(
            f"self-loop(s): reach(es) {_fmt_ids(reach_ids[selfloop])} drain into themselves"
        )
    bif: pd.DataFrame | None = None
    if bifurcations is not None:
        sorter = np.argsort(reach_ids, kind="stable")
        bif = _validate_bifurcations(bifurcations, reach_ids, reach_ids[sorter], problems)
    if problems:
        _raise(problems)
    if bif is not None and len(bif):
        # main branch = largest fraction (ties: first listed); it sets idx_ds
        b = bif.assign(_o=np.arange(len(bif)))
        mainb = b.sort_values(["reach_id", "fraction", "_o"], ascending=[True, False, True])
        mainb = mainb.drop_duplicates("reach_id")
        pos = _positions(reach_ids, mainb["reach_id"].to_numpy(), sorter)
        mds = mainb["downstream_id"].to_numpy()
        idx_ds[pos] = np.where(mds == OUTLET_ID, -1, _positions(reach_ids, mds, sorter, OUTLET_ID))
        # a reach listed in the bifurcation table gets its downstream_id from its main branch
    if bif is None or not len(bif):
        # one fused pass: Kahn's order, the outlets and (several outlets) piece sizes
        order = np.empty(n, dtype=np.int64)
        pieces = n_out != 1
        count = np.ones(n if pieces else 0, dtype=indeg.dtype)
        outlets = np.empty(n_out, dtype=np.int64)
        out_sizes = np.empty(n_out, dtype=np.int64)
        n_ordered, _ = K.tree_order(idx_ds, indeg, order, count, outlets, out_sizes)
        if n_ordered < n:
            cycles = _cycle_ids(idx_ds, order[:n_ordered], reach_ids)
            text = "; ".join(_fmt_ids(c) for c in cycles)
            msg = (
                f"the network has {len(cycles)} cycle(s) through reach ids {text}; "
                "a river network must be acyclic unless bifurcation fractions are given "
                "(allow_cycles=True)"
            )
            raise TopologyError(msg)
        srt = np.argsort(outlets, kind="stable")
        outlets = outlets[srt]
        # a single outlet drains the whole (acyclic, fully ordered) network
        sizes = out_sizes[srt] if pieces else np.array([n], dtype=np.int64)
        if expect_single_outlet and outlets.size != 1:
            msg = (
                f"expected a single outlet but found {outlets.size}: reach id(s) "
                f"{_fmt_ids(reach_ids[outlets])}"
            )
            raise TopologyError(msg)
        return idx_ds, order, None, sorted((int(v) for v in sizes), reverse=True)
    # bifurcations: order on the full link graph (CSR)
    bpos = _positions(reach_ids, bif["reach_id"].to_numpy(), sorter)
    bds = bif["downstream_id"].to_numpy()
    inside = bds != OUTLET_ID
    main = np.flatnonzero(idx_ds >= 0)
    keep = ~np.isin(main, bpos)
    src = np.concatenate([main[keep], bpos[inside]])
    dst = np.concatenate([idx_ds[main[keep]], _positions(reach_ids, bds[inside], sorter)])
    g = sparse.csr_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n, n))
    g.sum_duplicates()
    order = K.kahn_order_csr(g.indptr.astype(np.int64), g.indices.astype(np.int64), n)
    if order.shape[0] < n:
        order, cyc = _order_with_cycles(src, dst, n)
        if not allow_cycles:
            text = "; ".join(_fmt_ids(reach_ids[c]) for c in cyc[:10])
            msg = (
                f"the network has {len(cyc)} cycle(s) through reach ids {text}; pass "
                "allow_cycles=True to keep them (routing then needs decay, see "
                "basingov.spillover)"
            )
            raise TopologyError(msg)
    # outlets and pieces (weakly connected components)
    out_deg = np.bincount(src, minlength=n)
    outlets = np.flatnonzero(out_deg == 0)
    if expect_single_outlet and outlets.size != 1:
        msg = (
            f"expected a single outlet but found {outlets.size}: reach id(s) "
            f"{_fmt_ids(reach_ids[outlets])}"
        )
        raise TopologyError(msg)
    g = sparse.csr_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n, n))
    _, wl = csgraph.connected_components(g, directed=True, connection="weak")
    sizes = np.bincount(wl)
    return idx_ds, order.astype(np.int64), bif, sorted((int(s) for s in sizes), reverse=True)


def _positions(
    reach_ids: np.ndarray, q: np.ndarray, sorter: np.ndarray, skip: int | None = None
) -> np.ndarray:
    if sorter.size == 0:
        sorter = np.argsort(reach_ids, kind="stable")
    sids = reach_ids[sorter]
    qq = np.asarray(q, dtype=np.int64)
    pos = np.clip(np.searchsorted(sids, qq), 0, reach_ids.shape[0] - 1)
    out = sorter[pos].astype(np.int64)
    if skip is not None:
        out = np.where(qq == skip, -1, out)
    return out


def _raise(problems: list[str]) -> None:
    header = f"invalid river network ({len(problems)} problem(s))"
    raise_problems(problems, header, error=TopologyError)


# --- the compiled kernels of the façade, behind checks of their arrays -----------------


def _count(n: Any, name: str = "n") -> int:
    """Return a number of nodes as an int; refuse a negative one, a bool or a non-integer."""
    if isinstance(n, bool | np.bool_) or not isinstance(n, int | np.integer) or n < 0:
        msg = f"{name} must be a whole number >= 0 (the number of nodes), got {n!r}"
        raise InputError(msg)
    return int(n)


def _int_array(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a contiguous 1-D int64 array; refuse other shapes and dtypes."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        msg = f"{name} must be 1-D, got shape {arr.shape}"
        raise InputError(msg)
    if arr.dtype.kind not in "iu" and arr.size:  # an empty list is float64
        msg = f"{name} must hold whole-number positions, got dtype {arr.dtype}"
        raise InputError(msg)
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        msg = f"{name} holds {arr.max()}, beyond the int64 positions of the kernels"
        raise InputError(msg)
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_positions(
    values: Any,
    n: int | None = None,
    *,
    name: str,
    outlet: bool = False,
    at: str = "position(s)",
) -> np.ndarray:
    """Return ``values`` as int64 positions ``0 .. n - 1`` (and -1 with ``outlet``).

    ``n`` is the length of the arrays the positions index; None: that of ``values``
    itself (downstream pointers). The compiled kernels read and write at these positions
    without bounds checks.

    Raises
    ------
    InputError
        If ``values`` is not 1-D whole numbers, or holds a value out of range, naming the
        values and their places (``at``, default ``position(s)``).

    Examples
    --------
    >>> check_positions([2, -1, 0], name="idx_ds", outlet=True).tolist()
    [2, -1, 0]
    >>> check_positions([5, -1], name="idx_ds", outlet=True, at="reach position(s)")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: idx_ds must be 1-D positions 0..1 or -1 (outlet); got [5] at reach position(s) [0]
    """  # noqa: E501
    arr = _int_array(values, name)
    size = arr.size if n is None else n
    lo = -1 if outlet else 0
    if arr.size and (arr.min() < lo or arr.max() >= size):
        bad = (arr < lo) | (arr >= size)
        allowed = f"1-D positions 0..{size - 1}" if size else "empty (there are no nodes)"
        msg = (
            f"{name} must be {allowed}{' or -1 (outlet)' if outlet else ''}; got "
            f"{_fmt_ids(arr[bad])} at {at} {_fmt_ids(np.flatnonzero(bad))}"
        )
        raise InputError(msg)
    return arr


def csr_reverse(src: Any, dst: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Group edges by their target: the upstream neighbours of each node, in CSR form.

    ``indices[indptr[i]:indptr[i + 1]]`` are the ``src`` of the edges with ``dst == i``,
    in the order they are listed (a stable counting sort).

    Parameters
    ----------
    src
        Source of each edge, whole numbers (copied as they are).
    dst
        Target of each edge, positions ``0 .. n - 1``.
    n
        Number of nodes.

    Returns
    -------
    indptr : numpy.ndarray
        int64 bounds, ``n + 1`` of them.
    indices : numpy.ndarray
        int64 sources grouped by target.

    Raises
    ------
    InputError
        If ``src`` and ``dst`` are not 1-D whole numbers of one length, ``n`` is not a
        count, or a ``dst`` lies outside ``0 .. n - 1``.

    Examples
    --------
    >>> indptr, indices = csr_reverse([0, 1, 2], [2, 2, 0], 3)
    >>> indptr.tolist(), indices.tolist()
    ([0, 1, 1, 3], [2, 0, 1])
    """
    n = _count(n)
    d = check_positions(dst, n, name="dst", at="edge(s)")
    s = _int_array(src, "src")
    if s.shape != d.shape:
        msg = f"src and dst must list one value per edge, got lengths {s.size} and {d.size}"
        raise InputError(msg)
    return K.csr_reverse(s, d, n)


def kahn_order_tree(idx_ds: Any) -> np.ndarray:
    """Kahn's topological order (upstream first) for one downstream pointer per node.

    Parameters
    ----------
    idx_ds
        Downstream position of each node, -1 at outlets.

    Returns
    -------
    numpy.ndarray
        int64 positions in flow order; fewer than ``len(idx_ds)`` when some nodes lie on
        or below a cycle.

    Raises
    ------
    InputError
        If ``idx_ds`` is not 1-D whole numbers, or holds a value that is neither -1 nor a
        position.

    Examples
    --------
    >>> kahn_order_tree([2, 2, -1]).tolist()
    [0, 1, 2]
    """
    return K.kahn_order_tree(check_positions(idx_ds, name="idx_ds", outlet=True, at="node(s)"))


def kahn_order_csr(indptr: Any, indices: Any, n: int) -> np.ndarray:
    """Kahn's topological order for a graph in CSR form (row = source, columns = targets).

    Parameters
    ----------
    indptr
        ``n + 1`` non-decreasing bounds from 0 to ``len(indices)``.
    indices
        Targets, positions ``0 .. n - 1``: those of node ``i`` are
        ``indices[indptr[i]:indptr[i + 1]]``.
    n
        Number of nodes.

    Returns
    -------
    numpy.ndarray
        int64 positions in topological order; fewer than ``n`` when there is a cycle.

    Raises
    ------
    InputError
        If the arrays are not 1-D whole numbers, ``n`` is not a count, ``indptr`` is not
        ``n + 1`` non-decreasing bounds from 0 to ``len(indices)``, or a target lies outside
        ``0 .. n - 1``.

    Examples
    --------
    >>> kahn_order_csr([0, 1, 2, 2], [1, 2], 3).tolist()
    [0, 1, 2]
    """
    n = _count(n)
    ptr = _int_array(indptr, "indptr")
    idx = check_positions(indices, n, name="indices")
    if ptr.size != n + 1:
        msg = f"indptr must hold n + 1 = {n + 1} bounds, got {ptr.size}"
        raise InputError(msg)
    falls = np.flatnonzero(np.diff(ptr) < 0)
    if ptr[0] != 0 or ptr[-1] != idx.size or falls.size:
        msg = (
            f"indptr must rise from 0 to len(indices) = {idx.size} without falling; it runs "
            f"from {ptr[0]} to {ptr[-1]}"
            + (f" and falls after position(s) {_fmt_ids(falls)}" if falls.size else "")
        )
        raise InputError(msg)
    return K.kahn_order_csr(ptr, idx, n)


# In compiled code (the priority stage's walks) the names call the kernels directly; numba
# compares the annotations of an overload and its implementation, so both have them.


@overload(csr_reverse)
def _csr_reverse_compiled(src: Any, dst: Any, n: Any) -> Any:
    def impl(src: Any, dst: Any, n: Any) -> Any:  # pragma: no cover - compiled
        return K.csr_reverse(src, dst, n)

    return impl


@overload(kahn_order_tree)
def _kahn_order_tree_compiled(idx_ds: Any) -> Any:
    def impl(idx_ds: Any) -> Any:  # pragma: no cover - compiled
        return K.kahn_order_tree(idx_ds)

    return impl


@overload(kahn_order_csr)
def _kahn_order_csr_compiled(indptr: Any, indices: Any, n: Any) -> Any:
    def impl(indptr: Any, indices: Any, n: Any) -> Any:  # pragma: no cover - compiled
        return K.kahn_order_csr(indptr, indices, n)

    return impl
