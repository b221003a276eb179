"""Render ``data/README.md``: the prose is ``README.template.md``, the numbers come from the run.

The template is a :class:`string.Template` (``${name}`` placeholders, no other ``$``). Every
placeholder is filled by :func:`template_values` from the files written (file table, sha256,
total size) and the facts the basin modules gathered (areas, counts, names); a placeholder
without a value, or a value without a placeholder, is an error, so the template and this
module cannot drift apart silently.
"""

from __future__ import annotations

import string
from pathlib import Path

from . import rhine, taihu, tennessee, thames
from .common import EQUAL_AREA, MIN_PART_KM2, Builder, sha256
from .literature import LITERATURE
from .sources import SOURCES

#: The Markdown template of ``data/README.md``.
TEMPLATE = Path(__file__).with_name("README.template.md")


def _cell(text: str) -> str:
    """Escape text for a Markdown table cell.

    Parameters
    ----------
    text
        Cell text.

    Returns
    -------
    str
        Text with pipes escaped and newlines removed.
    """
    return text.replace("|", "\\|").replace("\n", " ")


def _vs_published(area: float, published: tuple[float, str]) -> str:
    """Format an area with its difference from the published figure.

    Parameters
    ----------
    area
        Area computed here (km2).
    published
        Published area (km2) and its source.

    Returns
    -------
    str
        For example ``"9,523 km2 (-4.3% vs 9,948)"``.
    """
    pub = published[0]
    return f"{area:,.0f} km2 ({100 * (area - pub) / pub:+.1f}% vs {pub:,.0f})"


def flagged_values(groups: list[tuple[str, str, list[float]]]) -> str:
    """Name the flagged values of each parameter: count and values or their range.

    Parameters
    ----------
    groups
        ``(parameter, unit, sorted values)`` per parameter with flagged values.

    Returns
    -------
    str
        For example ``"SS: 5 values, -2.5 to -0.19 mg/L; temperature: 2 values, -0.2 and
        118 degC"``.
    """
    parts = []
    for param, unit, values in groups:
        lo, hi = values[0], values[-1]
        n = len(values)
        shown = {1: f"1 value, {lo:g}", 2: f"2 values, {lo:g} and {hi:g}"}.get(
            n, f"{n} values, {lo:g} to {hi:g}"
        )
        parts.append(f"{param}: {shown} {unit}")
    return "; ".join(parts)


def file_rows(b: Builder) -> list[str]:
    """One Markdown table row per written file, sorted by path, with its sha256.

    Parameters
    ----------
    b
        Builder after all files were written.

    Returns
    -------
    list of str
        Rows ``| path | source | licence | changes | CRS | sha256 |``.
    """
    rows = []
    for e in sorted(b.entries, key=lambda e: e.path):
        src = "; ".join(SOURCES[k][0] for k in e.sources)
        lic = "; ".join(dict.fromkeys(SOURCES[k][1] for k in e.sources))
        rows.append(
            f"| `{e.path}` | {_cell(src)} | {_cell(lic)} | {_cell(e.changes)} | "
            f"{_cell(e.crs)} | {sha256(b.out / e.path)} |"
        )
    return rows


