"""Overlay on tiny hand-built basins (EPSG:3035, metres) and its error paths."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, box

from basingov.dependency import analyse
from basingov.errors import CRSError, EmptyResultError, InputError
from basingov.network import network_from_table
from basingov.overlay import (
    OUTSIDE,
    boundary_reaches,
    boundary_stretches,
    combine_reach_overlays,
    crossings,
    fill_outside_gaps,
    main_stem,
    mark_boundary_pieces,
    overlay_network,
    reach_jurisdictions,
    reach_overlay,
    split_reaches,
    unit_shares,
)
from basingov.overlay.cutter import classify_segment_pairs, cut_at_borders
from tests.shapes import CRS, jur_layer, reach_table

# --- split ---------------------------------------------------------------------------


def test_y_confluence_pieces_and_crossings(y_net, two_states):
    pieces = split_reaches(y_net.reaches, two_states)
    # pieces add up to their reaches (invariant)
    total = pieces.groupby("reach_id")["length_km"].sum()
    np.testing.assert_allclose(
        total.to_numpy(), y_net.reaches.set_index("reach_id")["length_km"][total.index], rtol=1e-9
    )
    assert pieces.groupby("reach_id")["jur_state"].apply(list).to_dict() == {
        1: ["A"],
        2: ["B", "A"],
        3: ["A", "B"],
    }
    assert set(pieces["jur_country"]) == {"X"}
    c = crossings(y_net, pieces, level="state")
    assert sorted(zip(c["from_jur"], c["to_jur"], c["reach_id"], strict=True)) == [
        ("A", "B", 3),
        ("B", "A", 2),
    ]
    assert (c["kind"] == "within").all()
    # a single country: no crossing at country level
    assert crossings(y_net, pieces, level="country").empty


def test_crossing_upstream_area_interpolated(y_net, two_states):
    """Reach 3 runs from x=800 to x=1800 straight: the border x=1000 is at f=0.2.

    Hand value: A = 36 - 6 * (1 - 0.2) = 31.2 km2 (upstream area 36 = 10 + 20 + 6).
    """
    pieces = split_reaches(y_net.reaches, two_states)
    c = crossings(y_net, pieces, level="state").set_index("reach_id")
    assert c.loc[3, "fraction"] == pytest.approx(0.2)
    assert c.loc[3, "upstream_area_km2"] == pytest.approx(31.2)
    q3 = y_net.reaches.set_index("reach_id").loc[3, "discharge_m3s"]
    assert c.loc[3, "discharge_m3s"] == pytest.approx(q3 * 31.2 / 36.0)
    assert c.loc[3, "geometry"].equals_exact(shapely.Point(1000, 840), 1e-6)
    # distance to outlet: reach 3 is the outlet, 80% of its length lies below the border
    assert c.loc[3, "distance_to_outlet_km"] == pytest.approx(0.8 * np.hypot(1000, 800) / 1000)
    assert -180 <= c.loc[3, "lon"] <= 180
    assert -90 <= c.loc[3, "lat"] <= 90
    # main stem: 2 (20 km2) -> 3; the crossing on reach 1's side is not on it
    assert main_stem(y_net).tolist() == [1, 2]
    assert c["on_main_stem"].all()


def test_chain_crossings_and_junction(chain_abc):
    net, jur = chain_abc
    pieces = split_reaches(net.reaches, jur)
    c = crossings(net, pieces, level="county")
    assert list(zip(c["from_jur"], c["to_jur"], c["kind"], strict=True)) == [
        ("A", "B", "within"),
        ("B", "C", "junction"),
    ]
    # the junction crossing is recorded on the upstream reach, at its end
    j = c[c["kind"] == "junction"].iloc[0]
    assert (j["reach_id"], j["to_reach_id"], j["fraction"]) == (2, 3, 1.0)
    assert j["upstream_area_km2"] == pytest.approx(10.0)
    # sorted from the farthest upstream
    assert c["distance_to_outlet_km"].is_monotonic_decreasing


def test_meander_crossing_three_times_is_merged():
    """A reach in A loops 150 m into B and back, then crosses into B for good.

    Raw: A -> B -> A -> B (3 crossings). With the default 250 m tolerance the 150 m B loop
    goes back to A, leaving one crossing.
    """
    jur = jur_layer(
        [
            ("A", "A", 0, "state", "", box(0, 0, 1000, 2000)),
            ("B", "B", 0, "state", "", box(1000, 0, 2000, 2000)),
        ]
    )
    line = [(500, 1900), (950, 1900), (1050, 1875), (950, 1850), (500, 1500), (1500, 500)]
    t = reach_table({1: (-1, line)}, local_area_km2=[1.0])
    net = network_from_table(t)
    raw = split_reaches(net.reaches, jur, meander_tolerance_m=0)
    assert raw["jur_state"].tolist() == ["A", "B", "A", "B"]
    assert len(crossings(net, raw, level="state")) == 3
    b_loop = raw["length_km"].iloc[1] * 1000
    assert b_loop < 250
    merged = split_reaches(net.reaches, jur)
    assert merged["jur_state"].tolist() == ["A", "B"]
    assert merged["piece"].tolist() == [0, 1]
    c = crossings(net, merged, level="state")
    assert len(c) == 1
    assert c.iloc[0]["fraction"] == pytest.approx(raw["fraction_end"].iloc[2])
    assert merged["length_km"].sum() == pytest.approx(raw["length_km"].sum())
    # a tolerance below the loop length keeps it
    kept = split_reaches(net.reaches, jur, meander_tolerance_m=b_loop * 0.9)
    assert kept["jur_state"].tolist() == ["A", "B", "A", "B"]


def test_tri_point():
    """A reach passes through the tri-point (1000, 1000) of A (west), B (NE) and C (SE)."""
    jur = jur_layer(
        [
            ("A", "A", 0, "state", "", box(0, 0, 1000, 2000)),
            ("B", "B", 0, "state", "", box(1000, 1000, 2000, 2000)),
            ("C", "C", 0, "state", "", box(1000, 0, 2000, 1000)),
        ]
    )
    t = reach_table({1: (-1, [(500, 1500), (1500, 500)])}, local_area_km2=[1.0])
    net = network_from_table(t)
    pieces = split_reaches(net.reaches, jur)
    # B is touched in a single point only: no piece, no crossing
    assert pieces["jur_state"].tolist() == ["A", "C"]
    c = crossings(net, pieces, level="state")
    assert list(zip(c["from_jur"], c["to_jur"], strict=True)) == [("A", "C")]
    assert c.iloc[0]["geometry"].distance(shapely.Point(1000, 1000)) < 1e-6


def _pandas_best_pair(owner, lj, rj, *, ordered):
    # the groupby of the bank pairs that boundary._best_pair replaced (ids as text)
    on = (lj != rj) & (lj != OUTSIDE) & (rj != OUTSIDE)
    a, b = lj[on], rj[on]
    if not ordered:
        swap = a > b
        a, b = np.where(swap, b, a), np.where(swap, a, b)
    df = pd.DataFrame({"pos": owner[on], "a": a, "b": b})
    cnt = (
        df.groupby(["pos", "a", "b"], sort=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["pos", "n"], ascending=[True, False], kind="stable")
    )
    return cnt.drop_duplicates("pos")


@pytest.mark.parametrize("ordered", [True, False])
def test_best_bank_pair_equals_the_groupby(ordered):
    # few ids, few samples per owner: many ties in count, broken by the (a, b) order
    from basingov.overlay.boundary import _best_pair

    rng = np.random.default_rng(3)
    ids = np.array(sorted({OUTSIDE, "DE", "FR", "CH", "AT", "DE1", "Z", "a"}), dtype=object)
    owner = np.sort(rng.integers(0, 400, 3000))
    lj, rj = rng.integers(0, ids.size, (2, owner.size))
    got = _best_pair(owner, ids, lj, rj, ordered=ordered)
    want = _pandas_best_pair(owner, ids[lj], ids[rj], ordered=ordered)
    assert got is not None
    pos, a, b, n = got
    assert pos.tolist() == want["pos"].tolist()
    assert a.tolist() == want["a"].tolist()
    assert b.tolist() == want["b"].tolist()
    assert n.tolist() == want["n"].tolist()
    # no sample on a border: none
    assert _best_pair(owner, ids, lj, lj, ordered=ordered) is None


def test_reach_on_border_boundary_and_no_crossings():
    """A reach flowing south wobbles +-10 m around the A|B border x = 1000."""
    jur = jur_layer(
        [
            ("A", "West", 0, "state", "", box(0, 0, 1000, 5000)),
            ("B", "East", 0, "state", "", box(1000, 0, 2000, 5000)),
        ]
    )
    ys = np.arange(4500, 499, -100.0)
    xs = np.where(np.arange(ys.size) % 2 == 0, 990.0, 1010.0)
    t = reach_table(
        {1: (2, list(zip(xs, ys, strict=True))), 2: (-1, [(xs[-1], 500), (500, 100)])},
        local_area_km2=[1.0, 1.0],
    )
    net = network_from_table(t)
    b = boundary_reaches(net.reaches, jur, border_tolerance_m=100)
    assert b["reach_id"].tolist() == [1]
    # flowing south, the left bank is east
    assert (b.iloc[0]["left_jur"], b.iloc[0]["right_jur"]) == ("B", "A")
    assert (b.iloc[0]["left_name"], b.iloc[0]["right_name"]) == ("East", "West")
    assert b.iloc[0]["share"] == pytest.approx(1.0)
    assert b.iloc[0]["length_km"] == pytest.approx(net.reaches["length_km"].iloc[0])
    # the wobble (100 m stretches) is merged: the border reach adds no crossing
    pieces = split_reaches(net.reaches, jur)
    assert len(pieces[pieces["reach_id"] == 1]) == 1
    raw = split_reaches(net.reaches, jur, meander_tolerance_m=0)
    assert len(raw[raw["reach_id"] == 1]) > 30
    # a reach far from the border is no boundary reach
    far = boundary_reaches(net.reaches.iloc[[1]], jur, border_tolerance_m=10)
    assert far.empty
    assert list(far.columns[:5]) == ["reach_id", "level", "level_name", "left_jur", "right_jur"]


def _on_border_case(order: list[int]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Countries X (west) and Y (east), states A in X and B in Y, border x = 20 km.

    B's edge has a vertex at (20000, 25000) that A's lacks. Reach 1 lies on the border for
    its whole 15 km; reach 2 runs 10 km on it, then into A; reach 3 runs in A; reach 4
    runs 5 km on the border, then 5 km south of both (outside); ``order`` orders the rows.
    """
    rows = [
        ("X", "West", 0, "country", "", box(0, 0, 20000, 50000)),
        ("Y", "East", 0, "country", "", box(20000, 0, 40000, 50000)),
        ("A", "Aa", 1, "state", "X", box(0, 0, 20000, 50000)),
        ("B", "Bb", 1, "state", "Y", shapely.Polygon(
            [(20000, 0), (40000, 0), (40000, 50000), (20000, 50000), (20000, 25000)])),
    ]  # fmt: skip
    jur = jur_layer([rows[k] for k in order])
    t = reach_table(
        {
            1: (2, [(20000, 45000), (20000, 30000)]),
            2: (3, [(20000, 30000), (20000, 20000), (10000, 15000)]),
            3: (-1, [(10000, 15000), (10000, 5000)]),
            4: (-1, [(20000, 5000), (20000, 0), (20000, -5000)]),
        }
    )
    return t, jur


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0]])
def test_reach_jurisdictions_lists_both_units_of_a_shared_border(order):
    """A reach on the A|B border (held by A) reaches A and B: the river is the border of both."""
    t, jur = _on_border_case(order)
    pieces = split_reaches(t, jur, meander_tolerance_m=0)
    assert reach_jurisdictions(pieces, [1, 3]) == {
        "country": [{"jur_id": "X", "name": "West"}, {"jur_id": "Y", "name": "East"}],
        "state": [{"jur_id": "A", "name": "Aa"}, {"jur_id": "B", "name": "Bb"}],
    }
    # reach 3 runs in A only; reach 4 leaves the border for outside (not listed)
    assert reach_jurisdictions(pieces, [3], level="state") == {
        "state": [{"jur_id": "A", "name": "Aa"}]
    }
    assert reach_jurisdictions(pieces, [4], level="country") == {
        "country": [{"jur_id": "X", "name": "West"}, {"jur_id": "Y", "name": "East"}]
    }


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0]])
def test_reach_on_a_shared_border_is_counted_once(order):
    """A stretch lying exactly on the border of two units is held by one, A (first id).

    Both layers digitised from the same line (state lines on rivers): the stretch is in
    the closed polygon of each side, and was counted in both (its length twice).
    """
    t, jur = _on_border_case(order)
    pieces = split_reaches(t, jur, meander_tolerance_m=0)
    # each stretch once: the pieces tile their reach
    for rid, g in pieces.groupby("reach_id"):
        line = t.geometry[t["reach_id"] == rid].iloc[0]
        assert g["length_km"].sum() * 1000 == pytest.approx(line.length, abs=1e-6)
        assert g["fraction_start"].iloc[0] == 0.0
        assert g["fraction_end"].iloc[-1] == 1.0
        np.testing.assert_array_equal(g["fraction_start"].to_numpy()[1:], g["fraction_end"][:-1])
    got = list(zip(pieces["reach_id"], pieces["jur_country"], pieces["jur_state"], strict=True))
    # the on-border stretches go to A (and its parent X), whatever the row order; they
    # stay pieces of their own, shared with B (and Y)
    assert got == [
        (1, "X", "A"),
        (2, "X", "A"),
        (2, "X", "A"),
        (3, "X", "A"),
        (4, "X", "A"),
        (4, "", ""),
    ]
    assert pieces["shared_state"].tolist() == ["B", "B", "", "", "B", ""]
    assert pieces["shared_country"].tolist() == ["Y", "Y", "", "", "Y", ""]
    np.testing.assert_allclose(pieces["length_km"], [15.0, 10.0, np.hypot(10, 5), 10, 5, 5])
    # the river-length shares add up to the river's length at every level
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 40000, 50000)], crs=CRS)
    shares = unit_shares(jur, basin, pieces).set_index(["level_name", "jur_id"])
    total = t.geometry.length.sum() / 1000
    for lv in ("country", "state"):
        assert shares.loc[lv, "river_length_km"].sum() == pytest.approx(total)
    assert shares.loc[("state", "A"), "river_length_km"] == pytest.approx(total - 5)
    assert shares.loc[("state", "B"), "river_length_km"] == 0.0
    # the network: no crossing along the border; reach 1 forms the border (East on the left)
    net = network_from_table(t.assign(local_area_km2=1.0).iloc[:3])
    res = overlay_network(net, jur, basin)
    assert res.boundary_crossings.empty
    assert len(res.pieces) == 4
    b = res.boundary_reaches
    assert sorted(zip(b["reach_id"], b["left_jur"], b["right_jur"], strict=True)) == [
        (1, "B", "A"),
        (1, "Y", "X"),
    ]


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0]])
def test_reach_on_a_shared_border_is_a_boundary_stretch(order):
    """The river on the A|B border (held by A alone) is a boundary stretch of A and B.

    Its pieces lie in A and name B (``shared_state``); they used to count in A only, so
    the river that forms the border was no stretch and no crossing left it. Now it is
    one stretch per level, as long as the river (reach 1 and 10 km of reach 2, 25 km,
    not twice that), and leaving it into A is the crossing B -> A (Y -> X at the
    country level), as for a border river that swings across the border.
    """
    t, jur = _on_border_case(order)
    net = network_from_table(t.assign(local_area_km2=1.0).iloc[:3])
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 40000, 50000)], crs=CRS)
    res = overlay_network(net, jur, basin)
    s = res.boundary_stretches
    assert list(zip(s["level_name"], s["jur_a"], s["jur_b"], strict=True)) == [
        ("country", "X", "Y"),
        ("state", "A", "B"),
    ]
    np.testing.assert_allclose(s["length_km"], [25.0, 25.0])
    assert res.pieces["stretch_state"].tolist() == ["state-s0", "state-s0", "", ""]
    c = res.crossings
    assert list(zip(c["level_name"], c["from_jur"], c["to_jur"], c["reach_id"], strict=True)) == [
        ("country", "Y", "X", 2),
        ("state", "B", "A", 2),
    ]
    np.testing.assert_allclose(c["fraction"], 10 / (10 + np.hypot(10, 5)))
    assert res.boundary_crossings.empty
    # B and Y hold no piece: their names come from the jurisdictions, not their ids
    assert list(zip(s["name_a"], s["name_b"], strict=True)) == [("West", "East"), ("Aa", "Bb")]
    assert list(zip(c["from_name"], c["to_name"], strict=True)) == [("East", "West"), ("Bb", "Aa")]
    # ... also when the stretches and crossings are made from the piece table alone
    p = res.pieces
    assert p["shared_name_state"].tolist() == ['{"B": "Bb"}', '{"B": "Bb"}', "", ""]
    one = boundary_stretches(net, p, level="state")
    assert one[["name_a", "name_b"]].to_numpy().tolist() == [["Aa", "Bb"]]
    cs = crossings(net, p, level="country")
    assert cs[["from_name", "to_name"]].to_numpy().tolist() == [["East", "West"]]


