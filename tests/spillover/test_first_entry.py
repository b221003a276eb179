"""Imports counted once: each load where it first enters a jurisdiction's waters."""

from __future__ import annotations

import numpy as np
import pytest

from basingov.spillover import entry_factors, indicators, routing_graph, transfer
from tests.spillover.test_first_exit import random_tree


def test_a_river_winding_across_a_border_brings_its_load_in_once() -> None:
    """A -> B -> A -> B, 1 kg/day generated in the first A node, no decay.

    The matrix counts A's load into B at both of its entries (S[A, B] = 2, "imported" 2);
    it enters B's waters once, so imported_first is 1, as exported_first is 1 for A; the
    balance with each load counted once is -1 for B (gross: -2).
    """
    for method in ("auto", "solve"):
        t = transfer(routing_graph([1, 2, 3, -1]), [1.0] * 4, [1.0, 0, 0, 0], [0, 1, 0, 1],
                     method=method)  # fmt: skip
        assert t.matrix[0, 1] == pytest.approx(2.0)
        ind = indicators(t, ["A", "B"])
        assert ind.loc["B", "imported"] == pytest.approx(2.0)
        assert ind.loc["B", "imported_first"] == pytest.approx(1.0)
        assert ind.loc["A", "imported_first"] == pytest.approx(0.0)
        assert ind.loc["B", "net_balance_first"] == pytest.approx(-1.0)
        assert ind.loc["A", "net_balance_first"] == pytest.approx(1.0)
        assert ind.loc["B", "net_balance"] == pytest.approx(-2.0)


def _brute_first_entry(ds, keep, load, jur, route, foreign=()):
    """Walk each load down its path; count it where it first enters each other receptor."""
    ent = entry_factors(keep)
    out = np.zeros(max(jur.max(), route.max()) + 1)
    items = [(i, int(jur[i]), load[i]) for i in range(ds.size)] + list(foreign)
    for i, origin, g in items:
        seen = {int(route[i])}
        if route[i] != origin:
            out[route[i]] += g  # generated straight into another's waters
        v = g * ent[i]
        b = ds[i]
        while b >= 0:
            r = int(route[b])
            if r not in seen and r != origin:
                out[r] += v
            seen.add(r)
            v *= keep[b]
            b = ds[b]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_first_entry_matches_walking_every_load_down_its_path(seed: int) -> None:
    """Random trees: labels interleave along the flow (loads re-enter).

    Routing labels differ from the origins on some nodes (boundary stretches), and some
    loads are foreign (another origin's load placed on a node).
    """
    rng = np.random.default_rng(seed)
    n = 250
    ds, keep, load, jur = random_tree(rng, n)
    route = np.where(rng.random(n) < 0.1, rng.integers(0, 5, n), jur)
    node = rng.integers(0, n, 12)
    origin = rng.integers(0, 5, 12)
    fload = rng.uniform(0.0, 3.0, 12)
    foreign = list(zip(node.tolist(), origin.tolist(), fload.tolist(), strict=True))
    want = _brute_first_entry(ds, keep, load, jur, route, foreign)
    kw = {"n_jur": 5, "route_jur": route, "foreign": (node, origin, fload)}
    t = transfer(routing_graph(ds), keep, load, jur, **kw)
    assert t.first_entry == pytest.approx(want, rel=1e-12, abs=1e-12)
    t2 = transfer(routing_graph(ds), keep, load, jur, method="solve", **kw)
    assert t2.first_entry == pytest.approx(want, rel=1e-9, abs=1e-12)
    # counted once, never more than the matrix counts
    imported = t.matrix.sum(axis=0) - np.diag(t.matrix)
    assert np.all(t.first_entry <= imported + 1e-9)
    if seed == 0:  # interleaved labels: some load enters a receptor twice
        assert np.any(imported - t.first_entry > 1e-6)


