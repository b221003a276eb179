"""Interactive offline maps of a basin run, and GeoPackage layers that open styled in QGIS.

The maps are folium (Leaflet) pages in one self-contained HTML file: Leaflet is inlined
from the XStatic-Leaflet package, the basemap is drawn from the shipped boundaries, and
online tiles are an optional layer that is off at start (:mod:`basingov.maps._offline`).

Every map is built from a finished run folder (``basingov run BASIN -o DIR``), so
``basingov map DIR -o FILE.html`` rebuilds it without rerunning the analysis. Layers of
later stages (priority, stations, sections, transfers) are drawn when their tables are
in the run folder; :data:`OPTIONAL_INPUTS` lists the columns read from each.

folium and branca are imported only when a map is built, so the GeoPackage helpers
(:func:`gis_layers`, :func:`write_layer_styles`) work without them; the colour maps are
stored with basingov (matplotlib's colours), so no map or style imports matplotlib.
"""

from __future__ import annotations

import contextlib
import html
import importlib
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basingov.errors import BasingovWarning, InputError
from basingov.io import atomic_path, check_overwrite
from basingov.maps._gis import JURISDICTION_INDICATORS, LAYER_GEOMETRY_TYPES, gis_layers
from basingov.maps._indicators import (
    CLASS_ORDER,
    class_breaks,
    crossing_indicators,
    display_names,
    fmt,
    jurisdiction_indicators,
    latest_sections,
    pair_loads,
    parameter_label,
    priority_rows,
)
from basingov.maps._inputs import (
    MAP_LAYER_COLUMNS,
    MAP_TABLES,
    OPTIONAL_INPUTS,
    RunData,
    RunTables,
    read_run,
)
from basingov.maps._simplify import simplify_coverage, simplify_lines
from basingov.maps._styles import STYLE_COLUMNS, layer_styles, write_layer_styles

if TYPE_CHECKING:
    import folium

    from basingov.maps._basin import DEFAULT_MAX_BYTES, INDICATORS, Indicator, basin_map
    from basingov.maps._offline import (
        OfflineFigure,
        external_references,
        inline_assets,
        leaflet_assets,
    )
    from basingov.maps._spill import spill_map

__all__ = [
    "CLASS_ORDER",
    "DEFAULT_MAX_BYTES",
    "INDICATORS",
    "JURISDICTION_INDICATORS",
    "LAYER_GEOMETRY_TYPES",
    "MAP_LAYER_COLUMNS",
    "MAP_TABLES",
    "OPTIONAL_INPUTS",
    "STYLE_COLUMNS",
    "Indicator",
    "OfflineFigure",
    "RunData",
    "RunTables",
    "basin_map",
    "class_breaks",
    "crossing_indicators",
    "display_names",
    "external_references",
    "fmt",
    "gis_layers",
    "inline_assets",
    "jurisdiction_indicators",
    "latest_sections",
    "layer_styles",
    "leaflet_assets",
    "pair_loads",
    "parameter_label",
    "priority_rows",
    "read_run",
    "run_map_page",
    "save_map",
    "simplify_coverage",
    "simplify_lines",
    "spill_map",
    "write_basin_map",
    "write_layer_styles",
    "write_map_folder",
    "write_run_map",
]


_LAZY = {
    "DEFAULT_MAX_BYTES": "_basin",
    "INDICATORS": "_basin",
    "Indicator": "_basin",
    "basin_map": "_basin",
    "OfflineFigure": "_offline",
    "external_references": "_offline",
    "inline_assets": "_offline",
    "leaflet_assets": "_offline",
    "spill_map": "_spill",
}


def __getattr__(name: str) -> Any:
    """Import the folium-based parts on first use (PEP 562)."""
    if name in _LAZY:
        module = importlib.import_module(f"basingov.maps.{_LAZY[name]}")
        return getattr(module, name)
    msg = f"module 'basingov.maps' has no attribute {name!r}"
    raise AttributeError(msg)


