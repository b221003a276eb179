"""Fast paths of the routing graph and the keep factors against the general ones.

``routing_graph`` takes the position order as the topological order when the nodes are
numbered in flow order (every link to a larger position, or every link to a smaller one),
and Kahn's order otherwise; ``keep_factors`` of 1-D inputs runs in one compiled pass. Both
must give the same results as the general paths.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from basingov.errors import InputError
from basingov.network import kahn_order_tree
from basingov.spillover import keep_factors, routing_graph, transfer

routing = sys.modules["basingov.spillover.routing"]


def _tree(rng: np.random.Generator, n: int) -> np.ndarray:
    """Build a random tree numbered with every link to a smaller position (node 0 the outlet)."""
    ds = np.array([-1] + [int(rng.integers(max(0, i - 8), i)) for i in range(1, n)])
    return ds.astype(np.int64)


def _renumber(ds: np.ndarray, new_of_old: np.ndarray) -> np.ndarray:
    """Return the same tree with node ``i`` renamed ``new_of_old[i]``."""
    out = np.full(ds.shape[0], -1, dtype=np.int64)
    has = ds >= 0
    out[new_of_old[has]] = new_of_old[ds[has]]
    return out


def _is_topological(order: np.ndarray, ds: np.ndarray) -> bool:
    pos = np.empty(ds.shape[0], dtype=np.int64)
    pos[order] = np.arange(order.shape[0])
    has = ds >= 0
    return order.shape[0] == ds.shape[0] and bool((pos[has] < pos[ds[has]]).all())


@pytest.mark.parametrize("seed", range(6))
def test_flow_ordered_numbering_gives_the_same_matrix_as_a_shuffled_one(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    down = _tree(rng, n)  # every link to a smaller position
    up = _renumber(down, n - 1 - np.arange(n))  # every link to a larger position
    perm = rng.permutation(n)
    shuffled = _renumber(down, perm)
    g_down, g_up, g_sh = routing_graph(down), routing_graph(up), routing_graph(shuffled)
    assert g_down.order.tolist() == list(range(n - 1, -1, -1))
    assert g_up.order.tolist() == list(range(n))
    assert g_sh.order.tolist() == kahn_order_tree(shuffled).tolist()
    for g, ds in ((g_down, down), (g_up, up), (g_sh, shuffled)):
        assert g.kind == "tree"
        assert _is_topological(g.order, ds)
    keep = rng.uniform(0.3, 1.0, n)
    lake = rng.random(n) < 0.1
    load = rng.uniform(0.0, 5.0, n)
    jur = rng.integers(0, 5, n)

    def run(g, new_of_old):  # inputs moved to the new numbering
        at = np.empty(n, dtype=np.int64)
        at[new_of_old] = np.arange(n)
        return transfer(g, keep[at], load[at], jur[at], is_lake=lake[at], n_jur=5)

    ref = run(g_sh, perm)
    for got in (run(g_down, np.arange(n)), run(g_up, n - 1 - np.arange(n))):
        for a in ("matrix", "generated", "delivered", "decayed", "retained", "exported",
                  "returned", "first_exit"):  # fmt: skip
            np.testing.assert_allclose(getattr(got, a), getattr(ref, a), rtol=1e-12, atol=1e-12)


def test_routing_graph_names_every_kind_of_bad_pointer():
    with pytest.raises(InputError, match=r"bad at node\(s\) \[0, 2, 3\]"):
        routing_graph([0, -1, 7, -2])
    assert routing_graph(np.zeros(0, dtype=np.int64)).order.tolist() == []


@pytest.mark.parametrize("seed", range(4))
def test_compiled_keep_factors_equal_the_numpy_ones_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n = 500
    tau = rng.uniform(0.0, 200.0, n)
    lake = rng.random(n) < 0.2
    tau[lake & (rng.random(n) < 0.5)] = np.nan  # unused on lakes
    cases = [
        (tau[~lake], 0.1, None, None),
        (tau, rng.uniform(0.0, 2.0, n), lake, rng.uniform(0.0, 1.0, n)),
        (tau, 0.35, lake, 0.25),
        (tau, [0.2], lake, None),
        (tau, 0.1, True, 0.5),
    ]
    for t, k, is_lake, r in cases:
        fast = routing._keep_factors_1d(t, k, is_lake, r)
        assert fast is not None
        np.testing.assert_array_equal(fast, routing._keep_factors_numpy(t, k, is_lake, r))
        np.testing.assert_array_equal(
            keep_factors(t, decay_per_day=k, is_lake=is_lake, lake_retention=r), fast
        )


def test_keep_factors_still_name_invalid_inputs():
    with pytest.raises(InputError, match=r"decay_per_day must be finite rates.*\[1\]"):
        keep_factors([1.0, 2.0], decay_per_day=[0.1, np.inf])
    bad_lake = r"lake retention must lie in \[0, 1\]; bad at node\(s\) \[1\]"
    with pytest.raises(InputError, match=bad_lake):
        keep_factors([1.0, 2.0], is_lake=[False, True], lake_retention=[0.5, 1.5])
    with pytest.raises(InputError, match=r"travel time is missing or negative at 1 of 3"):
        keep_factors([1.0, -2.0, np.nan], is_lake=[False, False, True])
    # shapes the compiled pass does not take go the general way (and broadcast as before)
    np.testing.assert_array_equal(keep_factors(24.0, decay_per_day=0.5), np.exp(-0.5))


def test_routing_graph_refuses_positions_that_are_not_whole_numbers():
    # 1.5 was truncated to node 1, silently; NaN and text raised raw ValueErrors
    with pytest.raises(
        InputError, match=r"idx_ds must hold whole-number .*got 1\.5 at node\(s\) \[0\]"
    ):
        routing_graph([1.5, -1])
    with pytest.raises(InputError, match=r"got nan, x at node\(s\) \[0, 1\]"):
        routing_graph(np.array([np.nan, "x", -1], dtype=object))
    with pytest.raises(InputError, match=r"splits: dst .*got 0\.5 at split row\(s\) \[1\]"):
        routing_graph([-1, -1, -1], splits=([0, 0], [1, 0.5], [0.5, 0.5]))
    # whole numbers given as floats or text are taken, as reach ids are
    assert routing_graph([2.0, 2.0, -1.0]).idx_ds.tolist() == [2, 2, -1]
    assert routing_graph(["1", "-1"]).idx_ds.tolist() == [1, -1]
    g = routing_graph([-1, -1, -1], splits=([0.0, 0.0], [1.0, 2.0], [0.5, 0.5]))
    assert g.links()[1].tolist() == [1, 2]