@pytest.mark.filterwarnings("ignore:the river network has 2 disconnected pieces")
@pytest.mark.parametrize("exact", [True, False])
def test_river_on_a_shared_border_as_a_river_swinging_across_it(exact):
    """Rivers on the borders of states A|B (both in country X) and B|C (X|Y).

    River 1 comes from A, runs 4 km along the A|B border and goes back into A; river 2
    comes from B, runs 4 km along the B|C border and goes on into C. Lying exactly on
    the border (``exact``), each is held by one side (A, B) and names the other; it
    gives what a river swinging 300 m across the border gives: a stretch of both sides
    at every level where they differ (A|B is inside X: no country stretch), left into A
    (B -> A) and into C (B -> C, X -> Y). On the exact border, each stretch is its 4 km
    along the border, once, and the 2.06 km approach, within the stretch tolerance.
    """
    jur = jur_layer(
        [
            ("X", "West", 0, "country", "", box(0, 0, 2000, 20_000)),
            ("Y", "East", 0, "country", "", box(2000, 0, 3000, 20_000)),
            ("A", "Aa", 1, "state", "X", box(0, 0, 1000, 20_000)),
            ("B", "Bb", 1, "state", "X", box(1000, 0, 2000, 20_000)),
            ("C", "Cc", 1, "state", "Y", box(2000, 0, 3000, 20_000)),
        ]
    )

    def along(x: float) -> list[tuple[float, float]]:
        if exact:
            return [(x, 17_000), (x, 13_000)]
        return [(x + (300 if k % 2 else -300), 17_000 - k * 1000) for k in range(5)]

    t = reach_table(
        {
            1: (-1, [(500, 19_000), *along(1000), (500, 12_000), (500, 2000)]),
            2: (-1, [(1500, 19_000), *along(2000), (2500, 12_000), (2500, 2000)]),
        },
        local_area_km2=[1.0, 1.0],
    )
    res = stretch_overlay(network_from_table(t), jur)
    s = res.boundary_stretches
    assert list(zip(s["level_name"], s["jur_a"], s["jur_b"], strict=True)) == [
        ("country", "X", "Y"),
        ("state", "A", "B"),
        ("state", "B", "C"),
    ]
    c = res.crossings
    assert list(zip(c["level_name"], c["from_jur"], c["to_jur"], c["reach_id"], strict=True)) == [
        ("country", "X", "Y", 2),
        ("state", "B", "A", 1),
        ("state", "B", "C", 2),
    ]
    assert (c["stretch_id"] != "").all()
    if exact:
        np.testing.assert_allclose(s["length_km"], 4.0 + np.hypot(0.5, 2))
        assert res.boundary_crossings.empty
        p = res.pieces.set_index(["reach_id", "piece"])
        assert p.loc[(1, 1), ["jur_state", "shared_state", "shared_country"]].tolist() == [
            "A",
            "B",
            "",
        ]
        assert p.loc[(2, 1), ["jur_state", "shared_state", "shared_country"]].tolist() == [
            "B",
            "C",
            "Y",
        ]


