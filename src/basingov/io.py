"""Readers and writers: vector layers, rasters, station tables, safe (atomic) outputs."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from basingov import _outdir
from basingov._checks import expand_user, require_columns, require_projected
from basingov._outdir import temp_file_name
from basingov._tables import read_table
from basingov.errors import CRSError, InputError, OutputError, OutputExistsError

__all__ = [
    "RasterBand",
    "atomic_dir",
    "atomic_path",
    "check_output_folder",
    "check_overwrite",
    "clean_outputs",
    "list_layers",
    "no_sqlite_sync",
    "read_raster",
    "read_stations",
    "read_vector",
    "require_projected",
    "sha256",
    "to_jsonable",
    "write_csv",
    "write_gpkg",
    "write_json",
    "write_vector",
]


logger = logging.getLogger(__name__)
_VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".topojson", ".parquet", ".geoparquet"}


def _missing_file_message(path: Path) -> str:
    return (
        f"Vector file {path} does not exist; check the path (relative paths in a basin "
        "config are resolved against the config's folder)"
    )


def _describe(path: Path, layer: str | None) -> str:
    return f"{path}" + (f" (layer {layer!r})" if layer else "")


def list_layers(path: str | Path) -> list[str]:
    """Return the layer names of a vector file.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON or TopoJSON file.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        If the file does not exist or cannot be opened as a vector source.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(_missing_file_message(path))
    if path.suffix.lower() in {".parquet", ".geoparquet"}:
        return [path.stem]
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        msg = f"Cannot open {path} as a vector file: {exc}"
        raise InputError(msg) from exc


