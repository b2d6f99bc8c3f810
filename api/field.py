"""The field app's routes (/api/v1/field): a person's tasks, acknowledgements, arrival, photos, handling,
verification, duty and position, and the WebSocket that tells the phone of a new task at once.

Every route acts for the staff member the account is tied to and no other. A refusal answers
``{"error", "key", "params"}``: the phone says it from the catalogue in its reader's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.common import DENIALS, GATE
from api.schemas import (
    ArriveIn,
    DeclineIn,
    DutyIn,
    ErrorOut,
    FieldOpIn,
    FieldPositionIn,
    HandledIn,
    VerifyIn,
)
from api.security import client_source, requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.field.photos import MAX_PHOTO_BYTES
from brain.field.service import TaskView
from brain.runtime import Brain
from brain.staff.enums import SPEED_M_S, TravelMode
from brain.storage.db import utcnow

log = logging.getLogger(__name__)
PREFIX = "/api/v1/field"
TaskId = Annotated[int, Path(ge=1, le=2**62, description="Task number")]
CaseId = Annotated[int, Path(ge=1, le=2**62, description="Case number")]
REFUSALS = {403: {"model": ErrorOut, "description": "not yours, or the account is no staff member's"},
            409: {"model": ErrorOut, "description": "the task or case changed: reload"},
            422: {"model": ErrorOut, "description": "refused, with the reason (and its catalogue key)"}}
PING_S = 25.0
MAP_MARGIN_M = 150.0  # the roads drawn around the route on the phone's small map


def field_person(permission: P = P.FIELD_WORK):
    """The signed-in field person (an account tied to a staff member), or 401/403."""
    base = requires(permission)

    def dependency(request: Request) -> Principal:
        who = base(request)
        if not who.staff_id:
            from fastapi import HTTPException

            raise HTTPException(status_code=403, detail="this account is not a staff member's: the field app is "
                                                        "for field staff")
        return who

    return dependency


def _case_out(brain: Brain, view, committees: dict[str, str], now: datetime) -> dict:
    pole = brain.gazetteer.lookup(view.pole) if view.pole else None
    return {"id": view.id, "status": view.status, "category": view.category, "priority": view.priority,
            "description": view.description,  # masked: a field role does not read residents' data
            "text": view.text,  # what the product wrote: the app says it from the catalogue
            "lon": view.lon, "lat": view.lat, "pole": view.pole, "road": pole.road if pole else None,
            "committee": committees.get(view.committee or "", view.committee), "version": view.version,
            "reported_at": view.reported_at.isoformat(), "stage_due_at":
                view.stage_due_at.isoformat() if view.stage_due_at else None,
            "overdue": view.overdue(now), "at_risk": view.at_risk(now), "rework_count": view.rework_count}


def _task_out(task: TaskView | None) -> dict | None:
    return None if task is None else task.as_dict()


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["field"], responses={**GATE, **DENIALS})
    committees = brain.district.committee_names

    @r.get("/me", responses=REFUSALS, summary="The staff member signed in, with duty status and team")
    def me(who: Principal = Depends(field_person())):
        (person,) = brain.staff.roster([who.staff_id]) or [None]
        return {"username": who.username, "display_name": who.display_name, "role": who.role.value,
                "staff": person.as_dict() if person else None, "can_verify": who.can(P.VERIFY),
                "arrive_radius_m": brain.settings.arrive_radius_m}

    @r.get("/tasks", responses=REFUSALS, summary="My tasks under way: overdue and urgent first, then newest")
    def tasks(who: Principal = Depends(field_person())):
        now = utcnow()
        return {"tasks": [{"task": _task_out(t), "case": _case_out(brain, c, committees, now)}
                          for t, c in brain.field.tasks_for(who.staff_id or "")],
                "at": now.isoformat()}

    def acknowledge(step: str):
        def route(request: Request, task_id: TaskId, body: FieldOpIn, who: Principal = Depends(field_person())):
            return brain.field.acknowledge(body.op, task_id, step, staff_id=who.staff_id or "", actor=who.actor,
                                           source=client_source(request.scope))
        return route

    r.add_api_route("/tasks/{task_id}/delivered", acknowledge("delivered"), methods=["POST"], responses=REFUSALS,
                    summary="The phone received the task (the dispatcher sees when)")
    r.add_api_route("/tasks/{task_id}/read", acknowledge("read"), methods=["POST"], responses=REFUSALS,
                    summary="The person opened the task (the dispatcher sees when)")

    @r.post("/tasks/{task_id}/accept", responses=REFUSALS, summary="Take the task on (on the way)")
    def accept(request: Request, task_id: TaskId, body: FieldOpIn, who: Principal = Depends(field_person())):
        return brain.field.accept(body.op, task_id, staff_id=who.staff_id or "", actor=who.actor,
                                  source=client_source(request.scope))

    @r.post("/tasks/{task_id}/decline", responses=REFUSALS,
            summary="Give the task back with a reason: the case returns to the dispatcher's queue")
    def decline(request: Request, task_id: TaskId, body: DeclineIn, who: Principal = Depends(field_person())):
        return brain.flows.decline(body.op, task_id, staff_id=who.staff_id or "", reason=body.reason,
                                   actor=who.actor, source=client_source(request.scope))

    @r.post("/tasks/{task_id}/arrive", responses=REFUSALS,
            summary="At the place: within the radius of the case, or farther with a reason")
    def arrive(request: Request, task_id: TaskId, body: ArriveIn, who: Principal = Depends(field_person())):
        if body.at.tzinfo is None:
            return JSONResponse({"error": "at: give a time zone", "key": "refused.field.zone", "params": {}},
                                status_code=422)
        return brain.flows.arrive(body.op, task_id, staff_id=who.staff_id or "", lon=body.lon, lat=body.lat,
                                  at=body.at, accuracy=body.accuracy, reason=body.reason, actor=who.actor,
                                  source=client_source(request.scope))

    @r.post("/tasks/{task_id}/handled", responses=REFUSALS,
            summary="Done: what was done and the photos (at least one of the work done)")
    def handled(request: Request, task_id: TaskId, body: HandledIn, who: Principal = Depends(field_person())):
        return brain.flows.handled(body.op, task_id, staff_id=who.staff_id or "", note=body.note,
                                   photos=body.photos, actor=who.actor, source=client_source(request.scope))

    @r.get("/tasks/{task_id}/route", responses=REFUSALS,
           summary="The walking route from a point to the task's case along the district's roads")
    def route(task_id: TaskId, lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
              lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
              who: Principal = Depends(field_person())):
        mine = {t.id: c for t, c in brain.field.tasks_for(who.staff_id or "")}
        case = mine.get(task_id)
        if case is None:
            return JSONResponse({"error": f"task {task_id} is not one of yours under way",
                                 "key": "refused.field.not_yours", "params": {}}, status_code=403)
        return _route(brain, who.staff_id or "", lon, lat, case.lon, case.lat)

    @r.get("/verify", responses=REFUSALS, summary="Handled cases waiting for verification (never my own work)")
    def to_verify(lon: Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False)] = None,
                  lat: Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False)] = None,
                  who: Principal = Depends(field_person(P.VERIFY))):
        now = utcnow()
        waiting = brain.field.to_verify(who.staff_id or "", lon, lat)
        photos = brain.field.photos_of([c.id for c, _t in waiting])
        return {"cases": [{"case": _case_out(brain, c, committees, now), "task": _task_out(t),
                           "photos": [p for p in photos.get(c.id, []) if p["kind"] in ("before", "after")]}
                          for c, t in waiting]}

    @r.post("/verify/{case_id}", responses=REFUSALS,
            summary="Verify on the spot: pass (with a photo), or back for rework (with the reason)")
    def verify(request: Request, case_id: CaseId, body: VerifyIn, who: Principal = Depends(field_person(P.VERIFY))):
        return brain.flows.verify(body.op, case_id, staff_id=who.staff_id or "", passed=body.passed,
                                  reason=body.reason, photos=body.photos, version=body.version, actor=who.actor,
                                  source=client_source(request.scope))

    @r.post("/duty", responses=REFUSALS, summary="On duty (available for tasks) or off duty")
    def duty(request: Request, body: DutyIn, who: Principal = Depends(field_person())):
        return brain.flows.duty(body.op, staff_id=who.staff_id or "", on=body.on, actor=who.actor,
                                source=client_source(request.scope))

    @r.post("/position", responses=REFUSALS, summary="My position from the phone, through the ingest pipeline "
                                                     "(as OsmAnd's: same checks, a fix received twice is one)")
    def position(body: FieldPositionIn, who: Principal = Depends(field_person())):
        if body.at.tzinfo is None:
            return JSONResponse({"error": "at: give a time zone", "key": "refused.field.zone", "params": {}},
                                status_code=422)
        out = brain.ingest.handle_position(
            {"id": who.staff_id, "lon": body.lon, "lat": body.lat, "accuracy": body.accuracy, "speed": body.speed,
             "timestamp": body.at.astimezone(UTC).isoformat()}, source=f"http:{PREFIX}/position", actor=who.actor)
        if out.status == "rejected":
            return JSONResponse({"error": out.detail or "refused", "key": f"refused.position.{out.reason}",
                                 "params": {}}, status_code=503 if out.reason == "internal_error" else 422)
        return {"status": out.status}

    @r.post("/photos", status_code=201, responses={**REFUSALS, 413: {"model": ErrorOut}},
            summary="A photo of a case (before, after, or a supervisor's at verification); JPEG, PNG, HEIC or "
                    "WebP up to 10 MB; stored without its metadata")
    async def add_photo(request: Request, file: Annotated[UploadFile, File()],
                        case_id: Annotated[int, Form(ge=1, le=2**62)],
                        kind: Annotated[str, Form(pattern="^(before|after|verify)$")],
                        taken_at: Annotated[datetime, Form()],
                        lon: Annotated[float | None, Form(ge=-180, le=180, allow_inf_nan=False)] = None,
                        lat: Annotated[float | None, Form(ge=-90, le=90, allow_inf_nan=False)] = None,
                        who: Principal = Depends(field_person())):
        if taken_at.tzinfo is None:
            return JSONResponse({"error": "taken_at: give a time zone", "key": "refused.field.zone", "params": {}},
                                status_code=422)
        raw = await file.read(MAX_PHOTO_BYTES + 1)
        return await run_in_threadpool(
            brain.field.add_photo, raw, case_id=case_id, kind=kind, staff_id=who.staff_id or "", actor=who.actor,
            taken_at=min(taken_at, utcnow()), lon=lon, lat=lat, may_verify=who.can(P.VERIFY),
            source=client_source(request.scope))

    @r.websocket("/ws")
    async def push(ws: WebSocket):
        """Tells the phone of every change to the person's tasks ({"type": "task", "step", "case_id",
        "task_id"}) the moment it is committed; a ping every 25 s keeps the way open."""
        who = ws.scope.get("state", {}).get("principal")
        if who is None or not who.staff_id:
            await ws.close(code=4403)
            return
        await ws.accept()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)

        def heard(event) -> None:
            if event.subject_id == who.staff_id:
                msg = {"type": "task", **event.payload, "at": event.at.isoformat()}
                loop.call_soon_threadsafe(_offer, queue, msg)

        off = brain.bus.subscribe("field.task", heard)
        try:
            await ws.send_json({"type": "hello", "staff_id": who.staff_id})
            while True:
                try:
                    msg = await asyncio.wait_for(queue.get(), timeout=PING_S)
                except TimeoutError:
                    msg = {"type": "ping"}
                await ws.send_json(msg)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            off()
            with contextlib.suppress(RuntimeError):
                await ws.close()

    return r


def _offer(queue: asyncio.Queue, msg: dict) -> None:
    """Queue a message for the phone; a phone that reads nothing for 1,000 changes is told to reload."""
    try:
        queue.put_nowait(msg)
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
        queue.put_nowait({"type": "reload"})


def _route(brain: Brain, staff_id: str, lon: float, lat: float, to_lon: float, to_lat: float) -> dict:
    """The route as WGS-84 points with distance and ETA (the person's travel mode), and the roads around it
    for the phone's small map."""
    crs = brain.district.crs
    roads = brain.dispatch.ranker.roads
    x0, y0 = crs.to_metric(lon, lat)
    x1, y1 = crs.to_metric(to_lon, to_lat)
    if roads is None:
        pts, length = [(x0, y0), (x1, y1)], math.hypot(x1 - x0, y1 - y0)
        around = []
    else:
        pts, length = roads.route(float(x0), float(y0), float(x1), float(y1))
        around = roads.around(min(p[0] for p in pts) - MAP_MARGIN_M, min(p[1] for p in pts) - MAP_MARGIN_M,
                              max(p[0] for p in pts) + MAP_MARGIN_M, max(p[1] for p in pts) + MAP_MARGIN_M)

    def wgs84(line) -> list[list[float]]:
        lons, lats = crs.to_wgs84([p[0] for p in line], [p[1] for p in line])
        return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lons, lats, strict=True)]

    (person,) = brain.staff.roster([staff_id]) or [None]
    mode = TravelMode(person.mode) if person else TravelMode.WALK
    speed = SPEED_M_S.get(mode, 1.3)
    finite = length != float("inf")
    return {"path": wgs84(pts), "distance_m": round(length, 1) if finite else None,
            "eta_s": round(length / speed) if finite else None, "mode": mode.value,
            "roads": [wgs84(line) for line in around]}


