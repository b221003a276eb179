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


@pytest.mark.parametrize(
    ("basin", "layer"), [("taihu", "nfgis_rivers"), ("tennessee", "ne_rivers")]
)
def test_shipped_filters_select_what_pandas_query_selects(basin: str, layer: str) -> None:
    # the shipped filter texts are ours (trusted), so pandas.query is a fair reference here;
    # the filtered network of each basin is the one reading that layer (Taihu: the Grand
    # Canal network 'nfgis', kept beside the HydroRIVERS main network)
    cfg = load_config(get_path(basin))
    net = next(n for n in cfg.networks.values() if n.layer == layer)
    assert net.filter is not None
    gdf = read_vector(net.path, layer=layer)  # type: ignore[arg-type]
    ours = apply_filter(gdf, net.filter)
    ref = gdf.eval(net.filter).to_numpy(dtype=bool)
    assert ours.tolist() == ref.tolist()
    assert 0 < ours.sum() < len(gdf)


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
