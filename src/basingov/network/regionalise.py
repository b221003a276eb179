r"""Mean discharge regionalised to gauges: one runoff depth per gauged sub-catchment.

A single basin-wide runoff depth turns upstream area into discharge,
:math:`Q_i = R\,A_i`. With gauges of known mean flow the depth is instead set per
*incremental* sub-catchment: the reaches whose first gauge downstream is :math:`g` form
its increment, of area :math:`\Delta A_g`, and

.. math:: R_g = \frac{Q_g - \sum_{u \to g} Q_u}{\Delta A_g}

with :math:`u \to g` the gauges immediately upstream of :math:`g`. Reaches below every
gauge keep the basin depth. Discharge is then accumulated down the network,
:math:`Q_i = \sum_{j \preceq i} R_{g(j)}\, a_j`, so each gauge gets its own mean flow back
(up to where it sits inside its reach), and velocity follows the hydraulic geometry. A
negative increment (a gauge carrying less than the gauges above it, e.g. because of a
mislocated station) gets depth 0 and is flagged. A gauge with a published area that snaps
to a reach whose upstream area differs by more than a factor ``max_area_ratio`` is not
used, nor is one too far from every reach, nor one without a published area when
``require_area`` asks for it (noted in the check table, and warned of once).

Held-out skill: each gauge is also predicted with itself left out (its increment merges
into the next gauge downstream), which shows what the regionalisation gives where no
gauge exists.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from basingov._checks import check_choice, require_columns
from basingov._observations import discharge_samples
from basingov._stations import read_station_table
from basingov._tables import check_table, read_table
from basingov.errors import BasingovWarning, EmptyResultError, InputError
from basingov.network._container import RiverNetwork
from basingov.network._kernels import label_down
from basingov.network.hydrology import (
    DEFAULT_VELOCITY_A,
    DEFAULT_VELOCITY_B,
    GIVEN_DISCHARGE,
    accumulate,
    velocity_from_discharge,
)
from basingov.network.navigation import nearest_reach_m, snap_point

__all__ = [
    "GAUGE_COLUMNS",
    "OnLeftOut",
    "gauge_table",
    "gauge_value_problems",
    "regionalise_runoff",
    "station_areas",
]

logger = logging.getLogger(__name__)

#: What :func:`regionalise_runoff` does about gauges it leaves out of the fit.
OnLeftOut = Literal["warn", "ignore"]
_ON_LEFT_OUT: tuple[str, ...] = get_args(OnLeftOut)

#: Required columns of a gauge table.
GAUGE_COLUMNS: tuple[str, ...] = ("gauge_id", "lon", "lat", "mean_discharge_m3s")

_S_PER_YEAR = 365.25 * 86400.0

#: Column carrying the stations' published areas through :func:`gauge_table`'s merge.
_AREA = "__published_area_km2"

#: A gauge's increment runoff this many times the basin depth or more is flagged in the
#: check table's note: the flows at and above the gauge may not be of one period or one
#: method (the fit puts any imbalance on the increment). The largest real contrast in the
#: shipped basins is the Rhine's Alpine increment above Basel, 917 mm/year against the
#: basin's 450 (2.0 times); the Thames at Wallingford, fitted to means of sampled days,
#: gets 1,177 mm/year against 210 (5.6 times).
HIGH_INCREMENT_RATIO = 3.0


def _depths(
    net: RiverNetwork,
    pos: np.ndarray,
    q_obs: np.ndarray,
    area_pt: np.ndarray,
    default_mm: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runoff depth (m/s) per reach, per-gauge depth (mm/yr) and a negative-increment flag.

    Each reach takes the depth of the first gauge below it. A gauge sits inside its reach,
    so the part of a gauge's reach below its point drains at that gauge's depth and
    reaches the gauge below as runoff of the gauge above: the gauges are fitted from
    upstream down, each against the modelled outflow of the gauged reaches above it, so
    that the modelled flow at every point equals the observed one (unless the gauges
    above carry more: the increment's depth is then 0 and the flag set).
    """
    n = net.n
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    at = np.full(n, -1, dtype=np.int64)
    at[pos] = np.arange(pos.size)
    lab = label_down(idx_ds, np.asarray(net.order, dtype=np.int64), at)  # first gauge below
    local = net.reaches["local_area_km2"].to_numpy(dtype=float)
    local = np.nan_to_num(local, nan=0.0)
    has = lab >= 0
    # area of the reaches taking each gauge's depth: above its reach's outflow, below the
    # gauged reaches above it
    a_reach = np.bincount(lab[has], weights=local[has], minlength=pos.size)
    below = np.array([lab[idx_ds[p]] if idx_ds[p] >= 0 else -1 for p in pos], dtype=np.int64)
    up = np.nan_to_num(net.reaches["upstream_area_km2"].to_numpy(dtype=float)[pos], nan=0.0)
    fallback = default_mm / 1000.0 / _S_PER_YEAR
    dep = np.full(pos.size, fallback)
    neg = np.zeros(pos.size, dtype=bool)
    q_out = np.zeros(pos.size)  # modelled flow at each gauged reach's outflow (m3/s)
    above: list[list[int]] = [[] for _ in range(pos.size)]
    for u in np.flatnonzero(below >= 0):
        above[below[u]].append(int(u))
    for j in np.argsort(net.rank[pos], kind="stable"):  # upstream gauges first
        q_in = float(sum(q_out[u] for u in above[j]))
        # the increment's area above the gauge's point (a gauge sits inside its reach)
        a_pt = area_pt[j] - float(sum(up[u] for u in above[j]))
        a_inc = a_pt if np.isfinite(a_pt) and a_pt > 0 else a_reach[j]
        q_inc = q_obs[j] - q_in
        neg[j] = q_inc <= 0
        if a_inc > 0:
            dep[j] = max(q_inc, 0.0) / (a_inc * 1e6)
        q_out[j] = q_in + dep[j] * a_reach[j] * 1e6
    r = np.full(n, fallback)
    r[has] = dep[lab[has]]
    return r, dep * 1000.0 * _S_PER_YEAR, neg


