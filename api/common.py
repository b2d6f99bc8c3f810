"""What every router of the API shares: the prefix, the answers a route may give besides its own, the
types of its common parameters, and the JSON error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import JSONResponse

from api.schemas import ErrorOut

PREFIX = "/api/v1"
DENIALS = {401: {"model": ErrorOut, "description": "no session and no valid Bearer token"},
           403: {"model": ErrorOut, "description": "the role may not do this"}}
# the gate refuses, before any route, text no database can store and JSON nested too deep (400)
GATE = {400: {"model": ErrorOut, "description": "refused at the gate: unstorable text, not UTF-8, or JSON nested "
                                                "too deep"}}
INGEST_REFUSALS = {422: {"model": ErrorOut, "description": "refused, with the reason (recorded)"},
                   503: {"model": ErrorOut, "description": "could not be stored now (logged): send it again"}}
Lon = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS-84 longitude")]
Lat = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="WGS-84 latitude")]
AlarmId = Annotated[str, Path(max_length=40, description="Alarm id")]
CaseId = Annotated[int, Path(ge=1, le=2**62, description="Case number")]


def error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message, **extra})
