"""The residents' door (/api/v1/public, no account): a pole by its number or the poles near a position, the
kinds of problem a resident picks from, open reports of the same kind close by, a report with up to three
photos, and a report's progress by its tracking code (with the return visit's question). And the call-taker's
side (/api/v1/cases/{id}/reports, /spam, /api/v1/residents/stats).

A refusal answers ``{"error", "key", "params"}`` (429 with Retry-After for the limits): the page says it from
the catalogue in its reader's language.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.common import DENIALS, GATE, CaseId, Lat, Lon
from api.ratelimit import RateLimiter
from api.schemas import ErrorOut
from api.security import client_source, requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.cases.service import IntakeError
from brain.field.photos import MAX_PHOTO_BYTES
from brain.residents.service import MAX_PHOTOS, ResidentRefused, show_code
from brain.runtime import Brain
from brain.storage.db import utcnow

PUBLIC = "/api/v1/public"
MAP_RADIUS_M = 150.0  # the roads and poles drawn around a pole on the page's small map
NEAR_M = 300.0  # how far the phone's position looks for poles
Code = Annotated[str, Path(min_length=4, max_length=40, description="The tracking code given with the report")]
REFUSED = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut},
           429: {"model": ErrorOut, "description": "too many reports from here: Retry-After says when"}}


class AnswerIn(BaseModel):
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"] = Field(
        description="The resident's answer to the reply (the return visit)")


class SpamIn(BaseModel):
    note: str = Field(min_length=1, max_length=500, description="Why: the cancellation's reason")


def refused(e: ResidentRefused) -> JSONResponse:
    headers = {"retry-after": str(e.retry_after_s)} if e.retry_after_s else None
    return JSONResponse({"error": str(e), "key": e.key, "params": e.params, "field": e.field},
                        status_code=e.status, headers=headers)


def intake_refused(e: IntakeError) -> JSONResponse:
    """A pole or place the gazetteer does not know, in the page's terms."""
    if e.field == "pole":
        return JSONResponse({"error": str(e), "key": "r.pole.not_found", "params": {}, "field": "pole",
                             "suggestions": e.suggestions}, status_code=422)
    return JSONResponse({"error": str(e), "key": "refused.r.where", "params": {}, "field": e.field},
                        status_code=422)


def pole_out(brain: Brain, pole, distance: float | None = None) -> dict:
    out = {"number": pole.number, "lon": pole.lon, "lat": pole.lat, "road": pole.road,
           "committee": brain.district.committee_names.get(pole.committee or "", None)}
    if distance is not None:
        out["distance_m"] = round(distance)
    return out


def pole_with_map(brain: Brain, number: str) -> dict:
    """A pole by its number (PoleNotFound if none) with the roads and poles within 150 m, in WGS-84."""
    p = brain.gazetteer.lookup(number)
    crs = brain.district.crs
    x, y = crs.to_metric(p.lon, p.lat)
    roads = brain.dispatch.ranker.roads
    around = [] if roads is None else roads.around(x - MAP_RADIUS_M, y - MAP_RADIUS_M, x + MAP_RADIUS_M,
                                                    y + MAP_RADIUS_M)
    lines = []
    for line in around:
        lons, lats = crs.to_wgs84([q[0] for q in line], [q[1] for q in line])
        lines.append([[round(float(a), 6), round(float(b), 6)] for a, b in zip(lons, lats, strict=True)])
    near = [pole_out(brain, q, d) for q, d in brain.gazetteer.nearest_poles(p.lon, p.lat, k=12,
                                                                             max_distance=MAP_RADIUS_M)
            if q.number != p.number]
    return {**pole_out(brain, p), "map": {"roads": lines, "poles": near, "radius_m": MAP_RADIUS_M}}


