"""Tests for basingov.network: container, validation, order, derived quantities, converters."""

from __future__ import annotations

import dataclasses
import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from basingov.config import HydraulicsSection
from basingov.errors import (
    BasingovWarning,
    CRSError,
    InputError,
    SingularSystemError,
    TopologyError,
)
from basingov.network import (
    DEFAULT_VELOCITY_A,
    OUTLET_ID,
    RiverNetwork,
    accumulate,
    csr_reverse,
    discharge_from_area,
    distance_to_outlet,
    downstream_sum,
    from_networkx,
    ids_to_positions,
    kahn_order_csr,
    kahn_order_tree,
    navigate,
    network_from_gdf,
    network_from_table,
    network_to_gdf,
    strahler_order,
    to_networkx,
    travel_time_hours,
    upstream_area,
    upstream_sum,
    velocity_from_discharge,
)
from tests.shapes import CRS
from tests.shapes import line as _line


def _table(ids, ds, *, area=None, geoms=None, crs=CRS, **cols) -> gpd.GeoDataFrame:
    n = len(ids)
    if geoms is None:
        geoms = [_line(1000 * i, 0, 1000 * i + 1000, 0) for i in range(n)]
    data = {"reach_id": ids, "downstream_id": ds, **cols}
    if area is not None:
        data["local_area_km2"] = area
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


@pytest.fixture
def y_confluence() -> gpd.GeoDataFrame:
    """Reaches 1 (2 km, 10 km2) and 2 (1 km, 20 km2) join into 3 (1 km, 5 km2)."""
    geoms = [_line(0, 2000, 0, 0), _line(1000, 0, 0, 0), _line(0, 0, 0, -1000)]
    return _table([1, 2, 3], [3, 3, -1], area=[10.0, 20.0, 5.0], geoms=geoms)


@pytest.fixture
def chain() -> gpd.GeoDataFrame:
    return _table([10, 11, 12, 13], [11, 12, 13, -1], area=[1.0, 1.0, 1.0, 1.0])


@pytest.fixture
def bifurcating() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """1 -> 2; 2 splits 70/30 into 3 and 4; 3 and 4 rejoin into 5."""
    t = _table([1, 2, 3, 4, 5], [2, 3, 5, 5, -1], area=[1.0, 1.0, 1.0, 1.0, 1.0])
    bif = pd.DataFrame({"reach_id": [2, 2], "downstream_id": [4, 3], "fraction": [0.3, 0.7]})
    return t, bif


