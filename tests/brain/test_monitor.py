"""Device heartbeats (offline alarms) and the welfare ladder for elderly residents living alone."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from brain.alarms.models import Alarm
from brain.alarms.monitor import OFFLINE_AFTER, Outcome
from brain.alarms.service import AlarmError
from brain.district.models import Device
from brain.events.models import EventRecord
from brain.live import snapshot
from brain.storage.db import utcnow


def _set_device(brain, device_id, **values):
    with brain.db.transaction() as s:
        s.execute(update(Device).where(Device.id == device_id).values(**values))


def _device(brain, kind):
    d = brain.district.devices
    row = d[d["type"] == kind].iloc[0]
    return str(row["id"]), int(row["heartbeat_s"])


def _events(brain, kind, subject):
    with brain.db.read() as s:
        return list(s.scalars(select(EventRecord).where(EventRecord.type == kind, EventRecord.subject_id == subject)
                              .order_by(EventRecord.seq)))


def test_a_device_silent_past_its_interval_goes_offline_once_and_its_next_heartbeat_brings_it_back(brain):
    now = utcnow()
    lift, beat = _device(brain, "elevator")
    lane, lane_beat = _device(brain, "fire_lane")
    _set_device(brain, lift, last_seen_at=now - timedelta(seconds=OFFLINE_AFTER * beat + 5))
    _set_device(brain, lane, last_seen_at=now - timedelta(seconds=lane_beat))  # one interval: only late
    assert brain.monitor.sweep_offline(now) == [lift]
    assert brain.monitor.sweep_offline(now + timedelta(seconds=1)) == []  # already offline: no second alarm
    offline = [a for a in brain.alarms.live() if a.type == "offline"]
    assert [(a.device_id, a.severity, a.state) for a in offline] == [(lift, "minor", "active")]
    assert {d["id"]: d["online"] for d in brain.alarms.devices()}[lift] is False
    assert len(_events(brain, "device.offline", lift)) == 1
    with brain.db.read() as s:  # raising the alarm is not a sign the device is alive
        assert s.get(Device, lift).last_seen_at < now - timedelta(seconds=beat)

    result = brain.monitor.status(lift, at=utcnow())
    assert result["came_back"] and result["cleared"] == [offline[0].id]
    assert not [a for a in brain.alarms.live() if a.type == "offline"]
    assert {d["id"]: d["online"] for d in brain.alarms.devices()}[lift] is True
    assert len(_events(brain, "device.online", lift)) == 1
    assert brain.monitor.status(lift, at=utcnow())["came_back"] is False  # an ordinary heartbeat changes no state


def test_a_device_in_maintenance_is_never_taken_offline(brain):
    now = utcnow()
    smoke, beat = _device(brain, "smoke")
    brain.alarms.set_maintenance(smoke, True, actor="operator", reason="battery swap, work order 9")
    _set_device(brain, smoke, last_seen_at=now - timedelta(seconds=10 * beat))
    assert brain.monitor.sweep_offline(now) == []


def test_a_heartbeat_from_an_unknown_device_is_refused(brain):
    with pytest.raises(LookupError):
        brain.monitor.status("NOPE-000001", at=utcnow())


def _quiet_home(brain, hours):
    """A home of an elderly resident living alone whose sensors last saw life `hours` ago."""
    places = brain.district.places
    d = brain.district.devices
    home = str(places[(places["kind"] == "home") & places["living_alone"]]["id"].iloc[0])
    sensors = d[(d["place"] == home) & d["type"].isin(["door", "water_meter"])]["id"].tolist()
    assert sensors
    then = utcnow() - timedelta(hours=hours)
    for device_id in sensors:
        _set_device(brain, device_id, last_activity_at=then, last_seen_at=utcnow())
    return home, sensors


def _welfare(brain, home):
    return [a for a in brain.alarms.live() if a.type in ("no_activity", "no_usage") and _place(brain, a.id) == home]


def _place(brain, alarm_id):
    with brain.db.read() as s:
        return s.get(Alarm, alarm_id).place_id


def _make_due(brain, alarm_id):
    with brain.db.transaction() as s:
        s.execute(update(Alarm).where(Alarm.id == alarm_id).values(rung_due_at=utcnow() - timedelta(seconds=1)))


def test_a_quiet_home_climbs_the_welfare_ladder_call_then_visit_then_emergency(brain):
    home, _sensors = _quiet_home(brain, hours=13)
    assert brain.monitor.sweep_welfare(utcnow())
    [alarm] = _welfare(brain, home)
    with brain.db.read() as s:
        row = s.get(Alarm, alarm.id)
        assert (row.rung, row.severity, row.state) == (1, "major", "active")
        assert timedelta(minutes=14) < row.rung_due_at - utcnow() <= timedelta(minutes=15)
    assert brain.monitor.sweep_welfare(utcnow()) == []  # nothing due yet; still one alarm for the home
    assert len(_welfare(brain, home)) == 1

    brain.alarms.acknowledge(alarm.id, actor="operator")  # someone is calling: the ladder still runs
    _make_due(brain, alarm.id)
    assert brain.monitor.sweep_welfare(utcnow()) == [alarm.id]
    with brain.db.read() as s:
        row = s.get(Alarm, alarm.id)
        assert row.rung == 2 and row.case_id is not None
    visit = brain.cases.get(row.case_id)
    assert (visit.channel, visit.priority, visit.category) == ("iot", "urgent", "E0607")
    assert visit.status == "dispatched" and visit.assigned_staff_id

    _make_due(brain, alarm.id)
    assert brain.monitor.sweep_welfare(utcnow()) == [alarm.id]
    with brain.db.read() as s:
        row = s.get(Alarm, alarm.id)
        assert (row.rung, row.severity, row.state, row.rung_due_at) == (3, "critical", "active", None)
    assert snapshot(brain).takeover.id == alarm.id  # the wall takes over until a fresh acknowledgement
    assert alarm.id not in brain.escalator.due(utcnow() + timedelta(hours=1))  # the visit case is its case
    rungs = [e.payload["rung"] for e in _events(brain, "alarm.welfare_rung", alarm.id)]
    assert rungs == ["call", "visit", "emergency"]
    _make_due(brain, alarm.id)
    assert brain.monitor.sweep_welfare(utcnow()) == []  # the top rung has no timer


def test_a_sign_of_life_clears_the_welfare_alarm_and_a_recent_one_raises_none(brain):
    home, sensors = _quiet_home(brain, hours=13)
    brain.monitor.sweep_welfare(utcnow())
    [alarm] = _welfare(brain, home)
    result = brain.monitor.status(sensors[-1], at=utcnow(), activity=True)
    assert result["cleared"] == [alarm.id]
    with brain.db.read() as s:
        row = s.get(Alarm, alarm.id)
        assert (row.state, row.false_alarm, row.rung_due_at) == ("cleared", True, None)
    assert brain.monitor.sweep_welfare(utcnow()) == []  # the home has just shown life


def test_the_operator_records_what_a_rung_found(brain):
    home, _ = _quiet_home(brain, hours=13)
    brain.monitor.sweep_welfare(utcnow())
    [alarm] = _welfare(brain, home)
    with pytest.raises(AlarmError):
        brain.monitor.record_outcome(alarm.id, "probably fine", actor="operator")
    assert brain.monitor.record_outcome(alarm.id, Outcome.NOT_REACHED, actor="operator")["rung"] == "visit"
    done = brain.monitor.record_outcome(alarm.id, Outcome.RESIDENT_OK, actor="operator", note="家人已联系上")
    assert done["state"] == "cleared"
    outcomes = [e.payload["outcome"] for e in _events(brain, "alarm.welfare_outcome", alarm.id)]
    assert outcomes == ["not_reached", "resident_ok"]
    with pytest.raises(AlarmError):  # no longer live
        brain.monitor.record_outcome(alarm.id, Outcome.NOT_REACHED, actor="operator")
    lift, _ = _device(brain, "elevator")
    other, _ = brain.alarms.raise_alarm(device_id=lift, type="fault")
    with pytest.raises(AlarmError):  # not a welfare alarm
        brain.monitor.record_outcome(other.id, Outcome.RESIDENT_OK, actor="operator")
