"""Validators that collect every problem of an input, then report them at once."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd

from basingov._checks import JURISDICTION_COLUMNS
from basingov._layer_checks import (
    basin_jurisdiction_problems,
    basin_problems,
    check_layer,
    jurisdiction_problems,
    network_layer_problems,
)
from basingov._tables import (
    JURISDICTION_TABLE_CHECKS,
    check_table,
    jurisdiction_table_problems,
    read_table,
)
from basingov.config import BasinConfig
from basingov.errors import BasingovError, BasingovWarning, InputError
from basingov.io import read_stations, read_vector
from basingov.loads import check_population_raster
from basingov.loads.diffuse import check_landcover_raster
from basingov.loads.sewage import read_census, read_plants
from basingov.monitoring import (
    PROXY_STATUSES,
    apply_proxy_locations,
    normalise_observations,
    read_station_table,
)
from basingov.monitoring.assess import excluded_values, observation_problems
from basingov.monitoring.units import read_observation_rows
from basingov.network.assemble import assemble_network, read_gauges, regionalise_to_gauges

__all__ = [
    "GAUGE_REPORT",
    "LayerReport",
    "check_layer",
    "gauge_fit_notes",
    "raise_if_problems",
    "validate_config_inputs",
]


@dataclass
class LayerReport:
    """What ``basingov validate`` says about one input layer or file."""

    what: str
    path: Path
    layer: str | None = None
    count: int | None = None
    crs: str | None = None
    extent: tuple[float, float, float, float] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON form of the report."""
        return {
            "what": self.what,
            "path": str(self.path),
            "layer": self.layer,
            "count": self.count,
            "crs": self.crs,
            "extent": list(self.extent) if self.extent else None,
            "problems": self.problems,
            "notes": self.notes,
        }


def raise_if_problems(problems: Sequence[str], *, where: str) -> None:
    """Raise one :class:`InputError` listing every problem, if there are any.

    Raises
    ------
    InputError
        If ``problems`` is not empty.
    """
    if problems:
        msg = f"{where}: " + "; ".join(problems)
        raise InputError(msg)