def _is_topojson(path: Path) -> bool:
    if path.suffix.lower() == ".topojson":
        return True
    if path.suffix.lower() != ".json":
        return False
    with path.open("rb") as fh:
        head = fh.read(200).decode("utf-8", errors="ignore")
    return '"Topology"' in head.replace(" ", "")


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    required_columns: Sequence[str] | None = None,
    encoding: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read one vector layer into a GeoDataFrame, with clear errors.

    Supports GeoPackage, Shapefile (with a DBF ``encoding`` such as ``"GBK"``),
    GeoJSON, TopoJSON (assumed WGS84, as the format prescribes) and GeoParquet.

    Parameters
    ----------
    path
        The file to read.
    layer
        Layer name; required when the file has several layers.
    required_columns
        Attribute columns that must exist; a missing one is an error naming the
        columns that do exist. Every column is read (unlike geopandas' ``columns=``,
        which reads only those).
    encoding
        Attribute encoding for Shapefiles whose ``.cpg`` is missing or wrong.
    bbox
        Optional ``(minx, miny, maxx, maxy)`` filter in the layer's CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in the file's CRS.

    Raises
    ------
    InputError
        If the file or layer is missing, unreadable, or lacks a required column, or a
        Shapefile without ``.cpg`` holds text in another encoding than Latin-1 (e.g. GBK).
    CRSError
        If the layer has no CRS (the message gives the fix).

    Examples
    --------
    >>> from basingov.datasets import data_dir
    >>> gdf = read_vector(data_dir() / "boundaries" / "rhine.gpkg", layer="basin")
    >>> gdf.crs.to_epsg()
    4326
    """
    path = expand_user(path, what="vector file")  # also refuses non-UTF-8 names (GDAL)
    if not path.exists():
        raise InputError(_missing_file_message(path))
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".geoparquet"}:
        try:
            gdf = gpd.read_parquet(path, bbox=bbox)
        except (ValueError, OSError) as exc:
            msg = f"Cannot read {path} as GeoParquet: {exc}"
            raise InputError(msg) from exc
    else:
        layers = list_layers(path)
        if layer is None and len(layers) > 1 and not _is_topojson(path):
            msg = f"{path} has {len(layers)} layers {layers}; pass layer=... to choose one"
            raise InputError(msg)
        if layer is not None and layer not in layers:
            msg = f"{path} has no layer {layer!r}; available layers are {layers}"
            raise InputError(msg)
        kwargs: dict[str, Any] = {}
        if encoding:
            kwargs["encoding"] = encoding
        try:
            with warnings.catch_warnings():
                # NaN vertices: shapely warns while decoding; the layer checks name the rows
                warnings.filterwarnings("ignore", "invalid value encountered in from_wkb")
                gdf = gpd.read_file(path, layer=layer, bbox=bbox, engine="pyogrio", **kwargs)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            msg = f"Cannot read {_describe(path, layer)}: {exc}"
            raise InputError(msg) from exc
        except UnicodeDecodeError as exc:
            msg = (
                f"Cannot decode the attributes of {_describe(path, layer)} ({exc}); "
                "pass encoding=... (e.g. 'GBK' for Chinese NFGIS shapefiles)"
            )
            raise InputError(msg) from exc
        if not isinstance(gdf, gpd.GeoDataFrame):  # a CSV, an attribute-only table
            msg = (
                f"{_describe(path, layer)} has no geometry column (it is an attribute table); "
                "give a layer of points, lines or polygons"
            )
            raise InputError(msg)
        if gdf.crs is None and _is_topojson(path):
            gdf = gdf.set_crs("EPSG:4326")
        if suffix == ".shp" and not encoding and not path.with_suffix(".cpg").exists():
            _check_dbf_encoding(gdf, path)
    if gdf.crs is None:
        msg = (
            f"{_describe(path, layer)} has no CRS. Add a .prj / set it with "
            "gdf.set_crs('EPSG:4326') (or the layer's true CRS) and save again"
        )
        raise CRSError(msg)
    if required_columns:
        missing = [c for c in required_columns if c not in gdf.columns]
        if missing:
            msg = (
                f"{_describe(path, layer)} lacks column(s) {missing}; "
                f"its columns are {[c for c in gdf.columns if c != 'geometry']}. "
                "Rename the columns in the file (for river network layers, the basin config's "
                "[networks.<name>] *_column keys can name other columns instead)"
            )
            raise InputError(msg)
    return gdf


def _looks_cjk(text: str) -> bool:
    chars = [c for c in text if not c.isspace()]
    cjk = sum("\u3400" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in chars)
    return bool(chars) and cjk / len(chars) >= 0.5


def _check_dbf_encoding(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse Shapefile text that a missing .cpg made unreadable (e.g. GBK read as Latin-1).

    Without a ``.cpg`` the DBF text is decoded as Latin-1. If a column's non-ASCII text
    then decodes cleanly as UTF-8, or is mostly non-ASCII (as double-byte text is) and
    decodes as GBK or Big5 into mostly CJK characters, it was written in that encoding:
    reading on would silently garble every name.
    """
    for col in gdf.columns:
        if col == gdf.geometry.name or gdf[col].dtype.kind not in "OSU":
            continue
        values = [v for v in gdf[col].dropna().unique()[:500] if isinstance(v, str)]
        values = [v for v in values if not v.isascii()]
        if not values:
            continue
        try:
            raw = [v.encode("latin-1") for v in values]
        except UnicodeEncodeError:
            continue  # not decoded as Latin-1
        letters = [c for v in values for c in v if not (c.isascii() and not c.isalpha())]
        high = sum(ord(c) > 127 for c in letters)
        double_byte = high >= 4 and high >= 0.6 * len(letters)
        for enc in ("utf-8", "gbk", "big5"):
            if enc != "utf-8" and not double_byte:
                break
            try:
                decoded = [r.decode(enc) for r in raw]
            except UnicodeDecodeError:
                continue
            if enc == "utf-8" or _looks_cjk("".join(decoded)):
                msg = (
                    f"{path} has no .cpg file, so its text was read as Latin-1, which gives "
                    f"{values[0]!r} in column {col!r}; as {enc.upper()} it reads "
                    f"{decoded[0]!r}. Add {path.with_suffix('.cpg').name} containing the "
                    f"encoding (e.g. {enc.upper()}) next to the .shp, or pass "
                    f"encoding={enc.upper()!r}"
                )
                raise InputError(msg)


