"""A basin's river network as its config describes it: build, names, derived areas."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from basingov._checks import raise_problems
from basingov.config import BasinConfig, LakesSection, NetworkSection
from basingov.errors import BasingovWarning, ConfigError, InputError
from basingov.io import read_vector
from basingov.network._container import RiverNetwork
from basingov.network.builders import apportion_area, build_network
from basingov.network.hydrology import DEFAULT_RUNOFF_MM_YEAR
from basingov.network.lakes import LakeInfo, lake_polygons, mark_lakes
from basingov.network.naming import names_from_lines
from basingov.network.regionalise import gauge_table, gauge_value_problems, regionalise_runoff

if TYPE_CHECKING:
    from basingov.network.regionalise import OnLeftOut

__all__ = ["assemble_network", "gauge_key_problems", "read_gauges", "regionalise_to_gauges"]

logger = logging.getLogger(__name__)


def assemble_network(
    config: BasinConfig, basin: gpd.GeoDataFrame, *, key: str | None = None
) -> RiverNetwork:
    """Build one of a basin's river networks, with areas wherever they can be had.

    Reaches inside the lake polygons of ``[lakes]`` become lake nodes
    (:func:`basingov.network.mark_lakes`; line networks only).

    Line networks (CCM2, Natural Earth, DCW, NFGIS) carry no drainage areas. For them,
    local areas are *derived* with :func:`basingov.network.builders.apportion_area`: from the
    sub-catchments of another ``next_down`` network of the basin (HydroBASINS on the
    Rhine) when there is one, else from the basin polygon (area proportional to river
    length, i.e. a constant drainage density). The derivation is recorded in the
    network's ``source`` text and in the reaches' ``area_source`` column.

    Parameters
    ----------
    config
        The basin configuration (:func:`basingov.config.load_config`).
    basin
        One-row GeoDataFrame with the basin polygon, in ``config.basin.crs``.
    key
        Key of a ``[networks.<key>]`` table; default: the basin's main network.

    Returns
    -------
    RiverNetwork
        Where local areas were apportioned, its ``area_source`` column says so.

    Raises
    ------
    ConfigError
        If ``key`` names no network of the basin (the message lists them).

    Examples
    --------
    >>> from basingov.datasets import load_basin
    >>> b = load_basin("thames")
    >>> net = assemble_network(b.config, b.basin)
    >>> bool(net.reaches["upstream_area_km2"].notna().all())
    True
    """
    net = _assemble(config, basin, key=key)
    if config.lakes is not None:
        net = _with_lakes(net, config.lakes, key or config.basin.network)
    return net


def regionalise_to_gauges(
    config: BasinConfig, net: RiverNetwork, *, on_left_out: OnLeftOut = "warn"
) -> tuple[RiverNetwork, pd.DataFrame | None]:
    """Fit the network's runoff to the basin's gauges (``[hydraulics] gauges``), if it has any.

    What a run does to the network before its other stages, so that a query or a spill
    warning on the network sees the same discharges and travel times as the run
    (:func:`basingov.datasets.load_network`).

    Parameters
    ----------
    config
        The basin configuration.
    net
        One of its networks (:func:`assemble_network`).
    on_left_out
        ``"warn"`` (a run): one :class:`~basingov.errors.BasingovWarning` naming the
        gauges the fit leaves out and why; ``"ignore"``: the check table's notes only
        (:func:`basingov.network.regionalise_runoff`).

    Returns
    -------
    (RiverNetwork, pandas.DataFrame or None)
        The network with ``discharge_source = "regionalised"`` and the gauge check table
        (:func:`basingov.network.regionalise_runoff`); ``net`` itself and None when the
        basin names no gauges or none of them has enough data.

    Examples
    --------
    The Rhine at Basel: the BfG's mean flow, what one runoff depth over the basin gives,
    and the fitted flow (m3/s):

    >>> from basingov.datasets import load_basin
    >>> b = load_basin("rhine")
    >>> net, check = regionalise_to_gauges(b.config, assemble_network(b.config, b.basin))
    >>> cols = ["observed_m3s", "uniform_m3s", "modelled_m3s"]
    >>> check.set_index("gauge_id").loc["BASEL", cols].astype(float).round().tolist()
    [1040.0, 510.0, 1040.0]
    """
    h = config.hydraulics
    g = read_gauges(config)
    if g is None:
        return net, None
    runoff = DEFAULT_RUNOFF_MM_YEAR if h.runoff_mm_year is None else h.runoff_mm_year
    return regionalise_runoff(
        net,
        g,
        runoff_mm_year=runoff,
        tolerance_m=h.gauge_snap_tolerance_m,
        velocity_a=h.velocity_a,
        velocity_b=h.velocity_b,
        lake_velocity_ms=h.lake_velocity_ms,
        require_area=h.gauge_areas is not None,
        on_left_out=on_left_out,
    )


def read_gauges(config: BasinConfig) -> pd.DataFrame | None:
    """Read the gauges of a basin's ``[hydraulics]`` (:func:`basingov.network.gauge_table`).

    What :func:`regionalise_to_gauges` fits to, checked as ``basingov validate`` checks
    it: the keys taken together (:func:`gauge_key_problems`), the files, and the flows and
    areas (:func:`basingov.network.regionalise.gauge_value_problems`).

    Returns
    -------
    pandas.DataFrame or None
        None when the basin names no gauges.

    Raises
    ------
    ConfigError
        If the ``[hydraulics]`` gauge keys do not fit together.
    InputError
        If a gauge file is missing or unusable, or a flow or an area is not a number > 0.

    Examples
    --------
    >>> from basingov.config import load_config
    >>> from basingov.datasets import get_path
    >>> read_gauges(load_config(get_path("rhine")))["gauge_id"].tolist()
    ['BASEL', 'MAXAU', 'KAUB', 'KOELN', 'REES']
    """
    h, mon = config.hydraulics, config.monitoring
    header = f"Invalid basin config {config.source}"
    raise_problems(gauge_key_problems(config), header, error=ConfigError)
    if h.gauges is None and not h.gauges_from_monitoring:
        return None
    g = gauge_table(
        gauges=h.gauges,
        stations=mon.stations if h.gauges_from_monitoring else None,
        observations=mon.observations if h.gauges_from_monitoring else None,
        proxy_locations=mon.proxy_locations if h.gauges_from_monitoring else None,
        min_samples=h.gauge_min_samples,
        areas=h.gauge_areas,
        area_columns=(h.gauge_area_columns[0], h.gauge_area_columns[-1]),
        ref_column=h.gauge_ref_column,
    )
    problems = gauge_value_problems(g)
    if problems:
        where = f"gauge table {h.gauges}" if h.gauges is not None else "monitoring gauges"
        raise InputError(f"{where}: " + "; ".join(problems))
    return g


def gauge_key_problems(config: BasinConfig) -> list[str]:
    """List what a run would ignore in the ``[hydraulics]`` gauge keys taken together.

    ``gauge_areas`` is read only for the gauges of the monitoring tables
    (``gauges_from_monitoring``), matched through ``gauge_ref_column``; without either it
    was not read (and every gauge of ``gauges`` without its own ``area_km2`` was left
    out), and ``gauges_from_monitoring`` without the ``[monitoring]`` tables gave no gauge.

    Examples
    --------
    >>> import dataclasses
    >>> from basingov.config import load_config
    >>> from basingov.datasets import get_path
    >>> cfg = load_config(get_path("thames"))
    >>> gauge_key_problems(cfg)
    []
    >>> h = dataclasses.replace(cfg.hydraulics, gauge_ref_column=None)
    >>> gauge_key_problems(dataclasses.replace(cfg, hydraulics=h))  # doctest: +ELLIPSIS
    ["[hydraulics].gauge_areas = '...thames_nrfa_check.csv' needs gauge_ref_column: ..."]
    """
    h, mon = config.hydraulics, config.monitoring
    out = []
    if h.gauges_from_monitoring and (mon.stations is None or mon.observations is None):
        out.append(
            "[hydraulics].gauges_from_monitoring = true needs [monitoring] stations and "
            "observations (the gauges are the stations with gauge_min_samples flow values); "
            "set them, or remove gauges_from_monitoring"
        )
    if h.gauge_areas is not None:
        where = f"[hydraulics].gauge_areas = {str(h.gauge_areas)!r}"
        if not h.gauges_from_monitoring:
            out.append(
                f"{where} is read only for the gauges of the monitoring tables "
                "(gauges_from_monitoring = true); with gauges alone it is not read, and every "
                "gauge without its own area_km2 is left out: set gauges_from_monitoring = "
                "true, or remove gauge_areas and give the areas in the gauges table's "
                "area_km2 column"
            )
        elif h.gauge_ref_column is None:
            out.append(
                f"{where} needs gauge_ref_column: the [monitoring] stations column whose text "
                "holds the area ids (e.g. 'NRFA 39105 Thame at Wheatley'); without it no "
                "station gets an area and every monitoring gauge is left out"
            )
    elif h.gauge_ref_column is not None:
        out.append(
            f"[hydraulics].gauge_ref_column = {h.gauge_ref_column!r} is used only with "
            "gauge_areas: set gauge_areas, or remove gauge_ref_column"
        )
    return out


def _assemble(config: BasinConfig, basin: gpd.GeoDataFrame, *, key: str | None) -> RiverNetwork:
    cfg = config
    key = key or cfg.basin.network
    if key not in cfg.networks:
        msg = (
            f"network {key!r} is not in {cfg.source.name}; its networks are {sorted(cfg.networks)}"
        )
        raise ConfigError(msg)
    sec = cfg.networks[key]
    outlet = sec.outlet or cfg.basin.outlet
    if not sec.several_outlets:
        net = build_network(sec, crs=cfg.basin.crs, outlet=outlet, hydraulics=cfg.hydraulics)
    else:  # the disconnected pieces are expected: log them, re-warn anything else
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            net = build_network(
                sec,
                crs=cfg.basin.crs,
                outlet=outlet,
                hydraulics=cfg.hydraulics,
            )
        for w in seen:
            msg = str(w.message)
            if issubclass(w.category, BasingovWarning) and "disconnected pieces" in msg:
                logger.info("network %s of %s (several outlets expected): %s", key,
                            cfg.basin.name, msg)  # fmt: skip
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if sec.names_path is not None:
        net = _with_names(net, sec)
    if not net.reaches["upstream_area_km2"].isna().all():
        return net
    for other_key, sec in cfg.networks.items():
        if other_key == key or sec.builder != "next_down":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BasingovWarning)
            other = build_network(sec, crs=cfg.basin.crs, outlet=None, hydraulics=None)
        if "catchment" in other.reaches.columns:
            cats = gpd.GeoDataFrame(
                {"area": other.reaches["local_area_km2"]},
                geometry=other.reaches["catchment"],
                crs=other.crs,
            )
            out = apportion_area(net, cats, area_column="area", hydraulics=cfg.hydraulics)
            note = f"areas apportioned by river length within the {other_key!r} sub-catchments"
            break
    else:
        out = apportion_area(net, basin, hydraulics=cfg.hydraulics)
        note = "areas apportioned by river length over the basin polygon"
    logger.info("network %s of %s: %s", key, cfg.basin.name, note)
    return dataclasses.replace(out, source=f"{out.source}; {note}" if out.source else note)


def _with_lakes(net: RiverNetwork, sec: LakesSection, key: str) -> RiverNetwork:
    """Mark the reaches inside the ``[lakes]`` polygons (line networks only)."""
    if not set(net.reaches.geom_type.unique()) <= {"LineString", "MultiLineString"}:
        logger.info("network %s is not a line network: lakes are not marked on it", key)
        return net
    layer = read_vector(sec.path, layer=sec.layer)
    info = [
        LakeInfo(name=e.name, volume_km3=e.volume_km3, volume_source=e.volume_source, at=e.at)
        for e in sec.lakes
    ]
    lakes = lake_polygons(
        layer,
        net.crs,
        name_column=sec.name_column,
        info=info,
        assumed_mean_depth_m=sec.assumed_mean_depth_m,
    )
    if sec.assumed_depth_source and sec.assumed_mean_depth_m is not None:
        assumed = lakes["volume_source"].str.startswith("ASSUMPTION")
        lakes.loc[assumed, "volume_source"] = (
            lakes.loc[assumed, "volume_source"] + f"; {sec.assumed_depth_source}"
        )
    return mark_lakes(
        net, lakes, min_inside_share=sec.min_inside_share, min_split_km=sec.min_split_km
    )


def _with_names(net: RiverNetwork, sec: NetworkSection) -> RiverNetwork:
    """Fill the reaches' ``name`` from the section's named line layers (labelled derived).

    ``names_layer`` first; each of ``names_more_layers`` then names only the reaches still
    unnamed, a name equal to an earlier one but for case taking the earlier spelling.
    """
    if sec.names_path is None:  # callers check; kept for type narrowing
        return net
    layers = [sec.names_layer, *sec.names_more_layers]
    names = pd.Series("", index=net.reaches.index, dtype=object)
    source = pd.Series("", index=net.reaches.index, dtype=object)
    spelling: dict[str, str] = {}
    for k, layer in enumerate(layers):
        lines = read_vector(sec.names_path, layer=layer, required_columns=[sec.names_column])
        got = names_from_lines(
            net.reaches, lines, column=sec.names_column, tolerance_m=sec.names_tolerance_m
        )
        # each distinct name looked up once (a river's name is on many reaches)
        got = got.map({n: spelling.get(str(n).casefold(), n) for n in got.unique()})
        new = (names == "") & (got != "")
        names[new] = got[new]
        label = f"derived: along {sec.names_path.name}"
        source[new] = label if k == 0 else f"{label} ({layer})"
        for n in got[new].unique():
            spelling.setdefault(str(n).casefold(), str(n))
    reaches = net.reaches.copy()
    had = reaches["name"].fillna("").astype(str) if "name" in reaches else None
    if had is not None:
        names = had.where(had != "", names)
    reaches["name"] = names
    reaches["name_source"] = np.where(
        (had != "") if had is not None else False, "network", source.to_numpy(dtype=object)
    )
    note = f"names transferred from {sec.names_path.name}"
    if sec.names_more_layers:
        note += f" (layers {', '.join(str(x) for x in layers)}, in turn)"
    return dataclasses.replace(net, reaches=reaches, source=f"{net.source}; {note}")
