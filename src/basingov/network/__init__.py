"""River networks: the container, topology, derived quantities, converters, navigation, builders.

The model follows pyflwdir: one downstream index per reach plus a topological order, held by
:class:`RiverNetwork`. This façade re-exports the public names of the package:

- ``_container``: :class:`RiverNetwork`, :func:`network_from_table`;
- ``_topology`` and ``_kernels``: validation and topological order (private); the
  compiled ``csr_reverse``, ``kahn_order_tree`` and ``kahn_order_csr`` check their arrays;
- :mod:`~basingov.network.hydrology`: upstream area, accumulation, Strahler order,
  distance to outlet, travel time, hydraulic-geometry defaults;
- :mod:`~basingov.network.convert`: GeoDataFrame and networkx converters (inverse pairs);
- :mod:`~basingov.network.navigation`: NLDI-style navigation (UM/UT/DM/DD) and snapping;
- :mod:`~basingov.network.naming`: river names from a named line layer;
- :mod:`~basingov.network.lakes`: reaches inside lake polygons become lake nodes;
- :mod:`~basingov.network.builders`: networks from next-down tables, from/to nodes, lines
  and an outlet, or a DEM;
- :mod:`~basingov.network.assemble`: a basin's network as its config describes it;
- :mod:`~basingov.network.regionalise`: mean discharge regionalised to gauges;
- :mod:`~basingov.network.partition`: drainage units (sub-basins) for scale-out.
"""

from basingov.network import hydrology
from basingov.network._container import RiverNetwork, network_from_table
from basingov.network._topology import (
    OUTLET_ID,
    csr_reverse,
    ids_to_positions,
    kahn_order_csr,
    kahn_order_tree,
)
from basingov.network.convert import from_networkx, network_from_gdf, network_to_gdf, to_networkx
from basingov.network.hydrology import *  # noqa: F403 - the derived quantities (hydrology.__all__)
from basingov.network.lakes import LakeInfo, lake_polygons, lake_reaches, mark_lakes
from basingov.network.navigation import (
    DOWNSTREAM_MODES,
    MODES,
    UPSTREAM_MODES,
    DownstreamMode,
    Mode,
    SnapResult,
    UpstreamMode,
    navigate,
    nearest_reach_m,
    snap_point,
)
from basingov.network.partition import sub_basins, upstream_first_order
from basingov.network.regionalise import (
    GAUGE_COLUMNS,
    gauge_table,
    regionalise_runoff,
    station_areas,
)

# the derived quantities, then the rest of the package
__all__ = [
    *hydrology.__all__,
    "DOWNSTREAM_MODES",
    "GAUGE_COLUMNS",
    "MODES",
    "OUTLET_ID",
    "UPSTREAM_MODES",
    "DownstreamMode",
    "LakeInfo",
    "Mode",
    "RiverNetwork",
    "SnapResult",
    "UpstreamMode",
    "csr_reverse",
    "from_networkx",
    "gauge_table",
    "ids_to_positions",
    "kahn_order_csr",
    "kahn_order_tree",
    "lake_polygons",
    "lake_reaches",
    "mark_lakes",
    "navigate",
    "nearest_reach_m",
    "network_from_gdf",
    "network_from_table",
    "network_to_gdf",
    "regionalise_runoff",
    "snap_point",
    "station_areas",
    "sub_basins",
    "to_networkx",
    "upstream_first_order",
]