def random_tree(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Random parent-pointer tree: reach i drains to a random reach with a larger index."""
    rng = np.random.default_rng(seed)
    parent = np.full(n, -1)
    span = np.minimum(5, n - np.arange(1, n))
    parent[:-1] = np.arange(1, n) + (rng.random(n - 1) * span).astype(int)
    perm = rng.permutation(n)
    ids = perm + 100
    ds = np.where(parent >= 0, ids[np.maximum(parent, 0)], -1)
    return _table(ids, ds, area=rng.random(n))


# --- construction ----------------------------------------------------------------------
def test_y_confluence_basic(y_confluence):
    before = y_confluence.copy()
    net = network_from_table(y_confluence)
    assert isinstance(net, RiverNetwork)
    assert net.n == 3
    assert net.idx_ds.tolist() == [2, 2, -1]
    assert net.outlets.tolist() == [2]
    rank = np.argsort(net.order)
    assert rank[0] < rank[2]
    assert rank[1] < rank[2]
    assert net.reaches["length_km"].tolist() == [2.0, 1.0, 1.0]
    assert net.reaches["upstream_area_km2"].tolist() == [10.0, 20.0, 35.0]
    assert net.reaches["is_lake"].dtype == bool
    assert net.reaches.index.equals(pd.RangeIndex(3))
    assert not net.has_cycles
    assert net.crs.to_epsg() == 3035
    pd.testing.assert_frame_equal(y_confluence, before)  # input not mutated


def test_custom_columns_and_outlet_value():
    t = gpd.GeoDataFrame(
        {"HYBAS_ID": [5, 6], "NEXT_DOWN": [6, 0]},
        geometry=[_line(0, 0, 1, 0)] * 2,
        crs=CRS,
    )
    net = network_from_table(t, id_column="HYBAS_ID", downstream_column="NEXT_DOWN", outlet_value=0)
    assert net.reaches["downstream_id"].tolist() == [6, OUTLET_ID]
    assert "HYBAS_ID" not in net.reaches.columns


def test_sparse_ids_use_sorted_lookup():
    ids = np.array([7_000_000_001, 3, 9_999_999_999])
    net = network_from_table(_table(ids, [3, 9_999_999_999, -1]))
    assert net.idx_ds.tolist() == [1, 2, -1]
    assert net.position([9_999_999_999, 3]).tolist() == [2, 1]


def test_topological_order_on_random_tree():
    t = random_tree(5000, seed=3)
    net = network_from_table(t)
    rank = np.empty(net.n, int)
    rank[net.order] = np.arange(net.n)
    has = net.idx_ds >= 0
    assert (rank[has] < rank[net.idx_ds[has]]).all()
    assert np.array_equal(np.sort(net.order), np.arange(net.n))


def _forest(n: int, n_out: int, seed: int, *, sparse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ids and downstream ids of a shuffled random forest with ``n_out`` outlets."""
    rng = np.random.default_rng(seed)
    i = np.arange(n - n_out)
    parent = np.full(n, -1)
    parent[: n - n_out] = i + 1 + (rng.random(i.size) * (n - 1 - i)).astype(int)
    if sparse:  # spaced ids with regular low bits (like HydroBASINS' multiples of 10)
        ids = 10 * rng.choice(2**40, size=n, replace=False).astype(np.int64) + 1_000_000_000
    else:
        ids = rng.permutation(n).astype(np.int64) + 1
    ds = np.where(parent >= 0, ids[np.maximum(parent, 0)], OUTLET_ID)
    perm = rng.permutation(n)
    return ids[perm], ds[perm]


@pytest.mark.parametrize("sparse", [False, True])
def test_order_outlets_and_piece_sizes_match_networkx(sparse):
    # invariant: same order constraint, outlets and piece sizes as networkx's weakly
    # connected components on the same edges, through the dense and the hashed lookup
    ids, ds = _forest(3000, 7, seed=5, sparse=sparse)
    with pytest.warns(BasingovWarning, match=r"7 disconnected pieces") as rec:
        net = network_from_table(_table(ids, ds))
    g = nx.DiGraph()
    g.add_nodes_from(ids.tolist())
    g.add_edges_from((int(a), int(b)) for a, b in zip(ids, ds, strict=True) if b != OUTLET_ID)
    sizes = sorted((len(c) for c in nx.weakly_connected_components(g)), reverse=True)
    assert f"with {', '.join(map(str, sizes))} reaches" in str(rec[0].message)
    rank = np.empty(net.n, int)
    rank[net.order] = np.arange(net.n)
    has = net.idx_ds >= 0
    assert (rank[has] < rank[net.idx_ds[has]]).all()
    assert np.array_equal(np.sort(net.order), np.arange(net.n))
    assert sorted(net.ids[net.outlets].tolist()) == sorted(ids[ds == OUTLET_ID].tolist())
    assert (net.ids[net.idx_ds[has]] == ds[has]).all()


def test_sparse_ids_errors_collected():
    big = 10**12
    t = _table([big, 2 * big, 2 * big, 4 * big, 5], [99, 5, -1, 4 * big, -1])
    with pytest.raises(TopologyError, match=r"3 problem") as ei:
        network_from_table(t)
    text = str(ei.value)
    assert f"duplicated reach id(s) [{2 * big}]" in text
    assert (
        f"dangling downstream id(s) [99] (not reach ids; use -1 for outlets), at reach(es) [{big}]"
        in text
    )
    assert f"self-loop(s): reach(es) [{4 * big}]" in text


def test_sparse_ids_cycle_and_outlet_value():
    big = 10**12
    with pytest.raises(
        TopologyError, match=rf"1 cycle\(s\) through reach ids \[{big}, {2 * big}\]"
    ):
        network_from_table(_table([big, 2 * big, 7], [2 * big, big, -1]))
    with pytest.raises(TopologyError, match=r"equal to the outlet value -1"):
        network_from_table(_table([-1, big], [big, -1]))


def test_no_outlet_is_a_cycle():
    with pytest.raises(TopologyError, match=r"cycle\(s\) through reach ids \[1, 2\]"):
        network_from_table(_table([1, 2, 3], [2, 1, 1]))


def test_empty_layer():
    t = gpd.GeoDataFrame({"reach_id": [], "downstream_id": []}, geometry=[], crs=CRS)
    t = t.astype({"reach_id": "int64", "downstream_id": "int64"})
    net = network_from_table(t)
    assert net.n == 0
    assert net.outlets.size == 0
    assert upstream_area(net).size == 0


def test_measured_columns_win(chain):
    t = chain.assign(
        discharge_m3s=[np.nan, 5.0, np.nan, np.nan], velocity_ms=[2.0, np.nan, np.nan, np.nan]
    )
    net = network_from_table(t)
    q = net.reaches["discharge_m3s"].to_numpy()
    assert q[1] == 5.0
    assert q[3] == pytest.approx(discharge_from_area(4.0)[()])
    v = net.reaches["velocity_ms"].to_numpy()
    assert v[0] == 2.0
    assert v[1] == pytest.approx(DEFAULT_VELOCITY_A * 5.0**0.1)


def test_hydraulics_overrides_and_lakes(chain):
    h = HydraulicsSection(
        runoff_mm_year=1000.0, velocity_a=1.0, velocity_b=0.0, lake_velocity_ms=0.05
    )
    t = chain.assign(is_lake=[False, True, False, False])
    net = network_from_table(t, hydraulics=h)
    assert net.reaches["velocity_ms"].tolist() == [1.0, 0.05, 1.0, 1.0]
    # 4 km2 x 1 m/year = 4e6 m3/year
    assert net.reaches["discharge_m3s"].iloc[3] == pytest.approx(4e6 / (365.25 * 86400))


def test_unknown_local_area_propagates_nan():
    net = network_from_table(_table([1, 2, 3], [3, 3, -1], area=[1.0, np.nan, 2.0]))
    up = net.reaches["upstream_area_km2"].to_numpy()
    assert up[0] == 1.0
    assert np.isnan(up[1])
    assert np.isnan(up[2])


# --- validation errors -----------------------------------------------------------------
def test_cycle_names_ids():
    t = _table([1, 2, 3, 4], [2, 3, 1, -1])
    with pytest.raises(TopologyError, match=r"1 cycle\(s\) through reach ids \[1, 2, 3\]"):
        network_from_table(t)


def test_dangling_self_loop_duplicates_collected():
    t = _table([1, 2, 2, 4, 5], [99, 5, -1, 4, -1])
    with pytest.raises(TopologyError, match=r"3 problem") as ei:
        network_from_table(t)
    text = str(ei.value)
    assert "duplicated reach id(s) [2]" in text
    assert "dangling downstream id(s) [99]" in text
    assert "at reach(es) [1]" in text
    assert "self-loop(s): reach(es) [4]" in text


def test_reach_id_equal_to_outlet_value():
    with pytest.raises(TopologyError, match=r"equal to the outlet value -1"):
        network_from_table(_table([-1, 2], [2, -1]))


def test_several_outlets_when_single_expected():
    t = _table([1, 2, 3], [-1, -1, 2])
    with pytest.raises(
        TopologyError, match=r"expected a single outlet but found 2: reach id\(s\) \[1, 2\]"
    ):
        network_from_table(t, expect_single_outlet=True)


def test_disconnected_pieces_warn_with_sizes():
    t = _table([1, 2, 3, 4, 5], [2, -1, 4, 5, -1])
    with pytest.warns(BasingovWarning, match=r"2 disconnected pieces with 3, 2 reaches"):
        network_from_table(t)


def test_missing_crs():
    t = _table([1], [-1], crs=None)
    with pytest.raises(CRSError, match=r"has no CRS; set it with gdf.set_crs"):
        network_from_table(t)


def test_geographic_crs_suggests_utm():
    t = _table([1], [-1], crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"geographic CRS .*to_crs\(gdf.estimate_utm_crs\(\)\)"):
        network_from_table(t)


def test_missing_columns_and_bad_types(y_confluence):
    with pytest.raises(InputError, match=r"lacks column\(s\) \['NEXT'\]"):
        network_from_table(y_confluence, downstream_column="NEXT")
    with pytest.raises(InputError, match=r"must hold integer ids, got dtype (object|str)"):
        network_from_table(y_confluence.assign(reach_id=["a", "b", "c"]))
    with pytest.raises(
        InputError, match=r"column 'downstream_id' has missing values at row\(s\) \[1\]"
    ):
        network_from_table(y_confluence.assign(downstream_id=[3.0, np.nan, -1.0]))
    with pytest.raises(InputError, match=r"reaches must be a GeoDataFrame, got DataFrame"):
        network_from_table(pd.DataFrame(y_confluence.drop(columns="geometry")))


def test_ids_beyond_64_bits_are_refused(y_confluence):
    # uint64 2**64 - 1 wrapped round to -1 (the outlet value) and a float 1e30 to -2**63
    t = y_confluence.assign(
        reach_id=np.array([1, 2, 2**64 - 1], dtype=np.uint64),
        downstream_id=np.array([2**64 - 1, 2**64 - 1, 2**64 - 2], dtype=np.uint64),
    )
    with pytest.raises(InputError, match=r"column 'reach_id' holds ids outside the 64-bit"):
        network_from_table(t)
    with pytest.raises(InputError, match=r"column 'downstream_id' holds ids outside the 64-bit"):
        network_from_table(y_confluence.assign(downstream_id=[3.0, 1e30, -1.0]))
    big = y_confluence.assign(reach_id=[1, 2, 2**63 - 1], downstream_id=[2**63 - 1] * 2 + [-1])
    assert network_from_table(big).ids.tolist() == [1, 2, 2**63 - 1]
    u = np.array([1, 2, 3], dtype=np.uint64)
    small = y_confluence.assign(reach_id=u, downstream_id=np.array([3, 3, 0], dtype=np.uint64))
    assert network_from_table(small, outlet_value=0).outlets.tolist() == [2]


def test_quantity_columns_as_text(y_confluence):
    # a value that is no number raised a raw ValueError; numbers as text and blanks are taken
    t = y_confluence.assign(local_area_km2=["10", None, "5"], length_km=[2.0, "2,5", None])
    with pytest.raises(
        InputError, match=r"column 'length_km' must hold numbers, got \[2,5\] at row\(s\) \[1\]"
    ):
        network_from_table(t)
    net = network_from_table(t.assign(length_km=["2", 1.0, None]))
    assert net.reaches["length_km"].tolist() == [2.0, 1.0, 1.0]
    assert net.reaches["local_area_km2"].tolist()[0] == 10.0
    assert np.isnan(net.reaches["upstream_area_km2"].iloc[2])
    with pytest.raises(InputError, match=r"column 'discharge_m3s' must hold numbers, got \[n/a\]"):
        network_from_table(y_confluence.assign(discharge_m3s=[1.0, "n/a", 3.0]))


def test_ids_from_other_columns_beside_reach_id(y_confluence):
    # a reach_id column besides id_column raised 'cannot insert reach_id, already exists'
    t = y_confluence.assign(HYRIV_ID=[11, 12, 13], NEXT_DOWN=[13, 13, 0])
    with pytest.raises(InputError, match=r"column\(s\) \['reach_id', 'downstream_id'\] besides"):
        network_from_table(t, id_column="HYRIV_ID", downstream_column="NEXT_DOWN", outlet_value=0)
    net = network_from_table(
        t.drop(columns=["reach_id", "downstream_id"]),
        id_column="HYRIV_ID",
        downstream_column="NEXT_DOWN",
        outlet_value=0,
    )
    assert net.reaches["downstream_id"].tolist() == [13, 13, -1]


def test_negative_lengths_and_areas_are_refused(y_confluence):
    # a nodata -9999 area gave every reach below it a negative upstream area and discharge
    t = y_confluence.assign(local_area_km2=[10.0, -9999.0, 5.0])
    with pytest.raises(
        InputError,
        match=r"'local_area_km2' has negative values \[-9999.0\] at row\(s\) \[1\] "
        r"\(reach id\(s\) \[2\]\)",
    ):
        network_from_table(t)
    for c in ("length_km", "upstream_area_km2"):
        with pytest.raises(InputError, match=rf"{c!r} has negative values \[-1.0\]"):
            network_from_table(y_confluence.assign(**{c: [1.0, -1.0, np.nan]}))
    net = network_from_table(y_confluence.assign(local_area_km2=[10.0, np.nan, 5.0]))
    assert np.isnan(net.reaches["upstream_area_km2"].iloc[2])


def test_is_lake_as_text_is_refused(y_confluence):
    # text flags were cast by truthiness: 'no' and 'False' made lakes (velocity 0.01 m/s)
    for text in (["no", "no", "yes"], ["False", "False", "True"]):
        with pytest.raises(InputError, match=r"column 'is_lake' must hold True/False \(or 1/0\)"):
            network_from_table(y_confluence.assign(is_lake=text))
    for flags in ([None, 1, 0], [np.nan, 1.0, 0.0], pd.array([pd.NA, True, False], "boolean")):
        net = network_from_table(y_confluence.assign(is_lake=flags))
        assert net.reaches["is_lake"].tolist() == [False, True, False]


def test_position_unknown_ids(y_confluence):
    net = network_from_table(y_confluence)
    with pytest.raises(InputError, match=r"reach id\(s\) \[7, 8\] are not in the network"):
        net.position([1, 7, 8])


def test_position_refuses_ids_that_are_not_integers(y_confluence):
    net = network_from_table(y_confluence)
    # 2.7 was truncated to reach 2; text and None raised raw ValueError/TypeError
    for bad, shown in [([2.7], r"\[2.7\]"), (["x", 1], r"\[x\]"), (None, r"\[None\]"),
                       ([1.0, np.nan], r"\[nan\]")]:  # fmt: skip
        with pytest.raises(InputError, match=rf"reach id\(s\) {shown} are not integer ids"):
            net.position(bad)
    assert net.position([3.0, "2", 1]).tolist() == [2, 1, 0]
    assert net.position(np.array([[1, 3]])).tolist() == [[0, 2]]


def test_bools_are_not_reach_ids(y_confluence):
    # True was read as reach id 1 (and False as 0), also inside a list of ids
    net = network_from_table(y_confluence)
    for bad in [True, np.True_, [True, 3], (3, True), [True, 3.0], np.array([True]), [[1, True]]]:
        with pytest.raises(InputError, match=r"reach id\(s\) \[True\] are not integer ids"):
            net.position(bad)
    with pytest.raises(InputError, match=r"downstream_ids \[False\] are not integer ids"):
        ids_to_positions([1, 2], [2, False])
    with pytest.raises(InputError, match=r"reach id\(s\) \[True\] are not integer ids"):
        navigate(net, True, mode="DM")
    assert net.position([1, 3]).tolist() == [0, 2]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        # with idx_ds [10**9, -1], strahler_order crashed the process (segmentation
        # fault): the compiled kernels index with idx_ds and order without bounds checks
        (
            {"idx_ds": np.array([10**9, 2, -1])},
            r"idx_ds must be 1-D positions 0\.\.2 or -1 \(outlet\); got \[1000000000\] at reach "
            r"position\(s\) \[0\]",
        ),
        ({"idx_ds": np.array([2.0, 2.0, -1.0])}, r"idx_ds must hold whole-number positions"),
        ({"order": np.array([0, 1, 7])}, r"order must be 1-D positions 0\.\.2; got \[7\] at place"),
        ({"order": np.array([0, 1])}, r"order must list each reach position 0\.\.2 once, got 2 "),
        ({"order": np.array([0, 0, 2])}, r"got 3 positions with 2 distinct"),
        ({"idx_ds": np.array([1, -1])}, r"order must be 1-D positions 0\.\.1; got \[2\]"),
    ],
    ids=[
        "idx_ds-past-end",
        "idx_ds-float",
        "order-past-end",
        "order-short",
        "order-repeat",
        "idx_ds-shorter-than-order",
    ],
)
def test_a_hand_built_network_must_hold_positions(y_confluence, change, match):
    net = network_from_table(y_confluence)
    with pytest.raises(InputError, match=match):
        dataclasses.replace(net, **change)


