"""Cross-domain steps, in one place: what a case move or an assignment changes beyond the case, and the
field actions that move a case, each in the one transaction of the case's change.

- a case move (any: the dispatcher's, the simulator's, a phone's) -> the assigned person's duty status
  and their task (``case_moved``, a follower of CaseService.apply);
- a re-assignment of a dispatched case -> the previous task withdrawn, the previous person freed, a task
  for the new person (``reassigned``, called by DispatchService.assign);
- arrival = the position the phone reported + the case to handling, within the radius or with a reason;
- handled = the notes and photos + the case to handled; declined = the case back to the queue with the
  reason; verified = the supervisor's photo + pass or rework.
"""

from __future__ import annotations

from datetime import datetime

from brain.cases.enums import CaseStatus as S
from brain.cases.models import Case
from brain.cases.service import CaseService
from brain.events.log import Unit
from brain.field.enums import PhotoKind, TaskState
from brain.field.service import MAX_NOTE, FieldRefused, FieldService, NotYours, TaskGone
from brain.staff.enums import BUSY, DutyStatus
from brain.staff.models import Staff
from brain.staff.service import Fix, StaffService
from brain.storage.db import utcnow
from geodata.crs import haversine_m
from geodata.gazetteer import Gazetteer

DEFAULT_ARRIVE_RADIUS_M = 50.0


def _note(text: str | None, what: str) -> str | None:
    text = (text or "").strip() or None
    if text and len(text) > MAX_NOTE:
        raise FieldRefused(f"{what} longer than {MAX_NOTE} characters", key="refused.field.too_long", max=MAX_NOTE)
    return text


