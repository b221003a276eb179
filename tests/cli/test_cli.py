"""CLI tests with click's CliRunner: datasets, validate, run safety, one-paragraph errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Polygon, box

from basingov import __version__
from basingov.cli import cli, main
from basingov.errors import BasingovWarning
from basingov.io import write_gpkg
from tests.runs import assert_same_run


def make_basin(tmp_path: Path, *, jur_crs: str | None = "EPSG:4326") -> Path:
    """Write a tiny two-country basin (boundaries + lines) and its config; return the config."""
    basin = gpd.GeoDataFrame(
        {"name": ["toy"], "source": ["built in code"], "derived": [0], "area_km2": [1.0]},
        geometry=[box(7.0, 47.0, 7.2, 47.1)],
        crs="EPSG:4326",
    )
    jur = gpd.GeoDataFrame(
        {
            "jur_id": ["A", "B"],
            "name": ["Upland", "Lowland"],
            "level": [0, 0],
            "level_name": ["country", "country"],
            "parent_id": ["", ""],
        },
        geometry=[box(7.0, 47.0, 7.1, 47.1), box(7.1, 47.0, 7.2, 47.1)],
        crs=jur_crs,
    )
    rivers = gpd.GeoDataFrame(
        {"rid": [1, 2]},
        geometry=[
            LineString([(7.01, 47.05), (7.09, 47.05)]),
            LineString([(7.09, 47.05), (7.19, 47.05)]),
        ],
        crs="EPSG:4326",
    )
    write_gpkg({"basin": basin, "jurisdictions": jur}, tmp_path / "bounds.gpkg")
    write_gpkg({"rivers": rivers}, tmp_path / "rivers.gpkg")
    cfg = tmp_path / "toy.toml"
    cfg.write_text(
        """
[basin]
name = "toy"
title = "Toy"
crs = "EPSG:3035"
outlet = [7.19, 47.05]
network = "lines"

[boundaries]
path = "bounds.gpkg"
levels = ["country"]

