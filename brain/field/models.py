"""Field tasks, the photos that prove the work, and the actions a phone sent (each once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class Task(Base):
    """One case given to one person, with the time of every step the dispatcher's card shows."""

    __tablename__ = "field_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    state: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the phone received it
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the person opened it
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrive_distance_m: Mapped[float | None] = mapped_column(Float)  # from the case, as the phone reported
    arrive_reason: Mapped[str | None] = mapped_column(Text)  # why arrival was reported from farther away
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # declined, verified or withdrawn
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)
    __table_args__ = (Index("ix_field_tasks_staff_state", "staff_id", "state"),)


class Photo(Base):
    """A photo as stored: metadata stripped, named by the hash of what is stored, tied to its case event."""

    __tablename__ = "field_photos"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the stored bytes
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))  # none: a resident's
    report_id: Mapped[int | None] = mapped_column(ForeignKey("resident_reports.id"), index=True)  # a resident's
    kind: Mapped[str] = mapped_column(String(16))  # before | after | verify | resident
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    received_sha256: Mapped[str] = mapped_column(String(64))  # of the file as uploaded, before stripping
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)  # as the app reported it, not the file's
    lon: Mapped[float | None] = mapped_column(Float)  # the position the app reported, not the file's
    lat: Mapped[float | None] = mapped_column(Float)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(40))  # the case event that carries it (none: not yet used)


class FieldOp(Base):
    """An action a phone sent, by the id the phone gave it: a repeat (an offline queue sent again) changes
    nothing and gets the first answer."""

    __tablename__ = "field_ops"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[dict] = mapped_column(JSON)
