"""The nearest eligible people by road, compiled (numba): the inner loop of `Ranker.rank` along the roads.

One call does what a dispatcher's ranking needs, with no Python between its steps:
- it works in rounds of a growing radius R; each round takes the people newly within R in a straight line,
  read from the staff grid's cells near the point (`StaffIndex`: everyone's row of memory in the order of the
  cells, so a neighbourhood is read in a few runs; reached farther by how far anyone has moved since the grid
  was made, and measured where they are now);
- the eligible among them (available or returning, on a team whose duties cover the case, a fresh position, not
  excluded) bring their snap to the roads, made when their fix came (`take_fix`: the same pieces, cells and
  tie rule as `RoadNetwork.snap`);
- a Dijkstra from the point's own snap on the road (both ends of its road, each at its distance along it)
  settles every node within R, continuing where the last round stopped;
- every eligible person found so far is measured again: the way via a settled end of their road is exact,
  and any way via an unsettled node is longer than R, so a distance no longer than R is final;
- once `k` people are within R by road (a road is never shorter than the straight line, so nobody farther
  than R in a straight line can be nearer), or R has reached the limit, the `k` nearest by road are the
  answer, ties to the lower row (the staff id's order), with their ETA; and the people left out near them,
  with why.

The answers equal a brute force over every eligible person (`RoadNetwork.distances`); tests hold them to it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from geodata.crs import tm_point

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


# A person's row in the packed people array (`StaffIndex`: one row of memory a person, in the order of the
# staff grid's cells, so the people near a point are read in a run): where they are, the time of their last
# fix, their reporting interval, their duty status code, their row in the index (the staff id's order), their
# travel speed (m/s), and their snap to the roads as of their last fix (`snap_one`: the road, the distance
# along it from its `a` end, the distance to it; the road -1 when not snapped)
PX, PY, PT, PINTERVAL, PSTATUS, PROW, PSPEED, PEDGE, PALONG, POFF = range(10)
PEOPLE_COLUMNS = 10
# why someone near was left out (`Ranker` names them): not on duty, busy with a case, their team does not take
# the case, their position is stale, eligible but beyond the limit by road
OFF_DUTY, BUSY, WRONG_DUTY, POSITION_STALE, TOO_FAR_BY_ROAD = range(5)


@njit(cache=True)
def snap_many(xs, ys, x0, y0, nx, ny, cell_m, table, full, pieces):
    """`snap_one` for each point, as an array of rows (road, along, off); a point with no position, or no roads
    (no pieces): road -1."""
    out = np.empty((xs.shape[0], 3))
    for i in range(xs.shape[0]):
        if np.isfinite(xs[i]) and np.isfinite(ys[i]) and pieces.shape[0] > 0:
            e, along, off = snap_one(xs[i], ys[i], x0, y0, nx, ny, cell_m, table, full, pieces)
            out[i, 0], out[i, 1], out[i, 2] = e, along, off
        else:
            out[i, 0], out[i, 1], out[i, 2] = -1.0, np.nan, np.nan
    return out


@njit(cache=True, nogil=True)
def take_fix(i, x, y, ts, xs, ys, t_fix, bx, by, people, place, x0, y0, nx, ny, cell_m, table, full, pieces):
    """A position fix (metres, epoch seconds) for index row `i`, written into the row arrays (`xs`, `ys`,
    `t_fix`) and into the person's packed row (at `place[i]`) with their snap to the roads (none without
    pieces), unless older than the fix held. Returns how far they now are from where the grid saw them
    (`bx`, `by`): -1 for a fix ignored as older, infinity for a first position."""
    if ts < t_fix[i]:  # (never true against NaN: no position yet)
        return -1.0
    xs[i], ys[i], t_fix[i] = x, y, ts
    p = place[i]
    people[p, PX], people[p, PY], people[p, PT] = x, y, ts
    if pieces.shape[0] > 0:
        e, along, off = snap_one(x, y, x0, y0, nx, ny, cell_m, table, full, pieces)
        people[p, PEDGE], people[p, PALONG], people[p, POFF] = e, along, off
    if not np.isfinite(bx[i]):
        return INF
    return np.hypot(x - bx[i], y - by[i])


@njit(cache=True, inline="always")
def _eligible(j, people, duty, now_s, ready):
    st = people[j, PSTATUS]
    return 0.0 <= st <= ready and duty[j] and now_s - people[j, PT] <= 2.0 * people[j, PINTERVAL]


@njit(cache=True, inline="always")
def _why(status, duty_ok, off, ready):
    """Why someone who is not eligible may not be ranked: OFF_DUTY ... POSITION_STALE."""
    if status == off:
        return OFF_DUTY
    if status > ready:
        return BUSY
    if not duty_ok:
        return WRONG_DUTY
    return POSITION_STALE


@njit(cache=True)
def reasons(status, duty, off, ready):
    """`_why` for each of these people (duty status codes, whether their team takes the case), none eligible."""
    out = np.empty(status.shape[0], dtype=np.int64)
    for i in range(status.shape[0]):
        out[i] = _why(status[i], duty[i], off, ready)
    return out


@njit(cache=True, inline="always")
def _excluded(row, excluded):
    for j in range(excluded.shape[0]):
        if excluded[j] == row:
            return True
    return False


@njit(cache=True)
def first_radius(k, density, spread, least, limit):
    """Where `k` suitable people are expected to be found (`density` of them a square metre; `spread` times
    farther), no nearer than `least` and no farther than `limit`."""
    expected = np.sqrt(k / (np.pi * density)) * spread if density > 0 else limit
    return min(max(expected, least), limit)


@njit(cache=True, inline="always")
def _keep(keys, rows, what, n, most, key, row, item):
    """Put (key, row, item) in its place in a list sorted by key then row, of `n` entries and at most `most` (the
    last falls off when full); returns the new length."""
    if most == 0 or (n == most and (key > keys[n - 1] or (key == keys[n - 1] and row >= rows[n - 1]))):
        return n
    i = n if n < most else most - 1
    while i > 0 and (keys[i - 1] > key or (keys[i - 1] == key and rows[i - 1] > row)):
        keys[i], rows[i], what[i] = keys[i - 1], rows[i - 1], what[i - 1]
        i -= 1
    keys[i], rows[i], what[i] = key, row, item
    return n + 1 if n < most else n


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
def nearest_by_road(qx, qy, k, limit, least, max_left_out,
                    density, now_s, ready, off, people, duty, excluded, pgrid, pstart,  # (StaffIndex.kernel_args)
                    tm,  # the projection's constants, or none (see below)
                    indptr, adj, ends,  # the road graph (both ways): (node, length) by node; (a, b, length)
                    pieces,  # the road pieces (see snap_one)
                    x0, y0, nx, ny, cell_m, table, full,  # the road grid
                    floats, settled, ints):  # scratch (see `Scratch`), left as found
    """The `k` nearest eligible people by road within `limit` metres of the point, nearest first, ties to the
    lower row, and who was left out near them. The point is (qx, qy) in metres; or, when `tm` holds a
    transverse Mercator's constants (`MetricCRS.compiled`), their lon/lat, projected here.

    Returns (ranked, left out, the places in `people` of the ranked then of the left out, the point in metres).
    `ranked` has a row a person: their place in `people`, road distance, straight distance, ETA in seconds (at their
    speed), duty status code and row in the index. `left out` has up to `max_left_out` people no farther in a
    straight line than the last one ranked (the radius if nobody was), nearest first, ties to the lower row: their
    place, straight distance, why (OFF_DUTY ... TOO_FAR_BY_ROAD: not eligible, or eligible and beyond the limit by
    road) and row.

    The search starts at `first_radius` (by road, twice as far as `k` are expected at `density`; no nearer
    than `least`) and doubles. The staff: `people` (see PX ... POFF) in the order of the staff grid's
    cells, `duty` whether each one's team takes the case (in the same order), `pgrid` the grid (x0, y0, nx,
    ny, cell size, how far anyone has moved since it was made) and `pstart` where each cell's people start.
    Eligible are those whose status code is from 0 to `ready` (available, or returning from a case:
    brain.dispatch.index.STATUS_CODES; `off` is off duty's), whose team takes it and whose fix is no older than
    twice their interval at `now_s`.
    `excluded` rows (a few: the person the case is with) are never ranked nor left out."""
    if tm.shape[0]:
        qx, qy = tm_point(qx, qy, tm)
    nodes, heap, n = indptr.shape[0] - 1, adj.shape[0] + 2, people.shape[0]
    dist, hk = floats[:nodes], floats[nodes:nodes + heap]  # (the scratch's parts: see `Scratch`)
    o = nodes + heap
    straight, road, cand_along, cand_off = floats[o:o + n], floats[o + n:o + 2 * n], floats[o + 2 * n:o + 3 * n], \
        floats[o + 3 * n:o + 4 * n]
    hv, touched = ints[:heap], ints[heap:heap + nodes]
    o = heap + nodes
    near_k, cand, cand_e = ints[o:o + n], ints[o + n:o + 2 * n], ints[o + 2 * n:o + 3 * n]
    px0, py0, pnx, pny, pcell, drift = pgrid[0], pgrid[1], int(pgrid[2]), int(pgrid[3]), pgrid[4], pgrid[5]
    n_near = 0  # everyone within r in a straight line (as places in `people`, with their distances)
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
    n_cand = 0  # the eligible measured so far (as places in near_k), with their road distances
    r_before = -1.0
    r = first_radius(k, density, 2.0, least, limit)  # (a way along the roads is about 1.3 times the straight line)
    while True:
        # everyone newly within r in a straight line: the people of the cells within r (and the drift since
        # the grid was made) of the point, measured where they are now
        lo2, hi2 = r_before * r_before if r_before >= 0 else -1.0, r * r
        reach = r + drift
        ix0 = min(max(int(np.floor((qx - reach - px0) / pcell)), 0), pnx)  # (clamped: nothing off the grid)
        ix1 = max(min(int(np.floor((qx + reach - px0) / pcell)), pnx - 1), -1)
        iy0 = min(max(int(np.floor((qy - reach - py0) / pcell)), 0), pny)
        iy1 = max(min(int(np.floor((qy + reach - py0) / pcell)), pny - 1), -1)
        for cy in range(iy0, iy1 + 1):
            for j in range(pstart[cy * pnx + ix0], pstart[cy * pnx + ix1 + 1]):
                dx, dy = people[j, PX] - qx, people[j, PY] - qy
                d2 = dx * dx + dy * dy
                if lo2 < d2 <= hi2:  # (an unknown position, NaN, never is)
                    near_k[n_near] = j
                    straight[n_near] = np.sqrt(d2)
                    n_near += 1
                    if _eligible(j, people, duty, now_s, ready) and not _excluded(int(people[j, PROW]), excluded):
                        e, along, off_road = int(people[j, PEDGE]), people[j, PALONG], people[j, POFF]
                        if e < 0:  # (not snapped at the fix: the index has no roads)
                            e, along, off_road = snap_one(people[j, PX], people[j, PY], x0, y0, nx, ny, cell_m,
                                                          table, full, pieces)
                        cand[n_cand] = n_near - 1
                        cand_e[n_cand] = e
                        cand_along[n_cand] = along
                        cand_off[n_cand] = off_road
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
    # the answer: the k nearest by road within r (final there), ties to the lower row (each put in its place in
    # a short sorted list: k is small)
    best_d, best_row, best_j = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    n_best = 0
    for j in range(n_cand):
        d = road[j]
        if d <= r:
            row = people[near_k[cand[j]], PROW]
            n_best = _keep(best_d, best_row, best_j, n_best, k, d, row, j)
    ranked = np.empty((n_best, 6))
    places = np.empty(n_best + max_left_out, dtype=np.int64)
    for i in range(n_best):
        j = best_j[i]
        p = near_k[cand[j]]
        ranked[i, 0] = p
        places[i] = p
        ranked[i, 1] = road[j]
        ranked[i, 2] = straight[cand[j]]
        ranked[i, 3] = road[j] / people[p, PSPEED]
        ranked[i, 4] = people[p, PSTATUS]
        ranked[i, 5] = people[p, PROW]
    # the left out: not eligible, or eligible and known to be beyond the limit by road; the nearest, ties to the
    # lower row
    cut = ranked[n_best - 1, 2] if n_best else r
    beyond = cand_e  # (reused: which of the near are eligible and beyond the limit, when the limit was reached)
    far = r >= limit
    if far:
        for jj in range(n_near):
            beyond[jj] = 0
        for j in range(n_cand):
            if road[j] > limit:
                beyond[cand[j]] = 1
    left_d, left_row, left_j = np.empty(max_left_out), np.empty(max_left_out), np.empty(max_left_out, dtype=np.int64)
    n_left = 0
    for jj in range(n_near):
        p = near_k[jj]
        row = people[p, PROW]
        if straight[jj] <= cut and not _excluded(int(row), excluded) and (
                (far and beyond[jj] == 1) or not _eligible(p, people, duty, now_s, ready)):
            n_left = _keep(left_d, left_row, left_j, n_left, max_left_out, straight[jj], row, jj)
    left_out = np.empty((n_left, 4))
    for i in range(n_left):
        jj = left_j[i]
        p = near_k[jj]
        left_out[i, 0] = p
        places[n_best + i] = p
        left_out[i, 1] = straight[jj]
        left_out[i, 2] = TOO_FAR_BY_ROAD if far and beyond[jj] == 1 else _why(people[p, PSTATUS], duty[p], off, ready)
        left_out[i, 3] = people[p, PROW]
    for j in range(n_touched):  # the scratch as it was found
        dist[touched[j]] = INF
        settled[touched[j]] = False
    return ranked, left_out, places[:n_best + n_left], qx, qy


class Scratch:
    """What `nearest_by_road` works in, kept between calls (allocating it each time cost more than the search): one
    per thread that ranks, with the arguments that do not change (the projection's constants and the road network),
    so a ranking hands over the ones it does not make itself in one tuple (`args`). Floats: the distance to each
    node (infinity between calls), the heap's keys, and four per person; integers: the heap's nodes, the nodes
    touched, and three per person; whether each node is settled (false between calls)."""

    def __init__(self, statics: tuple, nodes: int, edges2: int) -> None:
        self.statics, self.nodes, self.heap = statics, nodes, edges2 + 2
        self.settled = np.zeros(nodes, dtype=np.bool_)
        self.people = -1
        self.ready: tuple = ()

    def args(self, people: int) -> tuple:
        """The roads' arguments and the scratch, for an index of `people` (made anew when it has grown)."""
        if self.people < people:
            self.people = people
            floats = np.empty(self.nodes + self.heap + 4 * people)
            floats[:self.nodes] = INF
            ints = np.empty(self.heap + self.nodes + 3 * people, dtype=np.int64)
            self.ready = (*self.statics, floats, self.settled, ints)
        return self.ready