class Flows:
    def __init__(self, *, cases: CaseService, staff: StaffService, field: FieldService, gazetteer: Gazetteer,
                 dispatch=None, arrive_radius_m: float = DEFAULT_ARRIVE_RADIUS_M) -> None:
        self.cases = cases
        self.staff = staff
        self.field = field
        self.gazetteer = gazetteer
        self.arrive_radius_m = arrive_radius_m
        cases.followers.append(self.case_moved)
        if dispatch is not None:
            dispatch.followers.append(self.reassigned)

    # --- what every case move changes beyond the case ------------------------------------------------
    def case_moved(self, u: Unit, case: Case, current: S, target: S, now: datetime) -> None:
        """The assigned person's task and duty status follow the case, in the case's transaction."""
        sid = case.assigned_staff_id
        task = self.field.live_task(u, case.id)
        if task is not None and task.staff_id != sid and target in (S.DISPATCHED, S.HANDLING):
            self.field.step(u, task, TaskState.WITHDRAWN, now)  # someone else's now
            task = None
        person = u.session.get(Staff, sid, with_for_update=True) if sid else None
        why = f"case #{case.id} {target.value}"
        if target is S.DISPATCHED and person is not None:
            if task is not None and current is S.HANDLED:  # rework: back to the same person
                self.field.step(u, task, TaskState.ACCEPTED, now)
            elif task is None:
                self.field.open(u, case, person.id, now)
            self.staff.set_status_in(u, person, DutyStatus.EN_ROUTE, reason=why, now=now)
        elif target is S.HANDLING and person is not None:
            if task is None:
                self.field.open(u, case, person.id, now, state=TaskState.ARRIVED)
            elif task.state != TaskState.ARRIVED.value:
                self.field.step(u, task, TaskState.ARRIVED, now)
            self.staff.set_status_in(u, person, DutyStatus.ON_SCENE, reason=why, now=now)
        elif target is S.HANDLED:
            if task is not None and task.state != TaskState.HANDLED.value:
                self.field.step(u, task, TaskState.HANDLED, now)
            self._free(u, person, why, now, back=DutyStatus.RETURNING)  # on their way back: may be sent again
        elif target is S.VERIFIED:
            if task is not None:
                self.field.step(u, task, TaskState.VERIFIED, now, verified_by=u.actor)
        elif target in (S.REGISTERED, S.DEFERRED, S.CANCELLED, S.MERGED):
            if task is not None:
                self.field.step(u, task, TaskState.WITHDRAWN, now)
            self._free(u, person, why, now)

    def _free(self, u: Unit, person: Staff | None, why: str, now: datetime,
              back: DutyStatus = DutyStatus.AVAILABLE) -> None:
        """A person busy with a case is no longer: available (or `back`, returning from the case they handled)."""
        if person is not None and person.status in BUSY:
            self.staff.set_status_in(u, person, back, reason=why, now=now)

    def reassigned(self, u: Unit, case: Case, person: Staff, previous: str | None, now: datetime) -> None:
        """A dispatched case given to another person (an override): the previous one's task withdrawn and
        the person freed; a task for the new one, on their way."""
        if previous and previous != person.id:
            prev = u.session.get(Staff, previous, with_for_update=True)
            self._free(u, prev, f"case #{case.id} re-assigned", now)
        self.field.open(u, case, person.id, now)
        self.staff.set_status_in(u, person, DutyStatus.EN_ROUTE, reason=f"case #{case.id}", now=now)

    # --- the field person's actions that move the case ----------------------------------------------
    def _mine(self, u: Unit, task_id: int, staff_id: str):
        task = self.field.mine(u, task_id, staff_id)
        case = self.cases.locked(u, task.case_id, None)
        if case.assigned_staff_id != staff_id:
            raise TaskGone(f"case {case.id} was given to someone else", key="refused.field.gone", state="withdrawn")
        return task, case

    def history(self, case_id: int, now: datetime | None = None) -> dict:
        """A case on the map, as it went: where it was reported and, for each person sent, the path they walked
        from the assignment to their arrival (to now, while on the way; to the next person's assignment for one
        withdrawn before arriving) and where they arrived."""
        now = now or utcnow()
        case = self.cases.get(case_id)  # CaseNotFound
        tasks = sorted(self.field.progress([case_id]).get(case_id, []), key=lambda t: t.stamps["assigned"] or "")
        trails = []
        for i, t in enumerate(tasks):
            start = t.stamps["assigned"]
            if start is None:
                continue
            following = tasks[i + 1].stamps["assigned"] if i + 1 < len(tasks) else None
            end = t.stamps["arrived"] or t.stamps["declined"] or following
            path = self.staff.path(t.staff_id, datetime.fromisoformat(start),
                                   datetime.fromisoformat(end) if end else now)
            arrived = path[-1] if t.stamps["arrived"] and path else None
            trails.append({"staff_id": t.staff_id, "path": path, "arrived": arrived})
        return {"case_id": case.id, "reported": (case.lon, case.lat), "trails": trails}

    def decline(self, op_id: str, task_id: int, *, staff_id: str, reason: str | None, actor: str,
                source: str | None = None) -> dict:
        """Give a task back with a reason: the case returns to the dispatcher's queue (registered) with it."""
        reason = _note(reason, "the reason")
        if not reason:
            raise FieldRefused("declining needs a reason", key="refused.field.decline_reason")

        def act(u: Unit) -> dict:
            task, case = self._mine(u, task_id, staff_id)
            if task.state != TaskState.ASSIGNED.value:
                raise FieldRefused("a task taken on cannot be declined: ask the dispatcher",
                                   key="refused.field.decline_taken")
            now = utcnow()
            self.field.step(u, task, TaskState.DECLINED, now, decline_reason=reason)
            self.cases.apply(u, case, S.REGISTERED, note=reason, now=now, extra={"declined_by": staff_id})
            return {"task_id": task.id, "state": task.state, "case_status": case.status}

        return self.field.once(op_id, staff_id=staff_id, action="decline", actor=actor, source=source, act=act)

    def arrive(self, op_id: str, task_id: int, *, staff_id: str, lon: float, lat: float, at: datetime,
               accuracy: float | None = None, reason: str | None = None, actor: str,
               source: str | None = None) -> dict:
        """Arrival: the position the phone reported is recorded, and the case is being handled, when the
        person is within the radius of the case, or farther with a reason (kept with the distance)."""
        reason = _note(reason, "the reason")
        if not self.gazetteer.contains(lon, lat):
            raise FieldRefused("the position is outside the district", key="refused.field.outside")

        def act(u: Unit) -> dict:
            task, case = self._mine(u, task_id, staff_id)
            distance = round(float(haversine_m(lon, lat, case.lon, case.lat)), 1)
            if distance > self.arrive_radius_m and not reason:
                raise FieldRefused(f"{distance:.0f} m from the case, more than {self.arrive_radius_m:.0f} m: "
                                   "go closer, or give the reason", key="refused.field.far",
                                   distance=round(distance), radius=round(self.arrive_radius_m))
            now = utcnow()
            self.staff.record_in(u, [Fix(staff_id, lon, lat, min(at, now))])
            task.arrive_distance_m, task.arrive_reason = distance, reason if distance > self.arrive_radius_m else None
            self.cases.apply(u, case, S.HANDLING, note=None, now=now,
                             extra={"staff_id": staff_id, "distance_m": distance, "accuracy_m": accuracy,
                                    "reason": task.arrive_reason})
            return {"task_id": task.id, "state": task.state, "distance_m": distance, "case_status": case.status}

        return self.field.once(op_id, staff_id=staff_id, action="arrive", actor=actor, source=source, act=act)

    def handled(self, op_id: str, task_id: int, *, staff_id: str, note: str | None, photos: list[str], actor: str,
                source: str | None = None) -> dict:
        """Done: the notes and the photos (at least one of the work done) go with the case to verification."""
        note = _note(note, "the note")
        if not note:
            raise FieldRefused("say what was done", key="refused.field.note")

        def act(u: Unit) -> dict:
            task, case = self._mine(u, task_id, staff_id)
            if task.state != TaskState.ARRIVED.value:
                raise FieldRefused("report arrival first", key="refused.field.arrive_first")
            now = utcnow()
            event = self.cases.apply(u, case, S.HANDLED, note=note, now=now,
                                     extra={"staff_id": staff_id, "photos": list(dict.fromkeys(photos))})
            claimed = self.field.claim_photos(u, photos, case_id=case.id, staff_id=staff_id,
                                              kinds={PhotoKind.BEFORE, PhotoKind.AFTER}, event_id=event.id)
            if PhotoKind.AFTER not in claimed.values():
                raise FieldRefused("add a photo of the work done", key="refused.field.after_photo")
            case.photo_ref = list(claimed)[-1]
            return {"task_id": task.id, "state": task.state, "case_status": case.status}

        return self.field.once(op_id, staff_id=staff_id, action="handled", actor=actor, source=source, act=act)

    def verify(self, op_id: str, case_id: int, *, staff_id: str, passed: bool, reason: str | None,
               photos: list[str], version: int | None, actor: str, source: str | None = None) -> dict:
        """A supervisor's verification on the spot, never of their own work: pass (with a photo), or send
        back for rework (with the reason)."""
        reason = _note(reason, "the reason")
        if not passed and not reason:
            raise FieldRefused("sending back needs the reason", key="refused.field.rework_reason")

        def act(u: Unit) -> dict:
            case = self.cases.locked(u, case_id, version)
            task = self.field.live_task(u, case_id)
            if task is not None and task.staff_id == staff_id:
                raise NotYours("verification is done by someone other than the handler", key="refused.verify.own")
            if case.status != S.HANDLED.value:
                raise TaskGone(f"case {case_id} is {case.status}, not waiting for verification",
                               key="refused.field.not_handled", state=case.status)
            now = utcnow()
            event = self.cases.apply(u, case, S.VERIFIED if passed else S.DISPATCHED, note=reason, now=now,
                                     extra={"verified_by": staff_id, "passed": passed,
                                            "photos": list(dict.fromkeys(photos))})
            claimed = self.field.claim_photos(u, photos, case_id=case.id, staff_id=staff_id, kinds={PhotoKind.VERIFY},
                                              event_id=event.id)
            if passed and not claimed:
                raise FieldRefused("add a photo of what you found", key="refused.field.verify_photo")
            return {"case_id": case.id, "case_status": case.status, "passed": passed}

        return self.field.once(op_id, staff_id=staff_id, action="verify", actor=actor, source=source, act=act)

    def duty(self, op_id: str, *, staff_id: str, on: bool, actor: str, source: str | None = None) -> dict:
        """On duty (available for tasks; for a person returning from a case, back in service) or off duty; not
        off duty while a task is under way."""

        def act(u: Unit) -> dict:
            person = u.session.get(Staff, staff_id, with_for_update=True)
            if person is None:
                raise NotYours(f"no staff member {staff_id}", key="refused.field.not_yours")
            if not on and person.status in BUSY:
                raise FieldRefused("finish or hand back your task before going off duty",
                                   key="refused.field.busy_off_duty")
            if on and person.status not in (DutyStatus.OFF_DUTY, DutyStatus.RETURNING):
                return {"status": person.status}
            self.staff.set_status_in(u, person, DutyStatus.AVAILABLE if on else DutyStatus.OFF_DUTY,
                                     reason="field app", now=utcnow())
            return {"status": person.status}

        return self.field.once(op_id, staff_id=staff_id, action="duty", actor=actor, source=source, act=act)
