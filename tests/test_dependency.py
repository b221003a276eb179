"""Jurisdiction graph and indicators on hand-built crossings."""

from __future__ import annotations

import functools
import operator
import os
import subprocess
import sys

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely import box

from basingov._outdir import read_run_table
from basingov.dependency import (
    betweenness,
    chain_depth,
    dependency_basis,
    dependency_edges,
    dependency_table,
    downstream_area,
    downstream_exposure,
    jurisdiction_graph,
    upstream_dependency,
)
from basingov.errors import InputError
from tests.shapes import CRS


@pytest.fixture
def jur() -> gpd.GeoDataFrame:
    """Four 1 km2 counties A, B, C, D in a row and an unrelated state level."""
    return gpd.GeoDataFrame(
        {
            "jur_id": ["A", "B", "C", "D", "S"],
            "name": ["Ay", "Bee", "Cee", "Dee", "State"],
            "level": [1, 1, 1, 1, 0],
            "level_name": ["county"] * 4 + ["state"],
            "parent_id": ["S"] * 4 + [""],
        },
        geometry=[box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(4)]
        + [box(0, 0, 4000, 1000)],
        crs=CRS,
    )


def cross(rows: list[tuple[str, str, float, float]], level: str = "county") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "crossing_id": [f"{level}-{i}" for i in range(len(rows))],
            "from_jur": [r[0] for r in rows],
            "to_jur": [r[1] for r in rows],
            "level": 1,
            "level_name": level,
            "upstream_area_km2": [r[2] for r in rows],
            "discharge_m3s": [r[3] for r in rows],
        }
    )


@pytest.fixture
def y_graph(jur) -> nx.DiGraph:
    """Build A, B -> C -> D where A crosses into C twice (two rivers)."""
    c = cross(
        [
            ("A", "C", 1.0, 0.1),
            ("A", "C", 0.5, 0.05),
            ("B", "C", 1.0, 0.1),
            ("C", "D", 3.5, 0.35),
            ("", "A", 2.0, 0.2),  # inflow from outside the layer: ignored
        ]
    )
    return jurisdiction_graph(c, jur, level="county")


def test_graph_edges_carry_crossings(y_graph):
    assert sorted(y_graph.edges) == [("A", "C"), ("B", "C"), ("C", "D")]
    e = y_graph.edges["A", "C"]
    assert e["n_crossings"] == 2
    assert e["crossings"] == ["county-0", "county-1"]
    assert e["upstream_area_km2"] == pytest.approx(1.5)
    assert e["discharge_m3s"] == pytest.approx(0.15)
    assert y_graph.nodes["A"]["name"] == "Ay"
    assert y_graph.nodes["A"]["area_km2"] == pytest.approx(1.0)
    assert y_graph.graph == {"level_name": "county", "level": 1}
    assert "S" not in y_graph


def test_indicators(y_graph):
    # hand values: C receives 1.5 + 1.0 = 2.5 km2 from outside and has 1 km2 of its own
    ud = upstream_dependency(y_graph)
    assert ud.index.name == "jur_id"
    assert ud["C"] == pytest.approx(2.5 / 3.5)
    assert ud["A"] == 0.0
    assert ud["D"] == pytest.approx(3.5 / 4.5)
    assert downstream_exposure(y_graph).to_dict() == {"A": 2, "B": 2, "C": 1, "D": 0}
    assert downstream_area(y_graph)["A"] == pytest.approx(2.0)
    assert chain_depth(y_graph).to_dict() == {"A": 0, "B": 0, "C": 1, "D": 2}
    bt = betweenness(y_graph)
    # C lies on A->D and B->D: 2 of the (4-1)*(4-2) = 6 ordered pairs
    assert bt["C"] == pytest.approx(2 / 6)
    assert bt.drop("C").eq(0).all()


def test_two_way_link_chain_depth(jur):
    """A meandering border river gives A->B and B->A: they share a depth."""
    g = jurisdiction_graph(
        cross([("A", "B", 1, 1), ("B", "A", 1, 1), ("B", "C", 2, 2)]), jur, level="county"
    )
    assert chain_depth(g).to_dict() == {"A": 0, "B": 0, "C": 1, "D": 0}


