"""folium elements for basingov maps: shared GeoJSON data, styled layers, panes, panels."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from basingov.maps._offline import OfflineFigure
from basingov.maps._simplify import compact_json
from basingov.maps._styles import CLASS_COLOURS, NO_DATA, PRIORITY_COLOURS, palette

__all__ = [
    "CLASS_COLOURS",
    "NO_DATA",
    "PRIORITY_COLOURS",
    "GeoData",
    "GeoLayer",
    "Helpers",
    "Panes",
    "add_backdrop",
    "add_data",
    "collection_json",
    "collection_json_of",
    "js_literal",
    "legend_html",
    "new_map",
    "palette",
]

#: Map panes (drawing order, bottom to top) and whether features on them take clicks.
PANES: tuple[tuple[str, int, bool], ...] = (
    ("bg_land", 402, False),
    ("bg_fill", 405, True),
    ("bg_borders", 410, False),
    ("bg_rivers", 420, True),
    ("bg_arrows", 430, True),
    ("bg_points", 450, True),
)


def js_literal(text: str) -> str:
    r"""Body of a single-quoted JavaScript string holding ``text``, safe in ``<script>``.

    Examples
    --------
    >>> js_literal('{"a":"it\'s </b>"}')
    '{"a":"it\\\'s <\\/b>"}'
    """
    return (
        text.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
        .replace("</", "<\\/")
    )


def new_map(*, title: str, bounds: Sequence[Sequence[float]]) -> folium.Map:
    """Create a folium map with no tiles and Leaflet as its only asset, fitted to ``bounds``.

    ``bounds`` is ``[[south, west], [north, east]]``. The page title is ``title``.
    """
    m = folium.Map(location=None, tiles=None, control_scale=True, zoom_snap=0.25)
    OfflineFigure(title=title).add_child(m)
    # basingov layers need Leaflet only: drop folium's jQuery, Bootstrap and icon fonts
    m.default_js = [js for js in m.default_js if js[0] == "leaflet"]
    m.default_css = [css for css in m.default_css if css[0] == "leaflet_css"]
    fig = m.get_root()
    fig.header.add_child(  # type: ignore[attr-defined]
        Element(f"<style>{_CSS}</style>"), name="basingov_css"
    )
    m.fit_bounds([list(bounds[0]), list(bounds[1])])
    return m


_CSS = """
html,body{margin:0;padding:0;height:100%;font-family:system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans","Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.leaflet-container{background:#dde6ee;font:13px/1.35 inherit}
.bg-panel{background:rgba(255,255,255,.95);border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.4);
padding:6px 10px;max-width:340px;max-height:55vh;overflow:auto;font-size:12.5px}
.bg-panel h1{font-size:15px;margin:2px 0 4px}.bg-panel h2{font-size:13px;margin:8px 0 3px}
.bg-panel p{margin:3px 0}.bg-panel summary{cursor:pointer;font-weight:600}
.bg-sw{display:inline-block;width:14px;height:11px;margin-right:5px;border:1px solid #777;
vertical-align:middle}.bg-ln{display:inline-block;width:22px;margin-right:5px;vertical-align:middle}
.bg-legend div{white-space:nowrap}.bg-note{color:#555;font-size:11.5px}
.bg-title{position:absolute;top:10px;left:54px;z-index:1000;max-width:calc(100% - 480px);
min-width:200px}.bg-title h1{margin:0;font-size:16px}
.leaflet-popup-content{font-size:13px;line-height:1.4}
.leaflet-popup-content h3{margin:0 0 4px;font-size:14px}
"""


class GeoData(MacroElement):
    """A GeoJSON FeatureCollection written once as a JS variable, shared by several layers."""

    # JSON.parse of a string literal is parsed much faster by browsers than the same data
    # as a JavaScript object literal (V8 guidance for data over ~10 kB)

    def __init__(self, collection: dict[str, Any] | str, literal: str | None = None) -> None:
        super().__init__()
        self._name = "bg_data"
        self.json = collection if isinstance(collection, str) else collection_json(collection)
        # ``literal`` is js_literal(self.json), when a caller has it from an earlier map
        self.literal = js_literal(self.json) if literal is None else literal

    def render(self, **kwargs: Any) -> str:
        """Add the data to the page's script as plain text.

        branca would compile the rendered script as a Jinja template: megabytes of
        GeoJSON would be parsed again for nothing (and ``{{`` in a popup misread).
        """
        script = f"var {self.get_name()} = JSON.parse('{self.literal}');"
        root: Any = self.get_root()
        root.script.add_child(_Raw(script), name=self.get_name())
        return ""


class _RawTemplate:
    """A stand-in for a Jinja template that renders a fixed text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _Raw(Element):
    """A page element whose text is output as is (no template compilation)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._template = _RawTemplate(text)  # type: ignore[assignment]


class Panes(MacroElement):
    """Create the drawing panes of :data:`PANES` on the map."""

    _template = Template(
        """{% macro script(this, kwargs) %}
{%- for name, z, clicks in this.panes %}
{{ this._parent.get_name() }}.createPane({{ name|tojson }}).style.zIndex = {{ z }};
{%- if not clicks %}
{{ this._parent.get_name() }}.getPane({{ name|tojson }}).style.pointerEvents = "none";
{%- endif %}
{%- endfor %}
{% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "bg_panes"
        self.panes = PANES


class Helpers(MacroElement):
    """JS helpers every basingov layer uses: popups and number formatting."""

    _template = Template(
        """{% macro script(this, kwargs) %}
var bgUnit = {{ this.unit|tojson }};
function bgFmt(v) {
  if (v === null || v === undefined || !isFinite(v)) { return "n/a"; }
  var a = Math.abs(v);
  return a >= 100 ? Math.round(v).toLocaleString("en") : Number(v.toPrecision(3)).toString();
}
function bgEsc(s) {
  return String(s).replace(/[&<>"]/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c];
  });
}
var bgCanvases = {};
function bgCanvas(pane) {
  if (!bgCanvases[pane]) { bgCanvases[pane] = L.canvas({pane: pane, tolerance: 4}); }
  return bgCanvases[pane];
}
function bgBind(g) {
  // one popup and one tooltip for the whole layer: content comes from each feature
  g.bindPopup(function (l) { return l.feature.properties.p || ""; }, {maxWidth: 380});
  g.bindTooltip(function (l) { return bgEsc(l.feature.properties.t || ""); }, {sticky: true});
}
function bgFeatureBind(f, l) {
  // per feature, for layers whose features are groups (arrow = line + head): Leaflet
  // 1.9.3 cannot bind a tooltip on a group of groups
  var p = f.properties || {};
  if (p.p) { l.bindPopup(p.p, {maxWidth: 380}); }
  if (p.t) { l.bindTooltip(bgEsc(p.t), {sticky: true}); }
}
function bgRiverBind(g) {
  g.bindTooltip(function (l) { return bgEsc(l.feature.properties.n || "Unnamed river"); },
                {sticky: true});
  g.bindPopup(function (l) {
    var p = l.feature.properties;
    var name = p.n ? bgEsc(p.n) : "Unnamed river";
    var t = "<h3>" + name + "</h3><p>Mean flow about " + bgFmt(p.q) +
      " m\u00b3/s ({{ this.flow_note }}).</p>";
    if (p.l !== null && p.l !== undefined) {
      t += "<p>The river carries about " + bgFmt(p.l) + " kg/day of " + bgUnit +
        " here (modelled: all the load generated upstream, less in-stream decay).</p>";
    }
    if (p.c) { t += "<p>Water-quality class " + bgEsc(p.c) + ".</p>"; }
    return t;
  }, {maxWidth: 360});
}
function bgLazy(build) {
  // a layer group that builds its features the first time it is shown: layers that
  // are off at start cost nothing when the page opens
  var g = L.layerGroup(), built = false;
  g.on("add", function () { if (!built) { built = true; build().addTo(g); } });
  return g;
}
{% endmacro %}"""
    )

    def __init__(self, *, unit: str, flow_note: str) -> None:
        super().__init__()
        self._name = "bg_helpers"
        self.unit = unit
        self.flow_note = html.escape(flow_note)


class GeoLayer(Layer):
    """A Leaflet GeoJSON layer drawn from a shared :class:`GeoData`.

    Parameters
    ----------
    data
        The shared data element (added to the map before this layer).
    name
        Name in the layer control.
    style
        A JavaScript function ``f -> path options``.
    pane
        One of :data:`PANES`.
    point
        Optional JavaScript ``pointToLayer`` function for point features.
    filter
        Optional JavaScript filter function (a level of a multi-level dataset).
    bind
        JavaScript function binding popup and tooltip on the layer (default ``bgBind``:
        popup from property ``p``, tooltip from ``t``; ``bgFeatureBind`` binds them
        on each feature instead, for features that are geometry collections).
    overlay, show, control
        As :class:`folium.map.Layer`: an overlay (check box) or a base layer (radio).
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = bgLazy(function () {
  var g = L.geoJson({{ this.data.get_name() }}, {
    pane: {{ this.pane|tojson }},
    {%- if this.canvas %}
    renderer: bgCanvas({{ this.pane|tojson }}),
    {%- endif %}
    interactive: {{ this.interactive|tojson }},
    style: {{ this.style }},
    {%- if this.point %}
    pointToLayer: {{ this.point }},
    {%- endif %}
    {%- if this.filter %}
    filter: {{ this.filter }},
    {%- endif %}
    {%- if this.interactive and this.bind == "bgFeatureBind" %}
    onEachFeature: bgFeatureBind,
    {%- endif %}
  });
  {%- if this.interactive and this.bind != "bgFeatureBind" %}
  {{ this.bind }}(g);
  {%- endif %}
  g.bgName = {{ this.layer_name|tojson }};
  return g;
});
{{ this.get_name() }}.bgName = {{ this.layer_name|tojson }};
{% endmacro %}"""
    )

    def __init__(
        self,
        data: GeoData,
        *,
        name: str,
        style: str,
        pane: str,
        point: str | None = None,
        filter: str | None = None,  # noqa: A002  (Leaflet's option name)
        bind: str = "bgBind",
        overlay: bool = True,
        show: bool = True,
        control: bool = True,
        interactive: bool = True,
        canvas: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "bg_layer"
        self.canvas = canvas
        self.data = data
        self.style = style
        self.pane = pane
        self.point = point
        self.filter = filter
        self.bind = bind
        self.interactive = interactive


def collection_json(collection: dict[str, Any]) -> str:
    """Return the compact JSON text of a feature collection, as a map page holds it.

    Examples
    --------
    >>> collection_json({"type": "FeatureCollection", "features": [{"a": "é"}]})
    '{"type":"FeatureCollection","features":[{"a":"é"}]}'
    """
    return compact_json(collection)


def collection_json_of(features: Sequence[str]) -> str:
    """Return :func:`collection_json` of the features whose compact JSON texts are given.

    Lets a caller measure the features one by one (to fit a size budget) and join them
    without encoding them again (:func:`~basingov.maps._simplify.feature_texts`).

    Examples
    --------
    >>> fs = [{"type": "Feature", "properties": {"n": "Aare"}}, {"a": [1, 2.5]}]
    >>> collection_json_of([compact_json(f) for f in fs]) == collection_json(
    ...     {"type": "FeatureCollection", "features": fs})
    True
    """
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def add_data(
    map_: folium.Map, collection: dict[str, Any] | str, literal: str | None = None
) -> GeoData:
    r"""Write a feature collection (or its :func:`collection_json` text) into the map once.

    :class:`GeoLayer`\ s draw it. ``literal``, if given, is :func:`js_literal` of the
    text (kept from an earlier map of the same collection).
    """
    data = GeoData(collection, literal)
    map_.add_child(data)
    return data


def add_backdrop(map_: folium.Map, data: GeoData, *, name: str, pane: str, style: str) -> None:
    """Draw ``data`` as a fixed backdrop: always shown, not clickable, not in the layer list."""
    map_.add_child(
        GeoLayer(data, name=name, pane=pane, style=style, interactive=False, control=False)
    )


class EmptyBase(Layer):
    """A base layer with nothing on it (the "borders only" choice of the layer control)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.layerGroup();
{% endmacro %}"""
    )

    def __init__(self, name: str, *, show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "bg_base"


class LegendSwitch(MacroElement):
    """Show the legend of the active base layer (choropleth) and hide the others."""

    _template = Template(
        """{% macro script(this, kwargs) %}
(function () {
  var ids = {{ this.ids|tojson }};
  function show(name) {
    for (var k in ids) {
      var el = document.getElementById(ids[k]);
      if (el) { el.style.display = (k === name) ? "" : "none"; }
    }
  }
  {{ this._parent.get_name() }}.on("baselayerchange", function (e) { show(e.name); });
  show({{ this.initial|tojson }});
})();
{% endmacro %}"""
    )

    def __init__(self, ids: dict[str, str], initial: str) -> None:
        super().__init__()
        self._name = "bg_legend_switch"
        self.ids = ids
        self.initial = initial


def legend_html(title: str, items: Sequence[tuple[str, str]], *, kind: str = "fill") -> str:
    """HTML of one legend block: a title and ``(colour, label)`` rows.

    ``kind`` is ``"fill"`` (swatches), ``"line"`` (a line of that colour) or ``"dot"``.

    Examples
    --------
    >>> "0 to 10 %" in legend_html("Share", [("#fff", "0 to 10 %")])
    True
    """
    rows = []
    for colour, label in items:
        if kind == "line":
            mark = f'<span class="bg-ln" style="border-top:4px solid {colour}"></span>'
        elif kind == "dot":
            mark = (
                f'<span class="bg-sw" style="background:{colour};border-radius:50%;'
                'width:11px"></span>'
            )
        else:
            mark = f'<span class="bg-sw" style="background:{colour}"></span>'
        rows.append(f"<div>{mark}{html.escape(label)}</div>")
    return f'<div class="bg-legend"><b>{html.escape(title)}</b>{"".join(rows)}</div>'


def panel(map_: folium.Map, body: str, *, position: str = "bottomleft", open_: bool = True) -> None:
    """Add a collapsible panel (a Leaflet control) holding ``body`` HTML."""
    el = _Panel(body, position=position, open_=open_)
    map_.add_child(el)


class _Panel(MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
(function () {
  var c = L.control({position: {{ this.position|tojson }}});
  c.onAdd = function () {
    var d = L.DomUtil.create("div", "bg-panel");
    d.innerHTML = {{ this.body|tojson }};
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  c.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}"""
    )

    def __init__(self, body: str, *, position: str, open_: bool) -> None:
        super().__init__()
        self._name = "bg_panel"
        self.body = body if not open_ else body.replace("<details>", "<details open>", 1)
        self.position = position


class TitleBox(MacroElement):
    """A title box at the top centre of the map."""

    _template = Template(
        """{% macro html(this, kwargs) %}
<div class="bg-panel bg-title" id="bg-title">{{ this.body }}</div>
{% endmacro %}"""
    )

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "bg_title"
        self.body = body


class ReadyMark(MacroElement):
    """Record when the map has drawn: ``window.bgRendered`` (ms since navigation start).

    Set after the second animation frame following the last layer, i.e. once Leaflet's
    renderers have painted; the browser tests and benchmark P5 read it.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
window.bgMap = {{ this._parent.get_name() }};
requestAnimationFrame(function () {
  requestAnimationFrame(function () { window.bgRendered = performance.now(); });
});
{% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "bg_ready"
