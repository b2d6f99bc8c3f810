"""Replay: the state of the district at any instant of a window of up to 7 days, the window's events, and
the paths people walked, all read from the event log and the position track (never from screens).

A seek starts from the nearest keyframe at or before the instant (the state folded at a whole multiple of
`keyframe_s`, kept in `replay_keyframes`) and folds the events after it. Keyframes are built as seeks need
them and by `build_keyframes()` (the app's periodic round), only for instants at least `settle_s` in the
past; an event that arrives later for a time a keyframe covers deletes the keyframes from its time on
(`forget_late`, a projector of every unit of work), so a keyframe never disagrees with the log."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from brain.alarms.service import AlarmView
from brain.cases.models import Case
from brain.cases.service import CaseView
from brain.cases.workflow import TimeLimitPolicy
from brain.events.kinds import BUS_ONLY
from brain.events.log import Store
from brain.events.models import EventRecord
from brain.periodic import Periodic
from brain.refusal import Refusal
from brain.replay.models import Keyframe
from brain.replay.state import State
from brain.staff.models import Staff, StaffTrack
from brain.staff.service import StaffService, StaffView
from brain.storage.db import utcnow

MAX_WINDOW = timedelta(days=7)
HORIZON = MAX_WINDOW + timedelta(days=1)  # hourly keyframes within it, daily before
KEYFRAME_S = 3600
SETTLE_S = 900
TRAIL_S = 300  # the trail each person leaves on the map: the last five minutes
FOLLOW_S = 1800  # the path of the person followed: the last half hour
EXPORT_LIMIT = 200_000
KINDS = ("case", "task", "alarm", "device", "staff", "resident", "photo")  # the event list's kinds (type prefixes)
_FOLDED = or_(EventRecord.type.like("case.%"), EventRecord.type.like("alarm.%"),
              EventRecord.type == "staff.status_changed")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_S = 86400


def _floor(at: datetime, step_s: int) -> datetime:
    """`at` down to a whole multiple of `step_s` seconds since the epoch (UTC): a keyframe's time."""
    return _EPOCH + timedelta(seconds=math.floor((at - _EPOCH).total_seconds() / step_s) * step_s)


class ReplayError(Refusal):
    """A window or an instant the replay cannot show (too long, in the future, malformed)."""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def clamp(self, at: datetime) -> datetime:
        return min(max(at, self.start), self.end)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Filter:
    """Which of the window's events the list shows: kinds (type prefixes), one case (its own events and its
    chain's), one team (its people's and the cases sent to it), one committee (its cases)."""

    kinds: tuple[str, ...] = ()
    case_id: int | None = None
    team_id: str | None = None
    committee: str | None = None


@dataclass(frozen=True)
class Scene:
    """The district at `at` as the live screens would have drawn it: the views of open cases, live alarms and
    every person (position as of the last fix at or before `at`), and each person's trail."""

    at: datetime
    cases: list[CaseView]
    alarms: list[AlarmView]
    staff: list[StaffView]
    trails: dict[str, list[tuple[float, float]]]


def _parse(value: datetime | str | None, what: str) -> datetime:
    if isinstance(value, datetime):
        at = value
    else:
        try:
            at = datetime.fromisoformat(str(value or "").strip().replace("Z", "+00:00"))
        except ValueError:
            raise ReplayError(f"{what}: {value!r} is not a time (ISO 8601, e.g. 2026-12-01T08:00+08:00)",
                              key="refused.replay.malformed", value=str(value)[:40]) from None
    if at.tzinfo is None:
        raise ReplayError(f"{what}: {value!r} has no time zone", key="refused.replay.malformed",
                          value=str(value)[:40])
    return at.astimezone(UTC)


