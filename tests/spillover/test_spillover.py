"""Tests for the spillover routing kernels, matrices and tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, box

from basingov.errors import InputError, SingularSystemError
from basingov.network import network_from_table
from basingov.overlay import crossings, piece_graph, split_reaches
from basingov.spillover import (
    keep_factors,
    marginal_benefit,
    monte_carlo_matrix,
    node_loads,
    origin_loads,
    piece_network,
    route,
    routing_graph,
    spillover_tables,
    stretch_route_codes,
    transfer,
)
from basingov.spillover.pieces import _place


def _check_invariant(gen, dlv, dec, ret):
    total = dlv + dec + ret
    np.testing.assert_allclose(total, gen, rtol=1e-9, atol=0)


# --- golden cases, derived by hand ---------------------------------------------------------
def test_chain_golden():
    # A (node 0) -> B (node 1) -> out; keep 0.25 each so entry sqrt(0.25) = 0.5; 1 kg/day each.
    # F0 = 0.5 (all A); F1 = 0.25*0.5 (A) + 0.5 (B). S[A,B] = F0 = 0.5; S[A,A] = 1 - 0.5 = 0.5.
    t = transfer(routing_graph([1, -1]), [0.25, 0.25], [1.0, 1.0], [0, 1])
    np.testing.assert_allclose(t.matrix, [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(t.delivered, [0.125, 0.5])
    np.testing.assert_allclose(t.decayed, [0.875, 0.5])
    _check_invariant(t.generated, t.delivered, t.decayed, t.retained)


def test_dag_split_golden():
    # node 0 (A, 10 kg/day) splits 0.6 -> node 1 (B), 0.4 -> node 2 (C); 1 and 2 -> node 3 (C).
    # keep 1 except node 3 keep 0.64. Flux 0->1 = 6, 0->2 = 4, into node 3 = 10, out 6.4.
    # S[A,B] = 6 (link 0->1); S[A,C] = 4 (0->2) + 6 (1->3, B->C) = 10; delivered 6.4, decayed 3.6.
    g = routing_graph([1, 3, 3, -1], splits=([0, 0], [1, 2], [0.6, 0.4]))
    assert g.kind == "dag"
    load = [10.0, 0.0, 0.0, 0.0]
    t = transfer(g, [1.0, 1.0, 1.0, 0.64], load, [0, 1, 2, 2])
    assert t.matrix[0, 1] == pytest.approx(6.0)
    assert t.matrix[0, 2] == pytest.approx(10.0)
    assert t.delivered[0] == pytest.approx(6.4)
    assert t.decayed[0] == pytest.approx(3.6)
    _check_invariant(t.generated, t.delivered, t.decayed, t.retained)


def test_loop_golden():
    # 0 -> 1 (fraction 1); 1 -> 0 (0.5), the other 0.5 leaves. keep 0.5, entry sqrt(0.5).
    # F0 = 0.5 * 0.5 * F1 + s, F1 = 0.5 F0  =>  F0 = s / 0.875; delivered = 0.5 F1 = 0.25 F0.
    g = routing_graph([1, -1], splits=([1, 1], [0, -1], [0.5, 0.5]))
    assert g.kind == "cyclic"
    r = route(g, [0.5, 0.5], [1.0, 0.0], [0, 0])
    s = np.sqrt(0.5)
    assert r.method == "solve"
    assert r.flux[0, 0] == pytest.approx(s / 0.875)
    assert r.delivered[0] == pytest.approx(0.25 * s / 0.875)
    _check_invariant(r.generated, r.delivered, r.decayed, r.retained)


def test_lake_retention_golden():
    # one lake node retaining R = 0.5: keep = 0.5, fully mixed entry 0.5.
    keep = keep_factors([240.0], is_lake=[True], lake_retention=[0.5])
    r = route(routing_graph([-1]), keep, [4.0], [0], is_lake=[True])
    assert r.retained[0] == pytest.approx(2.0)
    assert r.decayed[0] == 0.0


# --- invariant on random networks (tree, DAG with splits, loops) -----------------------------
def _random_case(rng, n, kind):
    ds = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)])
    ds = (n - 1 - ds[::-1]).astype(np.int64)  # upstream nodes first
    ds[ds == n] = -1
    ds[-1] = -1
    splits = None
    if kind != "tree":
        src = rng.choice(np.arange(n - 1), size=max(1, n // 5), replace=False)
        rows = []
        for s in src:
            other = int(rng.integers(0, n)) if kind == "loop" else int(rng.integers(s + 1, n))
            if other == s or other == ds[s]:
                continue
            f = float(rng.uniform(0.1, 0.9))
            rows += [(s, ds[s], f), (s, other, 1 - f)]
        if rows:
            a = np.array(rows)
            splits = (a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2])
    g = routing_graph(ds, splits=splits)
    keep = rng.uniform(0.2, 0.99, n)
    lake = rng.random(n) < 0.2
    load = rng.uniform(0, 5, n)
    jur = rng.integers(0, 4, n)
    return g, keep, lake, load, jur


@pytest.mark.parametrize("kind", ["tree", "dag", "loop"])
def test_invariant_random(kind):
    rng = np.random.default_rng({"tree": 1, "dag": 2, "loop": 3}[kind])
    for _ in range(10):
        g, keep, lake, load, jur = _random_case(rng, int(rng.integers(2, 200)), kind)
        r = route(g, keep, load, jur, is_lake=lake, n_origins=4)
        _check_invariant(r.generated, r.delivered, r.decayed, r.retained)
        t = transfer(g, keep, load, jur, is_lake=lake, n_jur=4)
        _check_invariant(t.generated, t.delivered, t.decayed, t.retained)
        assert r.balance()["relative_residual"].max() < 1e-9


def test_tree_fast_path_equals_solve():
    rng = np.random.default_rng(7)
    g, keep, lake, load, jur = _random_case(rng, 300, "tree")
    fast = transfer(g, keep, load, jur, is_lake=lake, n_jur=4, max_cells=50)
    slow = transfer(g, keep, load, jur, is_lake=lake, n_jur=4, method="solve")
    for a in ("matrix", "delivered", "decayed", "retained", "exported", "returned"):
        np.testing.assert_allclose(getattr(fast, a), getattr(slow, a), rtol=1e-10, atol=1e-12)
    # border fluxes (rows) sum to the off-diagonal matrix columns
    off = fast.matrix - np.diag(np.diag(fast.matrix))
    by_recv = np.zeros_like(off)
    np.add.at(by_recv.T, jur[fast.border_dst], fast.border_flux)
    np.fill_diagonal(by_recv, 0)
    np.testing.assert_allclose(by_recv, off, atol=1e-12)


# --- errors -------------------------------------------------------------------------------
def test_singular_loop_raises():
    g = routing_graph([1, 0])
    with pytest.raises(SingularSystemError, match="singular: a loop"):
        route(g, [1.0, 1.0], [1.0, 0.0], [0, 0])


def test_routing_graph_errors():
    with pytest.raises(InputError, match=r"idx_ds must hold positions"):
        routing_graph([5, -1])
    with pytest.raises(InputError, match="sum to more than 1"):
        routing_graph([1, -1, -1], splits=([0, 0], [1, 2], [0.7, 0.7]))
    with pytest.raises(InputError, match="fractions outside"):
        routing_graph([1, -1], splits=([0], [1], [1.5]))
    with pytest.raises(InputError, match="equal length"):
        routing_graph([1, -1], splits=([0], [1, 1], [1.0]))


def test_keep_factors_name_values_of_the_wrong_length():
    # rates, lake flags or retentions of another length than the travel times raised
    # numpy's broadcast ValueError
    with pytest.raises(InputError, match=r"decay_per_day has shape \(2,\): give one value, or one"):
        keep_factors([1.0, 1.0, 1.0], decay_per_day=[0.1, 0.2])
    with pytest.raises(InputError, match=r"is_lake has shape \(2,\).*tau_hours \(shape \(3,\)\)"):
        keep_factors([1.0, 1.0, 1.0], is_lake=[True, False])
    with pytest.raises(InputError, match=r"lake_retention has shape \(4,\)"):
        keep_factors([1.0, 1.0, 1.0], is_lake=True, lake_retention=[0.1] * 4)
    # one value, or one per node, as before
    assert keep_factors([24.0, 24.0], decay_per_day=[0.5]).tolist() == [np.exp(-0.5)] * 2
    assert keep_factors([[24.0, 48.0]], decay_per_day=[0.5, 0.5]).shape == (1, 2)


def test_matrix_frame_and_indicators_need_one_id_per_jurisdiction():
    # too few or too many ids raised pandas' ValueError on the shape of the frame
    from basingov.spillover import indicators, matrix_frame

    t = transfer(routing_graph([1, -1]), [1.0, 1.0], [1.0, 1.0], [0, 1])
    for ids in (["A"], ["A", "B", "C"]):
        with pytest.raises(
            InputError, match=rf"{len(ids)} jurisdiction id\(s\) given for a matrix of 2"
        ):
            matrix_frame(t, ids)
        with pytest.raises(InputError, match=r"pass one id per code"):
            indicators(t, ids)
    assert matrix_frame(t, ["A", "B"]).shape == (2, 2)
    assert indicators(t, ["A", "B"]).index.tolist() == ["A", "B"]


@pytest.mark.parametrize("idx_ds", [[[1, -1]], np.zeros((2, 2), dtype=int)])
def test_routing_graph_needs_a_flat_list_of_positions(idx_ds):
    # a nested list reached the compiled kernel: a numba TypingError
    with pytest.raises(InputError, match=r"idx_ds must be a flat list of positions .*shape"):
        routing_graph(idx_ds)


def test_factor_and_route_errors():
    with pytest.raises(InputError, match="decay_per_day must be finite rates"):
        keep_factors([1.0], decay_per_day=-1)
    with pytest.raises(InputError, match="travel time is missing"):
        keep_factors([np.nan])
    g = routing_graph([1, -1])
    with pytest.raises(InputError, match="method must be one of"):
        route(g, [1, 1], [1, 1], [0, 0], method="magic")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="expected"):
        route(g, [1], [1, 1], [0, 0])
    with pytest.raises(InputError, match="keep factors must lie"):
        route(g, [2.0, 1.0], [1, 1], [0, 0])
    with pytest.raises(InputError, match="loads must be finite"):
        route(g, [1, 1], [-1.0, 1], [0, 0])
    with pytest.raises(InputError, match="integer codes"):
        route(g, [1, 1], [1, 1], [0.5, 0.0])
    with pytest.raises(InputError, match="origin codes must lie"):
        route(g, [1, 1], [1, 1], [0, 3], n_origins=2)
    with pytest.raises(InputError, match="needs an acyclic network"):
        route(routing_graph([1, 0]), [0.5, 0.5], [1, 1], [0, 0], method="sweep")
    with pytest.raises(InputError, match="method must be one of"):
        transfer(g, [1, 1], [1, 1], [0, 0], method="x")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="cut_pct"):
        marginal_benefit(pd.DataFrame([[1.0]]), cut_pct=120)


# --- tables on a hand-built basin ------------------------------------------------------------
@pytest.fixture
def basin():
    # Y confluence: reaches 1 (in A) and 2 (crossing A->B) join into 3 (in B).
    jur = gpd.GeoDataFrame(
        {
            "jur_id": ["A", "B"],
            "name": ["Upland", "Lowland"],
            "level": [0, 0],
            "level_name": ["country"] * 2,
            "parent_id": ["", ""],
        },
        geometry=[box(0, 0, 10000, 10000), box(10000, 0, 20000, 10000)],
        crs=3035,
    )
    t = gpd.GeoDataFrame(
        {
            "reach_id": [1, 2, 3],
            "downstream_id": [3, 3, -1],
            "local_area_km2": [10.0, 10.0, 10.0],
            "velocity_ms": [0.5, 0.5, 0.5],
        },
        geometry=[
            LineString([(1000, 9000), (5000, 5000)]),
            LineString([(5000, 1000), (12000, 5000)]),
            LineString([(12000, 5000), (19000, 5000)]),
        ],
        crs=3035,
    )
    t.loc[0, "geometry"] = LineString([(1000, 9000), (12000, 5000)])
    net = network_from_table(t)
    pieces = split_reaches(net.reaches, jur, levels=["country"])
    cr = crossings(net, pieces, level="country")
    return net, pieces, cr


def test_spillover_tables(basin):
    net, pieces, cr = basin
    loads = pd.DataFrame(
        {"reach_id": [1, 2, 3], "load_kg_day": [10.0, 10.0, 5.0], "load_source": "test"}
    )
    res = spillover_tables(
        net, piece_graph(net, pieces), loads, level_names=["country"], decay_per_day=0.5
    )
    s = res.matrices["country"]
    # Hand derivation. The border x = 10 km cuts reach 1 (straight, (1,9) -> (12,5) km) at
    # f1 = 9/11 of its length L1 = hypot(11, 4) km, and reach 2 ((5,1) -> (12,5) km) at
    # f2 = 5/7 of L2 = hypot(7, 4) km; reach 3 lies in B. A reach's load is spread over its
    # pieces by length, and a piece's load enters at mid-piece (SPARROW): it keeps
    # sqrt(exp(-k tau)) with tau = l / v over the A piece of length l (k = 0.5/day,
    # v = 0.5 m/s) before it reaches the border. So
    #   S[A, B] = 10 f1 exp(-k f1 L1 / v / 2) + 10 f2 exp(-k f2 L2 / v / 2)
    # and B, downstream, sends nothing to A.
    k, v = 0.5, 0.5 * 86.4  # 1/day; km/day
    f1, f2 = 9 / 11, 5 / 7
    l1, l2 = f1 * np.hypot(11, 4), f2 * np.hypot(7, 4)
    s_ab = 10 * f1 * np.exp(-k * l1 / v / 2) + 10 * f2 * np.exp(-k * l2 / v / 2)
    assert s.loc["A", "B"] == pytest.approx(s_ab, rel=1e-12)
    assert s.loc["B", "A"] == 0
    ind = res.indicators
    generated_a = 10 * f1 + 10 * f2
    assert ind.loc["A", "generated"] == pytest.approx(generated_a)
    assert ind.loc["B", "generated"] == pytest.approx(25 - generated_a)
    assert ind.loc["A", "exported"] == pytest.approx(s_ab)
    assert ind.loc["B", "imported"] == pytest.approx(s_ab)
    assert ind.loc["A", "net_balance"] == pytest.approx(s_ab)
    assert ind.loc["B", "net_balance"] == pytest.approx(-s_ab)
    assert ind.loc["A", "imported_share"] == 0
    # the transboundary share is a fraction: what leaves A for good over what A generates;
    # the gross figure over every border crossed keeps its own name
    assert ind.loc["A", "transboundary_share"] == pytest.approx(s_ab / generated_a)
    assert ind.loc["B", "transboundary_share"] == 0
    assert ind["transboundary_share"].between(0, 1).all()
    assert ind.loc["A", "exported_all_borders"] == pytest.approx(s_ab)
    assert res.balance["relative_residual"].max() < 1e-9
    # crossing decomposition adds up to the matrix and carries overlay ids
    cf = res.crossing_flux
    assert set(cf["crossing_id"]) <= set(cr["crossing_id"])
    assert cf["load_kg_day"].sum() == pytest.approx(s.loc["A", "B"])
    assert cf.groupby("crossing_id")["share"].sum().to_numpy() == pytest.approx(1.0)
    long = res.matrix_long
    assert list(long.columns[:4]) == ["origin", "receptor", "level", "level_name"]
    assert res.reach_loads["generated_kg_day"].sum() == pytest.approx(25.0)
    mb = res.marginal_benefit("country", cut_pct=10)
    assert mb.loc["A", "B"] == pytest.approx(0.1 * s.loc["A", "B"])
    with pytest.raises(InputError, match="has no matrix"):
        res.marginal_benefit("state")


def test_spillover_tables_errors(basin):
    net, pieces, _ = basin
    loads = pd.DataFrame({"reach_id": [1], "load_kg_day": [1.0]})
    with pytest.raises(InputError, match="allowed levels are"):
        spillover_tables(net, piece_graph(net, pieces), loads, level_names=["state"])
    with pytest.raises(InputError, match="have no piece"):
        piece_network(net, pieces[pieces["reach_id"] != 3])
    with pytest.raises(InputError, match="lacks column"):
        piece_network(net, pieces.drop(columns="fraction_end"))
    pn = piece_network(net, pieces)
    with pytest.raises(InputError, match="needs 'load_kg_day'"):
        node_loads(pn, pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="not in the network"):
        node_loads(pn, pd.DataFrame({"reach_id": [99], "load_kg_day": [1.0]}))
    with pytest.raises(InputError, match="not in the piece table"):
        node_loads(pn, pd.DataFrame({"piece_id": [99], "load_kg_day": [1.0]}))


def test_piece_network_refuses_the_pieces_of_another_network(basin):
    # pieces of a larger network raised a raw IndexError, a negative reach_pos numpy's
    # ValueError; pieces of a network with other reach ids were routed on this network's
    # reaches without a word
    net, pieces, _ = basin
    cols = ["reach_id", "downstream_id", "local_area_km2", "velocity_ms", "geometry"]
    small = network_from_table(net.reaches.iloc[[2]][cols])
    with pytest.raises(InputError, match=r"\(reach_pos\) outside \[0, 1\).*split_reaches"):
        piece_network(small, pieces)
    bad = pieces.copy()
    bad.loc[0, "reach_pos"] = -1
    with pytest.raises(InputError, match=r"1 piece\(s\) have a reach position \(reach_pos\) out"):
        piece_network(net, bad)
    other = network_from_table(
        net.reaches[cols].assign(reach_id=[11, 12, 13], downstream_id=[13, 13, -1])
    )
    with pytest.raises(InputError, match=r"another reach_id .*reach_id \[1, 1.*the network's \[11"):
        piece_network(other, pieces)
    assert piece_network(net, pieces).graph.n == len(pieces)


@pytest.mark.parametrize("value", [np.nan, -3.0])
def test_origin_loads_refuses_missing_or_negative_loads(basin, value):
    # a NaN or negative load of another origin than its piece's was dropped without a
    # word (only loads > 0 were kept as foreign), so the Monte Carlo runs on these
    # OriginLoads left it out
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    loads = pd.DataFrame(
        {"reach_id": [1, 3], "load_kg_day": [10.0, value], "origin_country": [None, "A"]}
    )
    with pytest.raises(InputError, match=r"1 load row\(s\) are not, e.g. rows \[1\]"):
        origin_loads(pn, loads, "country")
    with pytest.raises(InputError, match=r"load_kg_day must be finite and >= 0"):
        spillover_tables(net, piece_graph(net, pieces), loads, level_names=["country"])


def test_monte_carlo_refuses_loads_and_pieces_of_another_network(basin):
    # loads split by origin on 5 pieces, run on a network of 1 piece: the runs read the
    # loads of the first piece and gave bands without a word
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    loads = pd.DataFrame({"reach_id": [1, 2, 3], "load_kg_day": [10.0, 10.0, 5.0]})
    ol = origin_loads(pn, loads, "country")
    cols = ["reach_id", "downstream_id", "local_area_km2", "velocity_ms", "geometry"]
    one = network_from_table(net.reaches.iloc[[2]][cols])
    pn1 = piece_network(one, pieces[pieces["reach_id"] == 3].assign(reach_pos=0))
    assert pn1.graph.n < pn.graph.n
    with pytest.raises(InputError, match=r"hold loads of \d+ piece\(s\), the piece network has 1"):
        monte_carlo_matrix(one, pn1, ol, level="country", runs=2)
    # the piece network of one network run on another network's reaches: an IndexError
    _, src = node_loads(pn, loads)
    with pytest.raises(InputError, match=r"\(reach_pos\) outside \[0, 1\).*network the pieces"):
        monte_carlo_matrix(one, pn, src, level="country", runs=2)
    from basingov.spillover.decay import piece_keep

    with pytest.raises(InputError, match=r"reach position \(reach_pos\) outside \[0, 1\)"):
        piece_keep(one, pn.reach_pos, pn.phi)


def test_jur_codes_are_computed_once_per_level_and_read_only(basin):
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    codes, ids = pn.jur_codes("country")
    ref_codes, ref_ids = pd.factorize(pn.pieces["jur_country"].astype(str), sort=True)
    assert codes.tolist() == ref_codes.tolist()
    assert ids.tolist() == list(ref_ids)
    again = pn.jur_codes("country")
    assert again[0] is codes
    assert again[1] is ids
    with pytest.raises(ValueError, match="read-only"):
        codes[0] = 1
    with pytest.raises(InputError, match="not in the piece table"):
        pn.jur_codes("state")


def test_point_load_lands_on_its_piece(basin):
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    _, m = node_loads(pn, pd.DataFrame({"reach_id": [2], "fraction": [0.99], "load_kg_day": [3.0]}))
    node = int(np.flatnonzero(m[0])[0])
    assert pn.pieces.loc[node, "jur_country"] == "B"


def test_monte_carlo_bands(basin):
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    _, src = node_loads(pn, pd.DataFrame({"reach_id": [1, 3], "load_kg_day": [10.0, 1.0]}))
    a = monte_carlo_matrix(net, pn, src, level="country", runs=50, seed=3)
    b = monte_carlo_matrix(net, pn, src, level="country", runs=50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    row = a[(a["origin"] == "A") & (a["receptor"] == "B")].iloc[0]
    assert row["p5"] < row["p50"] < row["p95"]
    with pytest.raises(InputError, match="runs must be"):
        monte_carlo_matrix(net, pn, src, level="country", runs=0)
    with pytest.raises(InputError, match="percentiles must lie"):
        monte_carlo_matrix(net, pn, src, level="country", percentiles=(150,))
    with pytest.raises(InputError, match="sigmas"):
        monte_carlo_matrix(net, pn, src, level="country", load_sigma_ln=-1)


def test_monte_carlo_percentiles_given_as_one_number_or_not_numbers(basin):
    # one number raised numpy's ValueError from the bands (150: a TypeError from the
    # message itself); text raised numpy's ValueError
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    _, src = node_loads(pn, pd.DataFrame({"reach_id": [1, 3], "load_kg_day": [10.0, 1.0]}))
    one = monte_carlo_matrix(net, pn, src, level="country", runs=5, percentiles=50)
    listed = monte_carlo_matrix(net, pn, src, level="country", runs=5, percentiles=[50])
    pd.testing.assert_frame_equal(one, listed)
    assert list(one.columns) == ["origin", "receptor", "level_name", "p50"]
    with pytest.raises(InputError, match=r"percentiles must lie in \[0, 100\], got \[150.0\]"):
        monte_carlo_matrix(net, pn, src, level="country", runs=5, percentiles=150)
    with pytest.raises(InputError, match="percentiles must be a list of numbers"):
        monte_carlo_matrix(net, pn, src, level="country", runs=5, percentiles="5,95")
    with pytest.raises(InputError, match="percentiles must be a flat list"):
        monte_carlo_matrix(net, pn, src, level="country", runs=5, percentiles=[[5, 95]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"runs": 2.5}, r"runs must be a whole number >= 1 \(an int\), got 2.5"),
        ({"runs": 1e3}, r"runs must be a whole number >= 1 \(an int\), got 1000.0"),
        ({"runs": True}, r"runs must be a whole number >= 1 \(an int\), got True"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
        ({"seed": 1.5}, r"seed must be an integer >= 0, got 1.5"),
    ],
)
def test_monte_carlo_refuses_runs_and_seeds_that_are_not_whole_numbers(basin, kwargs, match):
    # these raised a raw TypeError (range of a float, np.empty of a bool) or numpy's
    # ValueError / TypeError of the generator seed
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    _, src = node_loads(pn, pd.DataFrame({"reach_id": [1, 3], "load_kg_day": [10.0, 1.0]}))
    kw = {"runs": 3, **kwargs}
    with pytest.raises(InputError, match=match):
        monte_carlo_matrix(net, pn, src, level="country", **kw)
    ld = pd.DataFrame({"reach_id": [1, 3], "load_kg_day": [10.0, 1.0]})
    with pytest.raises(InputError, match=match):
        spillover_tables(
            net, piece_graph(net, pieces), ld, level_names=["country"],
            monte_carlo_runs=kw["runs"], seed=kw.get("seed", 0),
        )  # fmt: skip
    # numpy integers are whole numbers
    assert len(monte_carlo_matrix(net, pn, src, level="country", runs=np.int64(2)))


@pytest.mark.parametrize("sigma", ["decay_sigma_ln", "velocity_sigma_ln", "load_sigma_ln"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_monte_carlo_refuses_sigmas_that_are_not_finite(basin, sigma, value):
    # a NaN sigma passed the check "< 0" and came out as keep factors or loads outside
    # their range at every node; an infinite one drew multipliers of 0 and inf into bands
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    _, src = node_loads(pn, pd.DataFrame({"reach_id": [1, 3], "load_kg_day": [10.0, 1.0]}))
    with pytest.raises(InputError, match=rf"sigmas .*{sigma}.* must be finite and >= 0"):
        monte_carlo_matrix(net, pn, src, level="country", runs=3, **{sigma: value})


@pytest.mark.parametrize("block", [1 << 16, 4, 1])
def test_bands_equal_the_percentiles_of_the_whole_stack(block, monkeypatch):
    # bands() takes the percentiles of the listed (somewhere non-zero) pairs only, a block
    # of pairs at a time; each pair's numbers must be those of np.percentile over the
    # whole runs x J x J stack
    from basingov.spillover import MonteCarloSamples, uncertainty

    monkeypatch.setattr(uncertainty, "_BAND_BLOCK", block)

    rng = np.random.default_rng(7)
    samples = rng.lognormal(size=(37, 9, 9)) * (rng.random((1, 9, 9)) < 0.3)
    samples[:, 2, 5] = 0.0
    samples[4, 2, 5] = 1e-300  # non-zero in one run only: still listed
    samples[:, 3, 3] = np.where(np.arange(37) % 2, -0.0, 0.0)  # zero in every run: not
    ids = tuple(f"J{i}" for i in range(9))
    q = (5.0, 12.5, 50.0, 95.0, 100.0)
    got = MonteCarloSamples.from_dense(level="x", ids=ids, samples=samples).bands(q)
    whole = np.percentile(samples, q, axis=0)
    nz = np.argwhere((samples != 0).any(axis=0))
    listed = set(map(tuple, nz.tolist()))
    assert (2, 5) in listed
    assert (3, 3) not in listed
    assert len(got) == len(nz)
    assert got[["origin", "receptor"]].to_numpy().tolist() == [[f"J{i}", f"J{j}"] for i, j in nz]
    for k, qq in enumerate(q):
        want = whole[k][nz[:, 0], nz[:, 1]]
        assert got[f"p{qq:g}"].to_numpy().tobytes() == want.tobytes(), qq


# --- boundary stretches: a river forming the A|B border ---------------------------------------
def _zigzag_case():
    # reach 0 in A (upstream), reach 1 along the A|B border, its six 2 km pieces falling
    # A, B, A, B, A, B on the coarse border line (one 12 km boundary stretch), reach 2 in B.
    from types import SimpleNamespace

    reaches = gpd.GeoDataFrame(
        {
            "reach_id": [10, 11, 12],
            "length_km": [4.0, 12.0, 4.0],
            "velocity_ms": [0.5, 0.5, 0.5],
            "is_lake": [False] * 3,
            "upstream_area_km2": [4.0, 16.0, 20.0],
        },
        geometry=[
            LineString([(0, 0), (4000, 0)]),
            LineString([(4000, 0), (16000, 0)]),
            LineString([(16000, 0), (20000, 0)]),
        ],
        crs=3035,
    )
    net = SimpleNamespace(reaches=reaches, idx_ds=np.array([1, 2, -1]), bifurcations=None)
    f = np.linspace(0, 1, 7)
    pieces = pd.DataFrame(
        {
            "piece_id": np.arange(8),
            "reach_id": [10] + [11] * 6 + [12],
            "reach_pos": [0] + [1] * 6 + [2],
            "piece": [0, 0, 1, 2, 3, 4, 5, 0],
            "fraction_start": [0.0, *f[:-1], 0.0],
            "fraction_end": [1.0, *f[1:], 1.0],
            "length_km": [4.0] + [2.0] * 6 + [4.0],
            "jur_country": ["A", "A", "B", "A", "B", "A", "B", "B"],
            "border_country": [""] + ["A|B"] * 6 + [""],
        }
    )
    pieces["name_country"] = pieces["jur_country"]
    loads = pd.DataFrame(
        {"piece_id": [0, 2], "load_kg_day": [10.0, 1.0], "load_source": ["up", "bank"]}
    )
    return net, pieces, loads


def test_stretch_route_codes_refuse_the_piece_graph_of_other_pieces():
    # a piece graph whose piece ids are not the piece network's gave every piece its own
    # label (the stretch written onto the last piece, index -1) without a word
    net, pieces, loads = _zigzag_case()
    g = piece_graph(net, pieces)
    pn = piece_network(net, pieces.assign(piece_id=pieces["piece_id"] + 100))
    with pytest.raises(InputError, match=r"holds 8 piece\(s\) not in the piece network"):
        stretch_route_codes(pn, "country", graph=g)
    _, src = node_loads(pn, loads.assign(piece_id=loads["piece_id"] + 100))
    with pytest.raises(InputError, match="pass the overlay's piece_graph of these same pieces"):
        monte_carlo_matrix(net, pn, src, level="country", runs=2, graph=g)


def test_zigzag_border_river_counts_load_once():
    net, pieces, loads = _zigzag_case()
    pn = piece_network(net, pieces)
    rc = stretch_route_codes(pn, "country", graph=piece_graph(net, pieces))
    # the stretch carries A, the label the flow had when it entered it; origins unchanged
    assert rc.tolist() == [0, 0, 0, 0, 0, 0, 0, 1]
    assert pn.jur_codes("country")[0].tolist() == [0, 0, 1, 0, 1, 0, 1, 1]
    res = spillover_tables(
        net, piece_graph(net, pieces), loads, level_names=["country"], decay_per_day=0.0
    )
    s = res.matrices["country"]
    # no decay: A's 10 kg/day cross into B once (where the river leaves the stretch), not
    # three times (once per zig-zag into a B piece)
    assert s.loc["A", "B"] == pytest.approx(10.0)
    # B's load from the B-labelled stretch piece keeps origin B: it enters A's routed
    # waters where it is generated and comes back to B at the stretch end
    assert s.loc["B", "A"] == pytest.approx(1.0)
    assert s.loc["B", "B"] == pytest.approx(1.0)
    assert s.loc["A", "A"] == pytest.approx(0.0)
    ind = res.indicators
    assert ind.loc["A", "generated"] == pytest.approx(10.0)
    assert ind.loc["B", "generated"] == pytest.approx(1.0)
    assert ind.loc["B", "imported"] == pytest.approx(10.0)
    assert res.balance["relative_residual"].max() < 1e-9
    cf = res.crossing_flux
    assert len(cf.drop_duplicates("crossing_id")) == 1
    assert cf[["from_jur", "to_jur"]].drop_duplicates().to_numpy().tolist() == [["A", "B"]]
    assert cf.loc[cf["origin"] == "A", "load_kg_day"].sum() == pytest.approx(10.0)
    # with decay the single crossing carries what is left at the stretch end
    res = spillover_tables(
        net, piece_graph(net, pieces), loads, level_names=["country"], decay_per_day=0.5
    )
    keep = keep_factors(_tau_hours(net), decay_per_day=0.5)
    assert res.matrices["country"].loc["A", "B"] == pytest.approx(10.0 * keep[0] ** 0.5 * keep[1])
    assert res.balance["relative_residual"].max() < 1e-9
    # the same stretch rule as the overlay: too short to be a stretch, every zig-zag counts
    short = spillover_tables(
        net,
        piece_graph(net, pieces, min_stretch_m=2e4),
        loads,
        level_names=["country"],
        decay_per_day=0.0,
    )
    assert short.matrices["country"].loc["A", "B"] == pytest.approx(30.0)
    # Monte Carlo uses the same routing labels
    _, src = node_loads(pn, loads)
    sig = {"decay_sigma_ln": 0.0, "velocity_sigma_ln": 0.0, "load_sigma_ln": 0.0}
    mc = monte_carlo_matrix(
        net,
        pn,
        src,
        level="country",
        runs=5,
        decay_per_day=0.0,
        graph=piece_graph(net, pieces),
        **sig,
    )
    assert mc.set_index(["origin", "receptor"]).loc[("A", "B"), "p50"] == pytest.approx(10.0)


def test_stretch_entered_from_a_third_jurisdiction_takes_its_exit_label():
    # reach 0 in C, then the same A|B zig-zag stretch, leaving into B
    net, pieces, loads = _zigzag_case()
    pieces = pieces.assign(jur_country=["C", "A", "B", "A", "B", "A", "B", "B"])
    pieces["name_country"] = pieces["jur_country"]
    pn = piece_network(net, pieces)
    _codes, ids = pn.jur_codes("country")
    rc = stretch_route_codes(pn, "country", graph=piece_graph(net, pieces))
    assert ids.tolist() == ["A", "B", "C"]
    assert rc.tolist() == [2, 1, 1, 1, 1, 1, 1, 1]  # C, then B all along the stretch
    res = spillover_tables(
        net, piece_graph(net, pieces), loads, level_names=["country"], decay_per_day=0.0
    )
    s = res.matrices["country"]
    # C's 10 kg/day enter B once; nothing of C's is counted into A
    assert s.loc["C", "B"] == pytest.approx(10.0)
    assert s.loc["C"].get("A", 0.0) == pytest.approx(0.0)
    assert res.balance["relative_residual"].max() < 1e-9


def _tau_hours(net):
    r = net.reaches
    return r["length_km"].to_numpy() * 1000 / r["velocity_ms"].to_numpy() / 3600


@pytest.mark.parametrize("kind", ["tree", "dag", "loop"])
def test_two_labels_random(kind):
    # routing labels differing from the origins: S off the diagonal counts link fluxes
    # where the routing label changes plus load generated into other-labelled waters; the
    # diagonal equals the own load's fate in own-labelled waters; R = J gives the old S.
    rng = np.random.default_rng({"tree": 11, "dag": 12, "loop": 13}[kind])
    for _ in range(5):
        g, keep, lake, load, jur = _random_case(rng, int(rng.integers(2, 150)), kind)
        rj = np.where(rng.random(g.n) < 0.3, rng.integers(0, 4, g.n), jur)
        t = transfer(g, keep, load, jur, is_lake=lake, n_jur=4, route_jur=rj)
        _check_invariant(t.generated, t.delivered, t.decayed, t.retained)
        tb = transfer(g, keep, load, jur, is_lake=lake, n_jur=4, route_jur=rj, max_cells=g.n)
        np.testing.assert_allclose(tb.matrix, t.matrix, rtol=1e-10, atol=1e-12)
        r = route(g, keep, load, jur, is_lake=lake, n_origins=4)
        src, dst, f = g.links()
        inflow = np.zeros((g.n, 4))
        np.add.at(inflow, dst, f[:, None] * r.flux[src])
        kp = np.asarray(keep)
        ent = np.where(lake, kp, np.sqrt(kp))
        own = np.arange(g.n), rj
        fate = (1 - kp) * inflow[own] + (1 - ent) * load * (jur == rj)
        fate += (1 - np.bincount(src, weights=f, minlength=g.n)) * r.flux[own]
        np.testing.assert_allclose(
            np.diag(t.matrix), np.bincount(rj, weights=fate, minlength=4), rtol=1e-9, atol=1e-9
        )
        b = rj[src] != rj[dst]
        expect = np.zeros((4, 4))
        np.add.at(expect.T, rj[dst[b]], f[b, None] * r.flux[src[b]])
        np.add.at(expect, (jur, rj), load * (jur != rj))
        off = ~np.eye(4, dtype=bool)
        np.testing.assert_allclose(t.matrix[off], expect[off], rtol=1e-10, atol=1e-12)
        if kind == "tree":  # the linear split of the fast path equals routing everything
            sw = transfer(g, keep, load, jur, is_lake=lake, n_jur=4, route_jur=rj, method="sweep")
            for a in ("matrix", "delivered", "decayed", "retained", "exported", "returned"):
                np.testing.assert_allclose(getattr(t, a), getattr(sw, a), rtol=1e-10, atol=1e-12)
            i, j = np.argsort(t.border_src), np.argsort(sw.border_src)
            np.testing.assert_array_equal(t.border_dst[i], sw.border_dst[j])
            np.testing.assert_allclose(t.border_flux[i], sw.border_flux[j], rtol=1e-10, atol=1e-12)
        same = transfer(g, keep, load, jur, is_lake=lake, n_jur=4, route_jur=jur)
        old = transfer(g, keep, load, jur, is_lake=lake, n_jur=4)
        np.testing.assert_allclose(same.matrix, old.matrix, rtol=1e-10, atol=1e-12)
    with pytest.raises(InputError, match="route_jur"):
        transfer(g, keep, load, jur, n_jur=4, route_jur=np.full(g.n, 9))


# --- explicit origins: load generated in one jurisdiction, entering the river in another ----
def test_explicit_origin_counts_where_the_load_is_generated(basin):
    net, pieces, _ = basin
    pid_a = int(pieces.loc[pieces["jur_country"] == "A", "piece_id"].iloc[0])
    loads = pd.DataFrame(
        {
            "piece_id": [pid_a, pid_a, pid_a, pid_a],
            "load_kg_day": [4.0, 1.0, 2.0, 3.0],
            "load_source": ["s", "s", "t", "s"],
            "origin_country": ["B", None, "", "C"],
        }
    )
    res = spillover_tables(
        net, piece_graph(net, pieces), loads, level_names=["country"], decay_per_day=0.0
    )
    s = res.matrices["country"]
    ind = res.indicators
    # B's 4 and C's 3 kg/day enter A's river: imported by A there, then cross into B
    assert list(s.index) == ["A", "B", "C"]
    assert ind.loc["A", "generated"] == pytest.approx(3.0)  # empty origins fall back to A
    assert ind.loc["B", "generated"] == pytest.approx(4.0)
    assert ind.loc["C", "generated"] == pytest.approx(3.0)
    assert s.loc["B", "A"] == pytest.approx(4.0)
    assert s.loc["C", "A"] == pytest.approx(3.0)
    assert s.loc["C", "B"] == pytest.approx(3.0)
    assert s.loc["A", "B"] == pytest.approx(3.0)
    assert s.loc["B", "B"] == pytest.approx(4.0)  # B's own load comes back into B's waters
    assert ind.loc["A", "imported"] == pytest.approx(7.0)
    assert ind.loc["B", "exported"] == pytest.approx(4.0)
    assert ind.loc["C", "exported"] == pytest.approx(3.0)
    assert res.balance["relative_residual"].max() < 1e-9
    assert res.reach_loads["generated_kg_day"].sum() == pytest.approx(10.0)
    # with decay the invariant holds per origin and B's load stays B's
    res = spillover_tables(
        net, piece_graph(net, pieces), loads, level_names=["country"], decay_per_day=0.5
    )
    assert res.balance["relative_residual"].max() < 1e-9
    assert res.indicators.loc["B", "generated"] == pytest.approx(4.0)
    assert res.matrices["country"].loc["B", "A"] == pytest.approx(4.0)
    # Monte Carlo uses the origins too (no spread: the deterministic matrix)
    pn = piece_network(net, pieces)
    ol = origin_loads(pn, loads, "country")
    assert ol.ids.tolist() == ["A", "B", "C"]
    assert ol.total() == pytest.approx(node_loads(pn, loads)[1].sum(axis=0))
    sig = {"decay_sigma_ln": 0.0, "velocity_sigma_ln": 0.0, "load_sigma_ln": 0.0}
    mc = monte_carlo_matrix(net, pn, ol, level="country", runs=3, decay_per_day=0.5, **sig)
    got = mc.set_index(["origin", "receptor"])["p50"]
    for (o, r), v in got.items():
        assert v == pytest.approx(res.matrices["country"].loc[o, r])
    with pytest.raises(InputError, match="split by origin at level"):
        monte_carlo_matrix(net, pn, ol, level="state")


def _origin_codes_row_by_row(pn, loads, level):
    """Plain reference of origin_loads' origin per row: each row's text, one by one."""
    piece_codes, piece_ids = pn.jur_codes(level)
    _, _, row, node, _ = _place(pn, loads)
    raw = loads.get(f"origin_{level}", pd.Series([None] * len(loads))).tolist()
    text = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in raw]
    ids = sorted({*map(str, piece_ids), *(t for t in text if t)})
    piece_jur = [str(piece_ids[c]) for c in piece_codes]
    return ids, [ids.index(text[k] or piece_jur[i]) for k, i in zip(row, node, strict=True)]


@pytest.mark.parametrize("values", [["B", None, "", "C", np.nan, "A"], [None], [7, "7", "", 3.5]])
def test_origin_loads_names_each_rows_origin_as_row_by_row(basin, values):
    # origin_loads reads each distinct origin text once; the same origins as row by row
    net, pieces, _ = basin
    pn = piece_network(net, pieces)
    rng = np.random.default_rng(len(values))
    n = 40
    loads = pd.DataFrame(
        {
            "piece_id": rng.choice(pieces["piece_id"].to_numpy(), n),
            "load_kg_day": rng.uniform(0.5, 2.0, n),
            "origin_country": pd.Series(rng.choice(np.array(values, dtype=object), n)),
        }
    )
    for table in (loads, loads.drop(columns="origin_country")):
        ol = origin_loads(pn, table, "country")
        ids, want = _origin_codes_row_by_row(pn, table, "country")
        assert ol.ids.tolist() == ids
        node = _place(pn, table)[3]
        home = ol.codes[node]
        # rows of another origin are listed one by one, the others count at home
        assert ol.origin.tolist() == [w for w, h in zip(want, home, strict=True) if w != h]


@pytest.mark.parametrize("kind", ["tree", "dag", "loop"])
def test_foreign_loads_random(kind):
    # loads of other origins on random nodes: the invariant holds per origin, the tree path
    # kernel equals the sparse solve, and S off the diagonal is the border flux of each
    # origin plus the foreign load entering waters of another label
    rng = np.random.default_rng({"tree": 21, "dag": 22, "loop": 23}[kind])
    for _ in range(5):
        g, keep, lake, load, jur = _random_case(rng, int(rng.integers(2, 120)), kind)
        rj = np.where(rng.random(g.n) < 0.2, rng.integers(0, 4, g.n), jur)
        m = int(rng.integers(1, 12))
        fx = (rng.integers(0, g.n, m), rng.integers(0, 5, m), rng.uniform(0, 3, m))
        t = transfer(g, keep, load, jur, is_lake=lake, n_jur=5, route_jur=rj, foreign=fx)
        _check_invariant(t.generated, t.delivered, t.decayed, t.retained)
        gen = np.bincount(jur, weights=load, minlength=5) + np.bincount(
            fx[1], weights=fx[2], minlength=5
        )
        np.testing.assert_allclose(t.generated, gen, rtol=1e-12)
        ts = transfer(
            g, keep, load, jur, is_lake=lake, n_jur=5, route_jur=rj, foreign=fx, method="solve"
        )
        for a in ("matrix", "delivered", "decayed", "retained", "exported", "returned"):
            np.testing.assert_allclose(getattr(t, a), getattr(ts, a), rtol=1e-9, atol=1e-10)
        # expected off-diagonal: route the node loads and each foreign entry on its own
        src, dst, f = g.links()
        b = rj[src] != rj[dst]
        expect = np.zeros((5, 5))
        r = route(g, keep, load, jur, is_lake=lake, n_origins=5)
        np.add.at(expect.T, rj[dst[b]], f[b, None] * r.flux[src[b]])
        np.add.at(expect, (jur, rj), load * (jur != rj))
        for nd, o, v in zip(*fx, strict=True):
            one = np.zeros(g.n)
            one[nd] = v
            ro = route(g, keep, one, np.zeros(g.n, dtype=int), is_lake=lake, n_origins=1)
            np.add.at(expect[o], rj[dst[b]], f[b] * ro.flux[src[b], 0])
            if o != rj[nd]:
                expect[o, rj[nd]] += v
        off = ~np.eye(5, dtype=bool)
        np.testing.assert_allclose(t.matrix[off], expect[off], rtol=1e-9, atol=1e-10)
    with pytest.raises(InputError, match="foreign"):
        transfer(g, keep, load, jur, n_jur=4, foreign=([0], [9], [1.0]))
    with pytest.raises(InputError, match="foreign loads must be"):
        transfer(g, keep, load, jur, n_jur=5, foreign=([0], [1], [-1.0]))


def test_monte_carlo_runs_on_a_network_with_a_bifurcation():
    # reach 2 (in A) splits 70/30 into reaches 3 and 4, which cross into B and rejoin in
    # reach 5, which crosses into C: not a tree, so each run is one transfer. The stored
    # pairs are the cells non-zero in some run, each run's values are that run's matrix
    # bit for bit (a -0.0 too), and the dense stack rebuilt from them is the runs' stack
    from basingov.spillover import DecayModel, origin_loads
    from basingov.spillover.decay import _KeepTerms
    from basingov.spillover.uncertainty import _level_loads, _run_keep, _run_transfer, _samples

    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B", "C"], "name": ["A", "B", "C"], "level": [0, 0, 0],
         "level_name": ["country"] * 3, "parent_id": ["", "", ""]},
        geometry=[box(0, 0, 10000, 10000), box(10000, 0, 20000, 10000),
                  box(20000, 0, 30000, 10000)],
        crs=3035,
    )  # fmt: skip
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3, 4, 5], "downstream_id": [2, 3, 5, 5, -1],
         "local_area_km2": 10.0, "velocity_ms": 0.5},
        geometry=[LineString([(1000, 5000), (6000, 5000)]),
                  LineString([(6000, 5000), (9000, 5000)]),
                  LineString([(9000, 5000), (15000, 8000)]),
                  LineString([(9000, 5000), (15000, 2000)]),
                  LineString([(15000, 5000), (25000, 5000)])],
        crs=3035,
    )  # fmt: skip
    bif = pd.DataFrame({"reach_id": [2, 2], "downstream_id": [3, 4], "fraction": [0.7, 0.3]})
    net = network_from_table(t, bifurcations=bif)
    pn = piece_network(net, split_reaches(net.reaches, jur, levels=["country"]))
    assert pn.graph.kind != "tree"
    loads = pd.DataFrame(
        {"reach_id": [1, 3, 5], "load_kg_day": [10.0, 4.0, 2.0], "load_source": ["a", "b", "a"]}
    )
    lv = _level_loads(pn, origin_loads(pn, loads, "country"), "country", None)
    model = DecayModel()
    runs, seed, sig = 6, 3, (0.5, 0.3, 0.12)
    (mc,) = _samples(net, pn, [lv], model=model, runs=runs, seed=seed, sigmas=sig)
    terms = _KeepTerms(net, model.classes)
    rng = np.random.default_rng(seed)
    dense = []
    for _ in range(runs):
        d = np.array([rng.lognormal(0.0, 0.5), rng.lognormal(0.0, 0.5), rng.lognormal(0.0, 0.3)])
        ms = rng.lognormal(0.0, 0.12, size=lv.home.shape[0])
        keep, lake = _run_keep(terms, pn, model, d)
        dense.append(_run_transfer(pn, lv, keep, lake, ms))
    stack = np.stack(dense)
    assert mc.ids == ("A", "B", "C")
    nz = np.flatnonzero((stack.reshape(runs, -1).view(np.int64) != 0).any(axis=0))
    assert (mc.origin * 3 + mc.receptor).tolist() == nz.tolist()
    pairs = set(zip(mc.origin.tolist(), mc.receptor.tolist(), strict=True))
    assert pairs >= {(0, 1), (1, 2), (0, 2)}  # A's load reaches B and C, B's reaches C
    assert mc.samples.tobytes() == stack.tobytes()


def test_monte_carlo_samples_from_dense_needs_a_run():
    # a stack of no runs raised numpy's ValueError from the reshape
    from basingov.spillover import MonteCarloSamples

    with pytest.raises(InputError, match=r"got shape \(0, 2, 2\) \(at least one run\)"):
        MonteCarloSamples.from_dense(level="x", ids=("A", "B"), samples=np.zeros((0, 2, 2)))
    with pytest.raises(InputError, match=r"runs x 2 x 2 matrices"):
        MonteCarloSamples.from_dense(level="x", ids=("A", "B"), samples=np.zeros((1, 3, 3)))


def test_monte_carlo_samples_check_their_pairs():
    from basingov.spillover import MonteCarloSamples

    ok = MonteCarloSamples(level="x", ids=("A", "B"), origin=[0, 1], receptor=[1, 0],
                           values=[[1.0, 2.0], [3.0, 4.0]])  # fmt: skip
    assert ok.origin.dtype == np.int64
    assert ok.runs == 2
    assert ok.cells([1, 0, 0], [0, 1, 0]).tolist() == [[2.0, 1.0, 0.0], [4.0, 3.0, 0.0]]
    assert ok.cells(1, 0).tolist() == [[2.0], [4.0]]
    # (0, 3) would be flat cell 3 = (1, 1) of a 2 x 2 matrix, (1, -1) cell 1 = (0, 1)
    with pytest.raises(InputError, match=r"cells \[\(0, 3\), \(1, -1\)\] are not positions"):
        ok.cells([0, 0, 1], [1, 3, -1])
    with pytest.raises(InputError, match=r"one length, got \(2,\) and \(1,\)"):
        ok.cells([0, 1], [1])
    with pytest.raises(InputError, match="distinct and ordered by origin, then receptor"):
        MonteCarloSamples(level="x", ids=("A", "B"), origin=[1, 0], receptor=[0, 1],
                          values=[[1.0, 2.0]])  # fmt: skip
    with pytest.raises(InputError, match="must be positions in the 2 ids"):
        MonteCarloSamples(level="x", ids=("A", "B"), origin=[0, 2], receptor=[0, 0],
                          values=[[1.0, 2.0]])  # fmt: skip
    with pytest.raises(InputError, match=r"values of runs x k, got \(1,\), \(2,\) and \(1, 1\)"):
        MonteCarloSamples(level="x", ids=("A", "B"), origin=[0], receptor=[0, 1], values=[[1.0]])
    with pytest.raises(InputError, match=r"runs x 2 x 2 matrices, got shape \(3, 2\)"):
        MonteCarloSamples.from_dense(level="x", ids=("A", "B"), samples=np.zeros((3, 2)))