def topics_of(brain: Brain) -> list[dict]:
    return [{"topic": t.topic, "icon": t.icon, "category": t.category} for t in brain.residents.topics]


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PUBLIC, tags=["residents"], responses=GATE)
    # a tracking code has about 59 bits: guessing is hopeless, and this makes it slow as well
    lookups = RateLimiter(per_minute=60, burst=30)

    def too_many(request: Request) -> JSONResponse | None:
        wait = lookups.check(client_source(request.scope) or "?")
        if not wait:
            return None
        return refused(ResidentRefused("too many look-ups from this address", key="refused.r.too_many", status=429,
                                       retry_after_s=int(wait) + 1))

    @r.get("/topics", summary="The kinds of problem a resident picks from, each with its picture and category")
    def topics():
        return JSONResponse(topics_of(brain), headers={"cache-control": "public, max-age=300"})

    @r.get("/poles/{number}", responses={404: {"model": ErrorOut}},
           summary="A pole by the number on its plate (tolerant; suggestions on a miss), with the roads and poles "
                   "around it for the page's small map")
    def pole(number: Annotated[str, Path(min_length=1, max_length=40)]):
        return pole_with_map(brain, number)  # PoleNotFound: 404 with suggestions

    @r.get("/poles", summary="The poles nearest a position (the phone's), within 300 m, nearest first")
    def poles_near(lon: Lon, lat: Lat, limit: Annotated[int, Query(ge=1, le=10)] = 5):
        return [pole_out(brain, p, d) for p, d in brain.gazetteer.nearest_poles(lon, lat, k=limit, max_distance=NEAR_M)]

    @r.get("/nearby", responses={422: {"model": ErrorOut}},
           summary="Open reports of the same kind at this pole or within 50 m (case number, step, distance, when)")
    def nearby(topic: Annotated[str, Query(max_length=32)], pole: Annotated[str | None, Query(max_length=40)] = None,
               lon: Lon | None = None, lat: Lat | None = None):
        try:
            category = brain.residents.category_of(topic)
        except ResidentRefused as e:
            return refused(e)
        if pole:
            p = brain.gazetteer.lookup(pole)
            lon, lat, number = p.lon, p.lat, p.number
        elif lon is None or lat is None:
            return JSONResponse({"error": "give a pole or a position", "key": "refused.r.where", "params": {}},
                                status_code=422)
        else:
            number = None
        return brain.residents.nearby(category=category, lon=lon, lat=lat, pole=number)

    @r.post("/reports", status_code=201, responses={**REFUSED, 400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
            summary="A resident's report: what (a topic), where (a pole, or a position), words, up to three photos "
                    "and a phone for the reply (all optional); or `follow`, an open case of the same kind here. "
                    "Answers the tracking code, once")
    async def report(request: Request, topic: Annotated[str, Form(max_length=32)],
                     pole: Annotated[str | None, Form(max_length=40)] = None,
                     lon: Annotated[float | None, Form(ge=-180, le=180, allow_inf_nan=False)] = None,
                     lat: Annotated[float | None, Form(ge=-90, le=90, allow_inf_nan=False)] = None,
                     description: Annotated[str, Form(max_length=2000)] = "",
                     phone: Annotated[str | None, Form(max_length=32)] = None,
                     follow: Annotated[int | None, Form(ge=1, le=2**62)] = None,
                     lang: Annotated[Literal["zh-CN", "en"], Form()] = "zh-CN",
                     website: Annotated[str | None, Form(max_length=200, description="Leave empty")] = None,
                     photos: Annotated[list[UploadFile] | None, File(description="Up to three photos")] = None):
        files = photos or []
        if len(files) > MAX_PHOTOS:
            return refused(ResidentRefused(f"at most {MAX_PHOTOS} photos", key="refused.r.photos", max=MAX_PHOTOS))
        raws = [await f.read(MAX_PHOTO_BYTES + 1) for f in files]
        raws = [b for b in raws if b]  # a browser sends an empty part for a file input left empty
        try:
            category = brain.residents.category_of(topic)
            receipt = await run_in_threadpool(
                brain.residents.report, category=category, topic=topic, pole=pole, lon=lon, lat=lat,
                description=description, phone=phone, photos=raws, follow=follow, lang=lang,
                address=client_source(request.scope), honeypot=website, source=client_source(request.scope))
        except ResidentRefused as e:
            return refused(e)
        except IntakeError as e:
            return intake_refused(e)
        return {**receipt.as_dict(), "code": show_code(receipt.code), "url": f"/r/t/{receipt.code}"}

    @r.get("/track/{code}", responses={404: {"model": ErrorOut}, 429: REFUSED[429]},
           summary="A report's progress in a resident's words (steps, the team sent, the reply and the after photo "
                   "once closed); nothing personal, nothing of other reports")
    def track(request: Request, code: Code):
        if (busy := too_many(request)) is not None:
            return busy
        try:
            return brain.residents.track(code)
        except ResidentRefused as e:
            return refused(e)

    @r.post("/track/{code}/answer", responses=REFUSED,
            summary="The resident's answer to the reply of the closed case (the return visit)")
    def answer(request: Request, code: Code, body: AnswerIn):
        if (busy := too_many(request)) is not None:
            return busy
        try:
            return brain.residents.answer(code, body.satisfaction, source=client_source(request.scope))
        except ResidentRefused as e:
            return refused(e)

    @r.get("/track/{code}/photos/{photo_id}", responses={404: {"model": ErrorOut}},
           summary="A photo the tracking page shows (?thumb=1 for its thumbnail)")
    def photo(code: Code, photo_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], thumb: bool = False):
        try:
            data, content_type = brain.residents.photo(code, photo_id, thumb=thumb)
        except ResidentRefused as e:
            return refused(e)
        return Response(data, media_type=content_type, headers={"cache-control": "private, max-age=3600"})

    return r


