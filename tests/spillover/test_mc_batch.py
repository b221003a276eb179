"""Batched Monte Carlo runs: one compiled kernel over runs, against one transfer per run."""

from __future__ import annotations

import numpy as np
import pytest

from basingov.datasets import load_basin, load_network
from basingov.errors import InputError
from basingov.spillover import _kernels as K
from basingov.spillover import decay_model_from_config, routing_graph, transfer
from basingov.spillover.decay import _KeepTerms, lake_retention, piece_keep, travel_time_hours
from basingov.spillover.uncertainty import _TreeBatch


def _batch(g, keep, load, codes, route, lake, nj, fx=None):
    """Matrices of the runs (rows of ``keep``/``load``, node order) by the batched kernel."""
    empty = np.zeros(0, dtype=np.int64)
    node, origin = (np.asarray(fx[0]), np.asarray(fx[1])) if fx else (empty, empty)
    b = _TreeBatch(g, codes, route, node, origin, nj, is_lake=lake)
    runs = keep.shape[0]
    fl = np.asarray(fx[2], dtype=float) if fx else np.zeros((runs, 0))
    out = np.empty((runs, b.n_pairs))
    b.matrices(keep[:, b.order], load[:, b.order], fl, out=out)
    dense = np.zeros((runs, nj * nj))  # the cells that are not stored are 0
    dense[:, b.keys] = out
    return dense.reshape(runs, nj, nj)


def _random_tree(rng, n):
    ds = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)])
    ds = (n - 1 - ds[::-1]).astype(np.int64)  # upstream nodes first
    ds[ds == n] = -1
    ds[-1] = -1
    perm = rng.permutation(n)  # node numbers unrelated to the flow order
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    out = np.full(n, -1, dtype=np.int64)
    out[inv] = np.where(ds >= 0, inv[np.maximum(ds, 0)], -1)
    return routing_graph(out)


