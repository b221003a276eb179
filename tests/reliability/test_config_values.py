"""Every config value is checked where it enters: types, ranges, CRSs, booleans, file names."""

from __future__ import annotations

import pytest

from basingov import _preflight
from basingov.config import load_config
from basingov.datasets import load_basin
from basingov.errors import ConfigError, InputError
from basingov.pipeline import run
from basingov.spill import warn

DEM_NETWORK = """
[networks.dem]
builder = "dem"
elevation_path = "dem.tif"
threshold_km2 = 25.0
clip_to_outlet = CLIP
"""

# (old text, new text, expected message) on the toy config
CASES = [
    (
        'crs = "EPSG:3035"',
        'crs = "EPSG:999999"',
        r"\[basin\]\.crs = 'EPSG:999999' is not a coordinate reference system pyproj knows",
    ),
    ('crs = "EPSG:3035"', 'crs = "not a crs"', r"\[basin\]\.crs = 'not a crs' is not a coordinate"),
    ('crs = "EPSG:3035"', 'crs = "EPSG:4326"', r"\[basin\]\.crs = 'EPSG:4326' is not projected"),
    (
        'crs = "EPSG:3035"',
        'crs = "EPSG:2263"',
        r"has axis unit 'US survey foot'; use a CRS in metres",
    ),
    (
        "outlet = [7.19, 47.05]",
        "outlet = [nan, 47.05]",
        r"\[basin\]\.outlet = \[nan, 47.05\] is not a WGS84 point",
    ),
    (
        "outlet = [7.19, 47.05]",
        "outlet = [inf, 47.05]",
        r"\[basin\]\.outlet = \[inf, 47.05\] is not a WGS84 point",
    ),
    (
        "outlet = [7.19, 47.05]",
        "outlet = [1e300, 47.05]",
        r"is not a WGS84 point: give \[lon, lat\]",
    ),
    ("outlet = [7.19, 47.05]", "outlet = [47.05, 97.19]", r"lat within ±90"),
    (
        "outlet = [7.19, 47.05]",
        "outlet = [true, false]",
        r"\[basin\]\.outlet must be \[lon, lat\], got \[True, False\]",
    ),
    ("outlet = [7.19, 47.05]", 'outlet = "7.19, 47.05"', r"\[basin\]\.outlet must be \[lon, lat\]"),
    (
        "tolerance_m = 10.0",
        'tolerance_m = "10"',
        r"\[networks\.lines\]\.tolerance_m must be a number, got '10' \(str\)",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = [10.0]",
        r"\[networks\.lines\]\.tolerance_m must be a number, got \[10\.0\] \(list\)",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = -1.0",
        r"\[networks\.lines\]\.tolerance_m must be >= 0, got -1\.0",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = inf",
        r"\[networks\.lines\]\.tolerance_m must be a finite number, got inf",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = true",
        r"tolerance_m must be a number, got True \(bool\)",
    ),
    (
        "tolerance_m = 10.0",
        'tolerance_m = 10.0\nderived = "yes"',
        r"\[networks\.lines\]\.derived must be true or false, got 'yes'",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = 10.0\nnames_tolerance_m = nan",
        r"names_tolerance_m must be a finite number, got nan",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = 10.0\nfilter = 3",
        r"\[networks\.lines\]\.filter must be a string, got 3",
    ),
    (  # a list for one path was taken: validate and run raised a raw TypeError (tuple)
        'path = "rivers.gpkg"',
        'path = ["rivers.gpkg"]',
        r"\[networks\.lines\]\.path must be one path string, got \['rivers\.gpkg'\]",
    ),
    (  # one path where a list belongs was kept as a Path that the loads could not iterate
        'jurisdiction_level = "country"',
        'jurisdiction_level = "country"\ntreatment_plants = "plants.csv"',
        r"\[loads\]\.treatment_plants must be an array of path strings, got 'plants\.csv'",
    ),
    (  # a string was taken as its characters: one-letter groups, no alias joined, silently
        "tolerance_m = 10.0",
        'tolerance_m = 10.0\nriver_aliases = "Rhine|Rhein"',
        r"\[networks\.lines\]\.river_aliases must be an array of strings, got 'Rhine\|Rhein'",
    ),
    (  # a network's own outlet was not checked like [basin].outlet
        "tolerance_m = 10.0",
        "tolerance_m = 10.0\noutlet = [nan, 47.05]",
        r"\[networks\.lines\]\.outlet = \[nan, 47\.05\] is not a WGS84 point",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = 10.0\noutlet = [47.05, 97.19]",
        r"\[networks\.lines\]\.outlet = \[47\.05, 97\.19\] is not a WGS84 point",
    ),
    (
        "tolerance_m = 10.0",
        "tolerance_m = 10.0\noutlet = [true, 47.05]",
        r"\[networks\.lines\]\.outlet must be \[lon, lat\], got \[True, 47\.05\]",
    ),
    (
        'name_column = "NAME"',
        'name_column = ""',
        r"\[networks\.lines\]\.name_column must be a non-empty string",
    ),
    (
        'levels = ["country", "province"]',
        'levels = ["country", "country"]',
        r"\[boundaries\]\.levels repeats \['country'\]",
    ),
    (
        'jurisdiction_level = "country"',
        'jurisdiction_level = "county"',
        r"\[loads\]\.jurisdiction_level = 'county' is not one of \[boundaries\]\.levels",
    ),
    (
        'parameter = "TN"',
        'parameter = "TN"\npopulation_band = 0',
        r"\[loads\]\.population_band must be >= 1, got 0",
    ),
    (
        'parameter = "TN"',
        'parameter = "TN"\npoint_tolerance_m = -5.0',
        r"\[loads\]\.point_tolerance_m must be >= 0",
    ),
    (
        'parameter = "TN"',
        'parameter = "TN"\ncoefficients = {treatment_removal = 2.0}',
        r"\[loads\]\.coefficients\.treatment_removal must be <= 1, got 2\.0",
    ),
    (
        'parameter = "TN"',
        'parameter = "TN"\ncoefficients = {per_capita_g_day = "a lot"}',
        r"\[loads\]\.coefficients\.per_capita_g_day must be a number",
    ),
]
APPENDED = [
    (
        "\n[spillover]\nmonte_carlo_runs = -5\n",
        r"\[spillover\]\.monte_carlo_runs must be >= 0, got -5",
    ),
    (
        "\n[spillover]\nmonte_carlo_runs = 1.5\n",
        r"\[spillover\]\.monte_carlo_runs must be an integer, got 1\.5",
    ),
    (
        "\n[spillover]\nmonte_carlo_runs = 100000000\n",
        r"monte_carlo_runs = 100000000 is more than 10,000: each run keeps",
    ),
    ("\n[spillover]\nseed = -1\n", r"\[spillover\]\.seed must be >= 0, got -1"),
    (
        "\n[spillover]\ndecay_per_day = nan\n",
        r"\[spillover\]\.decay_per_day must be a finite number, got nan",
    ),
    (  # true was taken as a rate of 1/day; nan passed validate and failed only at the run
        "\n[spillover]\ndecay_classes = { thresholds_m3s = [10.0], k_per_day = [0.1, true] }\n",
        r"\[spillover\]\.decay_classes\.k_per_day must be an array of rates \(1/day\)",
    ),
    (
        "\n[spillover]\ndecay_classes = { thresholds_m3s = [nan], k_per_day = [0.1, 0.2] }\n",
        r"\[spillover\]\.decay_classes\.thresholds_m3s must be an array of flows",
    ),
    (
        "\n[spillover]\ndispersion_m2_s = 0.0\n",
        r"\[spillover\]\.dispersion_m2_s must be >= 0\.01, got 0\.0",
    ),
    (  # the peak grows as 1/sqrt(D): a tiny D gave peaks of 1e149 mg/L
        "\n[spillover]\ndispersion_m2_s = 1e-300\n",
        r"\[spillover\]\.dispersion_m2_s must be >= 0\.01, got 1e-300",
    ),
    ("\n[spillover]\ndispersion_m2_s = 1e6\n", r"dispersion_m2_s must be <= 10000"),
    (  # listed twice: a typo in a list of names, refused like [loads].sources repeats
        '\n[calibration]\nfit_sources = ["population_raster", "population_raster"]\n',
        r"\[calibration\]\.fit_sources repeats \['population_raster'\]",
    ),
    (  # a name no load row carries was silently not fitted
        '\n[calibration]\nfit_sources = ["sewage"]\n',
        r"\[calibration\]\.fit_sources has unknown load source\(s\) \['sewage'\]",
    ),
    ("\n[calibration]\nmin_samples = -1\n", r"\[calibration\]\.min_samples must be >= 1"),
    (
        '\n[hydraulics]\ngauge_area_columns = ["a"]\n',
        r"\[hydraulics\]\.gauge_area_columns must name two columns",
    ),
    (
        "\n[hydraulics]\nrunoff_mm_year = -3.0\n",
        r"\[hydraulics\]\.runoff_mm_year must be >= 0, got -3\.0",
    ),
    ("\n[hydraulics]\nvelocity_b = 7.0\n", r"\[hydraulics\]\.velocity_b must be <= 1, got 7\.0"),
    (
        "\n[monitoring]\nsnap_tolerance_m = -inf\n",
        r"\[monitoring\]\.snap_tolerance_m must be a finite number",
    ),
    (  # TOML allows nan and inf: a nan weight made every priority score nan, silently
        "\n[priority]\nweights = { exceedance = nan }\n",
        r"\[priority\]\.weights values must be finite numbers, got \{'exceedance': nan\}",
    ),
    ("\n[priority]\nweights = { exceedance = inf }\n", r"weights values must be finite"),
    (
        '\n[lakes]\npath = "lakes.gpkg"\n[[lakes.lake]]\nname = "L"\n'
        "settling_velocity_m_yr = { TN = inf }\n",
        r"\[\[lakes\.lake\]\] #1\.settling_velocity_m_yr values must be finite numbers >= 0",
    ),
    (  # a lake's point was not checked: nan matched no polygon, silently
        '\n[lakes]\npath = "lakes.gpkg"\n[[lakes.lake]]\nname = "L"\nat = [nan, 47.0]\n',
        r"\[\[lakes\.lake\]\] #1\.at must be \[lon, lat\] in degrees",
    ),
    (
        '\n[lakes]\npath = "lakes.gpkg"\n[[lakes.lake]]\nname = "L"\nat = [true, 47.0]\n',
        r"\[\[lakes\.lake\]\] #1\.at must be \[lon, lat\] in degrees",
    ),
    (
        DEM_NETWORK.replace("CLIP", '"false"'),
        r"\[networks\.dem\]\.clip_to_outlet must be true or false \(a TOML boolean, not quoted\), got 'false'",  # noqa: E501
    ),
    (DEM_NETWORK.replace("CLIP", "1"), r"\[networks\.dem\]\.clip_to_outlet must be true or false"),
    (
        DEM_NETWORK.replace("CLIP", "true").replace("25.0", "0.0"),
        r"\[networks\.dem\]\.threshold_km2 must be > 0, got 0\.0",
    ),
    (
        DEM_NETWORK.replace("CLIP", "true").replace("25.0", '"25"'),
        r"\[networks\.dem\]\.threshold_km2 must be a number, got '25'",
    ),
]