def test_meander_off_a_shared_border_is_merged_into_it():
    """A river on the A|B border with a 141 m meander into B: the meander is merged.

    It becomes A's, as a meander does, and names B as the border stretch it interrupts
    (it copies the shared_state of the piece upstream), so the river is one piece on the
    border; a piece of the river leaving the border stays apart from it.
    """
    jur = jur_layer(
        [
            ("A", "Aa", 0, "state", "", box(0, 0, 1000, 20_000)),
            ("B", "Bb", 0, "state", "", box(1000, 0, 2000, 20_000)),
        ]
    )
    line = [(1000, 19_000), (1000, 15_000), (1050, 14_950), (1000, 14_900), (1000, 12_000)]
    t = reach_table({1: (-1, [*line, (500, 11_000)])})
    raw = split_reaches(t, jur, meander_tolerance_m=0)
    assert list(zip(raw["jur_state"], raw["shared_state"], strict=True)) == [
        ("A", "B"),
        ("B", ""),
        ("A", "B"),
        ("A", ""),
    ]
    p = split_reaches(t, jur)
    assert list(zip(p["jur_state"], p["shared_state"], strict=True)) == [("A", "B"), ("A", "")]
    np.testing.assert_allclose(p["length_km"], [6.9 + 0.1 * np.sqrt(2), np.hypot(0.5, 1)])


def test_drop_shared_keeps_one_copy_of_each_stretch():
    """Only parts covered by parts of a lower-ranked polygon go; a 0.5 mm part stays."""
    from basingov.overlay.split import _drop_shared

    # reach 0 (1 km): rank 1 holds [0, 0.5] in two parts, rank 0 all of it in one part,
    # rank 1 also [0.5, 1]; reach 1 (1 km): a 0.5 mm part and the rest, both rank 1
    reach = np.array([0, 0, 0, 0, 1, 1])
    rank = np.array([1, 1, 0, 1, 1, 1])
    fs = np.array([0.0, 0.25, 0.0, 0.5, 0.0, 5e-7])
    fe = np.array([0.25, 0.5, 0.5, 1.0, 5e-7, 1.0])
    drop, cover = _drop_shared(reach, rank, np.column_stack([fs, fe]), np.full(6, 1000.0))
    assert drop.tolist() == [True, True, False, False, False, False]
    # the rank-0 part holds the stretch of both dropped parts: (kept, dropped) pairs
    assert sorted(map(tuple, cover.tolist())) == [(2, 0), (2, 1)]


def test_outside_pieces_are_reported(y_net):
    """Only A exists: the part of the network east of x=1000 is outside ("")."""
    jur = jur_layer([("A", "A", 0, "state", "", box(0, 0, 1000, 2000))])
    pieces = split_reaches(y_net.reaches, jur)
    assert OUTSIDE in set(pieces["jur_state"])
    total = pieces.groupby("reach_id")["length_km"].sum()
    np.testing.assert_allclose(
        total.to_numpy(), y_net.reaches.set_index("reach_id")["length_km"][total.index]
    )
    c = crossings(y_net, pieces, level="state")
    assert set(zip(c["from_jur"], c["to_jur"], strict=True)) == {(OUTSIDE, "A"), ("A", OUTSIDE)}
    assert pieces.loc[pieces["jur_state"] == OUTSIDE, "name_state"].eq(OUTSIDE).all()


def test_short_gap_between_neighbours_is_absorbed():
    """A 50 m sliver gap between A and B must not make A -> '' -> B."""
    jur = jur_layer(
        [
            ("A", "A", 0, "state", "", box(0, 0, 1000, 1000)),
            ("B", "B", 0, "state", "", box(1050, 0, 2000, 1000)),
        ]
    )
    t = reach_table({1: (-1, [(500, 500), (1500, 500)])}, local_area_km2=[1.0])
    net = network_from_table(t)
    assert split_reaches(net.reaches, jur, meander_tolerance_m=0)["jur_state"].tolist() == [
        "A",
        OUTSIDE,
        "B",
    ]
    pieces = split_reaches(net.reaches, jur)
    assert pieces["jur_state"].tolist() == ["A", "B"]
    c = crossings(net, pieces, level="state")
    assert list(zip(c["from_jur"], c["to_jur"], strict=True)) == [("A", "B")]


