"""States of a field task (one case given to one person) and their transition table."""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    ASSIGNED = "assigned"  # sent to the person's phone
    ACCEPTED = "accepted"  # the person takes it on (on the way)
    DECLINED = "declined"  # given back with a reason: the case returns to the dispatcher's queue
    ARRIVED = "arrived"  # at the place (within the radius, or with a reason): handling
    HANDLED = "handled"  # done, with a note and photos: waiting for verification
    VERIFIED = "verified"  # a supervisor found it done
    WITHDRAWN = "withdrawn"  # no longer this person's: re-assigned, recalled, deferred, cancelled or merged


TERMINAL = frozenset({TaskState.DECLINED, TaskState.VERIFIED, TaskState.WITHDRAWN})
LIVE = tuple(s.value for s in TaskState if s not in TERMINAL)

TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.ASSIGNED: frozenset({TaskState.ACCEPTED, TaskState.DECLINED, TaskState.ARRIVED, TaskState.WITHDRAWN}),
    TaskState.ACCEPTED: frozenset({TaskState.ARRIVED, TaskState.WITHDRAWN}),
    TaskState.ARRIVED: frozenset({TaskState.HANDLED, TaskState.WITHDRAWN}),
    TaskState.HANDLED: frozenset({TaskState.VERIFIED, TaskState.ACCEPTED, TaskState.WITHDRAWN}),  # rework: again
    TaskState.DECLINED: frozenset(),
    TaskState.VERIFIED: frozenset(),
    TaskState.WITHDRAWN: frozenset(),
}


class PhotoKind(StrEnum):
    BEFORE = "before"  # the problem as found
    AFTER = "after"  # the work done
    VERIFY = "verify"  # the supervisor's, at verification
    RESIDENT = "resident"  # sent with a resident's report
