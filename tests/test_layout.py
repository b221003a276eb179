"""House rules of the package that a reader of one module cannot see."""

from __future__ import annotations

import ast
import collections
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import basingov

SRC = Path(basingov.__file__).parent

#: Annotations of array and table types; a dataclass with 3 or more fields of one of them
#: is built by keyword only (positional arguments of one type are easily swapped).
_ARRAY_TYPES = ("np.ndarray", "NDArray", "pd.DataFrame", "gpd.GeoDataFrame", "pd.Series")


def _same_typed_dataclasses(path: Path) -> list[tuple[str, int, bool]]:
    """``(class name, most fields of one array type, kw_only)`` of a module's dataclasses."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ClassDef):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        if not any(d.startswith("dataclass") for d in decorators):
            continue
        kinds: collections.Counter[str] = collections.Counter()
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign):
                ann = ast.unparse(stmt.annotation)
                kinds.update(t for t in _ARRAY_TYPES if ann.startswith(t))
        kw_only = any("kw_only=True" in d for d in decorators)
        out.append((node.name, max(kinds.values(), default=0), kw_only))
    return out


def test_dataclasses_of_several_same_typed_arrays_are_keyword_only() -> None:
    offenders = [
        f"{path.relative_to(SRC.parent)}: {name} ({n} fields of one array type)"
        for path in sorted(SRC.rglob("*.py"))
        for name, n, kw_only in _same_typed_dataclasses(path)
        if n >= 3 and not kw_only
    ]
    assert offenders == [], "add kw_only=True to the @dataclass of:\n" + "\n".join(offenders)


def test_the_scan_finds_the_dataclasses_it_should(tmp_path: Path) -> None:
    # the rule above would pass vacuously if the scan found nothing
    found = {
        name: (n, kw) for name, n, kw in _same_typed_dataclasses(SRC / "spillover" / "transfer.py")
    }
    assert found["Transfer"][0] >= 3
    assert found["Transfer"][1]
    module = tmp_path / "m.py"
    module.write_text(
        "@dataclass(frozen=True)\nclass A:\n    a: np.ndarray\n    b: np.ndarray\n"
        "    c: NDArray[np.int64]\n    d: int\n"
    )
    assert _same_typed_dataclasses(module) == [("A", 2, False)]
    module.write_text(module.read_text().replace("    d: int\n", "    d: np.ndarray\n"))
    assert _same_typed_dataclasses(module) == [("A", 3, False)]


def test_a_keyword_only_result_refuses_positional_arguments() -> None:
    from basingov.spillover.pieces import OriginLoads

    assert all(f.kw_only for f in dataclasses.fields(OriginLoads))
    e = np.zeros(0)
    with pytest.raises(TypeError, match="positional"):
        OriginLoads("country", e, e, e, e, e, e, e)  # type: ignore[misc]