def test_coarse_level_meander_and_non_nesting():
    """Country meander across districts, and a district without parent (point lookup)."""
    jur = jur_layer(
        [
            ("X", "X", 0, "country", "", box(0, 0, 1000, 2000)),
            ("Y", "Y", 0, "country", "", box(1000, 0, 2000, 2000)),
            ("x1", "x1", 1, "district", "X", box(0, 1000, 1000, 2000)),
            ("x2", "x2", 1, "district", "X", box(0, 0, 1000, 1000)),
            ("y1", "y1", 1, "district", "", box(1000, 0, 2000, 2000)),  # no parent
        ]
    )
    # x1 -> short loop into y1 -> x2 (the loop straddles the x1/x2 border at y=1000)
    line = [(500, 1500), (950, 1050), (1050, 1000), (950, 950), (500, 500)]
    t = reach_table({1: (-1, line)}, local_area_km2=[1.0])
    net = network_from_table(t)
    raw = split_reaches(net.reaches, jur, meander_tolerance_m=0)
    assert raw["jur_district"].tolist() == ["x1", "y1", "x2"]
    assert raw["jur_country"].tolist() == ["X", "Y", "X"]  # y1 -> Y by point lookup
    pieces = split_reaches(net.reaches, jur)
    assert pieces["jur_country"].tolist() == ["X", "X"]
    assert pieces["jur_district"].tolist() == ["x1", "x2"]
    assert crossings(net, pieces, level="country").empty
    c = crossings(net, pieces, level="district")
    assert list(zip(c["from_jur"], c["to_jur"], strict=True)) == [("x1", "x2")]


def test_levels_subset_and_inputs_not_mutated(y_net, two_states):
    before_r, before_j = y_net.reaches.copy(), two_states.copy()
    pieces = split_reaches(y_net.reaches, two_states, levels=["state"])
    assert [c for c in pieces.columns if c.startswith("jur_")] == ["jur_state"]
    pd.testing.assert_frame_equal(y_net.reaches, before_r)
    pd.testing.assert_frame_equal(two_states, before_j)


# --- unit shares and lookups ------------------------------------------------------------


def test_unit_shares_sum_to_one_and_report_outside(y_net, two_states):
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2500, 2000)], crs=CRS)
    pieces = split_reaches(y_net.reaches, two_states)
    s = unit_shares(two_states, basin, pieces)
    for _, grp in s.groupby("level"):
        assert grp["share"].sum() == pytest.approx(1.0)
        assert grp["river_length_share"].sum() == pytest.approx(1.0)
    st = s[s["level_name"] == "state"].set_index("jur_id")
    # hand values: basin 5 km2, A and B 2 km2 each, 1 km2 outside
    assert st.loc["A", "share"] == pytest.approx(0.4)
    assert st.loc[OUTSIDE, "area_km2"] == pytest.approx(1.0)
    assert st.loc["A", "river_length_km"] + st.loc["B", "river_length_km"] == pytest.approx(
        y_net.reaches["length_km"].sum()
    )


def test_reach_jurisdictions(y_net, two_states):
    pieces = split_reaches(y_net.reaches, two_states)
    got = reach_jurisdictions(pieces, [2, 3])
    assert got["state"] == [{"jur_id": "B", "name": "Beta"}, {"jur_id": "A", "name": "Alpha"}]
    assert got["country"] == [{"jur_id": "X", "name": "Xland"}]
    by_pos = reach_jurisdictions(pieces, np.array([0]), by="position", level="state")
    assert by_pos == {"state": [{"jur_id": "A", "name": "Alpha"}]}


def test_overlay_network_end_to_end(chain_abc):
    net, jur = chain_abc
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 3000, 1000)], crs=CRS)
    res = overlay_network(net, jur, basin)
    assert res.levels == ("county",)
    dep = analyse(res, jur)
    assert list(dep.graphs["county"].edges) == [("A", "B"), ("B", "C")]
    assert res.crossings_at("county").equals(res.crossings)
    assert set(dep.table["jur_id"]) == {"A", "B", "C"}
    assert len(dep.edges) == 2
    # the hand-off to spillover: the crossings on the piece graph's border links
    links = res.piece_graph.link_crossings["county"]
    assert sorted(links["crossing_id"]) == sorted(res.crossings["crossing_id"])
    with pytest.raises(InputError, match=r"level 'state' is not an overlay level.*\['county'\]"):
        res.crossings_at("state")


def test_crossings_in_open_water_name_their_lake(chain_abc):
    """Reach 1 (A -> B) is a lake reach: its crossing is the lake's, reach 2's B -> C is not."""
    net, jur = chain_abc
    reaches = net.reaches.copy()
    reaches["lake_name"] = np.where(reaches["reach_id"] == 1, "Lacus", "")
    lake_net = network_from_table(reaches)
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 3000, 1000)], crs=CRS)
    got = overlay_network(lake_net, jur, basin).crossings.set_index(["from_jur", "to_jur"])
    assert got.loc[("A", "B"), "lake"] == "Lacus"
    assert got.loc[("B", "C"), "lake"] == ""
    # without lake columns every crossing is on a river
    assert set(overlay_network(net, jur, basin).crossings["lake"]) == {""}


# --- error paths ------------------------------------------------------------------------


def test_empty_layers_raise(y_net, two_states):
    with pytest.raises(InputError, match=r"jurisdictions is empty \(0 rows\)"):
        split_reaches(y_net.reaches, two_states.iloc[:0])
    with pytest.raises(InputError, match=r"reaches is empty \(0 rows\)"):
        split_reaches(y_net.reaches.iloc[:0], two_states)


def test_no_crs_raises(y_net, two_states):
    j = two_states.set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"jurisdictions has no CRS; set it with gdf\.set_crs"):
        split_reaches(y_net.reaches, j)


def test_geographic_crs_raises(y_net, two_states):
    with pytest.raises(CRSError, match=r"reaches is in the geographic CRS.*estimate_utm_crs"):
        split_reaches(y_net.reaches.to_crs(4326), two_states)
    with pytest.raises(CRSError, match=r"basin is in the geographic CRS.*estimate_utm_crs"):
        unit_shares(two_states, gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=4326))


def test_crs_mismatch_raises(y_net, two_states):
    with pytest.raises(CRSError, match=r"different CRSs.*jurisdictions\.to_crs\(reaches\.crs\)"):
        split_reaches(y_net.reaches, two_states.to_crs(3857))


def test_bad_columns_and_values_raise(y_net, two_states):
    with pytest.raises(InputError, match=r"jurisdictions lacks column\(s\) \['parent_id'\]"):
        split_reaches(y_net.reaches, two_states.drop(columns="parent_id"))
    dup = pd.concat([two_states, two_states.iloc[[1]]])
    with pytest.raises(InputError, match=r"repeated jur_id values \['A'\]"):
        split_reaches(y_net.reaches, dup)
    pts = two_states.assign(geometry=two_states.centroid)
    with pytest.raises(InputError, match=r"non-polygon geometries for jur_id \['X', 'A', 'B'\]"):
        split_reaches(y_net.reaches, pts)
    with pytest.raises(InputError, match=r"reaches must be \(Multi\)LineStrings; reach_id \[1"):
        split_reaches(y_net.reaches.assign(geometry=y_net.reaches.centroid), two_states)
    with pytest.raises(InputError, match=r"allowed levels are \['country', 'state'\]"):
        split_reaches(y_net.reaches, two_states, levels=["nuts9"])
    with pytest.raises(InputError, match=r"meander_tolerance_m must be >= 0, got -1"):
        split_reaches(y_net.reaches, two_states, meander_tolerance_m=-1)
    with pytest.raises(InputError, match=r"border_tolerance_m must be > 0, got 0"):
        boundary_reaches(y_net.reaches, two_states, border_tolerance_m=0)
    with pytest.raises(InputError, match=r"min_share must be in \(0, 1\], got 2"):
        boundary_reaches(y_net.reaches, two_states, min_share=2)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("jur_id", None, r"missing jur_id at row\(s\) \[1\]; give every jurisdiction a jur_id"),
        ("level", np.nan, r"missing level at jur_id \['A'\]"),
        ("level_name", None, r"missing level_name at jur_id \['A'\]"),
        ("level", "one", r"level values \['one'\] are not whole numbers"),
    ],
)
def test_missing_jurisdiction_keys_raise(y_net, two_states, column, value, message):
    """A blank jur_id, level or level_name is refused, naming the unit.

    It was read as a unit or level 'nan'/'None' (an extra level, crossings into a unit
    'nan'), or crashed on int(nan).
    """
    jur = two_states.astype({column: object})
    jur.loc[1, column] = value
    with pytest.raises(InputError, match=message):
        split_reaches(y_net.reaches, jur)
    with pytest.raises(InputError, match=message):
        boundary_reaches(y_net.reaches, jur)
    with pytest.raises(InputError, match=message):
        overlay_network(y_net, jur, gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 2000)], crs=CRS))


