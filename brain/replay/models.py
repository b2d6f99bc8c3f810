"""Keyframes: the replayed state at fixed instants, so a seek applies only the events after the nearest one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class Keyframe(Base):
    """The state at `at` with every logged event of time `at` or before applied (`events` of them since the
    keyframe before), as zlib-compressed JSON (State.to_json). Derived data: deleted and built again whenever
    an event arrives for a time it covers."""

    __tablename__ = "replay_keyframes"
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)
