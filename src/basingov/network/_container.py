"""The river network container: the reach table, its arrays and ``network_from_table``.

The model follows pyflwdir: one downstream index per reach (``idx_ds``) plus a topological
order (``order``). A reach that splits (a bifurcation) keeps its *main* branch in
``idx_ds`` and lists every outgoing link with its flow fraction in ``bifurcations``.
Builders, navigation, derived quantities and converters live in their own modules of
:mod:`basingov.network`, which re-exports them all.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from basingov._checks import require_columns
from basingov.errors import BasingovWarning, InputError
from basingov.network import _kernels as K
from basingov.network._topology import (
    OUTLET_ID,
    _check_projected,
    _edge_arrays,
    _fmt_ids,
    _id_array,
    _scc,
    _topology,
    check_positions,
)
from basingov.network.hydrology import (
    _hydraulics,
    accumulate,
    discharge_from_area,
    distance_to_outlet,
    strahler_order,
    upstream_length,
    velocity_from_discharge,
)

if TYPE_CHECKING:
    from basingov.config import HydraulicsSection

__all__ = ["RiverNetwork", "network_from_table"]


_REQUIRED = ("reach_id", "downstream_id")


@dataclass(frozen=True, eq=False)
class RiverNetwork:
    """A directed river network: the reach table plus its array topology.

    Build one with :func:`network_from_table` or a builder of :mod:`basingov.network.builders`
    rather than directly; the constructor does not validate the topology, it only checks
    that ``idx_ds`` and ``order`` are positions of the reach table (the compiled kernels of
    the derived quantities and of navigation index with them without bounds checks) and
    raises an :class:`~basingov.errors.InputError` otherwise.

    Attributes
    ----------
    reaches
        Reach table in a projected CRS with a RangeIndex ``0..n-1`` (positions) and the
        columns ``reach_id``, ``downstream_id`` (:data:`OUTLET_ID` at outlets),
        ``length_km``, ``local_area_km2``, ``upstream_area_km2``, ``discharge_m3s``,
        ``velocity_ms``, ``is_lake``, ``geometry`` and builder-specific extras.
    idx_ds
        Position of each reach's downstream reach, -1 at outlets. For a bifurcating
        reach this is the main branch (largest fraction).
    order
        Reach positions, every reach before its downstream reach(es). In a network that
        keeps cycles (``allow_cycles=True``), this is a topological order of the
        condensation: the reaches of one cycle are adjacent, in arbitrary order.
    bifurcations
        Every outgoing link of each splitting reach: ``reach_id, downstream_id,
        fraction``; None when no reach splits.
    crs
        The projected CRS of ``reaches``.
    source
        Free text naming where the network came from.
    derived
        True when the network was derived (e.g. oriented towards an outlet, or traced
        on a DEM) rather than mapped with its directions.
    """

    reaches: gpd.GeoDataFrame
    idx_ds: np.ndarray
    order: np.ndarray
    bifurcations: pd.DataFrame | None
    crs: CRS
    source: str = ""
    derived: bool = False

    def __post_init__(self) -> None:
        # a position out of range was read and written outside the kernels' arrays (a
        # hand-built network crashed strahler_order with a segmentation fault)
        ds = check_positions(self.idx_ds, name="idx_ds", outlet=True, at="reach position(s)")
        order = check_positions(self.order, ds.size, name="order", at="place(s)")
        if order.size != ds.size or (ds.size and np.bincount(order, minlength=ds.size).min() < 1):
            msg = (
                f"order must list each reach position 0..{ds.size - 1} once, got "
                f"{order.size} positions with {np.unique(order).size} distinct"
            )
            raise InputError(msg)
        if len(self.reaches) != ds.size:
            msg = (
                f"reaches must have one row per entry of idx_ds ({ds.size}), got "
                f"{len(self.reaches)} rows"
            )
            raise InputError(msg)
        object.__setattr__(self, "idx_ds", ds)  # int64, as the kernels are compiled for
        object.__setattr__(self, "order", order)

    @property
    def n(self) -> int:
        """Number of reaches."""
        return int(self.idx_ds.shape[0])

    @property
    def ids(self) -> np.ndarray:
        """Reach ids (int64) aligned to positions."""
        return self.reaches["reach_id"].to_numpy(dtype=np.int64)

    @property
    def outlets(self) -> np.ndarray:
        """Positions of the outlet reaches (``idx_ds == -1`` and no diversion out)."""
        return np.flatnonzero(self._out_degree == 0)

    @property
    def has_cycles(self) -> bool:
        """True when the network keeps cycles (only possible with bifurcations)."""
        return bool(self._scc_sizes.max(initial=1) > 1)

    def position(self, reach_ids: Any) -> np.ndarray:
        """Positions of the given reach ids.

        Parameters
        ----------
        reach_ids
            One id or an array of ids.

        Returns
        -------
        numpy.ndarray
            int64 positions, same shape as ``np.atleast_1d(reach_ids)``.

        Raises
        ------
        InputError
            If any id is not in the network or is not an integer (``4.5``, ``"x"``, NaN,
            a bool such as ``True``); the message names them.

        Examples
        --------
        >>> from basingov.examples import example_network
        >>> net = example_network([20, -1], reach_id=[10, 20])  # reach 10 flows into 20
        >>> net.position([20, 10]).tolist()
        [1, 0]
        """
        q = _id_array(reach_ids)
        sorter = self._id_sorter
        ids = self.ids
        pos = np.searchsorted(ids, q, sorter=sorter)
        pos = np.clip(pos, 0, max(self.n - 1, 0))
        found = sorter[pos] if self.n else pos
        ok = (ids[found] == q) if self.n else np.zeros(q.shape, bool)
        if not ok.all():
            bad = _fmt_ids(q[~ok])
            msg = f"reach id(s) {bad} are not in the network ({self.n} reaches)"
            raise InputError(msg)
        return np.asarray(found, dtype=np.int64)

    # -- cached graph views, read-only (computed once; as pyflwdir Flwdir) ------------------
    @cached_property
    def _id_sorter(self) -> np.ndarray:
        return np.argsort(self.ids, kind="stable")

    @cached_property
    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All links as ``(src, dst, fraction)`` positions, main branches and diversions."""
        return _edge_arrays(self.idx_ds, self.ids, self.bifurcations, self.position)

    @cached_property
    def down_csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Downstream links as CSR ``(indptr, dst, fraction)``, indexed by source position."""
        src, dst, frac = self.edges
        perm = np.argsort(src, kind="stable")
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=self.n), out=indptr[1:])
        return indptr, dst[perm], frac[perm]

    @cached_property
    def up_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Upstream links (every branch) as CSR ``(indptr, src)``, indexed by position."""
        src, dst, _ = self.edges
        return K.csr_reverse(src, dst, self.n)

    @cached_property
    def main_up_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Upstream links along main branches (``idx_ds``) as CSR ``(indptr, src)``."""
        src = np.flatnonzero(self.idx_ds >= 0)
        return K.csr_reverse(src, self.idx_ds[src], self.n)

    @cached_property
    def rank(self) -> np.ndarray:
        """Position of each reach in :attr:`order` (pyflwdir's ``rank``)."""
        rank = np.empty(self.n, dtype=np.int64)
        rank[self.order] = np.arange(self.n, dtype=np.int64)
        return rank

    @cached_property
    def _out_degree(self) -> np.ndarray:
        src, _, _ = self.edges
        return np.bincount(src, minlength=self.n)

    @cached_property
    def _scc_sizes(self) -> np.ndarray:
        if self.bifurcations is None:
            return np.ones(self.n, dtype=np.int64)
        src, dst, _ = self.edges
        _, labels = _scc(src, dst, self.n)
        return np.bincount(labels)[labels]


# ----------------------------------------------------------------------------------------
# constructor
# ----------------------------------------------------------------------------------------
def network_from_table(
    reaches: gpd.GeoDataFrame,
    *,
    id_column: str = "reach_id",
    downstream_column: str = "downstream_id",
    outlet_value: int = OUTLET_ID,
    bifurcations: pd.DataFrame | None = None,
    allow_cycles: bool = False,
    expect_single_outlet: bool = False,
    hydraulics: HydraulicsSection | None = None,
    source: str = "",
    derived: bool = False,
) -> RiverNetwork:
    """Validate a reach table and build a :class:`RiverNetwork`.

    Every problem is collected and reported in one :class:`~basingov.errors.TopologyError`:
    duplicated ids, dangling downstream ids, self-loops, bad bifurcation tables. Cycles
    are reported with the ids of each cycle. Several disconnected pieces give a
    :class:`~basingov.errors.BasingovWarning` listing their sizes.

    Missing quantities are filled: ``length_km`` from the geometry, ``local_area_km2``
    NaN, ``upstream_area_km2`` by :func:`accumulate` over ``local_area_km2`` (where that
    is known), ``discharge_m3s`` with :func:`discharge_from_area`, ``velocity_ms`` with
    :func:`velocity_from_discharge` (lakes get ``lake_velocity_ms``), ``is_lake`` False.
    Values already present in the table (measured) win over estimates; only NaNs are
    filled. ``upstream_length_km`` (total reach length upstream, inclusive) and
    ``distance_to_outlet_km`` are added as extras.

    Parameters
    ----------
    reaches
        One row per reach with a geometry column and a projected CRS. Not modified.
    id_column, downstream_column
        Integer columns holding the reach id and the id of the downstream reach.
    outlet_value
        Value of ``downstream_column`` at outlets; stored as :data:`OUTLET_ID`.
    bifurcations
        Optional table ``reach_id, downstream_id, fraction`` listing *all* outgoing links
        of each splitting reach (``downstream_id`` may be :data:`OUTLET_ID` for a branch
        that leaves the network). Fractions must sum to 1 per reach.
    allow_cycles
        Keep cycles (only together with ``bifurcations``); ``order`` is then a
        topological order of the condensation (each cycle's reaches adjacent).
    expect_single_outlet
        Raise unless exactly one reach drains out of the network.
    hydraulics
        Basin overrides of the discharge and velocity defaults.
    source
        Free text describing the source.
    derived
        Whether the network topology was derived rather than mapped.

    Returns
    -------
    RiverNetwork

    Raises
    ------
    CRSError
        If ``reaches`` has no CRS or a geographic one.
    InputError
        If a required column is missing, ids are not integers, ``outlet_value`` is not one
        whole number, a length or area is negative (a nodata value such as -9999: leave it
        blank), or the table has a ``reach_id``/``downstream_id`` column besides
        ``id_column``/``downstream_column``.
    TopologyError
        On duplicated ids, dangling downstream ids, self-loops, cycles, invalid
        bifurcation fractions, or several outlets with ``expect_single_outlet``.

    Examples
    --------
    A Y confluence: reaches 1 and 2 join into 3.

    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> t = gpd.GeoDataFrame(
    ...     {"reach_id": [1, 2, 3], "downstream_id": [3, 3, -1],
    ...      "local_area_km2": [10.0, 20.0, 5.0]},
    ...     geometry=[LineString([(0, 2000), (1000, 1000)]),
    ...               LineString([(2000, 2000), (1000, 1000)]),
    ...               LineString([(1000, 1000), (1000, 0)])], crs="EPSG:3035")
    >>> net = network_from_table(t)
    >>> net.reaches["upstream_area_km2"].tolist()
    [10.0, 20.0, 35.0]
    >>> net.idx_ds.tolist(), net.outlets.tolist()
    ([2, 2, -1], [2])
    """
    if not isinstance(reaches, gpd.GeoDataFrame):
        msg = f"reaches must be a GeoDataFrame, got {type(reaches).__name__}"
        raise InputError(msg)
    crs = _check_projected(reaches.crs, "the reach table")
    require_columns(
        reaches,
        (id_column, downstream_column),
        what="the reach table",
        hint="pass id_column=/downstream_column=",
    )
    clash = [
        c
        for c in ("reach_id", "downstream_id")
        if c in reaches.columns and c not in (id_column, downstream_column)
    ]
    if clash:
        msg = (
            f"the reach table has column(s) {clash} besides id_column={id_column!r} and "
            f"downstream_column={downstream_column!r}; the network writes its ids under "
            f"those names: drop or rename them (reaches.drop(columns={clash}))"
        )
        raise InputError(msg)
    ids = _int_column(reaches[id_column], id_column)
    ds = _int_column(reaches[downstream_column], downstream_column)
    idx_ds, order, bif, sizes = _topology(
        ids,
        ds,
        outlet_value=outlet_value,
        bifurcations=bifurcations,
        allow_cycles=allow_cycles,
        expect_single_outlet=expect_single_outlet,
    )
    if len(sizes) > 1:
        shown = ", ".join(str(s) for s in sizes[:20])
        more = f", ... ({len(sizes) - 20} more)" if len(sizes) > 20 else ""
        warnings.warn(
            f"the river network has {len(sizes)} disconnected pieces with {shown}{more} "
            "reaches; each piece drains to its own outlet",
            BasingovWarning,
            stacklevel=2,
        )
    table = _fill_table(reaches, id_column, downstream_column, ids, idx_ds)
    net = RiverNetwork(
        reaches=table,
        idx_ds=idx_ds,
        order=order,
        bifurcations=bif,
        crs=crs,
        source=source,
        derived=derived,
    )
    return _fill_derived(net, hydraulics)


def _int_column(col: pd.Series, name: str) -> np.ndarray:
    if col.isna().any():
        msg = f"column {name!r} has missing values at row(s) {_fmt_ids(np.flatnonzero(col.isna()))}"
        raise InputError(msg)
    vals = col.to_numpy()
    if vals.dtype.kind not in "iuf":
        # integer ids stored as text (e.g. HydroBASINS converted through R) are accepted
        num = pd.to_numeric(col, errors="coerce")
        if num.notna().all():
            vals = num.to_numpy()
    whole = vals.dtype.kind in "iu" or (vals.dtype.kind == "f" and np.all(np.mod(vals, 1) == 0))
    # larger ids wrapped round (uint64 2**64 - 1 became -1, the outlet value)
    if (
        whole
        and vals.dtype.kind in "uf"
        and vals.size
        and not -(2.0**63) <= float(vals.min()) <= float(vals.max()) < 2.0**63
    ):
        msg = f"column {name!r} holds ids outside the 64-bit integer range (|id| < 2**63)"
        raise InputError(msg)
    if whole:
        return vals.astype(np.int64)
    msg = f"column {name!r} must hold integer ids, got dtype {col.dtype}"
    raise InputError(msg)


def _float_column(col: pd.Series, name: str) -> np.ndarray:
    """Return a numeric column as float64 (blanks NaN, text numbers taken); refuse other text."""
    if col.dtype.kind in "fiu":
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna().to_numpy() & col.notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = _fmt_ids([str(v) for v in col.to_numpy()[rows]], limit=5)
        msg = (
            f"column {name!r} must hold numbers, got {shown} at row(s) {_fmt_ids(rows)}; "
            "fix those values or leave them blank (unknown)"
        )
        raise InputError(msg)
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


def _flag_column(col: pd.Series, name: str) -> np.ndarray:
    """Return a True/False (or 1/0) column as bool, blanks False; refuse text such as 'no'."""
    if not (pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)):
        vals = col.to_numpy(dtype=object)
        num = bool | int | float | np.bool_ | np.number
        ok = np.array([v is None or v is pd.NA or isinstance(v, num) for v in vals], dtype=bool)
        if not ok.all():
            rows = np.flatnonzero(~ok)
            msg = (
                f"column {name!r} must hold True/False (or 1/0), got "
                f"{_fmt_ids([repr(v) for v in vals[rows]], limit=5)} at row(s) {_fmt_ids(rows)}"
                "; text such as 'no' or 'False' would read as True: convert it first"
            )
            raise InputError(msg)
    flag = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(flag, nan=0.0) != 0


