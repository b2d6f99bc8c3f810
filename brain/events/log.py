"""The unit of work: change state, append the events and audit rows, commit, then publish."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from brain.events.bus import Bus
from brain.events.kinds import EventType
from brain.events.models import AuditRecord, EventRecord
from brain.events.types import Event
from brain.storage.db import Database, insert_rows, utcnow


@dataclass
class Unit:
    """A transaction in progress: `emit()` appends an event and its audit row to the same transaction."""

    session: Session
    actor: str
    source: str | None = None
    correlation_id: str | None = None
    events: list[Event] = field(default_factory=list)
    later: list[tuple[dict, dict]] = field(default_factory=list)  # rows of emit(later=True), written at the end

    def emit(self, type: str, subject_type: str, subject_id: str | int, payload: dict | None = None, *,
             audit: str | None = None, at=None, later: bool = False, correlation_id: str | None = None) -> Event:
        """Append event `type` about (subject_type, subject_id) and its audit row; published after commit.

        `later`: the two rows are written with the unit's other `later` rows in one bulk insert when the
        unit ends (a batch of thousands of alarms), rather than flushed as objects; a query inside the
        unit does not see them. `correlation_id`: the chain of this event where it is not the unit's (each
        alarm of a batch starts a chain of its own)."""
        type = EventType(type).value  # an unknown kind is refused (ValueError): the log's vocabulary is EventType
        kwargs = {"at": at} if at is not None else {}
        ev = Event(type=type, subject_type=subject_type, subject_id=str(subject_id), actor=self.actor,
                   payload=payload or {}, correlation_id=correlation_id or self.correlation_id, **kwargs)
        event_row = {"id": ev.id, "type": ev.type, "at": ev.at, "actor": ev.actor, "subject_type": ev.subject_type,
                     "subject_id": ev.subject_id, "correlation_id": ev.correlation_id, "payload": ev.payload}
        audit_row = {"at": ev.at, "actor": ev.actor, "action": audit or ev.type,
                     "subject": f"{subject_type}:{subject_id}", "source": self.source, "event_id": ev.id,
                     "detail": ev.payload}
        if later:
            self.later.append((event_row, audit_row))
        else:
            self.session.add(EventRecord(**event_row))
            self.session.add(AuditRecord(**audit_row))
        self.events.append(ev)
        return ev

    def write_later(self) -> None:
        """Write the rows `emit(later=True)` kept, in event order, two statements in all."""
        if self.later:
            insert_rows(self.session, cast(Table, EventRecord.__table__), [e for e, _a in self.later])
            insert_rows(self.session, cast(Table, AuditRecord.__table__), [a for _e, a in self.later])
            self.later.clear()

    def signal(self, type: str, subject_type: str, subject_id: str | int, payload: dict | None = None, *,
               at=None) -> Event:
        """Queue a bus-only notification (telemetry such as a position fix): published, not logged.
        `at`: when (now if None; a batch passes its one clock reading)."""
        type = EventType(type).value
        ev = Event(type=type, subject_type=subject_type, subject_id=str(subject_id), actor=self.actor,
                   payload=payload or {}, correlation_id=self.correlation_id, at=at or utcnow())
        self.events.append(ev)
        return ev


class Store:
    """Database plus bus: the pair every service needs to change state and tell the world."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus
        self.projectors: list[Callable[[Session, list[Event]], None]] = []

    def add_projector(self, projector: Callable[[Session, list[Event]], None]) -> None:
        """Run `projector(session, events)` inside every unit, after its events, before it commits:
        a read model kept this way (the KPI facts) is never behind the log."""
        self.projectors.append(projector)

    def audit(self, *, actor: str, action: str, subject: str, source: str | None = None,
              detail: dict | None = None) -> None:
        """Write one audit row on its own (a login, a refused login, an unmasking, an export)."""
        with self.db.transaction() as session:
            session.add(AuditRecord(at=utcnow(), actor=actor, action=action, subject=subject, source=source,
                                    detail=detail or {}))

    @contextmanager
    def unit(self, actor: str, *, source: str | None = None, correlation_id: str | None = None) -> Iterator[Unit]:
        """One transaction; its events are published only after it commits (never on rollback)."""
        with self.db.transaction() as session:
            unit = Unit(session=session, actor=actor, source=source, correlation_id=correlation_id)
            yield unit
            unit.write_later()
            if unit.events:
                for projector in self.projectors:
                    projector(session, unit.events)
        self.bus.publish_many(unit.events)
