"""Numba kernels of the spillover routing (dense sweep, tree zones)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sweep_dense", "tree_local", "tree_paths", "tree_reverse", "tree_zones"]


@njit(cache=True)
def sweep_dense(  # pragma: no cover - compiled
    order: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    frac: np.ndarray,
    keep: np.ndarray,
    entry: np.ndarray,
    load: np.ndarray,
    origin: np.ndarray,
    lake: np.ndarray,
    flux: np.ndarray,
    gen: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    dlv: np.ndarray,
) -> None:
    """Route every origin at once along an acyclic network (``flux`` holds n x J, zeroed)."""
    nj = flux.shape[1]
    for k in range(order.shape[0]):
        i = order[k]
        o = origin[i]
        fsum = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            fsum += frac[e]
        out_frac = 1.0 - fsum
        kp = keep[i]
        for j in range(nj):
            u = flux[i, j]
            out = kp * u
            loss = (1.0 - kp) * u
            if j == o:
                out += entry[i] * load[i]
                loss += (1.0 - entry[i]) * load[i]
            flux[i, j] = out
            if lake[i]:
                ret[j] += loss
            else:
                dec[j] += loss
            dlv[j] += out * out_frac
            for e in range(indptr[i], indptr[i + 1]):
                flux[indices[e], j] += frac[e] * out
        gen[o] += load[i]


@njit(cache=True)
def tree_local(  # pragma: no cover - compiled
    order: np.ndarray,
    idx_ds: np.ndarray,
    keep: np.ndarray,
    entry: np.ndarray,
    load: np.ndarray,
    jur: np.ndarray,
    lake: np.ndarray,
    gen: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
) -> np.ndarray:
    """Accumulate each node's own-jurisdiction load inside its zone; return zone outflows."""
    n = idx_ds.shape[0]
    acc = np.zeros(n)
    for k in range(order.shape[0]):
        i = order[k]
        u = acc[i]
        g = load[i]
        f = keep[i] * u + entry[i] * g
        loss = (1.0 - keep[i]) * u + (1.0 - entry[i]) * g
        o = jur[i]
        gen[o] += g
        if lake[i]:
            ret[o] += loss
        else:
            dec[o] += loss
        acc[i] = f
        d = idx_ds[i]
        if d >= 0 and jur[d] == o:
            acc[d] += f
    return acc


@njit(cache=True)
def tree_reverse(  # pragma: no cover - compiled
    order: np.ndarray,
    idx_ds: np.ndarray,
    keep: np.ndarray,
    jur: np.ndarray,
    lake: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zone of each node, zone exits, and transfer/decay/retention factors to the exit.

    Zones are numbered downstream first, so every upstream zone has a larger number.
    ``trans[i]`` is the fraction of load entering node ``i`` (at its inflow) that leaves
    its zone's exit; ``rho[i]``/``dlt[i]`` the fractions retained in lakes / decayed on
    the way.
    """
    n = idx_ds.shape[0]
    zone = np.empty(n, dtype=np.int64)
    trans = np.empty(n)
    rho = np.empty(n)
    dlt = np.empty(n)
    exits = np.empty(n, dtype=np.int64)
    nz = 0
    for k in range(order.shape[0] - 1, -1, -1):
        i = order[k]
        d = idx_ds[i]
        if d < 0 or jur[d] != jur[i]:
            zone[i] = nz
            exits[nz] = i
            nz += 1
            tn = 1.0
            rn = 0.0
            dn = 0.0
        else:
            zone[i] = zone[d]
            tn = trans[d]
            rn = rho[d]
            dn = dlt[d]
        kp = keep[i]
        trans[i] = kp * tn
        if lake[i]:
            rho[i] = (1.0 - kp) + kp * rn
            dlt[i] = kp * dn
        else:
            rho[i] = kp * rn
            dlt[i] = (1.0 - kp) + kp * dn
    return zone, exits[:nz].copy(), trans, rho, dlt


@njit(cache=True)
def tree_zones(  # pragma: no cover - compiled
    exits: np.ndarray,
    zone: np.ndarray,
    idx_ds: np.ndarray,
    jur: np.ndarray,
    acc: np.ndarray,
    trans: np.ndarray,
    rho: np.ndarray,
    dlt: np.ndarray,
    j0: int,
    j1: int,
    smat: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    dlv: np.ndarray,
    exported: np.ndarray,
    returned: np.ndarray,
    border_zone: np.ndarray,
    border_flux: np.ndarray,
) -> None:
    """Propagate origin vectors (origins ``j0 <= o < j1``) over the tree of zones."""
    nz = exits.shape[0]
    nj = j1 - j0
    x = np.zeros((nz, nj))
    for z in range(nz):
        o = jur[exits[z]]
        if j0 <= o < j1:
            x[z, o - j0] = acc[exits[z]]
    for z in range(nz - 1, -1, -1):
        e = exits[z]
        d = idx_ds[e]
        if d < 0:
            for j in range(nj):
                dlv[j0 + j] += x[z, j]
            continue
        z2 = zone[d]
        r = jur[d]
        o = jur[e]
        t = trans[d]
        rh = rho[d]
        dl = dlt[d]
        b = border_zone[z]
        for j in range(nj):
            v = x[z, j]
            if v == 0.0:
                continue
            x[z2, j] += t * v
            smat[j0 + j, r] += v
            ret[j0 + j] += rh * v
            dec[j0 + j] += dl * v
            if b >= 0:
                border_flux[b, j0 + j] = v
        if j0 <= o < j1:
            exported[o] += x[z, o - j0]
        if j0 <= r < j1:
            returned[r] += x[z, r - j0]


@njit(cache=True)
def tree_paths(  # pragma: no cover - compiled
    idx_ds: np.ndarray,
    keep: np.ndarray,
    entry: np.ndarray,
    lake: np.ndarray,
    node: np.ndarray,
    origin: np.ndarray,
    load: np.ndarray,
    border_of: np.ndarray,
    extra: np.ndarray,
    gen: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    dlv: np.ndarray,
) -> None:
    """Follow each point load down its path of a tree (few loads, any number of origins).

    ``border_of[k]`` is the row of ``extra`` (border links x origins) of the link leaving
    node ``k``, -1 if that link is not a border; the flux leaving ``k`` is added there.
    """
    for e in range(node.shape[0]):
        i = node[e]
        o = origin[e]
        g = load[e]
        gen[o] += g
        f = entry[i] * g
        if lake[i]:
            ret[o] += g - f
        else:
            dec[o] += g - f
        k = i
        while True:
            b = border_of[k]
            if b >= 0:
                extra[b, o] += f
            d = idx_ds[k]
            if d < 0:
                dlv[o] += f
                break
            nf = keep[d] * f
            if lake[d]:
                ret[o] += f - nf
            else:
                dec[o] += f - nf
            f = nf
            k = d
            if f == 0.0:
                break