def _fill_table(
    reaches: gpd.GeoDataFrame,
    id_column: str,
    downstream_column: str,
    ids: np.ndarray,
    idx_ds: np.ndarray,
) -> gpd.GeoDataFrame:
    n = ids.shape[0]
    t = reaches.copy()
    t = t.drop(columns=[c for c in (id_column, downstream_column) if c in t.columns])
    t = t.reset_index(drop=True)
    t.insert(0, "reach_id", ids)
    dsid = np.where(idx_ds >= 0, ids[np.maximum(idx_ds, 0)], OUTLET_ID).astype(np.int64)
    t.insert(1, "downstream_id", dsid)
    if "length_km" not in t.columns:
        t["length_km"] = np.asarray(t.geometry.length, dtype=np.float64) / 1000.0
    else:
        lk = _float_column(t["length_km"], "length_km")
        t["length_km"] = np.where(np.isnan(lk), t.geometry.length / 1000.0, lk)
    for c in ("local_area_km2", "upstream_area_km2", "discharge_m3s", "velocity_ms"):
        t[c] = _float_column(t[c], c) if c in t.columns else np.full(n, np.nan)
    t["is_lake"] = _flag_column(t["is_lake"], "is_lake") if "is_lake" in t else False
    for c in ("length_km", "local_area_km2", "upstream_area_km2"):
        neg = t[c].to_numpy() < 0
        if neg.any():
            rows = np.flatnonzero(neg)
            msg = (
                f"column {c!r} has negative values {_fmt_ids(t[c].to_numpy()[rows], limit=5)} "
                f"at row(s) {_fmt_ids(rows)} (reach id(s) {_fmt_ids(ids[rows])}); a length or "
                "area is >= 0: leave a nodata value (e.g. -9999) blank (NaN, unknown)"
            )
            raise InputError(msg)
    return t