class RasterBand(NamedTuple):
    """One band of a raster file, as :func:`read_raster` returns it."""

    #: The cells, masked where the file says no data.
    data: np.ma.MaskedArray
    #: Affine transform from cell (col, row) to the raster's CRS.
    transform: Any
    #: The raster's CRS.
    crs: Any
    #: The file's no-data value (None if it declares none).
    nodata: float | None


def read_raster(path: str | Path, *, what: str = "raster", band: int | None = 1) -> RasterBand:
    """Read one band of a raster file (a GeoTIFF or another GDAL raster), with its CRS.

    Parameters
    ----------
    path
        The raster file.
    what
        How to name it in errors, e.g. ``"population raster"``.
    band
        Band number, from 1; None reads the last band.

    Returns
    -------
    RasterBand
        The masked cells, transform, CRS and no-data value.

    Raises
    ------
    InputError
        If the file cannot be read as a raster or has no such band.
    CRSError
        If the raster has no CRS.

    Examples
    --------
    >>> read_raster("no/such.tif", what="land-cover raster")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: cannot read land-cover raster no/such.tif (a GeoTIFF or another GDAL raster is needed): no/such.tif: No such file or directory
    """  # noqa: E501
    # deferred: rasterio (GDAL) takes about 0.4 s to import, only raster inputs need it,
    # and `basingov --help` (which imports this module) must not pay it
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as src:
            b = src.count if band is None else int(band)
            if not 1 <= b <= src.count:
                msg = f"{what} {path} has bands 1..{src.count}, asked for band {b}"
                raise InputError(msg)
            out = RasterBand(src.read(b, masked=True), src.transform, src.crs, src.nodata)
    except RasterioIOError as exc:
        msg = f"cannot read {what} {path} (a GeoTIFF or another GDAL raster is needed): {exc}"
        raise InputError(msg) from exc
    if out.crs is None:
        msg = f"{what} {path} has no CRS; write one with rasterio (e.g. EPSG:4326)"
        raise CRSError(msg)
    return out


