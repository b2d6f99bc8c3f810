"""Duty states of a staff member."""

from __future__ import annotations

from enum import StrEnum


class DutyStatus(StrEnum):
    AVAILABLE = "available"
    RETURNING = "returning"  # a case handled, on the way back: may be sent again (nearly available)
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


# who may be sent a case: the available, and those on their way back from one
READY = frozenset({DutyStatus.AVAILABLE, DutyStatus.RETURNING})
BUSY = frozenset({DutyStatus.EN_ROUTE, DutyStatus.ON_SCENE})


class TravelMode(StrEnum):
    WALK = "walk"
    CYCLE = "cycle"
    VEHICLE = "vehicle"


SPEED_M_S = {TravelMode.WALK: 1.3, TravelMode.CYCLE: 4.0, TravelMode.VEHICLE: 8.0}
