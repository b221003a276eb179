"""docs/errors.md names a test for every input class; each must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_named_in_the_catalogue_exists() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(refs) >= 60
    missing = []
    for path, name in refs:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if name not in names:
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_row_names_a_test() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = [
        line for line in text.splitlines()
        if line.startswith("| ") and not line.startswith(("| Input", "| Fault", "| Property"))
    ]  # fmt: skip
    assert rows
    assert [r for r in rows if "`tests/" not in r] == []
