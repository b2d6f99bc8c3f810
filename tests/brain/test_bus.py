from brain.events.bus import MemoryBus
from brain.events.types import Event


def ev(t="case.opened"):
    return Event(type=t, subject_type="case", subject_id="1", actor="t")


def test_subscribers_get_matching_events_and_unsubscribe_stops_them():
    bus = MemoryBus()
    got = []
    off = bus.subscribe("case.*", got.append)
    bus.publish(ev("case.opened"))
    bus.publish(ev("alarm.raised"))
    off()
    bus.publish(ev("case.closed"))
    assert [e.type for e in got] == ["case.opened"]


def test_a_failing_handler_is_counted_and_never_breaks_the_bus():
    bus = MemoryBus()
    got = []

    def bad(_e):
        raise ValueError("handler bug")

    bus.subscribe("*", bad)
    bus.subscribe("*", got.append)
    bus.publish(ev())
    assert len(got) == 1
    assert bus.health()["handler_errors"] == 1


def test_events_round_trip_through_dicts():
    e = ev()
    assert Event.from_dict(e.as_dict()) == e


def test_an_event_goes_to_json_with_every_field_and_comes_back_equal():
    import json
    from dataclasses import fields

    from brain.events.types import Event

    event = Event("alarm.raised", "alarm", "a-1", "device:SMK-1", {"type": "smoke", "lon": 121.45}, correlation_id="c")
    d = json.loads(json.dumps(event.as_dict()))
    assert set(d) == {f.name for f in fields(Event)}
    assert Event.from_dict(d) == event
