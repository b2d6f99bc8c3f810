"""Alarm operations: raise (or bump the live one), clear.

One live alarm per (device, type) is enforced by a unique `live_key`, so two workers raising the
same alarm at once cannot create two rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from brain.alarms.enums import ALARM_TYPES, LIFE_SAFETY_TYPES, LIVE_STATES, RUNG_STEPS, AlarmState, Severity
from brain.alarms.models import Alarm
from brain.district.models import Device
from brain.events.kinds import EventType
from brain.events.log import Store
from brain.ingest.models import MESSAGES as INGEST_MESSAGES
from brain.refusal import Refusal
from brain.storage.db import UTCDateTime, among, insert_new, insert_rows, new_id, pg_array, utcnow

if TYPE_CHECKING:
    from brain.alarms.live_index import LiveIndex


class AlarmError(Refusal):
    """An alarm that cannot be accepted (unknown device or type) or a move it cannot make (with the catalogue
    entry a screen says it from, where a person meets it)."""


class AlarmNotFound(LookupError):
    pass


class DuplicateMessage(Exception):
    """This message was handled before; nothing changed."""


class AlarmSuppressed(Exception):
    """Recorded (``alarm.suppressed`` in the log), not raised: the device is in maintenance, or flapping."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


FLAP_WINDOW = timedelta(minutes=10)
FLAP_LIMIT = 3  # this many alarms of one (device, type) raised within the window: the next ones are damped


def is_life_safety(type_: str, severity: Severity) -> bool:
    """Whether an alarm is about a life (smoke, gas, a trapped passenger, a welfare check, anything
    critical): such an alarm is never damped for flapping."""
    return severity == Severity.CRITICAL or type_ in LIFE_SAFETY_TYPES


MAX_FUTURE = timedelta(minutes=5)  # device clocks drift; beyond this a timestamp is refused
# A device's last-seen time is written when it moves on by this much: a storm of alarms from one device
# does not rewrite its row with each (heartbeats are minutes apart; "offline" is judged in minutes).
SEEN_STEP = timedelta(seconds=5)


@dataclass(frozen=True)
class AlarmMessage:
    """One alarm as a device (or the brain) reports it, for raise_many."""

    device_id: str
    type: str
    at: datetime
    severity: str | None = None
    alarm_id: str | None = None  # the sender's alarm id: sending it again changes nothing
    message_id: str | None = None  # the message's id: handled once, however often it arrives
    actor: str | None = None  # who the event names (e.g. device:SMK-000001); the batch's actor if None


@dataclass(frozen=True)
class Raised:
    """What became of one message: created, repeated (count bumped), known (its alarm id exists),
    duplicate (its message id was handled), suppressed (maintenance, flapping) or refused (reason)."""

    status: str
    alarm: AlarmView | None = None
    reason: str | None = None
    code: str | None = None  # a refusal's kind where callers count it apart: unknown_device, unknown_type


@dataclass(frozen=True)
class AlarmView:
    id: str
    device_id: str
    type: str
    severity: str
    state: str
    count: int
    first_at: datetime
    last_at: datetime
    lon: float
    lat: float
    rung: str | None = None  # welfare alarms: the ladder's rung (call, visit, emergency)
    rung_due_at: datetime | None = None  # when it climbs to the next, unless resolved
    case_id: int | None = None  # the case its escalation opened, once there is one

    def bumped(self, count: int, last_at: datetime) -> AlarmView:
        """The same alarm with another count and last time (made directly: dataclasses.replace costs
        several times as much, and a storm bumps thousands of alarms a second)."""
        return AlarmView(self.id, self.device_id, self.type, self.severity, self.state, count, self.first_at,
                         last_at, self.lon, self.lat, self.rung, self.rung_due_at, self.case_id)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["first_at"], d["last_at"] = self.first_at.isoformat(), self.last_at.isoformat()
        d["rung_due_at"] = self.rung_due_at.isoformat() if self.rung_due_at else None
        return d


# the columns an AlarmView is made of, in its order, read as plain rows
_VIEW_COLUMNS = ("id", "device_id", "type", "severity", "state", "count", "first_at", "last_at", "lon", "lat",
                 "rung", "rung_due_at", "case_id")
# Core columns, not the mapped attributes: a statement of mapped attributes goes through the ORM's
# compiling and row loading even for plain columns, which costs more than the rows of a batch do
_ALARMS, _DEVICES = cast(Table, Alarm.__table__), cast(Table, Device.__table__)
_A, _D = _ALARMS.c, _DEVICES.c
_VIEW = select(*(_A[c] for c in _VIEW_COLUMNS))


