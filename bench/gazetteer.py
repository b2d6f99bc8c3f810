"""Gazetteer at city scale: pole-number lookup and nearest-pole query, against NumPy brute force.

    python -m bench.gazetteer [--tiles 7] [--queries 5000]

Builds the city-scale set in memory (about 100,000 poles), then times, in the same run, each
gazetteer query beside a brute-force NumPy answer to the same question, and checks the answers agree.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench._util import show, summary, timings
from geodata.district import District
from geodata.gazetteer import Gazetteer, normalize_number


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=7)
    ap.add_argument("--queries", type=int, default=5000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(42)

    t0 = time.perf_counter()
    district = District.generated(tiles=args.tiles, staff=100)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = Gazetteer(district)
    t_build = time.perf_counter() - t0
    n = len(g)
    print(f"poles: {n:,}  generate: {t_gen:.1f} s  gazetteer build: {t_build:.2f} s")

    numbers = district.poles["number"].astype(str).to_numpy()
    keys = np.array([normalize_number(x) for x in numbers])
    picks = numbers[rng.integers(0, n, args.queries)]
    typed = [p.replace("-", " ") if i % 2 else p.replace("0", "０") for i, p in enumerate(picks)]  # as residents type

    def brute_lookup(text: str) -> int:
        return int(np.flatnonzero(keys == normalize_number(text))[0])

    assert all(g.lookup(t).number == numbers[brute_lookup(t)] for t in typed[:200])
    lk = summary("lookup: gazetteer (dict)", timings(g.lookup, typed))
    lb = summary("lookup: numpy brute force", timings(brute_lookup, typed[: max(200, args.queries // 10)]))

    misses = [f"{p[:-1]}X{p[-1]}" for p in picks[:200]]
    sm = summary("miss + suggestions (edit distance <= 2)", timings(g.suggest, misses))

    minx, miny, maxx, maxy = district.boundary.bounds
    pts = list(zip(rng.uniform(minx, maxx, args.queries), rng.uniform(miny, maxy, args.queries), strict=True))
    px, py = district.crs.to_metric(district.poles.geometry.x.to_numpy(), district.poles.geometry.y.to_numpy())

    def brute_nearest(p) -> int:
        x, y = district.crs.to_metric(p[0], p[1])
        return int(np.argmin(np.hypot(px - x, py - y)))

    agree = sum(g.nearest_pole(*p, max_distance=5000)[0].number == numbers[brute_nearest(p)] for p in pts[:300])
    nk = summary("nearest: STRtree (metric, max 500 m)", timings(lambda p: g.nearest_pole(*p), pts))
    nb = summary("nearest: numpy brute force", timings(brute_nearest, pts[: max(200, args.queries // 10)]))
    show([lk, lb, sm, nk, nb])
    print(f"agreement with brute force: lookup 200/200, nearest {agree}/300")
    print(f"lookup speed-up   p50 {lb['p50_us'] / lk['p50_us']:.0f}x   p99 {lb['p99_us'] / lk['p99_us']:.0f}x")
    print(f"nearest speed-up  p50 {nb['p50_us'] / nk['p50_us']:.1f}x   p99 {nb['p99_us'] / nk['p99_us']:.1f}x")
    return 0 if agree == 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