@pytest.mark.parametrize(("old", "new", "match"), CASES)
def test_bad_values_are_config_errors(old: str, new: str, match: str, toy: object) -> None:
    cfg = toy(replace={old: new})  # type: ignore[operator]
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)


@pytest.mark.parametrize(("extra", "match"), APPENDED)
def test_bad_section_values_are_config_errors(extra: str, match: str, toy: object) -> None:
    cfg = toy(append=extra)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)


def test_repeated_load_source_is_refused(toy: object) -> None:
    # was accepted, and the jurisdiction table's 15 kg/day were generated twice (30)
    cfg = toy(  # type: ignore[operator]
        replace={
            'sources = ["jurisdiction_table"]': 'sources = ["jurisdiction_table", '
            '"jurisdiction_table"]'
        }
    )
    with pytest.raises(ConfigError, match=r"\[loads\]\.sources repeats \['jurisdiction_table'\]"):
        load_config(cfg)


def test_a_refused_value_is_not_reported_twice(toy: object) -> None:
    cfg = toy(replace={'crs = "EPSG:3035"': "crs = 3035"})  # type: ignore[operator]
    with pytest.raises(ConfigError, match=r"\[basin\]\.crs must be a string, got 3035") as info:
        load_config(cfg)
    assert "__init__()" not in str(info.value)  # no Python argument error as well


