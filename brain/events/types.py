"""The event: what changed, when (UTC), who did it, to what, and the correlation that ties a chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from brain.storage.db import new_id, utcnow


@dataclass(frozen=True)
class Event:
    """One fact: `type` like ``case.opened``; `subject` is (kind, id); payload is JSON-ready."""

    type: str
    subject_type: str
    subject_id: str
    actor: str
    payload: dict = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    id: str = field(default_factory=new_id)
    correlation_id: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready (the payload is shared, not copied: an event is never changed once made)."""
        return {"type": self.type, "subject_type": self.subject_type, "subject_id": self.subject_id,
                "actor": self.actor, "payload": self.payload, "at": self.at.isoformat(), "id": self.id,
                "correlation_id": self.correlation_id}

    @classmethod
    def from_dict(cls, d: dict) -> Event:
        return cls(**{**d, "at": datetime.fromisoformat(d["at"])})
