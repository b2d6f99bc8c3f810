"""The full /kpi refresh over a million historical cases, on SQLite and on PostgreSQL, beside a naive
recomputation of the same indicators from the raw event log in the same run.

    python -m bench.kpi [--cases 1000000] [--runs 30] [--naive-runs 3] [--only sqlite|postgresql] [--fresh]

The history (about 500 cases a day, so a million cases span five and a half years, with eight or so
events each) is written once per backend by the generator the demo uses, and kept for the next run
(`--fresh` writes it again): SQLite at var/bench-kpi.sqlite3, PostgreSQL in the database
``brain_bench_kpi`` on the server of DATABASE_URL (default: the local one), created if missing.

Timed, per window (today, 7 days, 30 days) and breakdown by committee:
- **refresh**: `KpiService.screen()`, everything the /kpi screen shows (the cohort read through the
  `reported_at` index of `case_facts`, every indicator, the breakdown, the trend, top categories, the
  committee map counts, alarms and staff);
- **naive**: the same indicators recomputed from the event log alone: the window's ``case.opened``
  events, then every event of those cases, replayed through `derive()` and evaluated.
The two must agree on every figure; the run says so.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench._util import pg_url
from brain.cases.models import Case
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.events.models import EventRecord
from brain.kpi.facts import Step, derive
from brain.kpi.service import as_rows, evaluate, to_frame, window
from brain.runtime import Brain
from brain.sim.history import HistoryGenerator, write
from brain.storage.db import Database, utcnow

WINDOWS = ("today", "7d", "30d")
SQLITE_FILE = Path(__file__).resolve().parent.parent / "var" / "bench-kpi.sqlite3"
PG_DB = "brain_bench_kpi"


def prepare(url: str, cases: int, fresh: bool) -> Brain:
    if fresh:
        if url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(str(SQLITE_FILE) + suffix).unlink(missing_ok=True)
        else:
            eng = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
            with eng.begin() as c:
                c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            eng.dispose()
    db = Database(url)
    brain = Brain(Settings(simulate=False, admin_password="bench-admin-pass"), db=db, bus=MemoryBus())
    brain.start()
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(Case)) or 0
    if have < cases * 0.99:
        now = utcnow()
        days = (cases - have) / 500.0
        gen = HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=1)
        t0 = time.perf_counter()
        n, e = write(db, gen, start=now - timedelta(days=days), end=now, now=now, per_day=500, batch=20_000)
        print(f"  wrote {n:,} cases and {e:,} events in {time.perf_counter() - t0:.0f} s")
    with db.read() as s:
        n_cases = s.scalar(select(func.count()).select_from(Case))
        n_events = s.scalar(select(func.count()).select_from(EventRecord))
    print(f"  history: {n_cases:,} cases, {n_events:,} events")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as c:
            c.execute(text("ANALYZE"))
    return brain


def naive(brain: Brain, w, now) -> dict:
    """The indicators from the event log alone: no facts table."""
    opened = select(EventRecord.subject_id).where(EventRecord.type == "case.opened", EventRecord.at >= w.start,
                                                  EventRecord.at < w.end)
    q = (select(EventRecord.subject_id, EventRecord.type, EventRecord.at, EventRecord.payload)
         .where(EventRecord.subject_type == "case", EventRecord.subject_id.in_(opened))
         .order_by(EventRecord.subject_id, EventRecord.seq))
    rows, current, steps = [], None, []
    with brain.db.read() as s:
        for r in s.execute(q):
            if r.subject_id != current:
                if current is not None:
                    rows.append(derive(int(current), steps, brain.policy))
                current, steps = r.subject_id, []
            steps.append(Step(type=r.type, at=r.at, payload=r.payload or {}))
    if current is not None:
        rows.append(derive(int(current), steps, brain.policy))
    df = to_frame(as_rows([f for f in rows if f is not None]))
    return {k: v[0] for k, v in evaluate(df, now).items()}


def timed(fn, n: int) -> np.ndarray:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return np.array(out)


def run(name: str, url: str, args) -> list[dict]:
    print(f"\n{name}")
    brain = prepare(url, args.cases, args.fresh)
    results = []
    now = utcnow()
    try:
        for kind in WINDOWS:
            w = window(kind, now=now, tz="Asia/Shanghai")
            screen = brain.kpi.screen(w, "committee", now)  # warm
            fast = timed(lambda w=w: brain.kpi.screen(w, "committee", now), args.runs)
            slow = timed(lambda w=w: naive(brain, w, now), args.naive_runs)
            ref = naive(brain, w, now)
            agree = all(
                (a.value is None and b.value is None) or (a.value is not None and b.value is not None
                                                          and abs(a.value - b.value) < 1e-6)
                for a, b in ((screen.figures[k], ref[k]) for k in ref))
            results.append({"backend": name, "window": kind, "cohort": len(screen.frame),
                            "refresh_p50_ms": np.percentile(fast, 50) * 1e3,
                            "refresh_p95_ms": np.percentile(fast, 95) * 1e3,
                            "naive_p50_ms": np.percentile(slow, 50) * 1e3,
                            "ratio": np.percentile(slow, 50) / np.percentile(fast, 50), "agree": agree})
    finally:
        brain.stop()
        brain.db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--naive-runs", type=int, default=3)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--fresh", action="store_true", help="write the history again")
    args = ap.parse_args(argv)
    SQLITE_FILE.parent.mkdir(exist_ok=True)
    rows = []
    if args.only in (None, "sqlite"):
        rows += run("SQLite", f"sqlite:///{SQLITE_FILE}", args)
    if args.only in (None, "postgresql"):
        rows += run("PostgreSQL", pg_url(PG_DB), args)
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print("\n" + df.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    worst = df[df["window"] == "30d"]["refresh_p95_ms"].max()
    print(f"\nworst 30-day refresh p95: {worst:.0f} ms (target < 300 ms); all figures agree: {bool(df['agree'].all())}")
    return 0 if df["agree"].all() else 1


if __name__ == "__main__":
    raise SystemExit(main())
