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

# Device type -> alarm types it can raise, with the default severity of each.
ALARM_TYPES: dict[str, dict[str, Severity]] = {
    "smoke": {"smoke": Severity.CRITICAL, "low_battery": Severity.WARNING},
    "gas": {"gas_leak": Severity.CRITICAL, "low_battery": Severity.WARNING},
    "water_meter": {"no_usage": Severity.MAJOR, "leak": Severity.MINOR},
    "door": {"no_activity": Severity.MAJOR},
    "elevator": {"trapped": Severity.CRITICAL, "fault": Severity.MAJOR},
    "fire_lane": {"blocked": Severity.MAJOR},
    "infrared": {"throw_from_height": Severity.MAJOR},
}

# Alarms about an elderly resident living alone showing no sign of life (welfare checks).
WELFARE_TYPES = frozenset({"no_usage", "no_activity"})

# A real alarm that needs people on site becomes a case of this category: (device type, alarm type) -> category.
ALARM_CATEGORY: dict[tuple[str, str], str] = {
    ("smoke", "smoke"): "E0606", ("gas", "gas_leak"): "E0606", ("elevator", "trapped"): "E0601",
    ("fire_lane", "blocked"): "E0603", ("infrared", "throw_from_height"): "E0604",
    ("door", "no_activity"): "E0607", ("water_meter", "no_usage"): "E0607"}
