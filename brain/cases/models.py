"""The case table: one row per case, a timestamp column per stage so durations are arithmetic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # what the product wrote about the case (an escalated alarm, a welfare visit), as a catalogue entry:
    # {"key": ..., "params": {...}}, said in each reader's language; a param "@key" is itself an entry
    text: Mapped[dict | None] = mapped_column(JSON)
    # the chain the case belongs to: alarm:<id> for an escalated alarm's case; empty for a case of its own, whose
    # chain is case:<id>. Every event of the case and of what it sets going (dispatch, the task's steps,
    # arrival) carries it, for the replay
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    pole_number: Mapped[str | None] = mapped_column(String(32), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(20), index=True)
    committee_code: Mapped[str | None] = mapped_column(String(12), index=True)
    department: Mapped[str | None] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(40))
    reporter_name: Mapped[str | None] = mapped_column(String(100))  # personal data
    reporter_phone: Mapped[str | None] = mapped_column(String(32))  # personal data
    assigned_team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    assigned_staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    deferred_from: Mapped[str | None] = mapped_column(String(16))
    deferred_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)  # the answer to the resident, given at closing
    photo_ref: Mapped[str | None] = mapped_column(String(200))  # reference to the handler's photo
    version: Mapped[int] = mapped_column(Integer, default=1)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)
    # the newest first, in a window (Open311's GET requests, the KPI's cohorts): walked in order, stopped early
    __table_args__ = (Index("ix_cases_status_reported", "status", "reported_at"),
                      Index("ix_cases_reported_at", "reported_at"))
