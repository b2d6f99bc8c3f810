"""What one live tick of /wall costs the server, and what it sends, when 10 people move, at 500 and at
10,000 staff, for the live projection (this tree) and for the path it replaced, in the same run.

    python -m bench.live_tick [--small 500] [--large 10000] [--moved 10] [--ticks 30] [--old 14e5c7f]

Each size is a generated district with that many staff (SQLite in a temporary folder, simulator off).
Every tick, `--moved` people report a position through the app's own path (StaffService.record_fixes,
whose events the projection follows); then the page's update is made and timed in CPU seconds of the
thread that makes it:
- **projection** (this tree): `LiveSession.step` with the versions the map holds, as the page's push loop
  calls it (the deltas, the counters, the clock line);
- **previous path** (`--old REV`, checked out into a git worktree and run in its own process): the wall's
  live-update callback asked over HTTP with the page's token, as that page did after a push; its CPU is
  the server process's, the request included. `--old none` skips it (CI runs it so, small).
Bytes: the JSON of what a tick sends, against the JSON of the whole live state (all three layers).
The answers are checked: after the ticks, the features the page was sent equal the projection's whole
state, position by position.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def projection(staff: int, moved: int, ticks: int) -> dict:
    from dash.development.base_component import Component

    from brain.config import Settings
    from brain.runtime import Brain
    from brain.staff.service import Fix
    from brain.storage.db import utcnow
    from dashboard.live import LiveSession, features
    from geodata.district import District

    rng = np.random.default_rng(3)
    district = District.generated(tiles=1, staff=staff)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            escalate_after_s=0, monitor_interval_s=0)
        brain = Brain(settings, district=district).start()
        try:
            roster = [s for s in brain.staff.roster() if s.lon is not None]
            now = utcnow()
            brain.staff.record_fixes([Fix(s.id, s.lon, s.lat, now) for s in roster])
            context = {"locale": "zh-CN", "path": "/wall"}
            session = LiveSession(brain)
            first = session.step(None, context)
            held: dict[str, dict] = {}  # what the page holds: layer -> id -> feature

            def take(out: dict) -> None:
                for d in out.get("district-map", {}).get("deltas", []):
                    layer = held.setdefault(d["layer"], {})
                    if d["reset"]:
                        layer.clear()
                    for key in d["remove"]:
                        layer.pop(key, None)
                    for f in d["upsert"]:
                        layer[f["id"]] = f
                    versions[d["layer"]] = d["version"]

            versions: dict[str, int] = {}
            take(first)
            whole = len(json.dumps(first["district-map"]["deltas"], ensure_ascii=False).encode())
            cpu, sent = [], []
            for _ in range(ticks):
                t = utcnow()
                fixes = [Fix(roster[int(i)].id, roster[int(i)].lon + float(rng.normal(0, 2e-4)),
                             roster[int(i)].lat + float(rng.normal(0, 2e-4)), t)
                         for i in rng.choice(len(roster), size=moved, replace=False)]
                brain.staff.record_fixes(fixes)
                c0 = time.thread_time()
                out = session.step(versions, context)
                cpu.append(time.thread_time() - c0)
                sent.append(len(json.dumps(out, default=Component.to_plotly_json, ensure_ascii=False).encode()))
                take(out)
            brain.live.refresh()
            build = features(brain, "zh-CN")
            want = {d.layer: {f["id"]: f for f in build.delta(d)["upsert"]} for d in brain.live.since(None)}
            assert {k: v for k, v in held.items() if v} == {k: v for k, v in want.items() if v}, \
                "the page's layers differ from the projection's"
        finally:
            brain.stop()
    return {"cpu_ms": 1000 * statistics.median(cpu), "cpu_p95_ms": 1000 * float(np.percentile(cpu, 95)),
            "bytes": statistics.median(sent), "whole": whole}


def previous(rev: str, staff: int, moved: int, ticks: int) -> dict:
    """The previous path, from a worktree of `rev`, in its own process (bench/_previous_tick.py)."""
    tree = Path(tempfile.gettempdir()) / f"brain-previous-{rev}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True,
                       capture_output=True)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "_previous_tick.py"), str(staff), str(moved),
                          str(ticks)], cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=500)
    ap.add_argument("--large", type=int, default=10_000)
    ap.add_argument("--moved", type=int, default=10)
    ap.add_argument("--ticks", type=int, default=30)
    ap.add_argument("--old", default="14e5c7f", help="the revision of the previous path, or none")
    args = ap.parse_args(argv)
    rows = {}
    for n in (args.small, args.large):
        rows[("projection", n)] = projection(n, args.moved, args.ticks)
        if args.old != "none":
            rows[("previous", n)] = previous(args.old, n, args.moved, args.ticks)
    print(f"{args.moved} of N staff move per tick, {args.ticks} ticks; median per tick")
    print(f"{'path':<12}{'staff':>8}{'CPU ms':>9}{'p95 ms':>9}{'bytes':>10}{'whole state':>13}{'share':>8}")
    for (path, n), r in rows.items():
        print(f"{path:<12}{n:>8,}{r['cpu_ms']:>9.2f}{r['cpu_p95_ms']:>9.2f}{r['bytes']:>10,.0f}{r['whole']:>13,}"
              f"{100 * r['bytes'] / r['whole']:>7.2f}%")
    growth = rows[("projection", args.large)]["cpu_ms"] / rows[("projection", args.small)]["cpu_ms"]
    print(f"projection: CPU per tick at {args.large:,} against {args.small:,} staff: {growth:.1f}x (goal: at most 3x)")
    ok = growth <= 3 and rows[("projection", args.large)]["bytes"] <= 0.01 * rows[("projection", args.large)]["whole"]
    if args.old != "none":
        old = rows[("previous", args.large)]["cpu_ms"] / rows[("previous", args.small)]["cpu_ms"]
        print(f"previous path: {old:.1f}x; at {args.large:,} staff the projection costs "
              f"{rows[('projection', args.large)]['cpu_ms'] / rows[('previous', args.large)]['cpu_ms']:.3f} of it")
    print(f"goals (CPU within 3x, bytes under 1% of the whole state): {'met' if ok else 'NOT met'}")
    return 0  # the answers were checked above (an assertion); the goals are figures to read, not a test


if __name__ == "__main__":
    raise SystemExit(main())
