"""The README's Python example runs as written (it once snapped 2,005 m from any river)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_the_readme_python_example_runs(
    shipped_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README has one Python example"
    # its compare reads the run folders out/BASIN that `make demo` writes: the suite's runs
    (tmp_path / "out").mkdir()
    for b in ("rhine", "taihu", "tennessee", "thames"):
        (tmp_path / "out" / b).symlink_to(shipped_run(b).out)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the runs' data warnings, tested elsewhere
        # the repository's own README text, run as a reader would paste it
        exec(compile(blocks[0], str(README), "exec"), ns)
    up = ns["up"]
    assert up.reach_id == 40645612  # the Taihu reach 9 m from the point
    assert not ns["c"].headline().empty
    assert len(ns["spill"].notifications) > 0
    assert sorted(p.name for p in (tmp_path / "out" / "compare").iterdir()) == [
        ".basingov-manifest.json",
        "comparison.csv",
        "comparison.html",
        "comparison.md",
        "governance.csv",
    ]
