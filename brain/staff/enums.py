"""Duty states of a staff member."""

from __future__ import annotations

from enum import StrEnum


class DutyStatus(StrEnum):
    AVAILABLE = "available"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


class TravelMode(StrEnum):
    WALK = "walk"
    CYCLE = "cycle"
    VEHICLE = "vehicle"


SPEED_M_S = {TravelMode.WALK: 1.3, TravelMode.CYCLE: 4.0, TravelMode.VEHICLE: 8.0}
