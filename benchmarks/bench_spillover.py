"""Benchmark P1: full source-receptor matrix on a synthetic 8.5M-reach tree, 300 jurisdictions.

Run as a script: ``.venv/bin/python benchmarks/bench_spillover.py [--n 8500000] [--write]``.

Synthetic tree (seeded, ``numpy.random.default_rng(SEED)``): reach 0 is the outlet and
every reach ``i >= 1`` drains into a uniformly drawn reach among the ``WINDOW`` reaches
numbered just below it (``i - WINDOW .. i - 1``), which gives long, river-like flow paths
(mean depth ~ n / (WINDOW / 2)) rather than the logarithmic depth of a random recursive
tree. Travel times are uniform in 0.5-5 h, 2 % of reaches are lakes, loads uniform in
0-10 kg/day, k = 0.1/day. Jurisdictions are contiguous: 299 reaches drawn at random
become the downstream ends of jurisdictions 1..299 and every reach belongs to the
jurisdiction of the first such end on its way to the outlet (jurisdiction 0 otherwise),
so each jurisdiction is a connected subtree, as administrative units along a river are.

The timed path starts from the arrays (``idx_ds``, travel times, loads, jurisdiction
codes) and includes building the routing graph (topological order), the keep factors and
the matrix. The peer is networkx: for each origin, propagate that origin's loads
downstream through a ``networkx.DiGraph`` in topological order and sum what crosses into
each receptor. Both are run on the same smaller tree and compared cell by cell.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path

import networkx as nx
import numpy as np

from basingov.spillover import keep_factors, routing_graph, transfer

SEED = 20261123
WINDOW = 64
N_JUR = 300
DECAY = 0.1


def synthetic_tree(n: int, n_jur: int = N_JUR, seed: int = SEED) -> dict[str, np.ndarray]:
    """Seeded random tree with contiguous jurisdictions (see the module docstring)."""
    rng = np.random.default_rng(seed)
    i = np.arange(n, dtype=np.int64)
    lo = np.maximum(i - WINDOW, 0)
    idx_ds = lo + (rng.random(n) * (i - lo)).astype(np.int64)
    idx_ds[0] = -1
    tau = rng.uniform(0.5, 5.0, n)
    lake = rng.random(n) < 0.02
    load = rng.uniform(0.0, 10.0, n)
    roots = rng.choice(np.arange(1, n), size=n_jur - 1, replace=False)
    own = np.full(n, -1, dtype=np.int64)
    own[0] = 0
    own[roots] = np.arange(1, n_jur)
    jur = _label_down(idx_ds, own)
    return {"idx_ds": idx_ds, "tau": tau, "lake": lake, "load": load, "jur": jur}


def _label_down(idx_ds: np.ndarray, own: np.ndarray) -> np.ndarray:
    from numba import njit

    @njit(cache=False)
    def lab(idx_ds: np.ndarray, own: np.ndarray) -> np.ndarray:  # pragma: no cover
        out = own.copy()
        for i in range(idx_ds.shape[0]):  # idx_ds[i] < i: downstream reaches come first
            if out[i] < 0:
                out[i] = out[idx_ds[i]]
        return out

    return lab(idx_ds, own)


def basingov_matrix(t: dict[str, np.ndarray]) -> np.ndarray:
    """Run the timed path: arrays -> routing graph -> keep factors -> matrix."""
    g = routing_graph(t["idx_ds"])
    keep = keep_factors(t["tau"], decay_per_day=DECAY, is_lake=t["lake"])
    return transfer(g, keep, t["load"], t["jur"], is_lake=t["lake"], n_jur=N_JUR).matrix


def networkx_matrix(t: dict[str, np.ndarray]) -> np.ndarray:
    """Peer: per-origin propagation of loads downstream through a networkx DiGraph."""
    n = t["idx_ds"].shape[0]
    keep = keep_factors(t["tau"], decay_per_day=DECAY, is_lake=t["lake"])
    entry = np.where(t["lake"], keep, np.sqrt(keep))
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, int(d)) for i, d in enumerate(t["idx_ds"]) if d >= 0)
    topo = list(nx.topological_sort(g))
    jur = t["jur"]
    s = np.zeros((N_JUR, N_JUR))
    for o in range(N_JUR):
        inflow = dict.fromkeys(g.nodes, 0.0)
        for i in topo:
            out = keep[i] * inflow[i] + (entry[i] * t["load"][i] if jur[i] == o else 0.0)
            for d in g.successors(i):
                inflow[d] += out
                if jur[d] != jur[i]:
                    s[o, jur[d]] += out
    return s


def _time(f, *args, repeat: int = 3) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    best, res = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = f(*args)
        best = min(best, time.perf_counter() - t0)
    return best, res  # type: ignore[return-value]


def _mem_gib() -> float:
    """Total RAM in GiB (Linux), for the record of the machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8_500_000, help="reaches in the big tree")
    ap.add_argument("--n-peer", type=int, default=20_000, help="reaches for the networkx run")
    ap.add_argument("--write", action="store_true", help="update docs/performance.md (P1)")
    args = ap.parse_args()

    small = synthetic_tree(args.n_peer)
    basingov_matrix(small)  # compile the numba kernels (cached on disk afterwards)
    t_small, s_small = _time(basingov_matrix, small, repeat=5)
    t_nx, s_nx = _time(networkx_matrix, small, repeat=1)
    off = ~np.eye(N_JUR, dtype=bool)
    err = float(np.max(np.abs(s_small[off] - s_nx[off])) / max(1e-300, np.max(np.abs(s_nx))))
    print(f"peer size {args.n_peer}: basingov {t_small * 1e3:.1f} ms, networkx {t_nx:.1f} s, "
          f"ratio {t_nx / t_small:.0f}x, max rel diff {err:.1e}")  # fmt: skip

    big = synthetic_tree(args.n)
    t_big, s_big = _time(basingov_matrix, big, repeat=3)
    zones = int((big["jur"][big["idx_ds"][1:]] != big["jur"][1:]).sum()) + 1
    print(f"P1: {args.n:,} reaches, {N_JUR} jurisdictions ({zones} zones): "
          f"{t_big:.2f} s (best of 3); crossing load {s_big[off].sum():.4g} kg/day")  # fmt: skip
    if args.write:
        _write(args, t_big, t_small, t_nx, err, zones)