def test_a_hand_built_network_needs_one_row_per_reach(y_confluence):
    net = network_from_table(y_confluence)
    with pytest.raises(InputError, match=r"reaches must have one row per entry of idx_ds \(2\)"):
        dataclasses.replace(net, idx_ds=np.array([1, -1]), order=np.array([0, 1]))
    # int32 arrays are taken as int64 positions, the numbers unchanged
    same = dataclasses.replace(net, idx_ds=net.idx_ds.astype(np.int32))
    assert same.idx_ds.dtype == np.int64
    assert strahler_order(same).tolist() == strahler_order(net).tolist()


def test_uint64_ids_beyond_int64_are_refused_not_wrapped():
    # 2**64 - 2 wrapped round to -2 and found reach -2 (navigate walked from it);
    # in ids_to_positions 2**64 - 1 became -1, the outlet value
    from basingov.examples import example_network

    net = example_network([-3, -1], reach_id=[-2, -3])
    big = np.array([2**64 - 2], np.uint64)
    with pytest.raises(InputError, match=r"reach id\(s\) \[18446744073709551614\] are not integer"):
        net.position(big)
    with pytest.raises(InputError, match=r"reach id\(s\) \[18446744073709551614\] are not integer"):
        navigate(net, big[0], mode="DM")
    with pytest.raises(InputError, match=r"reach_ids \[18446744073709551615\] are not integer ids"):
        ids_to_positions(np.array([2**64 - 1, 5], np.uint64), [5, -1])
    # uint64 ids within int64 are taken
    assert example_network([6, -1], reach_id=[5, 6]).position(
        np.array([6, 5], np.uint64)
    ).tolist() == [1, 0]


