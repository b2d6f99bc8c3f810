"""The live alarms kept in memory from the bus: the same list the database gives, after every kind of
change, read again where an event does not say enough, and never moved back by an event applied twice."""

import threading
from datetime import datetime, timedelta

from brain.alarms.live_index import LiveIndex
from brain.alarms.service import AlarmMessage, AlarmView
from brain.events.bus import MemoryBus
from brain.events.types import Event
from brain.storage.db import utcnow


def _devices(brain, kind, n):
    d = brain.district.devices
    return [str(x) for x in d[d["type"] == kind]["id"].iloc[:n]]


def _same(brain):
    """The index holds what the database holds (in its own order: the database's is by first time)."""
    assert brain.alarms.index is not None
    held = brain.alarms.live()
    assert len({a.id for a in held}) == len(held)
    assert {a.id: a for a in held} == {a.id: a for a in brain.alarms.live_from_db()}


def test_after_raises_repeats_acknowledgements_and_clears_the_list_is_what_the_database_holds(brain):
    index = brain.alarms.index
    smoke, lifts = _devices(brain, "smoke", 4), _devices(brain, "elevator", 3)
    _same(brain)
    loads = index.loads
    now = utcnow()
    brain.alarms.raise_many([AlarmMessage(d, "smoke", now - timedelta(seconds=i)) for i, d in enumerate(smoke)])
    brain.alarms.raise_many([AlarmMessage(d, "fault", now) for d in lifts])
    brain.alarms.raise_many([AlarmMessage(d, "smoke", now + timedelta(seconds=2)) for d in smoke[:2]] * 3)
    _same(brain)
    a = next(x for x in brain.alarms.live() if x.device_id == smoke[0])
    assert a.count == 4 and a.last_at == now + timedelta(seconds=2)
    brain.alarms.acknowledge(a.id, actor="operator")
    brain.alarms.clear(next(x for x in brain.alarms.live() if x.device_id == lifts[0]).id, actor="operator")
    _same(brain)
    assert index.loads == loads  # every change above was applied from its event, none read again


def test_a_welfare_ladder_and_an_escalation_are_read_again_from_the_database(brain):
    index = brain.alarms.index
    _same(brain)
    loads = index.loads
    index._on_event(Event("alarm.welfare_rung", "alarm", "any", "monitor", {"rung": "visit"}))
    _same(brain)
    assert index.loads == loads + 1
    index._on_event(Event("alarm.escalated", "alarm", "any", "escalator", {"case_id": 1}))
    _same(brain)
    assert index.loads == loads + 2


def _view(i, count=1, at=None):
    at = at or utcnow()
    return AlarmView(f"a{i}", f"D{i}", "smoke", "critical", "active", count, at, at, 121.45, 31.33)


def test_an_event_applied_twice_or_late_never_moves_a_count_or_a_time_back():
    t0 = utcnow()
    index = LiveIndex(lambda: [_view(1, count=5, at=t0)])
    bus = MemoryBus()
    index.attach(bus)
    assert index.live()[0].count == 5
    later = t0 + timedelta(seconds=30)
    bus.publish(Event("alarm.repeated", "alarm", "a1", "device",
                      {"count": 7, "added": 2, "last_at": later.isoformat()}))
    stale = Event("alarm.repeated", "alarm", "a1", "device", {"count": 6, "added": 1, "last_at": t0.isoformat()})
    bus.publish(stale)
    bus.publish(Event("alarm.raised", "alarm", "a1", "device", {"device_id": "D1", "type": "smoke",
                                                               "severity": "critical", "lon": 1.0, "lat": 2.0}))
    [a] = index.live()
    assert (a.count, a.last_at, a.lon) == (7, later, 121.45)


def test_an_event_about_an_alarm_it_does_not_hold_makes_it_read_again():
    rows = [_view(1)]
    index = LiveIndex(lambda: list(rows))
    bus = MemoryBus()
    index.attach(bus)
    assert [a.id for a in index.live()] == ["a1"]
    rows.append(_view(2))  # raised by another worker whose event has not arrived
    bus.publish(Event("alarm.acknowledged", "alarm", "a2", "operator", {"by": "operator"}))
    assert [a.id for a in index.live()] == ["a1", "a2"]
    assert index.loads == 2


def test_it_is_read_again_after_its_resync_time_so_a_lost_event_shows_for_no_longer():
    rows, now = [_view(1)], [0.0]
    index = LiveIndex(lambda: list(rows), resync_s=10.0, clock=lambda: now[0])
    assert len(index.live()) == 1
    rows.append(_view(2))  # its event was lost
    now[0] = 9.0
    assert len(index.live()) == 1
    now[0] = 10.0
    assert len(index.live()) == 2


