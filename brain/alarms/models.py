"""The alarm table: one active row per (device, type); repeats bump its count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class Alarm(Base):
    __tablename__ = "alarms"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    place_id: Mapped[str | None] = mapped_column(String(20))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    false_alarm: Mapped[bool | None] = mapped_column(Boolean)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unacknowledged too long: a case made
    case_id: Mapped[int | None] = mapped_column(Integer)  # the case escalation opened
    # welfare alarms: the rung of the ladder reached (1 call, 2 visit, 3 emergency) and when the next is due
    rung: Mapped[int | None] = mapped_column(Integer)
    rung_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set while the alarm is live, NULL once cleared: a unique index makes "one live per (device, type)"
    live_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)
    __table_args__ = (Index("ix_alarms_state_last", "state", "last_at"),)
