"""Writing a batch's rows to PostgreSQL: brain.storage.db.insert_rows beside a plain executemany of the
same rows (SQLAlchemy's insert(), what the event log used before), in the same run.

    python -m bench.bulk_insert [--rows 1000] [--rounds 15]

Two kinds of batch, as a storm's first second writes them: the events and audit rows of 1,000 raised
alarms (JSON payloads), and 1,000 alarm rows. Each round writes each batch both ways, alternating,
each in its own transaction on a database of the benchmark's own; the first two rounds are not counted.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, insert

from bench._util import pg_url
from brain.alarms.models import Alarm
from brain.events.bus import MemoryBus
from brain.events.log import Store
from brain.events.models import AuditRecord, EventRecord
from brain.storage.db import Base, Database, insert_rows, utcnow

PG_DB = "brain_bench_bulk_insert"
EVENTS = cast(Table, EventRecord.__table__)
AUDIT = cast(Table, AuditRecord.__table__)
ALARMS = cast(Table, Alarm.__table__)


def event_rows(store: Store, n: int) -> list[tuple[dict, dict]]:
    """The event and audit rows of `n` raised alarms, as a unit keeps them (emit(later=True))."""
    with store.unit("device:bench") as u:
        for i in range(n):
            u.emit("alarm.raised", "alarm", uuid.uuid4().hex, {
                "device_id": f"SMK-{i:06d}", "type": "smoke", "severity": "critical", "lon": 121.45 + i / 1e5,
                "lat": 31.33, "place_id": f"P-{i % 300}"}, later=True)
        rows = list(u.later)
        u.later.clear()  # written below, both ways
    return rows


def alarm_rows(n: int) -> list[dict]:
    at = utcnow()
    return [{"id": uuid.uuid4().hex, "device_id": f"SMK-{i:06d}", "type": "smoke", "severity": "critical",
             "state": "active", "count": 1, "lon": 121.45 + i / 1e5, "lat": 31.33, "place_id": f"P-{i % 300}",
             "first_at": at, "last_at": at, "live_key": None, "version": 1} for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    db = Database(pg_url(PG_DB, fresh=True))
    Base.metadata.create_all(db.engine, tables=[EVENTS, AUDIT, ALARMS])
    store = Store(db, MemoryBus())

    def executemany(table: Table) -> Callable:
        return lambda s, rows: s.execute(insert(table), rows)

    def bulk(table: Table) -> Callable:
        return lambda s, rows: insert_rows(s, table, rows)

    batches = {
        "events + audit rows": (lambda: event_rows(store, args.rows),
                                {"executemany": [executemany(EVENTS), executemany(AUDIT)],
                                 "insert_rows": [bulk(EVENTS), bulk(AUDIT)]}),
        "alarm rows": (lambda: [(r, None) for r in alarm_rows(args.rows)],
                       {"executemany": [executemany(ALARMS)], "insert_rows": [bulk(ALARMS)]}),
    }
    print(f"{args.rows:,} rows a batch, {args.rounds} rounds (the first two not counted), PostgreSQL")
    print(f"{'batch':<22}{'executemany ms':>16}{'insert_rows ms':>16}{'ratio':>8}")
    for name, (make, ways) in batches.items():
        took: dict[str, list[float]] = {way: [] for way in ways}
        for _round in range(args.rounds):
            for way, writers in ways.items():
                pairs = make()
                t0 = time.perf_counter()
                with db.transaction() as s:
                    for k, write in enumerate(writers):
                        write(s, [pair[k] for pair in pairs])
                took[way].append(time.perf_counter() - t0)
        old, new = (statistics.median(took[w][2:]) * 1000 for w in ("executemany", "insert_rows"))
        print(f"{name:<22}{old:>16.1f}{new:>16.1f}{new / old:>8.2f}")
    with db.transaction() as s:  # leave nothing behind but the empty tables
        for table in (AUDIT, EVENTS, ALARMS):
            s.execute(table.delete())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
