"""Alarms and devices for the operators: the live alarms, acknowledging and clearing, a welfare rung's outcome,
maintenance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.common import DENIALS, GATE, PREFIX, AlarmId
from api.schemas import (
    AlarmOut,
    DeviceOut,
    ErrorOut,
    MaintenanceIn,
    MaintenanceOut,
    WelfareOutcomeIn,
    WelfareOutcomeOut,
)
from api.security import requires
from brain.alarms.enums import AlarmState
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.runtime import Brain


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, responses=GATE)

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


    @r.post("/alarms/{alarm_id}/welfare", response_model=WelfareOutcomeOut,
            responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}, **DENIALS},
            summary="What a welfare rung found: the resident is fine, or was not reached (climb now)")
    def welfare_outcome(alarm_id: AlarmId, body: WelfareOutcomeIn, who: Principal = Depends(requires(P.HANDLE_ALARM))):
        return brain.monitor.record_outcome(alarm_id, body.outcome, actor=who.actor, note=body.note)

    @r.get("/devices", response_model=list[DeviceOut], responses=DENIALS, summary="IoT devices and their state",
           dependencies=[Depends(requires(P.VIEW_MAP))])
    def devices():
        return brain.alarms.devices()


    return r