def test_invalid_polygons_raise(y_net, two_states):
    """A self-intersecting (bow-tie) polygon made GEOS raise a raw TopologyException."""
    bowtie = shapely.Polygon([(0, 0), (1000, 2000), (1000, 0), (0, 2000)])  # in state A
    jur = two_states.assign(geometry=two_states.geometry.to_numpy())
    jur.loc[1, "geometry"] = bowtie
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 2000)], crs=CRS)
    fix = r"invalid polygons at jur_id \['A'\] .*TopologyException.*shapely\.make_valid"
    with pytest.raises(InputError, match=fix):
        split_reaches(y_net.reaches, jur)
    with pytest.raises(InputError, match=fix):
        unit_shares(jur, basin)
    for b in ([bowtie], [box(0, 0, 500, 500), bowtie]):  # zero area alone, or a GEOS error
        with pytest.raises(InputError, match=r"basin has invalid polygons at row \[\d\]"):
            unit_shares(two_states, gpd.GeoDataFrame(geometry=b, crs=CRS))


def test_nan_tolerances_raise(y_net, two_states):
    """A NaN tolerance is refused.

    It passed the ``< 0`` checks: no meander merged, no stretch, every crossing flagged
    minor, all silently.
    """
    with pytest.raises(InputError, match=r"meander_tolerance_m must be >= 0, got nan"):
        split_reaches(y_net.reaches, two_states, meander_tolerance_m=np.nan)
    pieces = split_reaches(y_net.reaches, two_states)
    with pytest.raises(InputError, match=r"min_stretch_m must be >= 0, got nan"):
        crossings(y_net, pieces, level="state", min_stretch_m=np.nan)
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 2000)], crs=CRS)
    for bad in (np.nan, -1.0):
        with pytest.raises(InputError, match=rf"minor_area_km2 must be >= 0 .*got {bad}"):
            overlay_network(y_net, two_states, basin, minor_area_km2=bad)


def test_non_finite_coordinates_raise(y_net, two_states):
    """A NaN or infinite vertex is refused, naming the feature.

    In a reach it made GEOS raise a raw exception; in a jurisdiction it silently put the
    river there outside every unit.
    """
    reaches = y_net.reaches.copy()
    with np.errstate(invalid="ignore"):  # shapely warns on a NaN vertex
        nan_line = LineString([(1500, 1800), (np.nan, 1500), (800, 1000)])
        nan_poly = shapely.Polygon([(0, 0), (1000, np.nan), (1000, 2000), (0, 2000)])
    reaches.loc[1, "geometry"] = nan_line
    with pytest.raises(InputError, match=r"reaches has non-finite .* at reach_id \[2\]"):
        split_reaches(reaches, two_states)
    reaches.loc[1, "geometry"] = LineString([(1500, 1800), (np.inf, 1500), (800, 1000)])
    with pytest.raises(InputError, match=r"reaches has non-finite .* at reach_id \[2\]"):
        boundary_reaches(reaches, two_states)
    jur = two_states.copy()
    jur.loc[1, "geometry"] = nan_poly
    with pytest.raises(InputError, match=r"non-finite .* at jur_id \['A'\]; fix or drop"):
        split_reaches(y_net.reaches, jur)


def test_combine_reach_overlays_refuses_mixed_levels_and_no_parts(y_net, two_states):
    """Parts of different levels, or no part, are refused.

    The rows of a part without a level had NaN ``jur_<level>``; no part at all raised a
    raw pandas ValueError.
    """
    r = y_net.reaches
    a = reach_overlay(r.iloc[[0]], two_states)
    b = reach_overlay(r.iloc[[1, 2]], two_states, levels=["state"])
    with pytest.raises(InputError, match=r"different levels \(\['country', 'state'\] and "):
        combine_reach_overlays(r, [(np.array([0]), a), (np.array([1, 2]), b)])
    with pytest.raises(InputError, match=r"no reach overlay parts to combine"):
        combine_reach_overlays(r.iloc[:0], [])


def test_piece_table_lacking_a_column_raises(y_net, two_states):
    """A piece table lacking a column the function reads is refused, naming it.

    unit_shares without length_km and reach_jurisdictions without name_<level> raised a
    raw KeyError.
    """
    pieces = split_reaches(y_net.reaches, two_states)
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 2000)], crs=CRS)
    with pytest.raises(InputError, match=r"pieces lacks column\(s\) \['length_km'\]"):
        unit_shares(two_states, basin, pieces.drop(columns="length_km"))
    with pytest.raises(InputError, match=r"pieces lacks column\(s\) \['name_state'\]"):
        reach_jurisdictions(pieces.drop(columns="name_state"), [1])


def test_ambiguous_level_numbers_raise(y_net, two_states):
    """Two levels with one level number, or a parent of a finer level, are refused.

    With country and state both level 0 the finest level was whichever came last in the
    rows (the pieces cut at country borders, states looked up from midpoints).
    """
    same = two_states.assign(level=0)
    with pytest.raises(InputError, match=r"levels \[\['country', 'state'\]\] share the level"):
        split_reaches(y_net.reaches, same.iloc[[1, 2, 0]])
    inverted = two_states.assign(parent_id=["A", "X", "B"])  # X under A, B its own parent
    with pytest.raises(InputError, match=r"parent_id of jur_id \['X', 'B'\] is not of a coa"):
        split_reaches(y_net.reaches, inverted)


def test_lookup_errors(y_net, two_states):
    pieces = split_reaches(y_net.reaches, two_states)
    with pytest.raises(InputError, match=r"level 'county' is not in the piece table"):
        crossings(y_net, pieces, level="county")
    with pytest.raises(InputError, match=r"by must be one of \['reach_id', 'position'\]"):
        reach_jurisdictions(pieces, [1], by="row")  # type: ignore[arg-type]
    zero = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)]).buffer(0)], crs=CRS)
    with pytest.raises(InputError, match="basin has zero area"):
        unit_shares(two_states, zero)


def test_overlay_on_empty_policy(y_net):
    far = jur_layer([("Z", "Z", 0, "state", "", box(10_000, 10_000, 11_000, 11_000))])
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 11_000, 11_000)], crs=CRS)
    with pytest.raises(EmptyResultError, match="no reach lies in any jurisdiction"):
        overlay_network(y_net, far, basin, on_empty="raise")
    with pytest.warns(UserWarning, match="no reach lies in any jurisdiction"):
        overlay_network(y_net, far, basin, on_empty="warn")
    res = overlay_network(y_net, far, basin, on_empty="ignore")
    assert analyse(res, far).graphs["state"].number_of_edges() == 0
    with pytest.raises(InputError, match=r"on_empty must be one of \['raise', 'warn', 'ignore'\]"):
        overlay_network(y_net, far, basin, on_empty="skip")  # type: ignore[arg-type]


# --- real data (shipped basins) ----------------------------------------------------------