# --- bifurcations ----------------------------------------------------------------------
def test_bifurcation_main_branch_and_accumulation(bifurcating):
    t, bif = bifurcating
    net = network_from_table(t, bifurcations=bif)
    assert net.idx_ds[1] == 2  # main branch = largest fraction (0.7 -> reach 3)
    assert net.reaches["downstream_id"].iloc[1] == 3
    up = net.reaches["upstream_area_km2"].to_numpy()
    assert up.tolist() == pytest.approx([1.0, 2.0, 1.0 + 1.4, 1.0 + 0.6, 5.0])
    assert net.outlets.tolist() == [4]


def test_bifurcation_fraction_errors(bifurcating):
    t, _ = bifurcating
    bad = pd.DataFrame({"reach_id": [2, 2], "downstream_id": [3, 4], "fraction": [0.5, 0.4]})
    with pytest.raises(
        TopologyError, match=r"must sum to 1 per reach; they do not for reach\(es\) 2: 0.9"
    ):
        network_from_table(t, bifurcations=bad)
    with pytest.raises(TopologyError, match=r"lacks column\(s\) \['fraction'\]"):
        network_from_table(t, bifurcations=bad.drop(columns="fraction"))
    unknown = pd.DataFrame({"reach_id": [2, 2], "downstream_id": [3, 77], "fraction": [0.5, 0.5]})
    with pytest.raises(
        TopologyError, match=r"bifurcation downstream_id\(s\) \[77\] are not reach ids"
    ):
        network_from_table(t, bifurcations=unknown)
    neg = pd.DataFrame({"reach_id": [2, 2], "downstream_id": [3, 4], "fraction": [1.5, -0.5]})
    with pytest.raises(TopologyError, match=r"must lie in \(0, 1\]; reach\(es\) \[2\]"):
        network_from_table(t, bifurcations=neg)


def test_bifurcation_ids_and_fractions_that_are_no_numbers(bifurcating):
    t, bif = bifurcating
    # downstream_id 3.5 was truncated to reach 3, NaN became -2**63 in the messages, and a
    # fraction as text raised a raw ValueError
    for col, vals, shown in [
        ("downstream_id", [4.0, 3.5], r"'downstream_id' must hold integer ids, got \[3.5\]"),
        ("reach_id", [2.0, np.nan], r"'reach_id' must hold integer ids, got \[nan\]"),
        ("fraction", ["0.3", "most"], r"'fraction' must hold numbers, got \[most\]"),
    ]:
        with pytest.raises(TopologyError, match=rf"bifurcation column {shown} at row\(s\) \[1\]"):
            network_from_table(t, bifurcations=bif.assign(**{col: vals}))
    text = bif.assign(reach_id=["2", "2"], downstream_id=[4.0, 3.0], fraction=["0.3", "0.7"])
    net = network_from_table(t, bifurcations=text)
    assert net.bifurcations is not None
    assert net.bifurcations.to_numpy().tolist() == [[2, 4, 0.3], [2, 3, 0.7]]


def test_bifurcation_exit_branch(chain):
    bif = pd.DataFrame(
        {"reach_id": [11, 11], "downstream_id": [12, OUTLET_ID], "fraction": [0.25, 0.75]}
    )
    net = network_from_table(chain, bifurcations=bif)
    assert net.idx_ds[1] == -1  # main branch (0.75) leaves the network
    up = net.reaches["upstream_area_km2"].to_numpy()
    assert up.tolist() == pytest.approx([1.0, 2.0, 1.5, 2.5])
    # 11 still sends a quarter to 12, so the only reach with no in-network link is 13
    assert net.outlets.tolist() == [3]


def test_cycle_with_fractions():
    # 1 -> 2 -> 3 -> outlet 4, and 3 sends 20% back to 2 (a plain-network loop)
    t = _table([1, 2, 3, 4], [2, 3, 4, -1], area=[1.0, 1.0, 1.0, 1.0])
    bif = pd.DataFrame({"reach_id": [3, 3], "downstream_id": [4, 2], "fraction": [0.8, 0.2]})
    with pytest.raises(
        TopologyError, match=r"1 cycle\(s\) through reach ids \[2, 3\]; pass allow_cycles=True"
    ):
        network_from_table(t, bifurcations=bif)
    net = network_from_table(t, bifurcations=bif, allow_cycles=True)
    assert net.has_cycles
    rank = np.argsort(net.order)
    assert rank[0] < rank[1]
    assert rank[2] < rank[3]
    up = net.reaches["upstream_area_km2"].to_numpy()
    # x2 = 1 + x1 + 0.2 x3, x3 = 1 + x2, x1 = 1  ->  x3 = (3)/(0.8) = 3.75, x4 = 1 + 0.8 x3
    assert up.tolist() == pytest.approx([1.0, 2.75, 3.75, 4.0])
    # conservation: everything generated leaves through the outlet
    assert up[3] == pytest.approx(4.0)