def _bump(s, alarms_t: Table, bumps: list[tuple[str, list]]) -> None:
    """Add each (alarm id, [n, latest time]) to its alarm's count and last time: on PostgreSQL one
    UPDATE .. FROM unnest(arrays), elsewhere one UPDATE per alarm (executemany)."""
    if s.get_bind().dialect.name == "postgresql":
        c = alarms_t.c
        v = select(func.unnest(pg_array([k for k, _b in bumps], c.id.type, "ids")).label("id"),
                   func.unnest(pg_array([b[0] for _k, b in bumps], c.count.type, "ns")).label("n"),
                   func.unnest(pg_array([b[1] for _k, b in bumps], c.last_at.type, "ts")).label("t")).subquery("v")
        s.execute(update(alarms_t).where(c.id == v.c.id).values(
            count=c.count + v.c.n, version=c.version + 1, last_at=func.greatest(c.last_at, v.c.t)))
        return
    t = bindparam("t", type_=UTCDateTime())
    s.execute(update(alarms_t).where(alarms_t.c.id == bindparam("b_id")).values(
        count=alarms_t.c.count + bindparam("n"), version=alarms_t.c.version + 1,
        last_at=case((alarms_t.c.last_at < t, t), else_=alarms_t.c.last_at)),
        [{"b_id": k, "n": n, "t": last} for k, (n, last) in bumps])


def _row_view(r) -> AlarmView:
    """An AlarmView from a row of _VIEW (by position: a storm's wall makes thousands at a time)."""
    id_, device_id, type_, severity, state, count, first_at, last_at, lon, lat, rung, rung_due_at, case_id = r[:13]
    return AlarmView(id_, device_id, type_, severity, state, count, first_at, last_at, lon, lat,
                     RUNG_STEPS[rung].value if rung in RUNG_STEPS else None, rung_due_at, case_id)


def _view(a: Alarm) -> AlarmView:
    return _row_view([getattr(a, c) for c in _VIEW_COLUMNS])


