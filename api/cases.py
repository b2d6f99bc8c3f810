"""Cases: intake by pole number or point, search, a case with its timeline, recommendations, assignment, workflow
moves and the resident's feedback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.common import DENIALS, GATE, PREFIX, CaseId, error
from api.ratelimit import RateLimiter
from api.schemas import (
    AssignIn,
    CaseCreatedOut,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePageOut,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    RecommendationOut,
    TransitionIn,
)
from api.security import client_source, requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.cases.enums import CaseStatus, Channel
from brain.cases.service import PersonalSearch
from brain.runtime import Brain


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, responses=GATE)

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
            return error(403, str(e))
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


    return r
