"""Derived quantities of a river network: accumulation, areas, order, distances, hydraulics.

Everything here runs along the arrays of a :class:`~basingov.network.RiverNetwork`
(``idx_ds`` and ``order``); the discharge and velocity defaults of DESIGN §2.2 are
documented on their constants. All names are re-exported by :mod:`basingov.network`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from basingov.errors import InputError, SingularSystemError, TopologyError
from basingov.network import _kernels as K
from basingov.network._topology import _fmt_ids, check_positions

if TYPE_CHECKING:
    from basingov.config import HydraulicsSection
    from basingov.network._container import RiverNetwork

__all__ = [
    "DEFAULT_LAKE_VELOCITY_MS",
    "DEFAULT_RUNOFF_MM_YEAR",
    "DEFAULT_VELOCITY_A",
    "DEFAULT_VELOCITY_B",
    "DISCHARGE_SOURCES",
    "GIVEN_DISCHARGE",
    "accumulate",
    "discharge_from_area",
    "distance_to_outlet",
    "downstream_sum",
    "strahler_order",
    "travel_time_hours",
    "upstream_area",
    "upstream_length",
    "upstream_sum",
    "velocity_from_discharge",
]

#: ``discharge_source`` of a discharge copied from the network's own attribute
#: (``discharge_column``): measured or modelled as the network's source says (HydroRIVERS'
#: ``DIS_AV_CMS`` is WaterGAP's modelled flow), not basingov's estimate.
GIVEN_DISCHARGE = "network attribute"

#: What each ``discharge_source`` of a reach means, in the words spill warnings and the
#: basin comparison print ("estimated" is also the meaning of a network without the column).
DISCHARGE_SOURCES = {
    GIVEN_DISCHARGE: "the network's own attribute (its source says whether measured or modelled)",
    "regionalised": "runoff fitted to the basin's gauges ([hydraulics])",
    "estimated": "ASSUMPTION: one runoff depth over the basin ([hydraulics] runoff_mm_year)",
}

#: Mean annual runoff (mm/year) used to turn upstream area into discharge where no
#: discharge is measured. This is an *assumption*, not a measured value: it is of the
#: order of the global mean land runoff (roughly 40,000 km3/year spread over about
#: 1.3e8 km2 of land, i.e. ~300 mm/year). Override it per basin with
#: ``[hydraulics] runoff_mm_year`` (e.g. ~450 mm/year reproduces the Rhine's mean
#: discharge of ~2,300 m3/s at Lobith from ~160,000 km2).
DEFAULT_RUNOFF_MM_YEAR = 300.0

#: Exponent ``b`` of downstream hydraulic geometry :math:`v = a Q^b`. Leopold & Maddock
#: (1953), *The hydraulic geometry of stream channels and some physiographic
#: implications*, USGS Professional Paper 252, report that along a river (at discharges
#: of equal frequency) velocity grows only slowly with discharge, with an average
#: exponent of about 0.1 (width ~0.5, depth ~0.4).
DEFAULT_VELOCITY_B = 0.1

#: Coefficient ``a`` (m/s at Q = 1 m3/s) of :math:`v = a Q^b`. An *assumption* chosen so
#: that with ``b = 0.1`` a large river runs at 1-2 m/s: the Rhine at 1,000-2,300 m3/s
#: gets 1.4-1.5 m/s, a 10 m3/s brook 0.9 m/s. Override it per basin with
#: ``[hydraulics] velocity_a``.
DEFAULT_VELOCITY_A = 0.7

#: Velocity (m/s) given to lake reaches (``is_lake``): an *assumption* of through-flow of
#: the order of centimetres per second. Override it with ``[hydraulics] lake_velocity_ms``.
DEFAULT_LAKE_VELOCITY_MS = 0.01

_SECONDS_PER_YEAR = 365.25 * 86400.0


def _hydraulics(h: HydraulicsSection | None) -> tuple[float, float, float, float]:
    def pick(v: float | None, d: float) -> float:
        return d if v is None else float(v)

    if h is None:
        return (
            DEFAULT_RUNOFF_MM_YEAR,
            DEFAULT_VELOCITY_A,
            DEFAULT_VELOCITY_B,
            DEFAULT_LAKE_VELOCITY_MS,
        )
    return (
        pick(h.runoff_mm_year, DEFAULT_RUNOFF_MM_YEAR),
        pick(h.velocity_a, DEFAULT_VELOCITY_A),
        pick(h.velocity_b, DEFAULT_VELOCITY_B),
        pick(h.lake_velocity_ms, DEFAULT_LAKE_VELOCITY_MS),
    )


# ----------------------------------------------------------------------------------------
# derived quantities
# ----------------------------------------------------------------------------------------
def _weights(weights: Any) -> np.ndarray:
    """``weights`` as float64; refuse text, even numbers as text, naming it and its place.

    Weights are quantities computed upstream of the call: text among them is a column read
    as text ("1,234" or "n/a"), so "1" is refused as well rather than taken silently.
    """
    w = np.asarray(weights)
    if w.dtype.kind in "USO":
        # numpy made text of every number in [1, "x"]: name only the items that were text
        items = np.asarray(weights, dtype=object) if isinstance(weights, list | tuple) else w
        flat = items.ravel().tolist()
        bad = np.array([isinstance(v, str | bytes) for v in flat], dtype=bool)
        if bad.any():
            where = np.flatnonzero(bad)
            shown = _fmt_ids([repr(flat[i]) for i in where], limit=5)
            msg = (
                f"weights must be numbers, got text {shown} at reach position(s) "
                f"{_fmt_ids(where)}; convert them first (e.g. pd.to_numeric)"
            )
            raise InputError(msg)
    return np.asarray(w, dtype=np.float64)


def accumulate(net: RiverNetwork, weights: Any) -> np.ndarray:
    r"""Sum a quantity over every reach and everything upstream of it.

    At a bifurcation the accumulated value is split over the branches by their
    fractions. In a network with cycles the accumulation solves the linear system
    :math:`x = w + A^T x` (``A`` holding the fractions) instead.

    .. math:: x_i = w_i + \sum_{j \to i} f_{ji}\, x_j

    Parameters
    ----------
    net
        The network (its links, with the bifurcation fractions).
    weights
        One value per reach (aligned to positions).

    Returns
    -------
    numpy.ndarray
        float64, aligned to positions.

    Raises
    ------
    InputError
        If ``weights`` does not have one value per reach or holds text (even numbers
        as text).
    SingularSystemError
        If a cycle keeps all its water (no way out), so the system has no solution.

    Examples
    --------
    A Y confluence, reaches 1 and 2 flowing into 3:

    >>> from basingov.examples import example_network
    >>> accumulate(example_network([3, 3, -1]), [1, 1, 1]).tolist()
    [1.0, 1.0, 3.0]
    """
    w = _weights(weights)
    if w.shape != (net.n,):
        msg = f"weights must have one value per reach ({net.n}), got shape {w.shape}"
        raise InputError(msg)
    if net.bifurcations is None:
        return K.accumulate_tree(net.idx_ds, net.order, w)
    indptr, indices, frac = net.down_csr
    if not net.has_cycles:
        return K.accumulate_csr(indptr, indices, frac, net.order, w)
    src, dst, f = net.edges
    a = sparse.csr_matrix((f, (dst, src)), shape=(net.n, net.n))
    m = (sparse.identity(net.n, format="csr") - a).tocsc()
    with warnings.catch_warnings():
        warnings.simplefilter("error", sparse.linalg.MatrixRankWarning)
        try:
            x = sparse.linalg.spsolve(m, w)
        except (RuntimeError, sparse.linalg.MatrixRankWarning) as exc:
            msg = "cannot accumulate: a cycle of the network has no outflow (I - A is singular)"
            raise SingularSystemError(msg) from exc
    return np.asarray(x, dtype=np.float64)


def downstream_sum(idx_ds: Any, weights: Any) -> np.ndarray:
    r"""Sum ``weights`` over every reach strictly downstream of each reach, along ``idx_ds``.

    The array form for callers that hold only downstream pointers (no
    :class:`RiverNetwork`, no topological order): pointer doubling, :math:`O(n \log n)`
    vectorised steps. With reach lengths it is the distance from each reach's downstream
    end to its outlet (:func:`distance_to_outlet` on a network).

    Parameters
    ----------
    idx_ds
        Downstream position of each reach, -1 at outlets (main branches).
    weights
        One value per reach.

    Returns
    -------
    numpy.ndarray
        float64, one value per reach: the sum of ``weights`` over every reach below it
        on the main branches (itself excluded), 0 at an outlet.

    Raises
    ------
    InputError
        If ``idx_ds`` is not 1-D whole numbers (a float such as 1.5, NaN or text), a
        pointer is not -1 or a position, or ``weights`` has not one value per reach or
        holds text (even numbers as text).
    TopologyError
        If the pointers make a cycle (some reach never reaches an outlet).

    Examples
    --------
    >>> downstream_sum(np.array([1, 2, -1]), np.array([1.0, 2.0, 4.0])).tolist()
    [6.0, 4.0, 0.0]
    """
    return _downstream_sum(*_pointers(idx_ds, weights))


def _downstream_sum(ds: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:func:`downstream_sum` of checked pointers (:func:`_pointers`)."""
    n = ds.size
    acc = np.where(ds >= 0, w[np.maximum(ds, 0)], 0.0)
    jump = ds.copy()
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2)))) + 1)):
        live = jump >= 0
        if not live.any():
            break
        acc = acc + np.where(live, acc[np.maximum(jump, 0)], 0.0)
        jump = np.where(live, jump[np.maximum(jump, 0)], -1)
    else:
        # every path of a forest ends within n steps; one still walking is on a cycle
        if (jump >= 0).any():
            bad = _fmt_ids(np.flatnonzero(jump >= 0))
            msg = f"idx_ds has a cycle: reach position(s) {bad} never reach an outlet (-1)"
            raise TopologyError(msg)
    return acc


