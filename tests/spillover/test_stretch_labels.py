"""The compiled stretch-label walk against the plain NumPy loops it replaced."""

from __future__ import annotations

import numpy as np

from basingov.spillover._kernels import stretch_labels


def reference(on, walk, of, codes, a_code, b_code, succ, sstart, pred, pstart, upstream):
    exit_code = np.full(a_code.size, -1, dtype=np.int64)
    exit_up = np.full(a_code.size, -1.0)
    for i in on:
        k = of[i]
        out = succ[sstart[i] : sstart[i + 1]]
        out = out[(of[out] != k) & ((codes[out] == a_code[k]) | (codes[out] == b_code[k]))]
        if out.size and upstream[i] > exit_up[k]:
            exit_code[k], exit_up[k] = codes[out[0]], upstream[i]
    rc = codes.copy()
    for i in walk:
        k = of[i]
        pr = pred[pstart[i] : pstart[i + 1]]
        ok = pr[(of[pr] == k) | (rc[pr] == a_code[k]) | (rc[pr] == b_code[k])]
        if ok.size:
            rc[i] = rc[ok[np.argmax(upstream[ok])]]
        elif pr.size and exit_code[k] >= 0:
            rc[i] = exit_code[k]
    return rc


def test_stretch_labels_match_the_numpy_loops():
    relabelled = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n, n_codes, n_st = 60, 5, 4
        # a random DAG (links from lower to higher numbers, so the node numbers are a
        # topological order); many stretch pieces, ties and some NaN upstream lengths
        src = rng.integers(0, n - 1, 90)
        dst = np.minimum(src + rng.integers(1, 6, src.size), n - 1)
        by_dst = np.argsort(dst, kind="stable")
        pred, pstart = src[by_dst], np.searchsorted(dst[by_dst], np.arange(n + 1))
        by_src = np.argsort(src, kind="stable")
        succ, sstart = dst[by_src], np.searchsorted(src[by_src], np.arange(n + 1))
        codes = rng.integers(0, n_codes, n)
        of = np.where(rng.random(n) < 0.6, rng.integers(0, n_st, n), -1)
        a_code = rng.integers(-1, n_codes, n_st)
        b_code = rng.integers(0, n_codes, n_st)
        upstream = rng.integers(0, 4, n).astype(float)
        upstream[rng.random(n) < 0.05] = np.nan
        on = np.flatnonzero(of >= 0)
        args = (on, on, of, codes, a_code, b_code, succ, sstart, pred, pstart, upstream)
        got = stretch_labels(*args)
        assert got.tolist() == reference(*args).tolist(), seed
        relabelled += int((got != codes).sum())
    assert relabelled > 50  # the cases exercise the walk, not just the identity
