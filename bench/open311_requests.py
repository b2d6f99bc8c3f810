"""Open311 GeoReport v2 `GET /open311/v2/requests.json` over 90 days of a busy district, beside a plain SELECT
of the same rows in the same run: what the endpoint adds (the HTTP stack, the records in the spec's terms,
the catalogue's words, the JSON) to what the database must do anyway.

    python -m bench.open311_requests [--db sqlite|postgresql|both] [--cases 20000] [--days 90] [--queries 200]

The cases are written straight into a fresh database (random public categories, states, poles and teams,
reported over the last `--days`; about 220 a day at the default size, a busy sub-district's load). The
queries are a mix of what a 12345 platform asks: the default window (the last 90 days, the newest 1,000),
one service, open ones, one week, and 20 ids. Each query is timed through the whole app in-process
(FastAPI's TestClient) and as the SELECT alone (SQLAlchemy Core rows, no objects), and the two must name the
same requests in the same order. The goal: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert

from bench._util import db_targets
from brain.cases.enums import CaseStatus
from brain.cases.models import Case
from brain.residents import open311 as o311
from brain.storage.db import utcnow

STATES = [(CaseStatus.CLOSED, 0.62), (CaseStatus.CANCELLED, 0.05), (CaseStatus.MERGED, 0.03),
          (CaseStatus.REPORTED, 0.05), (CaseStatus.REGISTERED, 0.05), (CaseStatus.DISPATCHED, 0.08),
          (CaseStatus.HANDLING, 0.06), (CaseStatus.HANDLED, 0.04), (CaseStatus.VERIFIED, 0.02)]
CHANNELS = ["hotline_12345", "street_patrol", "compound_patrol", "web", "wechat", "iot"]


def fill(brain, n: int, days: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = utcnow()
    public = [c for c in brain.catalogue if c.public]
    poles = [brain.gazetteer.pole_at(i) for i in range(len(brain.gazetteer))]
    teams = [t["id"] for t in brain.district.teams]
    states, weights = zip(*STATES, strict=True)
    rows = []
    for _ in range(n):
        cat = rng.choice(public)
        pole = rng.choice(poles)
        status = rng.choices(states, weights)[0]
        at = now - timedelta(seconds=rng.uniform(0, days * 86400))
        done = at + timedelta(hours=rng.uniform(1, 48))
        sent = status not in (CaseStatus.REPORTED, CaseStatus.REGISTERED, CaseStatus.CANCELLED, CaseStatus.MERGED)
        rows.append({"channel": rng.choice(CHANNELS), "category": cat.code, "priority": cat.priority.value,
                     "status": status.value, "description": "现场情况描述", "lon": pole.lon, "lat": pole.lat,
                     "pole_number": pole.number, "grid_code": pole.grid, "committee_code": pole.committee,
                     "department": cat.department, "assigned_team_id": rng.choice(teams) if sent else None,
                     "rework_count": 0, "deferred_seconds": 0.0, "version": 1, "reported_at": at,
                     "stage_started_at": at, "updated_at": done if status.value == "closed" else at,
                     "closed_at": done if status is CaseStatus.CLOSED else None,
                     "cancelled_at": done if status is CaseStatus.CANCELLED else None})
    with brain.db.transaction() as s:
        for i in range(0, len(rows), 2000):
            s.execute(insert(Case), rows[i:i + 2000])


def queries(brain, rng: random.Random, count: int) -> list[dict]:
    now = utcnow()
    codes = [c.code for c in brain.catalogue if c.public]
    out: list[dict] = []
    while len(out) < count:
        kind = len(out) % 5
        if kind == 0:
            out.append({})
        elif kind == 1:
            out.append({"service_code": rng.choice(codes)})
        elif kind == 2:
            out.append({"status": "open"})
        elif kind == 3:
            end = now - timedelta(days=rng.uniform(0, 80))
            out.append({"start_date": (end - timedelta(days=7)).isoformat(), "end_date": end.isoformat()})
        else:
            out.append({"service_request_id": ",".join(str(rng.randint(1, 5000)) for _ in range(20))})
    return out


def run(url: str, args) -> dict:
    from app import create_app
    from brain.config import Settings
    from brain.runtime import Brain

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=url, simulate=False, escalate_after_s=0, monitor_interval_s=0,
                            admin_password="bench-admin-pass", photo_dir=Path(tmp) / "photos")
        brain = Brain(settings)
        server, _ = create_app(brain=brain)
        with TestClient(server) as client:
            fill(brain, args.cases, args.days)
            public = {c.code for c in brain.catalogue if c.public}
            qs = queries(brain, random.Random(11), args.queries)
            app_t, sql_t, rows = [], [], []
            for q in qs:
                t0 = time.perf_counter()
                r = client.get("/open311/v2/requests.json", params=q)
                app_t.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
                parsed = o311.parse_query(q, utcnow())
                stmt = o311.select_requests(parsed, public)
                t0 = time.perf_counter()
                with brain.db.engine.connect() as c:
                    plain = c.execute(stmt).all()
                sql_t.append(time.perf_counter() - t0)
                got = [int(x["service_request_id"]) for x in r.json()]
                assert got == [row.id for row in plain], q  # the same requests, in the same order
                rows.append(len(got))
        brain.db.engine.dispose()
    return {"app": np.array(app_t), "sql": np.array(sql_t), "rows": np.array(rows)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    targets = db_targets(args.db, tmp.name, "open311")
    print(f"{args.cases} cases over {args.days} days; {args.queries} queries (default window, one service, open, "
          "one week, 20 ids)")
    print(f"{'':<34}{'rows/query':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    ok = True
    for name, url in targets:
        res = run(url, args)
        for label, t in ((f"{name}: GET requests.json", res["app"]), (f"{name}: plain SELECT", res["sql"])):
            print(f"{label:<34}{res['rows'].mean():>11.0f}{np.percentile(t, 50) * 1e3:>9.1f}"
                  f"{np.percentile(t, 95) * 1e3:>9.1f}{np.percentile(t, 99) * 1e3:>9.1f}")
        p95 = np.percentile(res["app"], 95)
        print(f"{name}: endpoint / SELECT at p95 {p95 / np.percentile(res['sql'], 95):.1f}x; goal p95 under 100 ms: "
              f"{'met' if p95 < 0.1 else 'NOT met'}")
        ok = ok and bool(res["rows"].max() > 0)
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
