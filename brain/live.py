"""A consistent picture of what is live now: open cases, live alarms, staff, headline counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brain.alarms.enums import AlarmState, Severity
from brain.alarms.service import AlarmView
from brain.cases.service import CaseView
from brain.staff.enums import DutyStatus
from brain.staff.service import StaffView
from brain.storage.db import utcnow


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    cases: list[CaseView]
    alarms: list[AlarmView]
    staff: list[StaffView]

    @property
    def overdue(self) -> list[CaseView]:
        """Open cases whose current stage is past its time limit."""
        return [c for c in self.cases if c.stage_due_at is not None and c.stage_due_at < self.at]

    @property
    def unacknowledged(self) -> list[AlarmView]:
        return [a for a in self.alarms if a.state == AlarmState.ACTIVE]

    @property
    def on_duty(self) -> list[StaffView]:
        return [s for s in self.staff if s.status != DutyStatus.OFF_DUTY]

    @property
    def takeover(self) -> AlarmView | None:
        """The critical alarm nobody has acknowledged yet (the oldest first): it takes over the wall."""
        waiting = [a for a in self.alarms if a.state == AlarmState.ACTIVE and a.severity == Severity.CRITICAL]
        return min(waiting, key=lambda a: (a.first_at, a.id)) if waiting else None

    def headline(self) -> dict[str, int]:
        return {"open_cases": len(self.cases), "overdue": len(self.overdue),
                "unacknowledged_alarms": len(self.unacknowledged), "staff_on_duty": len(self.on_duty)}


def snapshot(brain) -> Snapshot:
    """Read the live state through the services (one read each)."""
    return Snapshot(at=utcnow(), cases=brain.cases.open_cases(), alarms=brain.alarms.live(),
                    staff=brain.staff.roster())
