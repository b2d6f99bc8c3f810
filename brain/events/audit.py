"""Reading the audit log (append-only; nothing here changes it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from brain.events.models import AuditRecord
from brain.storage.db import Database

MAX_PAGE = 1000


def query(db: Database, *, actor: str | None = None, action: str | None = None, subject: str | None = None,
          since: datetime | None = None, until: datetime | None = None, limit: int = 200,
          before_seq: int | None = None) -> list[dict]:
    """Audit rows, newest first, filtered; `action` may end with ``*`` for a prefix (``auth.*``)."""
    q = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if actor:
        q = q.where(AuditRecord.actor == actor)
    if action:
        q = q.where(AuditRecord.action.startswith(action[:-1]) if action.endswith("*")
                    else AuditRecord.action == action)
    if subject:
        q = q.where(AuditRecord.subject == subject)
    if since:
        q = q.where(AuditRecord.at >= since)
    if until:
        q = q.where(AuditRecord.at < until)
    if before_seq:
        q = q.where(AuditRecord.seq < before_seq)
    with db.read() as s:
        return [{"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "action": r.action, "subject": r.subject,
                 "source": r.source, "event_id": r.event_id, "detail": r.detail} for r in s.scalars(q)]