def read_stations(
    path: str | Path,
    *,
    id_column: str = "station_id",
    lon_column: str = "lon",
    lat_column: str = "lat",
) -> gpd.GeoDataFrame:
    """Read a station table (CSV) into points in EPSG:4326.

    Stations without coordinates are kept with an empty geometry, so that callers
    can report them as unlocated instead of losing them.

    Parameters
    ----------
    path
        CSV with at least an id, a longitude and a latitude column.
    id_column, lon_column, lat_column
        Column names.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per row, in EPSG:4326 (empty where a coordinate is missing).

    Raises
    ------
    InputError
        If the file or a column is missing, ids repeat, or coordinates are not numbers or
        out of range.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"Station table {path} does not exist"
        raise InputError(msg)
    try:
        df = read_table(path, what="Station table", dtype={id_column: str})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = f"Cannot read station table {path}: {exc}"
        raise InputError(msg) from exc
    require_columns(df, (id_column, lon_column, lat_column), what=f"Station table {path}")
    problems: list[str] = []
    dup = df[id_column][df[id_column].duplicated()].unique().tolist()
    if dup:
        problems.append(f"repeated {id_column} values {dup[:10]}")
    lon = pd.to_numeric(df[lon_column], errors="coerce")
    lat = pd.to_numeric(df[lat_column], errors="coerce")
    # text such as '1°E' became a missing coordinate: the station silently unlocated
    text = (lon.isna() & df[lon_column].notna()) | (lat.isna() & df[lat_column].notna())
    if text.any():
        problems.append(
            f"{lon_column}/{lat_column} are not decimal degrees at "
            f"{df.loc[text, id_column].tolist()[:10]}; write numbers such as 120.5 (leave both "
            "empty for a station without a location)"
        )
    bad = df.loc[(lon.abs() > 180) | (lat.abs() > 90), id_column].tolist()
    if bad:
        problems.append(f"coordinates out of range (lon within ±180, lat within ±90) at {bad[:10]}")
    if problems:
        msg = f"Station table {path}: " + "; ".join(problems)
        raise InputError(msg)
    geom = gpd.points_from_xy(lon, lat)
    geom[lon.isna().to_numpy() | lat.isna().to_numpy()] = None
    return gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")


def sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_text("abc")
    >>> sha256(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def check_overwrite(path: str | Path, *, overwrite: bool) -> Path:
    """Refuse to replace an existing output unless ``overwrite`` is true.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    OutputError
        If ``path`` is a folder, a file stands where a parent folder of ``path`` should be,
        or its name is too long for the temporary name written beside it.
    """
    try:
        path = expand_user(path, what="output file")
    except InputError as exc:
        raise OutputError(str(exc)) from None
    if path.is_dir():
        msg = f"{path} is a folder; give a file name (basingov does not replace folders by files)"
        raise OutputError(msg)
    if path.exists() and not overwrite:
        msg = f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
        raise OutputExistsError(msg)
    anc = path.absolute().parent
    while not anc.exists() and not anc.is_symlink():
        anc = anc.parent
    if not anc.is_dir():
        msg = f"cannot write {path}: {anc} is a file, not a folder (or a broken link)"
        raise OutputError(msg)
    _outdir.check_name_length(path, what="output file")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched. A
    symbolic link at ``path`` is kept and its target replaced; a folder at ``path`` is
    never replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = check_overwrite(path, overwrite=overwrite)
    if path.is_dir():
        msg = f"{path} is a folder; give a file name (basingov does not replace folders by files)"
        raise OutputError(msg)
    try:
        real = path.resolve() if path.is_symlink() else path
    except (RuntimeError, OSError) as exc:  # a link loop
        msg = f"cannot write {path}: {exc}; give another file name"
        raise OutputError(msg) from None
    real.parent.mkdir(parents=True, exist_ok=True)
    _outdir.remove_stale(real)  # temporary files of dead processes writing the same file
    tmp = temp_file_name(real)
    try:
        try:
            yield tmp
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise _write_error(exc, real) from exc
        if real.is_dir():
            msg = f"{real} became a folder while basingov was writing it; left it as it is"
            raise OutputError(msg)
        os.replace(tmp, real)
    finally:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def _nearly_full(path: Path, *, min_free_bytes: int = 64 * 1024) -> bool:
    """Return True if the disk holding ``path`` has less than ``min_free_bytes`` free."""
    for p in (path, *path.parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free < min_free_bytes
            except OSError:
                return False
    return False


def _write_error(exc: Exception, path: Path) -> Exception:
    """Turn a GDAL write failure into the OS error it stands for, or an OutputError."""
    text = str(exc)
    if "disk is full" in text or "No space left" in text or _nearly_full(path):
        # SQLite (GeoPackage) does not always say why a write failed when the disk fills
        # (e.g. "no such table" after a failed CREATE): a full disk is checked directly
        return OSError(errno.ENOSPC, "No space left on device", str(path))
    if "Permission denied" in text or "readonly" in text or "read-only" in text:
        return PermissionError(errno.EACCES, "Permission denied", str(path))
    return OutputError(f"cannot write {path}: {text}")


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` on success.

    A failed run leaves no partial output: the temporary folder is deleted and an
    existing ``path`` is kept as it was. While the block runs, the output folder is
    locked against other runs; leftovers of dead runs to the same folder are removed
    first. On success the folder gets a manifest (``.basingov-manifest.json``) listing
    its files: ``overwrite`` replaces only folders whose files are all listed in theirs.
    Folders get the permissions the umask allows. A symbolic link at ``path`` is kept
    and its target folder replaced. See :mod:`basingov._outdir`.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false, or holds files basingov did not
        write, or appeared during the run.
    OutputLockedError
        If another run is writing ``path``.
    OutputError
        If ``path`` is unusable as an output folder (the current folder, a file, below a
        file, not writable).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_dir(target) as tmp:
    ...     _ = (tmp / "a.csv").write_text("x")
    >>> sorted(p.name for p in target.iterdir())
    ['.basingov-manifest.json', 'a.csv']
    """
    real = _outdir.check_output_dir(path, overwrite=overwrite)
    with _outdir.output_lock(real) as locked:
        _outdir.remove_stale(real, locked=locked)  # under the lock: every other one is dead
        real = _outdir.check_output_dir(real, overwrite=overwrite)  # again, under the lock
        tmp = _outdir.make_temp_dir(real)
        try:
            yield tmp
            _outdir.write_manifest(tmp)
            _outdir.commit_dir(tmp, real, overwrite=overwrite)
        finally:
            if tmp.exists():
                with _outdir.signals_deferred():  # a second Ctrl-C must not stop the cleanup
                    shutil.rmtree(tmp, ignore_errors=True)


