"""Teams, staff and the position track."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(32), index=True)
    department_name: Mapped[str] = mapped_column(String(100))
    duties: Mapped[list] = mapped_column(JSON)  # category codes or class prefixes this team may take
    mode: Mapped[str] = mapped_column(String(16), default="walk")


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    phone: Mapped[str | None] = mapped_column(String(32))  # personal data
    mode: Mapped[str] = mapped_column(String(16), default="walk")
    status: Mapped[str] = mapped_column(String(16), index=True)
    report_interval_s: Mapped[int] = mapped_column(Integer, default=30)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)


class StaffTrack(Base):
    """Position fixes as received: telemetry, kept apart from the event log."""

    __tablename__ = "staff_track"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                     autoincrement=True)
    staff_id: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_staff_track_staff_at", "staff_id", "at"),)
