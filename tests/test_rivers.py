"""Tests for basingov.rivers: River Chief stretches along named rivers, on hand-built basins."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, box

from basingov.errors import InputError
from basingov.network import network_from_table
from basingov.overlay import overlay_network
from basingov.rivers import RIVER_CHIEF_COLUMNS, river_chiefs, river_courses, select_river

CRS = "EPSG:3035"


def jur_layer(rows: list[tuple[str, str, int, str, str, object]]) -> gpd.GeoDataFrame:
    jid, name, level, level_name, parent, geom = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"jur_id": jid, "name": name, "level": level, "level_name": level_name,
         "parent_id": parent},
        geometry=list(geom),
        crs=CRS,
    )  # fmt: skip


def reach_table(lines: dict[int, tuple[int, list[tuple[float, float]], str]], **cols):
    ids = list(lines)
    return gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "downstream_id": [lines[i][0] for i in ids],
            "name": [lines[i][2] for i in ids],
            **cols,
        },
        geometry=[LineString(lines[i][1]) for i in ids],
        crs=CRS,
    )


def zigzag(n: int, *, y0: float, step: float = 1000.0) -> list[tuple[float, float]]:
    """Flow south along x = 1000, 300 m to the west, then east, ... (``n`` swings)."""
    return [(1000 + (300 if k % 2 else -300), y0 - k * step) for k in range(n + 1)]


@pytest.fixture
def border_ab() -> gpd.GeoDataFrame:
    """West A and east B, border x = 1000, 20 km long."""
    return jur_layer(
        [
            ("A", "West", 0, "state", "", box(0, 0, 1000, 20_000)),
            ("B", "East", 0, "state", "", box(1000, 0, 2000, 20_000)),
        ]
    )


def stretch_overlay(net, jur):
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 20_000)], crs=CRS)
    return overlay_network(
        net, jur, basin, stretch_tolerance_m=500, min_stretch_m=2000, meander_tolerance_m=0
    )


def test_river_on_an_exact_border_names_the_unit_without_pieces(border_ab):
    """A river lying on the A|B border, then in A: B holds no piece, yet it is named.

    The on-border stretch is held by A (first id) and names B as sharing it; the River
    Chief stretch along it is A's and B's jointly, named "West | East" (not "West | B").
    """
    line = [(1000, 19_000), (1000, 12_000), (500, 11_000), (500, 2000)]
    net = network_from_table(reach_table({1: (-1, line, "Border River")}, local_area_km2=[5.0]))
    ov = stretch_overlay(net, border_ab)
    assert set(ov.pieces["jur_state"]) == {"A"}
    rc = river_chiefs(net, ov)
    assert rc[["jur_id", "jur_name"]].to_numpy().tolist() == [
        ["A|B", "West | East"],
        ["A", "West"],
    ]


def test_border_river_is_held_jointly(border_ab):
    """A river flows in A, then zig-zags along the A|B border, then leaves into B.

    River Chief stretches along the flow: A alone, then A and B jointly (the boundary
    stretch: its zig-zags are not handovers), then B. A reaches its own shared stretch
    (no crossing at that entry); the stretch is left into B at the overlay's one A -> B
    crossing; the river ends at the basin outlet.
    """
    line = [(100, 19_900), (100, 16_000), *zigzag(6, y0=15_000), (1800, 8_500), (1800, 500)]
    t = reach_table({1: (-1, line, "Border River")}, local_area_km2=[5.0])
    net = network_from_table(t)
    ov = stretch_overlay(net, border_ab)
    rc = river_chiefs(net, ov)
    assert list(rc.columns) == [*RIVER_CHIEF_COLUMNS, "geometry"]
    assert rc["jur_id"].tolist() == ["A", "A|B", "B"]
    assert rc["shared"].tolist() == [False, True, False]
    assert rc["seq"].tolist() == [1, 2, 3]
    (cid,) = ov.crossings["crossing_id"]
    assert rc["entry_crossing_id"].tolist() == ["", "", cid]
    assert rc["exit_crossing_id"].tolist() == ["", cid, ""]
    assert rc["entry"].tolist() == ["river start", "border", "border"]
    assert rc["exit"].tolist() == ["border", "border", "basin outlet"]
    # the shared stretch is the overlay's boundary stretch, with its length
    (st,) = ov.boundary_stretches.itertuples()
    shared = rc[rc["shared"]].iloc[0]
    assert shared["stretch_id"] == st.stretch_id
    assert shared["length_km"] == pytest.approx(st.length_km)
    # the stretches tile the river: lengths add up, each starts where the last ended
    assert rc["length_km"].sum() == pytest.approx(net.reaches["length_km"].sum())
    np.testing.assert_allclose(rc["start_km"].to_numpy()[1:], rc["end_km"].to_numpy()[:-1])
    # exit of one stretch is the entry of the next (same point, WGS84)
    np.testing.assert_allclose(rc["exit_lon"].to_numpy()[:-1], rc["entry_lon"].to_numpy()[1:])
    # pieces carry their stretch: their lengths add up to the stretch length
    p = ov.pieces
    assert p.loc[p["stretch_state"] == st.stretch_id, "length_km"].sum() == pytest.approx(
        st.length_km
    )


def test_chain_across_three_jurisdictions_with_tributary():
    """Main river M through A -> B -> C (x borders 10 and 20 km); tributary T joins in B.

    Reaches: 1 (M, 0..15 km), 2 (M, 15..30 km), 3 (T, from the north into the confluence
    at 15 km). By hand: M at level "state" is A 0-10, B 10-20, C 20-30 km, with the two
    crossings at its borders; T lies in B and ends by joining M.
    """
    jur = jur_layer(
        [
            ("A", "Aa", 0, "state", "", box(0, 0, 10_000, 10_000)),
            ("B", "Bb", 0, "state", "", box(10_000, 0, 20_000, 10_000)),
            ("C", "Cc", 0, "state", "", box(20_000, 0, 30_000, 10_000)),
        ]
    )
    t = reach_table(
        {
            1: (2, [(0, 5000), (15_000, 5000)], "M"),
            2: (-1, [(15_000, 5000), (30_000, 5000)], "M"),
            3: (2, [(15_000, 9000), (15_000, 5000)], "T"),
        },
        local_area_km2=[15.0, 15.0, 4.0],
    )
    net = network_from_table(t)
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 30_000, 10_000)], crs=CRS)
    ov = overlay_network(net, jur, basin)
    rc = river_chiefs(net, ov)
    m = rc[rc["river"] == "M"]
    assert m["jur_id"].tolist() == ["A", "B", "C"]
    np.testing.assert_allclose(m["length_km"], [10.0, 10.0, 10.0])
    c = ov.crossings.set_index(["from_jur", "to_jur"])["crossing_id"]
    assert m["exit_crossing_id"].tolist() == [c["A", "B"], c["B", "C"], ""]
    tr = rc[rc["river"] == "T"].iloc[0]
    assert (tr["jur_id"], tr["length_km"], tr["exit"]) == ("B", pytest.approx(4.0), "joins M")
    # one level asked, one river asked
    only = river_chiefs(net, ov, rivers=["T"], levels=["state"])
    assert only["river"].tolist() == ["T"]


def test_courses_follow_the_main_river_over_misnamed_brooks_and_gaps():
    """The main course follows the river, not a brook named after it.

    Reaches (upstream areas): 0 brook "R" (1) and 1 unnamed main stem (80) join into
    2 "R" (90); 3 "R" (40) flows into 1. The main course walks up from 2: the brook
    drains less than half of reach 1, so it follows 1 (unnamed: a gap, kept) and then 3;
    the brook is a course of its own.
    """
    r = pd.DataFrame({"name": ["R", "", "R", "R"], "upstream_area_km2": [1.0, 80.0, 90.0, 40.0]})
    from types import SimpleNamespace

    net = SimpleNamespace(reaches=r, idx_ds=np.array([2, 2, -1, 1]))
    courses = river_courses(net)["R"]
    assert [c.tolist() for c in courses] == [[3, 1, 2], [0]]
    # aliases make two names one river
    r2 = r.assign(name=["", "", "Rhin", "Rhein"])
    got = river_courses(
        SimpleNamespace(reaches=r2, idx_ds=net.idx_ds), aliases={"Rhine": ["Rhin", "Rhein"]}
    )
    assert [c.tolist() for c in got["Rhine"]] == [[3, 1, 2]]


def test_courses_cross_a_confluence_where_the_larger_tributary_took_the_name():
    """The walk follows the branch where the name comes back, not the larger tributary.

    The Rhine at the Aare mouth (rhine network): the reach below the confluence is named
    "Aare" and the Rhine's first reach above it is unnamed, while the Aare drains more.
    Reaches (upstream areas): 0 "R" (100) <- 1 "T" (99) <- 2 unnamed (45) <- 4 "R" (44),
    and 1 <- 3 unnamed (54) <- 5 "T" (53). The name comes back 3 km up branch 2 and never
    up branch 3, so the course is 4, 2, 1, 0; with 2 longer than NAME_GAP_KM it stops at 0
    (4 then runs on through the unnamed 2 down to "T", which it mainly feeds).
    """
    from types import SimpleNamespace

    from basingov.rivers import NAME_GAP_KM

    r = pd.DataFrame(
        {
            "name": ["R", "T", "", "", "R", "T"],
            "upstream_area_km2": [100.0, 99.0, 45.0, 54.0, 44.0, 53.0],
            "length_km": [1.0, 1.0, 3.0, 1.0, 1.0, 1.0],
        }
    )
    idx_ds = np.array([-1, 0, 1, 1, 2, 3])
    got = river_courses(SimpleNamespace(reaches=r, idx_ds=idx_ds))
    assert [c.tolist() for c in got["R"]] == [[4, 2, 1, 0]]
    # reach 1, named "T" below the confluence, is on R's main course: T ends above it
    assert [c.tolist() for c in got["T"]] == [[5, 3]]
    far = r.assign(length_km=[1.0, 1.0, NAME_GAP_KM + 1, 1.0, 1.0, 1.0])
    got = river_courses(SimpleNamespace(reaches=far, idx_ds=idx_ds))
    assert [c.tolist() for c in got["R"]] == [[0], [4, 2]]  # 4 runs on down to "T"


def test_courses_cross_a_lake_whatever_its_length():
    """Lake reaches (``is_lake``) cost nothing in the look ahead: a river crosses its lake.

    0 "R" (200) <- 1 lake (90, 12 km) <- 2 lake (88, 11 km) <- 3 "R" (70); and 0 <- 4, an
    unnamed tributary that drains more (100) <- 5 (99). At 0 the name comes back across
    the lake, 23 km of reaches without it: more than NAME_GAP_KM, but lake reaches count
    0 km, so the walk crosses the lake. As river reaches they are a gap: the walk follows
    the larger tributary, and the upper R is a course of its own (running on down through
    the lake to the R it joins).
    """
    from types import SimpleNamespace

    r = pd.DataFrame(
        {
            "name": ["R", "", "", "R", "", ""],
            "upstream_area_km2": [200.0, 90.0, 88.0, 70.0, 100.0, 99.0],
            "length_km": [1.0, 12.0, 11.0, 1.0, 3.0, 30.0],
            "is_lake": [False, True, True, False, False, False],
        }
    )
    idx_ds = np.array([-1, 0, 1, 2, 0, 4])
    got = river_courses(SimpleNamespace(reaches=r, idx_ds=idx_ds))
    assert [c.tolist() for c in got["R"]] == [[3, 2, 1, 0]]
    rivers = r.assign(is_lake=False)
    got = river_courses(SimpleNamespace(reaches=rivers, idx_ds=idx_ds))
    assert [c.tolist() for c in got["R"]] == [[0], [3, 2, 1]]


def test_errors_name_the_fix(border_ab):
    t = reach_table({1: (-1, [(300, 19_000), (300, 1000)], "X")}, local_area_km2=[5.0])
    net = network_from_table(t)
    ov = stretch_overlay(net, border_ab)
    with pytest.raises(InputError, match=r"no river named \['Y'\] in the network"):
        river_chiefs(net, ov, rivers=["Y"])
    with pytest.raises(InputError, match=r"level\(s\) \['county'\] are not overlay levels"):
        river_chiefs(net, ov, levels=["county"])
    unnamed = network_from_table(t.drop(columns="name"))
    with pytest.raises(InputError, match=r"no river names .* set name_column"):
        river_chiefs(unnamed, ov)


def test_select_river_matches_names_and_alternatives():
    t = pd.DataFrame({"river": ["Rhein", "Rhin", "Rhine", "Main"], "level_name": ["country"] * 4})
    assert select_river(t, "RHINE")["river"].tolist() == ["Rhine"]
    assert select_river(t, "Rhein|Rhin")["river"].tolist() == ["Rhein", "Rhin"]
    assert select_river(t, "ai")["river"].tolist() == ["Main"]  # substring when no exact
    with pytest.raises(InputError, match=r"no river matches 'Elbe'; named rivers are"):
        select_river(t, "Elbe")
    with pytest.raises(InputError, match=r"level 'nuts9' is not in the table"):
        select_river(t, "Main", level="nuts9")
    # a table without the columns raised a KeyError
    with pytest.raises(InputError, match=r"River Chief table lacks column\(s\) \['river'\]"):
        select_river(t.rename(columns={"river": "name"}), "Main")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['level_name'\]"):
        select_river(t.drop(columns="level_name"), "Main", level="country")


def test_the_rhine_runs_from_the_vorderrhein_to_the_outlet_as_one_course(shipped_overlay):
    """Rhein, Rhin and Rhine joined: one course from the Alps, across the Aare mouth.

    The reach below the Aare mouth carries the Aare's name and the Rhine's first reach
    above it none, while the Aare drains more (17,578 against 15,838 km2); the course
    used to start there, 885 km above the outlet. The Rhine is 1,233 km long (ICPR,
    "Der Rhein", iksr.org); the network ends above the sea (the Merwede near Gorinchem,
    several tens of km short of Hoek van Holland), and CCM2 and Natural Earth differ from the
    ICPR's river kilometres, so the course may fall a few per cent short of it.
    """
    _, net, ov, _ = shipped_overlay("rhine")
    label = "Rhein | Rhin | Rhine"
    rc = river_chiefs(
        net, ov, levels=["country"], rivers=[label], aliases={label: ["Rhein", "Rhin", "Rhine"]}
    )
    main = rc[rc["course"] == 1]
    assert main["entry"].iloc[0] == "river start"
    assert main["exit"].iloc[-1] == "basin outlet"
    # the source in Graubuenden (Lake Toma, 8.67 E 46.63 N), not the Aare mouth (8.21 E)
    assert abs(main["entry_lon"].iloc[0] - 8.67) < 0.1
    assert abs(main["entry_lat"].iloc[0] - 46.63) < 0.1
    assert 0.95 * 1233 < main["end_km"].iloc[-1] < 1233
    held = main.groupby("jur_id", sort=False)["length_km"].sum()
    assert {"CH|LI", "AT|CH", "CH|DE", "DE|FR", "DE", "NL"} <= set(held.index)


@pytest.mark.parametrize(
    ("river", "mouth"),
    [("Neckar", (8.44, 49.51)), ("Ruhr", (6.73, 51.45)), ("Lippe", (6.61, 51.65))],
)
def test_rhine_tributaries_run_to_their_mouths(shipped_overlay, river, mouth):
    """Natural Earth leaves the last kilometres of these rivers unnamed on CCM2.

    The Neckar's course ended at Heidelberg (29 km above its mouth at Mannheim), the
    Ruhr's and the Lippe's above Duisburg and Wesel, each "joining an unnamed river". The
    unnamed reaches below carry (nearly) all of their water and lead into the Rhine, so
    the course now runs on to the mouth (coordinates of the mouths from the map).
    """
    _, net, ov, _ = shipped_overlay("rhine")
    rc = river_chiefs(net, ov, levels=["country"], rivers=[river])
    main = rc[rc["course"] == 1]
    assert main["exit"].iloc[-1] == "joins Rhine"
    assert main["exit_lon"].iloc[-1] == pytest.approx(mouth[0], abs=0.05)
    assert main["exit_lat"].iloc[-1] == pytest.approx(mouth[1], abs=0.05)


@pytest.mark.parametrize(
    ("river", "published_km"),
    [("Aare", 288), ("Mosel", 544), ("Main", 525), ("Neckar", 362), ("Ruhr", 219)],
)
def test_rhine_tributary_courses_against_published_lengths(shipped_overlay, river, published_km):
    """Main courses of named Rhine tributaries within 8 % of their published lengths.

    Published lengths as the rivers' infoboxes give them (Aare 288 km, FOEN; Mosel 544;
    Main 524.9 with the White Main; Neckar 362; Ruhr 219.3). CCM2's lines and Natural
    Earth's names differ from the surveyed courses (the Neckar's course starts 14 km
    from its source). Left out: the Lippe (251 km against 220: Natural Earth's line follows a
    headwater), the Lahn (its course starts at the Ohm's mouth: Natural Earth's line
    follows the Ohm above it), the Reuss and the Sauer ("Sure"), whose Natural
    Earth lines are broken into pieces.
    """
    _, net, ov, _ = shipped_overlay("rhine")
    rc = river_chiefs(net, ov, levels=["country"], rivers=[river])
    km = rc.loc[rc["course"] == 1, "end_km"].iloc[-1]
    assert abs(km / published_km - 1) < 0.08, km


def test_the_glan_joins_the_nahe_at_its_published_mouth(shipped_overlay):
    """Natural Earth has no Nahe: its "Glan" ran on down the Nahe to Bingen.

    The data build cuts the line at the Glan's mouth below Staudernheim (49.7759 N,
    7.7144 E; de.wikipedia "Glan (Nahe)": 89.7 km long) and names the part below "Nahe"
    (data/README.md). The Glan line's last generalised segment also names the Nahe's last
    3 km above the mouth, which drain more than the Glan: of the two "Glan" courses that end
    in the same reach, the longer is course 1 (:func:`basingov.rivers.river_courses`).
    """
    from basingov.rivers import alias_groups, river_names

    b, net, ov, _ = shipped_overlay("rhine")
    groups = alias_groups(river_names(net.reaches), b.config.network.river_aliases)
    rc = river_chiefs(net, ov, levels=["nuts3"], rivers=["Glan", "Nahe"], aliases=groups)
    main = rc[rc["course"] == 1]
    glan, nahe = main[main["river"] == "Glan"], main[main["river"] == "Nahe"]
    assert glan["entry"].iloc[0] == "river start"
    assert glan["jur_id"].iloc[0] == "DEB3F|DEB3G"  # Kaiserslautern (district) | Kusel
    assert glan["exit"].iloc[-1] == "joins Nahe"
    assert glan["exit_lon"].iloc[-1] == pytest.approx(7.7144, abs=0.01)
    assert glan["exit_lat"].iloc[-1] == pytest.approx(49.7759, abs=0.01)
    assert 0.6 * 89.7 < glan["end_km"].iloc[-1] < 89.7  # a 1:10M line, as the Elk's
    assert nahe["entry_lon"].iloc[0] == pytest.approx(glan["exit_lon"].iloc[-1], abs=1e-9)
    assert nahe["exit"].iloc[-1] == "joins Rhein | Rhin | Rhine"
    assert nahe["exit_lon"].iloc[-1] == pytest.approx(7.89, abs=0.02)  # Bingen
    assert nahe["exit_lat"].iloc[-1] == pytest.approx(49.97, abs=0.02)
    assert set(nahe["jur_id"]) == {"DEB14", "DEB14|DEB3J", "DEB3J"}  # Bad Kreuznach, Mainz-Bingen


def test_the_ohm_joins_the_lahn_and_the_lahn_the_rhine_at_their_published_mouths(
    shipped_overlay,
):
    """Natural Earth's "Ohm" ran on down the Lahn to Lahnstein.

    The data build cuts it at the Ohm's published mouth at Coelbe (50.8525 N, 8.7947 E;
    de.wikipedia "Ohm (Fluss)": 59.8 km) and names the part below "Lahn" (data/README.md);
    the Lahn above Coelbe has no line. The run's table called the Lahn through Marburg,
    Giessen, Wetzlar and Limburg "Ohm".
    """
    from basingov.rivers import alias_groups, river_names

    b, net, ov, _ = shipped_overlay("rhine")
    groups = alias_groups(river_names(net.reaches), b.config.network.river_aliases)
    rc = river_chiefs(net, ov, levels=["country"], rivers=["Lahn", "Ohm"], aliases=groups)
    main = rc[rc["course"] == 1]
    lahn, ohm = main[main["river"] == "Lahn"], main[main["river"] == "Ohm"]
    assert lahn["exit"].iloc[-1] == "joins Rhein | Rhin | Rhine"
    # the Lahn's mouth at Lahnstein: 50.3092 N, 7.5947 E (de.wikipedia "Lahn")
    assert lahn["exit_lon"].iloc[-1] == pytest.approx(7.5947, abs=0.02)
    assert lahn["exit_lat"].iloc[-1] == pytest.approx(50.3092, abs=0.02)
    assert ohm["entry_lon"].iloc[0] == pytest.approx(9.21, abs=0.05)  # Ohm source, 50.58 N
    assert ohm["exit"].iloc[-1] == "joins Lahn"
    # within 4 km of the mouth: the generalised line names the Lahn's first reach "Ohm"
    assert ohm["exit_lon"].iloc[-1] == pytest.approx(8.7947, abs=0.05)
    assert ohm["exit_lat"].iloc[-1] == pytest.approx(50.8525, abs=0.05)
    assert lahn["entry_lon"].iloc[0] == pytest.approx(ohm["exit_lon"].iloc[-1], abs=1e-9)
    # the Lahn is 245.6 km long from its source above Coelbe; the Ohm 59.8 km
    assert 150 < lahn["end_km"].iloc[-1] < 190
    assert 50 < ohm["end_km"].iloc[-1] < 75


def test_the_sauer_and_the_ill_are_one_course_across_a_long_unnamed_reach(shipped_overlay):
    """A single CCM2 reach without the name, longer than the old 10 km look ahead, cut them.

    Above Ettelbruck the Sauer's name comes back after one unnamed reach of 16.6 km, and
    the Alzette, which joins there, drains more (1,164 against 958 km2): the walk went up
    the Alzette and the Sauer was two courses, 45 km from the Our to the Mosel and 76 km
    from Belgium to Ettelbruck. The Alsatian Ill stopped the same way at 150 km. Published
    (en/de.wikipedia): the Sauer 173 km, from Vaux-sur-Sure (49.91 N, 5.51 E) to the
    Mosel at Wasserbillig (49.7136 N, 6.5067 E), the Belgian-Luxembourg border for 13 km
    north of Martelange and the German-Luxembourg border for its last 50 km; the Ill
    216.7 km, from Winkel (47.459 N, 7.268 E) through Haut-Rhin and Bas-Rhin.
    """
    from basingov.rivers import alias_groups, river_names

    b, net, ov, _ = shipped_overlay("rhine")
    groups = alias_groups(river_names(net.reaches), b.config.network.river_aliases)
    rc = river_chiefs(net, ov, levels=["country"], rivers=["Sure", "Ill"], aliases=groups)
    main = rc[rc["course"] == 1]
    sure, ill = main[main["river"] == "Sure"], main[main["river"] == "Ill"]
    assert 145 < sure["end_km"].iloc[-1] < 180
    assert sure["exit"].iloc[-1] == "joins Mosel"
    assert sure["exit_lon"].iloc[-1] == pytest.approx(6.5067, abs=0.01)
    assert sure["exit_lat"].iloc[-1] == pytest.approx(49.7136, abs=0.01)
    assert sure["entry_lon"].iloc[0] == pytest.approx(5.51, abs=0.05)  # in Belgium
    assert sure["jur_id"].iloc[0] == "BE"
    km = sure.groupby("jur_id")["length_km"].sum()
    assert km["BE|LU"] == pytest.approx(13, abs=1.5)
    assert 40 < km["DE|LU"] + km.get("DE", 0.0) < 55  # the last 50 km, DE|LU jointly
    assert ill["jur_id"].iloc[0] == "FR"
    assert 190 < ill["end_km"].iloc[-1] < 225
    assert ill["entry_lon"].iloc[0] == pytest.approx(7.268, abs=0.1)
    assert ill["entry_lat"].iloc[0] == pytest.approx(47.459, abs=0.05)
    assert ill["exit"].iloc[-1] == "joins Rhein | Rhin | Rhine"


def test_courses_that_meet_in_one_reach_are_numbered_longest_first():
    """Two branches of one name meeting at a confluence: the longer is course 1."""
    from types import SimpleNamespace

    # 0 -> 1 -> 3 (a long "Aa", 20 km, draining 10 km2) and 2 -> 3 (a short "Aa" reach,
    # 1 km, draining 30 km2), 3 is the "Bb" they join
    r = pd.DataFrame({
        "name": ["Aa", "Aa", "Aa", "Bb"],
        "upstream_area_km2": [4.0, 10.0, 30.0, 45.0],
        "length_km": [12.0, 8.0, 1.0, 5.0],
    })  # fmt: skip
    net = SimpleNamespace(reaches=r, idx_ds=np.array([1, 3, 3, -1]))
    assert [c.tolist() for c in river_courses(net)["Aa"]] == [[0, 1], [2]]
    # apart (the short one joins elsewhere) the larger is first, as before
    net = SimpleNamespace(
        reaches=pd.concat([r, r.iloc[[3]]], ignore_index=True), idx_ds=np.array([1, 3, 4, -1, -1])
    )
    assert [c.tolist() for c in river_courses(net)["Aa"]] == [[2], [0, 1]]


def test_a_tributary_ends_at_its_mouth_not_on_the_main_river(shipped_overlay):
    """The reach below the Aare mouth carries the Aare's name, but it is the Rhine's.

    The Aare's table ran 1.9 km down the Rhine, and the Rhine's (which passes through that
    reach) held the same 1.9 km: two River Chiefs for one stretch. The Aare now ends at its
    mouth at Koblenz AG (8.23 E, 47.61 N) and "joins" the river whose main course passes
    there, named as the run names it (the config's aliases joined).
    """
    from basingov.rivers import alias_groups, river_names

    b, net, ov, _ = shipped_overlay("rhine")
    groups = alias_groups(river_names(net.reaches), b.config.network.river_aliases)
    rc = river_chiefs(net, ov, levels=["country"], aliases=groups)
    main = rc[rc["course"] == 1]
    aare = main[main["river"] == "Aare"]
    assert aare["exit"].iloc[-1] == "joins Rhein | Rhin | Rhine"
    assert aare["exit_lon"].iloc[-1] == pytest.approx(8.23, abs=0.02)
    assert aare["exit_lat"].iloc[-1] == pytest.approx(47.61, abs=0.02)
    assert aare["end_km"].iloc[-1] == pytest.approx(279.1, abs=0.5)  # 281.0 before
    assert main.loc[main["river"] == "Mosel", "exit"].iloc[-1] == "joins Rhein | Rhin | Rhine"


def test_the_thames_runs_from_gloucestershire_as_one_named_course(shipped_overlay):
    """The Thames DEM network names its main stem from two layers (DCW, then Natural Earth).

    DCW names about 50 km of the Thames ("THAMES", "THAMES OR ISIS"), so the river's main
    course was 17.6 km long. With Natural Earth's centre line naming the reaches DCW left
    unnamed it runs from the source in Gloucestershire (Thames Head, UKK13) through
    Oxfordshire, along the Berkshire borders, to Kingston. Its last 14 km, below the Wey
    mouth, were the Mole's: DCW's "RIVER MOLE" line is the Thames from the Wey mouth to
    East Molesey, and its name is now blanked by the data build
    (tests/test_data_files.py). The Inland Waterways Association gives 225 km from Thames
    Head to Teddington, a few km below Kingston (data/governance/published.csv, as in the
    comparison); the DEM's 30" streams run a few per cent longer.
    """
    _, net, ov, _ = shipped_overlay("thames")
    rc = river_chiefs(net, ov, levels=["nuts3"], rivers=["THAMES"])
    main = rc[rc["course"] == 1]
    assert main["entry"].iloc[0] == "river start"
    assert main["jur_id"].iloc[0] == "UKK13"  # Gloucestershire
    assert main["exit"].iloc[-1] == "basin outlet"  # Kingston
    assert 225 < main["end_km"].iloc[-1] < 1.05 * 225
    held = main.groupby("jur_id")["length_km"].sum()
    # the Thames is the historic border of Berkshire with Oxfordshire and Buckinghamshire,
    # and from Hampton Court to Kingston of Surrey with London
    assert held["UKJ11|UKJ14"] > 20
    assert held["UKJ11|UKJ13"] > 20
    assert held["UKI23|UKJ23"] > 5
    assert not net.reaches["name"].isin(["RIVER MOLE", "RIVER LODDON", "RIVER KENNET"]).any()


def test_stretch_geometries_are_the_union_of_their_pieces(shipped_overlay):
    """Every stretch's geometry is its own pieces merged (made once per course and reused)."""
    import shapely

    _, net, ov, _ = shipped_overlay("rhine")
    rc = river_chiefs(net, ov)
    p = ov.pieces.sort_values(["reach_pos", "piece"]).reset_index(drop=True)
    by_reach = p.groupby("reach_pos").indices
    courses = river_courses(net)
    reused = 0
    for (river, k), t in rc.groupby(["river", "course"], sort=False):
        rows = np.concatenate([by_reach.get(r, []) for r in courses[river][k - 1]]).astype(int)
        cum = np.concatenate([[0.0], np.cumsum(p["length_km"].to_numpy()[rows])])
        for start, n, geom in zip(t["start_km"], t["n_pieces"], t.geometry, strict=True):
            a = int(np.flatnonzero(cum == start)[0])
            want = shapely.line_merge(shapely.union_all(p.geometry.to_numpy()[rows[a : a + n]]))
            assert shapely.to_wkb(geom) == shapely.to_wkb(want), (river, k, start)
        reused += len(t) - len(t.drop_duplicates(["start_km", "end_km"]))
    assert reused > 100  # the same run of pieces at several levels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_courses_match_a_walk_by_array_scans(seed):
    """river_courses against the same rule spelt with plain array scans, on random trees."""
    from types import SimpleNamespace

    from basingov.rivers import NAME_GAP_KM, SAME_NAME_MIN_RATIO

    rng = np.random.default_rng(seed)
    n = 3000
    # each reach drains into one of the next four: long chains with confluences
    step = (rng.random(n - 1) * np.minimum(4, n - np.arange(1, n))).astype(int)
    idx_ds = np.append(np.arange(1, n) + step, -1)
    idx_ds[rng.random(n) < 0.01] = -1  # several outlets
    area = np.round(rng.uniform(0, 50, n), 0)  # ties broken by position
    names = rng.choice(["", "", "A", "B", "Cc"], n)
    length = np.round(rng.uniform(0.5, 6.0, n), 1)
    net = SimpleNamespace(
        reaches=pd.DataFrame({"name": names, "upstream_area_km2": area, "length_km": length}),
        idx_ds=idx_ds,
    )
    got = river_courses(net)

    def gap(q: int, todo: np.ndarray, big: float) -> float:
        """Length (km) of unnamed reaches up from q (draining >= ratio x big) to the name."""
        out, stack = np.inf, [(q, 0.0)]
        while stack:
            p, d = stack.pop()
            if p in todo:
                out = min(out, d)
            elif d + length[p] <= NAME_GAP_KM:
                up = np.flatnonzero((idx_ds == p) & (area >= SAME_NAME_MIN_RATIO * big))
                stack += [(int(u), d + length[p]) for u in up]
        return out

    def best(qs: np.ndarray) -> int:
        return int(qs[np.lexsort((-qs, area[qs]))[-1]])  # largest area, then first position

    def numbered(cs: list[list[int]]) -> list[list[int]]:
        """Largest first; courses ending in the same reach take their places longest first."""
        cs = sorted(cs, key=lambda c: -area[c[-1]])
        ends = np.array([idx_ds[c[-1]] for c in cs])
        km = np.array([length[c].sum() for c in cs])
        out = list(cs)
        for d in np.unique(ends[ends >= 0]):
            at = np.flatnonzero(ends == d)
            for i, j in zip(at, at[np.argsort(-km[at], kind="stable")], strict=True):
                out[i] = cs[j]
        return out

    walked: dict[str, list[list[int]]] = {}
    for river in ("A", "B", "Cc"):
        todo = np.flatnonzero(names == river)
        want = []
        while todo.size:
            walk = [best(todo)]
            while (up := np.setdiff1d(np.flatnonzero(idx_ds == walk[-1]), walk)).size:
                large = up[area[up] >= SAME_NAME_MIN_RATIO * area[best(up)]]
                mine = large[np.isin(large, todo)]
                gaps = np.array([gap(int(q), todo, area[best(up)]) for q in large])
                if mine.size:
                    walk.append(best(mine))
                elif (gaps <= NAME_GAP_KM).any():  # the name soonest, then the largest
                    near = large[gaps == gaps.min()]
                    walk.append(best(near))
                else:
                    walk.append(best(up))
            walk = walk[: max(i for i, q in enumerate(walk) if q in set(todo.tolist())) + 1]
            todo = np.setdiff1d(todo, walk)
            tail = [walk[0]]  # on down through unnamed reaches it drains half of or more
            while (
                (d := idx_ds[tail[-1]]) >= 0
                and names[d] == ""
                and (area[tail[-1]] >= SAME_NAME_MIN_RATIO * area[d])
            ):
                tail.append(int(d))
            # kept only where the unnamed run leads into a named river
            into_named = idx_ds[tail[-1]] >= 0 and names[idx_ds[tail[-1]]] != ""
            want.append(walk[::-1] + (tail[1:] if into_named else []))
        walked[river] = numbered(want)
    # largest river first: a course's downstream end leaves a larger river's main course
    claimed: set[int] = set()
    for river in sorted(walked, key=lambda r: (-area[walked[r][0][-1]], r)):
        kept = []
        for c in walked[river]:
            end = len(c)
            while end and c[end - 1] in claimed:
                end -= 1
            if end:
                kept.append(c[:end])
        kept = numbered(kept or walked[river])
        claimed |= set(kept[0])
        assert [c.tolist() for c in got[river]] == kept, river
    assert max(len(c) for cs in got.values() for c in cs) > 5
    assert any(names[c[-1]] == "" for cs in got.values() for c in cs)  # tails were walked
    # the gaps crossed: without the lookahead the courses are different
    blind = river_courses(
        SimpleNamespace(reaches=net.reaches.drop(columns="length_km"), idx_ds=idx_ds)
    )
    as_lists = {k: [c.tolist() for c in cs] for k, cs in got.items()}
    assert {k: [c.tolist() for c in cs] for k, cs in blind.items()} != as_lists


def test_positions_by_code_equal_a_scan_per_code():
    """csr_reverse gives each code's positions as ``np.flatnonzero(codes == c)`` would.

    river_courses finds each river's reaches so (one counting sort, not a scan per river).
    """
    from basingov.network import csr_reverse

    rng = np.random.default_rng(7)
    for n, k in ((0, 0), (1, 1), (50, 3), (2000, 40)):
        codes = rng.integers(0, k, n) if k else np.zeros(0, dtype=np.int64)
        ptr, at = csr_reverse(np.arange(n), codes, k + 2)  # codes k, k + 1 occur nowhere
        got = [at[ptr[c] : ptr[c + 1]] for c in range(k + 2)]
        want = [np.flatnonzero(codes == c) for c in range(k + 2)]
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_river_chiefs_read_the_names_once(monkeypatch):
    """river_chiefs reads the reach names once, and its courses are river_courses'."""
    from types import SimpleNamespace

    from geopandas.testing import assert_geodataframe_equal

    import basingov.rivers as rivers_mod
    from basingov.examples import example_basin, example_jurisdictions, example_network
    from basingov.overlay import overlay_network

    jur = example_jurisdictions(["A", "B"], name=["Aa", "Bb"], width_m=10000, height_m=10000)
    net = example_network(
        [2, -1], length_m=9000, origin=(1000, 5000),
        columns={"name": [" Big", "Big "], "local_area_km2": [5.0, 6.0]},
    )  # fmt: skip
    ov = overlay_network(net, jur, example_basin(width_m=20000, height_m=10000))
    plain = river_chiefs(net, ov)
    calls = []
    read = rivers_mod._names
    monkeypatch.setattr(rivers_mod, "_names", lambda r: calls.append(1) or read(r))
    assert_geodataframe_equal(river_chiefs(net, ov), plain)
    assert len(calls) == 1
    r = pd.DataFrame({"name": ["Rhin", "", "Rhein", "Rhein"], "upstream_area_km2": [1.0, 2, 3, 4]})
    small = SimpleNamespace(reaches=r, idx_ds=np.array([2, 2, 3, -1]))
    alias = {"Rhine": ["Rhin", "Rhein"]}
    got = rivers_mod._courses(small, read(r), alias)
    want = river_courses(small, aliases=alias)
    assert {k: [c.tolist() for c in v] for k, v in got.items()} == {
        k: [c.tolist() for c in v] for k, v in want.items()
    }


def test_river_names_are_empty_where_the_old_blank_check_found_no_name():
    """A name column of blanks has no river names, as the old check found.

    governance_stage asks river_names whether a network has names, as it once asked
    ``name.fillna("").astype(str).str.strip() != ""``: both say no for blanks only.
    """
    from basingov.rivers import river_names

    for col in ([None, " ", "", "\t"], ["", None], [" x", None], ["Main", "Main "]):
        s = pd.Series(col, dtype="string")
        plain = bool((s.fillna("").astype(str).str.strip() != "").any())
        assert bool(river_names(pd.DataFrame({"name": s}))) == plain