def check_output_folder(path: str | Path, *, overwrite: bool) -> Path:
    """Check an output folder before any work; return its real path.

    The checks :func:`atomic_dir` makes again when it starts: not the current folder or a
    parent of it, no file in the way, writable, and with ``overwrite`` a folder basingov
    wrote (see :func:`basingov._outdir.check_output_dir`).

    Raises
    ------
    OutputError, OutputExistsError
        As :func:`atomic_dir`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_output_folder(pathlib.Path(tempfile.mkdtemp()) / "new", overwrite=False).name
    'new'
    """
    return _outdir.check_output_dir(path, overwrite=overwrite)


def clean_outputs(folder: str | Path) -> list[Path]:
    """Remove the leftovers of dead runs beside and inside ``folder``; return them.

    Temporary folders and files of killed runs (``.NAME.basingov-<pid>-*.tmp``, of
    processes that no longer exist) and lock files no process holds. Outputs and the
    files of live runs are never touched. The CLI is ``basingov clean FOLDER``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> clean_outputs(pathlib.Path(tempfile.mkdtemp()) / "out")
    []
    """
    return _outdir.clean(folder)


def _prepare_for_file(gdf: pd.DataFrame) -> pd.DataFrame:
    """Make columns writable by OGR: lists/dicts to JSON text, bool to int.

    A shallow copy: only the columns that change are new, the others are the caller's
    (a file writer sets columns of the copy, which leaves the caller's frame as it was).
    """
    dup = sorted({str(c) for c in gdf.columns[gdf.columns.duplicated()]})
    if dup:
        msg = f"the table has repeated column names {dup}; rename or drop them before writing"
        raise InputError(msg)
    out = gdf.copy(deep=False)
    for col in out.columns:
        if col == getattr(out, "_geometry_column_name", None):
            continue
        s = out[col]
        if s.dtype == object and _holds_containers(s):
            out[col] = s.map(
                lambda v: (
                    json.dumps(sorted(v) if isinstance(v, set) else v, default=str)
                    if isinstance(v, list | tuple | dict | set)
                    else v
                )
            )
        elif s.dtype == bool:
            out[col] = s.astype(np.int8)
    return out


#: What ``infer_dtype`` says of an object column none of whose values is a list, tuple,
#: dict or set (it says ``mixed`` or another word of a column holding one).
_NO_CONTAINERS = frozenset({"string", "empty", "boolean", "integer", "floating"})


def _holds_containers(s: pd.Series) -> bool:
    """Whether an object column holds a list, tuple, dict or set (written as JSON text).

    Examples
    --------
    >>> _holds_containers(pd.Series(["a", None, "b"], dtype=object))
    False
    >>> _holds_containers(pd.Series(["a", ["b", "c"]], dtype=object))
    True
    """
    if pd.api.types.infer_dtype(s, skipna=True) in _NO_CONTAINERS:
        return False
    return bool(s.map(lambda v: isinstance(v, list | tuple | dict | set)).any())


