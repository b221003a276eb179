"""The basins shipped in ``data/``: list them, find their configs, load their inputs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from basingov._checks import JURISDICTION_COLUMNS, expand_user
from basingov._geometry import MAX_REPAIR_AREA_SHARE, repair_collapsed
from basingov._layer_checks import (
    basin_jurisdiction_problems,
    basin_problems,
    check_layer,
    coordinate_problems,
    jurisdiction_problems,
)
from basingov.config import BasinConfig, load_config
from basingov.errors import ConfigError, InputError
from basingov.io import read_vector
from basingov.network import RiverNetwork
from basingov.network.assemble import assemble_network, regionalise_to_gauges

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


def data_dir() -> Path:
    """Return the folder holding the shipped data (``data/`` of the source tree).

    ``$BASINGOV_DATA`` overrides the location.

    Raises
    ------
    InputError
        If ``$BASINGOV_DATA`` is set to a folder without ``basins/``, or, unset, if the
        source tree's ``data/`` is missing (an installed wheel ships none): install from a
        clone with ``pip install -e .`` or set ``$BASINGOV_DATA``.

    Examples
    --------
    >>> (data_dir() / "basins").is_dir()
    True
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = expand_user(env, what=f"${DATA_ENV}")
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
    try:
        is_file = p.is_file()
    except OSError as exc:  # a name too long, ...
        msg = f"Basin config {p} cannot be read ({exc.strerror or exc}); check the path"
        raise ConfigError(msg) from None
    if p.suffix.lower() == ".toml" or is_file:
        if not is_file:
            msg = f"Basin config {p} does not exist"
            raise ConfigError(msg)
        return p
    text = str(name_or_config)
    if "/" in text or os.sep in text:  # a path, not a name: say what it is not
        msg = (
            f"{text!r} is neither an existing basin config (.toml) nor a shipped basin "
            f"(available basins are {available()}); check the path"
        )
        raise InputError(msg)
    return get_path(text)


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
    #: Results derived from these inputs, kept for the next caller: the run's preflight
    #: checks the treatment removal (:func:`basingov.loads.build.sewage_removal`) that the
    #: sewage loads then use, read once.
    derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def name(self) -> str:
        """The basin's short name."""
        return self.config.basin.name


def _read_boundaries(cfg: BasinConfig) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    b = cfg.boundaries
    jur = read_vector(b.path, layer=b.layer, required_columns=JURISDICTION_COLUMNS)
    basin = read_vector(b.path, layer=b.basin_layer)
    # the checks `basingov validate` makes (basingov._layer_checks), so a run refuses the same
    problems = [f"layer {b.basin_layer!r} {p}" for p in basin_problems(basin)]
    if jur.empty:
        problems.append(f"layer {b.layer!r} is empty")
    else:
        problems += [
            f"layer {b.layer!r}: {p}"
            for p in check_layer(
                jur, id_column="jur_id", geometry_types={"Polygon", "MultiPolygon"}
            )
            + jurisdiction_problems(jur, b.levels)
        ]
        if not problems:
            problems += basin_jurisdiction_problems(basin, jur, b.levels)
    if problems:
        msg = f"Boundaries {b.path}: " + "; ".join(problems)
        raise InputError(msg)
    unknown = sorted(set(jur["level_name"]) - set(b.levels))
    if unknown:
        logger.info("ignoring jurisdiction levels %s not listed in the config", unknown)
    jur = jur[jur["level_name"].isin(b.levels)].copy()
    jur["jur_id"] = jur["jur_id"].astype(str)
    jur["parent_id"] = jur["parent_id"].fillna("").astype(str)
    jur["level"] = jur["level_name"].map({lv: i for i, lv in enumerate(b.levels)}).astype(int)
    crs = cfg.basin.crs
    basin = basin.to_crs(crs)
    jur = jur.sort_values(["level", "jur_id"]).reset_index(drop=True).to_crs(crs)
    far = coordinate_problems(basin) + coordinate_problems(jur, key="jur_id")
    if far:
        msg = (
            f"Boundaries {b.path}: projected to [basin].crs {crs}, " + "; ".join(far) + "; the "
            "data lie outside the area that CRS covers: check the layers' CRS and [basin].crs"
        )
        raise InputError(msg)
    basin = _repair_projected(basin, None, f"layer {b.basin_layer!r} of {b.path}", crs)
    jur = _repair_projected(jur, "jur_id", f"layer {b.layer!r} of {b.path}", crs)
    return basin, jur