[networks.lines]
builder = "lines_outlet"
path = "rivers.gpkg"
layer = "rivers"
id_column = "rid"
tolerance_m = 10.0
"""
    )
    return cfg


def test_version_and_help() -> None:
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0
    assert __version__ in r.output
    r = CliRunner().invoke(cli, ["--help"])
    for cmd in ("datasets", "validate", "run", "query"):
        assert cmd in r.output
    # every exit status the command gives (docs/errors.md), SIGHUP's 129 too
    text = " ".join(r.output.split())
    for code in ("0 success", "1 error", "2 usage error", "129 hung up", "130 interrupted",
                 "143 terminated"):  # fmt: skip
        assert code in text, code


def test_datasets_list_and_path() -> None:
    r = CliRunner().invoke(cli, ["datasets", "list", "--json"])
    assert r.exit_code == 0, r.output
    names = [row["name"] for row in json.loads(r.stdout)]
    assert names == ["rhine", "taihu", "tennessee", "thames"]
    r = CliRunner().invoke(cli, ["datasets", "path", "rhine"])
    assert r.stdout.strip().endswith("rhine.toml")
    r = CliRunner().invoke(cli, ["datasets", "path", "danube"])
    assert r.exit_code != 0
    assert "No shipped basin named 'danube'; available basins are" in str(r.exception)


def test_validate_clean_basin(tmp_path: Path) -> None:
    cfg = make_basin(tmp_path)
    r = CliRunner().invoke(cli, ["validate", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    reports = json.loads(r.stdout)
    assert [x["what"] for x in reports] == [
        "jurisdictions",
        "basin",
        "network lines (lines_outlet)",
    ]
    assert all(x["problems"] == [] for x in reports)
    assert reports[0]["count"] == 2
    assert "3 input(s) checked, no problems" in r.stderr


def test_validate_reports_corrupted_layers(tmp_path: Path) -> None:
    cfg = make_basin(tmp_path)
    jur = gpd.read_file(tmp_path / "bounds.gpkg", layer="jurisdictions")
    bowtie = Polygon([(7.0, 47.0), (7.1, 47.1), (7.1, 47.0), (7.0, 47.1)])
    jur.loc[1, "geometry"] = bowtie
    jur = jur.rename(columns={"level_name": "lvl"})
    basin = gpd.read_file(tmp_path / "bounds.gpkg", layer="basin")
    write_gpkg({"basin": basin, "jurisdictions": jur}, tmp_path / "bounds.gpkg", overwrite=True)
    r = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert r.exit_code == 1
    assert "missing column(s) ['level_name']" in r.stderr
    assert "1 invalid geometry at jur_id ['B']; repair with shapely.make_valid" in r.stderr
    assert "with problems" in r.stderr


def test_unknown_config_key_is_one_paragraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_basin(tmp_path)
    cfg.write_text(cfg.read_text().replace('title = "Toy"', 'title = "Toy"\ntitel = "typo"'))
    monkeypatch.setattr("sys.argv", ["basingov", "validate", str(cfg)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Invalid basin config")
    assert "unknown key(s) ['titel'] in [basin]; allowed keys are" in err
    assert "Traceback" not in err


def test_missing_crs_layer_is_reported(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        cfg = make_basin(tmp_path, jur_crs=None)
    r = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert r.exit_code == 1
    assert "has no CRS. Add a .prj / set it with gdf.set_crs('EPSG:4326')" in r.stderr


def test_run_refuses_to_overwrite(tmp_path: Path) -> None:
    cfg = make_basin(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    r = CliRunner().invoke(cli, ["run", str(cfg), "-o", str(out)])
    assert r.exit_code != 0
    assert "already exists; pass overwrite=True (CLI: --overwrite)" in str(r.exception)
    assert (out / "precious.txt").read_text() == "keep"


@pytest.mark.slow
def test_run_writes_the_output_contract(tmp_path: Path) -> None:
    out = tmp_path / "taihu"
    # the Taihu Basin Authority sections without coordinates stay unsnapped (warned)
    with pytest.warns(BasingovWarning, match="left unsnapped"):
        r = CliRunner().invoke(cli, ["-q", "run", "taihu", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert {p.name for p in (out / "tables").glob("*.csv")} >= {
        "unit_shares.csv", "crossings.csv", "dependency.csv", "spillover_matrix.csv",
    }  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["basin"] == "taihu"
    # --json prints the summary on stdout: the same counts as summary.json
    printed = json.loads(r.stdout)
    assert printed["counts"] == summary["counts"]
    # a second run without --overwrite is refused, with --overwrite it replaces the folder
    r = CliRunner().invoke(cli, ["-q", "run", "taihu", "-o", str(out)])
    assert r.exit_code != 0
    with pytest.warns(BasingovWarning, match="left unsnapped"):
        r = CliRunner().invoke(cli, ["-q", "run", "taihu", "-o", str(out), "--overwrite"])
    assert r.exit_code == 0, r.output


@pytest.mark.slow
def test_run_all_runs_the_four_basins(tmp_path: Path, shipped_run) -> None:
    # as a user runs it: the default dask LocalCluster (run_many(..., scheduler="local")),
    # one task per basin
    r = CliRunner().invoke(cli, ["-q", "run", "all", "-o", str(tmp_path)])
    assert r.exit_code == 0, r.output
    # one line per basin summary that run_many returned, in the order of the basins
    lines = [ln for ln in r.stderr.splitlines() if " reaches, " in ln]
    assert [ln.split(":")[0] for ln in lines] == ["rhine", "taihu", "tennessee", "thames"]
    for basin in ("rhine", "taihu", "tennessee", "thames"):
        summary = json.loads((tmp_path / basin / "summary.json").read_text())
        assert summary["basin"] == basin
        assert (tmp_path / basin / "tables" / "spillover_matrix.csv").stat().st_size > 0
        # the cluster writes the outputs of a single-process run: tables byte for byte,
        # the same layers, and the same map (built on a worker while the tables are written)
        assert_same_run(shipped_run(basin).out, tmp_path / basin)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_forked_from_the_command_leaves_its_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a LocalCluster's workers are forked from the command (scale.start_method): with -v
    # they printed every basin's stage messages, interleaved and unlabelled, on the terminal
    import logging

    monkeypatch.setattr(logging.getLogger("basingov"), "handlers", [])
    monkeypatch.setattr(logging.getLogger(), "handlers", list(logging.getLogger().handlers))
    assert CliRunner().invoke(cli, ["-v", "datasets", "list"]).exit_code == 0

    def cli_handlers() -> int:
        return sum(
            getattr(h, "_basingov_cli", False)
            for name in ("basingov", None)
            for h in logging.getLogger(name).handlers
        )

    assert cli_handlers() == 2  # the command's own: basingov's and other libraries'
    pid = os.fork()
    if pid == 0:  # the child reports through its exit status only
        os._exit(cli_handlers())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cli_handlers() == 2  # the command keeps them
