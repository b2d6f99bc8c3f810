"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict, field_validator

from brain.alarms.enums import Severity
from brain.cases.enums import CaseStatus, Channel

# Strict at the boundary: a JSON true is no number, 1.0 no version, "yes" no flag
Number = Annotated[float, Strict()]
Count = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]

class ErrorOut(BaseModel):
    error: str = Field(description="What is wrong, in words")
    suggestions: list[str] = Field(default_factory=list, description="Closest existing values, if any")
    field: str | None = Field(default=None, description="The input at fault, if one is")


class HealthOut(BaseModel):
    status: str = Field(description="ok, or degraded when the database or the bus does not answer or ingest is "
                                    "stalled (see reasons)")
    reasons: list[str] = Field(default_factory=list, description="Why it is degraded: database, bus, "
                               "mqtt_unacknowledged, mqtt_disconnected, queue_pending_stale, queue_no_consumer, "
                               "queue_worker_stalled, queue_unreachable, dead_letters")
    # the detail below only for a signed-in operator (it names hosts, topics and the lease)
    database: dict | None = None
    bus: dict | None = None
    leader: dict | None = Field(None, description="Whether this worker leads (runs the MQTT consumer and the "
                                                  "simulator) and, with REDIS_URL, which worker holds the lease")
    simulator: dict | None = None
    district: dict | None = None
    ingest: dict | None = Field(None, description="Messages accepted, duplicates and refusals by reason (this "
                                                  "process, and recorded refusals of the last 24 h); the MQTT "
                                                  "consumer's state")
    started_at: str | None = None


class PoleOut(BaseModel):
    number: str = Field(description="The short number printed on the pole")
    code: str = Field(description="16-digit component code")
    lon: float
    lat: float
    grid: str | None = Field(description="Unit grid cell code")
    committee: str | None = Field(description="Neighbourhood committee code")
    road: str | None = None
    kind: str | None = None


class NearestPoleOut(PoleOut):
    distance_m: float = Field(description="Distance from the query point, metres")
    inside: bool = Field(description="Whether the query point lies inside the district")
    point_grid: str | None = Field(default=None, description="Grid cell of the query point")
    point_committee: str | None = Field(default=None, description="Committee of the query point")


class StaffOut(BaseModel):
    id: str
    name: str
    team_id: str
    team_name: str
    department: str
    department_name: str
    status: str
    duties: list[str] = Field(description="Case category codes or class prefixes this person may take")
    mode: str
    lon: float | None
    lat: float | None
    position_at: str | None
    report_interval_s: int


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    kind: str = Field(description="person or service")
    permissions: list[str]


class PlaceOut(BaseModel):
    id: str
    kind: str
    name: str
    parent: str | None
    committee: str | None
    address: str | None
    occupant: str | None = Field(description="Personal data: masked unless unmasked")
    phone: str | None = Field(description="Personal data: masked unless unmasked")
    age: int | str | None = Field(description="Exact age unmasked, decade (e.g. 80+) masked")
    living_alone: bool
    lon: float
    lat: float
    masked: bool


class UnmaskIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="Why the personal data is needed (logged)")

    @field_validator("reason")
    @classmethod
    def _said(cls, v: str) -> str:
        v = v.strip()
        if len(v) < 2:
            raise ValueError("say why, in at least 2 characters")
        return v


class AuditOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    source: str | None
    event_id: str | None
    detail: dict


class CaseIn(BaseModel):
    channel: Channel = Field(description="The discovery channel")
    category: str = Field(pattern=r"^[CE]\d{4}$", description="Category code, e.g. C0107 (street lamp)")
    description: str = Field(default="", max_length=2000)
    pole: str | None = Field(default=None, max_length=64, description="Number read off a pole (一号定位)")
    lon: Number | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: Number | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    coord_system: str = Field(default="wgs84", pattern="^(wgs84|gcj02|bd09)$")
    priority: str | None = Field(default=None, pattern="^(urgent|high|normal|low)$")


class DuplicateOut(BaseModel):
    id: int
    status: str
    pole: str | None
    distance_m: float
    reported_at: str
    description: str


