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


def test_pair_loads_equal_the_walk_random():
    # random trees and crossings of one pair: a crossing counts unless another crossing of
    # the pair lies further down its reach or anywhere below it on the network
    import geopandas as gpd
    import pandas as pd
    from shapely import Point

    from basingov.maps import RunData, pair_loads

    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(1, 40))
        down = {i: (int(rng.integers(0, i)) if i and rng.random() > 0.1 else -1) for i in range(n)}
        m = int(rng.integers(1, 12))
        rid = rng.integers(0, n, m).tolist()
        frac = rng.choice([0.2, 0.5, 1.0], m).tolist()
        load = rng.uniform(1, 10, m)
        reaches = gpd.GeoDataFrame(
            {"reach_id": list(down), "downstream_id": list(down.values())},
            geometry=[Point(0, 0)] * n,
        )
        ids = [f"c{i}" for i in range(m)]
        cx = gpd.GeoDataFrame(
            {"crossing_id": ids, "level_name": "x", "from_jur": "A", "to_jur": "B",
             "reach_id": rid, "fraction": frac},
            geometry=[Point(0, 0)] * m,
        )  # fmt: skip
        flux = pd.DataFrame({"crossing_id": ids, "load_kg_day": load})
        run = RunData("t", {}, {"reaches": reaches, "crossings": cx}, {"crossing_flux": flux})
        got = pair_loads(run).iloc[0]
        keep = np.array(_kept_by_walk(down, rid, frac))
        assert got["load_kg_day"] == float(load[keep].sum())
        assert got["gross_kg_day"] == float(load.sum())


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
