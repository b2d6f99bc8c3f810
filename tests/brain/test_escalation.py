"""A critical alarm nobody acknowledges becomes an urgent case, auto-dispatched, exactly once."""

from datetime import timedelta

from sqlalchemy import select

from brain.alarms.escalation import Escalator
from brain.alarms.models import Alarm
from brain.events.models import EventRecord
from brain.storage.db import utcnow


def _devices(brain, kind, n=1):
    d = brain.district.devices
    return [str(x) for x in d[d["type"] == kind]["id"].iloc[:n]]


def test_an_unacknowledged_critical_alarm_opens_an_urgent_case_that_is_auto_dispatched(brain):
    brain.dispatch.attach(brain.bus)  # auto-dispatch listens on the bus
    esc = Escalator(brain.store, brain.cases, after=timedelta(minutes=3))
    now = utcnow()
    elevator = _devices(brain, "elevator")[0]
    old, _ = brain.alarms.raise_alarm(device_id=elevator, type="trapped", at=now - timedelta(minutes=4))
    smoke_acked, fresh_smoke = _devices(brain, "smoke", 2)
    acked, _ = brain.alarms.raise_alarm(device_id=smoke_acked, type="smoke", at=now - timedelta(minutes=10))
    brain.alarms.acknowledge(acked.id, actor="operator")
    brain.alarms.raise_alarm(device_id=fresh_smoke, type="smoke", at=now - timedelta(minutes=1))  # not yet due
    lane = _devices(brain, "fire_lane")[0]
    brain.alarms.raise_alarm(device_id=lane, type="blocked", at=now - timedelta(minutes=30))  # major: not escalated
    opened = esc.run_once(now)
    assert len(opened) == 1
    case = brain.cases.get(opened[0])
    assert (case.channel, case.priority, case.category) == ("iot", "urgent", "E0601")
    assert case.status == "dispatched" and case.assigned_staff_id  # auto-dispatched to the nearest suitable
    # what the product wrote is a catalogue entry, said in each reader's language (no English in the Chinese)
    assert case.description == "" and case.text == {"key": "case.text.escalated", "params": {
        "type": "@alarm.trapped", "device": elevator, "minutes": 4}}
    from dashboard.i18n import translator
    from dashboard.texts import case_words

    assert case_words(case, translator("zh-CN")) == f"电梯困人（设备 {elevator}）4 分钟无人确认，自动转为案件"
    assert case_words(case, translator("en")) == (f"Passenger trapped (device {elevator}) unacknowledged for 4 min: "
                                                  "opened as a case")
    with brain.db.read() as s:
        row = s.get(Alarm, old.id)
        assert row.case_id == case.id and row.escalated_at is not None and row.state == "active"
        ev = s.scalars(select(EventRecord).where(EventRecord.type == "alarm.escalated")).one()
    assert ev.payload["case_id"] == case.id
    assert esc.run_once(now + timedelta(minutes=1)) == []  # once only


def test_two_escalators_at_once_open_one_case(brain):
    now = utcnow()
    dev = _devices(brain, "gas")[0]
    alarm, _ = brain.alarms.raise_alarm(device_id=dev, type="gas_leak", at=now - timedelta(minutes=5))
    a = Escalator(brain.store, brain.cases, after=timedelta(minutes=3))
    b = Escalator(brain.store, brain.cases, after=timedelta(minutes=3))
    assert a.escalate(alarm.id, now) is not None
    assert b.escalate(alarm.id, now) is None


def test_an_escalated_alarm_its_case_the_dispatch_and_the_arrival_are_one_chain(brain):
    import uuid

    brain.dispatch.attach(brain.bus)
    esc = Escalator(brain.store, brain.cases, after=timedelta(minutes=3))
    now = utcnow()
    elevator = _devices(brain, "elevator")[0]
    alarm, _ = brain.alarms.raise_alarm(device_id=elevator, type="trapped", at=now - timedelta(minutes=4))
    (case_id,) = esc.run_once(now)
    case = brain.cases.get(case_id)
    task = next(t for t, v in brain.field.tasks_for(case.assigned_staff_id) if v.id == case_id)
    brain.flows.arrive(uuid.uuid4().hex, task.id, staff_id=case.assigned_staff_id, lon=case.lon, lat=case.lat,
                       at=utcnow(), actor="person:field")
    with brain.db.read() as s:
        chain = s.scalars(select(EventRecord).where(EventRecord.correlation_id == f"alarm:{alarm.id}")
                          .order_by(EventRecord.seq)).all()
        kinds = [e.type for e in chain]
    for kind in ("alarm.escalated", "case.opened", "case.registered", "case.dispatched", "task.assigned",
                 "case.handling", "task.arrived"):
        assert kind in kinds, (kind, kinds)
    other = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline")
    brain.cases.transition(other.id, to="registered", actor="person:disp", note="ok")
    with brain.db.read() as s:
        own = {e.correlation_id for e in s.scalars(select(EventRecord).where(
            EventRecord.subject_type == "case", EventRecord.subject_id == str(other.id)))}
    assert own == {f"case:{other.id}"}  # a case of its own is a chain of its own