class CaseOut(BaseModel):
    id: int
    status: str
    channel: str
    category: str
    priority: str
    description: str
    lon: float
    lat: float
    pole: str | None
    grid: str | None
    committee: str | None
    department: str | None
    reported_at: str
    stage_started_at: str
    stage_due_at: str | None
    stage_fraction: float | None
    overdue: bool
    at_risk: bool
    version: int
    assigned_team_id: str | None
    assigned_staff_id: str | None
    rework_count: int
    parent_id: int | None
    text: dict | None = Field(default=None, description="What the product wrote about the case (an escalated alarm, "
                                                        "a welfare visit) as a catalogue entry: {key, params}")


class CasePageOut(BaseModel):
    total: int = Field(description="How many cases match in all")
    limit: int
    offset: int
    items: list[CaseOut] = Field(description="This page, newest first")


class CaseCreatedOut(CaseOut):
    duplicates: list[DuplicateOut] = Field(description="Open cases of the same category at this pole or within 50 m")


class TimelineEntry(BaseModel):
    type: str
    at: str
    actor: str
    payload: dict


class CaseDetailOut(CaseOut):
    timeline: list[TimelineEntry]


class CandidateOut(BaseModel):
    staff_id: str
    team_id: str
    distance_m: float
    straight_m: float
    eta_s: float
    mode: str
    workload: int


class ExcludedOut(BaseModel):
    staff_id: str
    team_id: str
    reason: str
    straight_m: float


class RecommendationOut(BaseModel):
    case_id: int | None
    metric: str = Field(description="road: walking distance along the road network; straight: in the metric CRS")
    max_distance_m: float
    ranked: list[CandidateOut]
    excluded: list[ExcludedOut]


class AssignIn(BaseModel):
    staff_id: str | None = Field(default=None, max_length=20)
    team_id: str | None = Field(default=None, max_length=20)
    version: Count = Field(ge=1, le=2**31, description="The case version the decision was made on")
    reason: str | None = Field(default=None, max_length=500, description="Required to override an assignment")


class TransitionIn(BaseModel):
    to: CaseStatus
    note: str | None = Field(default=None, max_length=2000)
    version: Count = Field(ge=1, le=2**31)
    photo_ref: str | None = Field(default=None, max_length=200)


class AlarmIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=40)
    type: str = Field(min_length=1, max_length=32, description="e.g. smoke, gas_leak, trapped, blocked")
    severity: Severity | None = Field(default=None, description="Default: the type's own severity")
    ts: datetime = Field(description="When the device saw it, with a time zone")
    id: str | None = Field(default=None, min_length=1, max_length=40,
                           description="Message id: sending the same id again changes nothing")


class AlarmAccepted(BaseModel):
    id: str
    created: bool = Field(description="False when it bumped a live alarm or repeated a message")
    duplicate: bool = Field(default=False, description="The same message was handled before: nothing changed")
    suppressed: str | None = Field(default=None, description="Recorded, not raised: maintenance or flapping")
    count: int | None = None
    state: str | None = None


class PositionIn(BaseModel):
    """A position in the OsmAnd protocol's names (Traccar clients), as JSON."""

    id: str = Field(min_length=1, max_length=20, description="The staff member (device identifier)")
    lat: Number = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: Number = Field(ge=-180, le=180, allow_inf_nan=False)
    timestamp: str = Field(max_length=40, description="Epoch seconds (or ms) or an ISO time with a zone")
    speed: Number | None = Field(default=None, ge=0, le=200, allow_inf_nan=False)
    bearing: Number | None = Field(default=None, ge=0, le=360, allow_inf_nan=False)
    accuracy: Number | None = Field(default=None, ge=0, le=100000, allow_inf_nan=False)
    coord: Literal["wgs84", "gcj02", "bd09"] = Field(default="wgs84", description="The datum of lat/lon")


class PositionAccepted(BaseModel):
    status: str = Field(description="accepted, or duplicate (this fix was received before)")


class AlarmOut(BaseModel):
    id: str
    device_id: str
    type: str
    severity: str
    state: str
    count: int
    first_at: str
    last_at: str
    lon: float
    lat: float
    rung: str | None = Field(default=None, description="Welfare alarms: call, visit or emergency")
    rung_due_at: str | None = Field(default=None, description="Welfare alarms: when the next rung is due")


class DeviceOut(BaseModel):
    id: str
    type: str
    place: str | None
    lon: float
    lat: float
    online: bool
    maintenance: bool = Field(description="In maintenance: its alarms are recorded, not raised")
    flapping: bool = Field(description="Raised the same alarm 3 times or more in the last 10 minutes (a "
                                       "life-safety alarm is still raised each time)")
    last_seen_at: str | None


