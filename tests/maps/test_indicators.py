"""Map indicators: Fisher-Jenks class breaks (exact optimum) and loads per border pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from basingov.maps import class_breaks


def _sse(y, bins):
    y = np.sort(np.asarray(y, dtype=float))
    edges = [-np.inf, *bins]
    return sum(
        float(((c - c.mean()) ** 2).sum())
        for lo, hi in itertools.pairwise(edges)
        if (c := y[(y > lo) & (y <= hi)]).size
    )


def test_golden_two_clusters():
    # 1, 2, 3 | 10, 11, 12 | 50: three obvious groups, each class's largest value
    assert class_breaks([12, 1, 50, 3, 11, 2, 10], k=3) == [3.0, 12.0, 50.0]


@pytest.mark.parametrize("seed", range(4))
def test_optimal_by_exhaustive_search(seed):
    # every split of a small sorted sample into k classes: none has a smaller sum of
    # squared deviations than the breaks found
    rng = np.random.default_rng(seed)
    y = np.sort(rng.lognormal(0, 1, 11))
    for k in (2, 3, 4):
        got = _sse(y, class_breaks(y, k=k))
        best = min(
            _sse(y, [*(y[c - 1] for c in cuts), y[-1]])
            for cuts in itertools.combinations(range(1, y.size), k - 1)
        )
        assert got == pytest.approx(best, rel=1e-12)


def test_equals_mapclassify():
    mapclassify = pytest.importorskip("mapclassify")
    rng = np.random.default_rng(7)
    for _ in range(300):
        k = int(rng.integers(2, 7))
        n = int(rng.integers(k + 1, 120))  # more values than classes
        y = rng.lognormal(0, 1.5, n)  # distinct values: no tied partitions
        ref = sorted(float(b) for b in mapclassify.FisherJenks(y, k=k).bins)
        assert class_breaks(y, k=k) == ref


def _kept_by_walk(down, rid, frac):
    """Crossings of one pair kept by walking down the network (the reference rule)."""
    at = {}
    for r, f in zip(rid, frac, strict=True):
        at.setdefault(r, []).append(f)
    keep = []
    for r, f in zip(rid, frac, strict=True):
        if any(ff > f for ff in at[r]):
            keep.append(False)
            continue
        seen, cur, k = {r}, down.get(r), True
        while cur in down and cur not in seen:
            if cur in at:
                k = False
                break
            seen.add(cur)
            cur = down.get(cur)
        keep.append(k)
    return keep


def _random_network(rng, n, *, loops):
    """``{reach: downstream}`` of a random forest; with ``loops``, some drain in a circle."""
    down = {i: (int(rng.integers(0, i)) if i and rng.random() > 0.1 else -1) for i in range(n)}
    if loops and n > 2:
        a, b = sorted(rng.choice(n, 2, replace=False).tolist())
        down[a] = b  # b already drains (through its own downstream chain) somewhere below
        down[b] = a if rng.random() < 0.5 else down[b]
    return down


@pytest.mark.parametrize("loops", [False, True])
def test_pair_loads_equal_the_walk_random(loops):
    # random networks (trees, or with a loop: then no walk times exist) and crossings of
    # several pairs: a crossing counts unless another crossing of its pair lies further
    # down its reach or anywhere below it on the network
    import geopandas as gpd
    import pandas as pd
    from shapely import Point

    from basingov.maps import RunData, pair_loads

    rng = np.random.default_rng(3)
    for _ in range(60):
        n = int(rng.integers(1, 40))
        down = _random_network(rng, n, loops=loops)
        m = int(rng.integers(1, 30))
        rid = rng.integers(0, n + 2, m).tolist()  # n, n + 1: reaches not in the network
        frac = rng.choice([0.2, 0.5, 1.0, np.nan], m).tolist()
        pair = rng.choice(["A", "B", "C"], m).tolist()
        load = rng.uniform(1, 10, m)
        reaches = gpd.GeoDataFrame(
            {"reach_id": list(down), "downstream_id": list(down.values())},
            geometry=[Point(0, 0)] * n,
        )
        ids = [f"c{i}" for i in range(m)]
        cx = gpd.GeoDataFrame(
            {"crossing_id": ids, "level_name": "x", "from_jur": pair, "to_jur": "Z",
             "reach_id": rid, "fraction": frac},
            geometry=[Point(0, 0)] * m,
        )  # fmt: skip
        flux = pd.DataFrame({"crossing_id": ids, "load_kg_day": load})
        run = RunData("t", {}, {"reaches": reaches, "crossings": cx}, {"crossing_flux": flux})
        got = pair_loads(run).set_index("from_jur")
        for a in sorted(set(pair)):
            sel = np.array(pair) == a
            r_a, f_a = np.array(rid)[sel].tolist(), np.array(frac)[sel].tolist()
            keep = np.array(_kept_by_walk(down, r_a, f_a))
            assert got.loc[a, "load_kg_day"] == float(load[sel][keep].sum())
            assert got.loc[a, "gross_kg_day"] == float(load[sel].sum())
            assert got.loc[a, "n_crossings"] == sel.sum()


def _below(down, r):
    """Reaches met walking down from ``r`` (the reference of the walk times)."""
    seen, cur = [], down.get(r)
    while cur in down and cur not in seen and cur != r:
        seen.append(cur)
        cur = down.get(cur)
    return set(seen)


def test_walk_times_and_groups_equal_the_walk():
    # walk times against walking down from every reach, then the running maximum over
    # them against the pairwise test of every two items
    import pandas as pd

    from basingov.maps._indicators import _downstream_in_group, _network, _tour

    rng = np.random.default_rng(11)
    for _ in range(100):
        n = int(rng.integers(1, 60))
        down = _random_network(rng, n, loops=False)
        net = pd.DataFrame({"reach_id": list(down), "downstream_id": list(down.values())})
        ids, parent = _network(net.sample(frac=1.0, random_state=int(rng.integers(1000))))
        tin, tout = _tour(parent)
        at = {r: ids.get_loc(r) for r in down}
        for r, i in at.items():
            below = {u for u, j in at.items() if tin[j] < tin[i] and tout[i] <= tout[j]}
            assert below == _below(down, r)
        m = int(rng.integers(0, 40))
        pos = rng.integers(0, n, m)
        codes = rng.integers(0, 3, m)
        got = _downstream_in_group(codes, tin[pos], tout[pos])
        want = [
            any(
                codes[j] == codes[i] and tin[pos[j]] < tin[pos[i]] and tout[pos[i]] <= tout[pos[j]]
                for j in range(m)
            )
            for i in range(m)
        ]
        assert got.tolist() == want


def test_stored_colour_maps_are_matplotlibs():
    # every stored colour is matplotlib's, and palette() samples them as matplotlib does
    pytest.importorskip("matplotlib")
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from basingov.maps._colormaps import LUT
    from basingov.maps._styles import palette

    for name, lut in LUT.items():
        cmap = colormaps[name]
        assert list(lut) == [to_hex(cmap(i)) for i in range(256)]
        for n in range(1, 13):
            xs = [0.7] if n <= 1 else [0.1 + 0.75 * i / (n - 1) for i in range(n)]
            assert palette(name, n) == [to_hex(cmap(x)) for x in xs]


def test_crossing_origins_are_the_flux_rows_of_each_crossing():
    # the origins of each crossing, largest load first: the flux table's rows grouped one
    # by one (crossings without flux rows have none)
    import geopandas as gpd
    import pandas as pd
    from shapely import Point

    from basingov.maps import RunData, crossing_indicators

    rng = np.random.default_rng(8)
    for _ in range(20):
        m = int(rng.integers(1, 30))
        ids = [f"c{i}" for i in range(m)]
        k = int(rng.integers(1, 200))
        flux = pd.DataFrame(
            {
                "crossing_id": rng.choice(ids, k),
                "origin": rng.choice(["A", "B", "C", "D"], k),
                "load_kg_day": rng.choice([0.0, 1.5, 2.0, 7.25], k) * rng.integers(1, 4, k),
            }
        )
        cx = gpd.GeoDataFrame(
            {"crossing_id": ids, "reach_id": range(m)}, geometry=[Point(0, 0)] * m
        )
        reaches = gpd.GeoDataFrame({"reach_id": range(m)}, geometry=[Point(0, 0)] * m)
        run = RunData("t", {}, {"reaches": reaches, "crossings": cx}, {"crossing_flux": flux})
        got = dict(zip(ids, crossing_indicators(run)["origins"], strict=True))
        f = flux.sort_values(["crossing_id", "load_kg_day"], ascending=[True, False])
        want: dict = {c: [] for c in ids}
        for c, o, v in zip(f["crossing_id"], f["origin"], f["load_kg_day"], strict=True):
            want[c].append((o, v))
        assert got == want
