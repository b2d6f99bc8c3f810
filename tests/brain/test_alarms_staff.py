"""Alarm de-duplication and staff positions."""

from datetime import timedelta

import pytest

from brain.alarms.service import AlarmError
from brain.staff.service import Fix
from brain.storage.db import utcnow


def smoke_device(district) -> str:
    d = district.devices
    return str(d[d["type"] == "smoke"]["id"].iloc[0])


def test_a_repeat_bumps_the_live_alarm_instead_of_raising_another(brain, district):
    dev = smoke_device(district)
    a, created = brain.alarms.raise_alarm(device_id=dev, type="smoke")
    b, again = brain.alarms.raise_alarm(device_id=dev, type="smoke")
    assert created and not again and a.id == b.id and b.count == 2
    assert [x.id for x in brain.alarms.live()] == [a.id]
    assert a.severity == "critical"


def test_after_clearing_the_same_device_raises_a_new_alarm(brain, district):
    dev = smoke_device(district)
    a, _ = brain.alarms.raise_alarm(device_id=dev, type="smoke")
    brain.alarms.clear(a.id, actor="operator", false_alarm=True)
    b, created = brain.alarms.raise_alarm(device_id=dev, type="smoke")
    assert created and b.id != a.id
    with pytest.raises(AlarmError, match="not live"):
        brain.alarms.clear(a.id, actor="operator")


def test_unknown_device_or_alarm_type_is_refused(brain, district):
    with pytest.raises(AlarmError, match="unknown device"):
        brain.alarms.raise_alarm(device_id="NOPE", type="smoke")
    with pytest.raises(AlarmError, match="raises no alarm"):
        brain.alarms.raise_alarm(device_id=smoke_device(district), type="trapped")


def test_position_fixes_move_staff_and_older_fixes_do_not_move_them_back(brain):
    person = brain.staff.roster()[0]
    now = utcnow()
    moved = brain.staff.record_fixes([Fix(person.id, 121.45, 31.33, now)])
    assert moved == 1
    moved = brain.staff.record_fixes([Fix(person.id, 121.44, 31.32, now - timedelta(minutes=5))])
    assert moved == 0
    p = next(s for s in brain.staff.roster() if s.id == person.id)
    assert (p.lon, p.lat) == (121.45, 31.33)


def test_a_batch_of_fixes_is_applied_in_order_as_if_each_came_alone(brain):
    """Several fixes of one person in one batch, out of order, mixed with others' and with an unknown id:
    each moves its person only if it is not older than what is held by then; every fix is in the track."""
    from sqlalchemy import func, select

    from brain.staff.models import StaffTrack

    a, b = brain.staff.roster()[:2]
    now = max([utcnow()] + [p.position_at for p in (a, b) if p.position_at]) + timedelta(minutes=1)
    moves = []
    brain.bus.subscribe("staff.moved", moves.append)
    with brain.store.db.read() as s:
        before = s.execute(select(func.count()).select_from(StaffTrack)).scalar_one()
    moved = brain.staff.record_fixes([
        Fix(a.id, 121.40, 31.30, now - timedelta(seconds=10)),
        Fix(b.id, 121.41, 31.31, now),
        Fix(a.id, 121.42, 31.32, now),
        Fix(a.id, 121.43, 31.33, now - timedelta(seconds=5)),  # older than the batch's fix before it
        Fix("NOBODY", 121.44, 31.34, now),
    ])
    assert moved == 3
    assert [(e.subject_id, e.payload["lon"]) for e in moves] == [(a.id, 121.40), (b.id, 121.41), (a.id, 121.42)]
    held = {s.id: (s.lon, s.lat) for s in brain.staff.roster([a.id, b.id])}
    assert held == {a.id: (121.42, 31.32), b.id: (121.41, 31.31)}
    with brain.store.db.read() as s:
        assert s.execute(select(func.count()).select_from(StaffTrack)).scalar_one() == before + 5


def test_duty_status_change_is_an_event(brain):
    seen = []
    brain.bus.subscribe("staff.status_changed", seen.append)
    person = brain.staff.roster()[0]
    brain.staff.set_status(person.id, "off_duty", actor="leader", reason="下班")
    brain.staff.set_status(person.id, "off_duty", actor="leader")  # no change, no event
    assert len(seen) == 1 and seen[0].payload["to"] == "off_duty"


def test_old_position_fixes_are_pruned_and_recent_ones_kept(brain):
    person = brain.staff.roster()[0]
    now = utcnow()
    brain.staff.record_fixes([Fix(person.id, 121.45, 31.33, now - timedelta(days=2)),
                              Fix(person.id, 121.451, 31.331, now)])
    assert brain.staff.prune_track(older_than=now - timedelta(days=1)) == 1
    assert brain.staff.prune_track(older_than=now - timedelta(days=1)) == 0


def test_the_same_message_twice_is_one_alarm_and_changes_nothing(brain, district):
    dev = smoke_device(district)
    a, created = brain.alarms.raise_alarm(device_id=dev, type="smoke", alarm_id="msg-1")
    b, again = brain.alarms.raise_alarm(device_id=dev, type="smoke", alarm_id="msg-1")
    assert created and not again and a.id == b.id == "msg-1" and b.count == 1
    c, _ = brain.alarms.raise_alarm(device_id=dev, type="smoke", alarm_id="msg-2")  # a new message: a repeat
    assert c.id == "msg-1" and c.count == 2


def test_acknowledge_and_clear_are_separate_facts(brain, district):
    a, _ = brain.alarms.raise_alarm(device_id=smoke_device(district), type="smoke")
    ack = brain.alarms.acknowledge(a.id, actor="operator-1")
    assert ack.state == "acknowledged"
    with pytest.raises(AlarmError, match="only an active alarm"):
        brain.alarms.acknowledge(a.id, actor="operator-2")
    cleared = brain.alarms.clear(a.id, actor="operator-1", false_alarm=False)
    assert cleared.state == "cleared"
    assert [x.id for x in brain.alarms.find(state="cleared")] == [a.id]


def test_timestamps_far_in_the_future_or_without_a_zone_are_refused(brain, district):
    from datetime import datetime

    with pytest.raises(AlarmError, match="future"):
        brain.alarms.raise_alarm(device_id=smoke_device(district), type="smoke", at=utcnow() + timedelta(hours=1))
    with pytest.raises(AlarmError, match="time zone"):
        brain.alarms.raise_alarm(device_id=smoke_device(district), type="smoke", at=datetime(2026, 1, 1))


def test_repeats_in_batches_add_to_the_count_and_never_move_the_last_time_back(brain):
    from brain.alarms.service import AlarmMessage

    devices = brain.district.devices
    dev = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
    t0 = utcnow() - timedelta(minutes=30)
    [first] = brain.alarms.raise_many([AlarmMessage(dev, "smoke", t0)])
    later, earlier = t0 + timedelta(minutes=20), t0 + timedelta(minutes=5)
    results = brain.alarms.raise_many([AlarmMessage(dev, "smoke", later), AlarmMessage(dev, "smoke", earlier)])
    assert [r.status for r in results] == ["repeated", "repeated"]
    brain.alarms.raise_many([AlarmMessage(dev, "smoke", earlier)])  # a late message, alone in its batch
    [alarm] = [a for a in brain.alarms.live() if a.device_id == dev]
    assert (alarm.id, alarm.count, alarm.first_at, alarm.last_at) == (first.alarm.id, 4, t0, later)
