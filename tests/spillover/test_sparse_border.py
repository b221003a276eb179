"""Border fluxes by origin kept sparse: the same bits as the dense links x origins arrays."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from benchmarks.synthetic import synthetic_basin

from basingov.network import network_from_table
from basingov.overlay import overlay_network
from basingov.spillover import (
    _crossing_flux,
    matrix_frame,
    matrix_long,
    origin_loads,
    piece_network,
    routing_graph,
    spillover_tables,
)
from basingov.spillover import _kernels as K
from basingov.spillover import transfer as transfer_fn
from basingov.spillover.pieces import _piece_keep, _route_codes_in
from basingov.spillover.routing import _node_arrays, entry_factors, route
from basingov.spillover.transfer import _border_totals, _foreign_arrays

QUANTITIES = ("matrix", "generated", "delivered", "decayed", "retained", "exported", "returned")


# --- the dense computation the sparse one replaced (transfer.py before this change) -------
def _dense_tree(graph, kp, ent, g, jur, lake, nj):
    """``_transfer_tree`` with its border fluxes scattered into links x origins."""
    gen, dec, ret, dlv, exported, returned = (np.zeros(nj) for _ in range(6))
    acc = K.tree_local(graph.order, graph.idx_ds, kp, ent, g, jur, lake, gen, dec, ret)
    zone, exits, trans, rho, dlt = K.tree_reverse(graph.order, graph.idx_ds, kp, jur, lake)
    has_ds = graph.idx_ds[exits] >= 0
    nb = int(has_ds.sum())
    bz = np.full(exits.shape[0], -1, dtype=np.int64)
    bz[has_ds] = np.arange(nb)
    smat = np.zeros((nj, nj))
    e = np.zeros(0, dtype=np.int64)
    lay = K.zone_columns(graph.idx_ds, zone, exits, e, e, jur[exits], nj)
    bb, bj, bv = (np.empty(lay[1].shape[0], dtype=t) for t in (np.int64, np.int64, float))
    m = K.tree_zones_sparse(exits, zone, graph.idx_ds, jur, acc, trans, rho, dlt, *lay, smat,
                            dec, ret, dlv, exported, returned, bz, bb, bj, bv)  # fmt: skip
    flux = np.zeros((nb, nj))
    flux[bb[:m], bj[:m]] = bv[:m]
    bsrc = exits[has_ds]
    links = (bsrc, graph.idx_ds[bsrc], np.ones(nb))
    return _dense_closed(smat, links, flux, gen, dlv, dec, ret, exported, returned)


def _dense_closed(smat, links, flux, gen, dlv, dec, ret, exported, returned):
    np.fill_diagonal(smat, gen - exported + returned)
    return {"matrix": smat, "links": links, "border_flux": flux, "generated": gen,
            "delivered": dlv, "decayed": dec, "retained": ret, "exported": exported,
            "returned": returned}  # fmt: skip


def _dense_border_sums(rj, bsrc, bdst, flux, nj):
    rows = np.arange(bsrc.size)
    out = np.bincount(rj[bsrc], weights=flux[rows, rj[bsrc]], minlength=nj)
    back = np.bincount(rj[bdst], weights=flux[rows, rj[bdst]], minlength=nj)
    return out, back


def _dense_general(graph, kp, g, o, rj, lake, nj, method, max_cells):
    src, dst, f = graph.links()
    b = rj[src] != rj[dst]
    bsrc, bdst, bf = src[b], dst[b], f[b]
    bflux = np.zeros((bsrc.size, nj))
    gen, dlv, dec, ret = (np.zeros(nj) for _ in range(4))
    step = max(1, min(nj, max_cells // max(1, graph.n)))
    for j0 in range(0, nj, step):
        j1 = min(nj, j0 + step)
        w = j1 - j0
        if w == nj:
            r = route(graph, kp, g, o, is_lake=lake, n_origins=nj, method=method)
        else:
            oo = np.where((o >= j0) & (o < j1), o - j0, w)
            r = route(graph, kp, g, oo, is_lake=lake, n_origins=w + 1, method=method)
        bflux[:, j0:j1] = bf[:, None] * r.flux[bsrc, :w]
        gen[j0:j1] = r.generated[:w]
        dlv[j0:j1] = r.delivered[:w]
        dec[j0:j1] = r.decayed[:w]
        ret[j0:j1] = r.retained[:w]
    smat = np.zeros((nj, nj))
    np.add.at(smat.T, rj[bdst], bflux)
    exported, returned = _dense_border_sums(rj, bsrc, bdst, bflux, nj)
    away = np.flatnonzero(o != rj)
    if away.size:
        np.add.at(smat, (o[away], rj[away]), g[away])
        exported += np.bincount(o[away], weights=g[away], minlength=nj)
    return _dense_closed(smat, (bsrc, bdst, bf), bflux, gen, dlv, dec, ret, exported, returned)


def _dense_add_foreign(t, graph, kp, lake, rj, node, origin, load, nj, method, max_cells):
    n = graph.n
    bsrc, bdst, bf = t["links"]
    extra = np.zeros((bsrc.size, nj))
    gen, dlv, dec, ret = (t[k].copy() for k in ("generated", "delivered", "decayed", "retained"))
    if graph.kind == "tree" and method != "solve":
        border_of = np.full(n, -1, dtype=np.int64)
        border_of[bsrc] = np.arange(bsrc.size)
        entry = entry_factors(kp, is_lake=lake)
        for i, o, g in zip(node.tolist(), origin.tolist(), load.tolist(), strict=True):
            gen[o] += g
            f = entry[i] * g
            (ret if lake[i] else dec)[o] += g - f
            k = i
            while True:
                if border_of[k] >= 0:
                    extra[border_of[k], o] += f
                d = graph.idx_ds[k]
                if d < 0:
                    dlv[o] += f
                    break
                nf = kp[d] * f
                (ret if lake[d] else dec)[o] += f - nf
                f, k = nf, d
                if f == 0.0:
                    break
    else:
        order = np.lexsort((origin, node))
        node, origin, load = node[order], origin[order], load[order]
        rank = np.arange(node.size) - np.searchsorted(node, node, side="left")
        step = max(1, max_cells // max(1, n))
        for layer in range(int(rank.max(initial=-1)) + 1):
            sel = rank == layer
            nd, ld = node[sel], load[sel]
            sub, inv = np.unique(origin[sel], return_inverse=True)
            for j0 in range(0, sub.size, step):
                j1 = min(sub.size, j0 + step)
                inb = (inv >= j0) & (inv < j1)
                g = np.zeros(n)
                g[nd[inb]] = ld[inb]
                codes = np.zeros(n, dtype=np.int64)
                codes[nd[inb]] = inv[inb] - j0
                r = route(graph, kp, g, codes, is_lake=lake, n_origins=j1 - j0, method=method)
                cols = sub[j0:j1]
                extra[:, cols] += bf[:, None] * r.flux[bsrc]
                gen[cols] += r.generated
                dlv[cols] += r.delivered
                dec[cols] += r.decayed
                ret[cols] += r.retained
    smat = t["matrix"].copy()
    np.add.at(smat.T, rj[bdst], extra)
    away = origin != rj[node]
    np.add.at(smat, (origin[away], rj[node[away]]), load[away])
    out, back = _dense_border_sums(rj, bsrc, bdst, extra, nj)
    exported = t["exported"] + out
    exported += np.bincount(origin[away], weights=load[away], minlength=nj)
    returned = t["returned"] + back
    flux = t["border_flux"] + extra
    return _dense_closed(smat, t["links"], flux, gen, dlv, dec, ret, exported, returned)


def _dense_transfer(graph, keep, load, jur, *, is_lake, n_jur, route_jur, foreign, method,
                    max_cells):  # fmt: skip
    """Return the matrix, totals and dense border fluxes as ``transfer`` computed them."""
    fx = _foreign_arrays(foreign, graph.n)
    kp, ent, g, o, lake, nj = _node_arrays(graph, keep, load, jur, is_lake, n_jur)
    rj = np.asarray(route_jur, dtype=np.int64)
    if graph.kind == "tree" and method == "auto":
        away = np.flatnonzero(o != rj)
        g_same = g.copy()
        g_same[away] = 0.0
        t = _dense_tree(graph, kp, ent, g_same, rj, lake, nj)
        nz = away[g[away] > 0]
        t = _dense_add_foreign(t, graph, kp, lake, rj, nz, o[nz], g[nz], nj, "sweep", max_cells)
    else:
        t = _dense_general(graph, kp, g, o, rj, lake, nj, method, max_cells)
    if fx[0].size:
        t = _dense_add_foreign(t, graph, kp, lake, rj, *fx, nj, method, max_cells)
    return t


def _random_graph(rng, n, kind):
    """Return a random tree, DAG with splits, or network with loops."""
    ds = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)])
    ds = (n - 1 - ds[::-1]).astype(np.int64)
    ds[ds == n] = -1
    ds[-1] = -1
    rows = []
    if kind != "tree":
        for s in rng.choice(np.arange(n - 1), size=min(n - 1, max(1, n // 5)), replace=False):
            other = int(rng.integers(0, n)) if kind == "loop" else int(rng.integers(s + 1, n))
            if other not in (s, ds[s]):
                f = float(rng.uniform(0.1, 0.9))
                rows += [(s, ds[s], f), (s, other, 1 - f)]
    if not rows:
        return routing_graph(ds)
    a = np.array(rows)
    return routing_graph(ds, splits=(a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2]))


@pytest.mark.parametrize("kind", ["tree", "dag", "loop"])
def test_transfer_equals_the_dense_computation_bitwise(kind):
    # every quantity of transfer, border fluxes included, is the same bits as the dense
    # links x origins computation it replaced: with routing labels that differ from the
    # origins (stretches) and loads of other origins (foreign), in blocks of origins
    rng = np.random.default_rng({"tree": 31, "dag": 32, "loop": 33}[kind])
    for _ in range(12):
        n = int(rng.integers(2, 160))
        nj = int(rng.integers(1, 40))
        g = _random_graph(rng, n, kind)
        keep = rng.uniform(0.3, 1.0, n)
        lake = rng.random(n) < 0.15
        load = rng.uniform(0, 5, n) * (rng.random(n) < 0.7)
        jur = rng.integers(0, nj, n)
        rj = np.where(rng.random(n) < 0.3, rng.integers(0, nj, n), jur)
        k = int(rng.integers(0, 3 * n))
        fx = (rng.integers(0, n, k), rng.integers(0, nj, k), rng.uniform(0, 2, k))
        for method in ["auto", "solve" if kind == "loop" else "sweep"]:
            max_cells = int(rng.choice([n, 3 * n, 50_000_000]))
            kw = {"is_lake": lake, "n_jur": nj, "route_jur": rj, "foreign": fx,
                  "method": method, "max_cells": max_cells}  # fmt: skip
            got = transfer_fn(g, keep, load, jur, **kw)
            want = _dense_transfer(g, keep, load, jur, **kw)
            for q in QUANTITIES:
                assert np.array_equal(getattr(got, q), want[q]), q
            assert np.array_equal(got.border_src, want["links"][0])
            assert np.array_equal(got.border_flux, want["border_flux"])
            link, origin, flux = got.border_entries
            keys = link * nj + origin
            assert (np.diff(keys) > 0).all()  # sorted by link, then origin; no repeats
            assert (flux != 0).all()
            assert np.array_equal(np.nonzero(want["border_flux"]), (link, origin))


@pytest.mark.parametrize("nj", [1, 2, 7, 8, 9, 100, 128, 129, 1000, 8191, 8192, 8193, 20_000,
                                300_000])  # fmt: skip
def test_border_totals_are_numpys_row_sums_of_the_dense_array(nj):
    # numpy sums a row pairwise, so the sum depends on where the zeros lie: the totals
    # from the sparse fluxes equal dense.sum(axis=1) bit for bit, in blocks of rows of
    # any size (300,000 origins: one row per block)
    rng = np.random.default_rng(nj)
    nb = max(3, min(400, 3_000_000 // nj))
    dense = np.zeros((nb, nj))
    for i in range(nb):
        k = int(rng.integers(0, min(nj, 60) + 1))
        cols = rng.choice(nj, size=k, replace=False)
        dense[i, cols] = rng.lognormal(0.0, 4.0, k)
    link, origin = np.nonzero(dense)
    got = _border_totals((link, origin, dense[link, origin]), nb, nj)
    assert np.array_equal(got, dense.sum(axis=1))
    if nj >= 1000:  # the test can fail: the plain sum of each row's cells differs
        plain = np.bincount(link, weights=dense[link, origin], minlength=nb)
        assert not np.array_equal(plain, got)


def _stacked(matrix, *, level, level_name):
    """``matrix_long`` as it was: ``matrix.stack()`` and its non-zero cells."""
    s = matrix.stack()
    s = s[s.to_numpy() != 0]
    return pd.DataFrame(
        {
            "origin": s.index.get_level_values(0).astype(str),
            "receptor": s.index.get_level_values(1).astype(str),
            "level": level,
            "level_name": level_name,
            "load_kg_day": s.to_numpy(dtype=np.float64),
        }
    )


@pytest.mark.parametrize("dtype", [float, int])
def test_matrix_long_lists_the_cells_stack_listed(dtype):
    rng = np.random.default_rng(5)
    for shape in [(0, 0), (1, 1), (3, 5), (40, 40)]:
        v = (rng.uniform(0, 3, shape) * (rng.random(shape) < 0.4)).astype(dtype)
        if dtype is float and v.size:
            v.flat[rng.integers(0, v.size)] = np.nan
        ids = [f"J{int(i)}" for i in rng.permutation(max(shape))]  # labels not sorted
        m = pd.DataFrame(v, index=ids[: shape[0]], columns=ids[: shape[1]])
        got = matrix_long(m, level=2, level_name="unit")
        pd.testing.assert_frame_equal(got, _stacked(m, level=2, level_name="unit"))


@pytest.fixture(scope="module")
def synthetic_units():
    """Return a SYNTHETIC basin (benchmarks/synthetic.py): 40,000 reaches, 800 units."""
    reaches, jur, basin = synthetic_basin(40_000, 800, 8)
    net = network_from_table(reaches)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the lattice's aligned borders warn, as they should
        ov = overlay_network(net, jur, basin, levels=["region", "unit"])
    pieces = ov.piece_graph.pieces
    loads = pd.DataFrame(
        {
            "piece_id": pieces["piece_id"].to_numpy(),
            "load_kg_day": pieces["length_km"].to_numpy(),  # SYNTHETIC: 1 kg/day per km
            "load_source": "synthetic",
        }
    )
    return net, ov.piece_graph, loads


def test_many_origins_balance_and_crossings(synthetic_units):
    # 800 origins: every table balances, and the crossing table lists each border link's
    # non-zero fluxes with the shares of the dense computation (its row sums)
    net, graph, loads = synthetic_units
    sp = spillover_tables(net, graph, loads, level_names=["region", "unit"])
    bal = sp.balance
    assert (bal["relative_residual"] < 1e-12).all()
    gen = bal.groupby("level_name")["generated"].sum()
    np.testing.assert_allclose(gen.to_numpy(), loads["load_kg_day"].sum(), rtol=1e-12)
    ind = sp.indicators[sp.indicators["level_name"] == "unit"]
    assert len(ind) > 700
    np.testing.assert_allclose(
        ind["generated"], ind["delivered"] + ind["decayed"] + ind["retained"], rtol=1e-12
    )
    cf = sp.crossing_flux[sp.crossing_flux["level_name"] == "unit"]
    assert (cf["load_kg_day"] > 0).all()
    by_link = cf.groupby(["crossing_id", "reach_id", "to_reach_id", "fraction"])["share"].sum()
    np.testing.assert_allclose(by_link.to_numpy(), 1.0, rtol=1e-12)
    # the unit level's crossing table equals the one made from the dense border fluxes
    pn = piece_network(net, graph.pieces)
    ol = origin_loads(pn, loads, "unit")
    keep, lake = _piece_keep(net, pn, None, 1.0)
    rcodes = _route_codes_in(pn, ol, graph)
    t = transfer_fn(pn.graph, keep, ol.home.sum(axis=0), ol.codes, is_lake=lake,
                    n_jur=ol.ids.size, route_jur=rcodes,
                    foreign=(ol.node, ol.origin, ol.load))  # fmt: skip
    got = _crossing_flux(pn, t, ol.ids, "unit", graph, rcodes)
    pd.testing.assert_frame_equal(got, cf.reset_index(drop=True))
    pd.testing.assert_frame_equal(got, _dense_crossing_flux(pn, t, ol.ids, "unit", graph, rcodes))


def _dense_crossing_flux(pn, t, ids, level, graph, rcodes):
    """``_crossing_flux`` as it was, on the dense border fluxes."""
    p = pn.pieces
    rid = p["reach_id"].to_numpy()
    fend = p["fraction_end"].to_numpy(dtype=float)
    s, d = t.border_src, t.border_dst
    same = pn.reach_pos[s] == pn.reach_pos[d]
    links = pd.DataFrame(
        {
            "reach_id": rid[s],
            "to_reach_id": rid[d],
            "fraction": np.where(same, fend[s], 1.0),
            "from_jur": ids[rcodes[s]].astype(str),
            "to_jur": ids[rcodes[d]].astype(str),
            "link": np.arange(s.size),
        }
    )
    on_links = graph.link_crossings.get(level)
    pid = p["piece_id"].to_numpy()
    links["src_piece_id"] = pid[s]
    links["dst_piece_id"] = pid[d]
    links = links.merge(on_links, on=["src_piece_id", "dst_piece_id"], how="left").drop(
        columns=["src_piece_id", "dst_piece_id"]
    )
    links["crossing_id"] = links["crossing_id"].fillna(
        pd.Series([f"{level}-link-{i}" for i in links["link"]], index=links.index)
    )
    fl = t.border_flux[links["link"].to_numpy()]
    r, o = np.nonzero(fl)
    tot = fl.sum(axis=1)
    out = links.iloc[r].reset_index(drop=True).drop(columns="link")
    out.insert(1, "level_name", level)
    out["origin"] = ids[o].astype(str)
    out["load_kg_day"] = fl[r, o]
    out["share"] = fl[r, o] / tot[r]
    cols = ["crossing_id", "level_name", "from_jur", "to_jur", "reach_id", "to_reach_id",
            "fraction", "origin", "load_kg_day", "share"]  # fmt: skip
    return out[cols]


def test_many_origins_need_no_links_x_origins_array():
    # a random tree of 80,000 nodes in 4,000 jurisdictions of 20 nodes each (scattered: a
    # border link at almost every node), 5 % of the nodes routed as another
    # jurisdiction's and loads of other origins on a fifth of the nodes. The dense border
    # fluxes alone would take links x origins x 8 bytes (2.5 GB); a link carries only the
    # origins upstream of it, and transfer stays far below that, and balances
    rng = np.random.default_rng(8)
    n, nj = 80_000, 4_000
    ds = np.concatenate([[-1], (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)])
    g = routing_graph(ds)
    jur = np.arange(n) // (n // nj)
    rj = np.where(rng.random(n) < 0.05, rng.integers(0, nj, n), jur)
    keep = rng.uniform(0.95, 1.0, n)
    load = rng.uniform(0.0, 2.0, n)
    k = n // 5
    fx = (rng.integers(0, n, k), rng.integers(0, nj, k), rng.uniform(0, 1, k))
    dense_bytes = int((rj[ds[1:]] != rj[1:]).sum()) * nj * 8
    tracemalloc.start()
    try:
        t = transfer_fn(g, keep, load, jur, n_jur=nj, route_jur=rj, foreign=fx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert dense_bytes > 2e9
    assert peak < dense_bytes / 5
    np.testing.assert_allclose(t.generated, t.delivered + t.decayed + t.retained, rtol=1e-10)
    np.testing.assert_allclose(t.generated.sum(), load.sum() + fx[2].sum(), rtol=1e-12)
    # load crossing into r: the fluxes over the links into r's waters, plus loads of other
    # origins generated straight into them
    link, origin, flux = t.border_entries
    into = np.zeros((nj, nj))
    np.add.at(into, (origin, rj[t.border_dst[link]]), flux)
    np.add.at(into, (jur, rj), load * (jur != rj))
    np.add.at(into, (fx[1], rj[fx[0]]), fx[2] * (fx[1] != rj[fx[0]]))
    off = ~np.eye(nj, dtype=bool)
    np.testing.assert_allclose(t.matrix[off], into[off], rtol=1e-10, atol=1e-12)
    assert (t.matrix >= 0).all()


def test_matrix_frame_copies_unless_told_not_to():
    t = transfer_fn(routing_graph([1, 2, -1]), [1.0, 0.5, 1.0], [2.0, 1.0, 4.0], [0, 1, 2])
    ids = ["A", "B", "C"]
    own = matrix_frame(t, ids)
    shared = matrix_frame(t, ids, copy=False)
    assert not np.shares_memory(own.to_numpy(), t.matrix)
    assert np.shares_memory(shared.to_numpy(), t.matrix)
    assert own.equals(shared)  # the same cells either way
    shared.iloc[0, 1] = 5.0  # a change to the shared frame is a change to the transfer's
    assert t.matrix[0, 1] == 5.0
    assert own.iloc[0, 1] == 2.0


def test_monte_carlo_samples_store_the_connected_pairs_only(synthetic_units):
    # 800 units: each run's matrix has 800 x 800 cells, and the runs store only the pairs
    # the network connects (a unit's load reaches the units downstream of it). The stored
    # values equal one transfer per run with the same draws, and every cell not stored is
    # exactly 0 in that transfer
    from basingov.spillover import DecayModel
    from basingov.spillover.decay import _KeepTerms
    from basingov.spillover.uncertainty import _level_loads, _run_keep, _run_transfer, _samples

    net, graph, loads = synthetic_units
    pn = piece_network(net, graph.pieces)
    lv = _level_loads(pn, origin_loads(pn, loads, "unit"), "unit", graph)
    model = DecayModel()
    runs, seed, sig = 3, 11, (0.5, 0.3, 0.12)
    (mc,) = _samples(net, pn, [lv], model=model, runs=runs, seed=seed, sigmas=sig)
    n = len(mc.ids)
    assert n == 800  # every piece lies in a unit: no "outside" unit
    assert mc.values.shape == (runs, mc.origin.size)
    assert n <= mc.origin.size < 0.1 * n * n  # the diagonal and some connected pairs
    stored = np.zeros((n, n), dtype=bool)
    stored[mc.origin, mc.receptor] = True
    terms = _KeepTerms(net, model.classes)
    rng = np.random.default_rng(seed)
    for i in range(runs):
        d = np.array([rng.lognormal(0.0, 0.5), rng.lognormal(0.0, 0.5), rng.lognormal(0.0, 0.3)])
        ms = rng.lognormal(0.0, 0.12, size=lv.home.shape[0])
        keep, lake = _run_keep(terms, pn, model, d)
        want = _run_transfer(pn, lv, keep, lake, ms)
        assert (want[~stored] == 0).all()
        np.testing.assert_allclose(mc.values[i], want[stored], rtol=1e-12, atol=1e-12)
        got = mc.samples[i]  # dense again: the stored pairs in place, zeros elsewhere
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the bands list the pairs non-zero in some run, as over the dense stack
    dense = mc.samples
    nz = np.argwhere((dense != 0).any(axis=0))
    bands = mc.bands((5.0, 50.0, 95.0))
    assert len(bands) == len(nz)
    assert bands["p50"].to_numpy().tobytes() == (
        np.percentile(dense[:, nz[:, 0], nz[:, 1]], 50.0, axis=0).tobytes()
    )
