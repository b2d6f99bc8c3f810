"""Build the FastAPI application that serves the API (the Dash UI mounts on the same server): the answers to
refusals, shared by every route, and one router per domain (places, cases, kpi, ingest, alarms, field)."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.alarms import build_router as alarms_router
from api.cases import build_router as cases_router
from api.common import DENIALS, GATE, PREFIX, error
from api.docs import build_router as docs_router
from api.field import build_router as field_router
from api.field import photo_routes
from api.ingest import build_router as ingest_router
from api.kpi import build_router as kpi_router
from api.places import build_router as places_router
from api.residents import build_router as residents_router
from api.residents import desk_router, refused
from api.schemas import (
    HealthOut,
    MeOut,
)
from api.security import principal_of, requires
from brain.alarms.service import AlarmError, AlarmNotFound
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.cases.service import CaseNotFound, IntakeError, VersionConflict
from brain.cases.workflow import TransitionRefused
from brain.dispatch.service import AssignRefused
from brain.district.service import PlaceNotFound
from brain.field.photos import PhotoRefused
from brain.field.service import FieldRefused, NotYours, TaskGone
from brain.kpi import service as kpi
from brain.residents.service import ResidentRefused
from brain.runtime import Brain
from geodata.gazetteer import PoleNotFound

log = logging.getLogger(__name__)
INGEST_ROUTES = {f"{PREFIX}/alarms": "alarm", f"{PREFIX}/osmand": "position"}
STATUS_ROUTE = re.compile(rf"^{PREFIX}/devices/[^/]+/status$")


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
        return error(422, message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_req: Request, exc: StarletteHTTPException):
        response = error(exc.status_code, str(exc.detail))
        if exc.status_code == 401:
            response.headers["www-authenticate"] = "Bearer"
        return response

    # Domain refusals, answered the same way on every route.
    @app.exception_handler(CaseNotFound)
    @app.exception_handler(PlaceNotFound)
    @app.exception_handler(AlarmNotFound)
    async def on_not_found(_req: Request, exc: Exception):
        return error(404, str(exc))

    @app.exception_handler(PoleNotFound)
    async def on_no_pole(_req: Request, exc: PoleNotFound):
        return error(404, str(exc), suggestions=exc.suggestions)

    @app.exception_handler(VersionConflict)
    @app.exception_handler(StaleDataError)  # a row changed by another writer between our read and our write
    async def on_conflict(_req: Request, exc: Exception):
        return error(409, str(exc), key="refused.conflict", params={})

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
        return error(status, str(exc), **extra)

    @app.exception_handler(ResidentRefused)
    async def on_resident_refused(_req: Request, exc: ResidentRefused):
        return refused(exc)

    @app.exception_handler(IntakeError)
    async def on_intake(_req: Request, exc: IntakeError):
        return error(422, str(exc), key=exc.key, params=exc.params, field=exc.field, suggestions=exc.suggestions)

    @app.exception_handler(Exception)
    async def on_crash(req: Request, exc: Exception):
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return error(500, "internal error; it has been logged")

    r = APIRouter(prefix=PREFIX, responses=GATE)

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

    # one router per domain; this one's catch-all goes last
    for router in (places_router, cases_router, kpi_router, ingest_router, alarms_router, field_router,
                   residents_router, desk_router):
        app.include_router(router(brain))
    app.include_router(photo_routes(brain))

    @r.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(rest: str):
        return error(404, f"no such endpoint: {PREFIX}/{rest}")

    app.include_router(r)
    return app
