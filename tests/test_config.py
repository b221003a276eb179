"""Tests for basingov.config: strict keys, relative paths, collected errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from basingov.config import BUILDERS, load_config
from basingov.datasets import available, get_path
from basingov.errors import ConfigError, InputError

MINIMAL = """
[basin]
name = "toy"
title = "Toy"
crs = "EPSG:3035"
outlet = [4.0, 52.0]
network = "main"

[boundaries]
path = "bounds.gpkg"
levels = ["country", "region"]

[networks.main]
builder = "next_down"
path = "sub/rivers.gpkg"
layer = "reaches"
id_column = "HYRIV_ID"
next_down_column = "NEXT_DOWN"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "toy.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_config_resolves_paths_relative_to_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.basin.outlet == (4.0, 52.0)
    assert cfg.boundaries.path == (tmp_path / "bounds.gpkg").resolve()
    assert cfg.network.path == (tmp_path / "sub" / "rivers.gpkg").resolve()
    assert cfg.network.options == {"next_down_column": "NEXT_DOWN"}
    assert cfg.boundaries.levels == ("country", "region")


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    text = MINIMAL.replace('title = "Toy"', 'title = "Toy"\ncolour = "blue"')
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) \['colour'\] in \[basin\]; allowed keys are \[.*'crs'"
    ):
        load_config(write(tmp_path, text))


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['extras'\] in the top level"):
        load_config(write(tmp_path, MINIMAL + "\n[extras]\na = 1\n"))


def test_builder_specific_keys_are_checked(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'next_down_column = "NEXT_DOWN"', 'next_down_column = "N"\nthreshold_km2 = 5'
    )
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) \['threshold_km2'\] in \[networks.main\]"
    ):
        load_config(write(tmp_path, text))


def test_bad_builder_names_the_allowed_set(tmp_path: Path) -> None:
    text = MINIMAL.replace('builder = "next_down"', 'builder = "magic"')
    with pytest.raises(
        ConfigError,
        match=r"builder must be one of \['next_down', 'from_to_nodes', 'lines_outlet', "
        r"'dem'\], got 'magic'",
    ):
        load_config(write(tmp_path, text))
    assert BUILDERS == ("next_down", "from_to_nodes", "lines_outlet", "dem")


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("outlet = [4.0, 52.0]", 'outlet = "here"').replace(
        'network = "main"', 'network = "other"'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    msg = str(info.value)
    assert "[basin].outlet must be [lon, lat], got 'here'" in msg
    assert "[basin].network = 'other' names no network; defined networks are ['main']" in msg


def test_missing_sections_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing required section \[boundaries\]"):
        load_config(
            write(tmp_path, '[basin]\nname="x"\n[networks.a]\nbuilder="dem"\nd8_path="d.tif"\n')
        )
    with pytest.raises(ConfigError, match=r"does not exist; pass a .toml file"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"toy.toml is not valid TOML"):
        load_config(write(tmp_path, "[basin\nname="))


def test_unreadable_config_path_names_it(tmp_path: Path) -> None:
    from basingov.datasets import resolve_config

    long = tmp_path / ("x" * 300 + ".toml")  # longer than a file name may be: was a raw OSError
    with pytest.raises(ConfigError, match=r"Basin config .*xxx\.toml cannot be read \(File name"):
        load_config(long)
    with pytest.raises(ConfigError, match=r"Basin config .*xxx cannot be read"):
        resolve_config(str(tmp_path / ("x" * 300)))


def test_dem_builder_needs_a_raster(tmp_path: Path) -> None:
    text = MINIMAL + '\n[networks.dem]\nbuilder = "dem"\nthreshold_km2 = 10.0\n'
    with pytest.raises(ConfigError, match=r"the 'dem' builder needs 'd8_path' or 'elevation_path'"):
        load_config(write(tmp_path, text))


def test_config_error_is_an_input_error() -> None:
    assert issubclass(ConfigError, InputError)
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize("name", ["rhine", "taihu", "tennessee", "thames"])
def test_shipped_configs_load_and_point_at_existing_files(name: str) -> None:
    assert name in available()
    cfg = load_config(get_path(name))
    assert cfg.basin.name == name
    missing = [str(p) for p in cfg.input_paths() if not p.exists()]
    assert missing == []


def test_value_types_are_checked(tmp_path: Path) -> None:
    text = MINIMAL + '\n[monitoring]\nsnap_tolerance_m = "2 km"\n\n[spillover]\nseed = true\n'
    text = text.replace('title = "Toy"', "title = 3")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    msg = str(info.value)
    assert "[basin].title must be a string, got 3" in msg
    assert "[monitoring].snap_tolerance_m must be a number, got '2 km'" in msg
    assert "[spillover].seed must be an integer, got True" in msg
    text = MINIMAL.replace('levels = ["country", "region"]', "levels = [0, 1]")
    with pytest.raises(ConfigError, match=r"\[boundaries\].levels must be an array of strings"):
        load_config(write(tmp_path, text))


def test_tilde_path_without_a_home_folder_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI containers can run as a user with no HOME and no password-database entry; there
    # Path.expanduser raises RuntimeError, which must become a ConfigError naming the key
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    text = MINIMAL.replace('path = "bounds.gpkg"', 'path = "~/bounds.gpkg"')
    with pytest.raises(ConfigError, match=r"\[boundaries\].*'~/bounds.gpkg'.*HOME is not set"):
        load_config(write(tmp_path, text))


def test_transferred_multipliers_need_a_source_and_an_uncalibrated_basin(tmp_path: Path) -> None:
    base = MINIMAL + '\n[calibration]\nenabled = false\nreason = "no data"\n'
    ok = base + 'transfer_multipliers = { diffuse_agriculture = 3.0 }\ntransfer_source = "X"\n'
    assert load_config(write(tmp_path, ok)).calibration.transfer_multipliers == {
        "diffuse_agriculture": 3.0
    }
    with pytest.raises(ConfigError, match=r"transfer_multipliers need transfer_source"):
        load_config(write(tmp_path, base + "transfer_multipliers = { a = 2.0 }\n"))
    with pytest.raises(ConfigError, match=r"transfer_multipliers must be > 0"):
        load_config(write(tmp_path, ok.replace("3.0", "0.0")))
    on = MINIMAL + '\n[calibration]\ntransfer_multipliers = { a = 2.0 }\ntransfer_source = "X"\n'
    with pytest.raises(ConfigError, match=r"apply to a basin that is not calibrated"):
        load_config(write(tmp_path, on))
