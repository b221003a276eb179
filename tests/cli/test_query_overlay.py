"""CLI: ``basingov query crossings`` and ``basingov query jurisdiction`` on shipped basins."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

import basingov.cli
from basingov.cli import cli
from basingov.cli._common import VECTOR_SUFFIXES, check_suffix
from basingov.compensation import TRANSFER_COLUMNS
from basingov.errors import InputError, OutputError, OutputExistsError
from basingov.query import crossings as query_crossings
from basingov.query import find_jurisdiction
from basingov.rivers import RIVER_CHIEF_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::basingov.errors.BasingovWarning")


def invoke(*args: str):
    return CliRunner().invoke(cli, ["query", *args], catch_exceptions=True)


@pytest.mark.slow
def test_crossings_between_json():
    r = invoke("crossings", "rhine", "--level", "country", "--between", "DE", "NL")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows
    assert {(x["from_jur"], x["to_jur"]) for x in rows} <= {("DE", "NL"), ("NL", "DE")}
    assert {"lon", "lat", "upstream_area_km2", "discharge_m3s", "reach_id"} <= set(rows[0])


@pytest.mark.slow
def test_crossings_written_to_files(tmp_path):
    out = tmp_path / "c.csv"
    r = invoke("crossings", "tennessee", "--level", "state", "-o", str(out))
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, keep_default_na=False)
    assert {"from_jur", "to_jur", "level", "reach_id", "lon", "lat"} <= set(df.columns)
    assert (df["level_name"] == "state").all()
    r2 = invoke("crossings", "tennessee", "-o", str(out))
    assert r2.exit_code != 0
    assert isinstance(r2.exception, FileExistsError)
    assert invoke("crossings", "tennessee", "-o", str(out), "--overwrite").exit_code == 0
    gp = tmp_path / "c.gpkg"
    assert invoke("crossings", "tennessee", "--river", "tennessee", "-o", str(gp)).exit_code == 0
    assert "from_jur" in gpd.read_file(gp, layer="crossings").columns


def test_crossings_bad_suffix(tmp_path):
    r = invoke("crossings", "tennessee", "-o", str(tmp_path / "c.txt"))
    assert isinstance(r.exception, InputError)
    assert "use a .csv, .gpkg or .geojson" in str(r.exception)


@pytest.mark.parametrize(
    ("args", "suffixes"),
    [
        (["query", "river", "tennessee", "Tennessee"], VECTOR_SUFFIXES),
        (["query", "crossings", "tennessee"], VECTOR_SUFFIXES),
        (["query", "upstream", "tennessee", "--at", "-85.3,35.05"], VECTOR_SUFFIXES),
        (["query", "downstream", "tennessee", "--at", "-85.3,35.05"], VECTOR_SUFFIXES),
        (["spill", "tennessee", "--at", "-85.3,35.05", "--mass", "1"], (".csv", ".json")),
    ],
)
@pytest.mark.parametrize("name", ["c.txt", "c", "c.csv.bak"])
def test_output_suffixes_are_refused_alike(tmp_path, args, suffixes, name):
    # query river had its own copy of the -o suffix check; every command now refuses with
    # the shared check_suffix, in the same words, before loading anything
    out = tmp_path / name
    r = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert isinstance(r.exception, InputError)
    with pytest.raises(InputError) as shared:
        check_suffix(out, suffixes)
    assert str(r.exception) == str(shared.value)
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["query", "river", "BASIN", "Tennessee"],
        ["query", "crossings", "BASIN"],
        ["query", "upstream", "BASIN", "--at", "-85.3,35.05"],
        ["query", "downstream", "BASIN", "--at", "-85.3,35.05"],
        ["spill", "BASIN", "--at", "-85.3,35.05", "--mass", "1"],
    ],
)
def test_an_existing_output_is_refused_before_the_basin_is_loaded(tmp_path, edited_config, args):
    # query river and query crossings checked -o for an existing file only when writing,
    # after loading the basin and answering the query: with the network file missing they
    # failed on that file instead; now every command refuses the output first, as
    # query upstream/downstream and spill did
    cfg = edited_config(
        "tennessee", lambda t: t.replace("hydrography/tennessee.gpkg", "hydrography/missing.gpkg")
    )
    argv = [str(cfg) if a == "BASIN" else a for a in args]
    out = tmp_path / ("c.csv" if args[0] == "query" else "c.json")
    out.write_text("keep", encoding="utf-8")
    r = CliRunner().invoke(cli, [*argv, "-o", str(out)])
    assert isinstance(r.exception, OutputExistsError), r.output
    assert f"{out} already exists; pass overwrite=True (CLI: --overwrite)" in str(r.exception)
    assert out.read_text(encoding="utf-8") == "keep"
    # with --overwrite the command goes on to load the basin and finds the file missing
    r = CliRunner().invoke(cli, [*argv, "-o", str(out), "--overwrite"])
    assert isinstance(r.exception, InputError), r.output
    assert not isinstance(r.exception, OutputError)
    assert "missing.gpkg" in str(r.exception)
    assert out.read_text(encoding="utf-8") == "keep"


def test_the_cli_commands_keep_no_copy_of_the_suffix_check():
    # the message of check_suffix is built in one place (basingov.cli._common)
    folder = Path(basingov.cli.__file__).parent
    copies = [
        f.name
        for f in sorted(folder.glob("*.py"))
        if f.name != "_common.py" and "Cannot write {" in f.read_text(encoding="utf-8")
    ]
    assert copies == []


@pytest.mark.slow
def test_river_written_with_a_suffix_in_any_case(tmp_path):
    out = tmp_path / "r.GeoJSON"
    r = invoke("river", "tennessee", "Tennessee", "--level", "state", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert len(gpd.read_file(out)) == len(json.loads(r.stdout)) > 0


@pytest.mark.slow
@pytest.mark.slow
def test_crossings_on_a_named_river():
    # CCM2 carries no names; the Rhine config transfers them from Natural Earth lines,
    # which name the lower river "Rhine" (and the upper "Rhein"/"Rhin")
    r = invoke("crossings", "rhine", "--level", "country", "--river", "Rhine")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    # the CLI prints the library's list (tests/test_query.py checks it against the ICPR
    # course): source to mouth, from the Alpine Rhine (Liechtenstein) to Lobith
    assert rows[0]["from_jur"] == "LI"
    assert (rows[-1]["from_jur"], rows[-1]["to_jur"], rows[-1]["on_main_stem"]) == (
        "DE",
        "NL",
        True,
    )
    assert rows[-1]["lon"] == pytest.approx(6.07, abs=0.05)  # Lobith
    assert rows[-1]["lat"] == pytest.approx(51.86, abs=0.05)
    dist = [x["distance_to_outlet_km"] for x in rows]
    assert dist == sorted(dist, reverse=True)


@pytest.mark.slow
def test_crossings_river_needs_names(edited_config):
    cfg = edited_config(
        "thames", lambda t: "\n".join(ln for ln in t.splitlines() if not ln.startswith("names_"))
    )
    r = invoke("crossings", str(cfg), "--river", "Thames")
    assert isinstance(r.exception, InputError)
    assert "has no 'name' column" in str(r.exception)


@pytest.mark.slow
def test_jurisdiction_report():
    r = invoke("jurisdiction", "rhine", "Nederland", "--level", "country")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["jur_id"] == "NL"
    assert "DE" in {d["jur_id"] for d in rep["drains_from"]}
    assert {"CH", "DE"} <= set(rep["all_upstream"])
    assert rep["crossings"]
    assert rep["indicators"]["chain_depth"] > 0
    assert 0 < rep["share"] < 0.1


def test_find_jurisdiction_errors():
    j = pd.DataFrame(
        {
            "jur_id": ["DE1", "DE2"],
            "name": ["Baden", "Bayern"],
            "level": [1, 1],
            "level_name": ["nuts1", "nuts1"],
        }
    )
    assert find_jurisdiction(j, "bay")["jur_id"] == "DE2"
    with pytest.raises(InputError, match=r"'ba' matches 2 jurisdictions: \['DE1 \(Baden"):
        find_jurisdiction(j, "ba")
    with pytest.raises(InputError, match=r"no jurisdiction matches 'Hessen' at level 'nuts1'"):
        find_jurisdiction(j, "Hessen", level="nuts1")
    with pytest.raises(InputError, match=r"level 'nuts9' is not a jurisdiction level"):
        find_jurisdiction(j, "DE1", level="nuts9")


def test_find_jurisdiction_ignores_accents_last_and_suggests_close_names():
    j = pd.DataFrame(
        {
            "jur_id": ["CH04", "CH05", "DE1"],
            "name": ["Zürich", "Zug", "Zürichsee-Ufer"],
            "level": [2, 2, 2],
            "level_name": ["nuts2"] * 3,
        }
    )
    # an exact name wins over prefixes; accents are ignored only when nothing else matches
    assert find_jurisdiction(j, "zürich")["jur_id"] == "CH04"
    assert find_jurisdiction(j, "ZURICH")["jur_id"] == "CH04"
    assert find_jurisdiction(j, "zurichsee")["jur_id"] == "DE1"
    with pytest.raises(
        InputError, match=r"no jurisdiction matches 'Zurch' \(did you mean 'Zürich'"
    ):
        find_jurisdiction(j, "Zurch")
    with pytest.raises(InputError, match=r"no jurisdiction matches 'Bern'; pass a jur_id"):
        find_jurisdiction(j, "Bern")


def test_crossings_river_with_a_misspelt_name_suggests_the_name(shipped_overlay):
    ov = shipped_overlay("thames")
    with pytest.raises(InputError, match=r"no river matches 'Themes' \(did you mean 'THAMES'\?\)"):
        query_crossings(ov, river="Themes")


def test_jurisdiction_refuses_the_run_of_another_basin(tmp_path):
    # a Tennessee run's tables, read for a Thames region, gave it no payments and no River
    # Chief stretches, silently
    (tmp_path / "tables").mkdir()
    columns = {
        "transfers": TRANSFER_COLUMNS,
        "settlement": ["payer", "payee", "amount", "currency", "basis"],
        "river_chiefs": RIVER_CHIEF_COLUMNS,
    }
    for name, cols in columns.items():
        pd.DataFrame(columns=cols).to_csv(tmp_path / "tables" / f"{name}.csv", index=False)
    (tmp_path / "summary.json").write_text(json.dumps({"basin": "tennessee"}))
    r = invoke("jurisdiction", "thames", "UKJ", "--run", str(tmp_path))
    assert isinstance(r.exception, InputError), r.output
    assert str(r.exception) == (
        f"{tmp_path} is a run of basin 'tennessee', not 'thames'; pass the output folder of "
        "'basingov run thames' to --run"
    )
    (tmp_path / "summary.json").write_text(json.dumps({"basin": "thames"}))
    r = invoke("jurisdiction", "thames", "UKJ", "--run", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["jur_id"] == "UKJ"
