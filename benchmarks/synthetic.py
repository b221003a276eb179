"""A seeded SYNTHETIC basin of any size, built in code: reaches, two levels of units, basin.

Nothing here is real data. It is the workload of benchmark P6's continental case
(``bench_dask.py``) and of the scale-out tests (``tests/test_scale.py``).

River network: a ``W x H`` lattice of 1 km cells (``W * H >= n_reaches``). Every cell
drains to one of its eight neighbours that lies closer (Euclidean) to the outlet cell at
the middle of the bottom edge, drawn uniformly among those (seeded). Distances fall
strictly along every path, so the network is a tree with one outlet, and its random
choices give branching, meandering rivers rather than a comb. Each reach is the straight
line from its cell centre to its downstream cell centre (the outlet reach ends half a cell
below its centre); every cell drains 1 km2 (``local_area_km2``).

Jurisdictions: ``n_units`` units (level 1, ``unit``) are the Voronoi cells of seeded
random points over the domain; a share of the points (``aligned_share``) come in pairs
mirrored about a lattice column, so that some borders run exactly along reaches (the
cutter's exact GEOS fallback and boundary reaches get exercised). ``n_regions`` regions
(level 0, ``region``) are the unions of the units whose point is nearest to each of
``n_regions`` other random points, so units nest in regions (``parent_id``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

SEED = 20261124
CRS = "EPSG:3035"
#: Lower-left corner of the lattice in EPSG:3035 (metres); the numbers are arbitrary.
ORIGIN = (3_000_000.0, 2_000_000.0)
_DIRS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def lattice_network(
    n_reaches: int, *, seed: int = SEED, cell_m: float = 1000.0
) -> gpd.GeoDataFrame:
    """Reach table (``reach_id, downstream_id, local_area_km2, geometry``), see module doc."""
    width = max(2, int(np.floor(np.sqrt(n_reaches))))
    height = max(2, -(-n_reaches // width))
    n = width * height
    rng = np.random.default_rng(seed)
    pos = np.arange(n, dtype=np.int64)
    row, col = np.divmod(pos, width)
    orow, ocol = 0, width // 2
    dist = np.hypot(row - orow, col - ocol)
    best = np.full(n, -1, dtype=np.int64)
    best_key = np.full(n, -1.0, dtype=np.float32)
    for dr, dc in _DIRS:
        r2, c2 = row + dr, col + dc
        ok = (r2 >= 0) & (r2 < height) & (c2 >= 0) & (c2 < width)
        ok &= np.hypot(r2 - orow, c2 - ocol) < dist - 1e-9
        key = rng.random(n, dtype=np.float32)
        take = ok & (key > best_key)
        best[take] = (r2 * width + c2)[take]
        best_key[take] = key[take]
        del r2, c2, ok, key, take
    x = ORIGIN[0] + (col + 0.5) * cell_m
    y = ORIGIN[1] + (row + 0.5) * cell_m
    out = best < 0
    x1 = np.where(out, x, x[np.maximum(best, 0)])
    y1 = np.where(out, y - 0.5 * cell_m, y[np.maximum(best, 0)])
    coords = np.stack([np.stack([x, y], axis=1), np.stack([x1, y1], axis=1)], axis=1)
    geoms = shapely.linestrings(coords)
    ids = pos + 1
    return gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "downstream_id": np.where(out, -1, best + 1),
            "local_area_km2": np.full(n, cell_m * cell_m / 1e6),
        },
        geometry=geoms,
        crs=CRS,
    )


def units(
    reaches: gpd.GeoDataFrame,
    n_units: int,
    n_regions: int,
    *,
    seed: int = SEED,
    aligned_share: float = 0.1,
    cell_m: float = 1000.0,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Jurisdictions (regions and units, see module doc) and the basin polygon."""
    x0, y0, x1, y1 = reaches.total_bounds
    domain = shapely.box(x0, y0, x1, y1)
    rng = np.random.default_rng(seed + 1)
    n_pairs = int(n_units * aligned_share / 2)
    n_free = n_units - 2 * n_pairs
    free = np.column_stack([rng.uniform(x0, x1, n_free), rng.uniform(y0, y1, n_free)])
    # pairs mirrored about a column of cell centres: their border runs along that column
    px = rng.uniform(x0 + cell_m, x1 - cell_m, n_pairs)
    py = rng.uniform(y0, y1, n_pairs)
    cx = ORIGIN[0] + (np.floor((px - ORIGIN[0]) / cell_m) + 0.5) * cell_m
    dx = rng.uniform(0.2, 3.0, n_pairs) * cell_m
    mirrored = np.concatenate([np.column_stack([cx - dx, py]), np.column_stack([cx + dx, py])])
    seeds = np.concatenate([free, mirrored])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=domain, ordered=True)
    )
    cells = shapely.intersection(cells, domain)
    cells = cells[~shapely.is_empty(cells)]
    n_units = len(cells)  # seeds closer than GEOS's tolerance share one cell
    centre = shapely.get_coordinates(shapely.point_on_surface(cells))
    region_seeds = np.column_stack([rng.uniform(x0, x1, n_regions), rng.uniform(y0, y1, n_regions)])
    qi, qr = shapely.STRtree(shapely.points(region_seeds)).query_nearest(shapely.points(centre))
    region = np.asarray(qr[np.unique(qi, return_index=True)[1]])  # ties: the first seed
    reg_geoms = [shapely.coverage_union_all(cells[region == k]) for k in range(n_regions)]
    uid = np.array([f"U{i:05d}" for i in range(n_units)], dtype=object)
    rid = np.array([f"R{k:03d}" for k in range(n_regions)], dtype=object)
    jur = pd.concat(
        [
            pd.DataFrame(
                {"jur_id": rid, "name": [f"Region {k}" for k in range(n_regions)], "level": 0,
                 "level_name": "region", "parent_id": "", "geometry": reg_geoms}
            ),
            pd.DataFrame(
                {"jur_id": uid, "name": [f"Unit {i}" for i in range(n_units)], "level": 1,
                 "level_name": "unit", "parent_id": rid[region], "geometry": cells}
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    keep = [k for k in range(len(jur)) if not shapely.is_empty(jur["geometry"].iloc[k])]
    jur_gdf = gpd.GeoDataFrame(jur.iloc[keep].reset_index(drop=True), geometry="geometry", crs=CRS)
    basin = gpd.GeoDataFrame({"name": ["synthetic"]}, geometry=[domain], crs=CRS)
    return jur_gdf, basin


def synthetic_basin(
    n_reaches: int, n_units: int, n_regions: int, *, seed: int = SEED
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Reaches, jurisdictions and basin of a SYNTHETIC basin (see the module docstring).

    Examples
    --------
    >>> r, j, b = synthetic_basin(400, 12, 3)
    >>> len(r), sorted(j["level_name"].value_counts().items())
    (400, [('region', 3), ('unit', 12)])
    """
    reaches = lattice_network(n_reaches, seed=seed)
    jur, basin = units(reaches, n_units, n_regions, seed=seed)
    return reaches, jur, basin