def test_dependency_table_and_edges(y_graph, jur):
    t = dependency_table({"county": y_graph}, jur)
    assert list(t.columns[:6]) == [
        "jur_id",
        "level",
        "upstream_dependency",
        "downstream_exposure",
        "chain_depth",
        "betweenness",
    ]
    assert t["jur_id"].tolist() == ["A", "B", "C", "D"]
    assert (t["level"] == 1).all()
    assert t.set_index("jur_id").loc["C", "inflow_area_km2"] == pytest.approx(2.5)
    assert t.set_index("jur_id").loc["D", "n_upstream"] == 3
    e = dependency_edges(y_graph, jur)
    assert e.crs == jur.crs
    assert e.set_index(["from_jur", "to_jur"]).loc[("A", "C"), "crossing_ids"] == (
        "county-0,county-1"
    )
    assert e.geometry.geom_type.eq("LineString").all()
    assert dependency_table(nx.DiGraph()).empty


def test_dependency_edges_refuses_jurisdictions_without_polygon(y_graph, jur):
    """An edge end with no polygon is refused, naming the jurisdiction.

    A missing id, a null or empty geometry or a repeated id made NumPy, shapely or pandas
    raise (not a geometry, shapes differ, duplicate labels).
    """
    no_c = "graph jurisdictions \\['C'\\] have no polygon in jurisdictions"
    with pytest.raises(InputError, match=no_c):
        dependency_edges(y_graph, jur[jur["jur_id"] != "C"])
    for geom in (None, box(0, 0, 1, 1).difference(box(0, 0, 1, 1))):  # null, empty
        j = jur.copy()
        j.loc[j["jur_id"] == "C", "geometry"] = geom
        with pytest.raises(InputError, match=no_c):
            dependency_edges(y_graph, j)
    with pytest.raises(InputError, match=r"repeated jur_id values \['A'\]"):
        dependency_edges(y_graph, pd.concat([jur, jur.iloc[[0]]]))


def test_graph_from_a_crossing_table_read_back(jur, tmp_path):
    """The crossings a run wrote, read back, give the same graph.

    The outside ``""`` comes back missing: it was taken for a jurisdiction 'nan' not in
    the table (InputError) instead of being ignored.
    """
    c = cross([("A", "C", 1.0, 0.1), ("", "A", 0.5, 0.05), ("C", "", 2.0, 0.2)])
    c.to_csv(tmp_path / "crossings.csv", index=False)
    back = read_run_table(tmp_path / "crossings.csv")
    assert back["from_jur"].isna().sum() == 1
    g = jurisdiction_graph(back, jur, level="county")
    assert list(g.edges(data="crossings")) == [("A", "C", ["county-0"])]


def test_unit_shares_area_wins(jur):
    shares = pd.DataFrame({"jur_id": ["A"], "level_name": ["county"], "area_km2": [0.25]})
    g = jurisdiction_graph(cross([("A", "B", 1, 1)]), jur, level="county", unit_shares=shares)
    assert g.nodes["A"]["area_km2"] == 0.25
    assert g.nodes["B"]["area_km2"] == 0.0  # not in the basin


def test_errors(jur, y_graph):
    with pytest.raises(InputError, match=r"allowed levels are \['county', 'state'\]"):
        jurisdiction_graph(cross([]), jur, level="nuts3")
    with pytest.raises(InputError, match=r"crossings lacks column\(s\) \['upstream_area_km2'\]"):
        jurisdiction_graph(cross([]).drop(columns="upstream_area_km2"), jur, level="county")
    with pytest.raises(InputError, match=r"name jurisdictions \['Q'\] that are not in"):
        jurisdiction_graph(cross([("A", "Q", 1, 1)]), jur, level="county")
    with pytest.raises(InputError, match=r"level 'state' has no graph; allowed levels"):
        dependency_table({"county": y_graph}, level="state")


