"""Poles by number and nearest, places (personal data masked; unmasking audited) and the staff list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request

from api.common import DENIALS, GATE, PREFIX, Lat, Lon, error
from api.schemas import ErrorOut, NearestPoleOut, PlaceOut, PoleOut, StaffOut, UnmaskIn
from api.security import client_source, requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.runtime import Brain


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, responses=GATE)

    @r.get("/poles/nearest", response_model=NearestPoleOut, responses={404: {"model": ErrorOut}, **DENIALS},
           summary="The nearest pole to a point (within 500 m)", dependencies=[Depends(requires(P.VIEW_MAP))])
    def nearest_pole(lon: Lon, lat: Lat):
        where = brain.gazetteer.locate(lon, lat)
        found = brain.gazetteer.nearest_pole(lon, lat)
        if found is None:
            msg = "no pole within 500 m" + ("" if where.inside else "; the point is outside the district")
            return error(404, msg, inside=where.inside)
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


    return r