def save_map(m: folium.Map, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a basingov map as one offline HTML file, atomically.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    InputError
        If the page links to an asset that cannot be inlined.
    """
    return _write_page(_page(m), path, overwrite=overwrite)


def _page(m: folium.Map) -> str:
    """Render the offline HTML page of a map (Leaflet inlined)."""
    # deferred: _offline needs branca, of the optional maps extra (basingov[maps])
    from basingov.maps._offline import OfflineFigure, inline_assets

    root = m.get_root()
    page = root.render()
    if not isinstance(root, OfflineFigure):
        page = inline_assets(page)
    return page


def _write_page(page: str, path: str | Path, *, overwrite: bool) -> Path:
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(path)


def write_basin_map(
    run: str | Path | RunData,
    path: str | Path,
    *,
    overwrite: bool = False,
    max_bytes: int | None = None,
    levels: Sequence[str] | None = None,
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
        Size budget in bytes (default :data:`DEFAULT_MAX_BYTES`, 5 MB).
    levels
        Levels with choropleths, crossings and arrows (default: coarsest and finest).

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
    check_overwrite(path, overwrite=overwrite)
    return _write_page(_basin_page(run, max_bytes, levels), path, overwrite=overwrite)


def _basin_page(
    run: str | Path | RunData, max_bytes: int | None = None, levels: Sequence[str] | None = None
) -> str:
    """Build the offline page of a run's basin map (:func:`basin_map`)."""
    # deferred: _basin needs folium, of the optional maps extra (basingov[maps])
    from basingov.maps._basin import DEFAULT_MAX_BYTES, basin_page

    return basin_page(run, max_bytes=max_bytes or DEFAULT_MAX_BYTES, levels=levels)[1]


def write_run_map(run_dir: str | Path, *, page: str | None = None) -> Path | None:
    """Write ``run_dir/map.html`` for a finished run (the pipeline's last step).

    Parameters
    ----------
    run_dir
        The run folder.
    page
        The page already built from it (:func:`run_map_page`); None builds it here.

    Returns
    -------
    pathlib.Path or None
        The map, or None when the ``maps`` extra (folium, XStatic-Leaflet) is not
        installed; a :class:`BasingovWarning` then says how to install it.
    """
    target = Path(run_dir) / "map.html"
    if page is not None:
        return _write_page(page, target, overwrite=True)
    missing = _missing_maps_extra()
    if missing is not None:
        warnings.warn(
            f"map.html not written: {missing} is not installed; install the maps extra "
            "with: pip install 'basingov[maps]'",
            BasingovWarning,
            stacklevel=2,
        )
        return None
    return write_basin_map(run_dir, target, overwrite=True)


def _missing_maps_extra() -> str | None:
    """Name the module of the optional maps extra (basingov[maps]) that is missing, or None."""
    try:
        import folium  # noqa: F401
        import xstatic.pkg.leaflet  # noqa: F401
    except ImportError as exc:
        return exc.name or "folium"
    return None


def run_map_page(
    run_dir: str | Path, tables: Sequence[str], ready: Sequence[str]
) -> tuple[str, dict[str, Any]] | None:
    """Build the page of ``run_dir/map.html`` while the run still writes some tables.

    A dask task of a distributed run (:func:`basingov.pipeline.run`): the GeoPackage and
    ``summary.json`` are complete, ``tables`` names every table of the run and ``ready``
    those already written, which must include :data:`MAP_TABLES` (the map only looks the
    others up by name). The page is returned, not written: the calling process writes
    ``map.html`` (:func:`write_run_map`), so the worker writes no file of the run.

    Returns
    -------
    tuple of (str, dict) or None
        The page and the record of its size budget (tolerance, rivers drawn, bytes), or
        None when this process does not see ``run_dir`` (a worker on another machine) or
        lacks the maps extra: the caller then builds the map itself.
    """
    run = Path(run_dir)
    if not (run / "summary.json").is_file() or _missing_maps_extra() is not None:
        return None
    # deferred: _basin needs folium, of the optional maps extra (basingov[maps])
    from basingov.maps._basin import DEFAULT_MAX_BYTES, basin_page

    data = read_run(run, tables=tables, ready=ready, columns=MAP_LAYER_COLUMNS)
    m, page = basin_page(data, max_bytes=DEFAULT_MAX_BYTES)
    return page, dict(getattr(m, "_basingov_info", {}))


def _number(value: Any) -> float:
    """Return a summary figure as a float, NaN when it is missing or no number (null, text).

    Examples
    --------
    >>> _number(2.5), _number(None), _number("x")
    (2.5, nan, nan)
    """
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def write_map_folder(
    runs: Sequence[str | Path], out_dir: str | Path, *, overwrite: bool = False
) -> Path:
    """Write one map per run and an ``index.html`` linking them (``make demo``'s ``maps/``).

    A run's own ``map.html`` is copied when it is newer than the run's GeoPackage;
    otherwise the map is built from the run's outputs. Every map and the index are made
    in temporary files beside their targets and renamed into place only when all are
    made, the index last: a run whose map fails leaves the folder as it was (no new
    file, no temporary one, no folder made for it, existing files untouched).

    Parameters
    ----------
    runs
        Finished run folders.
    out_dir
        Folder for ``<basin>.html`` and ``index.html``.
    overwrite
        Replace existing files of the same names (other files are kept).

    Returns
    -------
    pathlib.Path
        The index page.

    Raises
    ------
    OutputExistsError
        If a target file exists and ``overwrite`` is false (checked before any work).
    InputError
        If a run folder is not a finished run, or two runs are of the same basin.
    """
    out = Path(out_dir)
    datas = [read_run(r) for r in runs]
    names = [d.basin for d in datas]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        msg = f"several runs of the same basin {dup}; give one run folder per basin"
        raise InputError(msg)
    index = out / "index.html"
    targets = [out / f"{n}.html" for n in names]
    for t in [*targets, index]:
        check_overwrite(t, overwrite=overwrite)
    made = []  # the folders atomic_path will create, deepest first
    folder = out
    while not folder.exists() and not folder.is_symlink():
        made.append(folder)
        folder = folder.parent
    try:
        with contextlib.ExitStack() as stack:
            # entered first, so renamed last, once every map is in place; an error in
            # the block removes every temporary file and renames none
            index_tmp = stack.enter_context(atomic_path(index, overwrite=overwrite))
            rows = [
                _map_row(d, target, stack.enter_context(atomic_path(target, overwrite=overwrite)))
                for d, target in zip(datas, targets, strict=True)
            ]
            index_tmp.write_text(_index_page(rows, datas), encoding="utf-8")
    except BaseException:
        for folder in made:
            with contextlib.suppress(OSError):  # only if empty: never another's files
                folder.rmdir()
        raise
    return index


def _map_row(d: RunData, target: Path, tmp: Path) -> str:
    """Write the map of run ``d`` to ``tmp`` (renamed to ``target`` later); return its row."""
    run_dir = Path(d.run_dir or ".")
    own = run_dir / "map.html"
    gpkg = run_dir / f"{d.basin}.gpkg"
    if own.is_file() and own.stat().st_mtime >= gpkg.stat().st_mtime:
        shutil.copyfile(own, tmp)
    else:
        tmp.write_text(_basin_page(d), encoding="utf-8")
    key = d.summary.get("key_indicators", {})
    counts = d.summary.get("counts", {})
    return (
        f"<tr><td><a href='{html.escape(target.name)}'>"
        f"{html.escape(str(d.summary.get('title', d.basin)))}</a></td>"
        f"<td>{_number(key.get('basin_area_km2')):,.0f}</td>"
        f"<td>{counts.get('crossings', '')}</td>"
        f"<td>{html.escape(str(d.summary.get('governance', {}).get('body', '')))}</td>"
        f"<td>{tmp.stat().st_size / 1e6:.1f} MB</td></tr>"
    )


def _index_page(rows: list[str], datas: Sequence[RunData]) -> str:
    """Return the ``index.html`` of a map folder: one row per basin map."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>basingov basin maps</title><style>body{font-family:system-ui,sans-serif;"
        "margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ccc;text-align:left}</style></head><body>"
        "<h1>Basin maps</h1><p>Each map is one self-contained file that opens offline. "
        "It shows where rivers cross administrative borders, who depends on whom for "
        "clean water, and where joint prevention or compensation is needed.</p>"
        "<table><tr><th>Basin</th><th>Area (km²)</th><th>Border crossings</th>"
        "<th>Governance body</th><th>File size</th></tr>"
        + "".join(rows)
        + "</table><p>Built by basingov from the run folders "
        + html.escape(", ".join(str(d.run_dir) for d in datas))
        + ".</p></body></html>"
    )