def forget_late(session: Session, events, *, settle_s: float = SETTLE_S, now: datetime | None = None) -> None:
    """A projector of every unit: an event logged for a time keyframes may already cover (more than
    `settle_s` ago) deletes the keyframes from that time on; they are built again from the log."""
    oldest = min((e.at for e in events if e.type not in BUS_ONLY), default=None)
    if oldest is not None and oldest <= (now or utcnow()) - timedelta(seconds=settle_s):
        session.execute(delete(Keyframe).where(Keyframe.at >= oldest))


class ReplayService:
    def __init__(self, store: Store, staff: StaffService, policy: TimeLimitPolicy, *, mask: Callable[[dict], dict],
                 keyframe_s: int = KEYFRAME_S, settle_s: int = SETTLE_S,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.staff = staff
        self.policy = policy
        self.mask = mask  # an event's payload with personal data masked (CaseService.mask_payload)
        self.keyframe_s = keyframe_s
        self.settle_s = settle_s
        self.clock = clock
        self.folded = 0  # events folded by the last state_at (the bench reads it)

    # --- the window --------------------------------------------------------------------------------
    def window(self, start: datetime | str | None, end: datetime | str | None) -> Window:
        """A window to replay, checked: well-formed times with a zone, start before end, at most 7 days,
        not in the future."""
        s, e = _parse(start, "from"), _parse(end, "to")
        now = self.clock()
        if e > now + timedelta(seconds=5):
            raise ReplayError(f"to: {e.isoformat()} is in the future", key="refused.replay.future")
        if s >= e:
            raise ReplayError("from must come before to", key="refused.replay.order")
        if e - s > MAX_WINDOW:
            raise ReplayError(f"a window is at most 7 days, not {(e - s).total_seconds() / 86400:.1f}",
                              key="refused.replay.long", days=round((e - s).total_seconds() / 86400, 1))
        return Window(s, e)

    def instant(self, window: Window, at: datetime | str | None) -> datetime:
        """An instant of `window` (a malformed time is refused; one outside the window is refused too)."""
        t = _parse(at, "at")
        if not window.start <= t <= window.end:
            raise ReplayError(f"at: {t.isoformat()} is outside the window", key="refused.replay.outside")
        return t

    def audit(self, window: Window, *, actor: str, source: str | None = None) -> None:
        """Who looked at which window (once per window a person opens)."""
        self.store.audit(actor=actor, action="replay.view", source=source,
                         subject=f"window:{window.start.isoformat()}/{window.end.isoformat()}",
                         detail={"from": window.start.isoformat(), "to": window.end.isoformat()})

    # --- the state at an instant ------------------------------------------------------------------
    def _boundary(self, at: datetime) -> datetime:
        return _floor(at, self.keyframe_s)

    def _fold(self, s: Session, state: State, after: datetime | None, upto: datetime) -> int:
        q = select(EventRecord.type, EventRecord.subject_id, EventRecord.at, EventRecord.payload).where(
            _FOLDED, EventRecord.at <= upto)
        if after is not None:
            q = q.where(EventRecord.at > after)
        n = 0
        for type_, subject, at, payload in s.execute(q.order_by(EventRecord.at, EventRecord.seq)):
            state.apply(type_, subject, at, payload or {})
            n += 1
        return n

    def _genesis(self, s: Session) -> State:
        """The state before the first event: no case, no alarm, and each person's status as it was before
        the first change the log holds (today's status, each change undone, newest first)."""
        duty = {k: v for k, v in s.execute(select(Staff.id, Staff.status))}
        undo = s.execute(select(EventRecord.subject_id, EventRecord.payload).where(
            EventRecord.type == "staff.status_changed").order_by(EventRecord.at.desc(), EventRecord.seq.desc()))
        for subject, payload in undo:
            if (payload or {}).get("from"):
                duty[subject] = str(payload["from"])
        return State(duty=duty)

    def horizon(self) -> datetime:
        """Keyframes are hourly (`keyframe_s`) from this midnight on (the last HORIZON), daily before it."""
        return _floor(self.clock() - HORIZON, _DAY_S)

    def _after(self, b: datetime, horizon: datetime) -> datetime:
        if b < horizon:  # the next midnight
            return _floor(b, _DAY_S) + timedelta(seconds=_DAY_S)
        return b + timedelta(seconds=self.keyframe_s)

    def _keyframe(self, at: datetime) -> tuple[datetime | None, State]:
        """The newest keyframe at or before `at` (building the missing ones up to it that have settled), or
        the genesis state (time None) when none can be."""
        limit = self._boundary(min(at, self.clock() - timedelta(seconds=self.settle_s)))
        horizon = self.horizon()
        with self.store.db.read() as s:
            row = s.execute(select(Keyframe.at, Keyframe.state).where(Keyframe.at <= at)
                            .order_by(Keyframe.at.desc()).limit(1)).first()
            if row is not None and (row[0] >= limit or self._after(row[0], horizon) > limit):
                return row[0], State.unpack(row[1])
            first = s.scalar(select(func.min(EventRecord.at)).where(_FOLDED))
            if first is None or first > limit:
                return (row[0], State.unpack(row[1])) if row else (None, self._genesis(s))
            if row is not None:
                t, state = row[0], State.unpack(row[1])
            else:
                t, state = None, self._genesis(s)
            b = self._boundary(first) if t is None else self._after(t, horizon)
            built: list[dict[str, Any]] = []
            while b <= limit:
                n = self._fold(s, state, t, b)
                built.append({"at": b, "built_at": utcnow(), "events": n, "state": state.pack()})
                t = b
                b = self._after(b, horizon)
        self._store_keyframes(built)
        return t, state

    def _store_keyframes(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            try:
                with self.store.db.transaction() as s:
                    s.add(Keyframe(**row))
            except IntegrityError:  # another worker built it first: the same state
                pass

    def build_keyframes(self) -> None:
        """Build the keyframes that have settled up to now, and thin those older than the horizon to one a
        day (the app's periodic round, so that seeks never wait for them)."""
        horizon = self.horizon()
        with self.store.db.transaction() as s:
            old = [a for a in s.scalars(select(Keyframe.at).where(Keyframe.at < horizon)) if _floor(a, _DAY_S) != a]
            if old:
                s.execute(delete(Keyframe).where(Keyframe.at.in_(old)))
        self._keyframe(self.clock())

    def state_at(self, at: datetime, *, since: datetime | None = None) -> State:
        """The state at `at`: from the nearest keyframe, or with `since` from the state at that instant
        folding every event after it (the way without keyframes, for the bench to compare)."""
        kt, state = self._keyframe(since if since is not None else at)
        with self.store.db.read() as s:
            if since is not None:
                self._fold(s, state, kt, since)
                kt = since
            self.folded = self._fold(s, state, kt, at)
        return state

    def keyframe_bytes(self) -> tuple[int, int]:
        """How many keyframes there are and the bytes of their state as stored (compressed JSON)."""
        with self.store.db.read() as s:
            n = int(s.scalar(select(func.count()).select_from(Keyframe)) or 0)
            size = s.scalar(select(func.sum(func.length(Keyframe.state)))) if n else 0
        return n, int(size or 0)

    # --- positions -------------------------------------------------------------------------------
    def positions(self, at: datetime) -> dict[str, tuple[float, float, datetime]]:
        """Each person's last position at or before `at` (the fix the live screens held then)."""
        last = (select(StaffTrack.seq).where(StaffTrack.staff_id == Staff.id, StaffTrack.at <= at)
                .order_by(StaffTrack.at.desc(), StaffTrack.seq.desc()).limit(1).correlate(Staff).scalar_subquery())
        with self.store.db.read() as s:
            seqs = [q for _sid, q in s.execute(select(Staff.id, last)) if q is not None]
            rows = s.execute(select(StaffTrack.staff_id, StaffTrack.lon, StaffTrack.lat, StaffTrack.at)
                             .where(StaffTrack.seq.in_(seqs))).all() if seqs else []
        return {sid: (float(lon), float(lat), t) for sid, lon, lat, t in rows}

    def trails(self, at: datetime, seconds: float = TRAIL_S, staff_ids=None) -> dict[str, list[tuple[float, float]]]:
        """The paths walked in the `seconds` before `at`, per person (everyone, or `staff_ids`), oldest first.
        Asked person by person (an IN list), so the track's (person, time) index answers it: a range on the
        time alone would scan the week's millions of fixes."""
        out: dict[str, list[tuple[float, float]]] = {}
        with self.store.db.read() as s:
            ids = sorted(staff_ids) if staff_ids is not None else list(s.scalars(select(Staff.id)))
            if not ids:
                return out
            q = select(StaffTrack.staff_id, StaffTrack.lon, StaffTrack.lat).where(
                StaffTrack.staff_id.in_(ids), StaffTrack.at > at - timedelta(seconds=seconds), StaffTrack.at <= at)
            for sid, lon, lat in s.execute(q.order_by(StaffTrack.staff_id, StaffTrack.at, StaffTrack.seq)):
                out.setdefault(sid, []).append((float(lon), float(lat)))
        return out

    # --- the scene -------------------------------------------------------------------------------
    def scene(self, at: datetime, *, roster: list[StaffView] | None = None, trail_s: float = TRAIL_S) -> Scene:
        """The district at `at` as views, ready for the same map layers as the live screens."""
        state = self.state_at(at)
        return self.scene_of(state, at, roster=roster, trail_s=trail_s)

    def scene_of(self, state: State, at: datetime, *, roster: list[StaffView] | None = None,
                 trail_s: float = TRAIL_S) -> Scene:
        cases = [CaseView(id=c["id"], status=c["status"], channel=c["channel"], category=c["category"],
                          priority=c["priority"], description="", lon=c["lon"], lat=c["lat"], pole=c["pole"],
                          grid=c["grid"], committee=c["committee"], department=c["department"],
                          reported_at=c["reported_at"], stage_started_at=c["stage_started_at"],
                          stage_due_at=self.policy.stage_due(c["category"], c["priority"], c["status"],
                                                             c["stage_started_at"]),
                          version=0, assigned_team_id=c["team"], assigned_staff_id=c["staff"],
                          rework_count=c["rework"])
                 for c in sorted(state.cases.values(), key=lambda c: c["id"])]
        alarms = [AlarmView(id=a["id"], device_id=a["device_id"], type=a["type"], severity=a["severity"],
                            state=a["state"], count=0, first_at=a["first_at"], last_at=a["first_at"], lon=a["lon"],
                            lat=a["lat"], case_id=a["case_id"])
                  for a in sorted(state.alarms.values(), key=lambda a: (a["first_at"], a["id"]))]
        where = self.positions(at)
        people = []
        for p in roster if roster is not None else self.staff.roster():
            lon, lat, t = where.get(p.id, (None, None, None))
            people.append(StaffView(id=p.id, name=p.name, team_id=p.team_id, team_name=p.team_name,
                                    department=p.department, department_name=p.department_name, duties=p.duties,
                                    status=state.duty.get(p.id, p.status), mode=p.mode, lon=lon, lat=lat,
                                    position_at=t, report_interval_s=p.report_interval_s))
        return Scene(at=at, cases=cases, alarms=alarms, staff=people,
                     trails=self.trails(at, trail_s, [p.id for p in people]) if trail_s > 0 else {})

    # --- the window's events ---------------------------------------------------------------------
    def _where(self, q: Select, f: Filter) -> Select:
        if f.kinds:
            q = q.where(or_(false(), *[EventRecord.type.like(f"{k}.%") for k in f.kinds if k in KINDS]))
        if f.case_id is not None:
            with self.store.db.read() as s:
                chain = s.scalar(select(Case.correlation_id).where(Case.id == f.case_id))
            own = and_(EventRecord.subject_type == "case", EventRecord.subject_id == str(f.case_id))
            q = q.where(or_(own, EventRecord.correlation_id == (chain or f"case:{f.case_id}")))
        if f.team_id is not None:
            with self.store.db.read() as s:
                people = [str(x) for x in s.scalars(select(Staff.id).where(Staff.team_id == f.team_id))]
                cases = [str(x) for x in s.scalars(select(Case.id).where(Case.assigned_team_id == f.team_id))]
            q = q.where(or_(and_(EventRecord.subject_type == "staff", EventRecord.subject_id.in_(people)),
                            and_(EventRecord.subject_type == "case", EventRecord.subject_id.in_(cases))))
        if f.committee is not None:
            with self.store.db.read() as s:
                cases = [str(x) for x in s.scalars(select(Case.id).where(Case.committee_code == f.committee))]
            q = q.where(EventRecord.subject_type == "case", EventRecord.subject_id.in_(cases))
        return q

    @staticmethod
    def _row(e: EventRecord, mask: Callable[[dict], dict]) -> dict:
        return {"seq": e.seq, "type": e.type, "at": e.at, "actor": e.actor, "subject_type": e.subject_type,
                "subject_id": e.subject_id, "correlation_id": e.correlation_id, "payload": mask(e.payload or {})}

    def events(self, window: Window, at: datetime, f: Filter = Filter(), *, before: int = 20,
               after: int = 10) -> tuple[list[dict], list[dict]]:
        """The events of `window` around `at` that pass `f`: up to `before` at or before it (newest last)
        and up to `after` after it, payloads masked."""
        base = self._where(select(EventRecord), f)
        with self.store.db.read() as s:
            past = s.scalars(base.where(EventRecord.at >= window.start, EventRecord.at <= at)
                             .order_by(EventRecord.at.desc(), EventRecord.seq.desc()).limit(before)).all()
            later = s.scalars(base.where(EventRecord.at > at, EventRecord.at <= window.end)
                              .order_by(EventRecord.at, EventRecord.seq).limit(after)).all()
            return ([self._row(e, self.mask) for e in reversed(past)], [self._row(e, self.mask) for e in later])

    def step(self, window: Window, at: datetime, direction: int, f: Filter = Filter()) -> datetime | None:
        """The time of the event just before (`direction` -1) or just after (+1) `at` in the window, or None."""
        q = self._where(select(EventRecord.at), f)
        if direction < 0:
            q = q.where(EventRecord.at >= window.start, EventRecord.at < at).order_by(EventRecord.at.desc())
        else:
            q = q.where(EventRecord.at > at, EventRecord.at <= window.end).order_by(EventRecord.at)
        with self.store.db.read() as s:
            return s.scalar(q.limit(1))

    def export(self, window: Window, f: Filter = Filter()) -> Iterator[dict]:
        """Every event of the window that passes `f`, oldest first (at most EXPORT_LIMIT), payloads masked."""
        q = self._where(select(EventRecord), f).where(EventRecord.at >= window.start, EventRecord.at <= window.end)
        with self.store.db.read() as s:
            for e in s.scalars(q.order_by(EventRecord.at, EventRecord.seq).limit(EXPORT_LIMIT)):
                yield self._row(e, self.mask)

    def path(self, staff_id: str, at: datetime, seconds: float = FOLLOW_S) -> list[tuple[float, float]]:
        """The path of one person in the `seconds` before `at` (the person followed)."""
        return self.staff.path(staff_id, at - timedelta(seconds=seconds), at)



class KeyframeRound(Periodic):
    """Builds the keyframes that have settled, every `interval_s` seconds, so that seeks never build them."""

    thread_name = "replay-keyframes"
    first_s = 5.0  # soon after the start: a month of log folds in seconds, and the first seek need not

    def __init__(self, replay: ReplayService, interval_s: float = 600.0) -> None:
        self.replay = replay
        self.interval_s = interval_s

    def run_once(self) -> None:
        self.replay.build_keyframes()
