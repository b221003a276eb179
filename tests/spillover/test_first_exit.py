"""The transboundary share counts each load once, where it first leaves its origin."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from basingov.errors import InputError
from basingov.spillover import entry_factors, indicators, routing_graph, transfer


def test_a_load_that_leaves_and_comes_back_has_crossed_a_border() -> None:
    """A -> B -> A (outlet): A's upstream load leaves A, crosses B and ends back in A.

    Hand derivation: each node keeps ``keep`` of its inflow, and its own load enters at
    mid-node with the entry factor e = entry_factors(keep). A's node 0 sends e across the
    A -> B border, and that load has crossed a border although it comes back. A generates
    2 kg/day (nodes 0 and 2), so the share crossing at least one border is e / 2; B's
    node 1 sends e into A, all of B's 1 kg/day. With no decay, the "leaves for good"
    figure X - R of the earlier definition is 0 for A.
    """
    g = routing_graph([1, 2, -1])
    for keep in (0.5, 1.0):
        e = float(entry_factors([keep])[0])
        for method in ("auto", "solve"):
            t = transfer(g, [keep] * 3, [1.0, 1.0, 1.0], [0, 1, 0], method=method)
            assert t.first_exit is not None
            assert t.first_exit.tolist() == pytest.approx([e, e])
            ind = indicators(t, ["A", "B"])
            assert ind.loc["A", "exported_first"] == pytest.approx(e)
            assert ind.loc["A", "transboundary_share"] == pytest.approx(e / 2)
            assert ind.loc["B", "transboundary_share"] == pytest.approx(e)
    # with no decay the load that comes back leaves A "for good" nowhere: X - R = 0
    t = transfer(g, [1.0] * 3, [1.0, 1.0, 1.0], [0, 1, 0])
    assert t.exported[0] - t.returned[0] == pytest.approx(0.0)
    assert indicators(t, ["A", "B"]).loc["A", "transboundary_share"] == pytest.approx(0.5)


def _brute_first_exit(ds: np.ndarray, keep: np.ndarray, load: np.ndarray, jur: np.ndarray):
    """Walk each node's load down its path; count it where it first changes jurisdiction."""
    ent = entry_factors(keep)
    out = np.zeros(jur.max() + 1)
    for i in range(ds.size):
        v = load[i] * ent[i]
        b = ds[i]
        while b >= 0:
            if jur[b] != jur[i]:
                out[jur[i]] += v
                break
            v *= keep[b]
            b = ds[b]
    return out


def random_tree(rng: np.random.Generator, n: int, n_jur: int = 5) -> tuple[np.ndarray, ...]:
    """Downstream positions, keep, load and jurisdiction codes of a random tree.

    Node i drains to a random node a few positions further on (outlets at the end), and
    the codes are drawn per node, so that jurisdictions interleave along the flow.
    """
    ds = np.array([rng.integers(i + 1, min(n, i + 6)) if i < n - 3 else -1 for i in range(n)])
    keep = rng.uniform(0.3, 1.0, n)
    load = rng.uniform(0.0, 2.0, n)
    return ds, keep, load, rng.integers(0, n_jur, n)


@pytest.mark.parametrize("seed", range(8))
def test_first_exit_matches_walking_every_load_down_its_path(seed: int) -> None:
    """Random trees with jurisdictions that interleave along the flow (loads re-enter)."""
    ds, keep, load, jur = random_tree(np.random.default_rng(seed), 300)
    want = _brute_first_exit(ds, keep, load, jur)
    t = transfer(routing_graph(ds), keep, load, jur, n_jur=5)
    assert t.first_exit is not None
    assert t.first_exit == pytest.approx(want, rel=1e-12, abs=1e-12)
    t2 = transfer(routing_graph(ds), keep, load, jur, n_jur=5, method="solve")
    assert t2.first_exit == pytest.approx(want, rel=1e-9, abs=1e-12)
    # X - R <= F <= X: the bounds the compare stage used before the exact figure
    assert np.all(t.exported - t.returned <= t.first_exit + 1e-9)
    assert np.all(t.first_exit <= t.exported + 1e-9)
    share = indicators(t, [str(j) for j in range(5)])["transboundary_share"]
    assert share.between(0, 1).all()
    # interleaved labels make loads come back, so the exact figure differs from X - R
    if seed == 0:
        assert np.any(t.first_exit - (t.exported - t.returned) > 1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_first_exit_on_networks_with_bifurcations(seed: int) -> None:
    """Random DAGs with split links: the first exit walks every share of every load."""
    rng = np.random.default_rng(100 + seed)
    n = 80
    ds = np.array([rng.integers(i + 1, min(n, i + 5)) if i < n - 2 else -1 for i in range(n)])
    src, dst, frac = [], [], []
    for i in range(n - 4):
        if rng.random() < 0.3:  # a bifurcation: two branches, some water may leave
            a, b = rng.choice(np.arange(i + 1, min(n, i + 6)), 2, replace=False)
            f1 = rng.uniform(0.2, 0.7)
            src += [i, i]
            dst += [int(a), int(b)]
            frac += [f1, rng.uniform(0.1, 1.0 - f1)]
    graph = routing_graph(ds, splits=(src, dst, frac))
    assert graph.kind == "dag"
    keep = rng.uniform(0.3, 1.0, n)
    load = rng.uniform(0.0, 2.0, n)
    jur = rng.integers(0, 4, n)
    s_, d_, f_ = graph.links()
    ent = entry_factors(keep)
    want = np.zeros(4)

    def walk(a: int, v: float, origin: int) -> None:
        for k in np.flatnonzero(s_ == a):
            b, w = int(d_[k]), v * f_[k]
            if jur[b] != origin:
                want[origin] += w
            else:
                walk(b, w * keep[b], origin)

    for i in range(n):
        walk(i, load[i] * ent[i], int(jur[i]))
    t = transfer(graph, keep, load, jur, n_jur=4)
    assert t.first_exit is not None
    assert t.first_exit == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert np.all(t.exported - t.returned <= t.first_exit + 1e-9)


def test_loads_on_another_jurisdictions_water_leave_at_once() -> None:
    """A foreign load (C's people on A's river) has crossed into A's waters where it enters."""
    t = transfer(
        routing_graph([1, -1]), [1.0, 1.0], [0.0, 0.0], [0, 1], n_jur=3,
        foreign=([0], [2], [1.0]),
    )  # fmt: skip
    assert t.first_exit is not None
    assert t.first_exit.tolist() == [0.0, 0.0, 1.0]


def test_indicators_need_the_first_exit() -> None:
    t = transfer(routing_graph([1, -1]), [1.0, 1.0], [1.0, 1.0], [0, 1])
    with pytest.raises(InputError, match="no first_exit"):
        indicators(dataclasses.replace(t, first_exit=None), ["A", "B"])
