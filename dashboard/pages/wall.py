"""/wall: the control room's video wall. The takeover banner, the counters with their freshness, the latest
cases, and the district map filling the rest; critical alarms nobody has acknowledged take the map over
(dashboard/live.takeover) until they are acknowledged."""

from __future__ import annotations

from dashboard.live import map_frame, status_strip


def body(brain, locale: str) -> list:
    return [*status_strip(brain, locale), map_frame(brain, locale, path="/wall")]