def _extent(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    if len(gdf) == 0 or gdf.crs is None:
        return None
    b = gdf.to_crs("EPSG:4326").total_bounds if gdf.crs.to_epsg() != 4326 else gdf.total_bounds
    return (
        round(float(b[0]), 4),
        round(float(b[1]), 4),
        round(float(b[2]), 4),
        round(float(b[3]), 4),
    )


def _vector_report(
    what: str,
    path: Path,
    layer: str | None,
    *,
    required: Sequence[str] = (),
    id_column: str | None = None,
    geometry_types: Iterable[str] | None = None,
    basin: bool = False,
    net: Any = None,
) -> tuple[LayerReport, gpd.GeoDataFrame | None]:
    rep = LayerReport(what=what, path=path, layer=layer)
    try:
        gdf = read_vector(path, layer=layer)
    except BasingovError as exc:
        rep.problems.append(str(exc))
        return rep, None
    rep.count = len(gdf)
    rep.crs = gdf.crs.to_string() if gdf.crs is not None else None
    rep.extent = _extent(gdf)
    if basin:
        rep.problems += basin_problems(gdf)
    elif net is not None:  # the checks the network builders make (columns, types, filter)
        rep.problems += network_layer_problems(gdf, net)
    else:
        rep.problems += check_layer(
            gdf, required_columns=required, id_column=id_column, geometry_types=geometry_types
        )
    return rep, gdf


def _raster_report(what: str, path: Path) -> LayerReport:
    # deferred: rasterio (GDAL) takes about 0.4 s to import and only raster inputs need it;
    # `basingov --help` imports this module
    import rasterio
    from rasterio.errors import RasterioIOError

    rep = LayerReport(what=what, path=path)
    if not path.is_file():
        rep.problems.append(f"file {path} does not exist")
        return rep
    try:
        with rasterio.open(path) as src:
            rep.count = src.width * src.height
            rep.crs = src.crs.to_string() if src.crs else None
            b = src.bounds
            rep.extent = (b.left, b.bottom, b.right, b.top)
            rep.notes.append(
                f"{src.width}x{src.height} cells, {src.res[0]:.6g} x {src.res[1]:.6g}, "
                f"dtype {src.dtypes[0]}, nodata {src.nodata}"
            )
            if src.crs is None:
                rep.problems.append("no CRS; write one with rasterio (dst.crs = ...)")
    except RasterioIOError as exc:
        rep.problems.append(f"cannot open as a raster: {exc}")
    return rep


def _load_input_reports(cfg: BasinConfig, basin: gpd.GeoDataFrame | None) -> list[LayerReport]:
    """Report the rasters, census and plant tables of ``[loads]``, checked as the load stage does.

    The removal the plants give each treatment country needs the boundaries: the run's
    preflight checks it (:mod:`basingov._preflight`).
    """
    ld = cfg.loads
    out = []
    rasters = (
        ("population_raster", partial(check_population_raster, band=ld.population_band)),
        ("landcover_raster", check_landcover_raster),
    )
    for opt, check in rasters:
        path = getattr(ld, opt)
        if path is None:
            continue
        rep = _raster_report(f"loads {opt}", path)
        if rep.ok:
            try:
                check(path, basin=basin)
            except BasingovError as exc:
                rep.problems.append(str(exc))
        out.append(rep)
    if ld.census is not None:
        rep = LayerReport(what="loads census", path=ld.census)
        try:
            rep.count = len(
                read_census(
                    ld.census, id_column=ld.census_id_column, value_column=ld.census_value_column
                )
            )
        except BasingovError as exc:
            rep.problems.append(str(exc))
        out.append(rep)
    for path in ld.treatment_plants:
        rep = LayerReport(what="loads treatment_plants", path=path)
        try:
            rep.count = len(read_plants([path]))
        except BasingovError as exc:
            rep.problems.append(str(exc))
        else:
            rep.notes.append("count: active plants (uwwState 1, in_basin 1 where given)")
        out.append(rep)
    return out


#: The ``what`` of the gauge report (:func:`gauge_fit_notes` adds to it).
GAUGE_REPORT = "hydraulics gauges"


def _gauge_report(cfg: BasinConfig) -> LayerReport:
    """Report the ``[hydraulics]`` gauges as the network stage reads them (``read_gauges``)."""
    h = cfg.hydraulics
    paths = (h.gauges, h.gauge_areas, cfg.monitoring.stations, cfg.source)
    rep = LayerReport(what=GAUGE_REPORT, path=next(p for p in paths if p is not None))
    try:
        g = read_gauges(cfg)
    except BasingovError as exc:
        rep.problems.append(str(exc))
        return rep
    if g is None:
        return rep
    rep.count = len(g)
    if h.gauge_areas is not None:  # the fit leaves out the gauges without an area
        ids = g.loc[g["area_km2"].isna(), "gauge_id"].astype(str).tolist()
        if ids:
            rep.notes.append(
                f"{len(ids)} gauge(s) without a published area (none of the ids of "
                f"{h.gauge_areas.name} in their {h.gauge_ref_column}) are left out of the "
                f"runoff fit: {ids[:10]}"
            )
    return rep


def gauge_fit_notes(rep: LayerReport, cfg: BasinConfig, basin: gpd.GeoDataFrame) -> None:
    """Say in the gauge report which gauges a run's runoff fit uses and which it leaves out.

    The fit needs the river network: it is assembled as a run assembles it (``basin`` is
    the basin polygon), and the gauges are fitted as the network stage fits them
    (:func:`basingov.network.assemble.regionalise_to_gauges`). What the run would warn
    (each gauge left out, and why: no published area, too far from any reach, a snapped
    upstream area off the published one, a reach another gauge holds) becomes a note of
    ``rep``, in place of the note on the gauges without an area that
    :func:`validate_config_inputs` made without the network. A network that cannot be built
    (e.g. an outlet far from every river) or a fit that fails is a problem of ``rep``. The
    network's own warnings are a run's to give, not validate's: they are not repeated.
    """
    if not rep.ok or not rep.count:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = assemble_network(cfg, basin)
    except BasingovError as exc:
        rep.problems.append(
            f"the river network cannot be built as a run builds it (validate builds it to "
            f"fit the gauges): {exc}"
        )
        return
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, check = regionalise_to_gauges(cfg, net)
    except BasingovError as exc:
        rep.problems.append(f"the runoff fit of a run would fail: {exc}")
        return
    if check is None:
        return
    used = int(check["modelled_m3s"].notna().sum())
    left = [str(w.message) for w in caught if issubclass(w.category, BasingovWarning)]
    rep.notes = [
        f"the runoff fit (on the network as a run assembles it) uses {used} of the "
        f"{len(check)} gauge(s)",
        *left,
    ]


#: What the load stage checks in each [loads] table (basingov.loads and the pipeline).
_LOAD_TABLES: dict[str, dict[str, Any]] = {
    "point_sources": {
        "lon_column": "uwwLongitude",
        "lat_column": "uwwLatitude",
    },
    "jurisdiction_table": JURISDICTION_TABLE_CHECKS,
}


def _jur_ids(jur: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the jurisdiction ids and levels with text ids, as the pipeline reads them."""
    out = jur[["jur_id", "level_name"]].copy()
    out["jur_id"] = out["jur_id"].astype(str)
    return out


def missing_file(section: str, key: str, path: Path | None) -> list[str]:
    """Return the problem of a ``[section].key`` file that is not there (or nothing).

    Examples
    --------
    >>> missing_file("loads", "point_sources", Path("/nowhere/plants.csv"))  # doctest: +ELLIPSIS
    ["[loads].point_sources = '/nowhere/plants.csv' does not exist (paths are relative ...)"]
    """
    if path is None or path.is_file():
        return []
    what = "is a folder, not a file" if path.is_dir() else "does not exist"
    return [f"[{section}].{key} = {str(path)!r} {what} (paths are relative to the config file)"]


def _point_summary(rep: LayerReport, points: gpd.GeoDataFrame) -> None:
    """Fill a report's count, CRS and extent from EPSG:4326 points (some without one)."""
    rep.count = len(points)
    rep.crs = "EPSG:4326"
    located = points.geometry.notna()
    if located.any():
        rep.extent = tuple(round(float(v), 4) for v in points[located].total_bounds)  # type: ignore[assignment]


def _proxy_report(path: Path, stations: gpd.GeoDataFrame | None) -> LayerReport:
    """Report on ``[monitoring] proxy_locations`` with the checks the monitoring stage makes.

    ``stations`` is the station table as read (None when it could not be read): the
    proxies must name its stations, and only its unlocated stations take a proxy.
    """
    rep = LayerReport(what="monitoring proxy_locations", path=path)
    rep.problems += missing_file("monitoring", "proxy_locations", path)
    if rep.problems:
        return rep
    try:
        proxies = read_stations(path)
        _point_summary(rep, proxies)
        if stations is None:
            return rep
        located = apply_proxy_locations(stations, proxies, source=path.name)
    except BasingovError as exc:
        rep.problems.append(f"[monitoring].proxy_locations = {str(path)!r}: {exc}")
        return rep
    unlocated = stations["location_status"] == "unlocated"
    used = proxies["station_id"].isin(stations.loc[unlocated, "station_id"])
    rep.notes.append(
        f"{int(used.sum())} unlocated station(s) located by proxy; "
        f"{int(located['location_status'].isin(list(PROXY_STATUSES)).sum())} proxies in "
        "all with the table's own"
    )
    if not used.all():  # apply_proxy_locations never replaces a location
        rep.notes.append(
            f"{int((~used).sum())} row(s) not used: their stations have a location in the "
            f"station table ({sorted(map(str, proxies.loc[~used, 'station_id']))[:10]})"
        )
    return rep


def validate_config_inputs(cfg: BasinConfig) -> list[LayerReport]:
    """Check every input a basin config refers to and report per layer.

    Parameters
    ----------
    cfg
        A loaded basin configuration.

    Returns
    -------
    list of LayerReport
        One report per layer or file; a report with problems means the input needs fixing.
    """
    reports: list[LayerReport] = []
    b = cfg.boundaries
    rep, jur = _vector_report(
        "jurisdictions",
        b.path,
        b.layer,
        required=JURISDICTION_COLUMNS,
        id_column="jur_id",
        geometry_types={"Polygon", "MultiPolygon"},
    )
    if jur is not None and "level_name" in jur.columns:
        rep.problems += jurisdiction_problems(jur, b.levels)
        counts = jur["level_name"].value_counts()
        rep.notes.append(
            "per level: " + ", ".join(f"{lv} {int(counts.get(lv, 0))}" for lv in b.levels)
        )
    reports.append(rep)
    rep, basin = _vector_report("basin", b.path, b.basin_layer, basin=True)
    if basin is not None and jur is not None and rep.ok and reports[-1].ok:
        rep.problems += basin_jurisdiction_problems(basin, jur, b.levels)
    reports.append(rep)

    for key, net in cfg.networks.items():
        if net.names_path is not None:  # the named line layers, in the order they name
            for layer in (net.names_layer, *net.names_more_layers):
                rep, _ = _vector_report(
                    f"network {key} (names)",
                    net.names_path,
                    layer,
                    required=[net.names_column],
                )
                reports.append(rep)
        if net.builder == "dem":
            for opt in ("d8_path", "elevation_path"):
                if opt in net.options:
                    reports.append(_raster_report(f"network {key} ({opt})", Path(net.options[opt])))
            continue
        if net.path is None:  # load_config requires it; kept for direct callers
            reports.append(
                LayerReport(what=f"network {key}", path=Path(), problems=["no 'path' given"])
            )
            continue
        rep, _ = _vector_report(f"network {key} ({net.builder})", net.path, net.layer, net=net)
        if net.derived:
            rep.notes.append("derived network: direction or geometry is not measured")
        reports.append(rep)

    lk = cfg.lakes
    if lk is not None:  # what the network stage reads (read_vector, lake_polygons' name column)
        rep = LayerReport(what="lakes", path=lk.path, layer=lk.layer)
        try:
            lakes = read_vector(lk.path, layer=lk.layer)
        except BasingovError as exc:
            rep.problems.append(str(exc))
        else:
            rep.count = len(lakes)
            rep.crs = lakes.crs.to_string() if lakes.crs is not None else None
            rep.extent = _extent(lakes)
            if lk.name_column not in lakes.columns:
                rep.problems.append(
                    f"no column {lk.name_column!r}; its columns are "
                    f"{sorted(map(str, lakes.columns))}; set [lakes] name_column"
                )
        reports.append(rep)

    mon = cfg.monitoring
    st: gpd.GeoDataFrame | None = None
    if mon.stations is not None:
        rep = LayerReport(what="stations", path=mon.stations)
        try:  # as the monitoring stage reads it (columns name and location_status too)
            st = read_station_table(mon.stations)
        except BasingovError as exc:
            rep.problems.append(str(exc))
        else:
            _point_summary(rep, st)
            located = st.geometry.notna()
            if (~located).any():
                rep.notes.append(
                    f"{int((~located).sum())} station(s) without coordinates (unlocated)"
                )
        reports.append(rep)
    if mon.proxy_locations is not None:
        reports.append(_proxy_report(mon.proxy_locations, st))
    if mon.observations is not None:
        rep = LayerReport(what="observations", path=mon.observations)
        if not mon.observations.is_file():
            rep.problems.append(f"file {mon.observations} does not exist")
        else:
            try:  # the checks the monitoring stage makes: file, columns, units, values, times
                raw = read_observation_rows(mon.observations)
                rep.count = len(raw)
                obs = normalise_observations(raw, source=str(mon.observations))
            except BasingovError as exc:
                rep.problems.append(str(exc))
            else:
                rep.notes.append(f"parameters: {sorted(set(obs['source_parameter']))}")
                if st is not None:
                    rep.problems += observation_problems(
                        obs, st, observations=mon.observations, station_table=mon.stations
                    )
                excluded = excluded_values(obs, observations=mon.observations.name)
                rep.notes += [excluded] if excluded else []
        reports.append(rep)
    h = cfg.hydraulics
    if h.gauges is not None or h.gauges_from_monitoring or h.gauge_areas or h.gauge_ref_column:
        reports.append(_gauge_report(cfg))
    reports += _load_input_reports(cfg, basin)
    for opt, checks in _LOAD_TABLES.items():
        p = getattr(cfg.loads, opt)
        if p is not None:
            rep = LayerReport(what=f"loads {opt}", path=p)
            if not p.is_file():
                rep.problems.append(f"file {p} does not exist")
            else:
                try:  # the checks the load stage makes on the same file
                    table = read_table(p, what=f"[loads].{opt}", dtype={"jur_id": str})
                    rep.count = len(table)
                    check_table(table, what=p.name, **checks)
                except BasingovError as exc:
                    rep.problems.append(str(exc))
                else:
                    level = cfg.loads.jurisdiction_level or cfg.boundaries.levels[-1]
                    if opt == "jurisdiction_table" and jur is not None and "jur_id" in jur:
                        rep.problems += jurisdiction_table_problems(
                            table, _jur_ids(jur), level, what=p.name
                        )
            reports.append(rep)
    return reports