def _distinct_ignoring_case(df: pd.DataFrame) -> pd.DataFrame:
    """Rename columns that repeat another's name but for case (``NAME`` after ``name``).

    GeoPackage (SQLite) column names ignore case, so a layer with both could not be
    written (a user's ``NAME`` next to the ``name`` a builder derives, after the whole
    run). Later columns get a suffix: ``NAME`` -> ``NAME_2``.

    Examples
    --------
    >>> list(_distinct_ignoring_case(pd.DataFrame(columns=["name", "NAME", "Name"])).columns)
    ['name', 'NAME_2', 'Name_3']
    """
    seen: set[str] = set()
    rename: dict[str, str] = {}
    for col in df.columns:
        key = str(col).casefold()
        if key in seen:
            k = 2
            while f"{col}_{k}".casefold() in seen:
                k += 1
            rename[str(col)] = f"{col}_{k}"
            key = rename[str(col)].casefold()
        seen.add(key)
    if rename:
        logger.info("columns renamed for GeoPackage (names ignore case there): %s", rename)
        df = df.rename(columns=rename)
    return df


def write_vector(
    gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None, overwrite: bool = False
) -> Path:
    """Write one layer to GeoPackage, GeoJSON, GeoParquet or CSV (with WKT), atomically.

    Raises
    ------
    InputError
        If the file suffix is not a supported output format.
    OutputExistsError
        If the file exists and ``overwrite`` is false.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".gpkg", ".geojson", ".json", ".parquet", ".csv"}:
        msg = f"Cannot write {path}: use a .gpkg, .geojson, .parquet or .csv file name"
        raise InputError(msg)
    with atomic_path(path, overwrite=overwrite) as tmp:
        data = _prepare_for_file(gdf)
        if suffix == ".csv":
            data = pd.DataFrame(data)
            if "geometry" in data:
                data["geometry"] = gpd.GeoSeries(data["geometry"]).to_wkt()
            data.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            data.to_parquet(tmp)
        else:
            driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
            geo = gpd.GeoDataFrame(_distinct_ignoring_case(data) if driver == "GPKG" else data)
            if driver == "GeoJSON" and geo.crs is not None and geo.crs.to_epsg() != 4326:
                geo = geo.to_crs("EPSG:4326")
            pyogrio.write_dataframe(geo, tmp, layer=layer, driver=driver)
    return path


@contextlib.contextmanager
def no_sqlite_sync() -> Iterator[None]:
    """Let GDAL skip SQLite's fsync after each transaction while the block runs.

    Only for files written under a temporary name and renamed into place afterwards
    (:func:`atomic_path`): a crash leaves an unfinished temporary file, which is discarded
    either way, so the syncs buy nothing and cost seconds on a slow disk.

    Examples
    --------
    >>> with no_sqlite_sync():  # OFF (pyogrio reads it back as a boolean)
    ...     pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    False
    >>> pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None
    True
    """
    key = "OGR_SQLITE_SYNCHRONOUS"
    old = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: old})


def write_gpkg(
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    path: str | Path,
    *,
    overwrite: bool = False,
    geometry_types: Mapping[str, str] | None = None,
) -> Path:
    """Write several named layers into one GeoPackage, atomically.

    Non-spatial DataFrames are written as attribute-only tables. An empty layer gets
    its geometry type from ``geometry_types`` (layer name -> OGR type such as
    ``"LineString"``), so GIS software still sees a line or point layer.

    Raises
    ------
    EmptyResultError
        Never; empty layers are written with their schema.
    OutputExistsError
        If the file exists and ``overwrite`` is false.
    """
    path = Path(path)
    if not layers:
        msg = f"no layers to write to {path}: give at least one named layer"
        raise InputError(msg)
    with atomic_path(path, overwrite=overwrite) as tmp, no_sqlite_sync():
        for name, df in layers.items():
            data = _distinct_ignoring_case(_prepare_for_file(df))
            arrow = _arrow_writable(data)
            if isinstance(data, gpd.GeoDataFrame):
                gtype = (geometry_types or {}).get(name) if data.empty else None
                pyogrio.write_dataframe(
                    data,
                    tmp,
                    layer=name,
                    driver="GPKG",
                    append=tmp.exists(),
                    geometry_type=gtype,
                    use_arrow=arrow,
                )
            else:
                pyogrio.write_dataframe(
                    pd.DataFrame(data),
                    tmp,
                    layer=name,
                    driver="GPKG",
                    append=tmp.exists(),
                    use_arrow=arrow,
                )
    return path


def _arrow_writable(df: pd.DataFrame) -> bool:
    """Whether pyogrio's Arrow writer gives this layer the same fields as its row writer.

    The Arrow path writes a layer about twice as fast, and for numbers and text the two
    writers store the same field types and values. Other columns (objects holding bools
    or mixed values, dates, categories) are stored differently by the two, e.g. an object
    column of bools as ``BOOLEAN`` instead of ``TEXT``; a layer with one of them keeps
    the row writer, so every layer reads back as before.

    Examples
    --------
    >>> _arrow_writable(pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, None]}))
    True
    >>> _arrow_writable(pd.DataFrame({"flag": [True, None]}, dtype=object))
    False
    """
    geometry = getattr(df, "_geometry_column_name", None)
    for col in df.columns:
        if col == geometry:
            continue
        dtype = df[col].dtype
        if isinstance(dtype, pd.StringDtype):
            continue
        if isinstance(dtype, np.dtype) and dtype.kind == "O":
            if pd.api.types.infer_dtype(df[col], skipna=True) not in {"string", "empty"}:
                return False
        elif not (isinstance(dtype, np.dtype) and dtype.kind in "iuf"):
            return False
    return True


def write_csv(df: pd.DataFrame, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a table to CSV atomically (geometry, if any, as WKT)."""
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        data = _prepare_for_file(df)
        data = pd.DataFrame(data)
        if "geometry" in data.columns:
            data["geometry"] = gpd.GeoSeries(data["geometry"]).to_wkt()
        text = _csv_text(data)
        if text is None:
            _floats_as_objects(data).to_csv(tmp, index=False)
        else:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                fh.write(text)
    return path