def desk_router(brain: Brain) -> APIRouter:
    """The call-taker's side: a case's residents' reports, marking spam, and the counts."""
    r = APIRouter(prefix="/api/v1", tags=["residents"], responses={**GATE, **DENIALS})

    @r.get("/cases/{case_id}/reports", summary="The residents' reports of a case (phones masked unless the role "
                                               "may read personal data)")
    def reports(case_id: CaseId, who: Principal = Depends(requires(P.READ_CASES))):
        return brain.residents.reports_of(case_id, personal=who.can(P.READ_PERSONAL))

    @r.post("/cases/{case_id}/spam", responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
            summary="Mark the reports that opened a case as spam (kept and counted) and cancel it if not yet sent")
    def spam(request: Request, case_id: CaseId, body: SpamIn, who: Principal = Depends(requires(P.MOVE_CASE))):
        try:
            n = brain.residents.mark_spam(case_id, actor=who.actor, note=body.note,
                                          source=client_source(request.scope))
        except ResidentRefused as e:
            return refused(e)
        return {"case_id": case_id, "marked": n}

    @r.get("/plates.pdf", responses={422: {"model": ErrorOut}}, response_class=Response,
           summary="Printable pole plates (A4 label sheets): the poles named, or every pole of a committee")
    def plates(poles: Annotated[str | None, Query(max_length=4000, description="Numbers, comma-separated")] = None,
               committee: Annotated[str | None, Query(max_length=32)] = None,
               lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN",
               _who: Principal = Depends(requires(P.MANAGE_ACCOUNTS))):
        from geodata.plates import PlateError, poles_of, render

        try:
            chosen = poles_of(brain.gazetteer, numbers=[n.strip() for n in (poles or "").split(",") if n.strip()],
                              committee=committee)
            data = render(chosen, base_url=brain.settings.public_base_url, hotline=brain.settings.hotline, lang=lang)
        except PlateError as e:
            return JSONResponse({"error": str(e), "key": "refused.r.plates", "params": {}}, status_code=422)
        return Response(data, media_type="application/pdf",
                        headers={"content-disposition": 'attachment; filename="plates.pdf"'})

    @r.get("/residents/stats", summary="Residents' reports of the last days: new, following, spam, answered, by "
                                       "channel")
    def stats(days: Annotated[int, Query(ge=1, le=366)] = 7, _who: Principal = Depends(requires(P.READ_CASES))):
        return brain.residents.stats(utcnow() - timedelta(days=days))

    return r
