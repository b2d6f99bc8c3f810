"""Each person's workload (the cases they hold that are dispatched or being handled), kept in memory.

A recommendation shows every ranked person's workload; asking the database for it on every card cost more
than the ranking itself. The count is a projection of the log: loaded once from the cases, then moved by
`case.assigned` (the case is now this person's, dispatched) and by each move of the workflow (a case enters
or leaves the active stages; closed, cancelled and merged cases are forgotten). A case nobody holds is not
kept: it counts for nobody until it is assigned.
"""

from __future__ import annotations

import threading
from itertools import repeat

from sqlalchemy import select

from brain.cases.enums import CaseStatus
from brain.cases.models import Case

ACTIVE = frozenset({CaseStatus.DISPATCHED.value, CaseStatus.HANDLING.value})
ENDED = frozenset({CaseStatus.CLOSED.value, CaseStatus.CANCELLED.value, CaseStatus.MERGED.value})


class Workload:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, tuple[str, str]] = {}  # case id -> (person, state)
        self._count: dict[str, int] = {}

    def load(self, session) -> None:
        """Everything from the cases table (every held case that has not ended)."""
        rows = session.execute(select(Case.id, Case.assigned_staff_id, Case.status).where(
            Case.assigned_staff_id.is_not(None), Case.status.not_in(ENDED))).all()
        with self._lock:
            self._held, self._count = {}, {}
            for case_id, staff_id, status in rows:
                self._set(int(case_id), str(staff_id), str(status))

    def assigned(self, case_id: int, staff_id: str) -> None:
        """The case is now this person's; an assignment leaves it dispatched."""
        with self._lock:
            self._set(case_id, staff_id, CaseStatus.DISPATCHED.value)

    def moved(self, case_id: int, to: str) -> None:
        """The case moved to state `to` (a case nobody holds is not followed)."""
        with self._lock:
            held = self._held.get(case_id)
            if held is not None:
                self._set(case_id, held[0], to)

    def of(self, staff_ids: list[str]) -> dict[str, int]:
        """How many active cases each of these people holds (only those holding any)."""
        with self._lock:
            return {s: n for s in staff_ids if (n := self._count.get(s, 0))}

    def counts(self, staff_ids: list[str]) -> list[int]:
        """How many active cases each of these people holds, in order (read without the lock: each count is
        read whole)."""
        return list(map(self._count.get, staff_ids, repeat(0)))

    def _set(self, case_id: int, staff_id: str, state: str) -> None:
        before = self._held.pop(case_id, None)
        if before is not None and before[1] in ACTIVE:
            self._count[before[0]] -= 1
        if state in ENDED:
            return
        self._held[case_id] = (staff_id, state)
        if state in ACTIVE:
            self._count[staff_id] = self._count.get(staff_id, 0) + 1
