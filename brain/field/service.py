"""Field tasks: what a person's phone shows and acknowledges, the photos they take, each action once.

A task is one case given to one person; its row carries the time of every step (delivered, read,
accepted, declined, arrived, handled, verified) for the dispatcher's card and the indicators. Every
step is an event in the case's log (``task.<step>``, subject the case) with its audit row, and a
``field.task`` signal on the bus for the person's phone. What moves the case as well (arrival,
handling, verification, declining) is in brain.flows; this module holds the task's own steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from brain.cases.enums import CaseStatus
from brain.cases.models import Case
from brain.cases.service import CaseService, CaseView, VersionConflict
from brain.events.kinds import EventType
from brain.events.log import Store, Unit
from brain.field.enums import LIVE, TASK_TRANSITIONS, PhotoKind, TaskState
from brain.field.models import FieldOp, Photo, Task
from brain.field.photos import PhotoRefused, PhotoStore, prepare
from brain.refusal import Refusal
from brain.storage.db import utcnow
from geodata.crs import haversine_m

# the step each task state stamps
STAMPS = {TaskState.ACCEPTED: "accepted_at", TaskState.DECLINED: "declined_at", TaskState.ARRIVED: "arrived_at",
          TaskState.HANDLED: "handled_at", TaskState.VERIFIED: "verified_at"}
MAX_NOTE = 2000
STEPS = ("assigned", "delivered", "read", "accepted", "declined", "arrived", "handled", "verified")


class FieldRefused(Refusal):
    """A field action that cannot be taken, with the reason in words (and its catalogue key)."""


class NotYours(FieldRefused):
    """The task, case or photo belongs to someone else (403)."""


class TaskGone(FieldRefused):
    """The task the phone acted on is no longer this person's (re-assigned, recalled, finished): 409, reload."""


@dataclass(frozen=True)
class TaskView:
    """A task as the phone and the dispatcher's card read it, with its case."""

    id: int
    case_id: int
    staff_id: str
    state: str
    stamps: dict[str, str | None]  # step -> ISO time (None: not yet)
    decline_reason: str | None
    arrive_distance_m: float | None
    arrive_reason: str | None
    verified_by: str | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _view(t: Task) -> TaskView:
    stamps = {s: (getattr(t, f"{s}_at").isoformat() if getattr(t, f"{s}_at") else None) for s in STEPS}
    return TaskView(id=t.id, case_id=t.case_id, staff_id=t.staff_id, state=t.state, stamps=stamps,
                    decline_reason=t.decline_reason, arrive_distance_m=t.arrive_distance_m,
                    arrive_reason=t.arrive_reason, verified_by=t.verified_by)


