"""Storage: engine and sessions (SQLite WAL by default, PostgreSQL in production), models, schema."""

from brain.storage.db import Database, UTCDateTime, utcnow

__all__ = ["Database", "UTCDateTime", "utcnow"]