def photo_routes(brain: Brain) -> APIRouter:
    """The photos for the screens and the phone: the field person their own cases', a supervisor any they may
    verify, a case reader (dispatcher, operator, leader) any; never the wall."""
    r = APIRouter(prefix="/api/v1/photos", tags=["field"], responses={**GATE, **DENIALS})

    def allowed(who: Principal, photo_case: int) -> bool:
        if who.can(P.READ_CASES):
            return True
        if who.staff_id and who.can(P.FIELD_WORK):
            mine = {c.id for _t, c in brain.field.tasks_for(who.staff_id)}
            if photo_case in mine:
                return True
            if who.can(P.VERIFY):
                return photo_case in {c.id for c, _t in brain.field.to_verify(who.staff_id)}
        return False

    @r.get("/{photo_id}", responses={404: {"model": ErrorOut}, 403: {"model": ErrorOut}},
           summary="A photo as stored (metadata stripped); ?thumb=1 for its thumbnail")
    def photo(request: Request, photo_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], thumb: bool = False,
              who: Principal = Depends(requires(None))):
        meta = brain.field.photo_meta(photo_id)
        if meta is None:
            return JSONResponse({"error": f"no photo {photo_id}"}, status_code=404)
        if not allowed(who, meta["case_id"]):
            return JSONResponse({"error": "your role may not see this photo"}, status_code=403)
        data, content_type = brain.field.photo(photo_id, thumb=thumb)
        return Response(data, media_type=content_type, headers={"cache-control": "private, max-age=86400"})

    return r

