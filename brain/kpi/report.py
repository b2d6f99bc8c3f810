"""The shift-handover report: what the next shift takes over, as data (the HTML is the API's)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from brain.alarms.enums import SEVERITY_RANK, AlarmState
from brain.kpi.service import Figure, window
from brain.staff.enums import DutyStatus

OVERDUE_LISTED = 40
ALARMS_LISTED = 40
TODAY_KEYS = ("reported", "registered", "dispatched", "closed", "on_time_closure_rate", "overdue_now")


@dataclass
class Handover:
    at: datetime
    window_label: str
    today: dict[str, Figure]
    open_by_status: dict[str, int]
    overdue: list  # CaseView, longest over first (the first OVERDUE_LISTED)
    overdue_total: int
    at_risk: int
    alarms: list  # unacknowledged live alarms (AlarmView), most severe and oldest first
    acknowledged_alarms: int
    teams: list[dict]  # {id, name, department, <duty status>: n}


def handover(brain, now: datetime) -> Handover:
    """Open cases, overdue ones, unacknowledged alarms and team states now; today's figures so far."""
    w = window("today", now=now, tz=brain.settings.display_tz)
    figs = brain.kpi.figures(brain.kpi.frame(w), now)
    cases = brain.cases.open_cases()
    overdue = sorted((c for c in cases if c.overdue(now)), key=lambda c: c.stage_due_at)
    live = brain.alarms.live()
    unacked = sorted((a for a in live if a.state == AlarmState.ACTIVE.value),
                     key=lambda a: (SEVERITY_RANK.get(a.severity, 9), a.first_at))
    by_team: dict[str, Counter] = {}
    for s in brain.staff.roster():
        by_team.setdefault(s.team_id, Counter())[s.status] += 1
    teams = [{"id": t["id"], "name": t["name"], "department": t["department"],
              **{d.value: by_team.get(t["id"], Counter())[d.value] for d in DutyStatus}}
             for t in brain.district.teams]
    return Handover(at=now, window_label=w.label, today={k: figs[k] for k in TODAY_KEYS},
                    open_by_status=dict(Counter(c.status for c in cases)), overdue=overdue[:OVERDUE_LISTED],
                    overdue_total=len(overdue),
                    at_risk=sum(1 for c in cases if c.at_risk(now)), alarms=unacked[:ALARMS_LISTED],
                    acknowledged_alarms=sum(1 for a in live if a.state == AlarmState.ACKNOWLEDGED.value),
                    teams=teams)
