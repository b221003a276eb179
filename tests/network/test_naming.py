"""Tests for basingov.network.naming: names transferred from a named line layer."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from basingov.errors import CRSError, InputError
from basingov.network.naming import names_from_lines

CRS = "EPSG:3035"


@pytest.fixture
def reaches() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3]},
        geometry=[
            LineString([(0, 0), (5000, 0)]),  # along the river
            LineString([(5000, 3000), (5000, 0)]),  # a tributary meeting it
            LineString([(0, 800), (5000, 800)]),  # beside it, within 1 km
        ],
        crs=CRS,
    )


def test_names_follow_the_line_a_reach_runs_along(reaches: gpd.GeoDataFrame) -> None:
    named = gpd.GeoDataFrame(
        {"name": ["Rhine", "Rhine", ""]},
        geometry=[
            LineString([(0, 200), (3000, 200)]),
            LineString([(3000, 200), (9000, 200)]),  # dissolved with the first part
            LineString([(5000, 3000), (5000, 0)]),  # unnamed lines give no name
        ],
        crs=CRS,
    )
    assert names_from_lines(reaches, named, column="name").tolist() == ["Rhine", "", "Rhine"]
    narrow = names_from_lines(reaches, named, column="name", tolerance_m=500)
    assert narrow.tolist() == ["Rhine", "", ""]
    # the name layer is reprojected to the reaches' CRS
    wgs = names_from_lines(reaches, named.to_crs(4326), column="name")
    assert wgs.tolist() == ["Rhine", "", "Rhine"]


def test_errors(reaches: gpd.GeoDataFrame) -> None:
    named = gpd.GeoDataFrame({"NAME": ["x"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=CRS)
    with pytest.raises(InputError, match=r"lacks column 'name'; its columns are \['NAME'\]"):
        names_from_lines(reaches, named, column="name")
    with pytest.raises(InputError, match=r"need tolerance_m > 0 and 0 < min_share <= 1"):
        names_from_lines(reaches, named, column="NAME", min_share=0)
    # text raised a raw TypeError in the comparison, a bool was taken as 1 (m, or share)
    for opt, bad in (
        ("tolerance_m", "5"),
        ("tolerance_m", True),
        ("min_share", "0.5"),
        ("min_share", True),
        ("min_share", np.bool_(True)),
    ):
        with pytest.raises(
            InputError,
            match=r"need tolerance_m > 0 and 0 < min_share <= 1, numbers \(not text or bools\); "
            rf"got .*{opt}={re.escape(repr(bad))}",
        ):
            names_from_lines(reaches, named, column="NAME", **{opt: bad})
    # numpy numbers are taken
    got = names_from_lines(
        reaches, named, column="NAME", tolerance_m=np.float32(500), min_share=np.float64(0.8)
    )
    assert got.tolist() == names_from_lines(reaches, named, column="NAME", tolerance_m=500).tolist()
    with pytest.raises(CRSError, match=r"estimate_utm_crs"):
        names_from_lines(reaches.to_crs(4326), named, column="NAME")
    with pytest.raises(CRSError, match=r"the name layer has no CRS"):
        names_from_lines(reaches, named.set_crs(None, allow_override=True), column="NAME")


def _names_plain(
    reaches: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, tolerance_m: float, min_share: float
) -> list[str]:
    """Name the reaches the straightforward way (the STRtree query with its predicate)."""
    import numpy as np
    import shapely

    groups = lines.groupby(lines["name"].astype(str).str.strip())
    labels = np.asarray(list(groups.groups), dtype=object)
    merged = np.asarray([shapely.union_all(g.geometry.to_numpy()) for _, g in groups])
    zones = shapely.buffer(merged, tolerance_m)
    geoms = reaches.geometry.to_numpy()
    ri, zi = shapely.STRtree(zones).query(geoms, predicate="intersects")
    inside = shapely.length(shapely.intersection(geoms[ri], zones[zi]))
    share = inside / shapely.length(geoms)[ri]
    out = np.full(len(reaches), "", dtype=object)
    for r in np.unique(ri):  # reach by reach: the largest share; near ties to the line
        ok = (ri == r) & (share >= min_share)  # nearest to all of the reach
        if not ok.any():
            continue
        cands = [(float(share[k]), int(zi[k])) for k in np.flatnonzero(ok)]
        top = max(c[0] for c in cands)
        cands = [c for c in cands if c[0] >= top - 0.05]
        g = geoms[r]
        ends = [g.interpolate(f, normalized=True) for f in (0.0, 0.5, 1.0)]
        far = [
            max(p.distance(merged[z]) for p in ends) if len(cands) > 1 else 0.0 for _, z in cands
        ]
        k = min(range(len(cands)), key=lambda i: (far[i], -cands[i][0]))
        out[r] = labels[cands[k][1]]
    return out.tolist()


@pytest.mark.parametrize("seed", [0, 1])
def test_names_match_the_straightforward_query_on_random_lines(seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)

    def walks(n: int, step: float) -> list[LineString]:
        out = []
        for _ in range(n):
            k = int(rng.integers(2, 12))
            xy = rng.uniform(0, 20000, 2) + np.cumsum(rng.normal(0, step, (k, 2)), 0)
            out.append(LineString(xy))
        return out

    reaches = gpd.GeoDataFrame(geometry=walks(1500, 300.0), crs=CRS)
    # rivers of several lines each, some crossing: ties and overlaps between zones
    named = gpd.GeoDataFrame(
        {"name": [f"river {i % 12}" for i in range(60)]}, geometry=walks(60, 2000.0), crs=CRS
    )
    got = names_from_lines(reaches, named, column="name", tolerance_m=400.0, min_share=0.3)
    want = _names_plain(reaches, named, 400.0, 0.3)
    assert got.tolist() == want
    assert 50 < sum(1 for w in want if w) < len(want)  # named and unnamed reaches


def test_length_inside_equals_the_intersection_length_bit_for_bit() -> None:
    """The prepared shortcut gives the overlay's lengths, self-crossing and closed lines too."""
    import numpy as np
    import shapely

    from basingov.network.naming import _length_inside

    rng = np.random.default_rng(0)
    lines = [
        LineString(rng.uniform(0, 20000, 2) + np.cumsum(rng.normal(0, 300, (k, 2)), 0))
        for k in rng.integers(2, 30, 2000)
    ]
    lines += [LineString([(9000, 9000), (9500, 9000), (9500, 9500), (9000, 9000)])]  # closed
    geoms = np.asarray(lines, dtype=object)
    zone = shapely.buffer(shapely.linestrings(rng.uniform(0, 20000, (40, 2))), 3000)
    zones = np.full(geoms.size, zone, dtype=object)
    shapely.prepare(zone)
    want = shapely.length(shapely.intersection(geoms, zones))
    got = _length_inside(geoms, zones)
    assert np.array_equal(got, want)
    # both kinds occur: lines wholly inside, self-crossing ones among them (whose overlay
    # length differs from their own), and lines partly outside
    whole = shapely.contains_properly(zones, geoms)
    assert whole.sum() > 1000
    assert (whole & (want != shapely.length(geoms))).any()
    assert (~whole & (want > 0)).any()


