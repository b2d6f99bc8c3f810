"""The field end of a case: assignment to verification, each step in the case's own transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from brain.cases.workflow import TransitionRefused
from brain.events.models import EventRecord
from brain.field.models import FieldOp, Photo, Task
from brain.field.service import FieldRefused, NotYours, TaskGone
from brain.staff.models import StaffTrack
from brain.storage.db import utcnow
from tests.brain.test_photos import photo_bytes


def op() -> str:
    return uuid.uuid4().hex


def _assigned(brain, pole="0412", category="E0501"):
    case = brain.cases.open_case(channel="street_patrol", category=category, pole=pole, actor="patrol")
    top = brain.dispatch.recommend(case.id).ranked[0]
    brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=top.staff_id)
    (task, _view), = brain.field.tasks_for(top.staff_id)
    return brain.cases.get(case.id), top.staff_id, task


def _status(brain, staff_id):
    return {s.id: s.status for s in brain.staff.roster()}[staff_id]


def _photo(brain, case, staff_id, kind, *, may_verify=False, colour=0):
    raw = photo_bytes(size=(320 + colour, 240))
    return brain.field.add_photo(raw, case_id=case.id, kind=kind, staff_id=staff_id, actor=f"person:{staff_id}",
                                 taken_at=utcnow(), lon=case.lon, lat=case.lat, may_verify=may_verify)["id"]


def _supervisor(brain, not_):
    return next(s.id for s in brain.staff.roster() if s.id != not_)


def test_the_whole_loop_from_the_phone_stamps_every_step_and_moves_the_person(brain):
    case, sid, task = _assigned(brain)
    me = f"person:{sid}"
    assert task.state == "assigned" and task.stamps["assigned"] and not task.stamps["read"]
    brain.field.acknowledge(op(), task.id, "delivered", staff_id=sid, actor=me)
    brain.field.acknowledge(op(), task.id, "read", staff_id=sid, actor=me)
    brain.field.accept(op(), task.id, staff_id=sid, actor=me)
    assert _status(brain, sid) == "en_route"
    brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon, lat=case.lat + 0.0002, at=utcnow(), actor=me)
    assert brain.cases.get(case.id).status == "handling" and _status(brain, sid) == "on_scene"
    before = _photo(brain, case, sid, "before")
    after = _photo(brain, case, sid, "after", colour=8)
    brain.flows.handled(op(), task.id, staff_id=sid, note="已清理", photos=[before, after], actor=me)
    assert brain.cases.get(case.id).status == "handled" and _status(brain, sid) == "returning"
    sup = _supervisor(brain, sid)
    assert [c.id for c, _t in brain.field.to_verify(sup)] == [case.id]
    assert case.id not in [c.id for c, _t in brain.field.to_verify(sid)]  # never one's own work
    seen = _photo(brain, case, sup, "verify", may_verify=True, colour=16)
    brain.flows.verify(op(), case.id, staff_id=sup, passed=True, reason=None, photos=[seen], version=None,
                       actor=f"person:{sup}")
    assert brain.cases.get(case.id).status == "verified"
    (done,) = brain.field.progress([case.id])[case.id]
    assert done.state == "verified" and all(done.stamps[s] for s in
                                            ("assigned", "delivered", "read", "accepted", "arrived", "handled",
                                             "verified"))
    assert done.arrive_distance_m is not None and done.arrive_distance_m < 50
    types = [e["type"] for e in brain.cases.timeline(case.id)]
    for t in ("task.assigned", "task.delivered", "task.read", "task.accepted", "case.handling", "task.arrived",
              "photo.stored", "case.handled", "task.handled", "case.verified", "task.verified"):
        assert t in types
    photos = brain.field.photos_of([case.id])[case.id]
    events = {e["type"]: e for e in brain.cases.timeline(case.id)}
    assert {p["id"] for p in photos} == {before, after, seen}
    assert all(p["event_id"] for p in photos)  # each tied to the event that carries it
    assert events["case.handled"]["payload"]["photos"] == [before, after]


def test_arrival_far_from_the_case_needs_a_reason_and_a_refusal_changes_nothing(brain):
    case, sid, task = _assigned(brain)
    with brain.db.read() as s:
        fixes = s.scalar(select(func.count()).select_from(StaffTrack))
    with pytest.raises(FieldRefused) as e:
        brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon + 0.003, lat=case.lat, at=utcnow(),
                           actor=f"person:{sid}")
    assert e.value.key == "refused.field.far" and e.value.params["distance"] > 250
    assert brain.cases.get(case.id).status == "dispatched"
    with brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(StaffTrack)) == fixes
        assert s.scalar(select(func.count()).select_from(FieldOp)) == 0
    out = brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon + 0.003, lat=case.lat, at=utcnow(),
                             reason="道路施工，绕行中", actor=f"person:{sid}")
    assert out["case_status"] == "handling"
    (t,) = brain.field.progress([case.id])[case.id]
    assert t.arrive_reason == "道路施工，绕行中" and t.arrive_distance_m > 250
    person = next(s for s in brain.staff.roster() if s.id == sid)
    assert person.lon == pytest.approx(case.lon + 0.003)  # arrival is a position too


def test_an_action_sent_twice_is_taken_once_and_answered_alike(brain):
    case, sid, task = _assigned(brain)
    same = op()
    first = brain.flows.arrive(same, task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(),
                               actor=f"person:{sid}")
    again = brain.flows.arrive(same, task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(),
                               actor=f"person:{sid}")
    assert again == {**first, "repeat": True}
    types = [e["type"] for e in brain.cases.timeline(case.id)]
    assert types.count("case.handling") == 1
    with pytest.raises(NotYours):  # someone else cannot reuse the id
        other = _supervisor(brain, sid)
        brain.field.acknowledge(same, task.id, "read", staff_id=other, actor=f"person:{other}")


def test_declining_returns_the_case_to_the_queue_with_the_reason_and_frees_the_person(brain):
    case, sid, task = _assigned(brain)
    with pytest.raises(FieldRefused):
        brain.flows.decline(op(), task.id, staff_id=sid, reason="  ", actor=f"person:{sid}")
    brain.flows.decline(op(), task.id, staff_id=sid, reason="不在本人负责片区", actor=f"person:{sid}")
    v = brain.cases.get(case.id)
    assert v.status == "registered" and _status(brain, sid) == "available"
    (t,) = brain.field.progress([case.id])[case.id]
    assert t.state == "declined" and t.decline_reason == "不在本人负责片区"
    back = [e for e in brain.cases.timeline(case.id) if e["type"] == "case.registered"][-1]
    assert back["payload"]["declined_by"] == sid and back["payload"]["note"] == "不在本人负责片区"
    with pytest.raises(TaskGone):
        brain.field.accept(op(), task.id, staff_id=sid, actor=f"person:{sid}")


def test_someone_elses_task_or_case_is_refused(brain):
    case, sid, task = _assigned(brain)
    other = _supervisor(brain, sid)
    with pytest.raises(NotYours):
        brain.field.accept(op(), task.id, staff_id=other, actor=f"person:{other}")
    with pytest.raises(NotYours):
        _photo(brain, case, other, "after")
    with brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 0


def test_handled_without_a_photo_of_the_work_rolls_back_whole(brain):
    case, sid, task = _assigned(brain)
    me = f"person:{sid}"
    brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(), actor=me)
    before = _photo(brain, case, sid, "before")
    with pytest.raises(FieldRefused) as e:
        brain.flows.handled(op(), task.id, staff_id=sid, note="已处理", photos=[before], actor=me)
    assert e.value.key == "refused.field.after_photo"
    assert brain.cases.get(case.id).status == "handling" and _status(brain, sid) == "on_scene"
    (t,) = brain.field.progress([case.id])[case.id]
    assert t.state == "arrived"
    with brain.db.read() as s:
        assert s.get(Photo, before).event_id is None  # not carried by an event that did not happen


def test_rework_sends_the_task_back_to_the_same_person_and_the_handler_cannot_verify(brain):
    case, sid, task = _assigned(brain)
    me = f"person:{sid}"
    brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(), actor=me)
    brain.flows.handled(op(), task.id, staff_id=sid, note="已处理", photos=[_photo(brain, case, sid, "after")],
                        actor=me)
    with pytest.raises((NotYours, TransitionRefused)):
        brain.flows.verify(op(), case.id, staff_id=sid, passed=True, reason=None, photos=[], version=None, actor=me)
    sup = _supervisor(brain, sid)
    with pytest.raises(FieldRefused):
        brain.flows.verify(op(), case.id, staff_id=sup, passed=False, reason="", photos=[], version=None,
                           actor=f"person:{sup}")
    brain.flows.verify(op(), case.id, staff_id=sup, passed=False, reason="垃圾未清运", photos=[], version=None,
                       actor=f"person:{sup}")
    v = brain.cases.get(case.id)
    assert v.status == "dispatched" and v.rework_count == 1 and _status(brain, sid) == "en_route"
    (again, _v), = brain.field.tasks_for(sid)
    assert again.id == task.id and again.state == "accepted"


def test_a_reassignment_or_a_recall_withdraws_the_task_and_frees_the_person(brain):
    case, sid, task = _assigned(brain)
    other = next(c.staff_id for c in brain.dispatch.recommend(case.id).ranked)
    brain.dispatch.assign(case.id, actor="person:disp", version=None, staff_id=other, reason="更近")
    assert _status(brain, sid) == "available" and _status(brain, other) == "en_route"
    assert brain.field.tasks_for(sid) == []
    with pytest.raises(TaskGone):
        brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(),
                           actor=f"person:{sid}")
    brain.cases.transition(case.id, to="registered", note="重新研判", actor="person:disp")
    assert _status(brain, other) == "available" and brain.field.tasks_for(other) == []
    states = [t.state for t in brain.field.progress([case.id])[case.id]]
    assert states == ["withdrawn", "withdrawn"]


def test_a_task_not_opened_in_time_is_flagged(brain):
    case, sid, task = _assigned(brain)
    assert brain.field.unread() == []
    later = utcnow() + timedelta(minutes=brain.settings.unread_after_min + 1)
    assert [t.case_id for t in brain.field.unread(later)] == [case.id]
    brain.field.acknowledge(op(), task.id, "read", staff_id=sid, actor=f"person:{sid}")
    assert brain.field.unread(later) == []


def test_going_off_duty_waits_for_the_task(brain):
    _case, sid, _task = _assigned(brain)
    with pytest.raises(FieldRefused):
        brain.flows.duty(op(), staff_id=sid, on=False, actor=f"person:{sid}")
    free = next(s.id for s in brain.staff.roster() if s.status == "available")
    assert brain.flows.duty(op(), staff_id=free, on=False, actor=f"person:{free}")["status"] == "off_duty"
    assert brain.flows.duty(op(), staff_id=free, on=True, actor=f"person:{free}")["status"] == "available"
    with brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(EventRecord).where(
            EventRecord.type == "staff.status_changed", EventRecord.subject_id == free)) == 2
        assert s.scalar(select(func.count()).select_from(Task)) == 1


def test_a_person_back_from_a_case_is_returning_until_they_say_they_are_available_again(brain):
    case, sid, task = _assigned(brain)
    me = f"person:{sid}"
    brain.flows.arrive(op(), task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(), actor=me)
    before = _photo(brain, case, sid, "before")
    after = _photo(brain, case, sid, "after", colour=8)
    brain.flows.handled(op(), task.id, staff_id=sid, note="已清理", photos=[before, after], actor=me)
    assert _status(brain, sid) == "returning"
    assert brain.flows.duty(op(), staff_id=sid, on=True, actor=me)["status"] == "available"
    with brain.db.read() as s:
        moves = [e.payload for e in s.scalars(select(EventRecord).where(
            EventRecord.type == "staff.status_changed", EventRecord.subject_id == sid).order_by(EventRecord.seq))]
    assert [(m["from"], m["to"]) for m in moves][-2:] == [("on_scene", "returning"), ("returning", "available")]
    assert brain.flows.duty(op(), staff_id=sid, on=True, actor=me)["status"] == "available"  # already: unchanged


def test_back_in_service_leaves_a_person_sent_again_on_their_way(brain):
    case, sid, _task = _assigned(brain)
    brain.cases.transition(case.id, to="handling", actor="team")
    brain.cases.transition(case.id, to="handled", actor="team", note="已处置")
    assert _status(brain, sid) == "returning"
    again = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    brain.dispatch.assign(again.id, actor="person:disp", version=again.version, staff_id=sid)
    assert _status(brain, sid) == "en_route"
    assert brain.staff.back_in_service(sid, actor="sim:team") is False
    assert _status(brain, sid) == "en_route"


def test_the_time_to_read_a_task_is_an_indicator_traced_to_its_cases(brain):
    from brain.kpi.service import window

    case, sid, task = _assigned(brain)
    other, osid, otask = _assigned(brain, pole="0777")
    brain.field.acknowledge(op(), task.id, "read", staff_id=sid, actor=f"person:{sid}")
    w = window("today", now=utcnow(), tz=brain.settings.display_tz)
    df = brain.kpi.frame(w)
    figures = brain.kpi.figures(df)
    (t,) = brain.field.progress([case.id])[case.id]
    read_s = (datetime.fromisoformat(t.stamps["read"]) - datetime.fromisoformat(t.stamps["assigned"])).total_seconds()
    assert figures["read_time_mean"].value == round(read_s / 60, 2)  # minutes, as every figure: to 0.01
    assert figures["read_time_mean"].denominator == 1  # one case read, the other not yet
    assert df.loc[df["case_id"] == case.id, "t_read"].iloc[0] == pytest.approx(read_s, abs=1e-3)
    assert brain.kpi.behind(df, "read_time_mean") == [case.id]  # the unread one is not in it yet
    assert other.id not in brain.kpi.behind(df, "read_time_mean") and otask.state == "assigned" and osid


def test_a_cases_history_is_where_it_was_reported_the_path_walked_and_where_they_arrived(brain):
    case, staff_id, task = _assigned(brain)
    start = utcnow()
    from brain.staff.service import Fix

    way = [(case.lon - 0.002 + 0.0005 * i, case.lat) for i in range(4)]
    brain.staff.record_fixes([Fix(staff_id, x, y, start + timedelta(seconds=10 * (i + 1)))
                              for i, (x, y) in enumerate(way)])
    h = brain.flows.history(case.id, now=start + timedelta(minutes=1))
    assert h["reported"] == (case.lon, case.lat)
    (trail,) = h["trails"]
    assert trail["staff_id"] == staff_id and trail["path"][-4:] == way and trail["arrived"] is None  # on the way
    brain.flows.arrive(op(), task.id, staff_id=staff_id, lon=case.lon, lat=case.lat,
                       at=start + timedelta(seconds=50), actor=f"person:{staff_id}")
    brain.staff.record_fixes([Fix(staff_id, case.lon + 0.01, case.lat, start + timedelta(minutes=5))])  # later
    (trail,) = brain.flows.history(case.id)["trails"]
    assert trail["arrived"] == (case.lon, case.lat) and trail["path"][-1] == (case.lon, case.lat)
    assert (case.lon + 0.01, case.lat) not in trail["path"]  # after arriving: not the way there