def test_closed_cycle_is_singular():
    t = _table([1, 2, 3], [2, 1, -1], area=[1.0, 1.0, 1.0])
    bif = pd.DataFrame({"reach_id": [1, 2], "downstream_id": [2, 1], "fraction": [1.0, 1.0]})
    # reaches 1-2 form a closed loop, reach 3 is a separate piece (warned about)
    with (
        pytest.warns(BasingovWarning, match="2 disconnected pieces"),
        pytest.raises(SingularSystemError, match=r"no outflow"),
    ):
        network_from_table(t, bifurcations=bif, allow_cycles=True)


# --- derived quantities ----------------------------------------------------------------
def test_accumulate_invariant_on_random_tree():
    net = network_from_table(random_tree(2000, seed=5))
    w = np.ones(net.n)
    acc = accumulate(net, w)
    assert acc[net.outlets].sum() == pytest.approx(net.n)
    # every reach holds itself plus its direct upstream accumulations
    direct = np.bincount(net.idx_ds[net.idx_ds >= 0], weights=acc[net.idx_ds >= 0], minlength=net.n)
    assert np.allclose(acc, 1 + direct)
    with pytest.raises(InputError, match=r"one value per reach \(2000\), got shape \(3,\)"):
        accumulate(net, [1, 2, 3])


def test_pointer_sums_check_their_pointers():
    net = network_from_table(random_tree(500, seed=3))
    w = np.arange(net.n, dtype=float)
    assert np.allclose(upstream_sum(net.idx_ds, w), accumulate(net, w))
    length = net.reaches["length_km"].to_numpy()
    assert np.allclose(downstream_sum(net.idx_ds, length), distance_to_outlet(net))
    # a short weights array or a pointer past the end raised a raw IndexError
    for f in (downstream_sum, upstream_sum):
        with pytest.raises(InputError, match=r"got shapes \(3,\) and \(2,\)"):
            f([1, 2, -1], [1.0, 1.0])
        with pytest.raises(
            InputError,
            match=r"idx_ds must be 1-D positions 0\.\.1 or -1 \(outlet\); got \[5\] at reach "
            r"position\(s\) \[0\]",
        ):
            f([5, -1], [1.0, 1.0])
        # a float pointer was truncated (1.5 read as reach 1), NaN and text raised a raw
        # ValueError: they are refused as by the compiled kernels (check_positions), a
        # float dtype whatever its values
        for bad, dtype in (
            ([1.5, -1], "float64"),
            ([1.0, -1], "float64"),
            ([np.nan, -1], "float64"),
            (np.array([np.nan, -1]), "float64"),
            (["1", "-1"], "<U2"),
            ([1, None], "object"),
        ):
            with pytest.raises(
                InputError, match=rf"idx_ds must hold whole-number positions, got dtype {dtype}"
            ):
                f(bad, [1.0, 1.0])
        # a cycle gave finite, meaningless sums
        with pytest.raises(TopologyError, match=r"cycle: reach position\(s\) \[0, 1, 2\] never"):
            f([1, 0, 0, -1], [1.0, 1.0, 1.0, 1.0])


def test_weights_as_text_are_refused():
    from basingov.examples import example_network

    # text raised a raw ValueError ("could not convert string to float"); numbers as
    # text were taken: weights are refused as text, like the pointers beside them
    net = example_network([3, 3, -1])
    calls = [
        lambda w: accumulate(net, w),
        lambda w: upstream_sum([2, 2, -1], w),
        lambda w: downstream_sum([2, 2, -1], w),
    ]
    for call in calls:
        for bad, shown, at in [
            ([1, "x", 2.5], r"\['x'\]", r"\[1\]"),
            (np.array([1.0, 2.0, "n/a"], dtype=object), r"\['n/a'\]", r"\[2\]"),
            (np.array(["1", "2", "3"]), r"\['1', '2', '3'\]", r"\[0, 1, 2\]"),
        ]:
            with pytest.raises(
                InputError,
                match=rf"weights must be numbers, got text {shown} at reach position\(s\) {at}",
            ):
                call(bad)
        # numbers (also in an object array), bools and None (NaN) are taken as before
        assert call(np.array([1, 2, 3], dtype=object)).tolist() == call([1.0, 2.0, 3.0]).tolist()
        assert call([True, False, True]).tolist() == call([1.0, 0.0, 1.0]).tolist()


