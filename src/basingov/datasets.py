"""The basins shipped in ``data/``: list them, find their configs, load their inputs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from basingov.config import BasinConfig, NetworkSection, load_config
from basingov.errors import ConfigError, InputError

if TYPE_CHECKING:
    from basingov.network import RiverNetwork

__all__ = [
    "Basin",
    "available",
    "data_dir",
    "get_path",
    "load_basin",
    "load_network",
    "resolve_config",
]

logger = logging.getLogger(__name__)

#: Environment variable that points basingov at another copy of the shipped ``data/``.
DATA_ENV = "BASINGOV_DATA"

_REQUIRED_JUR_COLUMNS = ("jur_id", "name", "level", "level_name", "parent_id")


def data_dir() -> Path:
    """Return the folder holding the shipped data (``data/`` of the source tree).

    ``$BASINGOV_DATA`` overrides the location.

    Raises
    ------
    InputError
        If no data folder can be found.

    Examples
    --------
    >>> (data_dir() / "basins").is_dir()
    True
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
        if not (path / "basins").is_dir():
            msg = f"${DATA_ENV}={env} has no 'basins' folder; point it at basingov's data/ folder"
            raise InputError(msg)
        return path
    path = Path(__file__).resolve().parents[2] / "data"
    if not (path / "basins").is_dir():
        msg = (
            f"The shipped data folder was not found at {path}. basingov's shipped basins live in "
            f"the source tree's data/ folder: install from a clone (pip install -e .) or set "
            f"${DATA_ENV} to that folder"
        )
        raise InputError(msg)
    return path


def available() -> list[str]:
    """Names of the shipped basins.

    Examples
    --------
    >>> available()
    ['rhine', 'taihu', 'tennessee', 'thames']
    """
    return sorted(p.stem for p in (data_dir() / "basins").glob("*.toml"))


def get_path(name: str) -> Path:
    """Path of a shipped basin's config file.

    Raises
    ------
    InputError
        If no shipped basin has that name (the message lists the available ones).

    Examples
    --------
    >>> get_path("thames").name
    'thames.toml'
    """
    path = data_dir() / "basins" / f"{name}.toml"
    if not path.is_file():
        msg = f"No shipped basin named {name!r}; available basins are {available()}"
        raise InputError(msg)
    return path


def resolve_config(name_or_config: str | Path) -> Path:
    """Resolve a shipped basin name or a path to a config file.

    Raises
    ------
    InputError
        If the argument is neither a shipped basin nor an existing ``.toml`` file.
    """
    p = Path(name_or_config)
    if p.suffix.lower() == ".toml" or p.is_file():
        if not p.is_file():
            msg = f"Basin config {p} does not exist"
            raise ConfigError(msg)
        return p
    return get_path(str(name_or_config))


@dataclass(frozen=True, eq=False)
class Basin:
    """The loaded, validated inputs of one basin, in its projected CRS.

    Attributes
    ----------
    config
        The basin configuration.
    basin
        One-row GeoDataFrame with the basin polygon.
    jurisdictions
        All jurisdiction levels (``jur_id, name, level, level_name, parent_id``).
    """

    config: BasinConfig
    basin: gpd.GeoDataFrame
    jurisdictions: gpd.GeoDataFrame

    @property
    def name(self) -> str:
        """The basin's short name."""
        return self.config.basin.name


def _read_boundaries(cfg: BasinConfig) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    from basingov.io import read_vector

    b = cfg.boundaries
    jur = read_vector(b.path, layer=b.layer, columns=_REQUIRED_JUR_COLUMNS)
    basin = read_vector(b.path, layer=b.basin_layer)
    problems: list[str] = []
    if len(basin) != 1:
        problems.append(
            f"layer {b.basin_layer!r} must hold exactly one polygon, found {len(basin)}"
        )
    if jur.empty:
        problems.append(f"layer {b.layer!r} is empty")
    unknown = sorted(set(jur["level_name"]) - set(b.levels))
    missing = [lv for lv in b.levels if lv not in set(jur["level_name"])]
    if missing:
        problems.append(
            f"levels {missing} listed in [boundaries].levels are absent from layer {b.layer!r} "
            f"(it has {sorted(set(jur['level_name']))})"
        )
    if unknown:
        logger.info("ignoring jurisdiction levels %s not listed in the config", unknown)
    jur = jur[jur["level_name"].isin(b.levels)].copy()
    dup = jur["jur_id"][jur["jur_id"].duplicated()].unique().tolist()
    if dup:
        problems.append(f"repeated jur_id values {dup[:10]}")
    invalid = jur.loc[~jur.geometry.is_valid, "jur_id"].tolist()
    if invalid:
        problems.append(
            f"invalid geometries for jur_id {invalid[:10]}; repair them with shapely.make_valid"
        )
    if problems:
        msg = f"Boundaries {b.path}: " + "; ".join(problems)
        raise InputError(msg)
    jur["jur_id"] = jur["jur_id"].astype(str)
    jur["parent_id"] = jur["parent_id"].fillna("").astype(str)
    jur["level"] = jur["level_name"].map({lv: i for i, lv in enumerate(b.levels)}).astype(int)
    crs = cfg.basin.crs
    return basin.to_crs(crs), jur.sort_values(["level", "jur_id"]).reset_index(drop=True).to_crs(
        crs
    )


