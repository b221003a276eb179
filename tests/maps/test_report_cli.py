"""The report, and the map/report/spill commands, on real runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from basingov.cli import cli
from basingov.errors import BasingovWarning, InputError, OutputExistsError
from basingov.report import report_content, write_report


def test_report_files_and_content(staged_run, tmp_path):
    page = write_report(staged_run, tmp_path / "rep")
    out = page.parent
    # what basingov wrote, and the manifest that lets --overwrite replace only that
    assert sorted(p.name for p in out.iterdir()) == [
        ".basingov-manifest.json",
        "figures",
        "map.html",
        "report.html",
        "report.md",
    ]
    html = page.read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "href='map.html'" in html
    assert "[map.html](map.html)" in md
    # four plots when monitoring and calibration are present, inlined in the HTML
    figs = sorted(p.name for p in (out / "figures").iterdir())
    assert figs == [
        "calibration.png",
        "dependency_chain.png",
        "section_classes.png",
        "spillover_heatmap.png",
    ]
    assert html.count("data:image/png;base64,") == 4
    for f in figs:
        assert f"figures/{f}" in md
    assert "Priority for joint prevention and compensation" in md
    assert "Compensation transfers" in md
    assert "上海市 (Shanghai Municipality)" in md


def test_report_tables_match_the_run(taihu_run):
    import pandas as pd

    facts, tables, figures = report_content(taihu_run)
    # the monitoring stage writes the Taihu sections' published classes; the Taihu data
    # have no measured loads, so there is no calibration plot
    sec = pd.read_csv(taihu_run / "tables" / "section_classes.csv")
    assert len(sec)
    assert not (taihu_run / "tables" / "calibration_stations.csv").exists()
    assert [f.name for f in figures] == [
        "dependency_chain",
        "spillover_heatmap",
        "section_classes",
    ]
    prov = next(t for t in tables if t.title == "Jurisdictions (province)").data
    ind = pd.read_csv(taihu_run / "tables" / "spillover_indicators.csv", dtype={"jur_id": str})
    ind = ind[ind["level_name"] == "province"]
    # the table lists the mapped provinces; the spillover table also has a row (no jur_id)
    # for the part of the HydroRIVERS basin outside the boundary data, which is no
    # jurisdiction
    mapped = ind[ind["jur_id"].notna()]
    assert len(mapped) == len(prov) == 4
    col = "imported kg/day (counted once)"
    assert sorted(prov[col]) == pytest.approx(sorted(mapped["imported_first"]))
    assert prov[col].sum() == pytest.approx(mapped["imported_first"].sum())
    assert facts["generated_load_kg_day"] == pytest.approx(
        pd.read_csv(taihu_run / "tables" / "loads.csv")["load_kg_day"].sum()
    )


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("dependency", "jur_id"),
        ("spillover_indicators", "generated"),
        ("spillover_indicators", "net_balance_first"),  # imported_first left: a damaged table
        ("crossing_flux", "load_kg_day"),
        ("spillover_matrix", "origin"),
    ],
)
def test_a_run_table_without_a_column_read_names_file_and_column(
    taihu_run, tmp_path, table, column
):
    import shutil

    import pandas as pd

    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    path = run / "tables" / f"{table}.csv"
    pd.read_csv(path, dtype=str).drop(columns=column).to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"{table}\.csv lacks column\(s\) \['{column}'\]"):
        report_content(run)


def test_report_refuses_to_overwrite(taihu_run, tmp_path):
    (tmp_path / "rep").mkdir()
    with pytest.raises(OutputExistsError, match="already exists"):
        write_report(taihu_run, tmp_path / "rep")


def test_cli_map_and_report(taihu_run, tmp_path):
    out = tmp_path / "m.html"
    res = CliRunner().invoke(cli, ["map", str(taihu_run), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 100_000
    again = CliRunner().invoke(cli, ["map", str(taihu_run), "-o", str(out)])
    assert again.exit_code != 0
    assert "--overwrite" in again.output or isinstance(again.exception, OutputExistsError)
    res = CliRunner().invoke(cli, ["map", str(taihu_run), "-o", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    rep = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["report", str(taihu_run), "-o", str(rep)])
    assert res.exit_code == 0, res.output
    assert (rep / "report.html").is_file()


def test_cli_map_folder_with_index(taihu_run, staged_run, tmp_path):
    folder = tmp_path / "maps"
    res = CliRunner().invoke(cli, ["map", str(taihu_run), "-o", str(folder)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in folder.iterdir()) == ["index.html", "taihu.html"]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "href='taihu.html'" in index
    # two runs of the same basin cannot share one folder
    res = CliRunner().invoke(
        cli, ["map", str(taihu_run), str(staged_run), "-o", str(tmp_path / "x")]
    )
    assert res.exit_code != 0


def test_map_folder_index_of_a_run_without_a_basin_area(taihu_run, tmp_path):
    import shutil

    from basingov.maps import write_map_folder

    # an area given as text is refused by read_run (test_maps_build.py,
    # test_summary_value_of_the_wrong_type_is_named)
    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary["key_indicators"]["basin_area_km2"] = None
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    index = write_map_folder([run], tmp_path / "maps")
    assert "<td>nan</td>" in index.read_text(encoding="utf-8")  # as without the key
    assert (tmp_path / "maps" / "taihu.html").is_file()


def test_map_folder_that_fails_on_a_later_run_writes_nothing(taihu_run, tmp_path):
    import shutil

    from basingov.maps import write_map_folder

    # the first run's own map is copied; the second, another basin whose map is built,
    # has a damaged table: its map fails after the first one was made (that map used to
    # be left in the folder, without an index)
    good, bad = tmp_path / "good", tmp_path / "bad"
    shutil.copytree(taihu_run, good)
    shutil.copytree(taihu_run, bad)
    summary = json.loads((bad / "summary.json").read_text(encoding="utf-8"))
    summary["basin"] = "lake"
    (bad / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (bad / "taihu.gpkg").rename(bad / "lake.gpkg")
    (bad / "map.html").unlink()
    (bad / "tables" / "dependency.csv").write_text("", encoding="utf-8")
    for folder, overwrite in ((tmp_path / "new" / "maps", False), (tmp_path / "old", True)):
        if overwrite:  # an earlier index is kept as it was
            folder.mkdir()
            (folder / "index.html").write_text("earlier", encoding="utf-8")
        with pytest.raises(InputError, match=r"dependency\.csv cannot be read as a table"):
            write_map_folder([good, bad], folder, overwrite=overwrite)
        if overwrite:
            assert [p.name for p in folder.iterdir()] == ["index.html"]  # no temporary file
            assert (folder / "index.html").read_text(encoding="utf-8") == "earlier"
        else:  # the folders it made for the maps are gone too
            assert not (tmp_path / "new").exists()


def test_cli_map_runs_a_basin_name_first(tmp_path):
    out = tmp_path / "taihu.html"
    # the run warns that most Taihu stations (published without coordinates) are left
    # unsnapped (tested with the monitoring stage); here only the map matters
    with pytest.warns(BasingovWarning, match=r"station\(s\) left unsnapped"):
        res = CliRunner().invoke(cli, ["map", "taihu", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "running taihu first" in res.output
    assert out.is_file()


def test_cli_spill_map(tmp_path):
    out = tmp_path / "spill.html"
    args = ["spill", "taihu", "--at", "120.12,31.69", "--mass", "500", "--map", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    notes = json.loads(res.stdout)["notifications"]
    assert notes
    assert "Who must be warned, in order" in page
    assert "<script src=" not in page
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0


def test_imports_are_counted_once_and_the_gross_figure_is_explained(shipped_run):
    """Imports in the report and the map count each load once, where it first enters.

    The spillover matrix counts a load at every crossing into a receptor. The Rhine enters
    the Rhein-Sieg-Kreis twice, above and below Bonn, so counted the district imports
    837,341 kg/day, more than the 568,311 the basin generates; counted once it is 419,279
    kg/day, about the Rhine's load there, and the report says so. (On the Thames,
    Richmond upon Thames imported 80,833 kg/day so counted while the DEM-traced Thames
    zig-zagged across its border with Elmbridge; since that is one boundary stretch no
    Thames district imports more than the basin generates.)
    """
    import pandas as pd

    from basingov.maps._text import jurisdiction_popup

    th = pd.read_csv(shipped_run("thames").out / "tables" / "spillover_indicators.csv")
    assert th["imported"].max() < th[th["level_name"] == "lad"]["generated"].sum()
    out = shipped_run("rhine").out
    ind = pd.read_csv(out / "tables" / "spillover_indicators.csv", dtype={"jur_id": str})
    rs = ind[ind["jur_id"] == "DEA2C"].iloc[0]  # Rhein-Sieg-Kreis
    basin = ind[ind["level_name"] == "nuts3"]["generated"].sum()
    assert rs["imported"] > basin > rs["imported_first"]
    assert ind["imported_first"].le(ind["imported"] + 1e-6).all()
    facts, tables, _ = report_content(out)
    n3 = next(t for t in tables if t.title == "Jurisdictions (nuts3)")
    row = n3.data[n3.data["jurisdiction"] == "Rhein-Sieg-Kreis"].iloc[0]
    assert row["imported kg/day (counted once)"] == pytest.approx(rs["imported_first"])
    assert row["net balance kg/day (counted once)"] == pytest.approx(rs["net_balance_first"])
    assert n3.data["imported kg/day (counted once)"].max() < facts["generated_load_kg_day"]
    assert "count each load once, where it first enters or leaves" in n3.note
    assert "would import more than the whole basin generates" in n3.note
    assert "Rhein-Sieg-Kreis: 837,341 kg/day" in n3.note
    row = {"label": "E", "generated_kg_day": 1.0, "imported_kg_day": 3.0,
           "imported_gross_kg_day": 9.0, "imported_share": 0.75}  # fmt: skip
    text = jurisdiction_popup(row, unit="TN", names={})
    assert "each load counted once (9 counting every crossing in" in text
    old = {k: v for k, v in row.items() if k != "imported_gross_kg_day"}
    assert "counted at every crossing in" in jurisdiction_popup(old, unit="TN", names={})


@pytest.mark.parametrize("command", ["map", "report"])
def test_a_source_that_is_no_run_says_what_it_is_not(tmp_path, command):
    # a folder without a finished run, and a path that does not exist: what to pass instead
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    res = CliRunner().invoke(cli, [command, str(folder), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert isinstance(res.exception, InputError)
    assert "is a folder but not a finished run folder (it has no summary.json)" in str(
        res.exception
    )
    missing = tmp_path / "nothere"
    res = CliRunner().invoke(cli, [command, str(missing), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert f"{missing} does not exist; pass a run folder" in str(res.exception)
    assert not (tmp_path / "out").exists()


def test_a_config_path_that_does_not_exist_is_not_called_a_basin_name(tmp_path):
    res = CliRunner().invoke(cli, ["run", "./nothere", "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "stage" not in res.output  # it fails before the progress bar starts
    assert "'./nothere' is neither an existing basin config (.toml) nor a shipped basin" in str(
        res.exception
    )
