"""Network filters are parsed, never evaluated: known pandas query/eval escapes are refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from basingov._filters import apply_filter, filter_columns, parse_filter
from basingov.cli import cli
from basingov.config import load_config
from basingov.datasets import get_path
from basingov.errors import ConfigError
from basingov.io import read_vector
from basingov.pipeline import run

# Each payload, handed to DataFrame.query / pandas.eval, would run code or reach Python
# objects; MARK is replaced by a file path that must never be created.
ESCAPES = [
    "@pd.io.common.os.system('touch MARK')",
    "in_basin_share > 0 and @pd.io.common.os.system('touch MARK')",
    "__import__('os').system('touch MARK')",
    "`NAME`.__class__.__mro__[1].__subclasses__()",
    "NAME.str.len() > 1",
    "in_basin_share.apply(print) == 1",
    "open('MARK', 'w') == 1",
    "(lambda: __import__('os').system('touch MARK'))() == 0",
    "[c for c in ().__class__.__bases__] == 1",
    "NAME == 'x'; import os",
    "NAME == 'x' | rid.pipe(print)",
    "rid @ rid == 1",
    "rid + 1 > 2",
    "rid[0] == 1",
    "rid = 1",
    "NAME == 'Toy' and rid.__class__ == 1",
    'NAME == "Toy" or __builtins__["eval"]("1")',
    "not",
    "",
    "   ",
]


def _mark(payload: str, tmp_path: Path) -> tuple[str, Path]:
    mark = tmp_path / "PWNED"
    return payload.replace("MARK", str(mark)), mark


@pytest.mark.parametrize("payload", ESCAPES)
def test_escapes_are_config_errors_and_run_nothing(payload: str, tmp_path: Path) -> None:
    text, mark = _mark(payload, tmp_path)
    df = pd.DataFrame({"NAME": ["Toy"], "rid": [1], "in_basin_share": [1.0]})
    with pytest.raises(ConfigError, match=r"filter .*(not allowed|expected|empty|lacks|not a)"):
        apply_filter(df, text)
    assert not mark.exists()


@pytest.mark.parametrize("payload", ESCAPES[:10])
def test_escapes_in_a_config_fail_at_load_run_and_validate(
    payload: str, tmp_path: Path, toy: object
) -> None:
    text, mark = _mark(payload, tmp_path)
    toml_text = text.replace("\\", "\\\\").replace('"', '\\"')
    cfg = toy(replace={"tolerance_m = 10.0": f'tolerance_m = 10.0\nfilter = "{toml_text}"'})  # type: ignore[operator]
    with pytest.raises(ConfigError, match=r"\[networks\.lines\]\.filter .* at character \d+"):
        load_config(cfg)
    with pytest.raises(ConfigError, match=r"\[networks\.lines\]\.filter"):
        run(cfg)
    r = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert r.exit_code != 0
    assert not mark.exists()


def test_unknown_column_is_caught_at_run_with_the_columns(toy: object) -> None:
    cfg = toy(replace={"tolerance_m = 10.0": 'tolerance_m = 10.0\nfilter = "__class__ == 1"'})  # type: ignore[operator]
    load_config(cfg)  # syntax is fine: a plain name
    with pytest.raises(
        ConfigError, match=r"names column\(s\) \['__class__'\] that the layer lacks"
    ):
        run(cfg)


@pytest.mark.parametrize(("basin", "key"), [("taihu", "nfgis"), ("tennessee", "ne")])
def test_shipped_filters_select_what_pandas_query_selects(basin: str, key: str) -> None:
    # the shipped filter texts are ours (trusted), so pandas.eval is a fair reference here
    net = load_config(get_path(basin)).networks[key]
    assert net.filter is not None
    gdf = read_vector(net.path, layer=net.layer)  # type: ignore[arg-type]
    ours = apply_filter(gdf, net.filter)
    ref = gdf.eval(net.filter).to_numpy(dtype=bool)
    assert ours.tolist() == ref.tolist()
    assert 0 < ours.sum() < len(gdf)


def test_shipped_station_filter_keeps_the_stations_of_the_pandas_expression() -> None:
    # Tennessee's [calibration] station_filter was a pandas expression with method calls;
    # number() gives the same stations on the shipped station table
    cfg = load_config(get_path("tennessee"))
    st = pd.read_csv(cfg.monitoring.stations, dtype={"station_id": str})
    old = "survey == 'NRSA' and strahler_order.str.extract('([0-9]+)', expand=False).astype('float') >= 5"  # noqa: E501
    ref = st.query(old, engine="python")["station_id"].tolist()  # our own trusted text
    ours = st[apply_filter(st, cfg.calibration.station_filter)]["station_id"].tolist()
    assert ours == ref
    assert len(ours) > 0


def test_grammar() -> None:
    df = pd.DataFrame(
        {
            "a": [1, 2, 3, None],
            "s": ["x", "y", "it's", None],
            "f": [True, False, True, False],
            "名称": ["甲", "乙", "丙", "丁"],
        }
    )

    def sel(expr: str) -> list[bool]:
        return apply_filter(df, expr).tolist()

    assert sel("a >= 2") == [False, True, True, False]
    assert sel("a != 2") == [True, False, True, True]  # missing values differ, as in pandas
    assert sel("not (a < 2 or a > 2)") == [False, True, False, True]
    assert sel("s in ['x', \"it's\"]") == [True, False, True, False]
    assert sel("s == 'it\\'s'") == [False, False, True, False]
    assert sel("s not in ['x']") == [False, True, True, True]
    assert sel("f == true and a > -1.5e0") == [True, False, True, False]
    assert sel("2 < a") == [False, False, True, False]
    assert sel("名称 == '乙'") == [False, True, False, False]
    assert sel("a == a") == [True, True, True, False]
    assert filter_columns(parse_filter("a == 1 or (s in ['x'] and not f == false)")) == [
        "a",
        "s",
        "f",
    ]
    with pytest.raises(ConfigError, match=r"cannot compare column 's' .* < int 1"):
        apply_filter(df, "s < 1")
    with pytest.raises(ConfigError, match=r"chained comparisons are not allowed"):
        parse_filter("1 < a < 3")
    with pytest.raises(ConfigError, match=r"indexing is not allowed at character 5"):
        parse_filter("name[0] == 'T'")
    with pytest.raises(ConfigError, match=r"function calls are not allowed \(except number"):
        parse_filter("len(name) == 1")
    with pytest.raises(ConfigError, match=r"needs at least one column name"):
        parse_filter("1 == 1")
    with pytest.raises(ConfigError, match=r"unterminated quoted text"):
        parse_filter("s == 'x")
    with pytest.raises(ConfigError, match=r"nesting deeper than 100"):
        parse_filter("(" * 200 + "a == 1" + ")" * 200)
    long = " or ".join(["a == 1"] * 900)  # 900 terms: no recursion limit is hit
    assert sum(apply_filter(df, long)) == 1
    with pytest.raises(ConfigError, match=r"at most 10000 are accepted"):
        parse_filter("a == 1 or " * 2000 + "a == 1")
    with pytest.raises(ConfigError, match=r"must be text, got int"):
        parse_filter(3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'1e999' is not a finite number"):
        parse_filter("a < 1e999")


# --- every expression key of a config goes through the same parser -------------------------
@pytest.mark.parametrize(
    ("section", "key"), [("calibration", "station_filter"), ("monitoring", "lake_stations")]
)
@pytest.mark.parametrize("payload", ESCAPES[:4])
def test_other_expression_keys_are_parsed_not_run(
    section: str, key: str, payload: str, tmp_path: Path, toy: object
) -> None:
    text, mark = _mark(payload, tmp_path)
    toml_text = text.replace("\\", "\\\\").replace('"', '\\"')
    cfg = toy(append=f'\n[{section}]\n{key} = "{toml_text}"\n')  # type: ignore[operator]
    with pytest.raises(ConfigError, match=rf"\[{section}\]\.{key} .* at character \d+"):
        load_config(cfg)
    assert not mark.exists()


def test_station_filter_and_lake_stations_in_the_library(tmp_path: Path) -> None:
    from basingov.loads.calibration import station_load_table
    from basingov.monitoring.assess import _water_bodies

    st = pd.DataFrame(
        {"station_id": ["a", "b"], "lon": [0.0, 1.0], "lat": [0.0, 1.0],
         "survey": ["NRSA", "NLA"], "strahler_order": ["5th", "2.0"]}
    )  # fmt: skip
    ob = pd.DataFrame(
        {"station_id": ["a"], "time": ["2020-01-01"], "parameter": ["TN"], "value": [1.0]}
    )
    mark = tmp_path / "PWNED"
    with pytest.raises(ConfigError, match=r"\[calibration\]\.station_filter"):
        station_load_table(
            None,
            st,
            ob,
            parameter="TN",
            flow="network",
            station_filter=f"@pd.io.common.os.system('touch {mark}')",
        )
    with pytest.raises(ConfigError, match=r"\[monitoring\]\.lake_stations"):
        _water_bodies(st, f"__import__('os').system('touch {mark}') == 0")
    assert not mark.exists()
    assert _water_bodies(st, "survey == 'NLA'") == {"b": "lake"}
    assert apply_filter(st, "survey == 'NRSA' and number(strahler_order) >= 5").tolist() == [
        True,
        False,
    ]


def test_no_code_path_evaluates_text() -> None:
    # pandas query/eval, eval and exec run code: none may appear in the package again
    import re

    root = Path(__file__).resolve().parents[2] / "src" / "basingov"
    pattern = re.compile(
        r"(?<![\w.])(eval|exec)\(|\.eval\(|pd\.eval|\.query\(\s*[^)]*engine|\bquery\(\s*(expr|text|station_filter|f[\"'])"
    )
    hits = []
    for p in root.rglob("*.py"):
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if ">>>" in line:
                continue
            if pattern.search(code) or re.search(
                r"\b(df|gdf|st|stations|t|table|frame)\.query\(", code
            ):
                hits.append(f"{p.relative_to(root)}:{i}: {line.strip()}")
    assert hits == []
