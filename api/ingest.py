"""What devices and phones send, through the ingest pipeline: alarms, device heartbeats and staff positions (the
OsmAnd protocol); a refusal is recorded with its reason."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.common import DENIALS, GATE, INGEST_REFUSALS, PREFIX, Lat, Lon, error
from api.schemas import AlarmAccepted, AlarmIn, PositionAccepted, PositionIn, StatusAccepted, StatusIn
from api.security import requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.runtime import Brain


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, responses=GATE)

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
            return error(503, "the message could not be stored now; it has been logged: send it again",
                          field=out.reason)
        return error(422, out.detail or "refused", field=out.reason)

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
            return error(403, f"this account reports the position of {who.staff_id} only")
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


    return r
