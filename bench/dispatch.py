"""recommend() with 10,000 staff moving every second, beside NumPy, PostGIS and Redis on the same data.

    python -m bench.dispatch [--staff 10000] [--seconds 20] [--queries-per-second 100]

Needs PostgreSQL with PostGIS and pgRouting (Debian: postgresql-15-postgis-3, postgresql-15-pgrouting) at
DATABASE_URL and Redis at REDIS_URL
(defaults: the local servers). Each simulated second every on-duty person moves (walking or cycling
speed), the index takes the fixes (upkeep, timed), then queries at random points ask for the 10
nearest suitable, fresh people who may be sent (available, or returning from a case: 60% and 10% of
the staff). The same questions go, on the same positions, to:
- a brute-force NumPy scan over all staff;
- PostGIS: ``ORDER BY geom <-> point LIMIT`` on a GiST index (positions updated every second, untimed);
- Redis: ``GEOSEARCH ... BYRADIUS ... ASC`` then the eligibility filter in Python.
Every answer is checked against the brute force's: the ranker's and PostGIS's name the same people in the same
order; Redis's (52-bit geohash positions, distances on a sphere) the same distances to within 1 m + 0.6%.
The straight-line ranking is compared with those three. By road, on a share of the same questions, the
ranker (compiled: the eligible within a growing radius, each with the snap to the road the index made at
their fix, a Dijkstra from the point that settles the radius round by round; each ranked person's workload
from memory, as recommend() gives it) is compared with a NumPy brute force measuring every eligible person
within reach by road, and with PostGIS (index-ordered KNN, each person snapped to a road in SQL) plus pgRouting's
`pgr_dijkstraCost` from the case's road: the three must name the same people in the same order.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import UTC, datetime

import numpy as np

from bench._util import show, summary
from brain.dispatch.roads import RoadNetwork
from brain.dispatch.service import Ranker
from brain.staff.service import StaffView
from geodata.district import District

TEAMS_DUTIES = [["E05"], ["C01"], ["E01", "E05"], ["E06"], ["C01", "C02"]]


def make_staff(district, n, rng):
    minx, miny, maxx, maxy = district.boundary.bounds
    now = datetime.now(UTC)
    staff = []
    for i in range(n):
        duties = TEAMS_DUTIES[i % len(TEAMS_DUTIES)]
        u = rng.random()  # 60% available, 10% returning from a case (may be sent too), the rest busy or off duty
        status = "available" if u < 0.6 else "returning" if u < 0.7 else str(rng.choice(["en_route", "on_scene",
                                                                                           "off_duty"]))
        staff.append(StaffView(id=f"S{i:06d}", name="", team_id=f"T{i % 500:03d}", team_name="", department="",
                               department_name="", duties=duties, status=status,
                               mode="cycle" if i % 3 == 0 else "walk", lon=float(rng.uniform(minx, maxx)),
                               lat=float(rng.uniform(miny, maxy)), position_at=now, report_interval_s=30))
    return staff


SNAP_SQL = """
SELECT s.id, e.id, e.source, e.target, e.cost, ST_LineLocatePoint(e.geom, s.geom) * e.cost,
       ST_Distance(e.geom, s.geom), ST_Distance(s.geom, q.pt)
FROM (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(srid)s) AS pt) q,
LATERAL (SELECT id, geom FROM staff
         WHERE available AND EXISTS (SELECT 1 FROM unnest(duties) u WHERE %(cat)s LIKE u || '%%')
         ORDER BY geom <-> q.pt LIMIT %(n)s) s,
