"""What ingest remembers: the ids of messages already handled (an alarm's message id, or a refused
message's place in the queue, so that it is recorded once), and every message it refused."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class IngestMessage(Base):
    """A message id seen once; inserted in the transaction of its effect, so a repeat changes nothing."""

    __tablename__ = "ingest_messages"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


MESSAGES = cast(Table, IngestMessage.__table__)  # the table, for Core statements over many ids


class IngestReject(Base):
    """A refused message: why, from where, and the start of what was received (a dead-letter record)."""

    __tablename__ = "ingest_rejects"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                     autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(120))  # "mqtt:<topic>" or "http:<route>"
    kind: Mapped[str] = mapped_column(String(16))  # alarm | position
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_ingest_rejects_at", "at"),)
