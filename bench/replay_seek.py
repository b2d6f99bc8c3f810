"""Seeking the replay to any instant of a 7-day window of the demo district: from the nearest keyframe (the
product's way) beside folding the log from the start of the window (the way without keyframes), in one run,
on the same instants, each answer checked against the other.

    python -m bench.replay_seek [--db sqlite|postgresql|both] [--days 7] [--seeks 200] [--report-s 5]

The window is written straight into a fresh database: the district's cases of `--days` days (the history
generator, about 500 a day, each with its events through to the reply), every person's duty changes
(about 20 a day each), alarms raised, acknowledged and cleared (about 300 a day), and every person's position
every `--report-s` seconds while on duty (60 people every 5 s: 7.3 million fixes a week). A seek is the
whole scene the page draws: the state folded to the instant, every position at it and the last five minutes
of every trail. Goal: p95 under 200 ms on SQLite and PostgreSQL. It also reports the keyframes' build time
and what they cost on disk.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import cast

import numpy as np
from sqlalchemy import Table, func, insert, select

from bench._util import db_targets
from brain.events.models import EventRecord
from brain.sim.history import HistoryGenerator, write
from brain.staff.models import StaffTrack
from brain.storage.db import insert_rows, utcnow

STATUSES = ["available", "en_route", "on_scene", "available", "off_duty"]


def fill(brain, days: float, report_s: float, seed: int = 5) -> dict:
    """The window's history; returns how many rows of each kind were written."""
    rng = random.Random(seed)
    now = utcnow()
    start = now - timedelta(days=days)
    gen = HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=seed)
    cases, case_events = write(brain.db, gen, start=start, end=now, now=now)
    events: list[dict] = []
    roster = brain.staff.roster()
    for p in roster:  # duty changes, about 20 a day each, logged as the service logs them
        status = p.status
        t = start
        while True:
            t += timedelta(seconds=rng.expovariate(20 / 86400))
            if t >= now:
                break
            new = rng.choice([s for s in STATUSES if s != status])
            events.append({"id": uuid.uuid4().hex, "type": "staff.status_changed", "at": t, "actor": "bench",
                           "subject_type": "staff", "subject_id": p.id, "correlation_id": None,
                           "payload": {"from": status, "to": new, "reason": None}})
            status = new
    devices = brain.district.devices
    for _ in range(int(300 * days)):  # alarms: raised, most acknowledged, all cleared within the hour
        d = devices.iloc[rng.randrange(len(devices))]
        t = start + timedelta(seconds=rng.uniform(0, days * 86400))
        aid = uuid.uuid4().hex
        base = {"actor": "bench", "subject_type": "alarm", "subject_id": aid, "correlation_id": None}
        events.append({**base, "id": uuid.uuid4().hex, "type": "alarm.raised", "at": t, "payload": {
            "device_id": str(d["id"]), "type": "smoke", "severity": rng.choice(["critical", "major", "minor"]),
            "lon": float(d.geometry.x), "lat": float(d.geometry.y), "place_id": None}})
        if rng.random() < 0.8:
            events.append({**base, "id": uuid.uuid4().hex, "type": "alarm.acknowledged",
                           "at": t + timedelta(seconds=rng.uniform(10, 300)), "payload": {"by": "bench"}})
        cleared = t + timedelta(seconds=rng.uniform(400, 3600))
        if cleared < now:
            events.append({**base, "id": uuid.uuid4().hex, "type": "alarm.cleared", "at": cleared,
                           "payload": {"false_alarm": False}})
    events.sort(key=lambda e: e["at"])
    with brain.db.transaction() as s:
        insert_rows(s, cast(Table, EventRecord.__table__), events)
    fixes = 0
    steps = int(days * 86400 / report_s)
    with_positions = [p for p in roster if p.lon is not None]
    for lo in range(0, steps, 2000):  # positions: a slow walk each, every report_s seconds
        rows = []
        for i in range(lo, min(steps, lo + 2000)):
            t = start + timedelta(seconds=i * report_s)
            for k, p in enumerate(with_positions):
                rows.append({"staff_id": p.id, "at": t, "lon": p.lon + 0.002 * np.sin(i / 500 + k),
                             "lat": p.lat + 0.002 * np.cos(i / 700 + k), "speed": 1.2})
        with brain.db.transaction() as s:
            if brain.db.engine.dialect.name == "postgresql":
                insert_rows(s, cast(Table, StaffTrack.__table__), rows)
            else:
                s.execute(insert(StaffTrack), rows)
        fixes += len(rows)
    return {"cases": cases, "case events": case_events, "duty and alarm events": len(events), "fixes": fixes,
            "start": start, "end": now}


