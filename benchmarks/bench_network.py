"""Benchmark P2: network build + validate + topological order vs networkx.

Run ``python benchmarks/bench_network.py`` (``--sizes`` and ``--nx-size`` to change the
workload). Prints a table and rewrites the P2 section of ``docs/performance.md``.

Workload: seeded random recursive trees (each reach drains to a uniformly random reach
with a higher index, then ids and row positions are shuffled), so the reach table is in
no particular order. "build + validate + order" is what
:func:`basingov.network.network_from_table` does on the id columns: map downstream ids to
positions, check duplicated / dangling ids, self-loops, cycles, find outlets and the
sizes of disconnected pieces, and compute a topological order. The geometry columns and
derived quantities are not part of this timing (they are separate, O(n) numpy passes).
The peer is ``networkx.topological_sort`` on a ``DiGraph`` of the same edges.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import time
from pathlib import Path

import networkx as nx
import numpy as np

from basingov.network import OUTLET_ID
from basingov.network import _kernels as K
from basingov.network._topology import _map_ids, _topology

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- P2:start -->", "<!-- P2:end -->"


def random_tree(n: int, seed: int, *, sparse_ids: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Reach ids and downstream ids of a shuffled random recursive tree with one outlet."""
    rng = np.random.default_rng(seed)
    i = np.arange(n - 1)
    parent = i + 1 + (rng.random(n - 1) * (n - 1 - i)).astype(np.int64)
    if sparse_ids:
        ids = np.unique(rng.integers(1, 2**62, size=n + n // 100))[:n]
        ids = rng.permutation(ids)
    else:
        ids = rng.permutation(n).astype(np.int64) + 1
    ds = np.empty(n, dtype=np.int64)
    ds[:-1] = ids[parent]
    ds[-1] = OUTLET_ID
    perm = rng.permutation(n)  # row order unrelated to topology
    return ids[perm], ds[perm]


def core(ids: np.ndarray, ds: np.ndarray) -> np.ndarray:
    _idx, order, _, sizes = _topology(
        ids,
        ds,
        outlet_value=OUTLET_ID,
        bifurcations=None,
        allow_cycles=False,
        expect_single_outlet=True,
    )
    if order.shape[0] != ids.shape[0] or sizes != [ids.shape[0]]:
        msg = "benchmark tree is not a single valid tree"
        raise RuntimeError(msg)
    return order


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def stages(ids: np.ndarray, ds: np.ndarray, repeat: int) -> tuple[float, float, float]:
    """Best kernel times of ``_topology``: id mapping, order, order with piece sizes.

    The last is what several outlets cost (the piece-size sweep is skipped for one).
    """
    t_map = best_of(lambda: _map_ids(ids, ds, OUTLET_ID), repeat)
    idx, indeg, _, _ = _map_ids(ids, ds, OUTLET_ID)
    n = ids.shape[0]

    def order(pieces: bool) -> None:
        out = np.empty(1, dtype=np.int64)
        count = np.ones(n if pieces else 0, dtype=indeg.dtype)
        K.tree_order(idx, indeg.copy(), np.empty(n, np.int64), count, out, out)

    return (
        t_map,
        best_of(lambda: order(False), repeat),
        best_of(lambda: order(True), repeat),
    )


def check_order(ids: np.ndarray, ds: np.ndarray, order: np.ndarray) -> None:
    idx_ds, _, _, _ = _topology(
        ids,
        ds,
        outlet_value=OUTLET_ID,
        bifurcations=None,
        allow_cycles=False,
        expect_single_outlet=True,
    )
    rank = np.empty(ids.shape[0], dtype=np.int64)
    rank[order] = np.arange(ids.shape[0])
    has = idx_ds >= 0
    if not (rank[has] < rank[idx_ds[has]]).all():
        msg = "topological order violated"
        raise RuntimeError(msg)


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} logical cores{mem}, {cpu}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 8_500_000])
    ap.add_argument("--nx-size", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = ap.parse_args()

    # JIT warm-up (numba compiles or loads its cache once per process)
    w_ids, w_ds = random_tree(1000, 0)
    core(w_ids, w_ds)

    rows = []
    for n in args.sizes:
        for sparse_ids in (False, True):
            ids, ds = random_tree(n, seed=42, sparse_ids=sparse_ids)
            order = core(ids, ds)
            check_order(ids, ds, order)
            t = best_of(lambda ids=ids, ds=ds: core(ids, ds), args.repeat)
            rows.append((n, "sparse 62-bit" if sparse_ids else "dense", t))
            print(f"basingov  n={n:>10,}  ids={rows[-1][1]:<14} {t:8.3f} s", flush=True)

    n = args.nx_size
    ids, ds = random_tree(n, seed=42)
    edges = list(zip(ids[ds != OUTLET_ID].tolist(), ds[ds != OUTLET_ID].tolist(), strict=True))
    t0 = time.perf_counter()
    g = nx.DiGraph()
    g.add_nodes_from(ids.tolist())
    g.add_edges_from(edges)
    t_build = time.perf_counter() - t0
    nx_order = list(nx.topological_sort(g))
    if len(nx_order) != n:
        msg = "networkx order incomplete"
        raise RuntimeError(msg)
    t_sort = best_of(lambda: list(nx.topological_sort(g)), args.repeat)
    ours = best_of(lambda: core(ids, ds), args.repeat)
    t_map, t_order, t_pieces = stages(ids, ds, args.repeat)
    print(f"networkx  n={n:>10,}  DiGraph build {t_build:.3f} s, topological_sort {t_sort:.3f} s")
    print(f"ratio (networkx sort only / basingov)       {t_sort / ours:8.1f}x")
    print(f"ratio (networkx build+sort / basingov)      {(t_build + t_sort) / ours:8.1f}x")
    print(
        f"stages: ids + checks {t_map:.3f} s, order + outlets {t_order:.3f} s, "
        f"with piece sizes {t_pieces:.3f} s"
    )

    lines = [
        START,
        "## P2: river network build + validate + topological order",
        "",
        "Workload (`benchmarks/bench_network.py`, seed 42): shuffled random recursive trees",
        "(every reach drains to a uniformly random reach with a higher index; ids and rows",
        "are permuted), one outlet. Timed: `basingov.network._topology`, the array core of",
        "`network_from_table` (id to position mapping, duplicate / dangling / self-loop checks,",
        "Kahn topological order with cycle detection, outlets and piece sizes), numba +",
        "numpy, no per-reach Python loops. Best of "
        f"{args.repeat} runs after JIT warm-up, for networkx too (its `DiGraph` is built",
        "once). Peer: `networkx.topological_sort` on a `DiGraph` of the same edges, in the",
        "same process.",
        "",
        f"Machine: {machine()}. Run on {datetime.date.today().isoformat()}.",
        "",
        "| reaches | ids | basingov (s) | target |",
        "|---:|---|---:|---|",
    ]
    for n_, kind, t in rows:
        target = "≤ 2 s" if n_ >= 8_500_000 else ""
        lines.append(f"| {n_:,} | {kind} | {t:.3f} | {target} |")
    lines += [
        "",
        "| reaches | networkx DiGraph build (s) | networkx topological_sort (s) | "
        "basingov (s) | ratio sort only | ratio build + sort |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {n:,} | {t_build:.2f} | {t_sort:.2f} | {ours:.3f} | {t_sort / ours:.0f}x | "
        f"{(t_build + t_sort) / ours:.0f}x |",
        "",
        '"Sort only" is the strict comparison (networkx gets its graph for free);',
        '"build + sort" counts the `DiGraph` construction, since basingov\'s time includes',
        "its own build. Target: 8.5M reaches ≤ 2 s and ≥ 50x networkx.",
        "",
        f"Where the time goes ({n:,} reaches, dense ids): id mapping with the duplicate /",
        f"dangling / self-loop / outlet-id checks and in-degrees {t_map:.3f} s; Kahn order",
        f"with outlets {t_order:.3f} s ({t_pieces:.3f} s when the piece sizes are swept too,",
        "as with several outlets); the rest is allocation and Python glue. Both are",
        "numba kernels (`basingov.network._kernels.map_ids_dense` / `map_ids_hash`, `tree_order`),",
        "each bound by one or two random memory accesses per reach.",
        "",
        "How: dense ids (a permutation of 1..n, span ≤ 4n + 1024) go through an O(n) lookup",
        "table, sparse ids (random 62-bit, like HydroBASINS' 10-digit ids) through an",
        "open-addressing hash table with Fibonacci hashing and key and position in one",
        "cache line; random probes make them slower. The mapping pass also counts the",
        "checks (they run on every build; the offending ids are only gathered when a",
        "count is non-zero) and the in-degrees, so Kahn's pass needs no extra sweep; it",
        "records the outlets and, when there are several, accumulates the piece sizes in",
        "the same sweep (with one outlet and a complete order the one piece is the whole",
        "network). Work arrays are",
        "allocated by numpy, which backs them with huge pages (numba's allocator does",
        "not): at 8.5M reaches that alone made the random accesses ~1.6x faster.",
        "",
        "Before (same machine, earlier on 2026-11-23, separate passes: numpy gathers for the",
        "mapping, Kahn, a reverse sweep labelling outlets and a bincount of the labels):",
        "1M 0.055 s dense / 0.072 s sparse, 8.5M 1.008 s / 1.619 s, 44-54x networkx sort",
        "only. Sparse ids at 1M gained least: there the hash probes dominate.",
        END,
    ]
    section = "\n".join(lines)
    print()
    print(section)
    if args.no_write:
        return
    text = (
        DOC.read_text(encoding="utf-8")
        if DOC.exists()
        else (
            "# Performance\n\nBenchmark workloads and results; each section is written by its "
            "benchmark script under `benchmarks/`.\n"
        )
    )
    if START in text and END in text:
        text = re.sub(
            re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
