"""Device heartbeats and the welfare ladder for elderly residents living alone.

Heartbeats: every status message from a device (MQTT ``.../devices/<id>/status`` or
``POST /api/v1/devices/<id>/status``) says it is alive. A device silent for more than
OFFLINE_AFTER of its own heartbeat intervals goes offline: ``device.offline`` in the log and an
``offline`` alarm. Its next message brings it back: ``device.online``, and the offline alarm is cleared
by the device.

Welfare: a status message with ``"activity": true`` from a door sensor or a water meter in a home
is a sign of life. A home with no sign of life for the configured hours raises a welfare alarm on
that sensor, which climbs a ladder, each rung with its own timer:

    1 call       the duty operator calls the resident            (after `call_min`, climbs to 2)
    2 visit      a care worker goes to the door: an urgent case,  (after `visit_min`, climbs to 3)
                 auto-dispatched to the nearest suitable person
    3 emergency  the alarm turns critical and active again: the wall takes it over until someone
                 acknowledges it, and emergency services are called

An operator records what a rung found (`record_outcome`): the resident is fine (the alarm is
cleared as a false alarm), or not reached (the ladder climbs at once). A new sign of life clears the
alarm too. Every climb is ``alarm.welfare_rung`` in the log.

Safe with several workers: going offline and each climb are compare-and-set updates; only the
worker whose update matched acts on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from brain.alarms.enums import (
    ALARM_CATEGORY,
    LIVE_STATES,
    OFFLINE,
    RUNG_STEPS,
    WELFARE_SENSORS,
    AlarmState,
    Rung,
    Severity,
)
from brain.alarms.models import Alarm
from brain.alarms.service import AlarmError, AlarmNotFound, AlarmService, AlarmSuppressed
from brain.cases.enums import Channel, Priority
from brain.cases.service import CaseService, IntakeError
from brain.district.models import Device, Place
from brain.events.kinds import EventType
from brain.events.log import Store
from brain.periodic import Periodic
from brain.storage.db import utcnow

log = logging.getLogger(__name__)
ACTOR = "system:monitor"
OFFLINE_AFTER = 1.5  # heartbeat intervals of silence before a device is offline (one late beat is not enough)
WELFARE_CATEGORY = ALARM_CATEGORY[("door", "no_activity")]


class Outcome:
    RESIDENT_OK = "resident_ok"
    NOT_REACHED = "not_reached"
    ALL = (RESIDENT_OK, NOT_REACHED)


@dataclass(frozen=True)
class Ladder:
    """The welfare settings: hours without a sign of life, and each rung's timer."""

    quiet_hours: float = 12.0
    call_min: float = 15.0
    visit_min: float = 60.0

    def timer(self, rung: int) -> timedelta | None:
        return {1: timedelta(minutes=self.call_min), 2: timedelta(minutes=self.visit_min)}.get(rung)


RUNGS = RUNG_STEPS