def picture(scene) -> tuple:
    return (tuple((c.id, c.status, c.stage_due_at, c.assigned_staff_id) for c in scene.cases),
            tuple((a.id, a.state) for a in scene.alarms),
            tuple((s.id, s.status, s.lon, s.lat, s.position_at) for s in scene.staff),
            tuple(sorted((k, tuple(v)) for k, v in scene.trails.items())))


def run(url: str, args) -> dict:
    from brain.config import Settings
    from brain.runtime import Brain

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=url, simulate=False, escalate_after_s=0, monitor_interval_s=0,
                            admin_password="bench-admin-pass", photo_dir=Path(tmp) / "photos")
        brain = Brain(settings).start()
        t0 = time.perf_counter()
        made = fill(brain, args.days, args.report_s)
        filled = time.perf_counter() - t0
        replay = brain.replay
        replay.settle_s = 0
        t0 = time.perf_counter()
        replay.build_keyframes()
        built = time.perf_counter() - t0
        frames, size = replay.keyframe_bytes()
        window = replay.window(made["start"], made["end"])
        rng = random.Random(3)
        instants = [window.start + timedelta(seconds=rng.uniform(0, window.seconds)) for _ in range(args.seeks)]
        roster = brain.staff.roster()
        kf_t, log_t, folded_kf, folded_log = [], [], [], []
        for at in instants:
            t0 = time.perf_counter()
            scene = replay.scene(at, roster=roster)
            kf_t.append(time.perf_counter() - t0)
            folded_kf.append(replay.folded)
            t0 = time.perf_counter()
            state = replay.state_at(at, since=window.start)
            slow = replay.scene_of(state, at, roster=roster)
            log_t.append(time.perf_counter() - t0)
            folded_log.append(replay.folded)
            assert picture(scene) == picture(slow), at  # the same district, either way
        with brain.db.read() as s:
            n_events = s.scalar(select(func.count()).select_from(EventRecord))
        brain.stop()
        brain.db.engine.dispose()
    return {"kf": np.array(kf_t), "log": np.array(log_t), "folded_kf": np.array(folded_kf),
            "folded_log": np.array(folded_log), "built": built, "frames": frames, "size": size,
            "made": made, "filled": filled, "events": n_events}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seeks", type=int, default=200)
    ap.add_argument("--report-s", type=float, default=5.0)
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    targets = db_targets(args.db, tmp.name, "replay")
    ok = True
    for name, url in targets:
        r = run(url, args)
        m = r["made"]
        print(f"{name}: {args.days:g} days, {m['cases']} cases ({m['case events']} events), "
              f"{m['duty and alarm events']} duty and alarm events, {m['fixes']:,} fixes; {r['events']:,} events in "
              f"the log; written in {r['filled']:.0f} s")
        print(f"{name}: {r['frames']} keyframes built in {r['built']:.2f} s, {r['size'] / 1e6:.2f} MB of state "
              f"({r['size'] / max(1, r['frames']) / 1e3:.1f} KB each)")
        print(f"{'':<44}{'events folded p50':>18}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
        for label, t, f in ((f"{name}: seek from the nearest keyframe", r["kf"], r["folded_kf"]),
                            (f"{name}: fold from the window's start", r["log"], r["folded_log"])):
            print(f"{label:<44}{np.percentile(f, 50):>18.0f}{np.percentile(t, 50) * 1e3:>9.1f}"
                  f"{np.percentile(t, 95) * 1e3:>9.1f}{np.percentile(t, 99) * 1e3:>9.1f}")
        p95 = np.percentile(r["kf"], 95)
        print(f"{name}: keyframes / from the start at p95: {p95 / np.percentile(r['log'], 95):.2f}x; "
              f"goal p95 under 200 ms: {'met' if p95 < 0.2 else 'NOT met'}; answers agree on {len(r['kf'])} seeks")
        ok = ok and len(r["kf"]) > 0
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