@pytest.mark.slow
def test_rhine_countries_and_crossings(shipped_overlay):
    b, _, ov, _ = shipped_overlay("rhine")
    s = ov.unit_shares[ov.unit_shares["level_name"] == "country"].set_index("jur_id")
    # ICPR lists nine states; IT and BE hold slivers (< 1 %) of the basin
    main = set(s.index[s["share"] >= 0.01])
    assert main == {"CH", "AT", "DE", "FR", "LU", "NL"} | ({"LI"} & main)
    assert {"LI", "IT", "BE"} <= set(s.index)
    assert s.loc["LI", "share"] > 0
    assert s.loc["IT", "share"] < 0.01
    assert s.loc["BE", "share"] < 0.01
    c = ov.crossings_at("country")
    pairs = set(zip(c["from_jur"], c["to_jur"], strict=True))
    assert {("CH", "DE"), ("CH", "FR"), ("DE", "NL")} <= pairs
    assert ("NL", "DE") not in pairs
    # the Rhine enters the Netherlands on the main stem (Lobith)
    assert c[(c["from_jur"] == "DE") & (c["to_jur"] == "NL")]["on_main_stem"].any()
    dep = analyse(ov, b.jurisdictions)
    g = dep.graphs["country"]
    assert nx_has_path(g, "CH", "NL")
    # Hochrhein (CH|DE) and Oberrhein (DE|FR) are boundary stretches: ~150 km and ~185 km
    # of border river, found along most of their length on the generalised 1:20M borders
    s = ov.boundary_stretches
    s = s[s["level_name"] == "country"].groupby(["jur_a", "jur_b"])["length_km"].sum()
    assert s[("CH", "DE")] > 100
    assert s[("DE", "FR")] > 150
    # their zig-zags are boundary crossings, not upstream/downstream links: before the
    # stretch rule DE->CH, CH->DE, DE->FR, FR->DE had 32, 29, 40, 39 crossings; what is
    # left is mostly small streams crossing the generalised border (real per the data)
    n = c.groupby(["from_jur", "to_jur"]).size()
    for pair in [("DE", "CH"), ("CH", "DE"), ("DE", "FR"), ("FR", "DE")]:
        assert n[pair] <= 15, pair
    b = ov.boundary_crossings
    assert b["on_boundary"].all()
    assert len(b[b["level_name"] == "country"]) > 100
    # the Rhine main stem: Basel (CH -> DE and FR), Lauterbourg (FR -> DE), Lobith (DE -> NL)
    on = c[c["on_main_stem"]]
    stem = set(zip(on["from_jur"], on["to_jur"], strict=True))
    assert {("CH", "DE"), ("CH", "FR"), ("FR", "DE"), ("DE", "NL")} <= stem
    # areas reach the crossings (derived for CCM2), so dependency uses them
    assert c.loc[c["on_main_stem"], "upstream_area_km2"].notna().all()
    assert (dep.table["dependency_basis"] == "area").all()


def nx_has_path(g, a, b) -> bool:
    import networkx as nx

    return nx.has_path(g, a, b)


@pytest.mark.slow
@pytest.mark.parametrize("basin", ["rhine", "tennessee", "thames"])
def test_unit_shares_sum_to_one(basin, shipped_overlay):
    _, _, ov, _ = shipped_overlay(basin)
    sums = ov.unit_shares.groupby("level_name")["share"].sum()
    # jurisdictions of one level must neither overlap nor leave gaps: 1e-6 allows for
    # floating-point area sums over hundreds of polygons
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-6)
    lengths = ov.unit_shares.groupby("level_name")["river_length_km"].sum()
    np.testing.assert_allclose(lengths.to_numpy(), ov.pieces["length_km"].sum(), rtol=1e-9)


@pytest.mark.slow
def test_tennessee_touches_seven_states(shipped_overlay):
    _, _, ov, _ = shipped_overlay("tennessee")
    s = ov.unit_shares[ov.unit_shares["level_name"] == "state"]
    # TVA: the Tennessee River watershed spans 7 states; SC and WV appear only as
    # boundary slivers (< 0.1 % of the basin) from the 1:10M state outlines
    seven = set(s.loc[s["share"] >= 0.001, "name"])
    assert seven == {
        "Tennessee",
        "Alabama",
        "North Carolina",
        "Virginia",
        "Georgia",
        "Kentucky",
        "Mississippi",
    }


def test_taihu_provinces():
    from basingov.datasets import load_basin

    b = load_basin("taihu")
    basin = b.basin
    shares = unit_shares(b.jurisdictions, basin, levels=[b.config.boundaries.levels[0]])
    names = set(shares.loc[shares["share"] > 0.01, "name"])
    assert {"Jiangsu Province", "Zhejiang Province", "Shanghai Municipality"} <= names
    assert shares["share"].sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_thames_main_stem_order(shipped_overlay):
    """The main stem meets these districts in this order.

    Hand-listed from the Thames Path National Trail route (source near Kemble, Cotswold
    district, to Kingston): Cotswold, Oxford, Reading, Windsor and Maidenhead, Kingston
    upon Thames. The river forms many district borders (at Kingston it is the border
    between Kingston upon Thames and Richmond upon Thames), so a district counts as met
    when a main-stem piece lies in it or on its border (``border_lad``), and only first
    appearances of these five are compared.
    """
    basin, net, ov, _ = shipped_overlay("thames")
    names = dict(zip(basin.jurisdictions["jur_id"], basin.jurisdictions["name"], strict=True))
    pos = main_stem(net)
    rank = pd.Series(np.arange(len(pos)), index=pos)
    p = ov.pieces[ov.pieces["reach_pos"].isin(pos)].copy()
    p["rank"] = p["reach_pos"].map(rank)
    p = p.sort_values(["rank", "piece"])
    seq: list[str] = []
    for jur, border in zip(p["jur_lad"], p["border_lad"], strict=True):
        for j in [jur, *str(border).split("|")]:
            name = names.get(j)
            if name and name not in seq:
                seq.append(name)
    expected = ["Cotswold", "Oxford", "Reading", "Windsor and Maidenhead", "Kingston upon Thames"]
    assert [n for n in seq if n in expected] == expected, seq


# --- boundary stretches and outside gaps --------------------------------------------------


@pytest.fixture
def border_ab() -> gpd.GeoDataFrame:
    """West A and east B, border x = 1000, 20 km long."""
    return jur_layer(
        [
            ("A", "West", 0, "state", "", box(0, 0, 1000, 20_000)),
            ("B", "East", 0, "state", "", box(1000, 0, 2000, 20_000)),
        ]
    )


def zigzag(n: int, *, y0: float = 16_000.0, step: float = 1000.0) -> list[tuple[float, float]]:
    """Flow south along x = 1000, 300 m to the west, then east, ... (``n`` swings)."""
    return [(1000 + (300 if k % 2 else -300), y0 - k * step) for k in range(n + 1)]


def stretch_overlay(net, jur, **kw):
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 20_000)], crs=CRS)
    return overlay_network(
        net, jur, basin, stretch_tolerance_m=500, min_stretch_m=2000, meander_tolerance_m=0, **kw
    )


def test_zigzag_along_border_is_one_stretch_and_one_crossing(border_ab):
    """Reach 1 flows in A, then swings across the border 6 times, then leaves into B.

    Raw: the line crosses x = 1000 seven times (A->B, B->A, ...); by the stretch rule the
    river is held by A and B along the zig-zag, A reaches it (no crossing) and leaves it
    into B: one crossing A -> B, at the downstream end of the stretch.
    """
    line = [(300, 19_000), *zigzag(6, y0=17_000), (1800, 10_500), (1800, 2000)]
    t = reach_table({1: (-1, line)}, local_area_km2=[5.0])
    net = network_from_table(t)
    raw = crossings(
        net, split_reaches(net.reaches, border_ab, meander_tolerance_m=0), level="state"
    )
    assert len(raw) == 7
    res = stretch_overlay(net, border_ab)
    s = res.boundary_stretches
    assert len(s) == 1
    assert (s.iloc[0]["jur_a"], s.iloc[0]["jur_b"]) == ("A", "B")
    c = res.crossings
    assert list(zip(c["from_jur"], c["to_jur"], strict=True)) == [("A", "B")]
    assert c.iloc[0]["stretch_id"] == s.iloc[0]["stretch_id"]
    assert not c["on_boundary"].any()
    # the zig-zags are kept, flagged, outside the graph
    assert len(res.boundary_crossings) == 6
    assert res.boundary_crossings["on_boundary"].all()
    assert s.iloc[0]["n_boundary_crossings"] == 6
    g = analyse(res, border_ab).graphs["state"]
    assert list(g.edges) == [("A", "B")]
    assert g.edges["A", "B"]["n_crossings"] == 1
    # every raw crossing is accounted for, once
    assert len(c) + len(res.boundary_crossings) == len(raw)


def test_border_river_from_source_to_outlet_has_no_crossing(border_ab):
    """The whole river is the border: a boundary stretch, no upstream/downstream link."""
    t = reach_table({1: (-1, zigzag(6))}, local_area_km2=[5.0])
    net = network_from_table(t)
    res = stretch_overlay(net, border_ab)
    assert len(res.boundary_stretches) == 1
    assert res.crossings.empty
    assert analyse(res, border_ab).graphs["state"].number_of_edges() == 0
    assert len(res.boundary_crossings) == 6


