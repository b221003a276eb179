"""Jurisdiction graph and indicators on hand-built crossings."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely import box

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


def test_descendant_sets_match_networkx():
    from basingov.dependency import _descendant_sets

    rng = np.random.default_rng(3)
    for _ in range(20):
        # random graphs with two-way links, cycles, self loops and isolated nodes
        g = nx.gnp_random_graph(25, 0.08, seed=int(rng.integers(1 << 30)), directed=True)
        g.add_edge(3, 3)
        g.add_node(99)
        down, up = _descendant_sets(g), _descendant_sets(g, upstream=True)
        assert list(down) == list(g.nodes)
        for n in g.nodes:
            assert down[n] == nx.descendants(g, n)
            assert up[n] == nx.ancestors(g, n)
