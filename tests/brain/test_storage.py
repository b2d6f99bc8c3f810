"""Storage on SQLite and PostgreSQL: schema, timestamps, seeding, events and audit in one transaction."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import any_ as sa_any
from sqlalchemy import func, select

from brain.district.models import Committee, Device, GridCell, Place, Pole, Road
from brain.district.seed import seed
from brain.events.bus import MemoryBus
from brain.events.log import Store
from brain.events.models import AuditRecord, EventRecord
from brain.staff.models import Staff, Team
from brain.storage.db import Database, new_id


def count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_timestamps_come_back_timezone_aware_utc(db):
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 22, 8, 30, tzinfo=shanghai)
    with db.transaction() as s:
        s.add(AuditRecord(at=at, actor="t", action="x", subject="y", detail={}))
    with db.read() as s:
        got = s.scalar(select(AuditRecord.at))
    assert got == at and got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(db):
    with pytest.raises(Exception, match="naive"), db.transaction() as s:
        s.add(AuditRecord(at=datetime(2026, 1, 1), actor="t", action="x", subject="y", detail={}))
        s.flush()


def test_seeding_loads_the_whole_district_once(db, district):
    # a fresh SQLite file is empty; the PostgreSQL test schema was seeded once for the run
    assert seed(db, district) is (db.dialect == "sqlite")
    assert count(db, Pole) == len(district.poles)
    assert count(db, Committee) == len(district.committees)
    assert count(db, GridCell) == len(district.grid)
    assert count(db, Road) == len(district.roads)
    assert count(db, Place) == len(district.places)
    assert count(db, Device) == len(district.devices)
    assert count(db, Team) == len(district.teams) and count(db, Staff) == len(district.staff)
    assert seed(db, district) is False
    assert count(db, Pole) == len(district.poles)
    with db.read() as s:
        home = s.scalar(select(Place).where(Place.kind == "home"))
        assert home.occupant and home.phone and home.living_alone


def test_unit_writes_event_and_audit_together_and_publishes_after_commit(db):
    bus = MemoryBus()
    seen = []
    bus.subscribe("device.*", seen.append)
    store = Store(db, bus)
    with store.unit("alice", source="127.0.0.1") as u:
        ev = u.emit("device.online", "device", 7, {"k": 1})
        assert seen == []  # not before commit
    assert [e.id for e in seen] == [ev.id]
    with db.read() as s:
        rec = s.scalar(select(EventRecord).where(EventRecord.id == ev.id))
        audit = s.scalar(select(AuditRecord).where(AuditRecord.event_id == ev.id))
    assert (rec.type, rec.actor, rec.subject_id, rec.payload) == ("device.online", "alice", "7", {"k": 1})
    assert rec.at.tzinfo is not None
    assert (audit.actor, audit.action, audit.subject, audit.source) == ("alice", "device.online", "device:7",
                                                                        "127.0.0.1")


def test_a_kind_of_event_not_in_the_contract_is_refused_and_nothing_is_written(db):
    from brain.events.kinds import EventType

    store = Store(db, MemoryBus())
    before = count(db, EventRecord)
    with pytest.raises(ValueError), store.unit("alice") as u:
        u.emit("thing.done", "thing", 7)
    assert count(db, EventRecord) == before
    assert EventType.case_move("closed") is EventType.CASE_CLOSED and EventType.task_step("read") is EventType.TASK_READ


def test_a_failed_unit_leaves_no_event_no_audit_and_publishes_nothing(db):
    bus = MemoryBus()
    seen = []
    bus.subscribe("*", seen.append)
    store = Store(db, bus)
    before = count(db, EventRecord), count(db, AuditRecord)
    with pytest.raises(RuntimeError), store.unit("bob") as u:
        u.emit("device.online", "device", 1)
        raise RuntimeError("boom")
    assert (count(db, EventRecord), count(db, AuditRecord)) == before
    assert seen == []


def test_health_reports_the_dialect(db):
    h = db.health()
    assert h["ok"] is True and h["dialect"] in ("sqlite", "postgresql")
    assert isinstance(datetime.now(UTC), datetime)


def test_insert_new_inserts_only_the_missing_keys_and_says_which(db):
    from brain.ingest.models import IngestMessage
    from brain.storage.db import insert_new, utcnow

    table, at = IngestMessage.__table__, utcnow()
    with db.transaction() as s:
        assert insert_new(s, table, "id", ["m-1", "m-2"], kind="alarm", at=at) == {"m-1", "m-2"}
    with db.transaction() as s:
        assert insert_new(s, table, "id", ["m-2", "m-3", "m-1"], kind="status", at=at) == {"m-3"}
        assert insert_new(s, table, "id", [], kind="status", at=at) == set()
    with db.read() as s:
        rows = {m.id: (m.kind, m.at) for m in s.scalars(select(IngestMessage))}
    assert rows == {"m-1": ("alarm", at), "m-2": ("alarm", at), "m-3": ("status", at)}


def test_among_selects_the_rows_whose_column_is_one_of_the_values(db, district):
    from brain.storage.db import among

    seed(db, district)
    wanted = [str(i) for i in district.devices["id"].iloc[:3]] + ["NO-SUCH-DEVICE"]
    with db.read() as s:
        assert set(s.scalars(select(Device.id).where(among(s, Device.id, wanted)))) == set(wanted[:3])
        assert list(s.scalars(select(Device.id).where(among(s, Device.id, [])))) == []


def test_insert_rows_writes_every_row_with_its_nulls_and_times(db):
    from brain.alarms.models import Alarm
    from brain.storage.db import insert_rows, utcnow

    at = utcnow()
    rows = [{"id": f"a-{i}", "device_id": f"D-{i}", "type": "smoke", "severity": "critical", "state": "active",
             "count": i + 1, "lon": 121.45 + i / 1000, "lat": 31.33, "place_id": None if i % 2 else f"P-{i}",
             "first_at": at, "last_at": at, "live_key": f"D-{i}|smoke", "version": 1} for i in range(3)]
    with db.transaction() as s:
        insert_rows(s, Alarm.__table__, rows)
        insert_rows(s, Alarm.__table__, [])
    with db.read() as s:
        got = {a.id: (a.count, a.place_id, a.first_at, a.lon) for a in s.scalars(select(Alarm))}
    assert got == {r["id"]: (r["count"], r["place_id"], at, r["lon"]) for r in rows}


def test_rows_emitted_later_are_written_at_the_end_of_the_unit_in_order(db):
    bus = MemoryBus()
    store = Store(db, bus)
    seen = []
    bus.subscribe("*", seen.append)
    with store.unit("device:D-1") as u:
        first = u.emit("alarm.raised", "alarm", "a-1", {"n": 1}, later=True)
        second = u.emit("alarm.raised", "alarm", "a-2", {"n": 2}, later=True)
        assert u.later and not seen  # kept until the unit ends, published after its commit
    with db.read() as s:
        events = s.scalars(select(EventRecord).order_by(EventRecord.seq)).all()
        audits = s.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
    assert [(e.id, e.payload, e.actor) for e in events[-2:]] == [(first.id, {"n": 1}, "device:D-1"),
                                                                   (second.id, {"n": 2}, "device:D-1")]
    assert [(a.event_id, a.subject) for a in audits[-2:]] == [(first.id, "alarm:a-1"), (second.id, "alarm:a-2")]
    assert [e.id for e in seen] == [first.id, second.id]


def test_a_batch_of_events_keeps_every_payload_as_given_and_the_order_it_was_emitted_in(db):
    """Thousands of alarms' events travel as one statement each for events and audit rows; their JSON
    comes back as it went, awkward text and all, and in the order emitted."""
    store = Store(db, MemoryBus())
    payloads = [{"n": i, "text": AWKWARD_TEXT[i % len(AWKWARD_TEXT)], "nested": {"list": [i, None, 1.5]},
                 "empty": {}} for i in range(250)]
    with store.unit("device:D-1", source="mqtt") as u:
        emitted = [u.emit("alarm.raised", "alarm", f"a-{i}", p, later=True) for i, p in enumerate(payloads)]
    with db.read() as s:
        events = s.scalars(select(EventRecord).where(EventRecord.id.in_([e.id for e in emitted]))
                           .order_by(EventRecord.seq)).all()
        audits = s.scalars(select(AuditRecord).where(AuditRecord.event_id.in_([e.id for e in emitted]))
                           .order_by(AuditRecord.seq)).all()
    assert [(e.id, e.payload, e.at) for e in events] == [(e.id, p, e.at) for e, p in zip(emitted, payloads,
                                                                                          strict=True)]
    assert [(a.event_id, a.detail, a.source) for a in audits] == [(e.id, p, "mqtt") for e, p in zip(
        emitted, payloads, strict=True)]


AWKWARD_TEXT = ["plain", "", "NULL", "with \"quotes\"", "back\\slash", "line\nbreak", "tab\tand\x01control",
                "{braces,and,commas}", "中文 · 编号", " spaced "]


def test_array_literals_are_written_only_where_json_quoting_reads_the_same():
    from brain.storage.db import pg_array_literal

    at = datetime(2026, 11, 30, 4, 0, 0, 123456, tzinfo=UTC)
    assert pg_array_literal(["a", "b c", None]) == '{"a","b c",null}'
    assert pg_array_literal([1, 2.5]) == "{1,2.5}"
    assert pg_array_literal([at]) == '{"2026-11-30T04:00:00.123456+00:00"}'
    assert pg_array_literal([]) == "{}"
    for awkward in (["back\\slash"], ['a "quote"'], ["line\nbreak"], [float("nan")], [object()]):
        assert pg_array_literal(awkward) is None  # psycopg writes these


def test_array_parameters_carry_every_value_unchanged_through_the_database(db):
    """Whichever way an array parameter travels (its literal, or psycopg's list), PostgreSQL reads back
    the values given: text with quotes, backslashes, control characters and braces, nulls, times."""
    from brain.alarms.models import Alarm
    from brain.storage.db import insert_rows, utcnow

    at = utcnow()
    rows = [{"id": f"x-{i}", "device_id": text, "type": "smoke", "severity": "critical", "state": "active",
             "count": i, "lon": 121.45 + i / 7, "lat": 31.33, "place_id": None if i % 3 == 0 else text,
             "first_at": at - timedelta(seconds=i), "last_at": at, "live_key": None, "version": 1}
            for i, text in enumerate(AWKWARD_TEXT)]
    with db.transaction() as s:
        insert_rows(s, Alarm.__table__, rows)
    with db.read() as s:
        got = {a.id: (a.device_id, a.place_id, a.first_at, a.lon, a.count) for a in s.scalars(select(Alarm))}
    assert got == {r["id"]: (r["device_id"], r["place_id"], r["first_at"], r["lon"], r["count"]) for r in rows}


def test_an_array_parameter_is_typed_where_it_is_bound_not_cast_in_the_statement():
    """`= ANY(CAST(:p AS VARCHAR[]))` made a prepared statement's generic plan parse the array again for
    every row it looked at (150 ms where 1 ms is due); the parameter itself carries the array type."""
    from sqlalchemy.dialects import postgresql

    from brain.storage.db import pg_array

    stmt = select(Device.id).where(Device.id == sa_any(pg_array(["A", "B"], Device.id.type, "p")))
    sql = str(stmt.compile(dialect=postgresql.psycopg.dialect()))
    assert "%(p)s::VARCHAR(40)[]" in sql and "CAST" not in sql


def test_new_ids_are_32_hex_digits_and_never_repeat():
    import re

    ids = [new_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def _plans_of_a_repeated_lookup(db: Database) -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL made for one `= ANY(array)` lookup of 50 values (a batch's) that
    the driver prepared, run 12 times on a connection while its table was empty, as a quiet district's
    alarms table is small."""
    from sqlalchemy import Column, MetaData, String, Table, text

    from brain.storage.db import among

    t = Table(f"plans_{new_id()[:8]}", MetaData(), Column("k", String(80), primary_key=True), prefixes=["TEMPORARY"])
    with db.transaction() as s:
        t.create(s.connection())
        for i in range(12):
            s.execute(select(t.c.k).where(among(s, t.c.k, {f"k{j}" for j in range(i, i + 50)}))).all()
        row = s.execute(text("SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
                             "FROM pg_prepared_statements WHERE statement LIKE :like"),
                        {"like": f"%FROM {t.name}%= ANY%"}).one()
    return int(row[0]), int(row[1])


def test_on_postgresql_a_prepared_batch_lookup_is_planned_for_its_values_every_time():
    """A plan made once for good while the table was empty (a sequential scan) would stay while a storm
    grew the table tenfold: the brain's connections plan each run for its own values."""
    from sqlalchemy import create_engine

    from tests.conftest import service_url

    db = Database(service_url("DATABASE_URL"))
    plain = Database(str(db.url), engine=create_engine(db.url))  # the driver's and the server's defaults
    try:
        generic, custom = _plans_of_a_repeated_lookup(db)
        assert generic == 0 and custom >= 7  # psycopg prepares it from the fifth run on
        generic, _custom = _plans_of_a_repeated_lookup(plain)
        assert generic > 0  # what the setting prevents: the server settled on one plan for good
    finally:
        db.dispose()
        plain.dispose()
