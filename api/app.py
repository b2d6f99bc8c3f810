"""Build the FastAPI application that serves the API (the Dash UI mounts on the same server)."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.docs import build_router as docs_router
from api.field import build_router as field_router
from api.field import photo_routes
from api.ratelimit import RateLimiter
from api.schemas import (
    AlarmAccepted,
    AlarmIn,
    AlarmOut,
    AssignIn,
    AuditOut,
    CaseCreatedOut,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePageOut,
    DeviceOut,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    HealthOut,
    KpiOut,
    MaintenanceIn,
    MaintenanceOut,
    MeOut,
    NearestPoleOut,
    PlaceOut,
    PoleOut,
    PositionAccepted,
    PositionIn,
    RecommendationOut,
    StaffOut,
    StatusAccepted,
    StatusIn,
    TransitionIn,
    UnmaskIn,
    WelfareOutcomeIn,
    WelfareOutcomeOut,
)
from api.security import client_source, principal_of, requires
from brain.alarms.enums import AlarmState
from brain.alarms.service import AlarmError, AlarmNotFound
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.cases.enums import CaseStatus, Channel
from brain.cases.service import CaseNotFound, IntakeError, PersonalSearch, VersionConflict
from brain.cases.workflow import TransitionRefused
from brain.dispatch.service import AssignRefused
from brain.district.service import PlaceNotFound
from brain.events import audit
from brain.field.photos import PhotoRefused
from brain.field.service import FieldRefused, NotYours, TaskGone
from brain.kpi import service as kpi
from brain.runtime import Brain
from brain.storage.db import utcnow
from geodata.gazetteer import PoleNotFound

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
INGEST_ROUTES = {f"{PREFIX}/alarms": "alarm", f"{PREFIX}/osmand": "position"}
STATUS_ROUTE = re.compile(rf"^{PREFIX}/devices/[^/]+/status$")
DENIALS = {401: {"model": ErrorOut, "description": "no session and no valid Bearer token"},
           403: {"model": ErrorOut, "description": "the role may not do this"}}
INGEST_REFUSALS = {422: {"model": ErrorOut, "description": "refused, with the reason (recorded)"},
                   503: {"model": ErrorOut, "description": "could not be stored now (logged): send it again"}}
Lon = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS-84 longitude")]
AlarmId = Annotated[str, Path(max_length=40, description="Alarm id")]
CaseId = Annotated[int, Path(ge=1, le=2**62, description="Case number")]
Lat = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="WGS-84 latitude")]


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message, **extra})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg')}")
    return "; ".join(parts) or "invalid request"


def build_api(brain: Brain) -> FastAPI:
    """The FastAPI app with every /api/v1 route; errors are JSON `{"error": ...}`, never a bare 500."""
    app = FastAPI(title="Community Brain API", version="1", openapi_url=f"{PREFIX}/openapi.json",
                  docs_url=None, redoc_url=None)
    app.include_router(docs_router(PREFIX, f"{PREFIX}/openapi.json", "Community Brain API"))
    app.state.brain = brain

    @app.exception_handler(RequestValidationError)
    async def on_validation(req: Request, exc: RequestValidationError):
        message = _validation_message(exc)
        kind = INGEST_ROUTES.get(req.url.path) or ("status" if STATUS_ROUTE.match(req.url.path) else None)
        # a message is what a device or a phone sends (POST, or OsmAnd's GET with its fix in the query);
        # a reader's bad query (GET /alarms?limit=0) is no refused message
        if kind and (req.method == "POST" or (kind == "position" and req.url.query)):
            # a refused device or GPS message is counted and recorded like any other
            await run_in_threadpool(brain.ingest.reject, kind, f"http:{req.url.path}", "invalid", message,
                                    str(req.url.query)[:500])
        return _error(422, message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_req: Request, exc: StarletteHTTPException):
        response = _error(exc.status_code, str(exc.detail))
        if exc.status_code == 401:
            response.headers["www-authenticate"] = "Bearer"
        return response

    # Domain refusals, answered the same way on every route.
    @app.exception_handler(CaseNotFound)
    @app.exception_handler(PlaceNotFound)
    @app.exception_handler(AlarmNotFound)
    async def on_not_found(_req: Request, exc: Exception):
        return _error(404, str(exc))

    @app.exception_handler(PoleNotFound)
    async def on_no_pole(_req: Request, exc: PoleNotFound):
        return _error(404, str(exc), suggestions=exc.suggestions)

    @app.exception_handler(VersionConflict)
    @app.exception_handler(StaleDataError)  # a row changed by another writer between our read and our write
    async def on_conflict(_req: Request, exc: Exception):
        return _error(409, str(exc), key="refused.conflict", params={})

    @app.exception_handler(AssignRefused)
    @app.exception_handler(TransitionRefused)
    @app.exception_handler(FieldRefused)
    @app.exception_handler(PhotoRefused)
    @app.exception_handler(AlarmError)
    @app.exception_handler(kpi.KpiError)
    async def on_refused(_req: Request, exc: Exception):
        # a refusal that names its catalogue entry carries it: a client says it in its reader's language
        key = getattr(exc, "key", None)
        extra = {"key": key, "params": getattr(exc, "params", {})} if key else {}
        status = 403 if isinstance(exc, NotYours) else 409 if isinstance(exc, TaskGone) else 422
        return _error(status, str(exc), **extra)

    @app.exception_handler(IntakeError)
    async def on_intake(_req: Request, exc: IntakeError):
        return _error(422, str(exc), field=exc.field, suggestions=exc.suggestions)

    @app.exception_handler(Exception)
    async def on_crash(req: Request, exc: Exception):
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return _error(500, "internal error; it has been logged")

    # the gate refuses, before any route, text no database can store and JSON nested too deep (400)
    r = APIRouter(prefix=PREFIX, responses={400: {"model": ErrorOut, "description": "refused at the gate: unstorable "
                                                  "text, not UTF-8, or JSON nested too deep"}})

    @r.get("/health", response_model=HealthOut, response_model_exclude_none=True,
           summary="ok or degraded with the reasons; the detail for a signed-in operator")
    def health(request: Request):
        full = brain.health()
        who = principal_of(request)
        if who is not None and who.can(P.READ_STAFF):
            return full
        return {"status": full["status"], "reasons": full["reasons"]}

    @r.get("/me", response_model=MeOut, responses=DENIALS, summary="Who is signed in, with role and permissions")
    def me(who: Principal = Depends(requires(None))):
        return {"username": who.username, "display_name": who.display_name, "role": who.role.value,
                "kind": who.kind, "permissions": sorted(p.value for p in who.permissions)}

    @r.get("/poles/nearest", response_model=NearestPoleOut, responses={404: {"model": ErrorOut}, **DENIALS},
           summary="The nearest pole to a point (within 500 m)", dependencies=[Depends(requires(P.VIEW_MAP))])
    def nearest_pole(lon: Lon, lat: Lat):
        where = brain.gazetteer.locate(lon, lat)
        found = brain.gazetteer.nearest_pole(lon, lat)
        if found is None:
            msg = "no pole within 500 m" + ("" if where.inside else "; the point is outside the district")
            return _error(404, msg, inside=where.inside)
        pole, dist = found
        return {**pole.as_dict(), "distance_m": round(dist, 2), "inside": where.inside,
                "point_grid": where.grid, "point_committee": where.committee}

    @r.get("/poles/{number}", response_model=PoleOut, responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                                                  **DENIALS},
           summary="A pole by the number printed on it (tolerant of case, spaces, dashes, full-width)",
           dependencies=[Depends(requires(P.VIEW_MAP))])
    def pole(number: Annotated[str, Path(max_length=64, description="As printed on the pole")]):
        return brain.gazetteer.lookup(number).as_dict()

    @r.get("/staff", response_model=list[StaffOut], responses=DENIALS,
           summary="Every staff member with duty status and position", dependencies=[Depends(requires(P.READ_STAFF))])
    def staff():
        return [s.as_dict() for s in brain.staff.roster()]

    @r.get("/places/{place_id}", response_model=PlaceOut, responses={404: {"model": ErrorOut}, **DENIALS},
           summary="A compound, building or home; personal data masked",
           dependencies=[Depends(requires(P.VIEW_MAP))])
    def place(place_id: Annotated[str, Path(max_length=20)]):
        return brain.places.get(place_id)

    @r.post("/places/{place_id}/unmask", response_model=PlaceOut, responses={404: {"model": ErrorOut}, **DENIALS},
            summary="Personal data of a place in clear; the reason and the person are written to the audit log")
    def unmask(request: Request, place_id: Annotated[str, Path(max_length=20)], body: UnmaskIn = Body(...),
               who: Principal = Depends(requires(P.READ_PERSONAL))):
        return brain.places.unmask(place_id, actor=who.actor, reason=body.reason, source=client_source(request.scope))

    intake_limit = RateLimiter(per_minute=120, burst=60)
    CONFLICT = {409: {"model": ErrorOut, "description": "the case changed since `version`"},
                422: {"model": ErrorOut, "description": "refused, with the reason"}}

    @r.post("/cases", status_code=201, response_model=CaseCreatedOut,
            responses={422: {"model": ErrorOut}, 429: {"model": ErrorOut}, **DENIALS},
            summary="Open a case by pole number or coordinates; likely duplicates come back with it")
    def open_case(request: Request, body: CaseIn, who: Principal = Depends(requires(P.OPEN_CASE))):
        wait = intake_limit.check(who.actor)
        if wait:
            return JSONResponse({"error": f"too many cases from {who.username}; retry in {int(wait) + 1} s"},
                                status_code=429, headers={"retry-after": str(int(wait) + 1)})
        case = brain.cases.open_case(channel=body.channel, category=body.category, description=body.description,
                                     pole=body.pole, lon=body.lon, lat=body.lat, coord_system=body.coord_system,
                                     priority=body.priority, actor=who.actor, source=client_source(request.scope))
        dups = [d for d in brain.cases.duplicates(category=case.category, lon=case.lon, lat=case.lat,
                                                  pole=case.pole) if d["id"] != case.id]
        return {**brain.cases.get(case.id).as_dict(), "duplicates": dups}

    @r.get("/cases", response_model=CasePageOut, responses={403: {"model": ErrorOut}, **DENIALS},
           summary="Cases by status, category, committee, channel, pole, words or number (and caller phone, "
                   "for roles that may read personal data); newest first, paged")
    def find_cases(status: Annotated[list[CaseStatus] | None, Query(description="Any of these states")] = None,
                   open_only: Annotated[bool, Query(alias="open",
                                                    description="Only cases not yet closed, cancelled or merged")]
                   = False,
                   category: Annotated[str | None, Query(pattern=r"^[CE]\d{4}$")] = None,
                   committee: Annotated[str | None, Query(max_length=32)] = None,
                   channel: Channel | None = None,
                   pole: Annotated[str | None, Query(max_length=64, description="As read off a pole")] = None,
                   q: Annotated[str | None, Query(min_length=1, max_length=100,
                                                  description="A case number, or words of the description")] = None,
                   phone: Annotated[str | None, Query(max_length=32, description="The caller's phone")] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                   who: Principal = Depends(requires(P.READ_CASES))):
        try:
            total, views = brain.cases.search(
                statuses=[x.value for x in status] if status else None, open_only=open_only, category=category,
                committee=committee, channel=channel.value if channel else None, pole=pole, text=q, phone=phone,
                may_read_personal=who.can(P.READ_PERSONAL), limit=limit, offset=offset)
        except PersonalSearch as e:
            return _error(403, str(e))
        return {"total": total, "limit": limit, "offset": offset, "items": [v.as_dict() for v in views]}

    @r.get("/cases/{case_id}", response_model=CaseDetailOut, responses={404: {"model": ErrorOut}, **DENIALS},
           summary="A case with its version and timeline")
    def get_case(request: Request, case_id: CaseId, who: Principal = Depends(requires(P.READ_CASES))):
        view = brain.cases.get(case_id)
        personal = who.can(P.READ_PERSONAL)  # masked for any other role; the disclosure is audited
        description = brain.cases.description_for(view, may_read_personal=personal, actor=who.actor,
                                                   source=client_source(request.scope))
        return {**view.as_dict(), "description": description,
                "timeline": brain.cases.timeline(case_id, personal=personal)}

    @r.get("/cases/{case_id}/recommendations", response_model=RecommendationOut,
           responses={404: {"model": ErrorOut}, **DENIALS}, summary="Nearest suitable staff, and who was left out",
           dependencies=[Depends(requires(P.READ_CASES))])
    def recommendations(case_id: CaseId, limit: Annotated[int, Query(ge=1, le=50)] = 10):
        return brain.dispatch.recommend(case_id, limit=limit).as_dict()

    @r.post("/cases/{case_id}/assign", response_model=CaseOut,
            responses={404: {"model": ErrorOut}, **CONFLICT, **DENIALS}, summary="Dispatch to a person or team")
    def assign(request: Request, case_id: CaseId, body: AssignIn, who: Principal = Depends(requires(P.MOVE_CASE))):
        return brain.dispatch.assign(case_id, actor=who.actor, version=body.version, staff_id=body.staff_id,
                                     team_id=body.team_id, reason=body.reason,
                                     source=client_source(request.scope)).as_dict()

    @r.post("/cases/{case_id}/transition", response_model=CaseOut,
            responses={404: {"model": ErrorOut}, **CONFLICT, **DENIALS}, summary="Move a case through the workflow")
    def transition(request: Request, case_id: CaseId, body: TransitionIn,
                   who: Principal = Depends(requires(P.MOVE_CASE))):
        return brain.cases.transition(case_id, to=body.to, note=body.note, version=body.version, actor=who.actor,
                                      photo_ref=body.photo_ref, source=client_source(request.scope)).as_dict()

    @r.post("/cases/{case_id}/feedback", response_model=FeedbackOut,
            responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}, **DENIALS},
            summary="The resident's satisfaction with the reply of a closed case (return visit)")
    def feedback(request: Request, case_id: CaseId, body: FeedbackIn,
                 who: Principal = Depends(requires(P.OPEN_CASE))):
        brain.cases.feedback(case_id, satisfaction=body.satisfaction, note=body.note, actor=who.actor,
                             source=client_source(request.scope))
        return {"case_id": case_id, "satisfaction": body.satisfaction}

    @r.get("/kpi", response_model=KpiOut, responses={422: {"model": ErrorOut}, **DENIALS},
           summary="Indicators with numerators and denominators, over the cases reported in a window",
           dependencies=[Depends(requires(P.READ_KPI))])
    def kpi_report(start: Annotated[str | None, Query(alias="from", max_length=40, description=(
                       "A local date (2026-11-10: from its midnight, Asia/Shanghai) or a time with a zone; "
                       "default: today"))] = None,
                   end: Annotated[str | None, Query(alias="to", max_length=40, description=(
                       "A local date (included: to its end) or a time with a zone (excluded); default: from's "
                       "day"))] = None,
                   by: Annotated[kpi.Dimension | None, Query(description="A breakdown")] = None,
                   lang: Annotated[str, Query(pattern="^(zh-CN|en)$")] = "zh-CN"):
        w = kpi.parse_window(start, end, now=utcnow(), tz=brain.settings.display_tz)
        return brain.kpi.report(w, by=by.value if by else None, locale=lang)

    @r.post("/alarms", status_code=202, response_model=AlarmAccepted,
            responses={**INGEST_REFUSALS, **DENIALS},
            summary="An alarm from a device (idempotent by id; through the ingest pipeline)")
    def post_alarm(body: AlarmIn, who: Principal = Depends(requires(P.INGEST_ALARM))):
        out = brain.ingest.handle_alarm(body.model_dump(mode="json", exclude_none=True),
                                        source=f"http:{PREFIX}/alarms", actor=who.actor)
        return _ingest_answer(out)

    def _refused(out):
        """A refused message's answer: 422 with the reason for the sender's fault; for a fault of ours (the
        database away) 503 and nothing of the error's text (it is in the log and ingest_rejects)."""
        if out.reason == "internal_error":
            return _error(503, "the message could not be stored now; it has been logged: send it again",
                          field=out.reason)
        return _error(422, out.detail or "refused", field=out.reason)

    def _ingest_answer(out):
        if out.status == "rejected":
            return _refused(out)
        if out.status == "duplicate":
            return {"id": out.id or "", "created": False, "duplicate": True}
        if out.status == "suppressed":
            return {"id": "", "created": False, "suppressed": out.reason}
        if out.alarm is None:
            return {"status": out.status}
        return {"id": out.alarm.id, "created": bool(out.created), "count": out.alarm.count, "state": out.alarm.state}

    def _position(body: dict, who: Principal):
        if who.staff_id and body.get("id") != who.staff_id:  # a field person reports for themselves only
            return _error(403, f"this account reports the position of {who.staff_id} only")
        out = brain.ingest.handle_position({k: v for k, v in body.items() if v is not None},
                                           source=f"http:{PREFIX}/osmand", actor=who.actor)
        if out.status == "rejected":
            return _refused(out)
        return {"status": out.status}

    @r.get("/osmand", response_model=PositionAccepted, responses={**INGEST_REFUSALS, **DENIALS},
           summary="A staff position in the OsmAnd protocol (Traccar clients), as a query string")
    def osmand_get(id: Annotated[str, Query(min_length=1, max_length=20)], lat: Lat, lon: Lon,
                   timestamp: Annotated[str, Query(max_length=40)],
                   speed: Annotated[float | None, Query(ge=0, le=200, allow_inf_nan=False)] = None,
                   bearing: Annotated[float | None, Query(ge=0, le=360, allow_inf_nan=False)] = None,
                   accuracy: Annotated[float | None, Query(ge=0, le=100000, allow_inf_nan=False)] = None,
                   coord: Annotated[Literal["wgs84", "gcj02", "bd09"], Query()] = "wgs84",
                   who: Principal = Depends(requires(P.INGEST_POSITION))):
        return _position({"id": id, "lat": lat, "lon": lon, "timestamp": timestamp, "speed": speed,
                          "bearing": bearing, "accuracy": accuracy, "coord": coord}, who)

    @r.post("/osmand", response_model=PositionAccepted, responses={**INGEST_REFUSALS, **DENIALS},
            summary="A staff position in the OsmAnd protocol's names, as JSON")
    def osmand_post(body: PositionIn, who: Principal = Depends(requires(P.INGEST_POSITION))):
        return _position(body.model_dump(), who)

    @r.get("/alarms", response_model=list[AlarmOut], responses=DENIALS, summary="Alarms, newest activity first",
           dependencies=[Depends(requires(P.VIEW_MAP))])
    def alarms(state: AlarmState | None = None, limit: Annotated[int, Query(ge=1, le=2000)] = 500):
        return [a.as_dict() for a in brain.alarms.find(state=state, limit=limit)]

    @r.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut,
            responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}, **DENIALS},
            summary="Take an active alarm on (who and when are recorded)")
    def acknowledge(alarm_id: AlarmId, who: Principal = Depends(requires(P.HANDLE_ALARM))):
        return brain.alarms.acknowledge(alarm_id, actor=who.actor).as_dict()

    @r.post("/alarms/{alarm_id}/clear", response_model=AlarmOut,
            responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}, **DENIALS},
            summary="The condition is over (a separate fact from acknowledging)")
    def clear(alarm_id: AlarmId, false_alarm: bool | None = None,
              who: Principal = Depends(requires(P.HANDLE_ALARM))):
        return brain.alarms.clear(alarm_id, actor=who.actor, false_alarm=false_alarm).as_dict()

    @r.post("/devices/{device_id}/maintenance", response_model=MaintenanceOut,
            responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}, **DENIALS},
            summary="Put a device in maintenance (its alarms recorded, not raised) or take it out")
    def maintenance(device_id: Annotated[str, Path(max_length=40)], body: MaintenanceIn,
                    who: Principal = Depends(requires(P.HANDLE_ALARM))):
        return brain.alarms.set_maintenance(device_id, body.on, actor=who.actor, reason=body.reason)

    @r.post("/devices/{device_id}/status", response_model=StatusAccepted,
            responses={**INGEST_REFUSALS, **DENIALS},
            summary="A device's heartbeat, optionally with a sign of life at home (through the ingest pipeline)")
    def device_status(device_id: Annotated[str, Path(min_length=1, max_length=40)], body: StatusIn,
                      who: Principal = Depends(requires(P.INGEST_ALARM))):
        out = brain.ingest.handle_status({**body.model_dump(mode="json"), "device_id": device_id},
                                         source=f"http:{PREFIX}/devices/status", actor=who.actor)
        if out.status == "rejected":
            return _refused(out)
        return {"status": out.status, "came_back": bool(out.created)}

    @r.post("/alarms/{alarm_id}/welfare", response_model=WelfareOutcomeOut,
            responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}, **DENIALS},
            summary="What a welfare rung found: the resident is fine, or was not reached (climb now)")
    def welfare_outcome(alarm_id: AlarmId, body: WelfareOutcomeIn, who: Principal = Depends(requires(P.HANDLE_ALARM))):
        return brain.monitor.record_outcome(alarm_id, body.outcome, actor=who.actor, note=body.note)

    @r.get("/devices", response_model=list[DeviceOut], responses=DENIALS, summary="IoT devices and their state",
           dependencies=[Depends(requires(P.VIEW_MAP))])
    def devices():
        return brain.alarms.devices()

    @r.get("/audit", response_model=list[AuditOut], responses=DENIALS,
           summary="The audit log, newest first (admins)", dependencies=[Depends(requires(P.READ_AUDIT))])
    def audit_log(actor: Annotated[str | None, Query(max_length=100)] = None,
                  action: Annotated[str | None, Query(max_length=64)] = None,
                  subject: Annotated[str | None, Query(max_length=100)] = None,
                  since: datetime | None = None, until: datetime | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                  before_seq: Annotated[int | None, Query(ge=1, le=2**62)] = None):
        for name, t in (("since", since), ("until", until)):
            if t is not None and t.tzinfo is None:
                return _error(422, f"{name}: give a time zone (e.g. 2026-11-22T08:00:00+08:00)")
            if t is not None and not kpi.EARLIEST <= t.date() <= kpi.LATEST:
                return _error(422, f"{name} must lie between {kpi.EARLIEST} and {kpi.LATEST}")
        return audit.query(brain.db, actor=actor, action=action, subject=subject, since=since, until=until,
                           limit=limit, before_seq=before_seq)

    app.include_router(field_router(brain))
    app.include_router(photo_routes(brain))

    @r.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(rest: str):
        return _error(404, f"no such endpoint: {PREFIX}/{rest}")

    app.include_router(r)
    return app
