"""Checks on finished run folders: two runs of a basin wrote the same outputs."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd


def assert_same_tables(a: Path, b: Path) -> None:
    """Check both run folders hold the same tables/*.csv (at least 10), byte for byte."""
    names = sorted(p.name for p in (a / "tables").glob("*.csv"))
    assert len(names) >= 10
    assert names == sorted(p.name for p in (b / "tables").glob("*.csv"))
    for name in names:
        # byte-identical, not merely equal after parsing
        assert (a / "tables" / name).read_bytes() == (b / "tables" / name).read_bytes(), name


def assert_same_run(a: Path, b: Path) -> None:
    """Check both runs wrote the same tables, layers, map and summary facts."""
    assert_same_tables(a, b)
    assert_same_layers(a, b)
    assert_same_map(a, b)
    sa = pd.read_json(a / "summary.json", typ="series")
    sb = pd.read_json(b / "summary.json", typ="series")
    for key in ("counts", "key_indicators", "warnings"):
        assert sa[key] == sb[key], key


def assert_same_map(a: Path, b: Path) -> None:
    """Check two runs' map.html are the same page but for folium's random element ids.

    A distributed run builds its map on a worker while it writes the tables
    (basingov.maps.run_map_page); a single-process run builds it at the end.
    """

    def page(run_dir: Path) -> str:
        return without_ids((run_dir / "map.html").read_text(encoding="utf-8"))

    assert page(a) == page(b)


def without_ids(page: str) -> str:
    """Return a map page with folium's random element ids numbered in order of appearance."""
    ids: dict[str, str] = {}
    return re.sub(r"[0-9a-f]{32}", lambda m: ids.setdefault(m[0], f"id{len(ids)}"), page)


def assert_same_layers(a: Path, b: Path) -> None:
    """Check every layer of the two runs' GeoPackages: same rows, values, geometry bytes.

    The one column left out is ``layer_styles.update_time``, the time the QGIS styles were
    written.
    """
    import pyogrio

    (ga,) = a.glob("*.gpkg")
    (gb,) = b.glob("*.gpkg")
    layers = sorted(str(n) for n in pyogrio.list_layers(ga)[:, 0])
    assert len(layers) >= 5
    assert layers == sorted(str(n) for n in pyogrio.list_layers(gb)[:, 0])
    for layer in layers:
        # layer_styles records when each style was written (update_time): not a result
        fa = pyogrio.read_dataframe(ga, layer=layer).drop(columns="update_time", errors="ignore")
        fb = pyogrio.read_dataframe(gb, layer=layer).drop(columns="update_time", errors="ignore")
        if isinstance(fa, gpd.GeoDataFrame):
            assert isinstance(fb, gpd.GeoDataFrame), layer
            assert list(fa.geometry.to_wkb()) == list(fb.geometry.to_wkb()), layer
            fa, fb = (
                pd.DataFrame(fa.drop(columns="geometry")),
                pd.DataFrame(fb.drop(columns="geometry")),
            )
        pd.testing.assert_frame_equal(fa, fb, check_exact=True, obj=layer)
