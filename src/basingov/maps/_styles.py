"""Default QGIS styles stored in a GeoPackage's ``layer_styles`` table, so it opens styled.

QGIS looks for a table named ``layer_styles`` in a GeoPackage and applies the row with
``useAsDefault`` set whose ``f_table_name`` is the layer being opened; the style itself is
a QML document in ``styleQML``. The table's columns are QGIS's (``f_table_catalog,
f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, styleSLD,
useAsDefault, description, owner, ui, update_time``). Alternative styles of a layer are
stored with ``useAsDefault`` 0 and show in QGIS's style manager.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd
import pyogrio

from basingov._checks import level_names
from basingov.errors import BasingovWarning, InputError
from basingov.io import atomic_path
from basingov.maps._indicators import class_breaks, fmt

__all__ = [
    "CLASS_COLOURS",
    "NO_DATA",
    "PRIORITY_COLOURS",
    "STYLE_COLUMNS",
    "layer_styles",
    "palette",
    "write_layer_styles",
]

#: Colours of the priority classes (DESIGN §2.8: high/medium/low).
PRIORITY_COLOURS = {"high": "#b2182b", "medium": "#ef8a62", "low": "#fddbc7"}
#: GB 3838-2002 class colours as Chinese water-quality bulletins draw them (I-II blue,
#: III green, IV yellow, V orange, worse than V red); other standards' classes get grey.
CLASS_COLOURS = {
    "I": "#1f78b4",
    "II": "#6baed6",
    "III": "#33a02c",
    "IV": "#e6c800",
    "V": "#ff7f00",
    "worse than V": "#e31a1c",
}
NO_DATA = "#d9d9d9"


def palette(name: str, n: int) -> list[str]:
    """``n`` hex colours sampled evenly from a matplotlib colour map.

    Examples
    --------
    >>> palette("Greys", 2)
    ['#f3f3f3', '#2e2e2e']
    """
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[name]
    if n <= 1:
        return [to_hex(cmap(0.7))]
    return [to_hex(cmap(0.1 + 0.75 * i / (n - 1))) for i in range(n)]


#: Columns of QGIS's ``layer_styles`` table, in QGIS's order.
STYLE_COLUMNS = (
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
)

_QGIS_VERSION = "3.22.0"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _options(props: Mapping[str, str]) -> str:
    items = "".join(
        f'<Option name={quoteattr(k)} type="QString" value={quoteattr(str(v))}/>'
        for k, v in props.items()
    )
    return f'<Option type="Map">{items}</Option>'


def _symbol(kind: str, name: str, layers: Sequence[tuple[str, dict[str, str], int]]) -> str:
    body = "".join(
        f'<layer class="{cls}" enabled="1" locked="0" pass="{pass_}">{_options(props)}</layer>'
        for cls, props, pass_ in layers
    )
    return (
        f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f"{body}</symbol>"
    )


_SymbolLayer = tuple[str, dict[str, str], int]


def _fill(
    colour: str | None, outline: str = "#4d4d4d", width: float = 0.26, pass_: int = 0
) -> _SymbolLayer:
    props = {
        "color": _rgba(colour) if colour else "0,0,0,0",
        "style": "solid" if colour else "no",
        "outline_color": _rgba(outline),
        "outline_style": "solid",
        "outline_width": f"{width}",
        "outline_width_unit": "MM",
    }
    return ("SimpleFill", props, pass_)


def _line(colour: str, width: float, *, pass_: int = 0, dash: bool = False) -> _SymbolLayer:
    props = {
        "line_color": _rgba(colour),
        "line_width": f"{width}",
        "line_width_unit": "MM",
        "line_style": "dash" if dash else "solid",
        "capstyle": "round",
        "joinstyle": "round",
    }
    return ("SimpleLine", props, pass_)


def _marker(colour: str, size: float, *, shape: str = "circle") -> _SymbolLayer:
    props = {
        "name": shape,
        "color": _rgba(colour),
        "outline_color": "35,35,35,255",
        "outline_width": "0.3",
        "size": f"{size}",
        "size_unit": "MM",
    }
    return ("SimpleMarker", props, 0)


def _qml(renderer: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{_QGIS_VERSION}" styleCategories="Symbology">{renderer}'
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerOpacity>1</layerOpacity></qgis>\n"
    )


def _field(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rule_renderer(rules: Sequence[tuple[str, str, str]], *, symbol_levels: bool = False) -> str:
    """``rules``: (filter expression, label, symbol XML with name = index)."""
    rule_xml = "".join(
        f'<rule key="r{i}" filter={quoteattr(flt)} symbol="{i}" label={quoteattr(label)}/>'
        for i, (flt, label, _) in enumerate(rules)
    )
    symbols = "".join(sym for _, _, sym in rules)
    return (
        f'<renderer-v2 type="RuleRenderer" symbollevels="{int(symbol_levels)}" '
        'enableorderby="0" forceraster="0">'
        f'<rules key="root">{rule_xml}</rules><symbols>{symbols}</symbols></renderer-v2>'
    )


def _graduated_rules(
    column: str,
    values: pd.Series,
    *,
    kind: str,
    cmap: str,
    base_filter: str = "",
    percent: bool = False,
    widths: Sequence[float] | None = None,
    sizes: Sequence[float] | None = None,
) -> list[tuple[str, str, str]]:
    bins = class_breaks(values)
    if not bins:
        return []
    pal = palette(cmap, len(bins))
    lo = float(pd.to_numeric(values, errors="coerce").min())
    rules: list[tuple[str, str, str]] = []
    prev = None
    for i, hi in enumerate(bins):
        cond = f"{_field(column)} <= {hi!r}"
        if prev is not None:
            cond = f"{_field(column)} > {prev!r} AND {cond}"
        flt = f"({base_filter}) AND {cond}" if base_filter else cond
        a = lo if prev is None else prev
        lo_s, hi_s = (f"{100 * a:.0f}", f"{100 * hi:.0f}") if percent else (fmt(a), fmt(hi))
        label = (lo_s if lo_s == hi_s else f"{lo_s} to {hi_s}") + (" %" if percent else "")
        idx = str(len(rules))
        if kind == "fill":
            sym = _symbol("fill", idx, [_fill(pal[i])])
        elif kind == "line":
            w = widths[min(i, len(widths) - 1)] if widths else 0.6
            sym = _symbol("line", idx, [_line(pal[i], w)])
        else:
            s = sizes[min(i, len(sizes) - 1)] if sizes else 2.5
            sym = _symbol("marker", idx, [_marker(pal[i], s)])
        rules.append((flt, label, sym))
        prev = hi
    return rules


def _jurisdiction_styles(jur: gpd.GeoDataFrame) -> list[tuple[str, str, bool]]:
    levels = level_names(jur) if {"level", "level_name"} <= set(jur.columns) else []
    if not levels:
        return []
    finest = str(levels[-1])
    base = f"{_field('level_name')} = '{finest}'"
    outlines = []
    for j, lv in enumerate(levels):
        width = 0.2 + 0.8 * (len(levels) - 1 - j) / max(1, len(levels) - 1)
        outlines.append((str(lv), width))
    styles: list[tuple[str, str, bool]] = []
    rules: list[tuple[str, str, str]]
    choices = [
        ("upstream_dependency", "Upstream dependency", "YlGnBu", True),
        ("imported_share", "Imported load share", "OrRd", True),
        ("net_balance_kg_day", "Net spillover balance (kg/day)", "PuOr", False),
    ]
    first = True
    for col, title, cmap, percent in choices:
        if col not in jur.columns or jur[col].isna().all():
            continue
        vals = jur.loc[jur["level_name"].astype(str) == finest, col]
        rules = _graduated_rules(
            col, vals, kind="fill", cmap=cmap, base_filter=base, percent=percent
        )
        no_data = _symbol("fill", str(len(rules)), [_fill("#d9d9d9")])
        rules.append((f"({base}) AND {_field(col)} IS NULL", "no data", no_data))
        for lv, width in outlines:
            i = str(len(rules))
            rules.append(
                (
                    f"{_field('level_name')} = '{lv}'",
                    f"border: {lv}",
                    _symbol("fill", i, [_fill(None, "#1a1a1a", round(width, 2), pass_=1)]),
                )
            )
        styles.append(
            (f"{title} ({finest})", _qml(_rule_renderer(rules, symbol_levels=True)), first)
        )
        first = False
    if "priority_class" in jur.columns and jur["priority_class"].notna().any():
        rules = []
        for cls, colour in PRIORITY_COLOURS.items():
            i = str(len(rules))
            rules.append(
                (
                    f"({base}) AND lower({_field('priority_class')}) = '{cls}'",
                    f"priority {cls}",
                    _symbol("fill", i, [_fill(colour)]),
                )
            )
        styles.append((f"Priority ({finest})", _qml(_rule_renderer(rules)), False))
    return styles


def layer_styles(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, list[tuple[str, str, bool]]]:
    """QML styles per layer: ``{layer: [(style name, QML, use as default), ...]}``.

    Classes are Fisher-Jenks breaks (mapclassify) of the layer's own values, as on the
    HTML maps. Layers without the columns a style needs get no style.
    """
    out: dict[str, list[tuple[str, str, bool]]] = {}
    if "jurisdictions" in layers:
        st = _jurisdiction_styles(layers["jurisdictions"])
        if st:
            out["jurisdictions"] = st
    for name in ("pieces", "reaches"):
        g = layers.get(name)
        if g is None or "flux_kg_day" not in g.columns or g["flux_kg_day"].isna().all():
            continue
        rules = _graduated_rules(
            "flux_kg_day", g["flux_kg_day"], kind="line", cmap="Blues",
            widths=(0.3, 0.5, 0.8, 1.2, 1.8),
        )  # fmt: skip
        if rules:
            out[name] = [("Load carried (kg/day)", _qml(_rule_renderer(rules)), True)]
    cx = layers.get("crossings")
    if cx is not None and len(cx):
        if "priority_class" in cx.columns and cx["priority_class"].notna().any():
            rules = [
                (
                    f"lower({_field('priority_class')}) = '{cls}'",
                    f"priority {cls}",
                    _symbol("marker", str(i), [_marker(colour, 3.2)]),
                )
                for i, (cls, colour) in enumerate(PRIORITY_COLOURS.items())
            ]
            out["crossings"] = [("Priority", _qml(_rule_renderer(rules)), True)]
        elif "flux_kg_day" in cx.columns and cx["flux_kg_day"].notna().any():
            rules = _graduated_rules(
                "flux_kg_day", cx["flux_kg_day"], kind="marker", cmap="Reds",
                sizes=(1.6, 2.2, 2.8, 3.6, 4.6),
            )  # fmt: skip
            out["crossings"] = [("Load crossing (kg/day)", _qml(_rule_renderer(rules)), True)]
    if "dependency_edges" in layers:
        arrow = (
            "MarkerLine",
            {"placements": "LastVertex", "placement": "lastvertex", "rotate": "1"},
            0,
        )
        head = _symbol("marker", "@0@1", [_marker("#54278f", 3.0, shape="filled_arrowhead")])
        line = _symbol("line", "0", [_line("#54278f", 0.6)])
        marker_line = (
            f'<layer class="MarkerLine" enabled="1" locked="0" pass="0">'
            f"{_options(arrow[1])}{head}</layer>"
        )
        sym = line.replace("</symbol>", marker_line + "</symbol>")
        rules = [("TRUE", "flows into", sym)]
        out["dependency_edges"] = [("Who drains into whom", _qml(_rule_renderer(rules)), True)]
    if "basin" in layers:
        sym = _symbol("fill", "0", [_fill(None, "#2b6c9e", 0.8)])
        out["basin"] = [("Basin outline", _qml(_rule_renderer([("TRUE", "basin", sym)])), True)]
    return out


def _geometry_columns(gpkg: Path) -> dict[str, str]:
    with sqlite3.connect(gpkg) as con:
        rows = con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
    return {str(t): str(c) for t, c in rows}


def write_layer_styles(
    gpkg: str | Path, layers: Mapping[str, gpd.GeoDataFrame] | None = None
) -> Path:
    """Store default QGIS styles in ``gpkg``'s ``layer_styles`` table (replacing ours).

    The GeoPackage is updated in a copy that replaces it only when complete.

    Parameters
    ----------
    gpkg
        A GeoPackage written by ``basingov run``.
    layers
        The layers it holds, to classify their values (default: read from ``gpkg``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If ``gpkg`` does not exist.
    """
    path = Path(gpkg)
    if not path.is_file():
        msg = f"{path} does not exist; write it with basingov run BASIN -o DIR first"
        raise InputError(msg)
    try:
        import mapclassify  # noqa: F401  (the style classes are mapclassify's)
    except ImportError:
        warnings.warn(
            f"QGIS styles not written to {path.name}: mapclassify is not installed; "
            "install the maps extra with: pip install 'basingov[maps]'",
            BasingovWarning,
            stacklevel=2,
        )
        return path
    geom_cols = _geometry_columns(path)
    if layers is None:
        layers = {
            n: pyogrio.read_dataframe(path, layer=n)
            for n in geom_cols
            if n in ("jurisdictions", "pieces", "reaches", "crossings", "dependency_edges", "basin")
        }
    styles = layer_styles(layers)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    rows = []
    for name, entries in styles.items():
        if name not in geom_cols:
            continue
        for style_name, qml, default in entries:
            rows.append(
                {
                    "f_table_catalog": "",
                    "f_table_schema": "",
                    "f_table_name": name,
                    "f_geometry_column": geom_cols[name],
                    "styleName": style_name,
                    "styleQML": qml,
                    "styleSLD": "",
                    "useAsDefault": bool(default),
                    "description": f"basingov default style: {style_name}",
                    "owner": "basingov",
                    "ui": "",
                    "update_time": now,
                }
            )
    table = pd.DataFrame(rows, columns=list(STYLE_COLUMNS))
    with atomic_path(path, overwrite=True) as tmp:
        shutil.copyfile(path, tmp)
        if "layer_styles" in {str(n) for n, _ in pyogrio.list_layers(tmp)}:
            with sqlite3.connect(tmp) as con:
                con.execute("DELETE FROM layer_styles WHERE owner = 'basingov'")
        pyogrio.write_dataframe(table, tmp, layer="layer_styles", driver="GPKG", append=True)
    return path