#: Characters that make pandas' CSV writer (the csv module, ``QUOTE_MINIMAL``) quote a
#: field: the delimiter, the quote character and those of the line terminator.
_CSV_QUOTED = frozenset(',"' + os.linesep)


def _csv_field(text: str) -> str:
    """Return ``text`` as a CSV field, quoted (and its quotes doubled) only when needed.

    Examples
    --------
    >>> _csv_field("DE1"), _csv_field("a, b"), _csv_field('a"b')
    ('DE1', '"a, b"', '"a""b"')
    """
    if _CSV_QUOTED.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _csv_column(s: pd.Series) -> list[str] | None:
    """Return the CSV fields pandas writes for a column, or None for a type left to pandas.

    Integers (``str``), float64 (``repr``, the text of :func:`_floats_as_objects`), bools
    and text, also as objects (missing values are empty fields), are formatted here:
    each distinct value once, which is most of the work in a long table of repeated
    names and factors.
    """
    dtype = s.dtype
    values = s.to_numpy()
    if dtype == np.float64:
        return _csv_floats([values])[0]
    if dtype == np.bool_:
        return ["True" if v else "False" for v in values.tolist()]
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        codes, uniques = pd.factorize(values)
        return list(np.array(list(map(str, uniques.tolist())), dtype=object)[codes])
    if isinstance(dtype, pd.StringDtype) or (
        dtype == np.dtype(object) and pd.api.types.infer_dtype(values, skipna=True) in _CSV_OBJECTS
    ):
        codes, uniques = pd.factorize(values)  # a missing value has code -1: the last text
        texts = [_csv_field(str(v)) for v in np.asarray(uniques, dtype=object).tolist()]
        return list(np.array([*texts, ""], dtype=object)[codes])
    return None


