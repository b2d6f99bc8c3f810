"""A resident's report: the case it opened or follows, its tracking code (kept as a hash), the reply's
phone number (personal data) and what the abuse limits count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class ResidentReport(Base):
    __tablename__ = "resident_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    follows: Mapped[bool] = mapped_column(Boolean, default=False)  # linked to a case someone reported first
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the tracking code
    channel: Mapped[str] = mapped_column(String(32))  # web (the public page) or the sender's, by Open311
    sender: Mapped[str | None] = mapped_column(String(100))  # the Open311 account that sent it
    topic: Mapped[str | None] = mapped_column(String(32))  # what the resident picked on the page
    phone: Mapped[str | None] = mapped_column(String(32))  # personal data: for the reply
    email: Mapped[str | None] = mapped_column(String(200))  # personal data (Open311 senders give it)
    phone_key: Mapped[str | None] = mapped_column(String(64), index=True)  # keyed hash, for the limits
    address_key: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the client address
    media_url: Mapped[str | None] = mapped_column(Text)  # an Open311 sender's link (never fetched)
    photo_bytes: Mapped[int] = mapped_column(Integer, default=0)
    lang: Mapped[str] = mapped_column(String(8), default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spam_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # marked by a call-taker: counted, kept
    spam_by: Mapped[str | None] = mapped_column(String(100))
    satisfaction: Mapped[str | None] = mapped_column(String(24))  # this reporter's answer at the return visit

    __table_args__ = (Index("ix_resident_reports_address_created", "address_key", "created_at"),)