def _i(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # each position out of range was written out of bounds by the compiled kernel (the
        # process crashed with a segmentation fault); -2 was taken as an outlet, indptr
        # past the end read memory beyond indices, a float was a raw numba TypingError
        (
            lambda: csr_reverse(_i(0, 1), _i(0, 10**6), 2),
            r"dst must be 1-D positions 0\.\.1; got \[1000000\] at edge\(s\) \[1\]",
        ),
        (lambda: csr_reverse(_i(0), _i(0), 0), r"dst must be empty \(there are no nodes\)"),
        (lambda: csr_reverse(_i(0, 1), np.array([0, 1.5]), 2), r"dst must hold whole-number"),
        (lambda: csr_reverse(_i(0), _i(0, 1), 2), r"got lengths 1 and 2"),
        (lambda: csr_reverse(_i(0), _i(0), -1), r"n must be a whole number >= 0 .*got -1"),
        (lambda: csr_reverse(_i(0), _i(0), True), r"n must be a whole number >= 0 .*got True"),
        (
            lambda: kahn_order_tree(_i(10**7, -1)),
            r"idx_ds must be 1-D positions 0\.\.1 or -1 \(outlet\); got \[10000000\] at "
            r"node\(s\) \[0\]",
        ),
        (lambda: kahn_order_tree(_i(-1, -2)), r"got \[-2\] at node\(s\) \[1\]"),
        (lambda: kahn_order_tree(np.zeros((2, 2), int)), r"idx_ds must be 1-D, got shape"),
        (lambda: kahn_order_tree(np.array([2**64 - 1, 0], np.uint64)), r"beyond the int64"),
        (
            lambda: kahn_order_csr(_i(0, 1, 2), _i(1, 10**7), 2),
            r"indices must be 1-D positions 0\.\.1; got \[10000000\] at position\(s\) \[1\]",
        ),
        (
            lambda: kahn_order_csr(_i(0, 10**7, 2), _i(1, 0), 2),
            r"indptr must rise from 0 to len\(indices\) = 2 without falling; .* falls after "
            r"position\(s\) \[1\]",
        ),
        (lambda: kahn_order_csr(_i(0, 1, 1), _i(1, 0), 2), r"runs from 0 to 1"),
        (lambda: kahn_order_csr(_i(0, 2), _i(1, 0), 2), r"indptr must hold n \+ 1 = 3 bounds"),
    ],
    ids=[
        "csr_reverse-dst-past-end",
        "csr_reverse-no-nodes",
        "csr_reverse-float",
        "csr_reverse-lengths",
        "csr_reverse-negative-n",
        "csr_reverse-bool-n",
        "kahn_order_tree-past-end",
        "kahn_order_tree-minus-2",
        "kahn_order_tree-2d",
        "kahn_order_tree-uint64",
        "kahn_order_csr-indices-past-end",
        "kahn_order_csr-indptr-past-end",
        "kahn_order_csr-indptr-short-of-indices",
        "kahn_order_csr-indptr-length",
    ],
)
def test_public_kernels_check_their_arrays(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_public_kernels_order_and_group_as_before_also_in_compiled_code():
    from basingov._jit import njit
    from basingov.network import _kernels as K

    net = network_from_table(random_tree(500, seed=3))
    ds = net.idx_ds
    src = np.flatnonzero(ds >= 0)
    ptr, kids = csr_reverse(src, ds[src], net.n)
    for a, b in zip((ptr, kids), K.csr_reverse(src, ds[src], net.n), strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(kahn_order_tree(ds), K.kahn_order_tree(ds))
    down_ptr, down = csr_reverse(ds[src], src, net.n)  # rows: upstream reach
    assert np.array_equal(kahn_order_csr(down_ptr, down, net.n), K.kahn_order_tree(ds))
    # lists and int32 arrays are taken as int64 positions
    assert kahn_order_tree([2, 2, -1]).tolist() == [0, 1, 2]
    assert csr_reverse(np.array([0, 1], np.int32), [1, 1], 2)[0].tolist() == [0, 0, 2]

    # the priority stage calls csr_reverse inside a compiled walk: the names still compile
    @njit
    def compiled(ds, src):
        n = ds.shape[0]
        p, k = csr_reverse(ds[src], src, n)
        return kahn_order_csr(p, k, n), kahn_order_tree(ds)

    by_csr, by_tree = compiled(ds, src)
    assert np.array_equal(by_csr, by_tree)
    assert np.array_equal(by_tree, K.kahn_order_tree(ds))


@pytest.mark.parametrize(
    ("reach_ids", "downstream_ids", "match"),
    [
        # the compiled lookup read downstream_ids past its end (positions made of the
        # memory beyond it), truncated float ids (1.5 read as reach 1), mapped NaN to
        # -2**63 (an unknown id) and gave a raw numba TypingError for 2-D ids
        ([1, 2, 3], [2, -1], r"reach_ids and downstream_ids must be 1-D with one value per "),
        ([1, 2], [2, -1, 3], r"got shapes \(2,\) and \(3,\)"),
        ([[1, 2]], [[2, -1]], r"got shapes \(1, 2\) and \(1, 2\)"),
        ([1.5, 2], [2, -1], r"reach_ids \[1\.5\] are not integer ids; give each reach a whole"),
        ([1, 2], [2.5, -1], r"downstream_ids \[2\.5\] are not integer ids; .*outlet_value \(-1\)"),
        (np.array([1.0, 2.0]), np.array([np.nan, -1.0]), r"downstream_ids \[nan\] are not"),
        (["a", "2"], [2, -1], r"reach_ids \[a\] are not integer ids"),
    ],
    ids=["ids-longer", "downstream-longer", "2d", "float-id", "float-downstream", "nan", "text"],
)
def test_ids_to_positions_checks_its_ids(reach_ids, downstream_ids, match):
    with pytest.raises(InputError, match=match):
        ids_to_positions(reach_ids, downstream_ids)


def test_ids_to_positions_takes_whole_ids_in_any_form():
    want = [1, -1, -2]  # -2: an id that is no reach
    for rid, dsid in (
        (np.array([5, 7, 9]), np.array([7, -1, 4])),
        ([5, 7, 9], [7, -1, 4]),  # lists were a raw AttributeError
        (np.array([5.0, 7.0, 9.0]), np.array([7.0, -1.0, 4.0])),
        (["5", "7", "9"], ["7", "-1", "4"]),
        (np.array([5, 7, 9], np.uint32), np.array([7, -1, 4], np.int32)),
    ):
        idx, dup, sorter = ids_to_positions(rid, dsid)
        assert idx.tolist() == want
        assert dup.size == 0
        assert sorter.size == 0
    assert ids_to_positions([5, 5], [-1, -1])[1].tolist() == [1]


@pytest.mark.parametrize("outlet", [float("nan"), -1.5, "-1", None, True, 2**70, [-1]])
def test_outlet_value_must_be_one_whole_number(outlet, y_confluence):
    # ids_to_positions found no outlet (every outlet read as an unknown id, -2) for NaN,
    # -1.5, text, None or True; network_from_table reported dangling ids instead; a number
    # beyond 64 bits or a list was a raw numba TypingError
    match = rf"outlet_value must be one whole number, .* got {re.escape(repr(outlet))}$"
    with pytest.raises(InputError, match=match):
        ids_to_positions([1, 2], [2, -1], outlet_value=outlet)
    with pytest.raises(InputError, match=match):
        network_from_table(y_confluence, outlet_value=outlet)


def test_outlet_value_may_be_a_whole_float_or_numpy_integer(y_confluence):
    for outlet in (-1.0, np.int64(-1), np.float32(-1)):
        assert ids_to_positions([1, 2], [2, -1], outlet_value=outlet)[0].tolist() == [1, -1]
        assert network_from_table(y_confluence, outlet_value=outlet).outlets.tolist() == [2]
    assert ids_to_positions([1, 2], [2, 0], outlet_value=0)[0].tolist() == [1, -1]


def test_strahler_and_distance(y_confluence):
    t = _table([1, 2, 3, 4, 5], [3, 3, 5, 5, -1])
    net = network_from_table(t)
    assert strahler_order(net).tolist() == [1, 1, 2, 1, 2]
    assert net.reaches["strahler"].tolist() == [1, 1, 2, 1, 2]
    ynet = network_from_table(y_confluence)
    assert distance_to_outlet(ynet).tolist() == [1.0, 1.0, 0.0]
    assert ynet.reaches["distance_to_outlet_km"].tolist() == [1.0, 1.0, 0.0]


def test_hydraulic_formulas_and_errors():
    # Rhine check behind the documented default: 1,000-2,300 m3/s run 1-2 m/s
    v = velocity_from_discharge([1000.0, 2300.0])
    assert ((v > 1.0) & (v < 2.0)).all()
    assert discharge_from_area(31.5576, runoff_mm_year=1000.0) == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"runoff_mm_year must be >= 0, got -1"):
        discharge_from_area(1.0, runoff_mm_year=-1)
    with pytest.raises(InputError, match=r"velocity coefficient a must be > 0, got 0"):
        velocity_from_discharge(1.0, a=0)


def test_travel_time(chain):
    net = network_from_table(chain.assign(velocity_ms=[1.0, 0.5, 0.0, np.nan]))
    tt = travel_time_hours(net)
    assert tt[:2].tolist() == pytest.approx([1000 / 3600, 2000 / 3600])
    assert np.isnan(tt[2])  # zero velocity -> undefined
    assert np.isfinite(tt[3])  # NaN velocity is filled from the hydraulics model


# --- converters ------------------------------------------------------------------------
def _assert_same_network(a: RiverNetwork, b: RiverNetwork) -> None:
    assert np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.idx_ds, b.idx_ds)
    cols = [
        "reach_id",
        "downstream_id",
        "length_km",
        "upstream_area_km2",
        "discharge_m3s",
        "velocity_ms",
    ]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.reaches[cols]), pd.DataFrame(b.reaches[cols]), check_exact=False
    )
    assert a.reaches.geometry.geom_equals(b.reaches.geometry).all()
    assert a.crs == b.crs
    assert a.source == b.source
    assert a.derived == b.derived
    if a.bifurcations is None:
        assert b.bifurcations is None
    else:
        assert b.bifurcations is not None
        key = ["reach_id", "downstream_id"]
        pd.testing.assert_frame_equal(
            a.bifurcations.sort_values(key).reset_index(drop=True),
            b.bifurcations.sort_values(key).reset_index(drop=True),
        )


