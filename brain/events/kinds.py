"""Every kind of event, in one enum: what the log holds (`Unit.emit`) and what only the bus carries
(`Unit.signal`). A kind not named here is refused when emitted, so the log's vocabulary is this list and a
reader (the replay, the KPI facts, the screens) can rely on it."""

from __future__ import annotations

from enum import StrEnum

from brain.cases.enums import CaseStatus
from brain.field.enums import TaskState


class EventType(StrEnum):
    # a case's life: opened, each move of the workflow (case.<state>), and what happens beside the moves
    CASE_OPENED = "case.opened"
    CASE_REGISTERED = "case.registered"
    CASE_DISPATCHED = "case.dispatched"
    CASE_HANDLING = "case.handling"
    CASE_HANDLED = "case.handled"
    CASE_VERIFIED = "case.verified"
    CASE_CLOSED = "case.closed"
    CASE_DEFERRED = "case.deferred"
    CASE_CANCELLED = "case.cancelled"
    CASE_MERGED = "case.merged"
    CASE_ASSIGNED = "case.assigned"
    CASE_AUTO_DISPATCH_FAILED = "case.auto_dispatch_failed"
    CASE_FEEDBACK = "case.feedback"
    CASE_FOLLOWED = "case.followed"
    # a field task's steps (task.<step>), about its case; the phone's signal
    TASK_ASSIGNED = "task.assigned"
    TASK_DELIVERED = "task.delivered"
    TASK_READ = "task.read"
    TASK_ACCEPTED = "task.accepted"
    TASK_DECLINED = "task.declined"
    TASK_ARRIVED = "task.arrived"
    TASK_HANDLED = "task.handled"
    TASK_VERIFIED = "task.verified"
    TASK_WITHDRAWN = "task.withdrawn"
    FIELD_TASK = "field.task"  # bus only: the person's phone is told
    PHOTO_STORED = "photo.stored"
    # residents
    RESIDENT_REPORTED = "resident.reported"
    RESIDENT_SPAM = "resident.spam"
    RESIDENT_ANSWERED = "resident.answered"
    # alarms and devices
    ALARM_RAISED = "alarm.raised"
    ALARM_REPEATED = "alarm.repeated"  # bus only: a repeat counted on the live alarm
    ALARM_ACKNOWLEDGED = "alarm.acknowledged"
    ALARM_CLEARED = "alarm.cleared"
    ALARM_SUPPRESSED = "alarm.suppressed"
    ALARM_ESCALATED = "alarm.escalated"
    ALARM_WELFARE_RUNG = "alarm.welfare_rung"
    ALARM_WELFARE_OUTCOME = "alarm.welfare_outcome"
    DEVICE_ONLINE = "device.online"
    DEVICE_OFFLINE = "device.offline"
    DEVICE_MAINTENANCE = "device.maintenance"
    # staff
    STAFF_MOVED = "staff.moved"  # bus only: a position fix
    STAFF_STATUS_CHANGED = "staff.status_changed"
    # accounts and tokens
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_PASSWORD_SET = "account.password_set"
    ACCOUNT_CHANNEL = "account.channel"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"

    @classmethod
    def case_move(cls, to: CaseStatus | str) -> EventType:
        """The event of a case's move into state `to`."""
        return cls(f"case.{CaseStatus(to).value}")

    @classmethod
    def task_step(cls, step: str) -> EventType:
        """The event of a field task's step (a state it enters, or delivered / read)."""
        return cls(f"task.{step}")


# what only the bus carries: never in the log, so never in a replay
BUS_ONLY = frozenset({EventType.FIELD_TASK.value, EventType.ALARM_REPEATED.value, EventType.STAFF_MOVED.value})

# every move of the workflow has its kind, and so has every state a task enters
_KINDS = {k.value for k in EventType}
assert all(f"case.{s.value}" in _KINDS for s in CaseStatus if s is not CaseStatus.REPORTED)
assert all(f"task.{s.value}" in _KINDS for s in TaskState)
