"""Synthetic case history: whole closed loops over past days, written in bulk as case rows, their
events and their KPI facts (derived from those events by the same `derive()` the live projector uses).

The demo starts with a month of it, so the leaders' screens have something to show; the KPI benchmark
writes a million cases with it. History is not people's actions, so it writes no audit rows; every
event carries the actor ``sim:history``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import numpy as np
from sqlalchemy import Table, delete, func, insert, select, text

from brain.cases.catalogue import Catalogue
from brain.cases.enums import CaseStatus as S
from brain.cases.models import Case
from brain.cases.workflow import TimeLimitPolicy
from brain.events.models import EventRecord
from brain.kpi.facts import CaseFacts, Step, derive
from brain.replay.models import Keyframe
from brain.sim.simulator import CASES_PER_DAY, CHANNELS, HOURLY_PROFILE, SHANGHAI
from brain.storage.db import Database
from geodata.district import District

ACTOR = "sim:history"
# The share of each stage's limit a case typically takes (lognormal around it): most are on time.
TYPICAL_SHARE = {"register": 0.25, "dispatch": 0.3, "arrive": 0.4, "handle": 0.35, "verify": 0.3, "close": 0.3}
STAGE_TARGET = {"register": S.REGISTERED, "dispatch": S.DISPATCHED, "arrive": S.HANDLING, "handle": S.HANDLED,
                "verify": S.VERIFIED, "close": S.CLOSED}
CANCEL_SHARE, DEFER_SHARE, REWORK_SHARE, FEEDBACK_SHARE = 0.03, 0.06, 0.07, 0.6
SATISFACTION_P = (("satisfied", 0.78), ("basically_satisfied", 0.16), ("dissatisfied", 0.06))


@dataclass
class Batch:
    cases: list[dict]
    events: list[dict]
    facts: list[dict]


class HistoryGenerator:
    """Deterministic for a seed; `batches()` yields rows to write, oldest cases first."""

    def __init__(self, district: District, catalogue: Catalogue, policy: TimeLimitPolicy, *, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.catalogue = catalogue
        self.policy = policy
        poles = district.poles
        self.poles = list(zip(poles["number"].astype(str), poles.geometry.x.round(6), poles.geometry.y.round(6),
                              poles["grid"], poles["committee"], strict=True))
        self.channels = list(CHANNELS)
        p = np.array([CHANNELS[c][0] for c in self.channels])
        self.channel_p = p / p.sum()
        self.staff = [(s["id"], s["team_id"]) for s in district.staff] if district.staff else [(None, None)]

    def _times(self, n: int, start: datetime, end: datetime) -> np.ndarray:
        """n report times between start and end following the daily intake profile (local hours)."""
        span = (end - start).total_seconds()
        out = np.empty(n)
        got = 0
        while got < n:
            t = self.rng.uniform(0, span, size=2 * (n - got))
            hours = np.array([(start + timedelta(seconds=float(s))).astimezone(SHANGHAI).hour for s in t])
            keep = t[self.rng.uniform(0, HOURLY_PROFILE.max(), size=len(t)) < HOURLY_PROFILE[hours]]
            take = keep[: n - got]
            out[got:got + len(take)] = take
            got += len(take)
        return np.sort(out)

    def batches(self, *, start: datetime, end: datetime, first_id: int, now: datetime, per_day: float = CASES_PER_DAY,
                batch: int = 5000, finish_by: datetime | None = None) -> Iterator[Batch]:
        """Cases reported between start and end; each moves on until `now`, or, with `finish_by`, is
        closed (or cancelled) by then, its last stages shortened where they would run past it."""
        days = (end - start).total_seconds() / 86400
        n = round(per_day * days)
        offsets = self._times(n, start, end) if n else np.array([])
        for lo in range(0, n, batch):
            out = Batch([], [], [])
            for i in range(lo, min(n, lo + batch)):
                self._one(out, first_id + i, start + timedelta(seconds=float(offsets[i])), now, finish_by)
            yield out

    @staticmethod
    def _squeeze(prev: datetime, t: datetime, finish_by: datetime | None) -> datetime:
        """`t`, or halfway from `prev` to `finish_by` where `t` would run past it."""
        if finish_by is None or t <= finish_by:
            return t
        return prev + (max(finish_by, prev) - prev) / 2

    def _one(self, out: Batch, case_id: int, t0: datetime, now: datetime, finish_by: datetime | None) -> None:
        rng = self.rng
        channel = self.channels[int(rng.choice(len(self.channels), p=self.channel_p))]
        category = str(rng.choice(CHANNELS[channel][2]))
        cat = self.catalogue.get(category)
        number, lon, lat, grid, committee = self.poles[int(rng.integers(0, len(self.poles)))]
        limits = self.policy.limits(category, cat.priority.value).minutes
        events: list[tuple[str, datetime, dict]] = [("case.opened", t0, {
            "channel": channel.value, "category": category, "priority": cat.priority.value, "lon": float(lon),
            "lat": float(lat), "pole": number, "grid": grid, "committee": committee, "department": cat.department,
            "status": "reported"})]
        t = t0
        state = "reported"
        staff_id = team_id = None
        cancelled = rng.random() < CANCEL_SHARE
        deferred = rng.random() < DEFER_SHARE
        rework = rng.random() < REWORK_SHARE
        stages = ["register", "dispatch", "arrive", "handle", "verify", "close"]
        i = 0
        while i < len(stages):
            stage = stages[i]
            minutes = limits[stage] * TYPICAL_SHARE[stage] * float(rng.lognormal(0.0, 0.8))
            t = self._squeeze(t, t + timedelta(minutes=minutes), finish_by)
            if t > now:
                break
            if stage == "dispatch" and cancelled:
                events.append(("case.cancelled", t, {"from": "registered", "to": "cancelled",
                                                     "note": "not our responsibility"}))
                state = "cancelled"
                break
            if stage == "dispatch" and deferred:
                events.append(("case.deferred", t, {"from": "registered", "to": "deferred", "note": "waiting"}))
                state = "deferred"
                t = self._squeeze(t, t + timedelta(hours=float(rng.uniform(1, 24))), finish_by)
                if t > now:
                    break
                events.append(("case.registered", t, {"from": "deferred", "to": "registered"}))
                state = "registered"
                deferred = False
                continue
            target = STAGE_TARGET[stage]
            events.append((f"case.{target.value}", t, {"from": state, "to": target.value}))
            state = target.value
            if target is S.DISPATCHED and staff_id is None:
                staff_id, team_id = self.staff[int(rng.integers(0, len(self.staff)))]
                events.append(("case.assigned", t, {"staff_id": staff_id, "team_id": team_id,
                                                    "distance_m": round(float(rng.gamma(2.0, 180.0)), 1)}))
            if stage == "verify" and rework:
                # verification failed: back to dispatched, through arrival and handling again
                events[-1] = ("case.dispatched", t, {"from": "handled", "to": "dispatched", "note": "整改不到位"})
                state = "dispatched"
                rework = False
                i = stages.index("arrive")
                continue
            i += 1
        if state == "closed" and rng.random() < FEEDBACK_SHARE:
            ft = events[-1][1] + timedelta(hours=float(rng.uniform(1, 48)))
            if ft <= now:
                r = rng.random()
                sat = "satisfied" if r < SATISFACTION_P[0][1] else (
                    "basically_satisfied" if r < SATISFACTION_P[0][1] + SATISFACTION_P[1][1] else "dissatisfied")
                events.append(("case.feedback", ft, {"satisfaction": sat}))
        steps = [Step(type=e[0], at=e[1], payload=e[2]) for e in events]
        facts = derive(case_id, steps, self.policy)
        assert facts is not None
        status = facts["status"]
        last_move = max((e[1] for e in events if e[0] not in ("case.feedback", "case.assigned")), default=t0)
        stamp = {"registered_at": facts["registered_at"], "dispatched_at": facts["dispatched_at"],
                 "arrived_at": facts["arrived_at"], "handled_at": facts["handled_at"],
                 "closed_at": facts["closed_at"]}
        verified = [e[1] for e in events if e[0] == "case.verified"]
        out.cases.append({
            "id": case_id, "channel": channel.value, "category": category, "priority": cat.priority.value,
            "status": status, "description": "", "lon": float(lon), "lat": float(lat), "pole_number": number,
            "grid_code": grid, "committee_code": committee, "department": cat.department, "device_id": None,
            "assigned_team_id": team_id, "assigned_staff_id": staff_id, "rework_count": facts["rework"],
            "deferred_seconds": facts["deferred_s"], "version": len(events), "reported_at": t0,
            "verified_at": verified[-1] if verified else None,
            "cancelled_at": last_move if status == "cancelled" else None,
            "deferred_at": last_move if status == "deferred" else None,
            "deferred_from": "registered" if status == "deferred" else None,
            "stage_started_at": last_move, "updated_at": last_move, **stamp})
        for typ, at, payload in events:
            out.events.append({"id": uuid.uuid4().hex, "type": typ, "at": at, "actor": ACTOR, "subject_type": "case",
                               "subject_id": str(case_id), "correlation_id": None, "payload": payload})
        out.facts.append(facts)


def write(db: Database, gen: HistoryGenerator, *, start: datetime, end: datetime, now: datetime,
          per_day: float = CASES_PER_DAY, batch: int = 5000, finish_by: datetime | None = None) -> tuple[int, int]:
    """Write the history between start and end; returns (cases, events)."""
    with db.read() as s:
        first = int(s.scalar(select(func.max(Case.id))) or 0) + 1
    cases = events = 0
    for b in gen.batches(start=start, end=end, first_id=first, now=now, per_day=per_day, batch=batch,
                         finish_by=finish_by):
        with db.transaction() as s:
            if b.cases:
                s.execute(insert(cast(Table, Case.__table__)), b.cases)
                s.execute(insert(cast(Table, EventRecord.__table__)), b.events)
                s.execute(insert(cast(Table, CaseFacts.__table__)), b.facts)
            if b.cases:  # events of past times: keyframes built before them are wrong now
                s.execute(delete(Keyframe))
        cases += len(b.cases)
        events += len(b.events)
    if db.engine.dialect.name == "postgresql" and cases:
        with db.transaction() as s:  # explicit ids: move the sequence past them
            s.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    return cases, events