def test_gdf_round_trip(bifurcating):
    t, bif = bifurcating
    net = network_from_table(t, bifurcations=bif, source="hand-built", derived=True)
    _assert_same_network(net, network_from_gdf(network_to_gdf(net)))


def test_networkx_round_trip(bifurcating, y_confluence):
    t, bif = bifurcating
    for net in (
        network_from_table(t, bifurcations=bif, source="x"),
        network_from_table(y_confluence),
    ):
        g = to_networkx(net)
        assert isinstance(g, nx.DiGraph)
        assert g.graph["crs"] == net.crs.to_wkt()
        _assert_same_network(net, from_networkx(g))


def test_networkx_round_trip_with_exit_and_cycle():
    t = _table([1, 2, 3, 4], [2, 3, 4, -1], area=[1.0, 1.0, 1.0, 1.0])
    bif = pd.DataFrame(
        {
            "reach_id": [3, 3, 1, 1],
            "downstream_id": [4, 2, 2, OUTLET_ID],
            "fraction": [0.8, 0.2, 0.6, 0.4],
        }
    )
    net = network_from_table(t, bifurcations=bif, allow_cycles=True)
    _assert_same_network(net, from_networkx(to_networkx(net)))


def test_from_networkx_needs_crs():
    g = nx.DiGraph()
    g.add_node(1, geometry=_line(0, 0, 1, 1))
    with pytest.raises(CRSError, match=r"the graph has no CRS; set G.graph\['crs'\]"):
        from_networkx(g)


def test_from_networkx_needs_integer_nodes_with_geometry():
    # node 1.5 was truncated to reach 1; 'a' and a graph without geometries raised raw
    # ValueErrors
    for bad in ("a", 1.5):
        g = nx.DiGraph(crs=CRS)
        g.add_node(bad, geometry=_line(0, 0, 1, 1))
        with pytest.raises(InputError, match=r"the graph's nodes must be integer reach ids"):
            from_networkx(g)
    g = nx.DiGraph(crs=CRS)
    g.add_edge(1, 2)
    with pytest.raises(InputError, match=r"the graph's 2 node\(s\) have no 'geometry' attribute"):
        from_networkx(g)
    g = nx.DiGraph(crs=CRS)
    g.add_node("1", geometry=_line(0, 0, 1000, 0))
    g.add_node(2.0, geometry=_line(1000, 0, 2000, 0))
    g.add_edge("1", 2.0)
    net = from_networkx(g)
    assert net.reaches["reach_id"].tolist() == [1, 2]
    assert net.reaches["downstream_id"].tolist() == [2, -1]


def test_from_networkx_equal_split_default():
    g = nx.DiGraph(crs=CRS)
    for i in (1, 2, 3):
        g.add_node(i, geometry=_line(0, 0, 1000, 0), local_area_km2=1.0)
    g.add_edges_from([(1, 2), (1, 3)])
    net = from_networkx(g)
    assert net.bifurcations is not None
    assert net.bifurcations["fraction"].tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [("x", "'x'"), (float("nan"), "nan"), (True, "True"), ([0.5], r"\[0\.5\]"),
     (0.0, "0.0"), (1.5, "1.5")],
)  # fmt: skip
def test_from_networkx_refuses_edge_fractions_that_are_no_shares(fraction, shown):
    # "x" and [0.5] raised a raw ValueError/TypeError in float(); NaN was taken as no
    # fraction (equal shares), True as 1; 0 and 1.5 were named by reach only
    g = nx.DiGraph(crs=CRS)
    for i in (1, 2, 3):
        g.add_node(i, geometry=_line(0, 0, 1000, 0))
    g.add_edge(1, 2, fraction=fraction)
    g.add_edge(1, 3, fraction=0.5)
    with pytest.raises(
        InputError,
        match=rf"edges must be numbers in \(0, 1\]; got edge\(s\) \(1, 2\): {shown}; fix them, "
        r"or leave 'fraction' out",
    ):
        from_networkx(g)
    g.edges[1, 2]["fraction"] = "0.5"  # numbers as text are taken, as in a bifurcation table
    assert from_networkx(g).bifurcations["fraction"].tolist() == [0.5, 0.5]