def test_river_from_third_unit_into_border_stretch(border_ab):
    """From C (north) into the A|B border river: C -> A and C -> B, at the stretch entry."""
    jur = pd.concat(
        [
            border_ab.assign(geometry=[box(0, 0, 1000, 17_500), box(1000, 0, 2000, 17_500)]),
            jur_layer([("C", "North", 0, "state", "", box(0, 17_500, 2000, 20_000))]),
        ],
        ignore_index=True,
    )
    t = reach_table({1: (-1, [(1000, 19_500), *zigzag(6, y0=17_000)])}, local_area_km2=[5.0])
    net = network_from_table(t)
    res = stretch_overlay(net, jur)
    c = res.crossings
    assert sorted(zip(c["from_jur"], c["to_jur"], strict=True)) == [("C", "A"), ("C", "B")]
    assert c["stretch_id"].nunique() == 1


def test_short_approach_is_no_stretch(border_ab):
    """Touching the border for less than min_stretch_m keeps the raw crossings."""
    line = [(300, 19_000), (700, 15_000), (1300, 14_000), (1800, 9_000)]
    t = reach_table({1: (-1, line)}, local_area_km2=[5.0])
    net = network_from_table(t)
    res = stretch_overlay(net, border_ab)
    assert res.boundary_stretches.empty
    assert list(zip(res.crossings["from_jur"], res.crossings["to_jur"], strict=True)) == [
        ("A", "B")
    ]


@pytest.fixture
def gap_layer() -> gpd.GeoDataFrame:
    """Clip A (x < 1000) and B (x > 3000) to a basin that leaves 1000 < x < 3000 empty."""
    return jur_layer(
        [
            ("A", "A", 0, "state", "", box(0, 0, 1000, 5000)),
            ("B", "B", 0, "state", "", box(3000, 0, 4000, 5000)),
        ]
    )


def test_outside_gap_between_same_jurisdiction_is_filled(gap_layer):
    """A river leaving A for 2 km (two reaches) and coming back to A is A throughout."""
    t = reach_table(
        {
            1: (2, [(500, 4500), (2000, 4000)]),
            2: (3, [(2000, 4000), (500, 3500)]),
            3: (-1, [(500, 3500), (500, 500)]),
        },
        local_area_km2=[1.0, 1.0, 1.0],
    )
    net = network_from_table(t)
    pieces = split_reaches(net.reaches, gap_layer)
    assert OUTSIDE in set(pieces["jur_state"])  # > meander tolerance: not merged
    filled = fill_outside_gaps(net, pieces)
    assert set(filled["jur_state"]) == {"A"}
    assert set(filled["name_state"]) == {"A"}
    assert crossings(net, filled, level="state").empty
    # the rule does not need the relabelling: A -> "" -> A is no crossing either
    assert crossings(net, pieces, level="state").empty
    pd.testing.assert_frame_equal(pieces, split_reaches(net.reaches, gap_layer))  # not mutated


def test_outside_gap_between_two_jurisdictions_is_one_crossing_in_the_middle(gap_layer):
    """A -> 2 km outside -> B: one A -> B crossing at x = 2000 (middle of the gap)."""
    t = reach_table(
        {1: (2, [(500, 2500), (1500, 2500)]), 2: (-1, [(1500, 2500), (3500, 2500)])},
        local_area_km2=[1.0, 1.0],
    )
    net = network_from_table(t)
    pieces = fill_outside_gaps(net, split_reaches(net.reaches, gap_layer))
    assert OUTSIDE in set(pieces["jur_state"])  # stays outside: reported
    c = crossings(net, pieces, level="state")
    assert list(zip(c["from_jur"], c["to_jur"], c["kind"], strict=True)) == [("A", "B", "gap")]
    assert c.iloc[0]["gap_km"] == pytest.approx(2.0)
    assert c.iloc[0]["geometry"].distance(shapely.Point(2000, 2500)) < 1e-6
    assert c.iloc[0]["reach_id"] == 2


def test_outside_at_the_ends_stays_outside(gap_layer):
    """Starting outside and ending outside: '' -> A and A -> '' are reported, not paired."""
    t = reach_table({1: (-1, [(-1000, 2500), (2000, 2500)])}, local_area_km2=[1.0])
    jur = gap_layer.iloc[[0]]
    net = network_from_table(t)
    pieces = fill_outside_gaps(net, split_reaches(net.reaches, jur))
    assert pieces["jur_state"].tolist() == [OUTSIDE, "A", OUTSIDE]
    c = crossings(net, pieces, level="state")
    assert list(zip(c["from_jur"], c["to_jur"], strict=True)) == [(OUTSIDE, "A"), ("A", OUTSIDE)]


def test_stretch_errors(y_net, two_states):
    pieces = split_reaches(y_net.reaches, two_states)
    with pytest.raises(InputError, match=r"min_stretch_m must be >= 0, got -1"):
        crossings(y_net, pieces, level="state", min_stretch_m=-1)
    with pytest.raises(InputError, match=r"min_stretch_m must be >= 0, got -1"):
        boundary_stretches(y_net, pieces, level="state", min_stretch_m=-1)
    with pytest.raises(InputError, match=r"border_tolerance_m must be > 0, got 0"):
        mark_boundary_pieces(pieces, two_states, border_tolerance_m=0)
    with pytest.raises(InputError, match=r"pieces must be a piece table"):
        mark_boundary_pieces(y_net.reaches, two_states)
    bar = two_states.assign(jur_id=["X", "A|1", "B"], parent_id=["", "X", "X"])
    with pytest.raises(InputError, match=r"jur_id values \['A\|1'\] contain '\|'"):
        mark_boundary_pieces(split_reaches(y_net.reaches, bar), bar)
    with pytest.raises(InputError, match=r"pieces refer to reach positions up to 2 but the"):
        crossings(
            network_from_table(y_net.reaches.iloc[:1].assign(downstream_id=-1)),
            pieces,
            level="state",
        )


# --- the numpy cutter against shapely.intersection ------------------------------------


def _cutter_polys() -> list[shapely.Geometry]:
    """Return A (west) and B (east), sharing x = 1000, and C (far east) with a hole."""
    return [
        box(0, 0, 1000, 2000),
        box(1000, 0, 2000, 2000),
        shapely.Polygon(
            [(2000, 0), (3000, 0), (3000, 2000), (2000, 2000)],
            [[(2400, 900), (2600, 900), (2600, 1100), (2400, 1100)]],
        ),
    ]


def _assert_split_equals_shapely(lines: list[shapely.Geometry], polys: list) -> None:
    """Pieces per (reach, polygon) and outside equal shapely's intersection / difference.

    Derived by hand: shapely (GEOS) is the reference the benchmark compares against; the
    pieces of a (reach, polygon) pair are merged and normalised on both sides. A stretch
    on the border of two polygons is held by the one listed first (ids ``P0, P1, ...``
    sort in list order): each polygon's intersection less the polygons before it.
    """
    ids = [f"P{i}" for i in range(len(polys))]
    jur = jur_layer([(j, j, 0, "state", "", g) for j, g in zip(ids, polys, strict=True)])
    reaches = gpd.GeoDataFrame({"reach_id": range(len(lines))}, geometry=lines, crs=CRS)
    pieces = split_reaches(reaches, jur, meander_tolerance_m=0)
    got = {
        key: shapely.normalize(shapely.line_merge(shapely.union_all(g.geometry.to_numpy())))
        for key, g in pieces.groupby(["reach_id", "jur_state"])
    }
    expected = {}
    for r, line in enumerate(lines):
        for k, (j, poly) in enumerate(zip(ids, polys, strict=True)):
            held = shapely.intersection(line, poly)
            if k:
                held = shapely.difference(held, shapely.union_all(polys[:k]))
            parts = shapely.get_parts(held)
            parts = parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)]
            if parts.size:
                expected[(r, j)] = shapely.normalize(shapely.line_merge(shapely.union_all(parts)))
        out = shapely.difference(line, shapely.union_all(polys))
        if out.length > 1e-3:
            expected[(r, OUTSIDE)] = shapely.normalize(shapely.line_merge(out))
    assert set(got) == set(expected)
    for key, geom in expected.items():
        assert shapely.equals_exact(got[key], geom, tolerance=1e-9), (key, got[key], geom)
    # pieces tile their reach, in order, each stretch once (one on a shared border too)
    for r, g in pieces.groupby("reach_id"):
        assert g["fraction_start"].iloc[0] == 0.0
        assert g["fraction_end"].iloc[-1] == 1.0
        np.testing.assert_array_equal(g["fraction_start"].to_numpy()[1:], g["fraction_end"][:-1])
        np.testing.assert_allclose(g["length_km"].sum() * 1000, lines[r].length)