def test_a_short_reach_at_a_confluence_keeps_the_main_rivers_name() -> None:
    # a 1 km reach of the Rhine lies wholly within the buffers of the Rhine and of the
    # Mosel, whose line ends at the confluence beside it: it is the Rhine (the run's
    # Rhine main stem had a 0.74 km "Mosel" and a 1.55 km "Glan" reach at confluences)
    reach = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])], crs=CRS)
    for names in (["Mosel", "Rhine"], ["Rhine", "Mosel"], ["Aare", "Zzz"]):
        named = gpd.GeoDataFrame(
            {"name": names},
            geometry=[
                LineString([(500, 5000), (500, 60)]),
                LineString([(-5000, 100), (5000, 100)]),
            ],
            crs=CRS,
        )
        assert names_from_lines(reach, named, column="name").tolist() == [names[1]]


def test_further_name_layers_name_only_what_the_first_left_unnamed(tmp_path) -> None:
    """``names_more_layers``: each later layer names only reaches still unnamed.

    The Thames: the DCW lines name about 50 km of the main stem, Natural Earth's centre
    line the rest ("Thames" against DCW's "THAMES": one river, the first spelling).
    """
    from basingov.config import NetworkSection
    from basingov.network import network_from_table
    from basingov.network.assemble import _with_names

    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3], "downstream_id": [2, 3, -1]},
        geometry=[LineString([(0, 0), (5000, 0)]), LineString([(5000, 0), (10000, 0)]),
                  LineString([(10000, 0), (15000, 0)])],
        crs=CRS,
    )  # fmt: skip
    net = network_from_table(t)
    first = gpd.GeoDataFrame(
        {"name": ["THAMES"]}, geometry=[LineString([(0, 100), (5000, 100)])], crs=CRS
    )
    more = gpd.GeoDataFrame(
        {"name": ["Thames", "Isis"]},
        geometry=[LineString([(0, -100), (10000, -100)]), LineString([(10000, 50), (15000, 50)])],
        crs=CRS,
    )
    path = tmp_path / "names.gpkg"
    first.to_file(path, layer="dcw")
    more.to_file(path, layer="ne")
    sec = NetworkSection(key="x", builder="lines", names_path=path, names_layer="dcw")
    only = _with_names(net, sec).reaches
    assert only["name"].tolist() == ["THAMES", "", ""]
    both = _with_names(net, dataclasses.replace(sec, names_more_layers=("ne",)))
    r = both.reaches
    assert r["name"].tolist() == ["THAMES", "THAMES", "Isis"]
    assert r["name_source"].tolist() == [
        "derived: along names.gpkg",
        "derived: along names.gpkg (ne)",
        "derived: along names.gpkg (ne)",
    ]
    assert "names transferred from names.gpkg (layers dcw, ne, in turn)" in both.source


def test_names_more_layers_must_be_an_array_of_layer_names(tmp_path) -> None:
    from basingov.config import load_config
    from basingov.errors import ConfigError

    toml = (Path(__file__).parents[2] / "data/basins/thames.toml").read_text()
    bad = toml.replace('names_more_layers = ["ne_rivers"]', 'names_more_layers = "ne_rivers"')
    assert bad != toml
    cfg = tmp_path / "thames.toml"
    cfg.write_text(bad.replace('"../', f'"{Path(__file__).parents[2] / "data"}/'))
    with pytest.raises(ConfigError, match=r"names_more_layers must be an array of strings"):
        load_config(cfg)
