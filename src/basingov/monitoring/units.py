"""Canonical parameter codes and unit conversion of long-format observations.

The code lives in :mod:`basingov._observations`, shared with the gauges of
``[hydraulics] gauges_from_monitoring`` (:func:`basingov.network.gauge_table`), which read
discharge exactly as the monitoring stage does; it is re-exported here.
"""

from __future__ import annotations

from basingov._observations import (
    ALIASES,
    CODES,
    EXCLUDED_FLAGS,
    MOLAR_MASS,
    OBSERVATION_COLUMNS,
    PARAMETERS,
    Parameter,
    canonical_unit,
    conversion_factor,
    normalise_observations,
    not_used,
    parameter_stations,
    read_observation_rows,
    read_observations,
)
from basingov._tables import text

__all__ = [
    "ALIASES",
    "CODES",
    "EXCLUDED_FLAGS",
    "MOLAR_MASS",
    "OBSERVATION_COLUMNS",
    "PARAMETERS",
    "Parameter",
    "canonical_unit",
    "conversion_factor",
    "normalise_observations",
    "not_used",
    "parameter_stations",
    "read_observation_rows",
    "read_observations",
    "text",
]