def _pointers(idx_ds: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check downstream pointers and their weights: one each per reach, positions in range."""
    ds = check_positions(idx_ds, name="idx_ds", outlet=True, at="reach position(s)")
    w = _weights(weights)
    if w.shape != ds.shape:
        msg = (
            f"idx_ds and weights must be 1-D with one value per reach, got shapes "
            f"{ds.shape} and {w.shape}"
        )
        raise InputError(msg)
    return ds, w


def upstream_sum(idx_ds: Any, weights: Any) -> np.ndarray:
    """Sum ``weights`` over each reach and everything upstream of it, along ``idx_ds``.

    The array form of :func:`accumulate` for callers that hold only downstream pointers
    (main branches; no topological order needed): reaches are processed by decreasing
    depth, one vectorised step per depth.

    Parameters
    ----------
    idx_ds, weights
        As in :func:`downstream_sum`.

    Returns
    -------
    numpy.ndarray
        float64, one value per reach: its own weight plus the weights of every reach
        that drains into it (the same values as :func:`accumulate` on a tree).

    Raises
    ------
    InputError, TopologyError
        As in :func:`downstream_sum`.

    Examples
    --------
    >>> upstream_sum(np.array([2, 2, -1]), np.array([1.0, 2.0, 4.0])).tolist()
    [1.0, 2.0, 7.0]
    """
    ds, acc = _pointers(idx_ds, weights)
    acc = acc.copy()
    if ds.size == 0:
        return acc
    depth = _downstream_sum(ds, np.ones(ds.size)).astype(np.int64)
    order = np.argsort(-depth, kind="stable")
    d_sorted = depth[order]
    bounds = np.flatnonzero(np.diff(d_sorted)) + 1
    for grp in np.split(order, bounds):
        if depth[grp[0]] == 0:
            break
        np.add.at(acc, ds[grp], acc[grp])
    return acc


def upstream_area(net: RiverNetwork) -> np.ndarray:
    """Upstream area (km²) of every reach: :func:`accumulate` of ``local_area_km2``.

    Parameters
    ----------
    net
        The network; reaches with an unknown (NaN) local area make everything downstream
        of them NaN.

    Returns
    -------
    numpy.ndarray
        float64 km², aligned to positions.

    Examples
    --------
    >>> from basingov.examples import example_network
    >>> net = example_network([2, -1], columns={"local_area_km2": [3.0, 4.0]})
    >>> upstream_area(net).tolist()
    [3.0, 7.0]
    """
    return accumulate(net, net.reaches["local_area_km2"].to_numpy(dtype=np.float64))


def upstream_length(net: RiverNetwork) -> np.ndarray:
    """Total reach length (km) upstream of and including each reach.

    Parameters
    ----------
    net
        The network (uses ``length_km``).

    Returns
    -------
    numpy.ndarray
        float64 km, aligned to positions. With bifurcations, lengths are split by fraction.

    Examples
    --------
    Two 1 km reaches, 1 flowing into 2:

    >>> from basingov.examples import example_network
    >>> upstream_length(example_network([2, -1], length_m=1000)).tolist()
    [1.0, 2.0]
    """
    return accumulate(net, net.reaches["length_km"].to_numpy(dtype=np.float64))


def strahler_order(net: RiverNetwork) -> np.ndarray:
    """Strahler stream order along the main links (``idx_ds``).

    Sources have order 1; where two or more upstream reaches of the highest order meet,
    the order increases by one; otherwise it is the highest upstream order.

    Parameters
    ----------
    net
        The network (uses its main links, ``idx_ds``).

    Returns
    -------
    numpy.ndarray
        int64, aligned to positions.

    Examples
    --------
    Two sources (1, 2) join in 3, which flows into 4:

    >>> from basingov.examples import example_network
    >>> strahler_order(example_network([3, 3, 4, -1])).tolist()
    [1, 1, 2, 2]
    """
    return K.strahler_tree(net.idx_ds, net.order)


def distance_to_outlet(net: RiverNetwork) -> np.ndarray:
    """Distance (km) from each reach's downstream end to the outlet along ``idx_ds``.

    This is the NHDPlus "path length" convention: an outlet reach has 0, and the distance
    from the *upstream* end of a reach is this value plus ``length_km``.

    Parameters
    ----------
    net
        The network (uses ``length_km`` and the main links, ``idx_ds``).

    Returns
    -------
    numpy.ndarray
        float64 km, aligned to positions.

    Examples
    --------
    A chain of three 1 km reaches:

    >>> from basingov.examples import example_network
    >>> distance_to_outlet(example_network([2, 3, -1], length_m=1000)).tolist()
    [2.0, 1.0, 0.0]
    """
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    return K.distance_down(net.idx_ds, net.order, length)


def discharge_from_area(
    area_km2: Any, *, runoff_mm_year: float = DEFAULT_RUNOFF_MM_YEAR
) -> np.ndarray:
    r"""Mean discharge (m³/s) from upstream area and mean annual runoff.

    .. math:: Q = A \cdot R / (365.25 \cdot 86400)

    with :math:`A` in m² and :math:`R` in m/year.

    Parameters
    ----------
    area_km2
        Upstream area(s) in km².
    runoff_mm_year
        Mean annual runoff depth; default :data:`DEFAULT_RUNOFF_MM_YEAR` (an assumption).

    Returns
    -------
    numpy.ndarray
        float64 m³/s.

    Raises
    ------
    InputError
        If ``runoff_mm_year`` is negative.

    Examples
    --------
    >>> round(float(discharge_from_area(160_000, runoff_mm_year=450)), 0)
    2282.0
    """
    if not runoff_mm_year >= 0:
        msg = f"runoff_mm_year must be >= 0, got {runoff_mm_year}"
        raise InputError(msg)
    a = np.asarray(area_km2, dtype=np.float64)
    return a * 1e6 * (runoff_mm_year / 1000.0) / _SECONDS_PER_YEAR


def velocity_from_discharge(
    q: Any, *, a: float = DEFAULT_VELOCITY_A, b: float = DEFAULT_VELOCITY_B
) -> np.ndarray:
    """Mean flow velocity (m/s) from discharge by hydraulic geometry, :math:`v = a Q^b`.

    Defaults: ``b`` = :data:`DEFAULT_VELOCITY_B` (Leopold & Maddock 1953, downstream
    hydraulic geometry), ``a`` = :data:`DEFAULT_VELOCITY_A` (an assumption giving the
    Rhine 1-2 m/s).

    Parameters
    ----------
    q
        Discharge(s) in m³/s (>= 0).
    a, b
        Coefficient and exponent.

    Returns
    -------
    numpy.ndarray
        float64 m/s.

    Raises
    ------
    InputError
        If ``a`` is not > 0 (or is NaN), naming the value received; in a basin config it
        is ``[hydraulics] velocity_a``.

    Examples
    --------
    >>> round(float(velocity_from_discharge(2300.0)), 2)
    1.52
    """
    if not a > 0:
        msg = f"velocity coefficient a must be > 0, got {a}"
        raise InputError(msg)
    qq = np.asarray(q, dtype=np.float64)
    return a * np.power(np.maximum(qq, 0.0), b)


def travel_time_hours(net: RiverNetwork, *, velocity_multiplier: float = 1.0) -> np.ndarray:
    r"""Travel time through each reach, :math:`\tau = L / (m v)`, in hours.

    Parameters
    ----------
    net
        The network (uses ``length_km`` and ``velocity_ms``).
    velocity_multiplier
        Factor :math:`m` on every velocity (e.g. a Monte Carlo draw).

    Returns
    -------
    numpy.ndarray
        float64 hours, aligned to positions (NaN where the velocity is unknown).

    Examples
    --------
    3.6 km at 1 m/s take an hour:

    >>> from basingov.examples import example_network
    >>> net = example_network([-1], length_m=3600, columns={"velocity_ms": [1.0]})
    >>> travel_time_hours(net).tolist()
    [1.0]
    """
    length_m = net.reaches["length_km"].to_numpy(dtype=np.float64) * 1000.0
    v = net.reaches["velocity_ms"].to_numpy(dtype=np.float64) * velocity_multiplier
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, length_m / v / 3600.0, np.nan)
