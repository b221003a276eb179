"""Offline pages: Leaflet inlined from XStatic-Leaflet, nothing else linked."""

from __future__ import annotations

import pytest

from basingov import maps
from basingov.errors import InputError


def test_leaflet_assets_come_from_the_installed_package():
    import xstatic.pkg.leaflet as xs

    js, css = maps.leaflet_assets()
    assert xs.VERSION == "1.9.3"
    assert 'version="1.9.3"' in js
    assert "sourceMappingURL" not in js  # no request for a source map either
    assert "url(images/" not in css  # images embedded as data URIs
    assert css.count("data:image/png;base64,") >= 3


def test_inline_assets_replaces_leaflet_links():
    page = (
        '<head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">'
        '</script><link rel="stylesheet" '
        'href="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"/></head>'
    )
    out = maps.inline_assets(page)
    assert maps.external_references(out) == []
    assert "<style>" in out
    assert out.count("<script>") == 1


def test_inline_assets_refuses_other_cdn_assets():
    page = '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
    with pytest.raises(InputError, match=r"cannot be shipped offline: \['https://code.jquery"):
        maps.inline_assets(page)


def test_external_references_finds_loading_tags_only():
    page = (
        '<img src="https://a.org/x.png"><a href="https://b.org">link</a>'
        '<div style="background:url(https://c.org/y.png)"></div>'
    )
    assert maps.external_references(page) == ["https://a.org/x.png", "https://c.org/y.png"]


def test_folium_default_map_is_made_offline_by_save_map(tmp_path):
    import folium

    m = folium.Map(tiles=None)
    # a plain folium map links jQuery, Bootstrap and icon fonts from CDNs: refused
    with pytest.raises(InputError, match="cannot be shipped offline"):
        maps.save_map(m, tmp_path / "plain.html")
    assert not (tmp_path / "plain.html").exists()