def _csv_floats(columns: Sequence[np.ndarray]) -> list[list[str]]:
    """Return the CSV fields of float64 columns (``repr``; NaN is an empty field).

    The columns are formatted together: each distinct value once, also when it is in
    several columns of a table (a load and the load before a calibration).

    Examples
    --------
    >>> _csv_floats([np.array([0.1, np.nan]), np.array([-0.0, 0.1])])
    [['0.1', ''], ['-0.0', '0.1']]
    """
    values = np.concatenate(columns) if len(columns) > 1 else columns[0]
    # the bits, not the values: -0.0 is not 0.0, and every NaN is an empty field
    codes, uniques = pd.factorize(values.view(np.int64))
    reprs = np.array(list(map(float.__repr__, uniques.view(np.float64).tolist())), dtype=object)
    out = reprs[codes]
    out[np.isnan(values)] = ""
    ends = np.cumsum([len(c) for c in columns])
    return [list(part) for part in np.split(out, ends[:-1])]


#: Object columns formatted by :func:`_csv_column` (what ``infer_dtype`` says of their
#: values besides missing ones): the csv module writes ``str()`` of each of these.
_CSV_OBJECTS = ("string", "empty", "boolean", "integer")


def _csv_text(data: pd.DataFrame) -> str | None:
    """Return ``data.to_csv(index=False)`` built column by column, or None to leave it to pandas.

    pandas hands every field to the csv module row by row; here each column is formatted
    at once (:func:`_csv_column`) and the rows joined, several times faster on a large
    table and the same text. Frames with a column of another type (dates, nullable
    integers, categories, float32, objects of other or mixed types), a label that is not text,
    or a single column (the csv module quotes an empty row) are left to pandas.

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["a", None, 'x"y'], "v": [0.1, float("nan"), -0.0],
    ...                    "n": [1, 2, 3], "ok": [True, False, True]})
    >>> _csv_text(df) == df.to_csv(index=False)
    True
    >>> _csv_text(df.astype({"n": "Int64"})) is None
    True
    """
    labels = list(data.columns)
    if len(labels) < 2 or not all(isinstance(c, str) for c in labels):
        return None
    # the float64 columns together (each value of the table formatted once), after the
    # others: one of those may leave the table to pandas
    floats = [i for i in range(len(labels)) if data.dtypes.iloc[i] == np.float64]
    columns: dict[int, list[str]] = {}
    for i in range(len(labels)):
        if i not in floats:
            col = _csv_column(data.iloc[:, i])
            if col is None:
                return None
            columns[i] = col
    if floats:
        texts = _csv_floats([data.iloc[:, i].to_numpy() for i in floats])
        columns.update(zip(floats, texts, strict=True))
    ordered = [columns[i] for i in range(len(labels))]
    lines = [",".join(map(_csv_field, labels)), *map(",".join, zip(*ordered, strict=True))]
    return os.linesep.join(lines) + os.linesep


def _floats_as_objects(data: pd.DataFrame) -> pd.DataFrame:
    """Return ``data`` with its float64 columns as Python floats, for a faster ``to_csv``.

    pandas writes a float64 column through numpy's float-to-text cast, and Python floats
    through the csv module, which prints ``repr(x)``. Both give the shortest text that
    reads back as the same double (``1e-05``, ``1e+16``, ``inf``, ``-0.0``), and missing
    values are the empty field either way; ``repr`` is the faster of the two. Other
    columns, float32 included (its shortest text is not that of the double), are kept.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [0.1, 1e-05, 1e16, None, -0.0, 2.5], "n": [1, 2, 3, 4, 5, 6]})
    >>> _floats_as_objects(df).to_csv(index=False) == df.to_csv(index=False)
    True
    >>> _floats_as_objects(df).dtypes.astype(str).tolist()
    ['object', 'int64']
    """
    floats = [c for c, dt in data.dtypes.items() if dt == np.float64]
    if not floats:
        return data
    return data.astype(dict.fromkeys(floats, object))


def write_json(obj: Any, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write JSON atomically (UTF-8, indented, NaN as null)."""
    path = Path(path)
    try:
        text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False)
    except (TypeError, ValueError) as exc:  # a set, a date, an array, a circular reference
        msg = (
            f"cannot write {path} as JSON: {exc}; convert the value to numbers, text, lists "
            "or dicts first"
        )
        raise InputError(msg) from None
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars, paths and non-finite floats into plain JSON values."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return None if not np.isfinite(v) else v
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj
