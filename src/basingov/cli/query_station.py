"""``basingov query station``: location, jurisdictions, class history and trends of a station."""

from __future__ import annotations

import json

import click

from basingov.monitoring import query_station

__all__ = ["station"]


@click.command("station")
@click.argument("basin")
@click.argument("id_or_name")
def station(basin: str, id_or_name: str) -> None:
    """Show a monitoring station: where it is, whose it is, its classes and trends.

    BASIN is a shipped basin name or a config path with a [monitoring] section; ID_OR_NAME
    is a station id, a name or a name fragment that matches one station. JSON goes to
    stdout: ``location`` (with ``location_status`` and ``is_proxy``: a proxy is a stand-in
    location, not the sampling point), ``jurisdictions`` per level, the crossing
    ``sections`` it monitors, ``class_history`` and ``trends``.
    """
    click.echo(json.dumps(query_station(basin, id_or_name), indent=2, ensure_ascii=False))
