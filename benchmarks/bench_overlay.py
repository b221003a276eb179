"""Benchmark P3: split the Rhine CCM2 reaches at NUTS-3 borders, basingov vs geopandas.overlay.

Run as a script from the repository root::

    .venv/bin/python benchmarks/bench_overlay.py [--repeat 3]

Both methods get the same inputs (``data/hydrography/rhine.gpkg`` layer ``ccm2_reaches``
and the ``nuts3`` level of ``data/boundaries/rhine.gpkg``, projected to EPSG:3035). The
script checks that they give identical pieces (same ``(reach_id, jur_id)`` pairs, equal
total length per pair to 1e-6 relative, equal geometries after ``normalize`` where a pair
is a single piece) and prints the timings (median and best of ``--repeat``, the two
methods interleaved so that machine noise hits both) and the speed ratio of the medians.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from basingov.overlay import split_reaches

ROOT = Path(__file__).resolve().parents[1]


def load() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    reaches = gpd.read_file(ROOT / "data/hydrography/rhine.gpkg", layer="ccm2_reaches")
    reaches = reaches.rename(columns={"WSO1_ID": "reach_id"})[["reach_id", "geometry"]]
    jur = gpd.read_file(ROOT / "data/boundaries/rhine.gpkg", layer="jurisdictions")
    nuts3 = jur[jur["level_name"] == "nuts3"].reset_index(drop=True)
    return reaches.to_crs(3035), nuts3.to_crs(3035)


def timed(fn) -> tuple[float, object]:
    gc.collect()  # the other method's garbage is not this one's cost
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    reaches, nuts3 = load()
    print(
        f"{len(reaches)} reaches, {len(nuts3)} NUTS-3 polygons "
        f"({int(shapely.get_num_coordinates(nuts3.geometry.values).sum())} vertices)"
    )
    ours_t: list[float] = []
    gpd_t: list[float] = []
    pieces = ref = None
    for _ in range(args.repeat):
        t, pieces = timed(
            lambda: split_reaches(reaches, nuts3, levels=["nuts3"], meander_tolerance_m=0)
        )
        ours_t.append(t)
        t, ref = timed(
            lambda: gpd.overlay(
                reaches, nuts3[["jur_id", "geometry"]], how="intersection", keep_geom_type=True
            )
        )
        gpd_t.append(t)
    t_ours, t_gpd = float(np.median(ours_t)), float(np.median(gpd_t))
    # identical pieces: compare per (reach_id, jur_id), outside pieces are not in overlay
    ours = pieces[pieces["jur_nuts3"] != ""].rename(columns={"jur_nuts3": "jur_id"})
    a = ours.assign(L=ours.length).groupby(["reach_id", "jur_id"])["L"].sum()
    b = ref.assign(L=ref.length).groupby(["reach_id", "jur_id"])["L"].sum()
    if set(a.index) != set(b.index):
        msg = f"different (reach_id, jur_id) pairs: {len(set(a.index) ^ set(b.index))} differ"
        raise SystemExit(msg)
    rel = float(((a - b.reindex(a.index)).abs() / b.reindex(a.index)).max())
    if rel > 1e-6:
        msg = f"total lengths per pair differ by up to {rel:.3g} (relative)"
        raise SystemExit(msg)
    # geometries: pairs that are one piece on both sides, compared after normalize
    n_ours = ours.groupby(["reach_id", "jur_id"]).size()
    single = n_ours[n_ours == 1].index
    ref_single = ref.set_index(["reach_id", "jur_id"]).loc[single]
    one_part = shapely.get_num_geometries(ref_single.geometry.values) <= 1
    g_ref = shapely.normalize(shapely.line_merge(ref_single.geometry.values[one_part]))
    g_ours = shapely.normalize(
        ours.set_index(["reach_id", "jur_id"]).loc[single].geometry.values[one_part]
    )
    same = shapely.equals_exact(g_ours, g_ref, tolerance=1e-6)
    print(
        f"identical pairs: {len(a)}; max relative length difference {rel:.2e}; "
        f"geometries equal (normalised, 1e-6 m) for {int(same.sum())}/{same.size} "
        "single-piece pairs"
    )
    if not same.all():
        msg = "some single-piece geometries differ"
        raise SystemExit(msg)
    cpu = os.cpu_count()
    print(f"basingov.split_reaches  median {t_ours:.3f} s  best {min(ours_t):.3f} s")
    print(f"geopandas.overlay       median {t_gpd:.3f} s  best {min(gpd_t):.3f} s")
    print(
        f"speed ratio             {t_gpd / t_ours:.2f}x  (medians of {args.repeat}; "
        f"{platform.machine()}, {cpu} CPUs, Python {platform.python_version()}, "
        f"shapely {shapely.__version__}, geopandas {gpd.__version__}, numpy {np.__version__})"
    )


if __name__ == "__main__":
    main()