LATERAL (SELECT id, source, target, cost, geom FROM roads ORDER BY geom <-> s.geom LIMIT 1) e
UNION ALL
SELECT NULL, e.id, e.source, e.target, e.cost, ST_LineLocatePoint(e.geom, q.pt) * e.cost, ST_Distance(e.geom, q.pt), 0
FROM (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(srid)s) AS pt) q,
LATERAL (SELECT id, source, target, cost, geom FROM roads ORDER BY geom <-> q.pt LIMIT 1) e
"""
ROUTE_SQL = ("SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCost("
             "'SELECT id, source, target, cost, cost AS reverse_cost FROM roads "
             "WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint(' || %s || ', ' || %s || '), ' || %s || '), '"
             " || %s || ')',"
             " %s::bigint[], %s::bigint[], directed := false)")


def postgis_by_road(pg, x: float, y: float, category: str, srid: int, max_d: float, k: int = 10) -> list[str]:
    """The strong database way: the nearest eligible people by an index-ordered KNN (`<->`, eligibility in
    SQL), each snapped to its nearest road in SQL, then pgRouting's Dijkstra from the case's road to theirs
    (`pgr_dijkstraCost` over the roads within `max_d`); the shortlist widens until the k-th by road is
    nearer than the straight distance of the first one left out (as the ranker's own rule)."""
    n = 4 * k
    while True:
        rows = pg.execute(SNAP_SQL, {"x": x, "y": y, "srid": srid, "cat": category, "n": n}).fetchall()
        case = next(r for r in rows if r[0] is None)
        people = [r for r in rows if r[0] is not None]
        _, e0, a0, b0, len0, t0, o0, _ = case
        ends = sorted({int(r[2]) for r in people} | {int(r[3]) for r in people})
        cost: dict[tuple[int, int], float] = {}
        for a, b, c in pg.execute(ROUTE_SQL, (x, y, srid, max_d, [a0, b0], ends)).fetchall():
            cost[(int(a), int(b))] = float(c)

        def node(start, lead, end, cost=cost):
            return lead + (0.0 if start == end else cost.get((start, end), np.inf))

        out = []
        for sid, e, a, b, length, t, off, straight in people:
            via = min(node(a0, t0, a) + t, node(a0, t0, b) + length - t,
                      node(b0, len0 - t0, a) + t, node(b0, len0 - t0, b) + length - t)
            if e == e0:
                via = min(via, abs(t - t0))
            d = o0 + via + off
            if d <= max_d:
                out.append((d, sid, straight))
        out.sort(key=lambda r: (r[0], r[1]))
        more = len(people) == n and (people[-1][7] if people else 0.0) <= max_d
        if not more or (len(out) >= k and out[k - 1][0] < people[-1][7]):
            return [sid for _d, sid, _s in out[:k]]
        n *= 2


class Checks:
    """Each method's answers against the brute force's: how many agreed, the first differences printed."""

    def __init__(self) -> None:
        self.agree: dict[str, int] = {}
        self.disagree: dict[str, int] = {}

    def compare(self, method: str, got: list, want: list) -> None:
        if got == want:
            self.agree[method] = self.agree.get(method, 0) + 1
            return
        self.disagree[method] = self.disagree.get(method, 0) + 1
        if self.disagree[method] <= 3:
            print(f"differs ({method}):", got, want)

    def close(self, method: str, got: list[float], want: list[float]) -> None:
        """Agreement of the distances found rather than of names, in order, each within 1 m + 0.6% (a method that
        rounds positions and measures on a sphere: near-ties may swap)."""
        got, want = sorted(got), sorted(want)
        same = len(got) == len(want) and all(abs(a - b) <= 1.0 + 0.006 * b for a, b in zip(got, want, strict=True))
        self.compare(method, want if same else got, want)

    def said(self, method: str) -> str:
        a, d = self.agree.get(method, 0), self.disagree.get(method, 0)
        return f"{a}/{a + d}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--staff", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--queries-per-second", type=int, default=100)
    ap.add_argument("--tiles", type=int, default=7)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(7)
    district = District.generated(tiles=args.tiles, staff=10)
    crs = district.crs
    staff = make_staff(district, args.staff, rng)
    ids = np.array([s.id for s in staff])
    speed = np.array([4.0 if s.mode == "cycle" else 1.3 for s in staff])
    avail = np.array([s.status in ("available", "returning") for s in staff])  # who may be sent
    duties = [tuple(s.duties) for s in staff]
    x, y = (np.asarray(v, dtype=float) for v in crs.to_metric(np.array([s.lon for s in staff]),
                                                                np.array([s.lat for s in staff])))
    ranker = Ranker(district, use_roads=False, max_distance_m=3000.0)
    by_road = Ranker(district, use_roads=True, max_distance_m=3000.0)
    index = ranker.index = by_road.index  # the same people (each fix snapped to the roads), ranked both ways
    for case_id in range(len(staff) // 3):  # a third as many active cases as people, each held by someone
        by_road.workload.assigned(case_id, staff[int(rng.integers(0, len(staff)))].id)
    by_road.warm()  # compiled once (or loaded from numba's cache), as the app does when it loads the staff
    t0 = time.perf_counter()
    index.load(staff)
    build_ms = 1e3 * (time.perf_counter() - t0)
    print(f"staff {len(staff):,}; district tiles {args.tiles}x{args.tiles}; first build {build_ms:.1f} ms")
    max_d = 3000.0
    categories = ["E0501", "C0107", "E0101", "E0603", "C0203"]

    # -- servers ------------------------------------------------------------------------------
    import psycopg
    import redis

    pg_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    pg = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    schema = f"bench_{uuid.uuid4().hex[:6]}"
    pg.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    pg.execute(f"CREATE SCHEMA {schema}")
    pg.execute(f"SET search_path TO {schema}, public")
    pg.execute(f"CREATE TABLE staff (id text PRIMARY KEY, available boolean, duties text[], "
               f"position_at double precision, geom geometry(Point, {crs.epsg}))")
    r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    rkey = f"bench:staff:{uuid.uuid4().hex[:6]}"

    def sync_servers():
        with pg.cursor() as cur:
            cur.execute("TRUNCATE staff")
            with cur.copy("COPY staff (id, available, duties, position_at, geom) FROM STDIN") as cp:
                for i in range(len(ids)):
                    cp.write_row((ids[i], bool(avail[i]), list(duties[i]), 0.0,
                                  f"SRID={crs.epsg};POINT({x[i]} {y[i]})"))
        lon, lat = crs.to_wgs84(x, y)
        pipe = r.pipeline(transaction=False)
        pipe.delete(rkey)
        for k in range(0, len(ids), 5000):
            flat = []
            for i in range(k, min(k + 5000, len(ids))):
                flat += [float(lon[i]), float(lat[i]), ids[i]]
            pipe.execute_command("GEOADD", rkey, *flat)
        pipe.execute()

    sync_servers()
    pg.execute("CREATE INDEX ON staff USING gist (geom)")
    pg.execute("ANALYZE staff")
    road = RoadNetwork(district)
    pg.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    pg.execute(f"CREATE TABLE roads (id int PRIMARY KEY, source int, target int, cost float8, "
               f"geom geometry(LineString, {crs.epsg}))")
    with pg.cursor() as cur, cur.copy("COPY roads (id, source, target, cost, geom) FROM STDIN") as cp:
        for i, g in enumerate(road.edges):
            cp.write_row((i, int(road.edge_a[i]), int(road.edge_b[i]), float(road.edge_len[i]),
                          f"SRID={crs.epsg};{g.wkt}"))
    pg.execute("CREATE INDEX ON roads USING gist (geom)")
    pg.execute("ANALYZE roads")
    row_of = {s: i for i, s in enumerate(ids)}

    def eligible(i, category):
        return avail[i] and any(category.startswith(d) for d in duties[i])

    t_index, t_numpy, t_pg, t_redis, t_upkeep, t_road = [], [], [], [], [], []
    t_by_road, t_brute_road, t_pg_road, t_move = [], [], [], []
    id_list = ids.tolist()
    minx, miny, maxx, maxy = (float(v) for v in (x.min(), y.min(), x.max(), y.max()))
    checks = Checks()
    for second in range(args.seconds):
        # everyone moves a little: the index takes every fix (timed: this is the upkeep)
        ang = rng.uniform(0, 2 * np.pi, len(ids))
        x += np.cos(ang) * speed
        y += np.sin(ang) * speed
        now = time.time()
        t1 = time.perf_counter()
        index.move_many(ids, x, y, np.full(len(ids), now))  # positions in metres, as fixes arrive
        t_upkeep.append(time.perf_counter() - t1)
        if second % 5 == 1:  # the app's own path: one move() per fix, as the bus hands them over
            lon_a, lat_a = (v.tolist() for v in crs.to_wgs84(x, y))
            at = datetime.fromtimestamp(now + 0.01, UTC)  # newer than the fix move_many took: applied, not skipped
            t1 = time.perf_counter()
            for i, sid in enumerate(id_list):
                index.move(sid, lon_a[i], lat_a[i], at)
            t_move.append(time.perf_counter() - t1)
        sync_servers()  # the servers get the same positions too (not timed: their upkeep is their own)
        # The same questions to each method, one method at a time (so none pays for another's cache misses).
        queries = []
        for _ in range(args.queries_per_second):
            qx, qy = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
            qlon, qlat = crs.to_wgs84(qx, qy)
            queries.append((qx, qy, float(qlon), float(qlat), categories[int(rng.integers(0, len(categories)))]))
        answers = []
        for _qx, _qy, qlon, qlat, cat in queries:
            t1 = time.perf_counter()
            got = [c.staff_id for c in ranker.rank(qlon, qlat, cat).ranked]
            t_index.append(time.perf_counter() - t1)
            answers.append(got)
        masks = {cat: np.array([any(cat.startswith(p) for p in du) for du in duties]) for cat in categories}
        brutes = []
        for (qx, qy, _lon, _lat, cat), got in zip(queries, answers, strict=True):
            t1 = time.perf_counter()
            d = np.hypot(x - qx, y - qy)
            cand = np.flatnonzero((d <= max_d) & avail & masks[cat])
            brute = list(ids[cand[np.lexsort((cand, d[cand]))][:10]])
            t_numpy.append(time.perf_counter() - t1)
            checks.compare("straight", got, brute)
            brutes.append(brute)
        for (qx, qy, _lon, _lat, cat), brute in zip(queries, brutes, strict=True):
            t1 = time.perf_counter()
            via_pg = [i for (i,) in pg.execute(
                "SELECT id FROM staff WHERE available "
                "AND EXISTS (SELECT 1 FROM unnest(duties) u WHERE %s LIKE u || '%%') "
                "AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint(%s, %s), %s), %s) "
                "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), %s) LIMIT 10",  # index-ordered KNN
                (cat, qx, qy, crs.epsg, max_d, qx, qy, crs.epsg)).fetchall()]
            t_pg.append(time.perf_counter() - t1)
            checks.compare("PostGIS", via_pg, brute)
        for (qx, qy, qlon, qlat, cat), brute in zip(queries, brutes, strict=True):
            t1 = time.perf_counter()
            hits = r.geosearch(rkey, longitude=qlon, latitude=qlat, radius=max_d, unit="m", sort="ASC", count=200)
            via_redis = [h.decode() for h in hits if eligible(row_of[h.decode()], cat)][:10]
            t_redis.append(time.perf_counter() - t1)
            # Redis keeps positions as 52-bit geohashes (about 0.6 m) and measures on a sphere of 6,372,797.6 m: at
            # this latitude its north-south distances come out about 0.3% longer than the ellipsoid's and its
            # east-west ones 0.2% shorter, so the same distances to within 1 m + 0.6%
            checks.close("Redis", [float(np.hypot(x[row_of[i]] - qx, y[row_of[i]] - qy)) for i in via_redis],
                         [float(np.hypot(x[row_of[i]] - qx, y[row_of[i]] - qy)) for i in brute])
        for qx, qy, qlon, qlat, cat in queries[:20]:  # by road: the ranker beside a brute force over the roads
            t1 = time.perf_counter()
            got = [c.staff_id for c in by_road.rank(qlon, qlat, cat).ranked]
            t_by_road.append(time.perf_counter() - t1)
            t1 = time.perf_counter()
            d = np.hypot(x - qx, y - qy)
            cand = np.flatnonzero((d <= max_d) & avail & masks[cat])
            rd = road.distances(qx, qy, x[cand], y[cand], limit=max_d)
            keep = rd <= max_d
            cand, rd = cand[keep], rd[keep]
            brute = list(ids[cand[np.lexsort((cand, rd))][:10]])
            t_brute_road.append(time.perf_counter() - t1)
            t1 = time.perf_counter()
            via_pg = postgis_by_road(pg, qx, qy, cat, crs.epsg, max_d) if second % 5 == 0 else brute
            if second % 5 == 0:
                t_pg_road.append(time.perf_counter() - t1)
                checks.compare("PostGIS + pgRouting", via_pg, brute)
            checks.compare("by road", got, brute)
        if second < 3:
            for _ in range(20):
                qx, qy = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
                rows = index.within(qx, qy, max_d)[0][:200]
                t1 = time.perf_counter()
                road.distances(qx, qy, x[rows], y[rows], limit=max_d)
                t_road.append(time.perf_counter() - t1)
    pg.execute(f"DROP SCHEMA {schema} CASCADE")
    r.delete(rkey)
    rows = [summary("recommend (Ranker.rank, straight line)", np.array(t_index)),
            summary("baseline: NumPy brute-force scan", np.array(t_numpy)),
            summary("baseline: PostGIS ORDER BY <-> (GiST)", np.array(t_pg)),
            summary("baseline: Redis GEOSEARCH + filter", np.array(t_redis)),
            summary("index upkeep per second (all fixes)", np.array(t_upkeep)),
            summary("road-network distances (200 cand.)", np.array(t_road)),
            summary("recommend by road (Ranker.rank: + ETA, workload)", np.array(t_by_road)),
            summary("baseline: NumPy + roads to every eligible", np.array(t_brute_road)),
            summary("baseline: PostGIS KNN + pgRouting", np.array(t_pg_road))]
    show(rows)
    idx, pgs = rows[0], rows[2]
    print(f"index rebuilds: {index.rebuilds - 1} in {args.seconds} s; answers equal to brute force: "
          f"{checks.said('straight')}; PostGIS {checks.said('PostGIS')}; Redis (distances within 1 m + 0.6%) "
          f"{checks.said('Redis')}")
    print(f"speed-up over PostGIS: p50 {pgs['p50_us'] / idx['p50_us']:.1f}x  p99 {pgs['p99_us'] / idx['p99_us']:.1f}x; "
          f"over NumPy p50 {rows[1]['p50_us'] / idx['p50_us']:.1f}x; over Redis p50 "
          f"{rows[3]['p50_us'] / idx['p50_us']:.1f}x")
    print(f"target p99 < 1000 µs: {'met' if idx['p99_us'] < 1000 else 'NOT met'} ({idx['p99_us']:.0f} µs)")
    if t_move:
        share = float(np.median(t_move)) * len(ids) / len(id_list) / 1.0
        print(f"index upkeep through the app's path (move() per fix): {np.median(t_move) * 1e3:.0f} ms per "
              f"{len(ids):,} fixes, {share * 100:.1f}% of one core at {len(ids):,} fixes a second; goal 5%: "
              f"{'met' if share <= 0.05 else 'NOT met'}")
    rr, br, pr = rows[6], rows[7], rows[8]
    print(f"by road: answers equal to the brute force over the roads: ranker {checks.said('by road')}, "
          f"PostGIS + pgRouting {checks.said('PostGIS + pgRouting')}; "
          f"ranker over NumPy p50 {br['p50_us'] / rr['p50_us']:.1f}x "
          f"p99 {br['p99_us'] / rr['p99_us']:.1f}x; over PostGIS + pgRouting p50 {pr['p50_us'] / rr['p50_us']:.1f}x "
          f"p99 {pr['p99_us'] / rr['p99_us']:.1f}x")
    return 0 if not checks.disagree else 1  # an answer that differs from the brute force fails the run


if __name__ == "__main__":
    raise SystemExit(main())
