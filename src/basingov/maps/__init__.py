"""Interactive offline maps of a basin run, and GeoPackage layers that open styled in QGIS.

The maps are folium (Leaflet) pages in one self-contained HTML file: Leaflet is inlined
from the XStatic-Leaflet package, the basemap is drawn from the shipped boundaries, and
online tiles are an optional layer that is off at start (:mod:`basingov.maps._offline`).

Every map is built from a finished run folder (``basingov run BASIN -o DIR``), so
``basingov map DIR -o FILE.html`` rebuilds it without rerunning the analysis. Layers of
later stages (priority, stations, sections, transfers) are drawn when their tables are
in the run folder; :data:`OPTIONAL_INPUTS` lists the columns read from each.
"""

from __future__ import annotations

from pathlib import Path

import folium

from basingov.io import atomic_path
from basingov.maps._basin import DEFAULT_MAX_BYTES, INDICATORS, Indicator, basin_map
from basingov.maps._indicators import (
    crossing_indicators,
    display_names,
    jurisdiction_indicators,
)
from basingov.maps._inputs import OPTIONAL_INPUTS, RunData, read_run
from basingov.maps._offline import OfflineFigure, external_references, inline_assets, leaflet_assets
from basingov.maps._simplify import simplify_coverage, simplify_lines

__all__ = [
    "DEFAULT_MAX_BYTES",
    "INDICATORS",
    "OPTIONAL_INPUTS",
    "Indicator",
    "OfflineFigure",
    "RunData",
    "basin_map",
    "crossing_indicators",
    "display_names",
    "external_references",
    "inline_assets",
    "jurisdiction_indicators",
    "leaflet_assets",
    "read_run",
    "save_map",
    "simplify_coverage",
    "simplify_lines",
    "write_basin_map",
]


def save_map(m: folium.Map, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a basingov map as one offline HTML file, atomically.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    InputError
        If the page links to an asset that cannot be inlined.
    """
    root = m.get_root()
    page = root.render()
    if not isinstance(root, OfflineFigure):
        page = inline_assets(page)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(path)


def write_basin_map(
    run: str | Path | RunData,
    path: str | Path,
    *,
    overwrite: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Build the basin map of a run folder (:func:`basin_map`) and write it to ``path``.

    Parameters
    ----------
    run
        Run folder (or its :class:`RunData`).
    path
        Output ``.html`` file.
    overwrite
        Replace an existing file.
    max_bytes
        Size budget in bytes.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false (checked before any work).
    InputError
        See :func:`basin_map`.
    """
    from basingov.io import check_overwrite

    check_overwrite(path, overwrite=overwrite)
    return save_map(basin_map(run, max_bytes=max_bytes), path, overwrite=overwrite)
