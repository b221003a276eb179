"""Monitoring (DESIGN §2.7): standards, stations on the network, border sections, trends.

The façade of the stage. Standards are data tables (:mod:`.standards`); parameter codes
and units are checked and converted (:mod:`.units`); stations are snapped to reaches and
paired with crossing sections (:mod:`.stations`); station-periods are classified and
border sections assessed (:mod:`.sections`); trends are Mann-Kendall tests with Sen's
slope (:mod:`.trends`); loads C·Q are balanced between consecutive stations
(:mod:`.massbalance`). :func:`assess` runs them all for the pipeline, and
:func:`station_report` answers ``basingov query station``.

Examples
--------
>>> from basingov.monitoring import classify
>>> classify(1.0, "NH3-N"), classify(7.5, "DO"), classify(2.5, "NH3-N")
('III', 'I', 'worse than V')
"""

from __future__ import annotations

from basingov.monitoring.assess import MonitoringResult, assess
from basingov.monitoring.massbalance import MassBalance, mass_balance, station_load_table
from basingov.monitoring.query import find_station, query_station, station_report
from basingov.monitoring.sections import (
    monitoring_gap,
    period_classes,
    published_classes,
    section_table,
)
from basingov.monitoring.standards import (
    Standard,
    available_standards,
    class_rank,
    classify,
    classify_values,
    exceedance_ratio,
    get_standard,
)
from basingov.monitoring.stations import (
    PROXY_STATUSES,
    apply_proxy_locations,
    match_sections,
    read_station_table,
    snap_stations,
)
from basingov.monitoring.trends import trend_test, trend_tests
from basingov.monitoring.units import (
    CODES,
    PARAMETERS,
    canonical_unit,
    conversion_factor,
    normalise_observations,
    read_observations,
)

__all__ = [
    "CODES",
    "PARAMETERS",
    "PROXY_STATUSES",
    "MassBalance",
    "MonitoringResult",
    "Standard",
    "apply_proxy_locations",
    "assess",
    "available_standards",
    "canonical_unit",
    "class_rank",
    "classify",
    "classify_values",
    "conversion_factor",
    "exceedance_ratio",
    "find_station",
    "get_standard",
    "mass_balance",
    "match_sections",
    "monitoring_gap",
    "normalise_observations",
    "period_classes",
    "published_classes",
    "query_station",
    "read_observations",
    "read_station_table",
    "section_table",
    "snap_stations",
    "station_load_table",
    "station_report",
    "trend_test",
    "trend_tests",
]
