"""The ingest pipeline: every kind of bad input refused with a reason, counted and recorded; a message
handled twice changes nothing."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from brain.alarms.models import Alarm
from brain.events.models import EventRecord
from brain.ingest.models import IngestReject
from brain.staff.models import StaffTrack
from brain.storage.db import utcnow
from geodata.crs import wgs84_to_gcj02


def _device(brain, kind="smoke"):
    d = brain.district.devices
    return str(d[d["type"] == kind]["id"].iloc[0])


def _rejects(brain):
    with brain.db.read() as s:
        return [(r.kind, r.reason, r.excerpt) for r in s.scalars(select(IngestReject).order_by(IngestReject.seq))]


def test_a_good_alarm_is_accepted_and_the_same_message_again_changes_nothing(brain):
    dev = _device(brain)
    msg = json.dumps({"device_id": dev, "type": "smoke", "ts": utcnow().isoformat(), "id": "m-1"}).encode()
    first = brain.ingest.handle_alarm(msg, source="test")
    assert first.status == "accepted" and first.created
    again = brain.ingest.handle_alarm(msg, source="test")
    assert again.status in ("accepted", "duplicate") and not again.created
    with brain.db.read() as s:
        alarms = s.scalars(select(Alarm)).all()
    assert len(alarms) == 1 and alarms[0].count == 1


def test_a_repeat_message_bumps_the_live_alarm_once_however_often_it_is_delivered(brain):
    dev = _device(brain)
    t = utcnow()
    brain.ingest.handle_alarm({"device_id": dev, "type": "smoke", "ts": t.isoformat()}, source="test")
    repeat = {"device_id": dev, "type": "smoke", "ts": (t + timedelta(seconds=30)).isoformat()}  # id derived
    assert brain.ingest.handle_alarm(repeat, source="test").status == "accepted"
    assert brain.ingest.handle_alarm(repeat, source="test").status == "duplicate"
    with brain.db.read() as s:
        assert s.scalars(select(Alarm)).one().count == 2
    assert brain.ingest.counts["alarm.duplicate"] == 1


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "malformed_json"),
    (b"x" * 20_000, "oversized"),
    ({"type": "smoke", "ts": "2026-11-22T08:00:00+08:00"}, "missing_field"),
    ({"device_id": "NOPE-1", "type": "smoke", "ts": "now"}, "bad_timestamp"),
    ({"device_id": "NOPE-1", "type": "smoke", "ts": "2026-11-22T08:00:00"}, "bad_timestamp"),
    ({"device_id": "NOPE-1", "type": "smoke", "ts": "2099-01-01T00:00:00+00:00"}, "future_timestamp"),
    ({"device_id": "NOPE-1", "type": "smoke", "ts": "2020-01-01T00:00:00+00:00"}, "stale_timestamp"),
    ({"device_id": "NOPE-1", "type": "smoke", "ts": "{now}"}, "unknown_device"),
    ({"device_id": "{smoke}", "type": "trapped", "ts": "{now}"}, "unknown_type"),
    ({"device_id": ["a"], "type": "smoke", "ts": "{now}"}, "bad_field"),
])
def test_bad_alarms_are_refused_with_a_reason_counted_and_kept(brain, raw, reason):
    if isinstance(raw, dict):
        raw = {k: (v.replace("{now}", utcnow().isoformat()).replace("{smoke}", _device(brain))
                   if isinstance(v, str) else v) for k, v in raw.items()}
    out = brain.ingest.handle_alarm(raw, source="mqtt:test/topic")
    assert (out.status, out.reason) == ("rejected", reason), out
    assert brain.ingest.counts[f"alarm.rejected.{reason}"] == 1
    kind, recorded, excerpt = _rejects(brain)[-1]
    assert (kind, recorded) == ("alarm", reason) and len(excerpt) <= 500
    assert brain.ingest.stats()["rejected_last_24h"] == {reason: 1}
    with brain.db.read() as s:
        assert s.scalars(select(Alarm)).all() == []


def test_the_topic_names_the_device_and_a_body_that_disagrees_is_refused(brain):
    dev = _device(brain)
    ok = brain.ingest.handle_alarm({"type": "smoke", "ts": utcnow().isoformat()}, source="t", device_from_topic=dev)
    assert ok.status == "accepted"
    bad = brain.ingest.handle_alarm({"device_id": "OTHER", "type": "smoke", "ts": utcnow().isoformat()},
                                    source="t", device_from_topic=dev)
    assert bad.reason == "device_mismatch"


def _fix(brain, **kw):
    s = brain.staff.roster()[0]
    body = {"id": s.id, "lat": 31.3301, "lon": 121.4502, "timestamp": int(utcnow().timestamp()) + 2}
    body.update(kw)
    return s.id, body


def test_a_position_moves_the_person_once_and_gcj02_is_converted(brain):
    sid, body = _fix(brain)
    glon, glat = wgs84_to_gcj02(121.4502, 31.3301)
    body.update(lon=glon, lat=glat, coord="gcj02")
    assert brain.ingest.handle_position(body, source="test").status == "accepted"
    assert brain.ingest.handle_position(body, source="test").status == "duplicate"
    person = next(p for p in brain.staff.roster() if p.id == sid)
    assert person.lon == pytest.approx(121.4502, abs=1e-5) and person.lat == pytest.approx(31.3301, abs=1e-5)
    with brain.db.read() as s:
        assert len(s.scalars(select(StaffTrack).where(StaffTrack.staff_id == sid,
                                                      StaffTrack.lon == person.lon)).all()) == 1


@pytest.mark.parametrize(("change", "reason"), [
    ({"lat": 121.4502, "lon": 31.3301}, "swapped_coordinates"),
    ({"lat": 39.9, "lon": 116.4}, "out_of_district"),
    ({"lat": "NaN"}, "not_a_number"),
    ({"lat": 95.0}, "bad_coordinates"),
    ({"timestamp": 4102444800}, "future_timestamp"),
    ({"id": "S99999"}, "unknown_staff"),
    ({"coord": "mars"}, "bad_field"),
])
def test_bad_positions_are_refused_with_a_reason(brain, change, reason):
    _sid, body = _fix(brain, **change)
    out = brain.ingest.handle_position(json.dumps(body).encode(), source="http:/api/v1/osmand")
    assert (out.status, out.reason) == ("rejected", reason), out
    assert _rejects(brain)[-1][:2] == ("position", reason)


def test_a_device_in_maintenance_has_its_alarms_recorded_not_raised(brain):
    from brain.events.models import EventRecord

    dev = _device(brain, "gas")
    brain.alarms.set_maintenance(dev, True, actor="operator", reason="work order 17")
    out = brain.ingest.handle_alarm({"device_id": dev, "type": "gas_leak", "ts": utcnow().isoformat()}, source="t")
    assert (out.status, out.reason) == ("suppressed", "maintenance")
    with brain.db.read() as s:
        assert s.scalars(select(Alarm)).all() == []
        types = [e.type for e in s.scalars(select(EventRecord).where(EventRecord.subject_id == dev))]
    assert types == ["device.maintenance", "alarm.suppressed"]
    brain.alarms.set_maintenance(dev, False, actor="operator", reason="done")
    later = {"device_id": dev, "type": "gas_leak", "ts": (utcnow() + timedelta(seconds=1)).isoformat()}
    assert brain.ingest.handle_alarm(later, source="t").status == "accepted"


def test_a_flapping_device_is_damped_after_three_alarms_in_ten_minutes(brain):
    dev = _device(brain, "fire_lane")
    t = utcnow() - timedelta(minutes=8)
    for i in range(3):
        out = brain.ingest.handle_alarm({"device_id": dev, "type": "blocked", "ts": (t + timedelta(minutes=2 * i))
                                         .isoformat()}, source="t")
        assert out.status == "accepted" and out.created
        brain.alarms.clear(out.id, actor="device")
    fourth = brain.ingest.handle_alarm({"device_id": dev, "type": "blocked", "ts": utcnow().isoformat()}, source="t")
    assert (fourth.status, fourth.reason) == ("suppressed", "flapping")
    assert brain.ingest.counts["alarm.suppressed.flapping"] == 1


def test_a_batch_of_alarms_is_one_transaction_with_the_same_outcomes_as_one_by_one(brain):
    devices = brain.district.devices
    smoke = [str(d) for d in devices[devices["type"] == "smoke"]["id"].iloc[:3]]
    brain.alarms.set_maintenance(smoke[2], True, actor="operator", reason="work order 5")
    now = utcnow()

    def msg(device, kind="low_battery", mid=None, ts=None):
        body = {"device_id": device, "type": kind, "ts": (ts or now).isoformat()}
        if mid:
            body["id"] = mid
        return (json.dumps(body), "test", None, f"device:{device}")

    batch = [msg(smoke[0], mid="m1"), msg(smoke[0], mid="m2"), msg(smoke[0], mid="m1"),  # new, repeat, duplicate
             msg("NOPE-1", mid="m3"), msg(smoke[1], ts=now + timedelta(hours=1)),  # unknown device, future
             msg(smoke[1], kind="trapped"), msg(smoke[2], mid="m4"),  # wrong type for a smoke detector, maintenance
             (b"{broken", "test", None, "device")]
    with brain.db.read() as s:
        events_before = s.scalar(select(func.count()).select_from(EventRecord))
    outs = brain.ingest.handle_alarms(batch)
    assert [(o.status, o.reason) for o in outs] == [
        ("accepted", None), ("accepted", None), ("duplicate", None), ("rejected", "unknown_device"),
        ("rejected", "future_timestamp"), ("rejected", "unknown_type"), ("suppressed", "maintenance"),
        ("rejected", "malformed_json")]
    assert outs[0].created is True and outs[1].created is False
    with brain.db.read() as s:
        alarm = s.scalars(select(Alarm).where(Alarm.device_id == smoke[0])).one()
        assert alarm.count == 2
        kinds = list(s.scalars(select(EventRecord.type).order_by(EventRecord.seq).offset(events_before)))
    assert kinds == ["alarm.raised", "alarm.suppressed"]
    again = brain.ingest.handle_alarms(batch[:2])  # delivered again: nothing changes
    assert [(o.status, o.created) for o in again] == [("accepted", False), ("duplicate", None)]  # m1: its alarm
    with brain.db.read() as s:
        assert s.get(Alarm, alarm.id).count == 2


def test_message_ids_are_forgotten_only_once_a_redelivery_would_be_refused_as_stale(brain):
    """ingest_messages keeps a handled message's id past the age at which the same message is refused as
    stale anyway; older ids are deleted (in chunks), newer ones kept, and a kept id still stops a repeat."""
    from brain.ingest.forget import CHUNK, KEEP, HandledMemory
    from brain.ingest.models import IngestMessage
    from brain.ingest.pipeline import MAX_AGE, MAX_FUTURE

    assert KEEP > MAX_AGE + MAX_FUTURE
    with pytest.raises(ValueError):
        HandledMemory(brain.db, keep=MAX_AGE)
    now = utcnow()
    old = [{"id": f"old-{i}", "kind": "alarm", "at": now - KEEP - timedelta(minutes=1)} for i in range(CHUNK + 7)]
    kept = [{"id": f"kept-{i}", "kind": "alarm", "at": now - KEEP + timedelta(minutes=1)} for i in range(5)]
    with brain.db.transaction() as s:
        s.execute(IngestMessage.__table__.insert(), old + kept)
    dev = _device(brain)
    body = json.dumps({"device_id": dev, "type": "smoke", "ts": now.isoformat()})  # its id derived from these
    assert brain.ingest.handle_alarm(body, source="test").status == "accepted"
    with brain.db.read() as s:
        fresh = set(s.scalars(select(IngestMessage.id))) - {r["id"] for r in old + kept}
    assert len(fresh) == 1

    assert HandledMemory(brain.db).run_once(now) == CHUNK + 7
    with brain.db.read() as s:
        left = set(s.scalars(select(IngestMessage.id)))
    assert left == {r["id"] for r in kept} | fresh
    assert brain.ingest.handle_alarm(body, source="test").status == "duplicate"


@pytest.mark.parametrize(("kind", "alarm"), [("smoke", "smoke"), ("gas", "gas_leak"), ("elevator", "trapped"),
                                              ("door", "no_activity")])
def test_a_life_safety_alarm_is_raised_however_often_its_device_flaps_and_the_device_is_marked(brain, kind, alarm):
    dev = _device(brain, kind)
    t = utcnow() - timedelta(minutes=9)
    for i in range(5):
        out = brain.ingest.handle_alarm({"device_id": dev, "type": alarm, "ts": (t + timedelta(minutes=2 * i))
                                         .isoformat()}, source="t")
        assert (out.status, out.created) == ("accepted", True), out
        brain.alarms.clear(out.id, actor="device")
    assert brain.ingest.counts["alarm.suppressed.flapping"] == 0
    with brain.db.read() as s:
        raised = s.scalars(select(EventRecord).where(EventRecord.type == "alarm.raised")).all()
    assert len(raised) == 5 and [bool(e.payload.get("flapping")) for e in raised] == [False] * 3 + [True] * 2
    assert dev in brain.alarms.flapping()
    assert {d["id"]: d["flapping"] for d in brain.alarms.devices()}[dev] is True


def test_a_fix_delivered_twice_is_stored_once_by_its_message_id_whichever_worker_gets_it(brain):
    from brain.ingest.models import IngestMessage
    from brain.ingest.pipeline import ROUTES, Message, Pipeline

    other = Pipeline(brain.db, brain.alarms, brain.staff, brain.gazetteer, brain.monitor)  # another worker's
    person = brain.staff.roster()[0]

    def track() -> int:
        with brain.db.read() as s:
            return s.scalar(select(func.count()).select_from(StaffTrack).where(StaffTrack.staff_id == person.id))

    before = track()
    fix = {"lat": 31.3302, "lon": 121.4503, "timestamp": utcnow().isoformat()}
    outs = brain.ingest.handle([Message("position", json.dumps(fix), "t", person.id, "gps")] * 2)
    assert [o.status for o in outs] == ["accepted", "duplicate"]  # twice in one batch
    assert other.handle_position(fix, source="t", staff_from_topic=person.id).status == "duplicate"
    assert track() == before + 1
    with brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IngestMessage).where(IngestMessage.kind == "position")) == 1
    assert set(ROUTES) == {"alarm", "status", "position"}  # the one table MQTT, the queue and HTTP take
