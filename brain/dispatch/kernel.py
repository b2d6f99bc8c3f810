"""The nearest eligible people by road, compiled (numba): the inner loop of `Ranker.rank` along the roads.

One call does what a dispatcher's ranking needs, with no Python between its steps:
- it works in rounds of a growing radius R; each round takes the people newly within R in a straight line,
  read from the staff grid's cells near the point (`StaffIndex.cells`: reached farther by how far anyone
  has moved since the grid was made, and measured where they are now);
- the eligible among them (available or returning, on a team whose duties cover the case, a fresh position, not
  excluded) are snapped to their road through the road grid (the same pieces, cells and tie rule as
  `RoadNetwork.snap`), once;
- a Dijkstra from the point's own snap on the road (both ends of its road, each at its distance along it)
  settles every node within R, continuing where the last round stopped;
- every eligible person found so far is measured again: the way via a settled end of their road is exact,
  and any way via an unsettled node is longer than R, so a distance no longer than R is final;
- once `k` people are within R by road (a road is never shorter than the straight line, so nobody farther
  than R in a straight line can be nearer), or R has reached the limit, the `k` nearest by road are the
  answer, ties to the lower row (the staff id's order).

The answers equal a brute force over every eligible person (`RoadNetwork.distances`); tests hold them to it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True)
def snap_one(px, py, x0, y0, nx, ny, cell_m, table, full, pieces):
    """(edge, distance along it from its `a` end, distance to it) of the nearest road piece; ties to the
    lowest piece. Off the grid, or in a cell whose list was cut, every piece is measured. `pieces`: one row a
    piece (x, y, dx, dy, 1 / length², its edge, where along the edge it starts, its length), so a piece is
    one read of memory."""
    cx = int(np.floor((px - x0) / cell_m))
    cy = int(np.floor((py - y0) / cell_m))
    best, best_t, best_d2 = -1, 0.0, INF
    inside = 0 <= cx < nx and 0 <= cy < ny and full[cy * nx + cx]
    count = table.shape[1] if inside else pieces.shape[0]
    for j in range(count):
        p = table[cy * nx + cx, j] if inside else j
        g = pieces[p]
        ax, ay = px - g[0], py - g[1]
        t = min(max((ax * g[2] + ay * g[3]) * g[4], 0.0), 1.0)
        ax -= t * g[2]
        ay -= t * g[3]
        d2 = ax * ax + ay * ay
        if d2 < best_d2 or (d2 == best_d2 and p < best):
            best, best_t, best_d2 = p, t, d2
    g = pieces[best]
    return int(g[5]), g[6] + best_t * g[7], np.sqrt(best_d2)


@njit(cache=True, inline="always")
def _eligible(i, status, duty, t_fix, interval, now_s, ready, excluded):
    if status[i] < 0 or status[i] > ready or not duty[i] or not now_s - t_fix[i] <= 2.0 * interval[i]:
        return False
    for j in range(excluded.shape[0]):
        if excluded[j] == i:
            return False
    return True


@njit(cache=True, inline="always")
def _excluded(i, excluded):
    for j in range(excluded.shape[0]):
        if excluded[j] == i:
            return True
    return False


@njit(cache=True)
def _push(hk, hv, size, key, val):
    i = size
    hk[i], hv[i] = key, val
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= hk[i]:
            break
        hk[parent], hk[i] = hk[i], hk[parent]
        hv[parent], hv[i] = hv[i], hv[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _pop(hk, hv, size):
    key, val = hk[0], hv[0]
    size -= 1
    hk[0], hv[0] = hk[size], hv[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and hk[left + 1] < hk[left]:
            child = left + 1
        if hk[i] <= hk[child]:
            break
        hk[child], hk[i] = hk[i], hk[child]
        hv[child], hv[i] = hv[i], hv[child]
        i = child
    return key, val, size


@njit(cache=True, nogil=True)
def nearest_by_road(qx, qy, k, limit, radius, max_left_out,
                    sx, sy, status, duty, t_fix, interval, now_s, ready, excluded,  # staff (see below)
                    px0, py0, pnx, pny, pcell, pstart, porder, drift,  # the staff's grid (StaffIndex.cells)
                    indptr, adj, ends,  # the road graph (both ways): (node, length) by node; (a, b, length)
                    pieces,  # the road pieces (see snap_one)
                    x0, y0, nx, ny, cell_m, table, full,  # the road grid
                    dist, settled, hk, hv, touched,  # scratch (see `Scratch`), left as found
                    near_l, straight, cand, road, cand_e, cand_along, cand_off):
    """The `k` nearest eligible people by road within `limit` metres of (qx, qy), nearest first, ties to the
    lower row: (rows, road distances, straight distances, the radius settled at, the left out, their straight
    distances, and whether each left out is eligible but beyond the limit by road; the others are not
    eligible, and the caller says why). The left out are up to `max_left_out` people no farther in a straight
    line than the last one ranked (the radius if nobody was), nearest first, ties to the lower row.
    Staff, by row: metric positions; duty status codes, whether their team takes the case, the time of their
    last fix and their reporting interval: eligible are those whose status code is from 0 to `ready` (available,
    or returning from a case: brain.dispatch.index.STATUS_CODES), whose team takes it and whose fix is no
    older than twice their interval at `now_s`. `excluded` rows (a few: the person the case is with) are never
    ranked nor left out."""
    n_near = 0  # everyone within r in a straight line (near_l, straight), found round by round
    n_touched = 0
    e0, along0, o0 = snap_one(qx, qy, x0, y0, nx, ny, cell_m, table, full, pieces)
    a0, b0, len0 = int(ends[e0, 0]), int(ends[e0, 1]), ends[e0, 2]
    dist[a0] = along0
    touched[n_touched] = a0
    n_touched += 1
    size = _push(hk, hv, 0, along0, a0)
    if len0 - along0 < dist[b0]:
        if dist[b0] == INF:
            touched[n_touched] = b0
            n_touched += 1
        dist[b0] = len0 - along0
        size = _push(hk, hv, size, len0 - along0, b0)
    n_cand = 0  # the eligible measured so far (as places in near_l), with their road distances
    r_before = -1.0
    r = min(radius, limit)
    while True:
        # everyone newly within r in a straight line: the rows of the cells within r (and the drift since
        # the grid was made) of the point, measured where they are now
        lo2, hi2 = r_before * r_before if r_before >= 0 else -1.0, r * r
        reach = r + drift
        ix0 = min(max(int(np.floor((qx - reach - px0) / pcell)), 0), pnx)  # (clamped: nothing off the grid)
        ix1 = max(min(int(np.floor((qx + reach - px0) / pcell)), pnx - 1), -1)
        iy0 = min(max(int(np.floor((qy - reach - py0) / pcell)), 0), pny)
        iy1 = max(min(int(np.floor((qy + reach - py0) / pcell)), pny - 1), -1)
        for cy in range(iy0, iy1 + 1):
            for k_row in range(pstart[cy * pnx + ix0], pstart[cy * pnx + ix1 + 1]):
                i = porder[k_row]
                dx, dy = sx[i] - qx, sy[i] - qy
                d2 = dx * dx + dy * dy
                if lo2 < d2 <= hi2:  # (an unknown position, NaN, never is)
                    near_l[n_near] = i
                    straight[n_near] = np.sqrt(d2)
                    n_near += 1
                    if _eligible(i, status, duty, t_fix, interval, now_s, ready, excluded):
                        e, along, off = snap_one(sx[i], sy[i], x0, y0, nx, ny, cell_m, table, full, pieces)
                        cand[n_cand] = n_near - 1
                        cand_e[n_cand] = e
                        cand_along[n_cand] = along
                        cand_off[n_cand] = off
                        n_cand += 1
        # settle every node within r (the search goes on where the last round stopped)
        while size > 0 and hk[0] <= r:
            key, u, size = _pop(hk, hv, size)
            if settled[u] or key > dist[u]:
                continue
            settled[u] = True
            for j in range(indptr[u], indptr[u + 1]):
                v = int(adj[j, 0])
                nd = key + adj[j, 1]
                if nd < dist[v]:
                    if dist[v] == INF:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    size = _push(hk, hv, size, nd, v)
        # every eligible one measured (again: a way via a node settled since may be shorter)
        within = 0
        for j in range(n_cand):
            e, along = cand_e[j], cand_along[j]
            a, b = int(ends[e, 0]), int(ends[e, 1])
            via = INF
            if settled[a]:
                via = dist[a] + along
            if settled[b]:
                via = min(via, dist[b] + (ends[e, 2] - along))
            if e == e0:
                via = min(via, abs(along - along0))
            road[j] = o0 + via + cand_off[j]
            if road[j] <= r:
                within += 1
        if within >= k or r >= limit:
            break
        r_before, r = r, min(limit, max(r * 2.0, 1.0))
    # the answer: the k nearest by road within r (final there), ties to the lower row
    final = np.empty(n_cand, dtype=np.int64)
    m = 0
    for j in range(n_cand):
        if road[j] <= r:
            final[m] = j
            m += 1
    final = final[:m]
    final = final[np.argsort(near_l[cand[final]], kind="mergesort")]  # by row, then stably by distance
    final = final[np.argsort(road[final], kind="mergesort")][:k]
    out_rows = near_l[cand[final]]
    out_road = road[final]
    out_straight = straight[cand[final]]
    # the left out: not eligible, or eligible and known to be beyond the limit by road
    cut = out_straight[-1] if out_rows.shape[0] else r
    beyond = np.zeros(n_near, dtype=np.bool_)
    if r >= limit:
        for j in range(n_cand):
            if road[j] > limit:
                beyond[cand[j]] = True
    left = np.empty(n_near, dtype=np.int64)
    n_left = 0
    for jj in range(n_near):
        i = near_l[jj]
        if straight[jj] <= cut and not _excluded(i, excluded) and (
                beyond[jj] or not _eligible(i, status, duty, t_fix, interval, now_s, ready, excluded)):
            left[n_left] = jj
            n_left += 1
    left = left[:n_left]
    left = left[np.argsort(near_l[left], kind="mergesort")]  # by row, then stably by straight distance
    left = left[np.argsort(straight[left], kind="mergesort")][:max_left_out]
    left_rows, left_straight, left_beyond = near_l[left], straight[left], beyond[left]
    for j in range(n_touched):  # the scratch as it was found
        dist[touched[j]] = INF
        settled[touched[j]] = False
    return out_rows, out_road, out_straight, r, left_rows, left_straight, left_beyond


class Scratch:
    """What `nearest_by_road` works in, kept between calls (allocating it each time cost more than the
    search): one per thread that ranks. The node arrays are left as found by each call."""

    def __init__(self, nodes: int, edges2: int) -> None:
        self.dist = np.full(nodes, INF)
        self.settled = np.zeros(nodes, dtype=np.bool_)
        self.hk = np.empty(edges2 + 2)
        self.hv = np.empty(edges2 + 2, dtype=np.int64)
        self.touched = np.empty(nodes, dtype=np.int64)
        self.people = -1
        self.per_person: tuple = ()

    def args(self, people: int) -> tuple:
        if self.people < people:
            self.people = people
            self.per_person = (np.empty(people, dtype=np.int64), np.empty(people), np.empty(people, dtype=np.int64),
                               np.empty(people), np.empty(people, dtype=np.int64), np.empty(people), np.empty(people))
        return (self.dist, self.settled, self.hk, self.hv, self.touched, *self.per_person)