def test_first_entry_on_a_network_with_a_bifurcation() -> None:
    """Node 0 (A) splits 0.6 into B directly and 0.4 into A's node 1, which drains into B.

    1 kg/day at node 0 with entry factor 1 (no decay): it enters B twice but each share
    once, so B's first-entry import is 0.6 + 0.4 = 1; the general route gives it.
    """
    g = routing_graph([2, 2, -1], splits=([0, 0], [2, 1], [0.6, 0.4]))
    assert g.kind == "dag"
    t = transfer(g, [1.0] * 3, [1.0, 0.0, 0.0], [0, 0, 1])
    assert t.first_entry.tolist() == pytest.approx([0.0, 1.0])
    # and when the second branch crosses B first and comes back into A, then B again
    g = routing_graph([2, 2, 3, -1], splits=([0, 0], [3, 1], [0.6, 0.4]))
    t = transfer(g, [1.0] * 4, [1.0, 0.0, 0.0, 0.0], [0, 1, 0, 1])
    # 0.6 straight into B (node 3); 0.4 into B at node 1, back to A, into B again
    assert t.matrix[0, 1] == pytest.approx(1.4)
    assert t.first_entry.tolist() == pytest.approx([0.0, 1.0])


def test_monte_carlo_runs_skip_the_first_entries() -> None:
    t = transfer(routing_graph([1, -1]), [1.0, 1.0], [1.0, 1.0], [0, 1], first_entries=False)
    assert t.first_entry is None
    assert indicators(t, ["A", "B"])["imported_first"].isna().all()


def test_first_entries_of_networks_too_large_to_sweep_are_nan(monkeypatch, caplog) -> None:
    """Above FIRST_ENTRY_MAX_SWEEP receptors x nodes the first entries are not measured.

    The indicators then give NaN, and the maps and the report fall back to the imports
    counted at every crossing (their label says so).
    """
    import importlib
    import logging

    tr = importlib.import_module("basingov.spillover.transfer")  # the module, not the function

    monkeypatch.setattr(tr, "FIRST_ENTRY_MAX_SWEEP", 7)  # 4 nodes x 2 receptors = 8
    with caplog.at_level(logging.INFO, logger="basingov.spillover.transfer"):
        t = transfer(routing_graph([1, 2, 3, -1]), [1.0] * 4, [1.0, 0, 0, 0], [0, 1, 0, 1])
    assert np.isnan(t.first_entry).all()
    assert "not computed: 2 receptors x 4 nodes" in caplog.text
    ind = indicators(t, ["A", "B"])
    assert ind["imported_first"].isna().all()
    assert ind.loc["B", "imported"] == pytest.approx(2.0)
    monkeypatch.setattr(tr, "FIRST_ENTRY_MAX_SWEEP", 8)
    t = transfer(routing_graph([1, 2, 3, -1]), [1.0] * 4, [1.0, 0, 0, 0], [0, 1, 0, 1])
    assert t.first_entry.tolist() == pytest.approx([0.0, 1.0])


def test_the_maps_show_imports_counted_once_or_say_they_are_gross() -> None:
    """The map's table takes the counted-once columns when every row has them."""
    from types import SimpleNamespace

    import pandas as pd

    from basingov.maps._indicators import _spill_table

    t = transfer(routing_graph([1, 2, 3, -1]), [1.0] * 4, [1.0, 0, 0, 0], [0, 1, 0, 1])
    ind = indicators(t, ["A", "B"]).reset_index().assign(level_name="x")
    got = _spill_table(SimpleNamespace(tables={"spillover_indicators": ind})).set_index("jur_id")
    assert got.loc["B", "imported_kg_day"] == pytest.approx(1.0)
    assert got.loc["B", "imported_gross_kg_day"] == pytest.approx(2.0)
    assert got.loc["B", "net_balance_kg_day"] == pytest.approx(-1.0)
    assert got.loc["A", "exported_kg_day"] == pytest.approx(1.0)  # exported_first
    # a run written before imported_first existed, or too large to sweep: the gross figures
    for old in (ind.drop(columns=["imported_first", "net_balance_first"]),
                ind.assign(imported_first=np.nan)):  # fmt: skip
        got = _spill_table(SimpleNamespace(tables={"spillover_indicators": old}))
        assert "imported_gross_kg_day" not in got.columns
        assert got.set_index("jur_id").loc["B", "imported_kg_day"] == pytest.approx(2.0)
    assert isinstance(got, pd.DataFrame)
