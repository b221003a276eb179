"""Shared pieces of the data build: the output registry, atomic writes, hashing and ``--check``.

:class:`Builder` writes every output file under a temporary name and renames it into place,
and records one :class:`Entry` per file; ``readme.py`` turns those entries into the file
table of ``data/README.md`` and :func:`check` compares the sha256 values listed there with
the files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import rasterio

from .sources import SOURCES

logger = logging.getLogger("prepare_data")

#: Equal-area CRS used for every area computed here (cylindrical equal-area, global).
EQUAL_AREA = "EPSG:6933"
#: Buffer around the basin polygon used when clipping river and lake layers (metres).
CLIP_BUFFER_M = 2000.0
#: Clipped polygon parts smaller than this are dropped (km2).
MIN_PART_KM2 = 0.01
#: Where inputs that ``../shared/data-sources`` lacks are kept once fetched (``--cache``).
DEFAULT_CACHE = Path.home() / ".cache" / "basingov-prepare-data"
#: Sub-folders of ``data/`` written by this package (``data/basins`` belongs to the configs).
OWNED_DIRS = ("boundaries", "hydrography", "monitoring", "loads")


@dataclass
class Entry:
    """One shipped file, as listed in ``data/README.md``.

    Attributes
    ----------
    path
        Path relative to the output folder, with forward slashes.
    sources
        Keys into :data:`SOURCES`.
    changes
        What was done to the raw input(s).
    crs
        CRS of the file, or ``"-"`` for tables without coordinates.
    """

    path: str
    sources: list[str]
    changes: str
    crs: str


@dataclass
class Builder:
    """Collects the output files written during one run.

    Attributes
    ----------
    src
        Folder holding the raw inputs (``../shared/data-sources``).
    out
        Output folder (``data``).
    cache
        Folder for inputs fetched from elsewhere (``fetched.py``).
    entries
        Files written so far, in order.
    facts
        Numbers gathered during the run, quoted in the README and the final log.
    """

    src: Path
    out: Path
    cache: Path = field(default_factory=lambda: DEFAULT_CACHE)
    entries: list[Entry] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def target(self, rel: str) -> Path:
        """Return the absolute path of an output file and create its folder.

        Parameters
        ----------
        rel
            Path relative to the output folder.

        Returns
        -------
        Path
            Absolute output path.
        """
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, rel: str, sources: list[str], changes: str, crs: str) -> None:
        """Register a written file for the README.

        Parameters
        ----------
        rel
            Path relative to the output folder.
        sources
            Keys into :data:`SOURCES`.
        changes
            What was changed relative to the source.
        crs
            CRS string, or ``"-"``.
        """
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            msg = f"unknown source keys {unknown} for {rel}; add them to SOURCES"
            raise KeyError(msg)
        self.entries.append(Entry(rel, sources, changes, crs))
        logger.info("wrote %s (%.1f kB)", rel, (self.out / rel).stat().st_size / 1e3)

    def write_gpkg(
        self, rel: str, layers: dict[str, gpd.GeoDataFrame], sources: list[str], changes: str
    ) -> None:
        """Write several layers into one GeoPackage atomically.

        Parameters
        ----------
        rel
            Output path relative to the output folder.
        layers
            Layer name -> GeoDataFrame (EPSG:4326).
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        tmp.unlink(missing_ok=True)
        try:
            for name, gdf in layers.items():
                if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                    msg = f"layer {name} of {rel} is not in EPSG:4326 (got {gdf.crs})"
                    raise ValueError(msg)
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.record(rel, sources, changes, "EPSG:4326")

    def write_csv(
        self, rel: str, df: pd.DataFrame, sources: list[str], changes: str, crs: str = "-"
    ) -> None:
        """Write a CSV file atomically (UTF-8, Unix line ends, no index).

        Parameters
        ----------
        rel
            Output path relative to the output folder.
        df
            Table to write.
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes.
        crs
            CRS of coordinate columns, or ``"-"``.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.record(rel, sources, changes, crs)

    def copy(self, src_rel: str, rel: str, sources: list[str], changes: str, crs: str) -> None:
        """Copy a raw file byte for byte, atomically.

        Parameters
        ----------
        src_rel
            Path relative to the source folder.
        rel
            Output path relative to the output folder.
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes (usually "none, byte copy").
        crs
            CRS string, or ``"-"``.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            shutil.copyfile(self.src / src_rel, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.record(rel, sources, changes, crs)

    def write_raster(
        self, src_rel: str, rel: str, sources: list[str], changes: str, nodata: float | None = None
    ) -> None:
        """Rewrite a raster with deflate compression, optionally setting its nodata value.

        Parameters
        ----------
        src_rel
            Path relative to the source folder.
        rel
            Output path relative to the output folder.
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes.
        nodata
            Nodata value to set when the source file has none.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with rasterio.open(self.src / src_rel) as ds:
                profile = ds.profile.copy()
                data = ds.read()
                tags = ds.tags()
            profile.update(driver="GTiff", compress="deflate")
            if nodata is not None:
                profile["nodata"] = nodata
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(data)
                dst.update_tags(**tags)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        with rasterio.open(path) as ds:
            crs = ds.crs.to_string()
        self.record(rel, sources, changes, crs)


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file.

    Parameters
    ----------
    path
        File to hash.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file under a temporary name, then rename it.

    Parameters
    ----------
    path
        Destination.
    text
        Content (UTF-8).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


README_ROW = re.compile(r"^\| `([^`]+)` \|.*\| ([0-9a-f]{64}) \|$")


def check(out: Path) -> list[str]:
    """Compare the sha256 values in ``out/README.md`` with the files.

    Parameters
    ----------
    out
        The data folder.

    Returns
    -------
    list of str
        Problems found (empty when everything matches).
    """
    readme = out / "README.md"
    if not readme.is_file():
        return [f"{readme} does not exist"]
    problems = []
    n = 0
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = README_ROW.match(line)
        if not m:
            continue
        n += 1
        path = out / m.group(1)
        if not path.is_file():
            problems.append(f"{m.group(1)}: listed in README.md but missing")
        elif sha256(path) != m.group(2):
            problems.append(f"{m.group(1)}: sha256 differs from README.md")
    if n == 0:
        problems.append("README.md lists no files")
    listed = {
        m.group(1)
        for line in readme.read_text(encoding="utf-8").splitlines()
        if (m := README_ROW.match(line))
    }
    for d in OWNED_DIRS:
        for p in sorted((out / d).rglob("*")):
            rel = p.relative_to(out).as_posix()
            if p.is_file() and rel not in listed:
                problems.append(f"{rel}: present but not listed in README.md")
    return problems
