"""Alarm severities and states."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


# Most severe first: the order alarm lists and the handover report use.
SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}


class AlarmState(StrEnum):
    ACTIVE = "active"  # raised, not acknowledged
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    CLOSED = "closed"


LIVE_STATES = frozenset({AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED})

OFFLINE = "offline"  # the alarm the brain raises itself for a device silent past its heartbeat interval

# Device type -> alarm types it can raise, with the default severity of each. Every type can also be
# OFFLINE: major where a dead sensor leaves a life unwatched (smoke, gas, an elderly resident's home).
ALARM_TYPES: dict[str, dict[str, Severity]] = {
    "smoke": {"smoke": Severity.CRITICAL, "low_battery": Severity.WARNING, OFFLINE: Severity.MAJOR},
    "gas": {"gas_leak": Severity.CRITICAL, "low_battery": Severity.WARNING, OFFLINE: Severity.MAJOR},
    "water_meter": {"no_usage": Severity.MAJOR, "leak": Severity.MINOR, OFFLINE: Severity.MAJOR},
    "door": {"no_activity": Severity.MAJOR, OFFLINE: Severity.MAJOR},
    "elevator": {"trapped": Severity.CRITICAL, "fault": Severity.MAJOR, OFFLINE: Severity.MINOR},
    "fire_lane": {"blocked": Severity.MAJOR, OFFLINE: Severity.MINOR},
    "infrared": {"throw_from_height": Severity.MAJOR, OFFLINE: Severity.MINOR},
}

# Sensors whose events are signs of life in an elderly resident's home, and the welfare alarm each raises.
WELFARE_SENSORS = {"door": "no_activity", "water_meter": "no_usage"}


class Rung(StrEnum):
    """The welfare ladder: each rung has its own timer; an unresolved rung climbs to the next."""

    CALL = "call"  # the duty operator calls the resident
    VISIT = "visit"  # a care worker goes to the door (a case, auto-dispatched)
    EMERGENCY = "emergency"  # critical: the wall takes over, emergency services are called


RUNG_STEPS = {1: Rung.CALL, 2: Rung.VISIT, 3: Rung.EMERGENCY}  # Alarm.rung -> its name

# Alarms about an elderly resident living alone showing no sign of life (welfare checks).
WELFARE_TYPES = frozenset(WELFARE_SENSORS.values())

# A real alarm that needs people on site becomes a case of this category: (device type, alarm type) -> category.
ALARM_CATEGORY: dict[tuple[str, str], str] = {
    ("smoke", "smoke"): "E0606", ("gas", "gas_leak"): "E0606", ("elevator", "trapped"): "E0601",
    ("fire_lane", "blocked"): "E0603", ("infrared", "throw_from_height"): "E0604",
    ("door", "no_activity"): "E0607", ("water_meter", "no_usage"): "E0607"}

# Alarms about a life: never damped for flapping (a repeat is grouped and the device marked, the alarm raised).
LIFE_SAFETY_TYPES = frozenset({"smoke", "gas_leak", "trapped"}) | WELFARE_TYPES
