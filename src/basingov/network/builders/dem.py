"""Network builder for a DEM or D8 raster, through pyflwdir and rasterio.

Re-exported by :mod:`basingov.network.builders`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from basingov._checks import lonlat, projected_crs
from basingov.errors import CRSError, InputError
from basingov.io import read_raster
from basingov.network._container import OUTLET_ID, RiverNetwork, network_from_table

if TYPE_CHECKING:
    from basingov.config import HydraulicsSection

__all__ = ["from_dem"]


# ----------------------------------------------------------------------------------------
# DEM (pyflwdir)
# ----------------------------------------------------------------------------------------
def from_dem(
    *,
    d8_path: str | Path | None = None,
    elevation_path: str | Path | None = None,
    threshold_km2: float,
    crs: Any,
    outlet: tuple[float, float] | None = None,
    outlet_window_cells: int = 3,
    outlet_area_km2: float | None = None,
    burn: gpd.GeoDataFrame | None = None,
    burn_depth_m: float = 10.0,
    hydraulics: HydraulicsSection | None = None,
    source: str = "",
) -> RiverNetwork:
    """Trace streams and sub-catchments on a DEM or a D8 raster with pyflwdir.

    With ``d8_path``, flow directions are read as D8 (ESRI codes 1..128, 0 = pit,
    247 = nodata) through :func:`pyflwdir.from_array`; otherwise they are derived from
    ``elevation_path`` by :func:`pyflwdir.from_dem` (depressions filled). Stream cells
    are those with an upstream area of at least ``threshold_km2``; streams are split at
    confluences (:meth:`pyflwdir.FlwdirRaster.streams`), so each reach runs from a source
    or confluence to the next confluence or outlet. Each reach's sub-catchment
    (:meth:`pyflwdir.FlwdirRaster.basins` with the reach outlet cells) gives
    ``local_area_km2``; ``upstream_area_dem_km2`` is pyflwdir's upstream area at the
    reach outlet cell.

    With ``outlet``, only the basin draining to it is kept: the outlet is snapped to the
    cell of largest upstream area within ``outlet_window_cells`` cells (pour-point
    snapping) or, with ``outlet_area_km2``, to the cell whose upstream area is closest to
    that published area (gauge snapping, as NLDI does), and streams outside that cell's
    basin are dropped. pyflwdir ends each stream system with a zero-length segment at
    its pit; where only one stream enters the pit, that segment is dropped and the reach
    above becomes the outlet.

    With ``burn`` (mapped river lines), the cells the lines cross are lowered by
    ``burn_depth_m`` before flow directions are derived ("stream burning"), so that the
    derived streams follow the mapped rivers where a coarse DEM would misroute them.

    Parameters
    ----------
    d8_path, elevation_path
        Raster files (one of them), read with rasterio.
    threshold_km2
        Minimum upstream area of a stream cell.
    crs
        Projected CRS for the network.
    outlet
        Optional ``(lon, lat)`` of the basin outlet (WGS84).
    outlet_window_cells
        Search radius, in cells, of the outlet snapping.
    outlet_area_km2
        Published drainage area at the outlet, to snap to the matching cell.
    burn
        River lines (any CRS) to burn into the DEM; only with ``elevation_path``.
    burn_depth_m
        How far burned cells are lowered, in metres.
    hydraulics, source
        Passed on to :func:`~basingov.network.network_from_table`.

    Returns
    -------
    RiverNetwork
        ``derived=True``; without ``outlet``, several outlets are normal at raster edges and give a
        disconnected-pieces warning.

    Raises
    ------
    InputError
        If neither or both rasters are given, a file is missing, the threshold is not
        positive, ``outlet`` is no ``(lon, lat)`` pair of numbers, or no cell reaches the
        threshold.
    CRSError
        If the raster has no CRS or ``crs`` is geographic.
    """
    target = projected_crs(crs, what=f"crs={crs!r}")
    if (d8_path is None) == (elevation_path is None):
        msg = "give exactly one of d8_path (D8 flow directions) or elevation_path (a DEM)"
        raise InputError(msg)
    if not threshold_km2 > 0:
        msg = f"threshold_km2 must be > 0, got {threshold_km2}"
        raise InputError(msg)
    if outlet is not None:  # text ('7.5') and bools (True: 1 degree) were transformed
        outlet = lonlat(outlet, name="outlet")
    path = Path(d8_path if d8_path is not None else elevation_path)  # type: ignore[arg-type]
    if not path.is_file():
        msg = f"raster {path} does not exist"
        raise InputError(msg)
    rb = read_raster(path)
    data, transform, rcrs, nodata = rb.data.data, rb.transform, rb.crs, rb.nodata
    _check_cells(data, nodata, path, d8=d8_path is not None)
    if burn is not None:
        data = _burn_lines(data, transform, rcrs, nodata, burn, depth_m=burn_depth_m, d8=d8_path)
    latlon = bool(CRS.from_user_input(rcrs).is_geographic)
    with warnings.catch_warnings():
        # pyflwdir 0.5 multiplies affine transforms with `*`, which affine >= 2.4 flags
        # with a PendingDeprecationWarning on every call; it is not ours to fix.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return _from_flwdir(
            data,
            transform,
            rcrs,
            nodata,
            latlon,
            d8=d8_path is not None,
            path=path,
            threshold_km2=threshold_km2,
            target=target,
            outlet=outlet,
            window=outlet_window_cells,
            outlet_area=outlet_area_km2,
            hydraulics=hydraulics,
            source=source,
        )


def _check_cells(data: np.ndarray, nodata: Any, path: Path, *, d8: bool) -> None:
    """Refuse a raster without usable cells (all nodata, or not a D8 encoding)."""
    if d8:
        codes = np.asarray([0, 1, 2, 4, 8, 16, 32, 64, 128])
        usable = np.isin(data, codes)
        if not usable.any():
            msg = (
                f"D8 raster {path} holds no flow direction (values 0, 1, 2, 4, ..., 128); "
                "all cells are nodata (247/255) or not D8 codes: check the file, or give the "
                "DEM as elevation_path instead"
            )
            raise InputError(msg)
        return
    finite = np.isfinite(data) if data.dtype.kind == "f" else np.ones(data.shape, dtype=bool)
    usable = finite if nodata is None else finite & (data != nodata)
    if not usable.any():
        msg = (
            f"DEM {path} has no elevation: all {data.size} cells are nodata "
            f"(nodata = {nodata}) or not finite; check the file and its nodata value"
        )
        raise InputError(msg)
    if data.dtype.kind == "f" and nodata is not None and not finite.all():
        data[~finite] = nodata  # NaN cells are nodata too


def _burn_lines(
    data: np.ndarray,
    transform: Any,
    rcrs: Any,
    nodata: Any,
    lines: gpd.GeoDataFrame,
    *,
    depth_m: float,
    d8: Any,
) -> np.ndarray:
    """Lower the DEM cells crossed by ``lines`` by ``depth_m`` (nodata cells untouched)."""
    # deferred: rasterio (GDAL) takes about 0.4 s to import and only the DEM builder needs it
    from rasterio.features import rasterize

    if d8 is not None:
        msg = "burn needs an elevation raster (elevation_path); a D8 grid cannot be burned"
        raise InputError(msg)
    if lines.crs is None:
        msg = "the burn lines have no CRS; set it with gdf.set_crs(...)"
        raise CRSError(msg)
    if not depth_m > 0:
        msg = f"burn_depth_m must be > 0, got {depth_m}"
        raise InputError(msg)
    geoms = lines.to_crs(rcrs).geometry
    geoms = geoms[geoms.notna() & ~geoms.is_empty]
    burned = rasterize(
        ((g, 1) for g in geoms), out_shape=data.shape, transform=transform, fill=0, dtype="uint8"
    ).astype(bool)
    out = data.astype(np.float32)
    valid = np.isfinite(out) if nodata is None else out != nodata
    out[burned & valid] -= np.float32(depth_m)
    return out


def _snap_outlet_mask(
    flw: Any,
    upa: np.ndarray,
    rcrs: Any,
    outlet: tuple[float, float],
    window: int,
    area: float | None,
    path: Path,
) -> tuple[np.ndarray, int]:
    """Cells draining to the outlet and the outlet cell, after snapping the outlet."""
    x, y = Transformer.from_crs("EPSG:4326", rcrs, always_xy=True).transform(*outlet)
    col_f, row_f = ~flw.transform * (x, y)  # inverse affine: map (x, y) to (col, row)
    r0, c0 = int(np.floor(row_f)), int(np.floor(col_f))
    nrow, ncol = upa.shape
    if not (0 <= r0 < nrow and 0 <= c0 < ncol):
        msg = f"the outlet {outlet} lies outside the raster {path.name}; check [basin] outlet"
        raise InputError(msg)
    r_lo, r_hi = max(r0 - window, 0), min(r0 + window + 1, nrow)
    c_lo, c_hi = max(c0 - window, 0), min(c0 + window + 1, ncol)
    win = np.where(np.isfinite(upa[r_lo:r_hi, c_lo:c_hi]), upa[r_lo:r_hi, c_lo:c_hi], -1.0)
    k = int(np.argmax(win)) if area is None else int(np.argmin(np.abs(win - area)))
    r, c = r_lo + k // win.shape[1], c_lo + k % win.shape[1]
    idx = np.array([r * ncol + c], dtype=np.int64)
    return np.asarray(flw.basins(idxs=idx), dtype=bool), int(idx[0])


def _from_flwdir(
    data: np.ndarray,
    transform: Any,
    rcrs: Any,
    nodata: Any,
    latlon: bool,
    *,
    d8: bool,
    path: Path,
    threshold_km2: float,
    target: CRS,
    outlet: tuple[float, float] | None,
    window: int,
    outlet_area: float | None,
    hydraulics: HydraulicsSection | None,
    source: str,
) -> RiverNetwork:
    # deferred: importing pyflwdir takes about a second (numba), and only this builder needs it
    import pyflwdir

    if d8:
        flw = pyflwdir.from_array(data, ftype="d8", transform=transform, latlon=latlon)
    else:
        nod = -9999.0 if nodata is None else float(nodata)
        flw = pyflwdir.from_dem(
            data.astype(np.float32), nodata=nod, transform=transform, latlon=latlon
        )
    upa = flw.upstream_area(unit="km2")
    if outlet is not None:
        # keep the basin above the outlet only: cells outside become nodata and the
        # outlet cell a pit, so streams end exactly at the outlet
        in_basin, out_idx = _snap_outlet_mask(flw, upa, rcrs, outlet, window, outlet_area, path)
        dirs = np.asarray(flw.to_array(ftype="d8"))
        dirs[~in_basin] = 247
        dirs.flat[out_idx] = 0
        flw = pyflwdir.from_array(dirs, ftype="d8", transform=transform, latlon=latlon)
        upa = flw.upstream_area(unit="km2")
    mask = upa >= threshold_km2
    if not mask.any():
        msg = (
            f"no cell of {path.name} has an upstream area >= {threshold_km2:g} km2 "
            f"(largest: {float(np.nanmax(upa)):.1f} km2)"
        )
        raise InputError(msg)
    # pyflwdir ends every stream system with a zero-length segment at its pit; it is
    # kept as the outlet reach so that streams meeting at a pit share one outlet.
    feats = flw.streams(mask=mask)
    segs = gpd.GeoDataFrame.from_features(feats, crs=rcrs)
    idx0 = segs["idx"].to_numpy(dtype=np.int64)
    idx_ds = segs["idx_ds"].to_numpy(dtype=np.int64)
    # reach outlet cell: the last cell of the segment, unless that cell starts the next
    coords = [np.asarray(geom.coords) for geom in segs.geometry]
    sorter = np.argsort(idx0)
    pos = np.clip(np.searchsorted(idx0, idx_ds, sorter=sorter), 0, len(idx0) - 1)
    has_ds = (idx0[sorter[pos]] == idx_ds) & ~segs["pit"].to_numpy(dtype=bool)
    ds_pos = np.where(has_ds, sorter[pos], -1)
    out_xy = np.array([c[-2] if h else c[-1] for c, h in zip(coords, has_ds, strict=True)])
    idx_out = np.asarray(flw.index(out_xy[:, 0], out_xy[:, 1]), dtype=np.int64)
    ids = np.arange(1, len(segs) + 1, dtype=np.int64)
    basins = flw.basins(idxs=idx_out, ids=ids.astype(np.uint32))
    cell_km2 = flw.area.ravel() / 1e6
    local = np.bincount(basins.ravel(), weights=cell_km2, minlength=len(ids) + 1)[1:]
    table = gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "downstream_id": np.where(ds_pos >= 0, ids[np.maximum(ds_pos, 0)], OUTLET_ID),
            "local_area_km2": local,
            "upstream_area_dem_km2": upa.ravel()[idx_out],
            "cell_idx_out": idx_out,
        },
        geometry=segs.geometry.to_numpy(),
        crs=rcrs,
    ).to_crs(target)
    # A zero-length pit segment with a single inflow carries no geometry and joins
    # nothing: drop it, so the reach above becomes the outlet. Pits where several
    # streams meet are kept, so that those streams stay one network.
    inflows = table["downstream_id"].value_counts()
    zero = (table.geometry.length.to_numpy() == 0) & (
        table["reach_id"].map(inflows).fillna(0).to_numpy() <= 1
    )
    if zero.any():
        dropped = set(table.loc[zero, "reach_id"].tolist())
        table = table.loc[~zero].reset_index(drop=True)
        table.loc[table["downstream_id"].isin(dropped), "downstream_id"] = OUTLET_ID
    return network_from_table(
        table,
        hydraulics=hydraulics,
        source=source or f"pyflwdir D8 streams >= {threshold_km2:g} km2 from {path.name}",
        derived=True,
    )