def _repair_projected(
    gdf: gpd.GeoDataFrame, key: str | None, what: str, crs: str
) -> gpd.GeoDataFrame:
    """Drop the rings that projecting valid polygons to ``crs`` collapsed (logged).

    The layers were checked valid as read; a ring whose vertices lie a hair apart can
    round to fewer than four distinct points once projected (on the Rhine, a sliver hole
    of DE26A and the units holding it, 4e-18 square degrees). Such a polygon is rebuilt
    without the collapsed ring (:func:`basingov._geometry.repair_collapsed`). A repair
    that moves a unit's area by more than one part in a million is no rounding: refused.
    """
    geoms, where, share = repair_collapsed(gdf.geometry.to_numpy())
    if not len(where):
        return gdf
    ids = [str(gdf[key].iloc[i]) if key else f"row {i}" for i in where]
    big = [f"{i} ({s:.2g} of its area)" for i, s in zip(ids, share, strict=True)]
    big = [t for t, s in zip(big, share, strict=True) if not s <= MAX_REPAIR_AREA_SHARE]
    if big:
        msg = (
            f"{what}: projected to {crs}, {len(big)} polygon(s) became invalid and repairing "
            f"them changes their area: {', '.join(big[:5])}; check the layer's CRS and "
            "repair it in its own CRS (shapely.make_valid or `ogr2ogr -makevalid`)"
        )
        raise InputError(msg)
    logger.info(
        "%s: %d polygon(s) with a ring collapsed by the projection to %s repaired "
        "(ring dropped, area change <= %.1g of theirs): %s",
        what, len(where), crs, float(share.max()), ", ".join(ids),
    )  # fmt: skip
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out


def load_basin(name_or_config: str | Path) -> Basin:
    """Load and validate a basin's boundaries from a shipped name or a config path.

    The river network is built separately with :func:`basingov.network.builders.build_network`,
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


def load_network(basin: Basin, *, key: str | None = None, gauges: bool = True) -> RiverNetwork:
    """Build one of a basin's river networks as a run builds it.

    The network of :func:`basingov.network.assemble.assemble_network`, its runoff then fitted
    to the basin's gauges where the config names some
    (:func:`basingov.network.assemble.regionalise_to_gauges`): the discharges, velocities
    and travel times that queries and spill warnings use are those of ``basingov run``.

    Parameters
    ----------
    basin
        A loaded basin (:func:`load_basin`).
    key
        Key of a ``[networks.<key>]`` table; default: the basin's main network.
    gauges
        Fit the runoff to the basin's gauges (False: one runoff depth over the basin). A run
        warns of the gauges the fit leaves out (``summary.json`` ``warnings``); this does
        not.

    Returns
    -------
    RiverNetwork
        Its ``discharge_source`` column says which discharges are ``"regionalised"``.

    Examples
    --------
    The Rhine at Basel, its runoff fitted to five BfG gauges (the BfG gives a mean flow of
    1,040 m3/s at Basel-Rheinhalle, 1808-2022; one runoff depth gives about 510 m3/s):

    >>> from basingov.network import snap_point
    >>> rhine = load_basin("rhine")
    >>> net = load_network(rhine)
    >>> at = snap_point(net, 7.616481, 47.559484, expected_area_km2=35897)  # the gauge
    >>> q = net.reaches["discharge_m3s"].iloc[at.position]
    >>> round(float(q), -1), net.reaches["discharge_source"].iloc[at.position]
    (1040.0, 'regionalised')
    """
    net = assemble_network(basin.config, basin.basin, key=key)
    if gauges:  # the run warns of the gauges the fit leaves out; a query need not
        net, _ = regionalise_to_gauges(basin.config, net, on_left_out="ignore")
    return net
