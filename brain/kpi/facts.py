"""One row of facts per case, derived by replaying the case's events: the table the KPIs read.

`derive()` is the single definition of what a case's history means for the indicators (first
dispatch, active time per stage with deferrals left out, the deadlines, rework). The projector runs it
inside the transaction that appends the events, so `case_facts` is never behind the log; `rebuild()`
replays the whole log, for a database that predates the table or after a change of definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Float, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from brain.cases.enums import CaseStatus as S
from brain.cases.workflow import STAGE_OF, TimeLimitPolicy
from brain.events.models import EventRecord
from brain.events.types import Event
from brain.storage.db import Base, EpochSeconds

STAGES = ("register", "dispatch", "arrive", "handle", "verify", "close")


class CaseFacts(Base):
    """Times are UTC instants stored as epoch seconds, so the KPI scan reads numbers, not text."""

    __tablename__ = "case_facts"
    case_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(EpochSeconds)
    channel: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    committee: Mapped[str | None] = mapped_column(String(12))
    grid: Mapped[str | None] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(32))
    team: Mapped[str | None] = mapped_column(String(40))
    staff: Mapped[str | None] = mapped_column(String(40))
    pole: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime | None] = mapped_column(EpochSeconds)
    dispatched_at: Mapped[datetime | None] = mapped_column(EpochSeconds)  # the first dispatch
    arrived_at: Mapped[datetime | None] = mapped_column(EpochSeconds)  # the first arrival
    handled_at: Mapped[datetime | None] = mapped_column(EpochSeconds)  # the last 'handled' (after rework)
    closed_at: Mapped[datetime | None] = mapped_column(EpochSeconds)
    ever_deferred: Mapped[bool] = mapped_column(Boolean, default=False)
    deferred_s: Mapped[float] = mapped_column(Float, default=0.0)
    rework: Mapped[int] = mapped_column(Integer, default=0)
    # active seconds spent in each stage (None: the stage was never completed)
    t_register: Mapped[float | None] = mapped_column(Float)
    t_dispatch: Mapped[float | None] = mapped_column(Float)
    t_arrive: Mapped[float | None] = mapped_column(Float)
    t_handle: Mapped[float | None] = mapped_column(Float)
    t_verify: Mapped[float | None] = mapped_column(Float)
    t_close: Mapped[float | None] = mapped_column(Float)
    dispatch_on_time: Mapped[bool | None] = mapped_column(Boolean)
    handle_due_at: Mapped[datetime | None] = mapped_column(EpochSeconds)
    handle_on_time: Mapped[bool | None] = mapped_column(Boolean)
    close_due_at: Mapped[datetime] = mapped_column(EpochSeconds)
    close_on_time: Mapped[bool | None] = mapped_column(Boolean)
    stage_due_at: Mapped[datetime | None] = mapped_column(EpochSeconds)  # the current stage's deadline
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    response_m: Mapped[float | None] = mapped_column(Float)  # distance of the first assignee to the case
    t_read: Mapped[float | None] = mapped_column(Float)  # seconds from the first task sent to its person opening it

    __table_args__ = (Index("ix_case_facts_reported", "reported_at"),)


@dataclass(frozen=True)
class Step:
    """What `derive` needs of one event."""

    type: str
    at: datetime
    payload: dict


def derive(case_id: int, steps: Sequence[Step], policy: TimeLimitPolicy) -> dict | None:
    """The facts of one case from its events, oldest first (None if the case was never opened)."""
    if not steps or steps[0].type != "case.opened":
        return None
    opened = steps[0]
    p = opened.payload
    limits = policy.limits(p["category"], p["priority"]).minutes
    f: dict = {
        "case_id": case_id, "reported_at": opened.at, "channel": p["channel"], "category": p["category"],
        "priority": p["priority"], "committee": p.get("committee"), "grid": p.get("grid"), "department": None,
        "team": None, "staff": None, "pole": p.get("pole"), "status": S.REPORTED.value, "registered_at": None,
        "dispatched_at": None, "arrived_at": None, "handled_at": None, "closed_at": None, "ever_deferred": False,
        "deferred_s": 0.0, "rework": 0, "satisfaction": None, "response_m": None, "dispatch_on_time": None,
        "handle_on_time": None, "close_on_time": None, "stage_due_at": None, "handle_due_at": None, "t_read": None,
    }
    first_task: tuple[int | None, datetime] | None = None  # the first task sent to a phone: its id, when
    f["department"] = p.get("department")  # absent from events written before it was logged
    spent = dict.fromkeys(STAGES, 0.0)
    done: set[str] = set()
    state, since = S.REPORTED, opened.at
    active_since_dispatch = 0.0  # active seconds from the first dispatch on (the handling clock)
    deferred_since_dispatch = 0.0
    for st in steps[1:]:
        if st.type == "case.assigned":
            f["team"], f["staff"] = st.payload.get("team_id"), st.payload.get("staff_id")
            if f["response_m"] is None and st.payload.get("distance_m") is not None:
                f["response_m"] = float(st.payload["distance_m"])
            continue
        if st.type == "case.feedback":
            f["satisfaction"] = st.payload.get("satisfaction")
            continue
        if st.type == "task.assigned" and first_task is None:
            first_task = (st.payload.get("task_id"), st.at)
            continue
        if st.type == "task.read" and first_task and st.payload.get("task_id") == first_task[0] and \
                f["t_read"] is None:
            f["t_read"] = (st.at - first_task[1]).total_seconds()
            continue
        target = st.type.removeprefix("case.")
        if target not in S.__members__.values():
            continue
        new = S(target)
        elapsed = (st.at - since).total_seconds()
        if state is S.DEFERRED:
            f["deferred_s"] += elapsed
            if f["dispatched_at"] is not None:
                deferred_since_dispatch += elapsed
        else:
            stage = STAGE_OF.get(state)
            if stage:
                spent[stage] += elapsed
                if new is not S.DEFERRED and new not in (S.CANCELLED, S.MERGED):
                    done.add(stage)
            if f["dispatched_at"] is not None:
                active_since_dispatch += elapsed
        if new is S.REGISTERED and f["registered_at"] is None:
            f["registered_at"] = st.at
        elif new is S.DISPATCHED:
            if f["dispatched_at"] is None:
                f["dispatched_at"] = st.at
                f["dispatch_on_time"] = spent["dispatch"] <= limits["dispatch"] * 60
            if state is S.HANDLED:
                f["rework"] += 1
        elif new is S.HANDLING and f["arrived_at"] is None:
            f["arrived_at"] = st.at
        elif new is S.HANDLED:
            f["handled_at"] = st.at
        elif new is S.CLOSED:
            f["closed_at"] = st.at
        elif new is S.DEFERRED:
            f["ever_deferred"] = True
        state, since = new, st.at
    f["status"] = state.value
    for stage in STAGES:
        f[f"t_{stage}"] = spent[stage] if stage in done else None
    handle_limit_s = (limits["arrive"] + limits["handle"]) * 60
    if f["dispatched_at"] is not None:
        f["handle_due_at"] = f["dispatched_at"] + timedelta(seconds=handle_limit_s + deferred_since_dispatch)
        if f["handled_at"] is not None:
            until_handled = (spent["arrive"] + spent["handle"])
            f["handle_on_time"] = until_handled <= handle_limit_s
    f["close_due_at"] = opened.at + timedelta(minutes=sum(limits[s] for s in STAGES))
    if f["closed_at"] is not None:
        f["close_on_time"] = f["closed_at"] <= f["close_due_at"]
    stage = STAGE_OF.get(state)
    if stage:
        f["stage_due_at"] = since + timedelta(minutes=limits[stage])
    return f


def _steps(rows: Iterable) -> list[Step]:
    return [Step(type=r.type, at=r.at, payload=r.payload or {}) for r in rows]


class FactsProjector:
    """Keeps `case_facts` in step with the log, inside the transaction that appends the events."""

    def __init__(self, policy: TimeLimitPolicy) -> None:
        self.policy = policy

    def __call__(self, session: Session, events: Sequence[Event]) -> None:
        ids = sorted({int(e.subject_id) for e in events if e.subject_type == "case"
                      and e.type.startswith(("case.", "task."))})
        for case_id in ids:
            self.refresh(session, case_id)

    def refresh(self, session: Session, case_id: int) -> None:
        session.flush()
        rows = session.scalars(select(EventRecord).where(
            EventRecord.subject_type == "case", EventRecord.subject_id == str(case_id)).order_by(EventRecord.seq))
        facts = derive(case_id, _steps(rows), self.policy)
        if facts is not None:
            session.merge(CaseFacts(**facts))

    def rebuild(self, session: Session, batch: int = 20_000) -> int:
        """Replay the whole log into `case_facts`; returns the number of cases."""
        session.execute(delete(CaseFacts))
        count, current = 0, None
        steps: list[Step] = []
        q = (select(EventRecord.subject_id, EventRecord.type, EventRecord.at, EventRecord.payload)
             .where(EventRecord.subject_type == "case")
             .order_by(EventRecord.subject_id, EventRecord.seq).execution_options(yield_per=batch))
        for row in session.execute(q):
            if row.subject_id != current:
                count += self._add(session, current, steps)
                current, steps = row.subject_id, []
            steps.append(Step(type=row.type, at=row.at, payload=row.payload or {}))
        count += self._add(session, current, steps)
        return count

    def _add(self, session: Session, case_id: str | None, steps: list[Step]) -> int:
        if case_id is None:
            return 0
        facts = derive(int(case_id), steps, self.policy)
        if facts is None:
            return 0
        session.add(CaseFacts(**facts))
        return 1
