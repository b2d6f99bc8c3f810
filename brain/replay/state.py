"""The state of the district at an instant, folded from the event log: open cases with their stage and
stage clock, live alarms with their state, each person's duty status. Positions are not here: they come
from the position track (`brain.replay.service`).

The fold follows the same rules as the services that wrote the events (`CaseService.apply`: a deferral
stops the stage clock and a resumption moves it on by the pause; `AlarmService`: an alarm is live until it is
cleared), so the state at T equals what the live projection held at T."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from brain.alarms.enums import Rung, Severity
from brain.cases.enums import TERMINAL, CaseStatus

_MOVES = {s.value for s in CaseStatus}
_ENDS = {s.value for s in TERMINAL}
CASE_FIELDS = ("channel", "category", "priority", "lon", "lat", "pole", "grid", "committee", "department")


@dataclass
class State:
    """Open cases by id, live alarms by id and duty status by person; times as datetimes."""

    cases: dict[int, dict[str, Any]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    duty: dict[str, str] = field(default_factory=dict)

    def apply(self, type: str, subject_id: str, at: datetime, payload: dict) -> None:
        """Fold one logged event in (events in the order of their time, then of their writing)."""
        group = type.split(".", 1)[0]
        if group == "case":
            self._case(type, subject_id, at, payload)
        elif group == "alarm":
            self._alarm(type, subject_id, at, payload)
        elif type == "staff.status_changed" and payload.get("to"):
            self.duty[subject_id] = str(payload["to"])

    def _case(self, type: str, subject_id: str, at: datetime, p: dict) -> None:
        try:
            key = int(subject_id)
        except ValueError:
            return
        if type == "case.opened":
            self.cases[key] = {"id": key, "status": p.get("status") or CaseStatus.REPORTED.value,
                               **{k: p.get(k) for k in CASE_FIELDS}, "reported_at": at, "stage_started_at": at,
                               "deferred_at": None, "staff": None, "team": None, "rework": 0}
            return
        case = self.cases.get(key)
        if case is None:
            return
        if type == "case.assigned":
            case["staff"], case["team"] = p.get("staff_id"), p.get("team_id")
            return
        target = type.removeprefix("case.")
        if target not in _MOVES:
            return  # feedback, a resident's report, a failed auto-dispatch: no change of what is drawn
        if target in _ENDS:
            del self.cases[key]
            return
        current = case["status"]
        if target == CaseStatus.DEFERRED:
            case["deferred_at"] = at  # the stage clock stays where it was
        elif current == CaseStatus.DEFERRED:
            case["stage_started_at"] = case["stage_started_at"] + (at - (case["deferred_at"] or at))
            case["deferred_at"] = None
        else:
            case["stage_started_at"] = at
        if current == CaseStatus.HANDLED and target == CaseStatus.DISPATCHED:
            case["rework"] += 1
        case["status"] = target

    def _alarm(self, type: str, subject_id: str, at: datetime, p: dict) -> None:
        if type == "alarm.raised":
            self.alarms[subject_id] = {"id": subject_id, "device_id": p.get("device_id"), "type": p.get("type"),
                                       "severity": p.get("severity"), "state": "active", "first_at": at,
                                       "lon": p.get("lon"), "lat": p.get("lat"), "case_id": None}
            return
        alarm = self.alarms.get(subject_id)
        if alarm is None:
            return
        if type == "alarm.acknowledged":
            alarm["state"] = "acknowledged"
        elif type == "alarm.cleared":
            del self.alarms[subject_id]
        elif type == "alarm.escalated" and p.get("case_id") is not None:
            alarm["case_id"] = p["case_id"]
        elif type == "alarm.welfare_rung" and p.get("rung") == Rung.EMERGENCY.value:
            alarm["severity"], alarm["state"] = Severity.CRITICAL.value, "active"  # waits again, critical

    # --- keyframes: the state as JSON --------------------------------------------------------------
    def to_json(self) -> dict:
        def plain(d: dict) -> dict:
            return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in d.items()}

        return {"cases": [plain(c) for c in self.cases.values()], "alarms": [plain(a) for a in self.alarms.values()],
                "duty": dict(self.duty)}

    @classmethod
    def from_json(cls, data: dict) -> State:
        def timed(d: dict, keys: tuple[str, ...]) -> dict:
            return {k: datetime.fromisoformat(v) if k in keys and v else v for k, v in d.items()}

        cases = [timed(c, ("reported_at", "stage_started_at", "deferred_at")) for c in data.get("cases", [])]
        alarms = [timed(a, ("first_at",)) for a in data.get("alarms", [])]
        return cls(cases={int(c["id"]): c for c in cases}, alarms={str(a["id"]): a for a in alarms},
                   duty=dict(data.get("duty", {})))

    def pack(self) -> bytes:
        """The state as a keyframe stores it: compact JSON, compressed (a week of hourly keyframes of a busy
        district is tens of megabytes as plain JSON)."""
        return zlib.compress(json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False).encode(), 6)

    @classmethod
    def unpack(cls, data: bytes) -> State:
        return cls.from_json(json.loads(zlib.decompress(data)))

    def copy(self) -> State:
        return State(cases={k: dict(v) for k, v in self.cases.items()},
                     alarms={k: dict(v) for k, v in self.alarms.items()}, duty=dict(self.duty))
