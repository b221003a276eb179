"""Boundary stretches along noisy border pairs: bridged interruptions and tri-point chains.

The bank test of :func:`mark_boundary_pieces` gives each piece its most frequent pair; on
coarse data that pair flickers (A|B, A|C, unmarked) where a border river passes a
tri-point or swings away from a generalised border line. These cases failed under the
rule that asked one pair alone to run ``min_stretch_m``.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import box

from basingov.network import network_from_table
from basingov.overlay import (
    boundary_reaches,
    boundary_stretches,
    mark_boundary_pieces,
    overlay_network,
    split_reaches,
)
from tests.shapes import CRS, jur_layer, reach_table


@pytest.fixture
def tri_point() -> gpd.GeoDataFrame:
    """West A (x < 1000); east of it B north of y = 15000 and C south: a tri-point."""
    return jur_layer(
        [
            ("A", "West", 0, "state", "", box(0, 0, 1000, 20_000)),
            ("B", "North-east", 0, "state", "", box(1000, 15_000, 2000, 20_000)),
            ("C", "South-east", 0, "state", "", box(1000, 0, 2000, 15_000)),
        ]
    )


def swings(y0: float, n: int, step: float) -> list[tuple[float, float]]:
    """Flow south across x = 1000: 300 m to the west (A), then east, ... (``n`` swings)."""
    return [(1000 + (300 if k % 2 else -300), y0 - k * step) for k in range(n + 1)]


def overlay(lines: dict, jur: gpd.GeoDataFrame, min_stretch_m: float):
    net = network_from_table(reach_table(lines, local_area_km2=[1.0] * len(lines)))
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 20_000)], crs=CRS)
    return overlay_network(
        net, jur, basin, stretch_tolerance_m=500, min_stretch_m=min_stretch_m, meander_tolerance_m=0
    )


def pairs_and_crossings(res) -> tuple[list, list]:
    s = res.boundary_stretches
    c = res.crossings
    return (
        list(zip(s["jur_a"], s["jur_b"], strict=True)),
        sorted(zip(c["from_jur"], c["to_jur"], strict=True)),
    )


def test_chain_through_a_tri_point_is_two_stretches(tri_point):
    """A river on A's border: B on the other bank, then C past the tri-point (y = 15000).

    Each pair runs about 3 km, less than min_stretch_m (4 km): under the one-pair rule
    neither was a stretch and every swing across x = 1000 was a crossing (9). Linked
    where the pair changes (A|B, A|C share A), the border river is 6.3 km: a stretch of
    A and B, then one of A and C. Crossings follow the passage table: {A,B} -> {A,C}
    gives B -> A and B -> C (B stops holding the river), {A,C} -> C gives A -> C.
    """
    lines = {
        1: (2, [(100, 16_200), *swings(16_200, 8, 300)]),
        2: (-1, [(700, 13_800), (1800, 13_000), (1800, 2000)]),
    }
    res = overlay(lines, tri_point, 4000)
    pairs, cross = pairs_and_crossings(res)
    assert pairs == [("A", "B"), ("A", "C")]
    assert cross == [("A", "C"), ("B", "A"), ("B", "C")]
    s = res.boundary_stretches.set_index("jur_b")["length_km"]
    assert s["B"] == pytest.approx(2.948, abs=1e-3)  # the approach in A taken in (0.94 km)
    assert s["C"] == pytest.approx(3.390, abs=1e-3)
    # every pair change is a boundary crossing inside the two stretches, none is lost
    assert len(res.boundary_crossings) == 7


def test_finer_stretch_makes_the_coarser_level_a_stretch():
    """The A|B stretch above, with A and C one country X and B country Y.

    At country level the X|Y run is 2 km (its pieces in X and Y), shorter than
    min_stretch_m (4 km), and past the tri-point the river runs along A|C, inside X, so
    no chain lengthens it: alone it stayed four raw crossings, X -> Y -> X -> Y -> X. But
    the state border of A and B there is the country border of X and Y: the state
    stretch makes it a country stretch, left once into X (Y -> X).
    """
    jur = jur_layer(
        [
            ("X", "West and south", 0, "country", "", box(0, 0, 2000, 20_000).difference(
                box(1000, 15_000, 2000, 20_000))),
            ("Y", "North-east", 0, "country", "", box(1000, 15_000, 2000, 20_000)),
            ("A", "West", 1, "state", "X", box(0, 0, 1000, 20_000)),
            ("B", "North-east", 1, "state", "Y", box(1000, 15_000, 2000, 20_000)),
            ("C", "South-east", 1, "state", "X", box(1000, 0, 2000, 15_000)),
        ]
    )  # fmt: skip
    lines = {
        1: (2, [(100, 16_200), *swings(16_200, 8, 300)]),
        2: (-1, [(700, 13_800), (1800, 13_000), (1800, 2000)]),
    }
    res = overlay(lines, jur, 4000)
    p = res.pieces
    assert (p["border_country"] == "X|Y").sum() == 3  # the run, 3 x 0.67 km
    s = res.boundary_stretches
    assert list(zip(s["level_name"], s["jur_a"], s["jur_b"], strict=True)) == [
        ("country", "X", "Y"),
        ("state", "A", "B"),
        ("state", "A", "C"),
    ]
    # the country stretch holds every piece of the state stretch of A and B
    in_ab = p["stretch_state"] == "state-s0"
    assert (p.loc[in_ab, "stretch_country"] == "country-s0").all()
    c = res.crossings
    country = c[c["level_name"] == "country"]
    assert list(zip(country["from_jur"], country["to_jur"], strict=True)) == [("Y", "X")]
    b = res.boundary_crossings
    assert (b["level_name"] == "country").sum() == 4  # the zig-zags, kept apart


def test_chain_shorter_than_min_stretch_stays_unshared(tri_point):
    """The same configuration over 2.9 km in all: no stretch, the raw crossings stay."""
    lines = {
        1: (2, [(100, 15_600), *swings(15_600, 4, 300)]),
        2: (-1, [(700, 14_400), (1800, 13_600), (1800, 2000)]),
    }
    pairs, cross = pairs_and_crossings(overlay(lines, tri_point, 4000))
    assert pairs == []
    assert cross == [("A", "B"), ("A", "C"), ("A", "C"), ("B", "A"), ("C", "A")]


def test_parallel_river_past_a_tri_point_stays_unshared(tri_point):
    """A river in A, 300 m from the border, along B then along C: never on the other side.

    Its pieces are marked A|B then A|C (both banks within the 500 m tolerance), a chain
    of 4 km; but no piece lies in B or C, so it is not a border river.
    """
    lines = {
        1: (2, [(100, 17_000), (700, 17_000)]),
        2: (3, [(700, 17_000), (700, 15_000)]),
        3: (4, [(700, 15_000), (700, 13_000)]),
        4: (-1, [(700, 13_000), (100, 13_000), (100, 2000)]),
    }
    res = overlay(lines, tri_point, 2000)
    assert res.pieces["border_state"].tolist() == ["", "A|B", "A|C", ""]
    pairs, cross = pairs_and_crossings(res)
    assert pairs == []
    assert cross == []


def test_short_swing_away_from_the_border_does_not_break_a_stretch():
    """Two runs along A|B (1.8 and 1.6 km) around a 0.9 km loop into A, away from the border.

    Under the one-pair rule the unmarked loop cut the border river in two runs shorter
    than min_stretch_m (2 km): no stretch, four crossings. The loop is shorter than
    half of min_stretch_m and lies in A: bridged, the river is one 4.2 km stretch, left
    into A (B -> A).
    """
    ab = jur_layer(
        [
            ("A", "West", 0, "state", "", box(0, 0, 1000, 20_000)),
            ("B", "East", 0, "state", "", box(1000, 0, 2000, 20_000)),
        ]
    )
    lines = {
        1: (2, [(500, 17_000), *swings(17_000, 2, 500)]),
        2: (3, [(700, 16_000), (400, 16_000), (400, 15_700), (700, 15_700)]),
        3: (4, swings(15_700, 2, 500)),
        4: (-1, [(700, 14_700), (100, 14_700), (100, 2000)]),
    }
    res = overlay(lines, ab, 2000)
    assert res.pieces.set_index("reach_id").loc[2, "border_state"] == ""  # the loop
    pairs, cross = pairs_and_crossings(res)
    assert pairs == [("A", "B")]
    assert cross == [("B", "A")]
    assert res.boundary_stretches["length_km"].iloc[0] == pytest.approx(4.224, abs=1e-3)


def test_tributary_joining_at_a_tri_point_is_no_link():
    """A tributary along B|C (2.4 km) joins a border river of A and C (7 km).

    The pairs share C, but the tributary is not the river's main branch (shorter upstream):
    it is no continuation of the border river, so its run is measured alone (2.4 km < 4 km)
    and stays unshared; the border river is a stretch. Piece labels and pairs are given
    by hand (one piece per reach).
    """
    lines = {
        1: (2, [(0, 9000), (0, 7000)]),
        2: (5, [(0, 7000), (0, 5000)]),
        3: (4, [(2000, 6000), (1000, 6000)]),
        4: (5, [(1000, 6000), (0, 5000)]),
        5: (-1, [(0, 5000), (0, 2000)]),
    }
    net = network_from_table(reach_table(lines, local_area_km2=[1.0] * 5))
    one = jur_layer([("X", "X", 0, "state", "", box(-5000, 0, 5000, 10_000))])
    pieces = split_reaches(net.reaches, one).sort_values("reach_id")
    pieces["jur_state"] = ["A", "C", "C", "B", "A"]
    pieces["border_state"] = ["A|C", "A|C", "B|C", "B|C", "A|C"]
    s = boundary_stretches(net, pieces, level="state", min_stretch_m=4000)
    assert list(zip(s["jur_a"], s["jur_b"], s["length_km"], strict=True)) == [("A", "C", 7.0)]


def test_bank_pair_is_the_one_across_the_nearest_border():
    """A river in A, 300 m from B on its west bank; 2.7 km east of it A ends at C.

    With bank points 3 km out only, the banks fell in B and C: the pair B|C, which does
    not hold the river. The nearest offset at which the banks differ (750 m) gives B
    and A: the border the river runs along. The boundary-reach table (left and right
    bank, looking downstream) reads the same banks.
    """
    jur = jur_layer(
        [
            ("A", "Middle", 0, "state", "", box(1000, 0, 4000, 20_000)),
            ("B", "West", 0, "state", "", box(-4000, 0, 1000, 20_000)),
            ("C", "East", 0, "state", "", box(4000, 0, 9000, 20_000)),
        ]
    )
    t = reach_table({1: (-1, [(1300, 18_000), (1300, 2000)])})
    pieces = split_reaches(t, jur, meander_tolerance_m=0)
    assert pieces["jur_state"].tolist() == ["A"]
    marked = mark_boundary_pieces(pieces, jur, border_tolerance_m=3000)
    assert marked["border_state"].tolist() == ["A|B"]
    # 500 m from C and 2.5 km from B: the nearest border is C's
    far = reach_table({1: (-1, [(3500, 18_000), (3500, 2000)])})
    fp = split_reaches(far, jur, meander_tolerance_m=0)
    assert mark_boundary_pieces(fp, jur, border_tolerance_m=3000)["border_state"].tolist() == [
        "A|C"
    ]
    br = boundary_reaches(t, jur, border_tolerance_m=3000)
    assert list(zip(br["left_jur"], br["right_jur"], strict=True)) == [("A", "B")]


def test_chain_passes_a_tri_point_run_of_the_third_pair(shipped_run):
    """The Holston along Grainger | Jefferson, then Jefferson | Knox (Tennessee counties).

    At the Grainger | Jefferson | Knox tri-point one 2.1 km piece, in Grainger, is marked
    Grainger | Knox: a run on one side only, which does not count, so it cut the chain.
    The Jefferson | Knox run after it (3.4 km, shorter than min_stretch_m) was three
    crossings, though the river lies within 0.2 km of that border over its lower half in
    the shipped county polygons. Linked through the tri-point run, it is a stretch. The
    same rule makes the Rhine at Worms, the Hesse | Rhineland-Palatinate border, a NUTS 3
    stretch of Worms and Bergstrasse.
    """
    tn = shipped_run("tennessee").results
    st = tn.layers["boundary_stretches"]
    jk = st[(st["level_name"] == "county") & (st["jur_a"] == "47089") & (st["jur_b"] == "47093")]
    assert len(jk) == 1
    assert jk["length_km"].iloc[0] == pytest.approx(3.406, abs=1e-3)
    cr = tn.tables["crossings"]
    cr = cr[cr["level_name"] == "county"]
    jk_ids = ["47089", "47093"]
    pair = cr["from_jur"].astype(str).isin(jk_ids) & cr["to_jur"].astype(str).isin(jk_ids)
    # one crossing left between them: Jefferson -> Knox where the stretch ends in Knox
    sel = cr[pair]
    got = list(zip(sel["from_jur"].astype(str), sel["to_jur"].astype(str), strict=True))
    assert got == [("47089", "47093")]
    rh = shipped_run("rhine").results.layers["boundary_stretches"]
    wb = rh[(rh["level_name"] == "nuts3") & (rh["jur_a"] == "DE715") & (rh["jur_b"] == "DEB39")]
    assert len(wb) == 1