def station_areas(
    stations: pd.DataFrame,
    *,
    areas: str | Path | None,
    area_columns: tuple[str, str] = ("gauge_id", "area_km2"),
    ref_column: str | None = None,
) -> pd.Series:
    """Return the published catchment area of each station, matched through a text column.

    A station gets the area of the row of ``areas`` whose id (``area_columns[0]``) appears
    as a word in its ``ref_column`` text; NaN where none does.

    Raises
    ------
    InputError
        If the ``areas`` file does not exist, is not a UTF-8 CSV table, lacks one of
        ``area_columns``, has no rows, an area that is not a number > 0 or an id that is
        blank or repeated, or if the stations lack ``ref_column``; the message names the
        file and the fix.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); f = os.path.join(d, "a.csv")
    >>> _ = pd.DataFrame({"nrfa_id": ["39105"], "area": [533.8]}).to_csv(f, index=False)
    >>> st = pd.DataFrame({"ref": ["NRFA 39105 Thame at Wheatley", ""]})
    >>> station_areas(st, areas=f, area_columns=("nrfa_id", "area"), ref_column="ref").tolist()
    [533.8, nan]
    """
    out = pd.Series(np.nan, index=stations.index, dtype=float)
    if areas is None or ref_column is None:
        return out
    if ref_column not in stations.columns:  # every station was left without an area
        msg = (
            f"the stations have no column {ref_column!r} to match the areas of "
            f"{Path(areas).name} by ([hydraulics] gauge_ref_column); their columns are "
            f"{sorted(map(str, stations.columns))}"
        )
        raise InputError(msg)
    at = read_table(
        areas,
        what="gauge area table",
        dtype={area_columns[0]: str},
        required_columns=area_columns,
    )
    lut = _area_lookup(at, area_columns, Path(areas).name)
    for i, ref in zip(stations.index, stations[ref_column].fillna("").astype(str), strict=True):
        hit = [lut[w] for w in ref.split() if w in lut]
        if hit:
            out[i] = hit[0]
    return out


def _area_lookup(table: pd.DataFrame, columns: tuple[str, str], name: str) -> dict[str, float]:
    """Area (km²) of each id of a gauge area table, checked as the other user tables are.

    A negative, zero or blank area left its gauge out of the fit (a text one raised a raw
    ValueError), and of an id listed twice the last row won.
    """
    id_col, area_col = columns
    check_table(table, what=f"gauge area table {name}", numeric=[area_col],
                positive=[area_col], id_column=id_col)  # fmt: skip
    area = pd.to_numeric(table[area_col]).to_numpy(dtype=float)
    return dict(zip(table[id_col].astype(str), area.tolist(), strict=True))


