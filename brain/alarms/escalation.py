"""Escalation: a critical alarm nobody acknowledged within the configured time becomes an urgent case
from the IoT channel, which the dispatch service auto-dispatches to the nearest suitable person.

Safe with several workers: an alarm is claimed with a compare-and-set on `escalated_at` before the
case is opened, so it escalates once. The wall's takeover banner shows it throughout (it is still
unacknowledged); acknowledging the alarm does not cancel the case, which now has its own life.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from brain.alarms.enums import ALARM_CATEGORY, AlarmState, Severity
from brain.alarms.models import Alarm
from brain.cases.enums import Channel, Priority
from brain.cases.service import CaseService, IntakeError
from brain.district.models import Device
from brain.events.kinds import EventType
from brain.events.log import Store
from brain.periodic import Periodic
from brain.storage.db import utcnow

log = logging.getLogger(__name__)
ACTOR = "system:escalation"
FALLBACK_CATEGORY = "E0606"  # a critical alarm of a kind without its own category: an emergency


class Escalator(Periodic):
    thread_name = "escalation"

    def __init__(self, store: Store, cases: CaseService, *, after: timedelta, interval_s: float = 10.0) -> None:
        self.store = store
        self.cases = cases
        self.after = after
        self.interval_s = interval_s

    def due(self, now: datetime) -> list[str]:
        with self.store.db.read() as s:
            return list(s.scalars(select(Alarm.id).where(
                Alarm.state == AlarmState.ACTIVE.value, Alarm.severity == Severity.CRITICAL.value,
                Alarm.escalated_at.is_(None), Alarm.first_at <= now - self.after).order_by(Alarm.first_at)))

    def run_once(self, now: datetime | None = None) -> list[int]:
        """Escalate every overdue critical alarm; returns the ids of the cases opened."""
        now = now or utcnow()
        opened = []
        for alarm_id in self.due(now):
            case_id = self.escalate(alarm_id, now)
            if case_id is not None:
                opened.append(case_id)
        return opened

    def escalate(self, alarm_id: str, now: datetime) -> int | None:
        with self.store.db.transaction() as s:  # claim it: only one worker wins
            claimed = s.execute(update(Alarm).where(Alarm.id == alarm_id, Alarm.escalated_at.is_(None),
                                                    Alarm.state == AlarmState.ACTIVE.value)
                                .values(escalated_at=now).execution_options(synchronize_session=False)
                                ).rowcount  # type: ignore[attr-defined]
            alarm = s.get(Alarm, alarm_id)
            device = s.get(Device, alarm.device_id) if alarm else None
        if not claimed or alarm is None:
            return None
        category = ALARM_CATEGORY.get((device.type if device else "", alarm.type), FALLBACK_CATEGORY)
        minutes = int((now - alarm.first_at).total_seconds() // 60)
        try:
            case = self.cases.open_case(channel=Channel.IOT.value, category=category, lon=alarm.lon, lat=alarm.lat,
                                        priority=Priority.URGENT.value, device_id=alarm.device_id, actor=ACTOR,
                                        correlation_id=f"alarm:{alarm_id}",
                                        text={"key": "case.text.escalated", "params": {
                                            "type": f"@alarm.{alarm.type}", "device": alarm.device_id,
                                            "minutes": minutes}})
        except IntakeError as e:
            log.error("escalation of alarm %s could not open a case: %s", alarm_id, e)
            return None
        with self.store.unit(ACTOR, correlation_id=f"alarm:{alarm_id}") as u:
            row = u.session.get(Alarm, alarm_id)
            if row is not None:
                row.case_id = case.id
                u.session.flush()
                u.emit(EventType.ALARM_ESCALATED, "alarm", alarm_id, {"case_id": case.id, "after_min": minutes}, at=now)
        log.warning("alarm %s unacknowledged for %d min: case #%s opened", alarm_id, minutes, case.id)
        return case.id
