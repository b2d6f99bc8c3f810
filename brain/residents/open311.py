"""Open311 GeoReport v2 over our cases: each public category a service, each case a service request.

The domain half: what a POST must hold and how it becomes a resident's report; the filters of a GET and
the query behind them; a case as a request record. Texts are catalogue keys (`status_notes`, errors):
the API says them in the reader's language and writes JSON or XML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from brain.cases.enums import TERMINAL, CaseStatus, Channel
from brain.cases.models import Case
from brain.cases.workflow import STAGE_OF
from brain.residents.models import ResidentReport
from brain.residents.service import STEP_OF_STATUS

MAX_DESCRIPTION = 4000  # the spec's
MAX_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
POLE_ATTRIBUTE = "pole"
ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_\-]{1,40})\](\[\])?$")
KNOWN_FIELDS = frozenset({"api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
                          "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
                          "description", "media_url"})
HIDDEN_CHANNELS = (Channel.IOT.value,)  # a sensor's case is about one home: never listed
STAGES = ("register", "dispatch", "arrive", "handle", "verify", "close")


class Open311Error(Exception):
    """A refusal in the spec's terms: an HTTP status (400, 403 or 404) and a catalogue key with params."""

    def __init__(self, status: int, key: str, message: str, **params) -> None:
        super().__init__(message)
        self.status = status
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Submission:
    service_code: str
    lon: float | None
    lat: float | None
    pole: str | None
    description: str
    email: str | None
    phone: str | None
    name: str | None
    media_url: str | None
    attributes: dict[str, str] = field(default_factory=dict)


def _number(form: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = form.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, "o311.bad_number", f"{name} is not a number", name=name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, "o311.bad_number", f"{name} is out of range", name=name)
    return value