def _fill_derived(net: RiverNetwork, hydraulics: HydraulicsSection | None) -> RiverNetwork:
    t = net.reaches
    local = t["local_area_km2"].to_numpy()
    up = t["upstream_area_km2"].to_numpy()
    if np.isnan(up).any() and not np.isnan(local).all():
        acc = accumulate(net, np.nan_to_num(local))
        # NaN local areas propagate as unknown
        unknown = accumulate(net, np.isnan(local).astype(np.float64)) > 0
        acc[unknown] = np.nan
        up = np.where(np.isnan(up), acc, up)
        t["upstream_area_km2"] = up
    runoff, a, b, vlake = _hydraulics(hydraulics)
    q = t["discharge_m3s"].to_numpy()
    q = np.where(np.isnan(q), discharge_from_area(up, runoff_mm_year=runoff), q)
    t["discharge_m3s"] = q
    v = t["velocity_ms"].to_numpy()
    est = np.where(t["is_lake"].to_numpy(), vlake, velocity_from_discharge(q, a=a, b=b))
    t["velocity_ms"] = np.where(np.isnan(v), est, v)
    if "strahler" not in t.columns:
        t["strahler"] = strahler_order(net)
    t["upstream_length_km"] = upstream_length(net)
    t["distance_to_outlet_km"] = distance_to_outlet(net)
    return net