def test_missing_areas_fall_back_to_river_length(jur):
    """No areas at the crossings: river lengths are compared instead, never a silent 0."""
    c = cross([("A", "B", float("nan"), float("nan"))]).assign(upstream_length_km=[3.0])
    shares = pd.DataFrame(
        {
            "jur_id": ["A", "B", "C", "D"],
            "level_name": "county",
            "area_km2": 1.0,
            "river_length_km": [3.0, 1.0, 0.0, 0.0],
        }
    )
    g = jurisdiction_graph(c, jur, level="county", unit_shares=shares)
    assert np.isnan(g.edges["A", "B"]["upstream_area_km2"])
    ud = upstream_dependency(g)
    assert ud.attrs["basis"] == "length"
    # hand value: 3 km of river upstream of the crossing, 1 km of B's own
    assert ud["B"] == pytest.approx(0.75)
    assert dependency_table(g)["dependency_basis"].eq("length").all()
    # without lengths either: NaN, not 0
    g2 = jurisdiction_graph(c.drop(columns="upstream_length_km"), jur, level="county")
    assert dependency_basis(g2) == "none"
    assert upstream_dependency(g2).isna().all()
    with pytest.raises(InputError, match=r"basis must be one of \['auto', 'area', 'length'\]"):
        upstream_dependency(g, basis="volume")  # type: ignore[arg-type]


def test_boundary_crossings_stay_out_of_the_graph(jur):
    c = cross([("A", "B", 1.0, 0.1), ("B", "A", 1.0, 0.1)]).assign(on_boundary=[False, True])
    g = jurisdiction_graph(c, jur, level="county")
    assert list(g.edges) == [("A", "B")]


def test_downstream_area_does_not_depend_on_hash_order():
    # float sums over a set of descendants must not change with PYTHONHASHSEED
    code = (
        "import networkx as nx\n"
        "from basingov.dependency import downstream_area\n"
        "edges = [(f'J{i}', 'OUT') for i in range(40)] + [('HEAD', f'J{i}') for i in range(40)]\n"
        "g = nx.DiGraph(edges)\n"
        "area = {n: 0.1 * (k + 1) / 3 for k, n in enumerate(sorted(g))}\n"
        "nx.set_node_attributes(g, area, 'area_km2')\n"
        "print(repr(downstream_area(g)['HEAD']))\n"
    )
    outs = set()
    for seed in (1, 2, 3, 4):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outs.add(run.stdout)
    assert len(outs) == 1, outs


def test_graph_edges_match_a_pandas_groupby(jur):
    # many crossings per pair, shuffled, with NaNs: the edges are those of a pandas
    # groupby (sorted pairs, crossings in table order, sums NaN when any value is NaN)
    # to the last bit
    rng = np.random.default_rng(5)
    ids = ["A", "B", "C", "D"]
    rows = []
    for _ in range(300):
        a, b = rng.choice(ids, 2, replace=False)
        area = float(rng.lognormal(3, 2))
        q = float("nan") if rng.random() < 0.02 else float(rng.lognormal(0, 3))
        rows.append((str(a), str(b), area, q))
    c = cross(rows).assign(upstream_length_km=rng.lognormal(2, 2, len(rows)))
    g = jurisdiction_graph(c, jur, level="county")
    ref = c.groupby(["from_jur", "to_jur"], sort=True).agg(
        crossings=("crossing_id", list),
        **{
            k: (k, lambda x: x.sum(min_count=len(x)))
            for k in ("upstream_area_km2", "discharge_m3s", "upstream_length_km")
        },
    )
    assert list(g.edges) == list(ref.index)
    for (a, b), r in ref.iterrows():
        e = g.edges[a, b]
        assert e["n_crossings"] == len(r["crossings"])
        assert e["crossings"] == r["crossings"]
        for k in ("upstream_area_km2", "discharge_m3s", "upstream_length_km"):
            assert repr(e[k]) == repr(float(r[k])), k
    assert any(np.isnan(d["discharge_m3s"]) for *_, d in g.edges(data=True))


