"""The toy layers of basingov.examples: shapes, columns, topology and error messages."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from basingov.errors import InputError, TopologyError
from basingov.examples import (
    EXAMPLE_CRS,
    example_basin,
    example_border_river,
    example_jurisdictions,
    example_network,
    example_reaches,
)
from basingov.overlay import mark_boundary_pieces, split_reaches


def test_reaches_chain_is_drawn_connected_with_the_given_lengths():
    r = example_reaches([2, 3, -1], length_m=[500, 1000, 250], origin=(10, 20))
    assert r.crs == EXAMPLE_CRS
    assert r["reach_id"].tolist() == [1, 2, 3]
    assert r["downstream_id"].tolist() == [2, 3, -1]
    assert r.length.tolist() == [500.0, 1000.0, 250.0]
    coords = [g.coords[:] for g in r.geometry]
    assert coords[0][0] == (10.0, 20.0)
    # each reach starts where the one before it ends
    assert all(coords[k][-1] == coords[k + 1][0] for k in range(2))


@pytest.mark.parametrize(
    ("direction", "end"),
    [("east", (1000, 0)), ("north", (0, 1000)), ("west", (-1000, 0)), ("south", (0, -1000))],
)
def test_reaches_direction(direction, end):
    r = example_reaches([-1], direction=direction)
    assert r.geometry.iloc[0].coords[:] == [(0.0, 0.0), (float(end[0]), float(end[1]))]


def test_reaches_ids_and_columns_are_kept():
    r = example_reaches([20, -1], reach_id=[10, 20], columns={"name": ["a", "b"]})
    assert r["reach_id"].tolist() == [10, 20]
    assert r["name"].tolist() == ["a", "b"]


def test_reaches_bad_input_lists_every_problem():
    with pytest.raises(InputError, match="example reaches") as err:
        example_reaches([2, -1], reach_id=[1], length_m=[1.0, -5.0], columns={"v": [1.0]})
    text = str(err.value)
    assert "reach_id has 1 values for 2 reaches" in text
    assert "column 'v' has 1 values for 2 reaches" in text
    assert "length_m must be finite and > 0, got [1.0, -5.0]" in text


def test_reaches_length_count_and_direction_are_checked():
    with pytest.raises(InputError, match=r"length_m has 3 values for 2 items; give one number"):
        example_reaches([2, -1], length_m=[1, 2, 3])
    with pytest.raises(InputError, match=r"direction must be one of \['east'"):
        example_reaches([-1], direction="up")  # type: ignore[arg-type]


def test_network_is_validated_and_filled():
    net = example_network([3, 3, -1], length_m=2000, columns={"local_area_km2": [1.0, 2.0, 4.0]})
    assert net.idx_ds.tolist() == [2, 2, -1]
    assert net.reaches["length_km"].tolist() == pytest.approx([2.0, 2.0, 2.0])
    # upstream area accumulates the local areas: the confluence holds all three
    assert net.reaches["upstream_area_km2"].tolist() == [1.0, 2.0, 7.0]


def test_network_with_a_dangling_downstream_id_is_a_topology_error():
    with pytest.raises(TopologyError, match="9"):
        example_network([9, -1])


def test_jurisdictions_tile_the_basin_side_by_side():
    jur = example_jurisdictions(["A", "B", "C"], width_m=[3000, 1000, 500], height_m=200)
    assert jur.crs == EXAMPLE_CRS
    assert jur.columns.tolist() == [
        "jur_id", "name", "level", "level_name", "parent_id", "geometry"
    ]  # fmt: skip
    assert jur["name"].tolist() == ["A", "B", "C"]
    assert jur.area.tolist() == [600000.0, 200000.0, 100000.0]
    # neighbours share a full-height border and do not overlap
    a, b, c = jur.geometry
    assert a.intersection(b).length == 200.0
    assert b.intersection(c).length == 200.0
    assert a.intersection(b).area == 0.0


def test_default_jurisdictions_cover_the_default_basin_exactly():
    union = shapely.union_all(example_jurisdictions().geometry.to_numpy())
    assert union.symmetric_difference(example_basin().geometry.iloc[0]).area == 0.0


def test_jurisdictions_and_basin_bad_input():
    with pytest.raises(InputError, match="name has 1 values for 2 units") as err:
        example_jurisdictions(["A", "B"], name=["a"], height_m=0)
    assert "height_m must be finite and > 0, got [0.0]" in str(err.value)
    with pytest.raises(InputError, match=r"width_m must be finite and > 0, got \[nan\]"):
        example_basin(width_m=float("nan"))


def test_border_river_lies_on_the_border_in_a_then_b_then_a():
    jur, net = example_border_river(level_name="state")
    river = net.reaches.geometry.iloc[0]
    border = jur.geometry.iloc[0].boundary.intersection(jur.geometry.iloc[1].boundary)
    assert river.hausdorff_distance(border) <= 20.0 + 1e-9
    pieces = mark_boundary_pieces(split_reaches(net.reaches, jur), jur, border_tolerance_m=100)
    assert pieces["jur_state"].tolist() == ["A", "B", "A"]
    assert pieces["border_state"].tolist() == ["A|B"] * 3
    # the pieces conserve the river's length
    assert np.isclose(pieces["length_km"].sum(), net.reaches["length_km"].sum())
