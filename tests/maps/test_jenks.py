"""Fisher-Jenks class breaks: exact optimum, the breaks of mapclassify."""

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
