"""Helpers shared by the CLI command modules."""

from __future__ import annotations

from basingov.errors import InputError

__all__ = ["parse_lonlat"]


def parse_lonlat(value: str, *, option: str = "--at") -> tuple[float, float]:
    """Parse ``"LON,LAT"`` in WGS84 degrees.

    Raises
    ------
    InputError
        If the text is not two numbers or they are out of range.

    Examples
    --------
    >>> parse_lonlat("7.59, 47.56")
    (7.59, 47.56)
    """
    try:
        lon_s, lat_s = value.split(",")
        lon, lat = float(lon_s), float(lat_s)
    except ValueError:
        msg = f"{option} must be LON,LAT in WGS84 degrees (e.g. 7.59,47.56), got {value!r}"
        raise InputError(msg) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"{option} {value!r} is out of range: LON,LAT order, lon within ±180, lat within ±90"
        raise InputError(msg)
    return lon, lat