def test_load_labels_are_the_labels_of_the_load_stage() -> None:
    from basingov.config import LOAD_LABELS, LOAD_SOURCES
    from basingov.loads.diffuse import DEPOSITION_KIND, DIFFUSE_KINDS

    assert set(DIFFUSE_KINDS) | {DEPOSITION_KIND} <= set(LOAD_LABELS)
    assert set(LOAD_SOURCES) - {"landcover"} <= set(LOAD_LABELS)


def test_all_problems_are_listed_at_once(toy: object) -> None:
    cfg = toy(  # type: ignore[operator]
        replace={
            'crs = "EPSG:3035"': 'crs = "EPSG:4326"',
            "tolerance_m = 10.0": "tolerance_m = -1.0",
        },
        append="\n[spillover]\nseed = -1\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    msg = str(info.value)
    assert msg.count("\n  - ") == 3
    for key in ("[basin].crs", "[networks.lines].tolerance_m", "[spillover].seed"):
        assert key in msg


def test_load_parameter_and_coefficients_fail_before_the_work(toy: object) -> None:
    cfg = toy(replace={'parameter = "TN"': 'parameter = "XYZ"'})  # type: ignore[operator]
    with pytest.raises(ConfigError, match=r"\[loads\]: parameter must be one of \['TN', 'TP'"):
        run(cfg)
    cfg = toy(  # type: ignore[operator]
        sub="b", replace={'parameter = "TN"': 'parameter = "TN"\ncoefficients = {per_person = 1.0}'}
    )
    with pytest.raises(ConfigError, match=r"unknown load coefficient\(s\) \['per_person'\]"):
        run(cfg)


def test_missing_load_file_fails_before_the_work(toy: object) -> None:
    cfg = toy(replace={'jurisdiction_table = "loads.csv"': 'jurisdiction_table = "nope.csv"'})  # type: ignore[operator]
    with pytest.raises(
        ConfigError, match=r"\[loads\]\.jurisdiction_table = '.*nope.csv' does not exist"
    ):
        run(cfg)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            '\n[monitoring]\nstandard = "../../etc/passwd"\n',
            r"\[monitoring\]\.standard must be one of \['GB3838-2002', 'OGewV-2016'\]",
        ),
        ('\n[monitoring]\ntarget_class = "VII"\n', r"\[monitoring\]\.target_class must be a class"),
    ],
)
def test_monitoring_standard_is_checked_before_the_work(
    extra: str, match: str, toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the monitoring stage checked it after the network and the overlay (or never, when
    # the basin has no stations)
    from basingov import pipeline

    cfg = toy(append=extra)  # type: ignore[operator]
    monkeypatch.setattr(pipeline, "assemble_network", _not_reached)
    with pytest.raises(ConfigError, match=match):
        run(cfg)
    # validate says so too (it said "no problems": it did not make the run's first checks)
    problems = [p for r in pipeline.validate(cfg) for p in r.problems]
    assert any(__import__("re").search(match, p) for p in problems), problems


@pytest.mark.parametrize(
    ("key", "match"),
    [
        (
            'export_region = "cn"\ndeposition_region = "EU"',
            r"\[loads\]\.export_region: export-coefficient region \['cn'\] has no row in the "
            r"export-coefficient table; its regions are \['CN', 'default'\]",
        ),
        (
            'deposition_region = "eu"',
            r"\[loads\]\.deposition_region: deposition region \['eu'\] has no row in the "
            r"deposition table; its regions are \['CN', 'EU'\]",
        ),
    ],
)
def test_unknown_load_region_is_checked_before_the_work(
    key: str, match: str, toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # export_region = "cn" (the table has "CN") silently took the default coefficients;
    # deposition_region = "eu" silently gave no deposition
    import numpy as np
    import rasterio
    from affine import Affine

    from basingov import pipeline

    cfg = toy(  # type: ignore[operator]
        replace={'sources = ["jurisdiction_table"]': 'sources = ["landcover", "deposition"]'},
        append=f'landcover_raster = "lc.tif"\n{key}\n',
    )
    with rasterio.open(
        cfg.parent / "lc.tif", "w", driver="GTiff", width=40, height=20, count=1,
        dtype="uint8", crs="EPSG:4326", nodata=255,
        transform=Affine(0.05, 0.0, 6.5, 0.0, -0.05, 47.5),
    ) as dst:  # fmt: skip
        dst.write(np.full((1, 20, 40), 12, dtype="uint8"))
    monkeypatch.setattr(pipeline, "assemble_network", _not_reached)
    with pytest.raises(ConfigError, match=match):
        run(cfg)
    problems = [p for r in pipeline.validate(cfg) for p in r.problems]
    assert any(__import__("re").search(match, p) for p in problems), problems


def _not_reached(*a: object, **k: object) -> None:
    msg = "the work started"
    raise AssertionError(msg)


def test_monte_carlo_memory_is_checked_before_the_work(
    toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each run stores at least one value per unit of every level (and its "outside" unit):
    # runs that cannot fit even so stop the run before the network is built
    cfg = toy(append="\n[spillover]\nmonte_carlo_runs = 5000\n")  # type: ignore[operator]
    basin = load_basin(cfg)
    counts = basin.jurisdictions["level_name"].value_counts()
    least = int((counts + 1).sum())
    _preflight.preflight(basin)  # 5000 x least x 8 bytes: well under 2 GiB
    monkeypatch.setattr(_preflight, "MONTE_CARLO_MEMORY_BYTES", 5000 * least * 8 - 1)
    with pytest.raises(
        ConfigError,
        match=rf"monte_carlo_runs = 5000 would need at least 0\.0 GiB \({least} units over "
        r"the levels; .*at most 4,999 runs fit",
    ):
        _preflight.preflight(basin)
    monkeypatch.setattr(_preflight, "MONTE_CARLO_MEMORY_BYTES", 5000 * least * 8)
    _preflight.preflight(basin)  # exactly fits


def test_monte_carlo_memory_of_the_pairs_is_checked_before_the_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the exact need (runs x stored pairs) is known once the network is routed; runs that
    # do not fit stop before any run, with the most that fit
    from basingov.spillover import uncertainty

    uncertainty.check_samples_memory(200, 1000)  # 200 x 1000 x 8 bytes = 1.6 MB
    monkeypatch.setattr(uncertainty, "MC_MEMORY_BYTES", 200 * 1000 * 8 - 1)
    with pytest.raises(
        InputError,
        match=r"200 Monte Carlo runs would need about 0\.0 GiB \(1,000 origin-receptor pairs "
        r".*at most 199 runs fit .*lower \[spillover\]\.monte_carlo_runs",
    ):
        uncertainty.check_samples_memory(200, 1000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mass_kg": float("inf")}, r"mass_kg must be a finite number > 0, got inf"),
        ({"mass_kg": float("nan")}, r"mass_kg must be a finite number > 0, got nan"),
        ({"mass_kg": -1.0}, r"mass_kg must be a finite number > 0, got -1\.0"),
        ({"decay_per_day": float("inf")}, r"decay_per_day must be a finite number >= 0, got inf"),
        ({"dispersion_m2_s": -2.0}, r"dispersion_m2_s must be a finite number >= 0, got -2\.0"),
        ({"dispersion_m2_s": 1e-300}, r"dispersion_m2_s must be 0 \(plug flow"),
        ({"flow_m3s": 1e308}, r"at most 1,000,000 m3/s"),
        ({"flow_m3s": float("nan")}, r"must be a discharge > 0"),
        ({"tolerance_m": float("nan")}, r"tolerance_m must be a finite number >= 0, got nan"),
        (
            {"time": "9999-12-31T23:00"},
            r"release time 9999-12-31T23:00:00 is outside the years 1800-2200",
        ),
        ({"time": "0001-01-01"}, r"is outside the years 1800-2200"),
    ],
)
def test_spill_values(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"mass_kg": 100.0} | kwargs
    mass = args.pop("mass_kg")
    from basingov.errors import InputError

    with pytest.raises(InputError, match=match):
        warn("taihu", (119.924, 31.781), mass, **args)  # type: ignore[arg-type]


def test_sections_built_in_code_are_checked_too() -> None:
    from basingov.config import NetworkSection
    from basingov.network.builders import build_network

    sec = NetworkSection(key="d", builder="dem", options={"clip_to_outlet": "false"})
    with pytest.raises(ConfigError, match=r"\[networks\.d\]\.clip_to_outlet must be true or false"):
        build_network(sec, crs="EPSG:3035", outlet=(7.0, 47.0), hydraulics=None)
    # an outlet as text went through float() and was taken (a TOML file cannot give it)
    sec = NetworkSection(key="o", builder="dem", outlet=("7.5", "47"))  # type: ignore[arg-type]
    with pytest.raises(
        ConfigError,
        match=r"\[networks\.o\]\.outlet = \['7\.5', '47'\] is not a WGS84 point: give \[lon, "
        r"lat\] in degrees as numbers \(not text or bools\)",
    ):
        build_network(sec, crs="EPSG:3035", outlet=(7.0, 47.0), hydraulics=None)
    sec = NetworkSection(key="f", builder="lines_outlet", filter="@pd.io.common.os.system('x')")
    with pytest.raises(ConfigError, match=r"\[networks\.f\]\.filter .*'@' \(a Python variable\)"):
        build_network(sec, crs="EPSG:3035", outlet=(7.0, 47.0), hydraulics=None)