def _fallback(lines: list[shapely.Geometry], polys: list) -> list[int]:
    return cut_at_borders(np.array(lines, dtype=object), np.array(polys)).fallback.tolist()


def test_cutter_one_crossing():
    lines = [LineString([(500, 500), (1500, 700)]), LineString([(100, 100), (900, 1900)])]
    res = cut_at_borders(np.array(lines), np.array(_cutter_polys()))
    assert res.fallback.size == 0
    # the A|B border is shared: one cut, two pieces; the second line is whole in A
    assert res.part_reach.tolist() == [1, 0, 0]
    assert res.part_poly.tolist() == [0, 0, 1]
    np.testing.assert_allclose(res.fe[1], 0.5)
    _assert_split_equals_shapely(lines, _cutter_polys())


def test_cutter_three_crossings_hole_and_outside():
    lines = [
        # meander: A -> B -> A -> B
        LineString([(500, 1900), (950, 1900), (1050, 1875), (950, 1850), (500, 1500), (1500, 500)]),
        # B -> C -> hole of C -> C -> outside
        LineString([(1500, 1000), (2500, 1010), (2700, 950), (3500, 990)]),
    ]
    assert _fallback(lines, _cutter_polys()) == []
    _assert_split_equals_shapely(lines, _cutter_polys())


def test_cutter_multilinestring_reach():
    lines = [
        shapely.MultiLineString([[(500, 500), (1500, 500)], [(1200, 1500), (1800, 1600)]]),
    ]
    assert _fallback(lines, _cutter_polys()) == []
    _assert_split_equals_shapely(lines, _cutter_polys())


def test_cutter_touching_a_vertex_falls_back():
    """A vertex on the border without crossing, and a reach through the corner (2000, 2000)."""
    lines = [
        LineString([(500, 500), (1000, 1000), (500, 1500)]),
        LineString([(1500, 1500), (2500, 2500)]),
        LineString([(100, 100), (200, 200)]),
    ]
    assert _fallback(lines, _cutter_polys()) == [0, 1]
    _assert_split_equals_shapely(lines, _cutter_polys())


def test_cutter_along_a_border_falls_back():
    """A stretch on x = 1000, the border of A and B, is held once, by A (first id)."""
    lines = [LineString([(500, 200), (1000, 500), (1000, 1500), (1500, 1800)])]
    assert _fallback(lines, _cutter_polys()) == [0]
    _assert_split_equals_shapely(lines, _cutter_polys())
    jur = jur_layer([("A", "A", 0, "state", "", _cutter_polys()[0])])
    reaches = gpd.GeoDataFrame({"reach_id": [0]}, geometry=lines, crs=CRS)
    pieces = split_reaches(reaches, jur, meander_tolerance_m=0)
    assert pieces["jur_state"].tolist() == ["A", OUTSIDE]


def test_cutter_border_with_extra_vertex():
    """A's east edge has a vertex at (1000, 1000) that B's does not: same pieces anyway."""
    polys = [
        shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (1000, 2000), (0, 2000)]),
        box(1000, 0, 2000, 2000),
    ]
    lines = [LineString([(300, 400), (1700, 900)]), LineString([(300, 1900), (1700, 1100)])]
    _assert_split_equals_shapely(lines, polys)


def test_classify_segment_pairs():
    p0 = np.array([[0.0, 0.0]] * 5)
    p1 = np.array([[2.0, 0.0]] * 5)
    q0 = np.array([[1.0, -1.0], [2.0, -1.0], [0.5, 0.0], [3.0, -1.0], [0.0, 1.0]])
    q1 = np.array([[1.0, 3.0], [2.0, 1.0], [1.5, 0.0], [3.0, 1.0], [2.0, 1.0 + 1e-9]])
    code, t = classify_segment_pairs(p0, p1, q0, q1)
    # cross, end on segment, collinear overlap, miss, parallel miss
    assert code.tolist() == [1, 2, 2, 0, 0]
    assert t.tolist() == [0.5, 0.0, 0.0, 0.0, 0.0]


def test_cutter_whole_reaches_grouped_by_shared_ends():
    """Whole reaches joined end to end share one point-in-polygon test; the others not."""
    lines = [
        LineString([(100, 100), (200, 200)]),
        LineString([(200, 200), (300, 150)]),  # joined to 0, in A
        LineString([(300, 150), (1500, 300)]),  # joined to 1, crosses into B
        LineString([(1500, 300), (1600, 400)]),  # joined to 2 (cut), whole in B
        LineString([(2500, 1000), (2550, 1050)]),  # in the hole of C: outside
        LineString([(900, 2100), (950, 2200)]),  # north of everything: outside
    ]
    res = cut_at_borders(np.array(lines), np.array(_cutter_polys()))
    assert res.fallback.size == 0
    got = sorted(zip(res.part_reach.tolist(), res.part_poly.tolist(), strict=True))
    assert got == [(0, 0), (1, 0), (2, 0), (2, 1), (3, 1), (4, -1), (5, -1)]
    _assert_split_equals_shapely(lines, _cutter_polys())


def test_emitted_unit_changes_match_the_string_comparisons(shipped_overlay):
    # the integer-coded comparison gives what comparing the ids themselves gives
    from basingov.overlay.stretches import _NONE, _emitted

    _, _, ov, _ = shipped_overlay("rhine")
    g = ov.piece_graph
    for lv in ov.levels:
        st = g.stretches_at(lv)
        jur = g.pieces[f"jur_{lv}"].to_numpy(dtype=object)
        of, s, d = st.of, g.src, g.dst
        u1, u2 = jur.copy(), np.full(jur.size, _NONE, dtype=object)
        u1[of >= 0], u2[of >= 0] = st.a[of[of >= 0]], st.b[of[of >= 0]]
        ext = np.flatnonzero(~((of[s] >= 0) & (of[s] == of[d])))
        rows = []
        for ua in (u1, u2):
            for ub in (u1, u2):
                for e in ext:
                    a, b = ua[s[e]], ub[d[e]]
                    if _NONE not in (a, b) and a not in (b, u1[d[e]], u2[d[e]]):
                        rows.append((int(e), str(a), str(b)))
        got = _emitted(g, jur, st)
        assert list(zip(got[0].tolist(), got[1], got[2], strict=True)) == sorted(rows), lv
        assert len(rows) > 100


@pytest.mark.parametrize("storage", ["python", "pyarrow"])
def test_objects_equal_to_numpy_in_either_string_storage(storage):
    # _objects copies a Python-storage column's references, factorizes a pyarrow one:
    # the same values and missing values as to_numpy either way
    from basingov.overlay._common import _objects

    values = ["DE1", "FR", None, "DE1", "", "CH", None, "FR"] * 50
    with pd.option_context("mode.string_storage", storage):
        col = pd.Series(values, dtype="str")
        got = _objects(col)
        want = col.to_numpy(dtype=object)
    assert got.dtype == object
    assert [None if pd.isna(v) else v for v in got] == values
    assert [type(v) for v in got] == [type(v) for v in want]
    if storage == "pyarrow":  # the rows of one value share one string
        assert got[0] is got[3]


@pytest.mark.parametrize("basin", ["thames", "taihu"])
def test_reach_terms_and_main_links_made_once_give_the_same_crossings(basin, shipped_overlay):
    # graph_and_crossings makes the main links and the reach terms once for all levels;
    # every level's stretches and crossings equal those that make their own
    from basingov.overlay.crossings import _reach_terms, crossings_on_links
    from basingov.overlay.stretches import _main_links, _stretches

    _, net, ov, _ = shipped_overlay(basin)
    g = ov.piece_graph
    main = _main_links(g, g.pieces["length_km"].to_numpy(dtype=float) * 1000.0)
    terms = _reach_terms(net)
    for lv in ov.levels:
        own, shared = _stretches(g, lv, 6000.0), _stretches(g, lv, 6000.0, main)
        for f in ("of", "a", "b", "ids"):
            np.testing.assert_array_equal(getattr(own, f), getattr(shared, f))
        c0, e0 = crossings_on_links(net, ov.pieces, level=lv, graph=g)
        c1, e1 = crossings_on_links(net, ov.pieces, level=lv, graph=g, terms=terms)
        pd.testing.assert_frame_equal(c0, c1)
        np.testing.assert_array_equal(e0, e1)
