"""Offline HTML: every script and stylesheet a folium page links to, inlined from packages.

folium writes ``<script src="https://cdn...">`` and ``<link href="https://cdn...">`` tags.
An official's laptop is often offline, so :func:`inline_assets` replaces each of them
with the file's content taken from an installed package. The only external asset a
basingov map needs is Leaflet itself (the map layers are drawn by basingov's own small
scripts, without folium's jQuery, Bootstrap or icon-font plug-ins), and Leaflet comes from
the ``XStatic-Leaflet`` wheel on PyPI (the XStatic packaging standard: a library's
release files in a Python package; its version matches the Leaflet that folium targets).
The ``folium`` wheel itself ships no Leaflet file. Images a stylesheet points to are
embedded as ``data:`` URIs. Any other external reference is an error, never a silent
CDN link.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from typing import Any

from branca.element import Figure

from basingov.errors import InputError

__all__ = [
    "LEAFLET_VERSION",
    "OfflineFigure",
    "external_references",
    "inline_assets",
    "leaflet_assets",
]

#: The Leaflet version basingov maps are built against (that of folium 0.20's templates).
LEAFLET_VERSION = "1.9.3"

_SCRIPT_TAG = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script>", re.I)
_LINK_TAG = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*/?>", re.I)
_CSS_URL = re.compile(r"url\(\s*[\"']?(images/[^\"')]+)[\"']?\s*\)")
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")
#: Any URL an HTML attribute or a CSS rule could make the browser fetch.
_FETCHABLE = re.compile(
    r"""<(?:script|img|iframe|link|source|video|audio|embed|object)\b[^>]*?\b"""
    r"""(?:src|href|data)\s*=\s*["']((?:https?:)?//[^"']+)["']"""
    r"""|url\(\s*["']?((?:https?:)?//[^"')]+)""",
    re.I,
)


def _leaflet_dir() -> Path:
    try:  # XStatic-Leaflet is of the optional maps extra (basingov[maps])
        import xstatic.pkg.leaflet as xs_leaflet
    except ImportError:
        msg = (
            "offline maps need the XStatic-Leaflet package (Leaflet's files as a Python "
            "package); install it with: pip install 'basingov[maps]'"
        )
        raise InputError(msg) from None
    if xs_leaflet.VERSION.split(".")[:2] != LEAFLET_VERSION.split(".")[:2]:
        msg = (
            f"XStatic-Leaflet {xs_leaflet.VERSION} is installed but basingov maps are built "
            f"for Leaflet {LEAFLET_VERSION}; install it with: pip install "
            f"'XStatic-Leaflet=={LEAFLET_VERSION}.*'"
        )
        raise InputError(msg)
    return Path(xs_leaflet.BASE_DIR)


@functools.cache
def leaflet_assets() -> tuple[str, str]:
    """Return Leaflet's JavaScript and CSS, ready to inline (images as data URIs).

    Returns
    -------
    tuple of str
        ``(javascript, css)``.

    Raises
    ------
    InputError
        If XStatic-Leaflet is missing or of another Leaflet minor version.

    Examples
    --------
    >>> js, css = leaflet_assets()
    >>> "L.version" in js or 'version="1.9' in js, "data:image/png;base64," in css
    (True, True)
    """
    base = _leaflet_dir()
    js = _SOURCE_MAP.sub("", (base / "leaflet.js").read_text(encoding="utf-8"))
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def embed(m: re.Match[str]) -> str:
        data = base64.b64encode((base / m.group(1)).read_bytes()).decode("ascii")
        return f'url("data:image/png;base64,{data}")'

    css = _CSS_URL.sub(embed, css)
    return js, css


def _is_leaflet(url: str, kind: str) -> bool:
    name = url.rsplit("/", 1)[-1].split("?")[0]
    return name == ("leaflet.js" if kind == "js" else "leaflet.css")


def inline_assets(html: str) -> str:
    """Replace every external ``<script src>`` and stylesheet ``<link>`` by inline content.

    Parameters
    ----------
    html
        A rendered folium page.

    Returns
    -------
    str
        The same page with Leaflet's script and stylesheet inlined.

    Raises
    ------
    InputError
        If the page links to any script or stylesheet other than Leaflet's (a folium
        plug-in basingov does not ship offline), naming the URL.

    Examples
    --------
    >>> page = '<head><script src="https://cdn.example/leaflet@1.9.3/dist/leaflet.js"></script></head>'
    >>> out = inline_assets(page)
    >>> external_references(out), out.startswith("<head><script>")
    ([], True)
    """
    js, css = leaflet_assets()
    unknown: list[str] = []

    def script(m: re.Match[str]) -> str:
        if _is_leaflet(m.group(1), "js"):
            # a function keeps "</script>" inside the library from closing the tag
            return "<script>" + js.replace("</script", "<\\/script") + "</script>"
        unknown.append(m.group(1))
        return m.group(0)

    def link(m: re.Match[str]) -> str:
        if _is_leaflet(m.group(1), "css"):
            return "<style>" + css + "</style>"
        unknown.append(m.group(1))
        return m.group(0)

    out = _LINK_TAG.sub(link, _SCRIPT_TAG.sub(script, html))
    if unknown:
        msg = (
            f"the map links to assets that cannot be shipped offline: {sorted(set(unknown))}; "
            "only Leaflet (from XStatic-Leaflet) is inlined, so remove the folium plug-in "
            "or element that adds them"
        )
        raise InputError(msg)
    return out


def external_references(html: str) -> list[str]:
    """List the http(s) URLs a page would fetch on load: tags that load a resource, CSS ``url()``.

    Plain ``<a href>`` links (followed only when clicked) and online tile URL templates
    inside scripts (fetched only when the user switches that layer on) are not listed.

    Examples
    --------
    >>> external_references('<img src="https://x.org/a.png"><a href="https://x.org">x</a>')
    ['https://x.org/a.png']
    """
    return [a or b for a, b in _FETCHABLE.findall(html)]


class OfflineFigure(Figure):
    """A branca Figure whose rendered HTML has Leaflet inlined (:func:`inline_assets`).

    ``Map.save`` and notebook display render the root figure, so a map placed in this
    figure is offline however it is written.
    """

    def render(self, **kwargs: Any) -> str:
        """Render the page, then inline every script and stylesheet.

        Every script of a folium page is regenerated at render time, so the script
        section is emptied first: rendering twice (e.g. to measure, then to save) must
        not repeat each ``layer.addTo(map)`` call.
        """
        self.script._children.clear()
        return inline_assets(super().render(**kwargs))