def _random_trees(seed, count, sizes, max_jur):
    """``count`` random cases: the generator, reaches, jurisdictions and a random tree."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(*sizes))
        nj = int(rng.integers(1, max_jur))
        yield rng, n, nj, _random_tree(rng, n)


def _dense_zones(exits, zone, idx_ds, jur, acc, trans, rho, dlt, j0, j1, smat, dec, ret, dlv,
                 exported, returned, border_zone, border_flux):  # fmt: skip
    """Sweep zones x origins ``j0 <= o < j1`` densely (the compiled kernel of before).

    The reference of ``tree_zones_sparse``: the same additions in the same order.
    """
    nz, nj = exits.shape[0], j1 - j0
    x = np.zeros((nz, nj))
    for z in range(nz):
        o = jur[exits[z]]
        if j0 <= o < j1:
            x[z, o - j0] = acc[exits[z]]
    for z in range(nz - 1, -1, -1):
        e = exits[z]
        d = idx_ds[e]
        if d < 0:
            for j in range(nj):
                dlv[j0 + j] += x[z, j]
            continue
        z2, r, o, b = zone[d], jur[d], jur[e], border_zone[z]
        for j in range(nj):
            v = x[z, j]
            if v == 0.0:
                continue
            x[z2, j] += trans[d] * v
            smat[j0 + j, r] += v
            ret[j0 + j] += rho[d] * v
            dec[j0 + j] += dlt[d] * v
            if b >= 0:
                border_flux[b, j0 + j] = v
        if j0 <= o < j1:
            exported[o] += x[z, o - j0]
        if j0 <= r < j1:
            returned[r] += x[z, r - j0]


def test_chain_golden():
    # A (node 0) -> B (node 1) -> C (node 2), keep 0.25, 0.64, 1: entries 0.5, 0.8.
    # Run 1: 1 kg/day in A and in B. A's 0.5 kg/day cross into B and 0.64 * 0.5 = 0.32 into
    # C; B's 0.8 into C. S[A,A] = 1 - 0.5, S[B,B] = 1 - 0.8. A foreign load of D (2 kg/day)
    # on node 1 enters B's waters (S[D,B] = 2) and 0.8 * 2 = 1.6 cross into C.
    # Run 2: every load doubled, the same keep factors: S doubles.
    g = routing_graph([1, 2, -1])
    keep = np.array([[0.25, 0.64, 1.0]] * 2)
    load = np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0]])
    fx = ([1], [3], [[2.0], [4.0]])
    s = _batch(g, keep, load, [0, 1, 2], [0, 1, 2], np.zeros(3, bool), 4, fx)
    want = np.array(
        [
            [0.5, 0.5, 0.32, 0.0],
            [0.0, 0.2, 0.8, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 2.0, 1.6, 0.0],
        ]
    )
    np.testing.assert_allclose(s[0], want, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(s[1], 2 * want, rtol=1e-15, atol=1e-15)


def test_stretch_labels_golden():
    # chain of four pieces, origins A, B, A, B, routed as A, A, A, B (a river along the
    # A|B border, carrying A's label, then into B); no decay, 1 kg/day on the first three.
    # B's load of piece 1 enters A's routed waters where it is generated (S[B,A] = 1) and
    # crosses back into B; A's loads cross into B once: S[A,B] = 2, S[B,B] = 1 - 1 + 1.
    g = routing_graph([1, 2, 3, -1])
    s = _batch(g, np.ones((1, 4)), np.array([[1.0, 1.0, 1.0, 0.0]]), [0, 1, 0, 1],
               [0, 0, 0, 1], np.zeros(4, bool), 2)  # fmt: skip
    np.testing.assert_allclose(s[0], [[0.0, 2.0], [1.0, 1.0]], atol=1e-15)
    t = transfer(g, [1.0] * 4, [1.0, 1.0, 1.0, 0.0], [0, 1, 0, 1], route_jur=[0, 0, 0, 1])
    np.testing.assert_allclose(s[0], t.matrix, atol=1e-15)


def _random_case(rng, n, nj, max_foreign, runs):
    """Origins, routing labels (some unlike the origins), lakes, foreign loads and runs."""
    codes = rng.integers(0, nj, n)
    route = np.where(rng.random(n) < 0.3, rng.integers(0, nj, n), codes)
    lake = rng.random(n) < 0.15
    m = int(rng.integers(0, max_foreign))
    node, origin = rng.integers(0, n, m), rng.integers(0, nj, m)
    keep = rng.uniform(0.2, 1.0, (runs, n))
    load = rng.uniform(0.0, 5.0, (runs, n)) * (rng.random(n) < 0.7)
    fload = rng.uniform(0.0, 3.0, (runs, m))
    return codes, route, lake, node, origin, keep, load, fload


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equals_transfer_per_run_random(seed):
    # random trees, lakes, routing labels unlike the origins and foreign loads: every run
    # of the batch equals transfer on that run's keep factors and loads, to rounding
    for rng, n, nj, g in _random_trees(seed, 6, (2, 150), 7):
        runs = 4
        codes, route, lake, node, origin, keep, load, fload = _random_case(rng, n, nj, 10, runs)
        m = node.size
        s = _batch(g, keep, load, codes, route, lake, nj, (node, origin, fload))
        for i in range(runs):
            t = transfer(g, keep[i], load[i], codes, is_lake=lake, n_jur=nj, route_jur=route,
                         foreign=(node, origin, fload[i]) if m else None)  # fmt: skip
            scale = max(1.0, float(np.abs(t.matrix).max()))
            np.testing.assert_allclose(s[i], t.matrix, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize("seed", [3, 11])
def test_int32_index_arrays_give_the_bits_of_int64(seed):
    # the batch keeps its positions and codes as int32 when they fit (memory of the runs
    # on large networks); the kernel only indexes with them, so the int64 arrays it took
    # before give the same bits, foreign loads and lakes included
    for rng, n, nj, g in _random_trees(seed, 5, (2, 120), 6):
        codes, route, lake, node, origin, keep, load, fload = _random_case(rng, n, nj, 8, 3)
        b = _TreeBatch(g, codes, route, node, origin, nj, is_lake=lake)
        ints = [a for a in b._arrays if a.dtype.kind == "i"]
        assert len(ints) == 20  # every array but the lake flags
        assert all(a.dtype == np.int32 for a in ints)
        keep, load = keep[:, b.order], load[:, b.order]
        got = b.matrices(keep, load, fload, out=np.empty((3, b.n_pairs)))
        wide = tuple(a.astype(np.int64) if a.dtype.kind == "i" else a for a in b._arrays)
        want = np.empty_like(got)
        K.tree_samples(*wide, keep, load, fload, want)
        assert got.tobytes() == want.tobytes()


def test_zone_columns_layout():
    # Y: nodes 0 (A) and 1 (B) drain into 2 (C), 3 (A again) below C. Topological order
    # 0, 1, 2, 3 already. Zones: {3}, {2}, {1}, {0} (downstream first). The zone of node
    # 2 (C) sees A, B and C; node 3's zone (A) sees every origin too.
    ds = np.array([2, 2, 3, -1])
    route = origin = np.array([0, 1, 2, 0])
    zone, exits, *_ = K.tree_reverse(np.arange(4), ds, np.ones(4), route, np.zeros(4, bool))
    off, cols, down, ret, own = K.zone_columns(ds, zone, exits, zone, origin, route[exits], 3)
    by_exit = {int(exits[z]): cols[off[z] : off[z + 1]].tolist() for z in range(4)}
    assert by_exit == {0: [0], 1: [1], 2: [0, 1, 2], 3: [0, 1, 2]}
    for z in range(4):
        d = ds[exits[z]]
        assert cols[own[z]] == route[exits[z]]
        for k in range(off[z], off[z + 1]):
            if d < 0:
                assert down[k] == -1
            else:  # the same origin, in the downstream zone
                assert cols[down[k]] == cols[k]
                assert off[zone[d]] <= down[k] < off[zone[d] + 1]
        if d >= 0:
            r = route[d]
            assert (ret[z] == -1) == (r not in cols[off[z] : off[z + 1]])


def test_bad_runs_are_refused():
    g = routing_graph([1, -1])
    b = _TreeBatch(g, [0, 1], [0, 1], [], [], 2, is_lake=np.zeros(2, bool))
    out = np.empty((1, b.n_pairs))
    with pytest.raises(InputError, match="keep factors must lie in"):
        b.matrices(np.array([[1.5, 1.0]]), np.ones((1, 2)), np.zeros((1, 0)), out=out)
    with pytest.raises(InputError, match="loads must be finite"):
        b.matrices(np.ones((1, 2)), np.array([[np.nan, 1.0]]), np.zeros((1, 0)), out=out)
    with pytest.raises(InputError, match="load has shape"):
        b.matrices(np.ones((1, 2)), np.ones((1, 3)), np.zeros((1, 0)), out=out)
    with pytest.raises(InputError, match="need a tree"):
        _TreeBatch(routing_graph([1, -1], splits=([0], [1], [0.5])), [0, 1], [0, 1], [], [], 2,
                   is_lake=np.zeros(2, bool))  # fmt: skip


def test_range_check_by_min_and_max_equals_the_elementwise_check():
    # matrices checks keep and load by their min and max before the elementwise search
    from basingov.spillover.uncertainty import _FLOAT_MAX, _all_within

    rng = np.random.default_rng(5)
    odd = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, np.nextafter(1.0, 2.0), -1e-300, 1e308]
    cases = [np.empty((3, 0)), rng.random((4, 6))]
    for v in odd:
        a = rng.random((4, 6))
        a[rng.integers(0, 4), rng.integers(0, 6)] = v
        cases.append(a)
    for a in cases:
        assert _all_within(a, 0.0, 1.0) == bool(((a >= 0) & (a <= 1)).all())
        want = bool((np.isfinite(a) & (a >= 0)).all())
        assert _all_within(a, 0.0, _FLOAT_MAX) == want


def test_keep_of_runs_equals_piece_keep_with_lakes():
    # Taihu has a lake (Lake Taihu, retention at its outlet); each reach cut in two pieces
    basin = load_basin("taihu")
    net = load_network(basin)
    model = decay_model_from_config(basin.config)
    n = len(net.reaches)
    rp = np.repeat(np.arange(n), 2)
    phi = np.tile([0.3, 0.7], n)
    assert net.reaches["is_lake"].any()
    draws = np.array([[1.0, 1.0, 1.0], [1.7, 0.6, 0.8], [0.4, 2.2, 1.3]])
    order = np.random.default_rng(0).permutation(rp.size)
    got = _KeepTerms(net, model.classes).piece_runs(model, rp, phi, order).keep(draws)
    for i, (mk, mvs, mv) in enumerate(draws):
        want, _ = piece_keep(net, rp, phi, model.scaled(mk, mvs), velocity_multiplier=mv)
        np.testing.assert_allclose(got[i], want[order], rtol=1e-14, atol=0)


def _keep_runs_per_call(terms, model, rp, phi, draws, order):
    """Return the runs' keep factors as they were computed for each block (before 4e0368d).

    Everything from the travel times on, again for each block: the plan's reference.
    """
    lake = terms.lake
    tau_d = np.where(lake, 0.0, travel_time_hours(terms.net)) / 24.0
    k = np.zeros(terms.n)
    kpd = model.classes.k_per_day
    k[~lake] = kpd[0] if terms.cls is None else np.asarray(kpd)[terms.cls]
    c = (k * tau_d)[rp] * phi
    a = draws[:, 0] / draws[:, 2]
    keep = np.exp(-a[:, None] * c[None, order])
    lake_p = lake[rp]
    pos = np.empty(rp.size, dtype=np.int64)
    pos[order] = np.arange(rp.size)
    last = np.ones(rp.size, dtype=bool)
    last[:-1] = rp[1:] != rp[:-1]
    keep[:, pos[lake_p]] = 1.0
    if terms.has_lakes:
        vs = np.array([model.settling_velocity(nm) for nm in terms.names])
        r_lake = lake_retention(vs[None, :] * draws[:, 1:2], terms.area, terms.outflow)
        at_reach = np.full(terms.n, -1, dtype=np.int64)
        at_reach[terms.outl] = terms.at
        tail = np.flatnonzero(lake_p & last & (at_reach[rp] >= 0))
        keep[:, pos[tail]] = 1.0 - r_lake[:, at_reach[rp[tail]]]
    return keep


@pytest.mark.parametrize("basin_name", ["taihu", "tennessee", "thames"])
def test_piece_runs_made_once_give_the_bits_of_each_block(basin_name):
    # the plan of the runs (travel times, rates, lake columns) is made once and serves
    # every block of draws: the same bits as computing it all again per block, with lakes
    # (Lake Taihu; the TVA reservoirs of the Tennessee) and without (the Thames)
    basin = load_basin(basin_name)
    net = load_network(basin)
    model = decay_model_from_config(basin.config)
    n = len(net.reaches)
    rp = np.repeat(np.arange(n), 2)
    phi = np.tile([0.3, 0.7], n)
    rng = np.random.default_rng(3)
    draws = rng.lognormal(0.0, 0.4, size=(7, 3))
    order = rng.permutation(rp.size)
    terms = _KeepTerms(net, model.classes)
    plan = terms.piece_runs(model, rp, phi, order)
    assert (plan.tail_cols.size > 0) == (basin_name != "thames")
    for s0, s1 in [(0, 1), (1, 4), (4, 7)]:
        got = plan.keep(draws[s0:s1])
        want = _keep_runs_per_call(terms, model, rp, phi, draws[s0:s1], order)
        assert got.view(np.int64).tolist() == want.view(np.int64).tolist()
    whole = _keep_runs_per_call(terms, model, rp, phi, draws, order)
    assert whole.view(np.int64).tolist() == plan.keep(draws).view(np.int64).tolist()


@pytest.mark.slow
def test_samples_equal_the_per_run_loop():
    # the shipped Thames network and overlay, 1 kg/day per reach from two sources plus a
    # foreign load: the batched runs equal one transfer per run with the same draws
    import pandas as pd

    from basingov import overlay
    from basingov.spillover import origin_loads, piece_network
    from basingov.spillover.uncertainty import _level_loads, _run_keep, _run_transfer, _samples

    basin = load_basin("thames")
    net = load_network(basin)
    levels = list(basin.config.boundaries.levels)
    ov = overlay.overlay_network(net, basin.jurisdictions, basin.basin, levels=levels)
    pn = piece_network(net, ov.piece_graph.pieces)
    rid = net.reaches["reach_id"].to_numpy()
    loads = pd.DataFrame(
        {"reach_id": np.r_[rid, rid[:3]], "load_kg_day": 1.0,
         "load_source": ["a"] * rid.size + ["b"] * 3}
    )  # fmt: skip
    other = str(ov.piece_graph.pieces[f"jur_{levels[-1]}"].iloc[-1])
    loads[f"origin_{levels[-1]}"] = [None] * rid.size + [other] * 3
    model = decay_model_from_config(basin.config)
    lvs = [_level_loads(pn, origin_loads(pn, loads, lv), lv, ov.piece_graph) for lv in levels]
    assert pn.graph.kind == "tree"
    assert lvs[-1].node.size > 0
    sig = (0.5, 0.3, 0.12)
    got = _samples(net, pn, lvs, model=model, runs=6, seed=5, sigmas=sig)
    terms = _KeepTerms(net, model.classes)
    rng = np.random.default_rng(5)
    for i in range(6):
        d = np.array([rng.lognormal(0.0, 0.5), rng.lognormal(0.0, 0.5), rng.lognormal(0.0, 0.3)])
        ms = rng.lognormal(0.0, 0.12, size=2)
        keep, lake = _run_keep(terms, pn, model, d)
        for lv, mc in zip(lvs, got, strict=True):
            want = _run_transfer(pn, lv, keep, lake, ms)
            np.testing.assert_allclose(mc.samples[i], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [4, 5])
def test_sparse_zone_sweep_equals_dense_bitwise(seed):
    # the tree of zones with only the origins that reach each zone gives the same bits as
    # the dense zones x origins sweep (the same additions in the same order)
    from basingov.spillover.routing import entry_factors

    for rng, n, nj, g in _random_trees(seed, 8, (1, 300), 12):
        kp = rng.uniform(0.0, 1.0, n)
        kp[rng.random(n) < 0.1] = 1.0
        lake = rng.random(n) < 0.1
        load = rng.uniform(0.0, 5.0, n) * (rng.random(n) < 0.6)
        jur = rng.integers(0, nj, n)
        ent = entry_factors(kp, is_lake=lake)
        out = []
        for sparse in (False, True):
            gen, dec, ret, dlv, ex, rt = (np.zeros(nj) for _ in range(6))
            acc = K.tree_local(g.order, g.idx_ds, kp, ent, load, jur, lake, gen, dec, ret)
            zone, exits, trans, rho, dlt = K.tree_reverse(g.order, g.idx_ds, kp, jur, lake)
            has = g.idx_ds[exits] >= 0
            bz = np.full(exits.size, -1, dtype=np.int64)
            bz[has] = np.arange(int(has.sum()))
            bf = np.zeros((int(has.sum()), nj))
            smat = np.zeros((nj, nj))
            if sparse:
                e = np.zeros(0, dtype=np.int64)
                lay = K.zone_columns(g.idx_ds, zone, exits, e, e, jur[exits], nj)
                bb, bj, bv = (np.empty(lay[1].size, dtype=t) for t in (int, int, float))
                m = K.tree_zones_sparse(exits, zone, g.idx_ds, jur, acc, trans, rho, dlt, *lay,
                                        smat, dec, ret, dlv, ex, rt, bz, bb, bj, bv)  # fmt: skip
                bf[bb[:m], bj[:m]] = bv[:m]
            else:
                for j0 in range(0, nj, 3):  # in blocks of origins, as before
                    _dense_zones(exits, zone, g.idx_ds, jur, acc, trans, rho, dlt, j0,
                                 min(nj, j0 + 3), smat, dec, ret, dlv, ex, rt, bz, bf)  # fmt: skip
            out.append((smat, dec, ret, dlv, ex, rt, bf))
        for a, b in zip(*out, strict=True):
            assert np.array_equal(a, b)