def _write(args: argparse.Namespace, t_big: float, t_small: float, t_nx: float, err: float,
           zones: int) -> None:  # fmt: skip
    path = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
    text = path.read_text(encoding="utf-8") if path.exists() else (
        "# Performance\n\nBenchmark workloads, measured figures and ratios against peers.\n"
    )  # fmt: skip
    section = (
        "## P1: source-receptor matrix (spillover)\n\n"
        "Workload: `benchmarks/bench_spillover.py` — the full source-receptor matrix on a "
        f"seeded synthetic random tree of {args.n:,} reaches with {N_JUR} contiguous "
        "jurisdictions (each a connected subtree; see the script's docstring), starting "
        "from arrays and including the topological order, keep factors and matrix.\n\n"
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{_mem_gib():.0f} GiB RAM, Python {platform.python_version()}.\n\n"
        "| workload | basingov | networkx per-origin propagation | ratio |\n"
        "|---|---|---|---|\n"
        f"| {args.n:,} reaches, {N_JUR} jurisdictions ({zones} zones) | {t_big:.2f} s | - | - |\n"
        f"| {args.n_peer:,} reaches, {N_JUR} jurisdictions | {t_small * 1e3:.1f} ms | "
        f"{t_nx:.1f} s | {t_nx / t_small:,.0f}x |\n\n"
        f"Target: <= 3 s for the big tree; goal >= 100x against networkx. The two matrices "
        f"agree to {err:.1e} (largest off-diagonal difference relative to the largest "
        "cell).\n\n"
        "Method: two O(n) numba sweeps reduce every same-jurisdiction subtree (zone) to its "
        "own outflow and to transfer, decay and retention factors from its entry points; "
        "only the tree of zones carries the 300 origins (O(n + zones x J)). "
        "Regenerate with `.venv/bin/python benchmarks/bench_spillover.py --write`.\n"
    )
    pat = re.compile(r"## P1:.*?(?=\n## |\n<!-- |\Z)", re.S)
    text = pat.sub(section.rstrip("\n") + "\n", text) if pat.search(text) else (
        text.rstrip("\n") + "\n\n" + section
    )  # fmt: skip
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