@pytest.mark.parametrize("main", [2.5, float("nan"), None, "x"])
def test_from_networkx_refuses_a_main_downstream_that_is_no_reach_id(main):
    # int() truncated 2.5 to reach 2; NaN, None and "x" raised a raw ValueError/TypeError
    g = nx.DiGraph(crs=CRS, main_downstream={1: main})
    for i in (1, 2, 3):
        g.add_node(i, geometry=_line(0, 0, 1000, 0))
    g.add_edges_from([(1, 2), (1, 3)])
    with pytest.raises(
        InputError,
        match=rf"G.graph\['main_downstream'\] value\(s\) \[{re.escape(str(main))}\] are not "
        r"integer ids; give the reach id of each splitting reach's main branch",
    ):
        from_networkx(g)
    g.graph["main_downstream"] = {1: "3"}  # ids as text are taken, as for the nodes
    assert from_networkx(g).bifurcations is not None


@pytest.mark.parametrize("seed", [0, 1])
def test_label_down_matches_a_loop_down_the_network(seed):
    """Each reach takes its own label, else that of the first labelled reach below it."""
    from basingov.network._kernels import label_down

    net = network_from_table(random_tree(3000, seed))
    rng = np.random.default_rng(seed)
    at = np.where(rng.random(net.n) < 0.02, rng.integers(0, 50, net.n), -1)
    at[net.outlets] = -1  # nothing labelled below the outlets
    idx_ds, order = np.asarray(net.idx_ds), np.asarray(net.order, dtype=np.int64)
    want = np.full(net.n, -1)
    for i in range(net.n):  # walk down from every reach
        j = i
        while j >= 0 and at[j] < 0:
            j = idx_ds[j]
        want[i] = at[j] if j >= 0 else -1
    got = label_down(idx_ds, order, at)
    assert got.tolist() == want.tolist()
    assert (got < 0).any()
    assert (got[at < 0] >= 0).any()  # labels passed up from below


@pytest.mark.parametrize(
    ("exits", "got"),
    [
        ({1: "half"}, r"share\(s\) \{1: 'half'\} that are no number in \(0, 1\]"),
        ({1: 1.5}, r"share\(s\) \{1: 1\.5\} that are no number in \(0, 1\]"),
        ({1: float("nan")}, r"share\(s\) \{1: nan\} that are no number in \(0, 1\]"),
        ({1: True}, r"share\(s\) \{1: True\} that are no number in \(0, 1\]"),
        ({9: 0.2}, r"key\(s\) \[9\] that are no node of the graph"),
        (
            {9: 0.2, 1: -0.2},
            r"key\(s\) \[9\] that are no node of the graph and share\(s\) \{1: -0\.2\} that",
        ),
    ],
)
def test_from_networkx_names_g_graph_exits_in_its_errors(exits, got):
    # a bad share of G.graph["exits"] was refused as a row of the bifurcation table, named
    # by reach only ("bifurcation column 'fraction' must hold numbers, got [half] at row(s)
    # [2]", "fractions must lie in (0, 1]; reach(es) [1]"); NaN and True went into the
    # sums ("must sum to 1 per reach"); a key that is no node was ignored
    g = nx.DiGraph(crs=CRS, exits=exits)
    for i in (1, 2, 3):
        g.add_node(i, geometry=_line(0, 0, 1000, 0))
    g.add_edge(1, 2, fraction=0.5)
    g.add_edge(1, 3, fraction=0.3)
    with pytest.raises(
        InputError,
        match=r"^G.graph\['exits'\] maps a splitting reach \(a node\) to the share of its water "
        rf"that leaves the network, a number in \(0, 1\]; got {got}.*Fix them, or leave out a "
        r"reach none of whose water leaves the network$",
    ):
        from_networkx(g)
    # a list raised a raw TypeError
    g.graph["exits"] = [1]
    with pytest.raises(InputError, match=r"^G.graph\['exits'\] must be a dict \{reach_id: share"):
        from_networkx(g)
    # a good share (also as text, as an edge's fraction) leaves the network
    for share in (0.2, "0.2"):
        g.graph["exits"] = {1: share}
        bif = from_networkx(g).bifurcations
        assert bif is not None
        assert bif["fraction"].tolist() == pytest.approx([0.5, 0.3, 0.2])


@pytest.mark.parametrize(
    ("exits", "fractions", "shown", "fix", "fixed"),
    [
        (
            {1: 0.5},
            (0.5, 0.3),
            "= 0.5 and edge fractions {(1, 2): 0.5, (1, 3): 0.3} summing to 0.8 give 1.3",
            "set its edges' 'fraction' to sum to 0.5 (1 - the exit share) or set "
            "G.graph['exits'][1] = 0.2 (1 - the edge fractions)",
            {1: 0.2},
        ),
        (
            {1: 0.2},
            (None, None),  # absent: equal shares of the two edges and the exit
            "= 0.2 and edge fractions {(1, 2): absent, an equal share 0.333333, (1, 3): "
            "absent, an equal share 0.333333} summing to 0.666667 give 0.866667",
            "set its edges' 'fraction' to sum to 0.8 (1 - the exit share) or set "
            "G.graph['exits'][1] = 0.333333 (1 - the edge fractions)",
            {1: 0.333333},
        ),
        (
            {1: 0.1},
            (0.6, 0.6),
            "= 0.1 and edge fractions {(1, 2): 0.6, (1, 3): 0.6} summing to 1.2 give 1.3",
            "set its edges' 'fraction' to sum to 0.9 (1 - the exit share)",
            None,
        ),
        (
            {1: 1.0},
            (0.5, 0.5),
            "= 1 and edge fractions {(1, 2): 0.5, (1, 3): 0.5} summing to 1 give 2",
            "drop reach 1 from G.graph['exits'] if none of its water leaves the network, or "
            "its edges if all of it does",
            {},
        ),
    ],
)
def test_from_networkx_exit_shares_that_do_not_sum_to_1_are_named(
    exits, fractions, shown, fix, fixed
):
    # each share valid, but not summing to 1 with the reach's edge fractions: the network's
    # generic "bifurcation fractions must sum to 1 per reach; they do not for reach(es)
    # 1: 1.3" named neither G.graph['exits'] nor the shares nor the fix
    g = nx.DiGraph(crs=CRS, exits=exits)
    for i in (1, 2, 3):
        g.add_node(i, geometry=_line(0, 0, 1000, 0))
    for s, f in zip((2, 3), fractions, strict=True):
        g.add_edge(1, s, **({} if f is None else {"fraction": f}))
    with pytest.raises(
        TopologyError,
        match=r"^a splitting reach's water leaves through its edges \('fraction'\) and "
        r"G.graph\['exits'\] together, so its edge fractions and exit share must sum to 1; "
        rf"they do not for reach 1: G.graph\['exits'\]\[1\] {re.escape(shown)}; "
        rf"{re.escape(fix)}$",
    ):
        from_networkx(g)
    if fixed is not None:  # the exit share the message gives (or none) makes a network
        g.graph["exits"] = fixed
        assert from_networkx(g).n == 3