class FieldService:
    def __init__(self, store: Store, cases: CaseService, photos: PhotoStore, *, unread_after_min: float = 5.0) -> None:
        self.store = store
        self.cases = cases
        self.photos = photos
        self.unread_after = timedelta(minutes=unread_after_min)

    # --- steps inside a unit (brain.flows and the actions below) ------------------------------------
    @staticmethod
    def live_task(u: Unit, case_id: int) -> Task | None:
        """The case's task still under way (at most one), locked for this unit."""
        return u.session.scalar(select(Task).where(Task.case_id == case_id, Task.state.in_(LIVE))
                                .order_by(Task.id.desc()).limit(1).with_for_update())

    def open(self, u: Unit, case: Case, staff_id: str, now: datetime, *,
             state: TaskState = TaskState.ASSIGNED) -> Task:
        """A new task of `case` for `staff_id` (the case's previous one, if any, withdrawn first)."""
        old = self.live_task(u, case.id)
        if old is not None:
            self.step(u, old, TaskState.WITHDRAWN, now)
        task = Task(case_id=case.id, staff_id=staff_id, state=state.value, assigned_at=now)
        if state is TaskState.ARRIVED:  # resumed on the spot
            task.arrived_at = now
        u.session.add(task)
        u.session.flush()
        self._tell(u, task, "assigned", now, {"category": case.category, "priority": case.priority,
                                              "pole": case.pole_number})
        return task

    def step(self, u: Unit, task: Task, to: TaskState, now: datetime, **fields) -> None:
        """Move `task` to `to` (by the table), stamping the step, and tell the log and the phone."""
        current = TaskState(task.state)
        if to not in TASK_TRANSITIONS[current]:
            raise FieldRefused(f"a task that is {current} cannot become {to}", key="refused.task.step",
                               current=current.value, target=to.value)
        column = STAMPS.get(to)
        if column and (getattr(task, column) is None or to is TaskState.ARRIVED):
            setattr(task, column, now)
        if to in (TaskState.ACCEPTED, TaskState.ARRIVED, TaskState.DECLINED):
            task.delivered_at = task.delivered_at or now  # acting on it means it arrived and was read
            task.read_at = task.read_at or now
        if to is TaskState.ARRIVED:
            task.accepted_at = task.accepted_at or now
        for k, v in fields.items():
            setattr(task, k, v)
        task.state = to.value
        if to in (TaskState.DECLINED, TaskState.VERIFIED, TaskState.WITHDRAWN):
            task.ended_at = now
        u.session.flush()
        self._tell(u, task, to.value, now, {k: v for k, v in fields.items() if k != "verified_by"})

    @staticmethod
    def _tell(u: Unit, task: Task, step: str, now: datetime, extra: dict) -> None:
        u.emit(EventType.task_step(step), "case", task.case_id,
               {"task_id": task.id, "staff_id": task.staff_id, **extra}, at=now)
        u.signal(EventType.FIELD_TASK, "staff", task.staff_id,
                 {"case_id": task.case_id, "task_id": task.id, "step": step},
                 at=now)

    # --- each action of a phone once -----------------------------------------------------------
    def once(self, op_id: str, *, staff_id: str, action: str, actor: str, source: str | None,
             act: Callable[[Unit], dict]) -> dict:
        """Run `act` in one unit unless the phone's action `op_id` was taken before: then its first answer,
        with ``"repeat": true``, and nothing changes. A refused action is not remembered (its unit rolls
        back): sent again, it is judged again. A task or case changed by someone else at the same moment
        (a dispatcher's recall as the phone acknowledges) is read again and the action judged once more;
        twice in a row, it is a conflict (TaskGone)."""
        for attempt in range(2):
            try:
                with self.store.unit(actor, source=source) as u:
                    seen = u.session.get(FieldOp, op_id)
                    if seen is not None:
                        if seen.staff_id != staff_id:
                            raise NotYours("this action id was used by someone else", key="refused.field.op_taken")
                        return {**seen.answer, "repeat": True}
                    answer = act(u)
                    u.session.add(FieldOp(id=op_id, staff_id=staff_id, action=action, at=utcnow(), answer=answer))
                    u.session.flush()
                    return answer
            except (StaleDataError, VersionConflict):
                if attempt:
                    raise TaskGone("the task changed meanwhile: reload", key="refused.field.gone",
                                   state="changed") from None
        raise AssertionError("unreachable")

    def mine(self, u: Unit, task_id: int, staff_id: str) -> Task:
        """The person's own task under way, locked; NotYours / TaskGone otherwise."""
        task = u.session.get(Task, task_id, with_for_update=True)
        if task is None or task.staff_id != staff_id:
            raise NotYours(f"task {task_id} is not yours", key="refused.field.not_yours")
        if task.state not in LIVE:
            raise TaskGone(f"task {task_id} is {task.state}: reload your tasks", key="refused.field.gone",
                           state=task.state)
        if u.correlation_id is None:  # a step of the task is in its case's chain
            u.correlation_id = (u.session.scalar(select(Case.correlation_id).where(Case.id == task.case_id))
                                or f"case:{task.case_id}")
        return task

    def acknowledge(self, op_id: str, task_id: int, step: str, *, staff_id: str, actor: str,
                    source: str | None = None) -> dict:
        """The phone received the task (`delivered`), or its person opened it (`read`): stamped once."""
        if step not in ("delivered", "read"):
            raise FieldRefused(f"unknown acknowledgement {step!r}", key="refused.field.step")

        def act(u: Unit) -> dict:
            task = u.session.get(Task, task_id, with_for_update=True)
            if task is None or task.staff_id != staff_id:
                raise NotYours(f"task {task_id} is not yours", key="refused.field.not_yours")
            now = utcnow()
            first = getattr(task, f"{step}_at") is None
            if first:
                setattr(task, f"{step}_at", now)
                if step == "read" and task.delivered_at is None:
                    task.delivered_at = now
                u.session.flush()
                self._tell(u, task, step, now, {})
            return {"task_id": task.id, "step": step, "at": getattr(task, f"{step}_at").isoformat(), "first": first}

        return self.once(op_id, staff_id=staff_id, action=step, actor=actor, source=source, act=act)

    def accept(self, op_id: str, task_id: int, *, staff_id: str, actor: str, source: str | None = None) -> dict:
        def act(u: Unit) -> dict:
            task = self.mine(u, task_id, staff_id)
            if task.state != TaskState.ACCEPTED.value:
                self.step(u, task, TaskState.ACCEPTED, utcnow())
            return {"task_id": task.id, "state": task.state}

        return self.once(op_id, staff_id=staff_id, action="accept", actor=actor, source=source, act=act)

    # --- reading --------------------------------------------------------------------------------
    def tasks_for(self, staff_id: str) -> list[tuple[TaskView, CaseView]]:
        """The person's tasks under way with their cases: the overdue and most urgent first, then newest."""
        with self.store.db.read() as s:
            rows = s.execute(select(Task, Case).join(Case, Case.id == Task.case_id)
                             .where(Task.staff_id == staff_id, Task.state.in_(LIVE))).all()
            pairs = [(_view(t), self.cases.view_of(c)) for t, c in rows]
        now = utcnow()
        rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
        return sorted(pairs, key=lambda p: (not p[1].overdue(now), rank.get(p[1].priority, 9),
                                            -p[0].id))

    def progress(self, case_ids) -> dict[int, list[TaskView]]:
        """Every task of each case, newest first (the dispatcher's card)."""
        ids = sorted({int(i) for i in case_ids})
        out: dict[int, list[TaskView]] = {i: [] for i in ids}
        if not ids:
            return out
        with self.store.db.read() as s:
            for t in s.scalars(select(Task).where(Task.case_id.in_(ids)).order_by(Task.id.desc())):
                out[t.case_id].append(_view(t))
        return out

    def late(self, task: TaskView, now: datetime) -> bool:
        """Whether `task` is one `unread` gives: given out longer ago than the limit, not opened yet."""
        assigned = task.stamps["assigned"]
        return (task.state == TaskState.ASSIGNED.value and not task.stamps["read"] and assigned is not None
                and now - datetime.fromisoformat(assigned) >= self.unread_after)

    def unread(self, now: datetime | None = None) -> list[TaskView]:
        """Tasks given out longer ago than the limit and not yet opened on the phone, oldest first."""
        cutoff = (now or utcnow()) - self.unread_after
        with self.store.db.read() as s:
            rows = s.scalars(select(Task).where(Task.state == TaskState.ASSIGNED.value, Task.read_at.is_(None),
                                                Task.assigned_at <= cutoff).order_by(Task.assigned_at))
            return [_view(t) for t in rows]

    def to_verify(self, staff_id: str, lon: float | None = None, lat: float | None = None,
                  limit: int = 50) -> list[tuple[CaseView, TaskView | None]]:
        """Handled cases a supervisor may verify (never their own work), nearest first when their position
        is known, else oldest first."""
        with self.store.db.read() as s:
            cases = s.scalars(select(Case).where(Case.status == CaseStatus.HANDLED.value)
                              .order_by(Case.handled_at)).all()
            tasks = {t.case_id: t for t in s.scalars(select(Task).where(
                Task.case_id.in_([c.id for c in cases]), Task.state == TaskState.HANDLED.value))}
            pairs = [(self.cases.view_of(c), _view(tasks[c.id]) if c.id in tasks else None) for c in cases
                     if c.id not in tasks or tasks[c.id].staff_id != staff_id]
        if lon is not None and lat is not None:
            pairs.sort(key=lambda p: float(haversine_m(lon, lat, p[0].lon, p[0].lat)))
        return pairs[:limit]

    # --- photos ---------------------------------------------------------------------------------
    def add_photo(self, raw: bytes, *, case_id: int, kind: str, staff_id: str, actor: str, taken_at: datetime,
                  lon: float | None, lat: float | None, may_verify: bool, source: str | None = None) -> dict:
        """Check and store a photo of a case the person works on (before/after: their task under way; verify:
        a handled case of someone else's, for a supervisor). The bytes are written first (by their hash,
        whole or not at all), then the row; a photo stored twice is one photo."""
        try:
            kind_ = PhotoKind(kind)
        except ValueError:
            raise FieldRefused(f"kind is one of {', '.join(k.value for k in PhotoKind)}",
                               key="refused.photo.kind") from None
        if kind_ is PhotoKind.RESIDENT:
            raise FieldRefused("a resident's photo comes with the resident's report", key="refused.photo.kind")
        self._may_photograph(case_id, kind_, staff_id, may_verify)
        prepared = prepare(raw)
        self.photos.put(prepared.id, prepared.data)
        self.photos.put(f"{prepared.id}.thumb", prepared.thumb)
        with self.store.unit(actor, source=source) as u:
            photo = u.session.get(Photo, prepared.id)
            if photo is not None and photo.case_id != case_id:
                raise PhotoRefused(f"this photo was given for case {photo.case_id}", key="refused.photo.other_case",
                                   case=photo.case_id)
            if photo is None:
                photo = Photo(id=prepared.id, case_id=case_id, staff_id=staff_id, kind=kind_.value,
                              content_type=prepared.content_type, size=len(prepared.data), width=prepared.width,
                              height=prepared.height, received_sha256=prepared.received_sha256, taken_at=taken_at,
                              lon=lon, lat=lat, uploaded_at=utcnow(), uploaded_by=actor)
                u.session.add(photo)
                u.session.flush()
                u.emit(EventType.PHOTO_STORED, "case", case_id,
                       {"photo": photo.id, "kind": kind_.value, "staff_id": staff_id,
                                                         "size": photo.size})
            return photo_dict(photo)

    def _may_photograph(self, case_id: int, kind: PhotoKind, staff_id: str, may_verify: bool) -> None:
        with self.store.db.read() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotYours(f"no case {case_id} of yours", key="refused.field.not_yours")
            if kind is PhotoKind.VERIFY:
                handler = s.scalar(select(Task.staff_id).where(Task.case_id == case_id,
                                                               Task.state == TaskState.HANDLED.value))
                if not may_verify or case.status != CaseStatus.HANDLED.value or handler == staff_id:
                    raise NotYours(f"case {case_id} is not one you may verify", key="refused.field.not_verifier")
                return
            task = s.scalar(select(Task).where(Task.case_id == case_id, Task.state.in_(LIVE),
                                               Task.staff_id == staff_id))
            if task is None:
                raise NotYours(f"case {case_id} is not one of your tasks", key="refused.field.not_yours")

    @staticmethod
    def claim_photos(u: Unit, ids: list[str], *, case_id: int, staff_id: str, kinds: set[PhotoKind],
                     event_id: str) -> dict[str, PhotoKind]:
        """Tie the photos `ids` to the case event `event_id`: each must be this person's, of this case, of
        one of `kinds`, and not yet carried by another event. Returns each one's kind, in the order given."""
        ids = list(dict.fromkeys(ids))
        rows = {p.id: p for p in u.session.scalars(select(Photo).where(Photo.id.in_(ids)).with_for_update())}
        for i in ids:
            p = rows.get(i)
            if p is None or p.case_id != case_id or p.staff_id != staff_id:
                raise NotYours(f"photo {i[:12]} is not one of yours for case {case_id}",
                               key="refused.photo.not_yours")
            if PhotoKind(p.kind) not in kinds:
                raise FieldRefused(f"photo {i[:12]} is a {p.kind} photo", key="refused.photo.wrong_kind", kind=p.kind)
            if p.event_id is not None and p.event_id != event_id:
                raise FieldRefused(f"photo {i[:12]} was already handed in", key="refused.photo.used")
            p.event_id = event_id
        u.session.flush()
        return {i: PhotoKind(rows[i].kind) for i in ids}

    def photos_of(self, case_ids) -> dict[int, list[dict]]:
        ids = sorted({int(i) for i in case_ids})
        out: dict[int, list[dict]] = {i: [] for i in ids}
        if not ids:
            return out
        with self.store.db.read() as s:
            for p in s.scalars(select(Photo).where(Photo.case_id.in_(ids)).order_by(Photo.uploaded_at)):
                out[p.case_id].append(photo_dict(p))
        return out

    def photos_since(self, since: datetime) -> dict[int, list[dict]]:
        """The photos uploaded since `since`, by case, oldest first (the handover report)."""
        out: dict[int, list[dict]] = {}
        with self.store.db.read() as s:
            for p in s.scalars(select(Photo).where(Photo.uploaded_at >= since).order_by(Photo.uploaded_at)):
                out.setdefault(p.case_id, []).append(photo_dict(p))
        return out

    def photo_meta(self, photo_id: str) -> dict | None:
        with self.store.db.read() as s:
            p = s.get(Photo, photo_id)
            return None if p is None else photo_dict(p)

    def photo(self, photo_id: str, *, thumb: bool = False) -> tuple[bytes, str]:
        """The stored bytes and type of a photo (or its JPEG thumbnail); LookupError if there is none."""
        with self.store.db.read() as s:
            p = s.get(Photo, photo_id)
            if p is None:
                raise LookupError(f"no photo {photo_id}")
            content_type = "image/jpeg" if thumb else p.content_type
        return self.photos.get(f"{photo_id}.thumb" if thumb else photo_id), content_type


def photo_dict(p: Photo) -> dict:
    return {"id": p.id, "case_id": p.case_id, "staff_id": p.staff_id, "kind": p.kind, "content_type": p.content_type,
            "size": p.size, "width": p.width, "height": p.height, "taken_at": p.taken_at.isoformat(),
            "lon": p.lon, "lat": p.lat, "event_id": p.event_id, "received_sha256": p.received_sha256,
            "report_id": p.report_id}