class FeedbackIn(BaseModel):
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"] = Field(
        description="The resident's answer at the return visit after the closing reply")
    note: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    case_id: int
    satisfaction: str


class FigureOut(BaseModel):
    key: str
    value: float | None = Field(description="The figure (a rate in %, a time in minutes, a distance in metres)")
    numerator: float | None
    denominator: float | None
    parts: dict[str, float] | None = Field(default=None, description="e.g. due and deferred of on-time closure")


class IndicatorOut(FigureOut):
    name: str
    unit: str
    definition: str


class KpiGroupOut(BaseModel):
    group: str = Field(description="The value of the breakdown (a committee code, a category code, ...)")
    indicators: list[FigureOut]


class KpiOut(BaseModel):
    window: dict[str, str]
    computed_at: str
    cohort: str = Field(description="Which cases the case indicators count")
    indicators: list[IndicatorOut]
    by: str | None = None
    groups: list[KpiGroupOut] | None = None
    alarms: dict
    staff: dict


class StatusIn(BaseModel):
    ts: datetime = Field(description="When the device sent it, with a time zone")
    activity: Flag = Field(default=False, description="A sign of life at home: a door opened, water ran")


class StatusAccepted(BaseModel):
    status: str = Field(description="accepted")
    came_back: bool = Field(description="The device had been offline; its offline alarm is cleared")


class WelfareOutcomeIn(BaseModel):
    outcome: Literal["resident_ok", "not_reached"] = Field(
        description="resident_ok: the resident is fine (alarm cleared); not_reached: climb to the next rung now")
    note: str | None = Field(default=None, max_length=500)


class WelfareOutcomeOut(BaseModel):
    id: str
    state: str
    rung: str | None = Field(description="call, visit or emergency")


class MaintenanceIn(BaseModel):
    on: Flag
    reason: str = Field(min_length=1, max_length=500, description="Why, e.g. the work order number")


class MaintenanceOut(BaseModel):
    device_id: str
    maintenance: bool


# --- the field app ------------------------------------------------------------------------------------
OpId = Annotated[str, Field(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_\-]+$",
                            description="The phone's id for this action: sent again (an offline queue), it "
                                        "changes nothing and gets the first answer")]
PhotoId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="A photo's id (its SHA-256)")]
Note = Annotated[str, Field(max_length=2000)]


class FieldOpIn(BaseModel):
    op: OpId


class DeclineIn(FieldOpIn):
    reason: Note = Field(description="Why the task is given back (required)")


class ArriveIn(FieldOpIn):
    lon: Number = Field(ge=-180, le=180, allow_inf_nan=False, description="WGS-84, as the browser gave it")
    lat: Number = Field(ge=-90, le=90, allow_inf_nan=False)
    accuracy: Number | None = Field(default=None, ge=0, le=100000, allow_inf_nan=False, description="metres")
    at: datetime = Field(description="When the position was taken, with a zone")
    reason: Note | None = Field(default=None, description="Why arrival is reported from farther than the radius")


class HandledIn(FieldOpIn):
    note: Note = Field(description="What was done (required)")
    photos: list[PhotoId] = Field(max_length=12, description="Before and after photos (at least one after)")


class VerifyIn(FieldOpIn):
    passed: Flag = Field(description="true: verified; false: back to the handler for rework")
    reason: Note | None = Field(default=None, description="Required when sending back")
    photos: list[PhotoId] = Field(default_factory=list, max_length=12, description="The supervisor's photos "
                                                                                   "(at least one to pass)")
    version: Count | None = Field(default=None, ge=1, description="The case version seen: a later change is a 409")


class DutyIn(FieldOpIn):
    on: Flag


class FieldPositionIn(BaseModel):
    """A position from the phone's Geolocation API (WGS-84); the staff member is the one signed in."""

    lon: Number = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: Number = Field(ge=-90, le=90, allow_inf_nan=False)
    accuracy: Number | None = Field(default=None, ge=0, le=100000, allow_inf_nan=False)
    speed: Number | None = Field(default=None, ge=0, le=200, allow_inf_nan=False)
    at: datetime = Field(description="When it was taken, with a zone")