class AlarmService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.index: LiveIndex | None = None  # the live alarms kept from the bus, once the brain follows it

    def raise_alarm(self, *, device_id: str, type: str, severity: str | None = None, at: datetime | None = None,
                    actor: str = "device", alarm_id: str | None = None,
                    message_id: str | None = None, from_device: bool = True) -> tuple[AlarmView, bool]:
        """Raise an alarm or bump the live one for (device, type); returns (alarm, created).

        A new alarm emits ``alarm.raised``; a repeat only bumps count and last time (``alarm.repeated``
        goes on the bus, not the log). A device in maintenance, or flapping, is recorded, not raised
        (AlarmSuppressed). With `message_id`, the message is remembered in the same transaction: the
        same message again raises DuplicateMessage and changes nothing, however many workers receive
        it. An alarm the brain raises about a device (`from_device=False`: offline, welfare) is no sign
        the device is alive.
        """
        msg = AlarmMessage(device_id=device_id, type=type, at=at or utcnow(), severity=severity, alarm_id=alarm_id,
                           message_id=message_id, actor=actor)
        for attempt in range(2):
            try:
                [r] = self.raise_many([msg], actor=actor, from_device=from_device)
            except IntegrityError:  # another worker raised the same alarm just now
                if attempt:
                    raise
                continue
            if r.status == "duplicate":
                raise DuplicateMessage(str(message_id))
            if r.status == "refused":
                raise AlarmError(str(r.reason))
            if r.status == "suppressed":
                raise AlarmSuppressed(str(r.reason))
            assert r.alarm is not None
            return r.alarm, r.status == "created"
        raise AssertionError("unreachable")

    def raise_many(self, messages: list[AlarmMessage], *, actor: str = "device",
                   from_device: bool = True) -> list[Raised]:
        """Raise or bump many alarms in one transaction, in order; one result per message (created,
        repeated, duplicate, suppressed or refused with the reason; a repeat carries its alarm as the batch
        leaves it). What raise_alarm does for one, at the cost of a handful of queries for the whole batch.
        IntegrityError if another worker raised the same live alarm meanwhile: nothing of the batch is
        kept, try again. (A message id another worker takes at the same moment is waited for, then found
        a duplicate.)"""
        now = utcnow()
        out: list[Raised | None] = [None] * len(messages)
        for i, m in enumerate(messages):
            if m.at.tzinfo is None:
                out[i] = Raised("refused", reason="ts: give a time zone (e.g. 2026-11-22T08:00:00+08:00)")
            elif m.at > now + MAX_FUTURE:
                out[i] = Raised("refused", reason=f"ts {m.at.isoformat()} is in the future")
        todo = [(i, m) for i, m in enumerate(messages) if out[i] is None]
        if not todo:
            return [r for r in out if r is not None]
        with self.store.unit(actor) as u:
            s = u.session
            # read what the batch needs, a few queries in all (plain rows, no ORM objects: written back in bulk)
            given = {m.alarm_id for _i, m in todo if m.alarm_id}
            keys = {f"{m.device_id}|{m.type}" for _i, m in todo}
            rows = s.execute(_VIEW.add_columns(_A.live_key).where(
                or_(among(s, _A.live_key, keys), among(s, _A.id, given)) if given
                else among(s, _A.live_key, keys))).all()
            known = {a.id: _row_view(a) for a in rows if a.id in given}  # the sender's alarm ids already there
            live = {a.live_key: _row_view(a) for a in rows if a.live_key in keys}  # the live alarms of these keys
            devices = {d.id: d for d in s.execute(select(
                _D.id, _D.type, _D.lon, _D.lat, _D.place_id, _D.maintenance,
                _D.last_seen_at).where(among(s, _D.id, {m.device_id for _i, m in todo})))}
            # each message checked once: refused, or its alarm id already known, or taken in with its severity
            severity: dict[int, Severity] = {}
            for i, m in todo:
                out[i], sev = self._check(m, devices, known)
                if sev is not None:
                    severity[i] = sev
            todo = [(i, m) for i, m in todo if i in severity]
            # the messages handled before: the id of every message taken in is inserted now, and those
            # already there (or being inserted by another worker) are the duplicates
            ids = {m.message_id for _i, m in todo if m.message_id}
            fresh = insert_new(s, INGEST_MESSAGES, "id", ids, kind="alarm", at=now)
            seen = ids - fresh
            # damping looks back only where an alarm may be raised (no live one for its device and type)
            quiet = {m.device_id for _i, m in todo if f"{m.device_id}|{m.type}" not in live}
            recent: dict[str, list[datetime]] = {}
            if quiet:
                since = min(m.at for _i, m in todo) - FLAP_WINDOW
                for dev, kind, first in s.execute(select(_A.device_id, _A.type, _A.first_at).where(
                        among(s, _A.device_id, quiet), _A.first_at >= since)):
                    recent.setdefault(f"{dev}|{kind}", []).append(first)
            new_alarms: dict[str, dict] = {}  # live_key -> row to insert
            bumps: dict[str, list] = {}  # alarm id -> [messages, latest time]
            repeated: dict[str, list[int]] = {}  # live_key -> the messages that repeated its alarm
            seen_at: dict[str, datetime] = {}  # device id -> latest time it reported
            for i, m in todo:
                u.actor = m.actor or actor
                if m.message_id is not None and m.message_id in seen:
                    out[i] = Raised("duplicate")
                    continue
                if m.message_id is not None:
                    seen.add(m.message_id)  # the same message twice in one batch
                device, sev = devices[m.device_id], severity[i]
                if from_device:
                    seen_at[m.device_id] = max(seen_at.get(m.device_id, m.at), m.at)
                key = f"{m.device_id}|{m.type}"
                view = live.get(key)
                if view is not None:  # a repeat: count and last time, in bulk below
                    bump = bumps.get(view.id)
                    if bump is None:
                        bump = bumps[view.id] = [0, view.last_at]
                        repeated[key] = []
                    bump[0] += 1
                    if m.at > bump[1]:
                        bump[1] = m.at
                    repeated[key].append(i)
                    continue
                flapping = sum(1 for t in recent.get(key, ()) if t >= m.at - FLAP_WINDOW) >= FLAP_LIMIT
                # a life-safety alarm is raised however often its device has raised it: damping may mark the
                # device as flapping, never silence a smoke, gas, trapped-passenger or welfare alarm
                damped = "maintenance" if device.maintenance else (
                    "flapping" if flapping and not is_life_safety(m.type, sev) else None)
                if damped:
                    u.emit(EventType.ALARM_SUPPRESSED, "device", m.device_id,
                           {"type": m.type, "reason": damped}, at=m.at,
                           later=True)
                    out[i] = Raised("suppressed", reason=damped)
                    continue
                row = {"id": m.alarm_id or new_id(), "device_id": m.device_id, "type": m.type,
                       "severity": sev.value, "state": AlarmState.ACTIVE.value, "count": 1, "lon": device.lon,
                       "lat": device.lat, "place_id": device.place_id, "first_at": m.at, "last_at": m.at,
                       "live_key": key, "version": 1}
                new_alarms[key] = row
                live[key] = view = AlarmView(id=row["id"], device_id=m.device_id, type=m.type, severity=sev.value,
                                             state=row["state"], count=1, first_at=m.at, last_at=m.at,
                                             lon=device.lon, lat=device.lat)
                recent.setdefault(key, []).append(m.at)
                u.emit(EventType.ALARM_RAISED, "alarm", row["id"], {
                    "device_id": m.device_id, "type": m.type, "severity": sev.value, "lon": device.lon,
                    "lat": device.lat, "place_id": device.place_id, **({"flapping": True} if flapping else {})},
                    at=m.at, later=True, correlation_id=f"alarm:{row['id']}")
                out[i] = Raised("created", alarm=view)
            u.actor = actor
            # write back in bulk (Core, no ORM object per row): new alarms, repeats, last-seen times
            insert_rows(s, _ALARMS, list(new_alarms.values()))
            if bumps:  # (an alarm made earlier in this batch is in its table already: its repeats add up too)
                _bump(s, _ALARMS, sorted(bumps.items()))  # in id order: one lock order for every worker
            seen_at = {k: v for k, v in seen_at.items()  # only where it moves on by a step or more
                       if devices[k].last_seen_at is None or devices[k].last_seen_at < v - SEEN_STEP}
            if seen_at:
                t = bindparam("t", type_=UTCDateTime())
                seen_col = _D.last_seen_at
                s.execute(update(_DEVICES).where(_D.id == bindparam("b_id")).values(
                    last_seen_at=case((or_(seen_col.is_(None), seen_col < t), t), else_=seen_col)),
                    [{"b_id": k, "t": v} for k, v in sorted(seen_at.items())])
            for key, indexes in repeated.items():  # each repeat's result: its alarm as the batch leaves it
                view = live[key]
                n, last = bumps[view.id]
                view = view.bumped(view.count + n, last)
                result = Raised("repeated", alarm=view)
                for i in indexes:
                    out[i] = result
                u.signal(EventType.ALARM_REPEATED, "alarm", view.id,  # one per alarm and batch
                         {"count": view.count, "added": n, "last_at": view.last_at.isoformat()}, at=now)
        return [r if r is not None else Raised("refused", reason="not handled") for r in out]

    @staticmethod
    def _check(m: AlarmMessage, devices: dict, known: dict) -> tuple[Raised | None, Severity | None]:
        """What raise_many does with a message before anything is written: (the result, None) if it is
        refused or its alarm id is known (the same alarm sent again: nothing changes), else (None, its
        severity)."""
        if m.alarm_id is not None and m.alarm_id in known:
            old = known[m.alarm_id]
            if (old.device_id, old.type) != (m.device_id, m.type):
                return Raised("refused", reason=f"alarm id {m.alarm_id} belongs to another device or type"), None
            return Raised("known", alarm=old), None
        device = devices.get(m.device_id)
        if device is None:
            return Raised("refused", reason=f"unknown device {m.device_id!r}", code="unknown_device"), None
        kinds = ALARM_TYPES.get(device.type, {})
        if m.type not in kinds:
            return Raised("refused", reason=f"device type {device.type!r} raises no alarm {m.type!r}",
                          code="unknown_type"), None
        try:
            return None, Severity(m.severity) if m.severity else kinds[m.type]
        except ValueError:
            return Raised("refused", reason=f"unknown severity {m.severity!r}"), None

    def set_maintenance(self, device_id: str, on: bool, *, actor: str, reason: str) -> dict:
        """Put a device in maintenance (its alarms are recorded, not raised) or take it out; logged."""
        if not reason or not reason.strip():
            raise AlarmError("say why (e.g. the work order)", key="refused.alarm.reason")
        with self.store.unit(actor) as u:
            device = u.session.get(Device, device_id)
            if device is None:
                raise AlarmNotFound(f"no device {device_id}")
            if device.maintenance != on:
                device.maintenance = on
                u.session.flush()
                u.emit(EventType.DEVICE_MAINTENANCE, "device", device_id, {"on": on, "reason": reason.strip()[:500]})
            return {"device_id": device_id, "maintenance": on}

    def clear(self, alarm_id: str, *, actor: str, false_alarm: bool | None = None,
              at: datetime | None = None) -> AlarmView:
        """Clear a live alarm (by the device or an operator); emits ``alarm.cleared``."""
        now = at or utcnow()
        with self.store.unit(actor, correlation_id=f"alarm:{alarm_id}") as u:
            alarm = u.session.get(Alarm, alarm_id)
            if alarm is None:
                raise AlarmNotFound(f"no alarm {alarm_id}")
            if AlarmState(alarm.state) not in LIVE_STATES:
                raise AlarmError(f"alarm {alarm_id} is {alarm.state}, not live", key="refused.alarm.not_live")
            self.clear_in(u, alarm, actor=actor, at=now, false_alarm=false_alarm)
            return _view(alarm)

    @staticmethod
    def clear_in(u, alarm: Alarm, *, actor: str, at: datetime, false_alarm: bool | None, **detail) -> None:
        """Clear a live alarm within the unit `u` (no longer live: a new one of its device and type may be
        raised, and a welfare ladder stops); emits ``alarm.cleared`` with `detail`."""
        alarm.state, alarm.cleared_at, alarm.cleared_by = AlarmState.CLEARED.value, at, actor
        alarm.live_key, alarm.rung_due_at, alarm.false_alarm = None, None, false_alarm
        u.session.flush()
        u.emit(EventType.ALARM_CLEARED, "alarm", alarm.id, {"false_alarm": false_alarm, **detail}, at=at)

    def acknowledge(self, alarm_id: str, *, actor: str, at: datetime | None = None) -> AlarmView:
        """Someone has seen the alarm and takes it on (who, when); emits ``alarm.acknowledged``.

        Acknowledging is a separate fact from clearing: the condition may still be there."""
        now = at or utcnow()
        with self.store.unit(actor, correlation_id=f"alarm:{alarm_id}") as u:
            alarm = u.session.get(Alarm, alarm_id)
            if alarm is None:
                raise AlarmNotFound(f"no alarm {alarm_id}")
            if alarm.state != AlarmState.ACTIVE.value:
                raise AlarmError(f"alarm {alarm_id} is {alarm.state}: only an active alarm is acknowledged",
                                 key="refused.alarm.not_active")
            alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = AlarmState.ACKNOWLEDGED.value, now, actor
            u.session.flush()
            u.emit(EventType.ALARM_ACKNOWLEDGED, "alarm", alarm.id, {"by": actor}, at=now)
            return _view(alarm)

    def find(self, *, state: str | None = None, limit: int = 500) -> list[AlarmView]:
        """Alarms, newest activity first, optionally in one state."""
        q = select(Alarm).order_by(Alarm.last_at.desc(), Alarm.id).limit(limit)
        if state:
            q = q.where(Alarm.state == AlarmState(state).value)
        with self.store.db.read() as s:
            return [_view(a) for a in s.scalars(q)]

    def flapping(self, *, device_ids=None, now: datetime | None = None) -> set[str]:
        """The devices flapping now: FLAP_LIMIT or more alarms of one type raised within the last FLAP_WINDOW
        (of `device_ids` only, if given: a look-up by the devices' index)."""
        since = (now or utcnow()) - FLAP_WINDOW
        q = select(_A.device_id).where(_A.first_at >= since)
        if device_ids is not None:
            ids = set(device_ids)
            if not ids:
                return set()
            q = q.where(_A.device_id.in_(ids))
        with self.store.db.read() as s:
            return set(s.scalars(q.group_by(_A.device_id, _A.type).having(func.count() >= FLAP_LIMIT)))

    def devices(self) -> list[dict]:
        """Every device with its state: online, in maintenance, flapping (alarms raised and cleared again
        and again), last heard."""
        flapping = self.flapping()
        with self.store.db.read() as s:
            return [{"id": d.id, "type": d.type, "place": d.place_id, "lon": d.lon, "lat": d.lat, "online": d.online,
                     "maintenance": d.maintenance, "flapping": d.id in flapping,
                     "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None}
                    for d in s.scalars(select(Device).order_by(Device.id))]

    def live(self) -> list[AlarmView]:
        """The live alarms, oldest first: from the list kept from the bus where there is one."""
        return self.index.live() if self.index is not None else self.live_from_db()

    def live_from_db(self) -> list[AlarmView]:
        with self.store.db.read() as s:  # plain rows: a storm's wall reads thousands, several times a second
            rows = s.execute(_VIEW.where(_A.state.in_([x.value for x in LIVE_STATES]))
                             .order_by(_A.first_at, _A.id)).all()
            return [_row_view(a) for a in rows]