def load_basin(name_or_config: str | Path) -> Basin:
    """Load and validate a basin's boundaries from a shipped name or a config path.

    The river network is built separately with :func:`basingov.builders.build_network`,
    because a basin may offer several networks (see ``[networks]`` in the config).

    Parameters
    ----------
    name_or_config
        A shipped basin name (see :func:`available`) or a path to a ``.toml`` config.

    Returns
    -------
    Basin

    Raises
    ------
    InputError
        If the config or any boundary layer is invalid; the message names the file,
        layer and problem.

    Examples
    --------
    >>> b = load_basin("tennessee")
    >>> sorted(b.jurisdictions["level_name"].unique())
    ['county', 'state']
    """
    cfg = load_config(resolve_config(name_or_config))
    basin, jur = _read_boundaries(cfg)
    return Basin(config=cfg, basin=basin, jurisdictions=jur)


def load_network(basin: Basin, *, key: str | None = None) -> RiverNetwork:
    """Build one of a basin's river networks, with areas wherever they can be had.

    Line networks (CCM2, Natural Earth, DCW, NFGIS) carry no drainage areas. For them,
    local areas are *derived* with :func:`basingov.builders.apportion_area`: from the
    sub-catchments of another ``next_down`` network of the basin (HydroBASINS on the
    Rhine) when there is one, else from the basin polygon (area proportional to river
    length, i.e. a constant drainage density). The derivation is recorded in the
    network's ``source`` text and in the reaches' ``area_source`` column.

    Parameters
    ----------
    basin
        A loaded basin (:func:`load_basin`).
    key
        Key of a ``[networks.<key>]`` table; default: the basin's main network.

    Returns
    -------
    RiverNetwork

    Raises
    ------
    ConfigError
        If ``key`` names no network of the basin (the message lists them).

    Examples
    --------
    >>> net = load_network(load_basin("thames"))
    >>> bool(net.reaches["upstream_area_km2"].notna().all())
    True
    """
    import dataclasses
    import warnings

    from basingov.builders import apportion_area, build_network
    from basingov.errors import BasingovWarning

    cfg = basin.config
    key = key or cfg.basin.network
    if key not in cfg.networks:
        msg = (
            f"network {key!r} is not in {cfg.source.name}; its networks are {sorted(cfg.networks)}"
        )
        raise ConfigError(msg)
    sec = cfg.networks[key]
    net = build_network(sec, crs=cfg.basin.crs, outlet=cfg.basin.outlet, hydraulics=cfg.hydraulics)
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
        out = apportion_area(net, basin.basin, hydraulics=cfg.hydraulics)
        note = "areas apportioned by river length over the basin polygon"
    logger.info("network %s of %s: %s", key, cfg.basin.name, note)
    return dataclasses.replace(out, source=f"{out.source}; {note}" if out.source else note)


def _with_names(net: RiverNetwork, sec: NetworkSection) -> RiverNetwork:
    """Fill the reaches' ``name`` from the section's named line layer (labelled derived)."""
    import dataclasses

    from basingov.io import read_vector
    from basingov.naming import names_from_lines

    if sec.names_path is None:  # callers check; kept for type narrowing
        return net
    lines = read_vector(sec.names_path, layer=sec.names_layer, columns=[sec.names_column])
    names = names_from_lines(
        net.reaches, lines, column=sec.names_column, tolerance_m=sec.names_tolerance_m
    )
    reaches = net.reaches.copy()
    had = reaches["name"].fillna("").astype(str) if "name" in reaches else None
    if had is not None:
        names = had.where(had != "", names)
    reaches["name"] = names
    reaches["name_source"] = np.where(
        (had != "") if had is not None else False,
        "network",
        np.where(names != "", f"derived: along {sec.names_path.name}", ""),
    )
    note = f"names transferred from {sec.names_path.name}"
    return dataclasses.replace(net, reaches=reaches, source=f"{net.source}; {note}")