class DeviceMonitor(Periodic):
    thread_name = "device-monitor"

    def __init__(self, store: Store, alarms: AlarmService, cases: CaseService, *, ladder: Ladder | None = None,
                 interval_s: float = 30.0) -> None:
        self.store = store
        self.alarms = alarms
        self.cases = cases
        self.ladder = ladder or Ladder()
        self.interval_s = interval_s

    # --- what devices say ------------------------------------------------------------------------
    def status(self, device_id: str, *, at: datetime, activity: bool = False, actor: str | None = None) -> dict:
        """A device is alive (and, with `activity`, someone at home is): back online if it was not,
        its offline alarm cleared, and a welfare alarm of its home cleared by the sign of life."""
        actor = actor or f"device:{device_id}"[:100]
        with self.store.unit(actor) as u:
            device = u.session.get(Device, device_id)
            if device is None:
                raise AlarmNotFound(f"unknown device {device_id!r}")
            device.last_seen_at = max(device.last_seen_at or at, at)
            if activity:
                device.last_activity_at = max(device.last_activity_at or at, at)
            came_back = not device.online
            if came_back:
                device.online = True
                u.emit(EventType.DEVICE_ONLINE, "device", device_id, {"at": at.isoformat()}, at=at)
            u.session.flush()
            cleared = []
            ends = []  # which live alarms this message ends
            if came_back:
                ends.append(and_(Alarm.device_id == device_id, Alarm.type == OFFLINE))
            if activity and device.type in WELFARE_SENSORS and device.place_id:
                ends.append(and_(Alarm.place_id == device.place_id, Alarm.type.in_(WELFARE_SENSORS.values())))
            if ends:
                q = select(Alarm).where(Alarm.state.in_([s.value for s in LIVE_STATES]), or_(*ends))
                for alarm in u.session.scalars(q):
                    welfare = alarm.type != OFFLINE
                    self.alarms.clear_in(u, alarm, actor=actor, at=at,
                                         false_alarm=True if welfare else alarm.false_alarm, by_device=True,
                                         reason="sign_of_life" if welfare else "back_online")
                    cleared.append(alarm.id)
            return {"device_id": device_id, "online": True, "came_back": came_back, "cleared": cleared}

    # --- what silence says ---------------------------------------------------------------------------
    def sweep_offline(self, now: datetime) -> list[str]:
        """Devices silent past OFFLINE_AFTER heartbeat intervals go offline, each with an offline alarm."""
        with self.store.db.read() as s:
            rows = s.execute(select(Device.id, Device.last_seen_at, Device.heartbeat_s).where(
                Device.online.is_(True), Device.maintenance.is_(False), Device.last_seen_at.is_not(None))).all()
        silent = [(d, seen) for d, seen, hb in rows
                  if seen is not None and seen < now - timedelta(seconds=OFFLINE_AFTER * (hb or 3600))]
        gone = []
        for device_id, seen in silent:
            with self.store.unit(ACTOR) as u:  # claim: only one worker turns it offline
                claimed = u.session.execute(
                    update(Device).where(Device.id == device_id, Device.online.is_(True), Device.last_seen_at == seen)
                    .values(online=False).execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
                if claimed:
                    u.emit(EventType.DEVICE_OFFLINE, "device", device_id,
                           {"last_seen_at": seen.isoformat(), "silent_s": int((now - seen).total_seconds())}, at=now)
            if not claimed:
                continue
            gone.append(device_id)
            try:
                self.alarms.raise_alarm(device_id=device_id, type=OFFLINE, at=now, actor=ACTOR, from_device=False)
            except (AlarmError, AlarmSuppressed) as e:
                log.info("device %s offline; alarm not raised: %s", device_id, e)
        return gone

    def sweep_welfare(self, now: datetime) -> list[str]:
        """Homes with no sign of life for the quiet hours raise a welfare alarm; due rungs climb."""
        quiet = now - timedelta(hours=self.ladder.quiet_hours)
        with self.store.db.read() as s:
            # per home: its welfare sensors' last sign of life (or, never active, when first seen)
            last_life = func.max(func.coalesce(Device.last_activity_at, Device.last_seen_at))
            homes = s.execute(
                select(Device.place_id, last_life, func.min(Device.id))
                .join(Place, Place.id == Device.place_id)
                .where(Place.living_alone.is_(True), Device.type.in_(WELFARE_SENSORS), Device.maintenance.is_(False))
                .group_by(Device.place_id)).all()
            live = set(s.scalars(select(Alarm.place_id).where(
                Alarm.state.in_([x.value for x in LIVE_STATES]), Alarm.type.in_(WELFARE_SENSORS.values()))))
            types = dict(s.execute(select(Device.id, Device.type).where(Device.type.in_(WELFARE_SENSORS))).all())
        touched = []
        for place_id, life, device_id in homes:
            if life is None or life > quiet or place_id in live:
                continue
            try:
                view, created = self.alarms.raise_alarm(device_id=device_id, type=WELFARE_SENSORS[types[device_id]],
                                                        at=now, actor=ACTOR, from_device=False)
            except (AlarmError, AlarmSuppressed) as e:
                log.info("welfare alarm for %s not raised: %s", place_id, e)
                continue
            if created:
                self._climb(view.id, 0, now, quiet_since=life)
                touched.append(view.id)
        with self.store.db.read() as s:
            due = s.execute(select(Alarm.id, Alarm.rung).where(
                Alarm.state.in_([x.value for x in LIVE_STATES]), Alarm.rung.is_not(None),
                Alarm.rung_due_at <= now)).all()
        for alarm_id, rung in due:
            if rung is not None and self._climb(alarm_id, rung, now):
                touched.append(alarm_id)
        return touched

    def record_outcome(self, alarm_id: str, outcome: str, *, actor: str, note: str | None = None,
                       at: datetime | None = None) -> dict:
        """What the current rung found: the resident is fine (cleared as a false alarm) or was not
        reached (the ladder climbs now)."""
        now = at or utcnow()
        if outcome not in Outcome.ALL:
            raise AlarmError(f"outcome must be one of {', '.join(Outcome.ALL)}")
        with self.store.db.read() as s:
            alarm = s.get(Alarm, alarm_id)
        if alarm is None:
            raise AlarmNotFound(f"no alarm {alarm_id}")
        rung = alarm.rung
        if rung is None or AlarmState(alarm.state) not in LIVE_STATES:
            raise AlarmError(f"alarm {alarm_id} is not a live welfare alarm")
        with self.store.unit(actor, correlation_id=f"alarm:{alarm_id}") as u:
            u.emit(EventType.ALARM_WELFARE_OUTCOME, "alarm", alarm_id,
                   {"rung": RUNGS[rung].value, "outcome": outcome, "note": (note or "")[:500]}, at=now)
        if outcome == Outcome.RESIDENT_OK:
            self.alarms.clear(alarm_id, actor=actor, false_alarm=True, at=now)
        elif rung < max(RUNGS):
            self._climb(alarm_id, rung, now)
        with self.store.db.read() as s:
            row = s.get(Alarm, alarm_id)
            assert row is not None
            return {"id": alarm_id, "state": row.state, "rung": RUNGS[row.rung].value if row.rung else None}

    def _climb(self, alarm_id: str, rung: int, now: datetime, quiet_since: datetime | None = None) -> bool:
        """From `rung` to the next, if the alarm is still there (compare-and-set on the rung)."""
        nxt = rung + 1
        if nxt not in RUNGS:  # the top rung: nothing above it
            return False
        timer = self.ladder.timer(nxt)
        values: dict = {"rung": nxt, "rung_due_at": now + timer if timer else None}
        if RUNGS[nxt] is Rung.EMERGENCY:  # critical and waiting for a fresh acknowledgement: the wall takes over
            values.update(severity=Severity.CRITICAL.value, state=AlarmState.ACTIVE.value, escalated_at=now)
        with self.store.unit(ACTOR, correlation_id=f"alarm:{alarm_id}") as u:
            matched = u.session.execute(
                update(Alarm).where(Alarm.id == alarm_id, Alarm.state.in_([x.value for x in LIVE_STATES]),
                                    (Alarm.rung.is_(None) if rung == 0 else Alarm.rung == rung))
                .values(**values).execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
            if not matched:
                return False
            payload = {"rung": RUNGS[nxt].value, "step": nxt,
                       "due_at": values["rung_due_at"].isoformat() if values["rung_due_at"] else None}
            if quiet_since is not None:
                payload["quiet_since"] = quiet_since.isoformat()
            u.emit(EventType.ALARM_WELFARE_RUNG, "alarm", alarm_id, payload, at=now)
        if RUNGS[nxt] is Rung.VISIT:
            self._open_visit(alarm_id, now)
        return True

    def _open_visit(self, alarm_id: str, now: datetime) -> None:
        with self.store.db.read() as s:
            alarm = s.get(Alarm, alarm_id)
        if alarm is None:
            return
        try:
            case = self.cases.open_case(channel=Channel.IOT.value, category=WELFARE_CATEGORY, lon=alarm.lon,
                                        lat=alarm.lat, priority=Priority.URGENT.value, device_id=alarm.device_id,
                                        actor=ACTOR, text={"key": "case.text.welfare_visit", "params": {
                                            "type": f"@alarm.{alarm.type}", "device": alarm.device_id}},
                                        correlation_id=f"alarm:{alarm_id}")  # the alarm's chain
        except IntakeError as e:
            log.error("welfare visit for alarm %s: no case opened: %s", alarm_id, e)
            return
        with self.store.unit(ACTOR, correlation_id=f"alarm:{alarm_id}") as u:
            row = u.session.get(Alarm, alarm_id)
            if row is not None:
                row.case_id = case.id
                u.session.flush()
                u.emit(EventType.ALARM_ESCALATED, "alarm", alarm_id,
                       {"case_id": case.id, "rung": Rung.VISIT.value}, at=now)

    def run_once(self, now: datetime | None = None) -> dict:
        """One round: silent devices offline, quiet homes alarmed, due rungs climbed."""
        now = now or utcnow()
        return {"offline": self.sweep_offline(now), "welfare": self.sweep_welfare(now)}