def same_bits(a, b) -> bool:
    """Check two float sequences hold the same doubles, bit for bit (NaNs and signs too)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def random_digraph(rng: np.random.Generator, n: int, p: float) -> nx.DiGraph:
    """Build a gnp digraph with string ids, its nodes and edges added in shuffled order.

    It has two-way links and cycles (gnp), a few self loops and isolated nodes, and its
    node order, edge order and sorted id order all differ, so a result that follows the
    wrong one shows. Areas span orders of magnitude (float sums depend on their order);
    one node has none and one, if any, is NaN.
    """
    base = nx.gnp_random_graph(n, p, seed=int(rng.integers(1 << 30)), directed=True)
    name = {k: f"J{k}" for k in base}  # "J10" sorts before "J2"
    g = nx.DiGraph()
    for k in rng.permutation(n).tolist():
        g.add_node(name[k], area_km2=float(rng.lognormal(2, 3)))
    edges = [(name[a], name[b]) for a, b in base.edges]
    for k in rng.choice(n, size=min(n, 3), replace=False).tolist() if n else []:
        edges.append((name[k], name[k]))
    for i in rng.permutation(len(edges)).tolist():
        g.add_edge(*edges[i])
    if n > 4:
        del g.nodes[name[0]]["area_km2"]
        g.nodes[name[1]]["area_km2"] = float("nan") if rng.random() < 0.3 else 0.0
    return g


def drainage_graph(width: int, height: int, seed: int) -> nx.DiGraph:
    """Build a jurisdiction-like graph: grid cells drain to nearer cells, some both ways.

    Cells of a ``width x height`` grid drain to one or two of their eight neighbours
    closer to an outlet at the bottom middle; a fifth of the links also run back
    (meanders along borders), which joins cells into strongly connected components.
    """
    rng = np.random.default_rng(seed)
    cells = [(r, c) for r in range(height) for c in range(width)]
    g = nx.DiGraph()
    for k in rng.permutation(len(cells)).tolist():
        g.add_node(f"U{k:05d}", area_km2=float(rng.lognormal(3, 1.5)))
    edges = []
    for k, (r, c) in enumerate(cells):
        d = np.hypot(r, c - width // 2)
        down = [
            (r + dr) * width + c + dc
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
            if 0 <= r + dr < height
            and 0 <= c + dc < width
            and np.hypot(r + dr, c + dc - width // 2) < d
        ]
        pick = rng.permutation(down)[: 1 + int(rng.random() < 0.4)].tolist() if down else []
        for j in pick:
            edges.append((f"U{k:05d}", f"U{j:05d}"))
            if rng.random() < 0.2:
                edges.append((f"U{j:05d}", f"U{k:05d}"))
    for i in rng.permutation(len(edges)).tolist():
        g.add_edge(*edges[i])
    return g


def reference_reach(g: nx.DiGraph) -> dict[str, list]:
    """Compute the indicators from networkx's descendant and ancestor sets, as defined.

    Area below: the descendants' areas added one by one in sorted order from 0.0 (what
    the stage's ``sum`` over the sorted set did before it was compiled, on Python 3.11;
    ``sum`` compensates rounding from 3.12 on); chain depth: longest path over
    ``nx.condensation``.
    """
    area = nx.get_node_attributes(g, "area_km2")

    def added(below: set) -> float:
        return functools.reduce(operator.add, (area.get(d, 0.0) for d in sorted(below)), 0.0)

    cond = nx.condensation(g)
    depth: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        depth[c] = max((depth[p] + 1 for p in cond.predecessors(c)), default=0)
    return {
        "below": [nx.descendants(g, n) for n in g],
        "above": [nx.ancestors(g, n) for n in g],
        "area_below": [added(nx.descendants(g, n)) for n in g],
        "depth": [depth[cond.graph["mapping"][n]] for n in g],
    }


def assert_reach_matches_networkx(g: nx.DiGraph) -> None:
    from basingov.dependency import _adjacency, _closure, _condense, _ranked, _reach

    ref = reference_reach(g)
    r = _reach(g)
    assert r.nodes == list(g)
    assert r.n_below.tolist() == [len(s) for s in ref["below"]]
    assert r.n_above.tolist() == [len(s) for s in ref["above"]]
    assert same_bits(r.area_below, ref["area_below"])
    assert r.depth.tolist() == ref["depth"]
    # the sets themselves, decoded from the bitsets
    nodes, indptr, indices = _adjacency(g)
    if not nodes:
        return
    cond = _condense(indptr, indices)
    _, comp_of_rank = _ranked(nodes, cond.comp)
    ranked = np.array(sorted(nodes), dtype=object)
    for upstream, key in ((False, "below"), (True, "above")):
        bits = _closure(cond, comp_of_rank, upstream=upstream)
        # bit r of a row is bit r % 64 of its word r // 64 (little-endian bytes and bits)
        members = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little").astype(bool)
        assert not members[:, len(nodes) :].any()
        for i, v in enumerate(nodes):
            got = set(ranked[members[cond.comp[i], : len(nodes)]]) - {v}
            assert got == ref[key][i], (v, upstream)


def assert_betweenness_matches_networkx(g: nx.DiGraph) -> None:
    ref = nx.betweenness_centrality(g, normalized=True)
    got = betweenness(g)
    assert list(got.index) == list(g)
    assert same_bits(got.to_numpy(), [ref[v] for v in g])


def test_reach_matches_networkx_sets():
    rng = np.random.default_rng(3)
    order_matters = 0
    for _ in range(60):
        n = int(rng.integers(0, 40))
        g = random_digraph(rng, n, float(rng.choice([0.03, 0.08, 0.2])))
        assert_reach_matches_networkx(g)
        # the test can tell the order of the area sums: graph order gives other bits
        area = nx.get_node_attributes(g, "area_km2")
        for v in g:
            below = nx.descendants(g, v)
            a = functools.reduce(operator.add, (area.get(d, 0.0) for d in sorted(below)), 0.0)
            b = functools.reduce(operator.add, (area.get(d, 0.0) for d in g if d in below), 0.0)
            order_matters += not same_bits([a], [b])
    assert order_matters > 10


def test_reach_on_small_graphs():
    for g in (
        nx.DiGraph(),
        nx.DiGraph([("A", "A")]),
        nx.DiGraph([("B", "A"), ("A", "B")]),
        nx.complete_graph(5, create_using=nx.DiGraph),
        nx.cycle_graph(6, create_using=nx.DiGraph),
    ):
        assert_reach_matches_networkx(g)
    # wider than one 64-bit word: a chain of 150 nodes, listed in reverse
    chain = nx.DiGraph()
    chain.add_nodes_from(f"N{k:03d}" for k in range(150)[::-1])
    chain.add_edges_from((f"N{k:03d}", f"N{k + 1:03d}") for k in range(149))
    assert_reach_matches_networkx(chain)
    assert chain_depth(chain)["N149"] == 149
    assert downstream_exposure(chain)["N000"] == 149


def test_betweenness_matches_networkx_to_the_bit():
    rng = np.random.default_rng(11)
    for _ in range(150):
        n = int(rng.integers(0, 45))
        assert_betweenness_matches_networkx(
            random_digraph(rng, n, float(rng.choice([0.03, 0.08, 0.2, 0.5])))
        )


def test_betweenness_edge_cases():
    two_way_grid = nx.DiGraph(nx.grid_2d_graph(9, 9))  # many tied shortest paths
    isolated = nx.DiGraph([("A", "B"), ("B", "C")])
    isolated.add_nodes_from(["Z", "Y"])
    for g in (
        nx.DiGraph(),
        nx.DiGraph([("A", "A")]),
        nx.DiGraph([("A", "B")]),  # n = 2: not rescaled
        nx.DiGraph([("A", "B"), ("B", "A"), ("B", "C"), ("C", "C")]),
        nx.complete_graph(7, create_using=nx.DiGraph),
        nx.cycle_graph(9, create_using=nx.DiGraph),
        two_way_grid,
        isolated,
    ):
        assert_betweenness_matches_networkx(g)
    # tuple node ids keep the index networkx's dict would give
    assert betweenness(two_way_grid).index.equals(
        pd.Series(nx.betweenness_centrality(two_way_grid)).index
    )


def test_indicators_match_networkx_on_a_drainage_graph():
    """2,000 jurisdictions, with strongly connected components of up to ten or so."""
    g = drainage_graph(50, 40, seed=1)
    assert g.number_of_nodes() == 2000
    assert max(map(len, nx.strongly_connected_components(g))) >= 10
    assert_betweenness_matches_networkx(g)
    assert_reach_matches_networkx(g)


@pytest.mark.slow
@pytest.mark.parametrize("basin", ["rhine", "taihu", "tennessee", "thames"])
def test_shipped_graphs_match_networkx(basin, shipped_overlay):
    dep = shipped_overlay(basin).dependency
    for g in dep.graphs.values():
        assert_betweenness_matches_networkx(g)
        assert_reach_matches_networkx(g)