def gauge_table(
    *,
    gauges: str | Path | None = None,
    stations: str | Path | None = None,
    observations: str | Path | None = None,
    proxy_locations: str | Path | None = None,
    min_samples: int = 50,
    location_status: tuple[str, ...] = ("measured", "gauge_proxy", "nearby_gauge_proxy"),
    areas: str | Path | None = None,
    area_columns: tuple[str, str] = ("gauge_id", "area_km2"),
    ref_column: str | None = None,
) -> pd.DataFrame:
    """Collect gauges with a mean flow from a gauge table and/or monitoring flow samples.

    ``gauges`` is a CSV with :data:`GAUGE_COLUMNS` (published long-term means, each row
    with its ``source``). With ``stations`` and ``observations`` (the monitoring tables),
    every located station with at least ``min_samples`` values of parameter ``Q``
    becomes a gauge with the mean of its samples (``status = "measured"``, the period of
    the samples, not a long-term mean). The flows are read as the monitoring stage reads
    them (:func:`basingov._observations.discharge_samples`: the units converted to m³/s,
    a value flagged ``implausible_in_source`` left out, a negative one, of a tidal
    reach, kept in the mean as in the mass balance). The
    stations are read and located as the
    monitoring stage reads them (:func:`basingov.monitoring.read_station_table`, with the
    stand-in locations of ``proxy_locations``, the ``[monitoring]`` table of that name),
    so a gauge sits where the monitoring stage places its station; a station whose
    ``location_status`` is not in ``location_status`` (a section proxy, a lake-wide
    mean) is no gauge. ``areas`` is a table of published catchment areas
    (``area_columns`` = id and area columns, e.g. ``data/hydrography/thames_nrfa_check.csv``)
    joined to the stations whose ``ref_column`` text holds the id as a word (e.g.
    ``"NRFA 39105 Thame at Wheatley"``); the area lets the gauge snap to the reach of
    matching size.

    Raises
    ------
    InputError
        If a file cannot be read or lacks a column, the gauge table has no rows, the
        station, proxy or observation table is refused as the monitoring stage refuses
        it, no station
        has ``min_samples`` flow values (so the monitoring tables give no gauge), or the
        area table is unusable (:func:`station_areas`).
    """
    frames = []
    if gauges is not None:
        g = read_table(
            gauges,
            what="gauge table",
            dtype={"gauge_id": str},
            required_columns=GAUGE_COLUMNS,
            hint=f"it needs {list(GAUGE_COLUMNS)}",
        )
        if g.empty:  # no gauge was fitted, silently
            msg = (
                f"gauge table {gauges} has no rows: give one row per gauge "
                f"({', '.join(GAUGE_COLUMNS)}), or remove [hydraulics] gauges"
            )
            raise InputError(msg)
        # a lon/lat that is text, blank or out of range left the gauge out of the fit,
        # noted only 'not snapped' in discharge_check.csv
        check_table(g, what=f"gauge table {gauges}", lon_column="lon", lat_column="lat")
        frames.append(g)
    if stations is not None and observations is not None:
        st = read_station_table(stations, proxy_locations=proxy_locations)
        q = discharge_samples(observations)
        agg = q.groupby("station_id")["value"].agg(["mean", "count", "min"]).reset_index()
        agg = agg.merge(q.groupby("station_id")["time"].agg(["min", "max"]).reset_index(),
                        on="station_id", suffixes=("", "_t"))  # fmt: skip
        st = st.dropna(subset=["lon", "lat"])
        st = st[st["location_status"].isin(list(location_status))]
        # areas from the station table itself (a ref_column it lacks is named with its columns)
        pub = station_areas(st, areas=areas, area_columns=area_columns, ref_column=ref_column)
        st = st.assign(**{_AREA: pub.to_numpy(dtype=float)})
        m = st.merge(agg, on="station_id")
        if not (m["count"] >= int(min_samples)).any():  # no gauge was fitted, silently
            top = m.sort_values("count", ascending=False).head(1)
            most = "".join(
                f" (the most: {n}, at station {sid})"
                for n, sid in zip(top["count"], top["station_id"], strict=True)
            )
            msg = (
                f"no located station of {Path(stations).name} has {int(min_samples)} or more "
                f"flow values (parameter Q) in {Path(observations).name}{most}, so the "
                "monitoring tables give no gauge: lower [hydraulics] gauge_min_samples, or "
                "set gauges_from_monitoring = false"
            )
            raise InputError(msg)
        m = m[m["count"] >= int(min_samples)]
        area = m[_AREA].to_numpy(dtype=float)
        period = m["min_t"].astype(str).str[:10] + ".." + m["max"].astype(str).str[:10]
        fname = Path(observations).name
        status = m["location_status"].astype(str)
        frames.append(
            pd.DataFrame(
                {
                    "gauge_id": m["station_id"],
                    "name": m["name"],
                    "lon": m["lon"],
                    "lat": m["lat"],
                    "mean_discharge_m3s": m["mean"],
                    "area_km2": area,
                    "period": period,
                    "status": "measured",
                    "source": "mean of " + m["count"].astype(str) + f" sampled flows (Q) in "
                    f"{fname}; location " + status,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(GAUGE_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def gauge_value_problems(gauges: pd.DataFrame) -> list[str]:
    """List what :func:`regionalise_runoff` refuses in a gauge table's flows and areas.

    Every ``mean_discharge_m3s`` must be a number > 0 (m³/s); an ``area_km2`` may be blank
    (no published area) but a given one must be a number > 0 (km²): a negative or zero
    area left the gauge out of the fit with only a note ('not snapped') in the check
    table.

    Examples
    --------
    >>> gauge_value_problems(pd.DataFrame({"gauge_id": ["A", "B"],
    ...     "mean_discharge_m3s": [5.0, 0.0], "area_km2": [None, -3]}))
    ["gauge(s) ['B'] have no positive mean_discharge_m3s (m3/s)", "gauge(s) ['B'] have an area_km2 that is not a number > 0 (km2): [-3.0]; correct it or leave it blank"]
    """  # noqa: E501
    ids = gauges["gauge_id"].astype(str).to_numpy()
    q = pd.to_numeric(gauges["mean_discharge_m3s"], errors="coerce").to_numpy(dtype=float)
    problems = []
    if not (q > 0).all():
        bad_q = ids[~(q > 0)][:10].tolist()
        problems.append(f"gauge(s) {bad_q} have no positive mean_discharge_m3s (m3/s)")
    if "area_km2" in gauges.columns:
        raw = gauges["area_km2"]
        area = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = raw.notna().to_numpy() & ~(np.isfinite(area) & (area > 0))
        if bad.any():
            problems.append(
                f"gauge(s) {ids[bad][:10].tolist()} have an area_km2 that is not a number > 0 "
                f"(km2): {raw[bad].tolist()[:10]}; correct it or leave it blank"
            )
    return problems


@dataclasses.dataclass
class _LeftOut:
    """The gauges :func:`regionalise_runoff` leaves out, by reason, each ``"id (details)"``."""

    no_area: list[str] = dataclasses.field(default_factory=list)
    far: list[str] = dataclasses.field(default_factory=list)
    unsnapped: list[str] = dataclasses.field(default_factory=list)
    mismatch: list[str] = dataclasses.field(default_factory=list)
    second: list[str] = dataclasses.field(default_factory=list)

    def message(self, *, tolerance_m: float, max_area_ratio: float) -> str:
        """Say which gauges are left out and why, in one text (``""`` if none)."""
        reasons = [
            (self.no_area, "without a published catchment area to check where they snap"),
            (self.far, f"more than {tolerance_m:g} m from any reach (nearest reach)"),
            (self.unsnapped, "whose lon/lat are no coordinates"),
            (
                self.mismatch,
                "whose snapped reach's upstream area is off the published catchment area by "
                f"more than a factor {max_area_ratio:g}",
            ),
            (self.second, "on a reach another gauge already holds"),
        ]
        parts = [f"{len(ids)} {why}: " + ", ".join(ids) for ids, why in reasons if ids]
        if not parts:
            return ""
        total = sum(len(ids) for ids, _ in reasons)
        return (
            f"{total} gauge(s) left out of the runoff fit (their catchments take the depth "
            "of the next gauge downstream, or the basin's; discharge_check.csv notes each): "
            + "; ".join(parts)
        )


def regionalise_runoff(
    net: RiverNetwork,
    gauges: pd.DataFrame,
    *,
    runoff_mm_year: float,
    tolerance_m: float = 3000.0,
    velocity_a: float | None = None,
    velocity_b: float | None = None,
    lake_velocity_ms: float | None = None,
    max_area_ratio: float = 1.5,
    require_area: bool = False,
    on_left_out: OnLeftOut = "warn",
) -> tuple[RiverNetwork, pd.DataFrame]:
    """Set each reach's mean discharge from runoff depths fitted to gauges.

    Parameters
    ----------
    net
        A network with ``local_area_km2`` (and ``upstream_area_km2``, ``discharge_m3s``).
    gauges
        One row per gauge: ``gauge_id, lon, lat, mean_discharge_m3s`` and optionally
        ``name, area_km2`` (a published catchment area, used to snap the gauge to the
        reach with the closest upstream area), ``status, source``.
    runoff_mm_year
        Depth for reaches below every gauge (the basin's ``[hydraulics] runoff_mm_year``).
    tolerance_m
        Largest snapping distance.
    velocity_a, velocity_b, lake_velocity_ms
        Hydraulic geometry (None: :mod:`basingov.network` defaults; lakes keep their
        velocity).
    max_area_ratio
        Largest ratio between snapped and published area for a gauge to be used.
    require_area
        Leave out gauges without a published area (their snap cannot be checked).
    on_left_out
        ``"warn"``: one :class:`~basingov.errors.BasingovWarning` naming every gauge left
        out: without a published area under ``require_area``, no reach within
        ``tolerance_m`` (or its lon/lat are no coordinates), its snapped reach's upstream
        area off its published one by more than ``max_area_ratio``, or another gauge
        already holding its reach, with the distances and areas; ``"ignore"``: the check
        table's notes only.

    Returns
    -------
    (RiverNetwork, pandas.DataFrame)
        The network with ``discharge_m3s``, ``velocity_ms``, ``runoff_mm_year`` and
        ``discharge_source = "regionalised"`` (the network's own discharges are kept), and the
        check table ``gauge_id, name, status, source, reach_id, snap_distance_m,
        published_area_km2, model_area_km2, observed_m3s, uniform_m3s, modelled_m3s,
        residual_pct, heldout_m3s, heldout_residual_pct, runoff_mm_year,
        negative_increment, note``.

    Raises
    ------
    InputError
        If the table has no rows or lacks a column, a flow is not positive or a given
        area not a number > 0 (:func:`gauge_value_problems`), the network has no local
        areas, or ``runoff_mm_year`` < 0, ``tolerance_m`` <= 0 or
        ``max_area_ratio`` < 1 (each would leave every gauge unused), or ``on_left_out``
        is not one of :data:`OnLeftOut`.

    Warns
    -----
    BasingovWarning
        With ``on_left_out="warn"``, once, if gauges are left out (see above).

    Examples
    --------
    Two reaches in a chain of 100 km² each, one gauge of 2 m³/s at the lower one:

    >>> from pyproj import Transformer
    >>> from basingov.examples import example_network
    >>> net = example_network([2, -1], length_m=10000, origin=(4e6, 3e6), direction="north",
    ...     columns={"local_area_km2": [100.0, 100.0]})
    >>> lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(4e6, 3.02e6)
    >>> g = pd.DataFrame({"gauge_id": ["G"], "lon": [lon], "lat": [lat],
    ...     "mean_discharge_m3s": [2.0]})  # at the lower end of reach 2
    >>> net2, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    >>> net2.reaches["discharge_m3s"].round(3).tolist()
    [1.0, 2.0]
    """
    require_columns(
        gauges, GAUGE_COLUMNS, what="the gauge table", hint=f"it needs {list(GAUGE_COLUMNS)}"
    )
    if len(gauges) == 0:
        msg = "the gauge table has no rows; regionalising runoff needs at least one gauge"
        raise InputError(msg)
    # options out of range made every gauge 'not snapped' or 'not used', without an error
    if not (runoff_mm_year >= 0 and tolerance_m > 0 and max_area_ratio >= 1):
        msg = (
            "need runoff_mm_year >= 0, tolerance_m > 0 and max_area_ratio >= 1; got "
            f"runoff_mm_year={runoff_mm_year}, tolerance_m={tolerance_m}, "
            f"max_area_ratio={max_area_ratio}"
        )
        raise InputError(msg)
    check_choice(on_left_out, _ON_LEFT_OUT, name="on_left_out")
    q = pd.to_numeric(gauges["mean_discharge_m3s"], errors="coerce").to_numpy(dtype=float)
    # coordinates that are no numbers become NaN: the gauge is noted 'not snapped'
    lons = pd.to_numeric(gauges["lon"], errors="coerce").to_numpy(dtype=float)
    lats = pd.to_numeric(gauges["lat"], errors="coerce").to_numpy(dtype=float)
    area_pub = (
        pd.to_numeric(gauges["area_km2"], errors="coerce").to_numpy(dtype=float)
        if "area_km2" in gauges.columns
        else np.full(len(gauges), np.nan)
    )
    problems = gauge_value_problems(gauges)
    if problems:
        raise InputError("; ".join(problems))
    if "local_area_km2" not in net.reaches or net.reaches["local_area_km2"].isna().all():
        msg = "regionalising runoff needs reach local areas (local_area_km2)"
        raise InputError(msg)
    rows: list[dict[str, Any]] = []
    pos_l, q_l, a_l, keep = [], [], [], []
    seen: dict[int, str] = {}
    left_out = _LeftOut()
    for k, g in enumerate(gauges.itertuples(index=False)):
        rec: dict[str, Any] = {
            "gauge_id": str(g.gauge_id),
            "name": str(getattr(g, "name", "") or ""),
            "status": str(getattr(g, "status", "") or ""),
            "source": str(getattr(g, "source", "") or ""),
            "published_area_km2": area_pub[k],
            "observed_m3s": q[k],
            "note": "",
        }
        if require_area and not area_pub[k] > 0:
            rec["note"] = "not used: no published area to check where it snaps"
            left_out.no_area.append(rec["gauge_id"])
            rows.append(rec)
            continue
        try:
            s = snap_point(
                net, float(lons[k]), float(lats[k]), tolerance_m=tolerance_m,
                expected_area_km2=None if np.isnan(area_pub[k]) else float(area_pub[k]),
            )  # fmt: skip
        except EmptyResultError:  # no reach within the tolerance (the network has reaches)
            d = nearest_reach_m(net, float(lons[k]), float(lats[k]))
            rec["note"] = (
                f"not snapped: nearest reach {d:.0f} m away, beyond the snapping tolerance "
                f"of {tolerance_m:g} m"
            )
            left_out.far.append(f"{rec['gauge_id']} ({d / 1000:.1f} km)")
            rows.append(rec)
            continue
        except InputError as exc:  # lon/lat that are no coordinates
            rec["note"] = f"not snapped: {exc}"
            left_out.unsnapped.append(f"{rec['gauge_id']} ({lons[k]}, {lats[k]})")
            rows.append(rec)
            continue
        rec.update(reach_id=s.reach_id, snap_distance_m=s.distance_m,
                   model_area_km2=s.upstream_area_km2)  # fmt: skip
        ratio = s.upstream_area_km2 / area_pub[k] if area_pub[k] > 0 else 1.0
        if np.isfinite(ratio) and not 1 / max_area_ratio <= ratio <= max_area_ratio:
            rec["note"] = (
                f"not used: snapped upstream area {s.upstream_area_km2:.0f} km2 vs published "
                f"{area_pub[k]:.0f} km2"
            )
            left_out.mismatch.append(
                f"{rec['gauge_id']} ({s.upstream_area_km2:.0f} km2 vs {area_pub[k]:.0f} km2 "
                f"published, {s.distance_m:.0f} m away)"
            )
            rows.append(rec)
            continue
        if s.position in seen:
            rec["note"] = "second gauge on the same reach: not used"
            left_out.second.append(f"{rec['gauge_id']} (reach of {seen[s.position]})")
            rows.append(rec)
            continue
        seen[s.position] = rec["gauge_id"]
        pos_l.append(s.position)
        q_l.append(q[k])
        a_l.append(s.upstream_area_km2)
        keep.append(len(rows))
        rows.append(rec)
    msg = left_out.message(tolerance_m=tolerance_m, max_area_ratio=max_area_ratio)
    if msg and on_left_out == "warn":
        warnings.warn(msg, BasingovWarning, stacklevel=2)
    pos = np.asarray(pos_l, dtype=np.int64)
    qo = np.asarray(q_l, dtype=float)
    ap = np.asarray(a_l, dtype=float)
    reaches = net.reaches
    up = reaches["upstream_area_km2"].to_numpy(dtype=float)
    q_old = reaches["discharge_m3s"].to_numpy(dtype=float)

    def at_point(qr: np.ndarray, p: int, a_point: float, depth: np.ndarray | None = None) -> float:
        """Flow at the snapped point: the reach's outflow less its own runoff below the point."""
        if not (up[p] > 0 and np.isfinite(a_point)):
            return float(qr[p])
        if depth is None:  # one depth: scale by area
            return float(qr[p] * a_point / up[p])
        return float(qr[p] - depth[p] * max(up[p] - a_point, 0.0) * 1e6)

    local = np.nan_to_num(reaches["local_area_km2"].to_numpy(dtype=float), nan=0.0)
    r, dep_mm, neg = _depths(net, pos, qo, ap, runoff_mm_year)
    q_new = accumulate(net, local * 1e6 * r)
    for j, row_i in enumerate(keep):
        rec = rows[row_i]
        p = pos[j]
        rec["uniform_m3s"] = at_point(q_old, p, ap[j])
        rec["modelled_m3s"] = at_point(q_new, p, ap[j], r)
        rec["runoff_mm_year"] = dep_mm[j]
        rec["negative_increment"] = bool(neg[j])
        if neg[j]:
            rec["note"] = "gauges upstream carry more than this one: increment runoff set to 0"
        elif runoff_mm_year > 0 and dep_mm[j] >= HIGH_INCREMENT_RATIO * runoff_mm_year:
            rec["note"] = (
                f"increment runoff {dep_mm[j]:,.0f} mm/year is {dep_mm[j] / runoff_mm_year:.1f} "
                f"times the basin's {runoff_mm_year:,.0f}: the flows at and above this gauge "
                "may not be of one period or method; the fit puts the difference here"
            )
        others = np.delete(np.arange(pos.size), j)
        r_h, _, _ = _depths(net, pos[others], qo[others], ap[others], runoff_mm_year)
        rec["heldout_m3s"] = at_point(accumulate(net, local * 1e6 * r_h), p, ap[j], r_h)
    out = pd.DataFrame(rows)
    for c in ("reach_id", "snap_distance_m", "model_area_km2", "uniform_m3s", "modelled_m3s",
              "heldout_m3s", "runoff_mm_year", "negative_increment"):  # fmt: skip
        if c not in out.columns:
            out[c] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["residual_pct"] = 100.0 * (out["modelled_m3s"] / out["observed_m3s"] - 1.0)
        out["heldout_residual_pct"] = 100.0 * (out["heldout_m3s"] / out["observed_m3s"] - 1.0)
        out["uniform_residual_pct"] = 100.0 * (out["uniform_m3s"] / out["observed_m3s"] - 1.0)
    cols = ["gauge_id", "name", "status", "source", "reach_id", "snap_distance_m",
            "published_area_km2", "model_area_km2", "observed_m3s", "uniform_m3s",
            "uniform_residual_pct", "modelled_m3s", "residual_pct", "heldout_m3s",
            "heldout_residual_pct", "runoff_mm_year", "negative_increment", "note"]  # fmt: skip
    out = out[cols]
    t = reaches.copy()
    measured = (
        t["discharge_source"].eq(GIVEN_DISCHARGE).to_numpy()
        if "discharge_source" in t.columns
        else np.zeros(len(t), dtype=bool)
    )
    qn = np.where(measured, q_old, q_new)
    t["discharge_m3s"] = qn
    t["runoff_mm_year"] = r * 1000.0 * _S_PER_YEAR
    a = DEFAULT_VELOCITY_A if velocity_a is None else float(velocity_a)
    b = DEFAULT_VELOCITY_B if velocity_b is None else float(velocity_b)
    v = velocity_from_discharge(np.maximum(qn, 1e-3), a=a, b=b)  # no still water on rivers
    lake = t["is_lake"].to_numpy(dtype=bool) if "is_lake" in t.columns else np.zeros(len(t), bool)
    v_old = t["velocity_ms"].to_numpy(dtype=float) if "velocity_ms" in t.columns else v
    if lake_velocity_ms is not None:
        v_old = np.where(lake, float(lake_velocity_ms), v_old)
    t["velocity_ms"] = np.where(lake | measured, v_old, v)
    t["discharge_source"] = np.where(measured, GIVEN_DISCHARGE, "regionalised")
    note = f"discharge regionalised to {pos.size} gauge(s)"
    logger.info("%s", note)
    src = f"{net.source}; {note}" if net.source else note
    return dataclasses.replace(net, reaches=t, source=src), out