def test_events_arriving_while_the_database_is_read_are_applied_to_what_was_read():
    bus = MemoryBus()
    reading, go_on = threading.Event(), threading.Event()
    t0 = utcnow()

    def slow_load():
        reading.set()
        go_on.wait(5)
        return [_view(1, at=t0)]  # read before the events below were published

    index = LiveIndex(slow_load)
    index.attach(bus)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(index.live()))
    reader.start()
    assert reading.wait(5)
    bus.publish(Event("alarm.repeated", "alarm", "a1", "device",
                      {"count": 3, "added": 2, "last_at": (t0 + timedelta(seconds=5)).isoformat()}))
    bus.publish(Event("alarm.raised", "alarm", "a9", "device", {"device_id": "D9", "type": "smoke",
                                                               "severity": "major", "lon": 1.0, "lat": 2.0}, at=t0))
    go_on.set()
    reader.join(5)
    assert {a.id: a.count for a in got[0]} == {"a1": 3, "a9": 1}
    assert index.loads == 1 and {a.id for a in index.live()} == {"a1", "a9"}


def test_a_bumped_alarm_keeps_every_field_but_its_count_and_last_time():
    t = utcnow()
    view = AlarmView("a1", "SMK-1", "no_activity", "major", "acknowledged", 2, t, t, 121.4, 31.3, "visit",
                     t + timedelta(hours=1))
    bumped = view.bumped(5, t + timedelta(seconds=9))
    assert (bumped.count, bumped.last_at) == (5, t + timedelta(seconds=9))
    assert {**bumped.__dict__, "count": 2, "last_at": t} == view.__dict__


def test_an_alarm_keeps_its_place_while_it_is_live_and_new_ones_join_at_the_end():
    t0 = utcnow()
    rows = [_view(2, at=t0 - timedelta(seconds=5)), _view(1, at=t0)]
    index = LiveIndex(lambda: list(rows), resync_s=10.0, clock=lambda: now[0])
    now = [0.0]
    bus = MemoryBus()
    index.attach(bus)
    assert [a.id for a in index.live()] == ["a2", "a1"]  # the first reading: oldest first
    older = (t0 - timedelta(minutes=1)).isoformat()
    for key in ("a9", "a0"):  # a0 happened earlier, but became live later: it joins at the end all the same
        bus.publish(Event("alarm.raised", "alarm", key, "device", {"device_id": "D", "type": "smoke",
                                                                  "severity": "major", "lon": 1.0, "lat": 2.0},
                          at=datetime.fromisoformat(older) if key == "a0" else t0))
    bus.publish(Event("alarm.repeated", "alarm", "a2", "device", {"count": 3, "last_at": t0.isoformat()}))
    bus.publish(Event("alarm.acknowledged", "alarm", "a1", "operator", {"by": "operator"}))
    assert [a.id for a in index.live()] == ["a2", "a1", "a9", "a0"]
    bus.publish(Event("alarm.cleared", "alarm", "a1", "operator", {}))
    assert [a.id for a in index.live()] == ["a2", "a9", "a0"]
    # the database read again (its resync time passed): the places held are kept, the others added at the end
    rows[:] = [_view(i, at=t0 - timedelta(seconds=i)) for i in (7, 0, 9, 2)]
    now[0] = 10.0
    assert [a.id for a in index.live()] == ["a2", "a9", "a0", "a7"]
    assert index.loads == 2


def test_a_raise_that_arrives_after_its_clear_does_not_bring_the_alarm_back():
    """Two workers: one raised the alarm, the other cleared it, and their events crossed on the way."""
    index = LiveIndex(lambda: [_view(1)])
    bus = MemoryBus()
    index.attach(bus)
    assert [a.id for a in index.live()] == ["a1"]
    bus.publish(Event("alarm.cleared", "alarm", "a2", "operator", {}))
    bus.publish(Event("alarm.raised", "alarm", "a2", "device", {"device_id": "D2", "type": "smoke",
                                                               "severity": "critical", "lon": 1.0, "lat": 2.0}))
    assert [a.id for a in index.live()] == ["a1"]
    assert index.loads == 1  # known from the events alone
    # a clear that arrives while the list is not held (an event it cannot apply made it read again),
    # and its raise only after the list was read again
    bus.publish(Event("alarm.acknowledged", "alarm", "a7", "operator", {"by": "operator"}))
    bus.publish(Event("alarm.cleared", "alarm", "a3", "operator", {}))
    assert [a.id for a in index.live()] == ["a1"]
    bus.publish(Event("alarm.raised", "alarm", "a3", "device", {"device_id": "D3", "type": "smoke",
                                                               "severity": "critical", "lon": 1.0, "lat": 2.0}))
    assert [a.id for a in index.live()] == ["a1"]
    assert index.loads == 2
