"""Alarm operations: raise (or bump the live one), clear.

One live alarm per (device, type) is enforced by a unique `live_key`, so two workers raising the
same alarm at once cannot create two rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from brain.alarms.enums import ALARM_TYPES, LIVE_STATES, AlarmState, Severity
from brain.alarms.models import Alarm
from brain.district.models import Device
from brain.events.log import Store
from brain.ingest.models import IngestMessage
from brain.storage.db import utcnow


class AlarmError(ValueError):
    """An alarm that cannot be accepted (unknown device or type) or a move it cannot make."""


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


MAX_FUTURE = timedelta(minutes=5)  # device clocks drift; beyond this a timestamp is refused


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

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["first_at"], d["last_at"] = self.first_at.isoformat(), self.last_at.isoformat()
        return d


def _view(a: Alarm) -> AlarmView:
    return AlarmView(id=a.id, device_id=a.device_id, type=a.type, severity=a.severity, state=a.state,
                     count=a.count, first_at=a.first_at, last_at=a.last_at, lon=a.lon, lat=a.lat)


class AlarmService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def raise_alarm(self, *, device_id: str, type: str, severity: str | None = None, at: datetime | None = None,
                    actor: str = "device", alarm_id: str | None = None,
                    message_id: str | None = None) -> tuple[AlarmView, bool]:
        """Raise an alarm or bump the live one for (device, type); returns (alarm, created).

        A new alarm emits ``alarm.raised``; a repeat only bumps count and last time (``alarm.repeated``
        goes on the bus, not the log). A device in maintenance is refused here (recorded elsewhere).
        With `message_id`, the message is remembered in the same transaction: the same message again
        raises DuplicateMessage and changes nothing, however many workers receive it.
        """
        now = at or utcnow()
        if now.tzinfo is None:
            raise AlarmError("ts: give a time zone (e.g. 2026-11-22T08:00:00+08:00)")
        if now > utcnow() + MAX_FUTURE:
            raise AlarmError(f"ts {now.isoformat()} is in the future")
        if alarm_id is not None:
            with self.store.db.read() as s:
                seen = s.get(Alarm, alarm_id)
            if seen is not None:  # the same message again (at-least-once delivery): nothing changes
                if (seen.device_id, seen.type) != (device_id, type):
                    raise AlarmError(f"alarm id {alarm_id} belongs to another device or type")
                return _view(seen), False
        if message_id is not None:
            with self.store.db.read() as s:
                if s.get(IngestMessage, message_id) is not None:
                    raise DuplicateMessage(message_id)
        for attempt in range(2):
            try:
                with self.store.unit(actor) as u:
                    if message_id is not None:
                        u.session.add(IngestMessage(id=message_id, kind="alarm", at=utcnow()))
                    device = u.session.get(Device, device_id)
                    if device is None:
                        raise AlarmError(f"unknown device {device_id!r}")
                    known = ALARM_TYPES.get(device.type, {})
                    if type not in known:
                        raise AlarmError(f"device type {device.type!r} raises no alarm {type!r}")
                    try:
                        sev = Severity(severity) if severity else known[type]
                    except ValueError:
                        raise AlarmError(f"unknown severity {severity!r}") from None
                    device.last_seen_at = max(device.last_seen_at or now, now)
                    live_key = f"{device_id}|{type}"
                    alarm = u.session.scalar(select(Alarm).where(Alarm.live_key == live_key))
                    damped = self._damped(u, device, type, now) if alarm is None else None
                    if damped:
                        u.emit("alarm.suppressed", "device", device_id, {"type": type, "reason": damped}, at=now)
                    elif alarm is not None:
                        alarm.count += 1
                        alarm.last_at = max(alarm.last_at, now)
                        u.signal("alarm.repeated", "alarm", alarm.id, {"count": alarm.count})
                        u.session.flush()
                        return _view(alarm), False
                    else:
                        alarm = Alarm(id=alarm_id or uuid.uuid4().hex, device_id=device_id, type=type,
                                      severity=sev.value, state=AlarmState.ACTIVE.value, count=1, lon=device.lon,
                                      lat=device.lat, place_id=device.place_id, first_at=now, last_at=now,
                                      live_key=live_key)
                        u.session.add(alarm)
                        u.session.flush()
                        u.emit("alarm.raised", "alarm", alarm.id, {
                            "device_id": device_id, "type": type, "severity": sev.value, "lon": device.lon,
                            "lat": device.lat, "place_id": device.place_id}, at=now)
                        return _view(alarm), True
                # recorded, not raised (committed with the message id, so a repeat is a duplicate)
                raise AlarmSuppressed(str(damped))
            except IntegrityError:
                if message_id is not None:
                    with self.store.db.read() as s:
                        if s.get(IngestMessage, message_id) is not None:  # another worker took it first
                            raise DuplicateMessage(message_id) from None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _damped(u, device: Device, type: str, now: datetime) -> str | None:
        """Why a new alarm of this device and type is recorded but not raised, if it is."""
        if device.maintenance:
            return "maintenance"
        recent = u.session.scalar(select(func.count()).select_from(Alarm).where(
            Alarm.device_id == device.id, Alarm.type == type, Alarm.first_at >= now - FLAP_WINDOW))
        return "flapping" if (recent or 0) >= FLAP_LIMIT else None

    def set_maintenance(self, device_id: str, on: bool, *, actor: str, reason: str) -> dict:
        """Put a device in maintenance (its alarms are recorded, not raised) or take it out; logged."""
        if not reason or not reason.strip():
            raise AlarmError("say why (e.g. the work order)")
        with self.store.unit(actor) as u:
            device = u.session.get(Device, device_id)
            if device is None:
                raise AlarmNotFound(f"no device {device_id}")
            if device.maintenance != on:
                device.maintenance = on
                u.session.flush()
                u.emit("device.maintenance", "device", device_id, {"on": on, "reason": reason.strip()[:500]})
            return {"device_id": device_id, "maintenance": on}

    def clear(self, alarm_id: str, *, actor: str, false_alarm: bool | None = None,
              at: datetime | None = None) -> AlarmView:
        """Clear a live alarm (by the device or an operator); emits ``alarm.cleared``."""
        now = at or utcnow()
        with self.store.unit(actor) as u:
            alarm = u.session.get(Alarm, alarm_id)
            if alarm is None:
                raise AlarmNotFound(f"no alarm {alarm_id}")
            if AlarmState(alarm.state) not in LIVE_STATES:
                raise AlarmError(f"alarm {alarm_id} is {alarm.state}, not live")
            alarm.state, alarm.cleared_at, alarm.cleared_by = AlarmState.CLEARED.value, now, actor
            alarm.live_key, alarm.false_alarm = None, false_alarm
            u.session.flush()
            u.emit("alarm.cleared", "alarm", alarm.id, {"false_alarm": false_alarm}, at=now)
            return _view(alarm)

    def acknowledge(self, alarm_id: str, *, actor: str, at: datetime | None = None) -> AlarmView:
        """Someone has seen the alarm and takes it on (who, when); emits ``alarm.acknowledged``.

        Acknowledging is a separate fact from clearing: the condition may still be there."""
        now = at or utcnow()
        with self.store.unit(actor) as u:
            alarm = u.session.get(Alarm, alarm_id)
            if alarm is None:
                raise AlarmNotFound(f"no alarm {alarm_id}")
            if alarm.state != AlarmState.ACTIVE.value:
                raise AlarmError(f"alarm {alarm_id} is {alarm.state}: only an active alarm is acknowledged")
            alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = AlarmState.ACKNOWLEDGED.value, now, actor
            u.session.flush()
            u.emit("alarm.acknowledged", "alarm", alarm.id, {"by": actor}, at=now)
            return _view(alarm)

    def find(self, *, state: str | None = None, limit: int = 500) -> list[AlarmView]:
        """Alarms, newest activity first, optionally in one state."""
        q = select(Alarm).order_by(Alarm.last_at.desc(), Alarm.id).limit(limit)
        if state:
            q = q.where(Alarm.state == AlarmState(state).value)
        with self.store.db.read() as s:
            return [_view(a) for a in s.scalars(q)]

    def devices(self) -> list[dict]:
        with self.store.db.read() as s:
            return [{"id": d.id, "type": d.type, "place": d.place_id, "lon": d.lon, "lat": d.lat, "online": d.online,
                     "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None}
                    for d in s.scalars(select(Device).order_by(Device.id))]

    def live(self) -> list[AlarmView]:
        with self.store.db.read() as s:
            rows = s.scalars(select(Alarm).where(Alarm.state.in_([x.value for x in LIVE_STATES]))
                             .order_by(Alarm.first_at)).all()
            return [_view(a) for a in rows]
