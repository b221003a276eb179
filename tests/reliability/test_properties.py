"""Property-based tests (hypothesis): random networks, jurisdiction layouts, configs and files.

Whatever the input, the only exceptions that may escape are :class:`BasingovError`s, and on
the inputs that are accepted the invariants hold: unit shares sum to 1 at every level, and
every kilogram generated is delivered, decayed or retained (the load balance closes), no
unit's share leaves [0, 1] and no unit exports more of its own load than it generates.
1,450 examples run in all (see ``max_examples`` on each test; 150 of them on random basins).
"""

from __future__ import annotations

import math
import string
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from basingov import dependency, loads, overlay, spillover
from basingov._filters import apply_filter, parse_filter
from basingov._tables import check_table, read_table
from basingov._values import check_file_name
from basingov.config import load_config
from basingov.errors import BasingovError, BasingovWarning, ConfigError, InputError
from basingov.network import network_from_table

CRS = "EPSG:3035"
X0, Y0 = 4_000_000.0, 3_000_000.0  # central Europe in EPSG:3035
SIZE = 10_000.0
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


# --- random basins ------------------------------------------------------------------------
@st.composite
def basins(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a random river tree on a 10 km square and a random two-level layout of units."""
    n = draw(st.integers(1, 12))
    pts = draw(
        st.lists(
            st.tuples(st.integers(1, 99), st.integers(1, 99)),
            min_size=n + 1,
            max_size=n + 1,
            unique=True,
        )
    )
    parent = [-1] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    xy = [(X0 + x * SIZE / 100, Y0 + y * SIZE / 100) for x, y in pts]
    outlet = xy[n]
    lines = [LineString([xy[i], xy[parent[i]] if parent[i] >= 0 else outlet]) for i in range(n)]
    reaches = gpd.GeoDataFrame(
        {
            "reach_id": np.arange(1, n + 1),
            "downstream_id": [p + 1 if p >= 0 else -1 for p in parent],
            "local_area_km2": draw(st.lists(st.floats(0.01, 100.0), min_size=n, max_size=n)),
        },
        geometry=lines,
        crs=CRS,
    )
    # countries: vertical strips; provinces: each strip cut once horizontally
    k = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=k - 1, max_size=k - 1, unique=True)))
    xs = [0, *cuts, 100]
    rows: list[dict[str, Any]] = []
    cover = draw(st.sampled_from([100, 100, 90]))  # 90: part of the basin lies outside
    for i in range(k):
        x_lo, x_hi = X0 + xs[i] * SIZE / 100, X0 + xs[i + 1] * SIZE / 100
        top = Y0 + cover * SIZE / 100
        rows.append(
            {"jur_id": f"C{i}", "level": 0, "level_name": "country", "parent_id": "",
             "geometry": box(x_lo, Y0, x_hi, top)}
        )  # fmt: skip
        cut = Y0 + draw(st.integers(1, cover - 1)) * SIZE / 100
        for j, (lo, hi) in enumerate(((Y0, cut), (cut, top))):
            rows.append(
                {"jur_id": f"C{i}P{j}", "level": 1, "level_name": "province",
                 "parent_id": f"C{i}", "geometry": box(x_lo, lo, x_hi, hi)}
            )  # fmt: skip
    jur = gpd.GeoDataFrame(rows, crs=CRS)
    jur["name"] = jur["jur_id"]
    basin = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + SIZE, Y0 + SIZE)], crs=CRS)
    load = draw(st.lists(st.floats(0.0, 1e4), min_size=2 * k, max_size=2 * k))
    decay = draw(st.floats(0.0, 5.0))
    return {"reaches": reaches, "jur": jur, "basin": basin, "load": load, "decay": decay}


@pytest.mark.slow
@settings(max_examples=150, **SETTINGS)
@given(b=basins())
def test_random_basins_keep_shares_and_mass(b: dict[str, Any]) -> None:
    levels = ["country", "province"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BasingovWarning)
        try:
            net = network_from_table(b["reaches"])
            ov = overlay.overlay_network(net, b["jur"], b["basin"], levels=levels)
            dependency.analyse(ov, b["jur"])
            prov = b["jur"][b["jur"]["level_name"] == "province"]
            table = pd.DataFrame({"jur_id": prov["jur_id"].to_numpy(), "load_kg_day": b["load"]})
            load_table = loads.jurisdiction_loads(ov.pieces, table, level="province")
            sp = spillover.spillover_tables(
                net, ov.piece_graph, load_table, level_names=levels, decay_per_day=b["decay"]
            )
        except BasingovError as exc:
            event(f"refused: {type(exc).__name__}")
            return  # a clear refusal is allowed; anything else fails the test
    event("accepted")
    each = ov.unit_shares["share"].to_numpy(dtype=float)
    assert ((each >= 0) & (each <= 1 + 1e-12)).all()  # every unit's share in [0, 1]
    shares = ov.unit_shares.groupby("level_name")["share"].sum()
    assert set(shares.index) == set(levels)
    np.testing.assert_allclose(shares.to_numpy(), 1.0, atol=1e-9)
    ind = sp.indicators
    gen = ind["generated"].to_numpy(dtype=float)
    tol = 1e-9 * (1.0 + gen)
    # the own load leaving a unit for good cannot exceed what it generates (the summary's
    # transboundary share is this over the generated load; the indicator is clipped to 1,
    # so it is the unclipped quantity that is checked)
    away = np.clip(ind["exported"].to_numpy(float) - ind["returned"].to_numpy(float), 0, None)
    assert (away <= gen + tol).all()
    assert (ind["stays_home"].to_numpy(float) <= gen + tol).all()
    imp = ind["imported_share"].to_numpy(dtype=float)
    imp = imp[~np.isnan(imp)]
    assert ((imp >= -1e-12) & (imp <= 1 + 1e-12)).all()
    # no negative transfer beyond rounding (differences of sums leave ~1e-12 kg/day)
    total = float(load_table["load_kg_day"].sum())
    assert (sp.matrix_long["load_kg_day"].to_numpy(dtype=float) >= -1e-9 * (1 + total)).all()
    for lv in levels:
        bal = sp.balance[sp.balance["level_name"] == lv]
        gen = float(bal["generated"].sum())
        assert gen == pytest.approx(total, rel=1e-9, abs=1e-9)
        out = float((bal["delivered"] + bal["decayed"] + bal["retained"]).sum())
        assert out == pytest.approx(gen, rel=1e-9, abs=1e-6)
        assert (bal["relative_residual"] < 1e-9).all()


# --- random configs -------------------------------------------------------------------------
def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"
    raise TypeError(value)


_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20).filter(lambda s: "\x7f" not in s and all(c >= " " for c in s)),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.sampled_from("abc"), _SCALARS, max_size=2),
)

_KEYS = {
    "basin": ["name", "title", "crs", "outlet", "network", "area_km2_published", "bogus"],
    "boundaries": ["path", "levels", "layer", "basin_layer"],
    "networks.lines": ["builder", "path", "layer", "id_column", "name_column", "filter", "tolerance_m", "derived", "names_tolerance_m", "threshold_km2", "clip_to_outlet"],  # noqa: E501
    "hydraulics": ["runoff_mm_year", "velocity_a", "velocity_b", "lake_velocity_ms"],
    "loads": ["parameter", "sources", "population_band", "point_tolerance_m", "coefficients", "jurisdiction_level", "distribute_by"],  # noqa: E501
    "spillover": ["decay_per_day", "lake_settling_velocity_m_yr", "dispersion_m2_s", "monte_carlo_runs", "seed"],  # noqa: E501
}  # fmt: skip
_PLAUSIBLE: dict[str, list[Any]] = {
    "name": ["rhine", "my_basin", "../x", "a/b", ".x", "太湖"],
    "crs": ["EPSG:32632", "EPSG:4326", "EPSG:2263", "EPSG:3857", "bogus"],
    "outlet": [[7.0, 47.0], [180.0, 90.0], [181.0, 0.0], [0.0, -90.5]],
    "area_km2_published": [1.0, 0.0, -1.0, 1e9],
    "levels": [["country"], ["a", "b"], ["a", "a"], []],
    "tolerance_m": [0.0, 10.0, -1.0, 1e6, 1e7],
    "names_tolerance_m": [0.0, 1000.0, -0.5],
    "threshold_km2": [0.0, 25.0],
    "clip_to_outlet": [True, False, "false", 0],
    "derived": [True, False, "yes"],
    "filter": ["in_basin_share >= 0.5", "NAME == 'x' and a in [1, 2]", "@x", "a.b == 1"],
    "runoff_mm_year": [0.0, 450.0, -1.0, 1e5],
    "velocity_a": [0.0, 0.3, -0.1],
    "velocity_b": [0.0, 0.4, 1.5],
    "lake_velocity_ms": [0.01, 0.0],
    "parameter": ["TN", "TP", "Hg"],
    "population_band": [0, 1, 2, -1],
    "point_tolerance_m": [0.0, 5000.0, -1.0],
    "coefficients": [{"treatment_removal": 0.5}, {"treatment_removal": 1.5}, {"per_capita_g_day": -1.0}],  # noqa: E501
    "jurisdiction_level": ["country", "county"],
    "distribute_by": ["length", "area", "people"],
    "decay_per_day": [0.0, 0.1, -0.1, 1e4],
    "lake_settling_velocity_m_yr": [{"TN": 6.45}, {"TP": -1.0}, {"TN": "x"}],
    "dispersion_m2_s": [0.0, 10.0],
    "monte_carlo_runs": [0, 1, 200, 10_000, 10_001, -5],
    "seed": [0, 42, -1, 2**63 - 1],
}  # fmt: skip
_BASE = {
    "basin": {"name": "toy", "title": "Toy", "crs": "EPSG:3035", "outlet": [7.19, 47.05], "network": "lines"},  # noqa: E501
    "boundaries": {"path": "bounds.gpkg", "levels": ["country"]},
    "networks.lines": {"builder": "lines_outlet", "path": "rivers.gpkg"},
}  # fmt: skip


@st.composite
def configs(draw: st.DrawFn) -> str:
    """Draw a basin config with a few keys replaced by random values (or removed)."""
    doc = {sec: dict(vals) for sec, vals in _BASE.items()}
    for _ in range(draw(st.integers(1, 3))):
        sec = draw(st.sampled_from(sorted(_KEYS)))
        key = draw(st.sampled_from(_KEYS[sec]))
        how = draw(st.sampled_from(["plausible"] * 6 + ["random"] * 3 + ["delete"]))
        plausible = _PLAUSIBLE.get(key, [])
        if how == "delete" and key in doc.get(sec, {}):
            del doc[sec][key]
        else:
            value = (
                draw(st.sampled_from(plausible))
                if plausible and how == "plausible"
                else draw(_VALUES)
            )
            doc.setdefault(sec, {})[key] = value
    return "\n".join(
        f"[{sec}]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in vals.items()) + "\n"
        for sec, vals in doc.items()
    )


@settings(max_examples=300, **SETTINGS)
@given(text=configs())
def test_random_configs_load_or_raise_config_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    try:
        cfg = load_config(path)
    except ConfigError:
        event("refused")
        return
    event("accepted")
    # what was accepted is usable: a safe name, finite outlet, counts and seeds in range
    assert check_file_name(cfg.basin.name, where="x") == cfg.basin.name
    assert all(math.isfinite(v) for v in cfg.basin.outlet)
    assert 0 <= cfg.spillover.monte_carlo_runs <= 10_000
    assert cfg.spillover.seed >= 0
    for v in cfg.network.options.values():
        assert not (isinstance(v, float) and not math.isfinite(v))
    if "clip_to_outlet" in cfg.network.options:
        assert isinstance(cfg.network.options["clip_to_outlet"], bool)


# --- random filters ---------------------------------------------------------------------------
FRAME = pd.DataFrame(
    {
        "a": [1, 2, 3, 4, 5, 6],
        "b": [0.5, -1.0, 2.5, np.nan, 0.0, 9.0],
        "s": ["x", "y", "z", "x", None, "it's"],
    }
)
_FILTER_CHARS = string.ascii_letters + string.digits + " _.'\"()[],=<>!@`&|~+-*/%:;{}\\#$^?\t"


_NUM = st.one_of(st.integers(-3, 8), st.sampled_from([0.5, -1.0, 2.5, 1e-3]))
_STR = st.sampled_from(["'x'", "'y'", "'z'", '"it\'s"', "'w'"])


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    col = draw(st.sampled_from(["a", "b", "s"]))
    if col == "s":
        op = draw(st.sampled_from(["==", "!="]))
        if draw(st.booleans()):
            vals = draw(st.lists(_STR, min_size=1, max_size=3))
            neg = "not " if draw(st.booleans()) else ""
            return f"s {neg}in [" + ", ".join(vals) + "]"
        return f"s {op} {draw(_STR)}"
    lit = draw(_NUM)
    return f"{col} {op} {lit}" if draw(st.booleans()) else f"{lit} {op} {col}"


_EXPR = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda e: f"not ({e})"),
    ),
    max_leaves=6,
)


@settings(max_examples=250, **SETTINGS)
@given(expr=_EXPR)
def test_filters_select_what_pandas_selects(expr: str) -> None:
    # expressions generated here are trusted, so pandas.eval is a fair reference
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = FRAME.eval(expr)
    ours = apply_filter(FRAME, parse_filter(expr))
    assert ours.tolist() == np.asarray(ref, dtype=bool).tolist()


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """Draw a valid filter with one character inserted, deleted or replaced."""
    text = draw(_EXPR)
    i = draw(st.integers(0, len(text)))
    c = draw(st.sampled_from(_FILTER_CHARS))
    how = draw(st.sampled_from(["insert", "delete", "replace"]))
    if how == "insert":
        return text[:i] + c + text[i:]
    if how == "delete":
        return text[:i] + text[i + 1 :]
    return text[:i] + c + text[i + 1 :]


@settings(max_examples=300, **SETTINGS)
@given(
    text=st.one_of(
        st.text(alphabet=_FILTER_CHARS, max_size=40), st.text(max_size=40), mutated(), mutated()
    )
)
def test_random_filter_text_parses_or_raises_config_error(text: str) -> None:
    try:
        mask = apply_filter(FRAME, text)
    except ConfigError:
        event("refused")
        return
    event("accepted")
    assert mask.dtype == bool
    assert mask.shape == (len(FRAME),)


# --- random CSV files ---------------------------------------------------------------------------
_CELLS = st.one_of(
    st.sampled_from(["", " ", "A", "B", "1", "-2", "1e400", "nan", "inf", "ten", "1,5", '"', "é"]),
    st.floats(allow_nan=True).map(repr),
    st.text(max_size=5),
)


_IDS = st.one_of(st.sampled_from(["A", "B", "C", "D", "A1", "北京"]), _CELLS)
_LOADS = st.one_of(st.floats(0, 1e6).map(repr), st.integers(0, 10**6).map(str), _CELLS)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    header = draw(
        st.sampled_from(["jur_id,load_kg_day"] * 4 + ["jur_id,load_kg_day,note", "id,x", ""])
    )
    rows = draw(st.lists(st.tuples(_IDS, _LOADS, st.sampled_from(["", "n", "é"])), max_size=5))
    width = header.count(",") + 1
    text = header + "\n" + "\n".join(",".join(r[:width]) for r in rows)
    enc = draw(st.sampled_from(["utf-8"] * 4 + ["utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(enc, errors="replace")


@settings(max_examples=250, **SETTINGS)
@given(content=csv_bytes())
def test_random_load_tables_read_or_raise_input_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "loads.csv"
    path.write_bytes(content)
    try:
        df = read_table(path, what="t", dtype={"jur_id": str})
        check_table(
            df, what="t", numeric=["load_kg_day"], nonnegative=["load_kg_day"], id_column="jur_id"
        )
    except InputError:
        event("refused")
        return
    event("accepted")
    vals = pd.to_numeric(df["load_kg_day"]).to_numpy(dtype=float)
    assert np.isfinite(vals).all()
    assert (vals >= 0).all()
    assert not df["jur_id"].duplicated().any()


# --- random names -------------------------------------------------------------------------------
@settings(max_examples=200, **SETTINGS)
@given(name=st.one_of(st.text(max_size=30), st.text(alphabet="./\\-_ab:~\x00 \n", max_size=10)))
def test_names_become_single_safe_path_components(name: str, tmp_path: Path) -> None:
    try:
        ok = check_file_name(name, where="[basin].name")
    except ConfigError:
        event("refused")
        return
    event("accepted")
    p = tmp_path / ok
    assert p.parent == tmp_path
    assert p.resolve().parent == tmp_path.resolve()
    assert not ok.startswith(".")
    assert "/" not in ok
    assert "\\" not in ok
    assert "\x00" not in ok
    assert ok.isprintable()  # no newline, tab or other control character
    assert ok == ok.strip()
    assert not ok.endswith(".")