def parse_submission(form: Mapping[str, str], services: set[str]) -> Submission:
    """A POST's fields checked (Open311Error 400 naming the first fault). `services`: the public codes."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "o311.no_service", "service_code is required")
    if code not in services:
        raise Open311Error(400, "o311.unknown_service", f"service_code {code} not found", code=code)
    attributes: dict[str, str] = {}
    for name, value in form.items():
        m = ATTRIBUTE.match(name)
        if m:
            if m.group(1) != POLE_ATTRIBUTE:
                raise Open311Error(400, "o311.unknown_attribute", f"attribute {m.group(1)} is not in the definition "
                                   f"of {code}", attribute=m.group(1), code=code)
            attributes[m.group(1)] = value.strip()
        elif name not in KNOWN_FIELDS:
            raise Open311Error(400, "o311.unknown_field", f"unknown field {name}", name=name[:40])
    lat, lon = _number(form, "lat", -90, 90), _number(form, "long", -180, 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "o311.half_point", "give both lat and long")
    pole = attributes.get(POLE_ATTRIBUTE) or (form.get("address_id") or "").strip() or None
    address = (form.get("address_string") or "").strip()
    if pole is None and address:
        pole = address  # a pole number read off a pole is the address residents know; the gazetteer says if not
    if pole is None and lat is None:
        raise Open311Error(400, "o311.no_location", "give lat and long, address_string or address_id (a pole number)")
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, "o311.too_long", f"description longer than {MAX_DESCRIPTION} characters",
                           max=MAX_DESCRIPTION)
    media = (form.get("media_url") or "").strip() or None
    if media is not None and (len(media) > 2000 or not re.match(r"^https?://[^\s]+$", media)):
        raise Open311Error(400, "o311.bad_media", "media_url is not an http(s) URL")
    email = (form.get("email") or "").strip() or None
    if email is not None and (len(email) > 200 or not re.match(r"^[^@\s]+@[^@\s]+$", email)):
        raise Open311Error(400, "o311.bad_email", "email is not an address")
    name = " ".join(x for x in ((form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()) if x)
    return Submission(service_code=code, lon=lon, lat=lat, pole=pole, description=description, email=email,
                      phone=(form.get("phone") or "").strip() or None, name=name[:100] or None, media_url=media,
                      attributes=attributes)


@dataclass(frozen=True)
class Query:
    ids: list[int] | None
    service_code: str | None
    start: datetime
    end: datetime
    status: str | None


def _date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, "o311.bad_date", f"{name} is not a w3 date-time", name=name) from None
    if value.tzinfo is None:
        raise Open311Error(400, "o311.bad_date", f"{name} needs a time zone", name=name)
    return value.astimezone(UTC)


def parse_query(params: Mapping[str, str], now: datetime) -> Query:
    """A GET's filters checked: ids, service_code, start/end (at most 90 days apart; the last 90 days by
    default), status (open or closed)."""
    ids = None
    raw_ids = (params.get("service_request_id") or "").strip()
    if raw_ids:
        parts = [p.strip() for p in raw_ids.split(",") if p.strip()]
        if len(parts) > MAX_REQUESTS or not all(p.isdigit() and len(p) <= 12 for p in parts):
            raise Open311Error(400, "o311.bad_id", "service_request_id is a comma-separated list of numbers")
        ids = [int(p) for p in parts]
    end = _date(params["end_date"], "end_date") if params.get("end_date") else None
    start = _date(params["start_date"], "start_date") if params.get("start_date") else None
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - MAX_WINDOW
    if end is None:
        end = min(now, start + MAX_WINDOW)
    if end < start:
        raise Open311Error(400, "o311.bad_window", "end_date is before start_date")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "o311.window", "start_date and end_date are at most 90 days apart", days=90)
    status = (params.get("status") or "").strip() or None
    if status not in (None, "open", "closed"):
        raise Open311Error(400, "o311.bad_status", "status is open or closed")
    return Query(ids=ids, service_code=(params.get("service_code") or "").strip() or None, start=start, end=end,
                 status=status)


# what a request record is made of (a case row has thirty columns; these are read)
COLUMNS = (Case.id, Case.status, Case.category, Case.priority, Case.description, Case.lon, Case.lat,
           Case.pole_number, Case.department, Case.assigned_team_id, Case.reported_at, Case.updated_at,
           Case.closed_at, Case.cancelled_at, Case.stage_started_at, Case.text)


def select_requests(q: Query, public: set[str]):
    """The SELECT behind a GET (newest first, at most 1,000; plain rows of COLUMNS, no objects): ids, when
    given, override the dates."""
    stmt = select(*COLUMNS).where(Case.category.in_(sorted(public)), Case.channel.not_in(HIDDEN_CHANNELS))
    if q.ids is not None:
        stmt = stmt.where(Case.id.in_(q.ids))
    else:
        stmt = stmt.where(Case.reported_at >= q.start, Case.reported_at <= q.end)
    if q.service_code:
        stmt = stmt.where(Case.category == q.service_code)
    closed = [s.value for s in TERMINAL]
    if q.status == "closed":
        stmt = stmt.where(Case.status.in_(closed))
    elif q.status == "open":
        stmt = stmt.where(Case.status.not_in(closed))
    return stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)


def expected(case, policy) -> datetime | None:
    """When a case can be expected closed: its current stage's deadline plus the limits of the stages after
    it (None once finished, or while deferred)."""
    status = CaseStatus(case.status)
    stage = STAGE_OF.get(status)
    if stage is None:
        return None
    limits = policy.limits(case.category, case.priority)
    due = limits.due(stage, case.stage_started_at)
    if due is None:
        return None
    for later in STAGES[STAGES.index(stage) + 1:]:
        due = limits.due(later, due) or due
    return due


def record(case, *, teams: dict[str, str], policy, masker, address_of, media: dict[int, str]) -> dict:
    """A case (a row of the case table) as a GeoReport request, its texts as catalogue keys under "_keys"
    (the API says them)."""
    status = CaseStatus(case.status)
    done = status in TERMINAL
    updated = case.closed_at or case.cancelled_at or case.updated_at if done else case.updated_at
    due = None if done else expected(case, policy)
    return {
        "service_request_id": str(case.id), "status": "closed" if done else "open",
        "service_code": case.category, "description": masker.mask(case.description) or None,
        "agency_responsible": teams.get(case.assigned_team_id or "") if case.assigned_team_id else None,
        "requested_datetime": case.reported_at, "updated_datetime": updated, "expected_datetime": due,
        "address": address_of(case.pole_number), "address_id": case.pole_number, "zipcode": None,
        "lat": round(case.lat, 7), "long": round(case.lon, 7), "media_url": media.get(case.id),
        "_keys": {"status_notes": f"r.step.{STEP_OF_STATUS[status]}", "service_name": f"cat.{case.category}",
                  "department": f"department.{case.department}" if case.department else None},
    }


def media_of(session, case_ids: list[int]) -> dict[int, str]:
    """The senders' media links of these cases (the first report's): read by the range of their numbers (one
    short scan, not a thousand parameters), kept for the cases asked."""
    if not case_ids:
        return {}
    wanted = set(case_ids)
    out: dict[int, str] = {}
    for case_id, url in session.execute(select(ResidentReport.case_id, ResidentReport.media_url).where(
            ResidentReport.case_id.between(min(wanted), max(wanted)), ResidentReport.media_url.is_not(None))
            .order_by(ResidentReport.id)):
        if case_id in wanted:
            out.setdefault(case_id, url)
    return out
