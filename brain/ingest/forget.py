"""Forgetting the ids of messages handled long ago, so `ingest_messages` does not grow without end.

A message id is remembered so that the same message again changes nothing. It only has to be
remembered as long as the message could still be taken in: a message is refused as stale once its
timestamp is more than MAX_AGE old, and its timestamp is never later than its handling (beyond
MAX_FUTURE of clock drift). So an id handled more than MAX_AGE + MAX_FUTURE ago can come back only as
a stale message, refused; it is kept a day longer than that. Rows are deleted in chunks, so a round
never holds a long lock on the table that every ingest batch writes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, delete, select

from brain.ingest.models import MESSAGES
from brain.ingest.pipeline import MAX_AGE, MAX_FUTURE
from brain.periodic import Periodic
from brain.storage.db import Database, utcnow

log = logging.getLogger(__name__)

KEEP = MAX_AGE + MAX_FUTURE + timedelta(days=1)
CHUNK = 5_000


class HandledMemory(Periodic):
    """Every `interval_s` (an hour), forget the message ids handled more than KEEP ago."""

    thread_name = "ingest-forget"

    def __init__(self, db: Database, *, keep: timedelta = KEEP, interval_s: float = 3600.0) -> None:
        if keep <= MAX_AGE + MAX_FUTURE:
            raise ValueError(f"message ids must be kept longer than {MAX_AGE + MAX_FUTURE} (older ones are refused "
                             "as stale only after that)")
        self.db = db
        self.keep = keep
        self.interval_s = interval_s

    def run_once(self, now: datetime | None = None) -> int:
        """Forget what was handled before `now` - keep; returns how many ids were forgotten."""
        before = (now or utcnow()) - self.keep
        table = MESSAGES
        oldest = select(table.c.id).where(table.c.at < before).limit(CHUNK).scalar_subquery()
        forgotten = 0
        while True:
            with self.db.transaction() as s:
                n = cast(CursorResult, s.execute(delete(table).where(table.c.id.in_(oldest)))).rowcount or 0
            forgotten += n
            if n < CHUNK:
                break
        if forgotten:
            log.info("ingest: forgot %d message ids handled before %s", forgotten, before.isoformat())
        return forgotten