def template_values(b: Builder) -> dict[str, str]:
    """Compute the text for every placeholder of the template.

    Parameters
    ----------
    b
        Builder after all files were written (entries and facts complete).

    Returns
    -------
    dict
        Placeholder name -> text.
    """
    f = b.facts
    total_mb = sum((b.out / e.path).stat().st_size for e in b.entries) / 1e6
    rc, tc, nc = f["rhine_counts"], f["thames_counts"], f["tennessee_counts"]
    ta, tobs, hr = f["taihu_counts"], f["taihu_obs"], f["taihu_hydrorivers"]
    # (gauges compared, largest lat/lon difference in degrees); absent if none overlap
    nrfa_check = f.get("thames_nrfa_coord_check", (0, float("nan")))
    values = {
        "equal_area": EQUAL_AREA,
        "total_mb": f"{total_mb:.1f}",
        "file_rows": "\n".join(file_rows(b)),
        "min_part_km2": f"{MIN_PART_KM2}",
        "literature_rows": "\n".join(
            f"| {q} | {v:g} | {u} | [{_cell(r)}]({url}) |" for q, v, u, r, url in LITERATURE
        ),
        # boundaries
        "rhine_ch_li": ", ".join(
            f"{c} {'is' if ok else 'is NOT'} a NUTS 2024 level-0 unit"
            for c, ok in f["rhine_ch_li_in_nuts"].items()
        ),
        "rhine_area": f"{f['rhine_area']:,.0f}",
        "rhine_nl_km2": f"{f['rhine_nl_km2']:,.0f}",
        "rhine_ccm2_outlets": f"{f['rhine_ccm2_outlets']}",
        "tennessee_states": ", ".join(f["tennessee_states"]),
        "tennessee_slivers": ", ".join(f"{n} {a:.1f} km2" for n, a in f["tennessee_slivers"]),
        "thames_lad_min_parent_share": f"{f['thames_lad_min_parent_share']:.2f}",
        "taihu_composite_units": f"{f['taihu_composite_units']}",
        "taihu_left_out": ", ".join(f"{k} {v:,.0f}" for k, v in f["taihu_left_out"].items()),
        "taihu_excluded": ", ".join(f"{k} {v:,.0f}" for k, v in f["taihu_excluded"].items()),
        "taihu_prefecture_areas": ", ".join(
            f"{k} {v:,.1f}" for k, v in f["taihu_prefecture_areas"].items()
        ),
        # hydrography
        "rhine_hybas": f"{rc['hybas']}",
        "rhine_ccm2": f"{rc['ccm2']:,}",
        "rhine_ne_rivers": f"{rc['ne_rivers']}",
        "rhine_lakes": f"{rc['lakes']}",
        "rhine_ne_cuts": "; ".join(
            f"'{name}' at its mouth ({lat:.4f} N, {lon:.4f} E, {src}; the line passes "
            f"{off:,.0f} m from it) into '{name}' ({up:.1f} km) and '{below}' ({down:.1f} km)"
            for name, below, (lon, lat), src, off, up, down in f["rhine_ne_cuts"]
        ),
        "thames_dcw_source_lines": f"{tc['dcw_source_lines']}",
        "thames_dcw_linestrings": f"{tc['dcw_linestrings']}",
        "thames_dem_streams": f"{tc['dem_streams']}",
        "thames_ne_rivers": f"{tc['ne_rivers']}",
        "thames_ne_names": ", ".join(tc["ne_names"]),
        "thames_dcw_fixed": "; ".join(
            f"'{nam}' is {what}"
            + (f", renamed '{name}'" if name else ", blanked")
            + (
                f" (every vertex within {far:,.0f} m of Natural Earth's Thames)"
                if along
                else f" (its end {far:,.0f} m from that point)"
            )
            for nam, name, what, far, along in f["thames_dcw_fixed"]
        ),
        "thames_nrfa_coord_max_deg": f"{nrfa_check[1]:.4f}",
        "thames_nrfa_coord_gauges": f"{nrfa_check[0]}",
        "tennessee_ne_rivers": f"{nc['ne_rivers']}",
        "tennessee_named_rivers": f"{nc['named_rivers']}",
        "tennessee_lakes": f"{nc['lakes']}",
        "taihu_nfgis_arcs": f"{ta['nfgis_arcs']}",
        "taihu_hyd1_arcs": f"{ta['hyd1_arcs']}",
        "taihu_hyd1_not_in_hyd2": f"{ta['hyd1_not_in_hyd2']}",
        "taihu_river_names": ", ".join(ta["names"]),
        "taihu_lake_polys": f"{ta['lake_polys']}",
        "taihu_hr_source": f"{hr['source_reaches']:,}",
        "taihu_hr_reaches": f"{hr['reaches']:,}",
        "taihu_hr_systems": f"{hr['systems']}",
        "taihu_hr_cut": f"{hr['cut_links']}",
        "taihu_hr_main_reaches": f"{hr['main_reaches']:,}",
        "taihu_hr_main_upland": f"{hr['main_upland_km2']:,.0f}",
        "taihu_hr_main_exit": f"{hr['main_exit'][0]:.3f} E {hr['main_exit'][1]:.3f} N",
        "taihu_hr_main_dis": f"{hr['main_dis_cms']:,.0f}",
        # monitoring
        "thames_station_status": ", ".join(
            f"{k} {v}" for k, v in sorted(f["thames_station_status"].items())
        ),
        "thames_station_areas": f"{f['thames_station_areas']}",
        "thames_observations": f"{f['thames_obs'][0]:,}",
        "thames_dropped_cells": f"{f['thames_obs'][1]}",
        "thames_implausible": f"{f['thames_implausible']}",
        "thames_implausible_values": flagged_values(f["thames_implausible_by"]),
        "thames_max_water_temperature": f"{thames.MAX_WATER_TEMPERATURE_C:g}",
        "rhine_observations": f"{f['rhine_obs']:,}",
        "tennessee_sites": f"{f['tennessee_obs'][1]}",
        "tennessee_observations": f"{f['tennessee_obs'][0]:,}",
        "taihu_sections": f"{tobs['sections']}",
        "taihu_class_rows": f"{tobs['class_rows']}",
        "taihu_unnamed_rows_skipped": f"{tobs['unnamed_rows_skipped']}",
        "taihu_named_without_class": f"{tobs['named_without_class']}",
        "taihu_sections_geocoded": (
            f"{sum(f['taihu_sections_geocoded'].values())} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(f["taihu_sections_geocoded"].items()))
            + ")"
        ),
        "taihu_sections_in_basin": f"{f['taihu_sections_geocoded_check'][0]}",
        "taihu_sections_on_side": f"{f['taihu_sections_geocoded_check'][1]}",
        "taihu_sections_km_range": (
            f"{f['taihu_sections_geocoded_check'][2]:.1f}-"
            f"{f['taihu_sections_geocoded_check'][3]:.1f}"
        ),
        # loads
        "thames_plants_in_basin": f"{f['thames_plants_in_basin'][0]}",
        "thames_plants_in_box": f"{f['thames_plants_in_basin'][1]}",
    }
    for basin in (rhine, tennessee, thames, taihu):
        name = basin.NAME
        values[f"{name}_area_vs_published"] = _vs_published(
            float(f[f"{name}_area"]), basin.PUBLISHED_AREA
        )
        values[f"{name}_levels"] = f"{f[f'{name}_levels']}"
    return values


def render_readme(b: Builder) -> str:
    """Render ``data/README.md`` from the template, the recorded entries and the facts.

    Parameters
    ----------
    b
        Builder after all files were written.

    Returns
    -------
    str
        Markdown text.

    Raises
    ------
    KeyError
        If the template has a placeholder without a value, or a value has no placeholder.
    """
    template = string.Template(TEMPLATE.read_text(encoding="utf-8"))
    values = template_values(b)
    unused = set(values) - set(template.get_identifiers())
    if unused:
        msg = f"values {sorted(unused)} have no placeholder in {TEMPLATE.name}"
        raise KeyError(msg)
    return template.substitute(values)
