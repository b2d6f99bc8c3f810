"""Every table of the schema, imported in one place so `create_all` sees them all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from brain.alarms.models import Alarm
from brain.auth.models import Account, ApiToken, WebSession
from brain.cases.models import Case
from brain.district.models import Committee, Device, GridCell, Place, Pole, Road
from brain.events.models import AuditRecord, EventRecord
from brain.field.models import FieldOp, Photo, Task
from brain.ingest.models import IngestMessage, IngestReject
from brain.kpi.facts import CaseFacts
from brain.replay.models import Keyframe
from brain.residents.models import ResidentReport
from brain.staff.models import Staff, StaffTrack, Team
from brain.storage.db import Base, UTCDateTime


class SchemaInfo(Base):
    __tablename__ = "schema_info"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    migrated_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = [
    "Account",
    "Alarm",
    "ApiToken",
    "AuditRecord",
    "Case",
    "CaseFacts",
    "Committee",
    "Device",
    "EventRecord",
    "FieldOp",
    "GridCell",
    "IngestMessage",
    "IngestReject",
    "Keyframe",
    "Photo",
    "Place",
    "Pole",
    "ResidentReport",
    "Road",
    "SchemaInfo",
    "Staff",
    "StaffTrack",
    "Task",
    "Team",
    "WebSession",
]
