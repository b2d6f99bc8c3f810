"""Nearest suitable team: recommend() and assign(), auto-dispatch of urgent sensor cases.

recommend() ranks the staff who may be sent (available, or on their way back from a case they handled,
marked), whose team's duties cover the case's category, by distance in metres (along the roads where the
network is loaded, else straight in the metric CRS), fresh positions before stale ones, and says why each
nearby person was left out. assign() is one transaction that checks the case version, dispatches the case,
puts the person en route and notifies on the bus.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import NamedTuple

import numpy as np
from sqlalchemy import Integer, cast, select
from sqlalchemy.orm.exc import StaleDataError

from brain.cases.catalogue import Catalogue
from brain.cases.enums import CaseStatus, Channel, Priority
from brain.cases.models import Case
from brain.cases.service import CaseService, CaseView, VersionConflict
from brain.cases.workflow import TransitionRefused
from brain.dispatch import kernel
from brain.dispatch.index import OFF_DUTY_CODE, READY_CODE, RETURNING_CODE, StaffIndex
from brain.dispatch.kernel import Scratch, first_radius, nearest_by_road
from brain.dispatch.roads import RoadNetwork
from brain.dispatch.workload import Workload
from brain.events.bus import Following
from brain.events.kinds import EventType
from brain.events.log import Unit
from brain.events.models import EventRecord
from brain.events.types import Event
from brain.refusal import Refusal
from brain.staff.enums import READY
from brain.staff.models import Staff, Team
from brain.staff.service import StaffService, StaffView
from brain.storage.db import utcnow
from geodata.crs import haversine_m
from geodata.district import District

log = logging.getLogger(__name__)
DEFAULT_MAX_DISTANCE_M = 3000.0
MIN_RADIUS_M = 150.0
MAX_EXCLUDED = 20
AUTO_ACTOR = "system:auto-dispatch"
# why someone near was left out, by the compiled ranking's codes (kernel.OFF_DUTY ... TOO_FAR_BY_ROAD)
REASONS = ("off_duty", "busy", "wrong_duty", "position_stale", "too_far_by_road")


class AssignRefused(Refusal):
    """An assignment that cannot be made (wrong state, person busy or unsuitable), in words (and its
    catalogue key)."""


class Candidate(NamedTuple):
    staff_id: str
    team_id: str
    distance_m: float
    straight_m: float
    eta_s: float
    mode: str
    workload: int = 0
    stale: bool = False  # the last position is older than twice the person's interval: ranked after the fresh
    returning: bool = False  # on the way back from a case they handled: may be sent, from where they are now


class Excluded(NamedTuple):
    staff_id: str
    team_id: str
    reason: str  # off_duty | busy | wrong_duty | position_stale | too_far_by_road
    straight_m: float


@dataclass
class Recommendation:
    case_id: int | None
    metric: str  # "road" (walking distance along the network) or "straight" (metric CRS)
    max_distance_m: float
    ranked: list[Candidate] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)

    def as_dict(self) -> dict:
        """For the API: distances to the decimetre, times to the tenth of a second."""
        def rounded(d: dict) -> dict:
            return {k: round(v, 1) if isinstance(v, float) else v for k, v in d.items()}

        return {"case_id": self.case_id, "metric": self.metric, "max_distance_m": self.max_distance_m,
                "ranked": [rounded(c._asdict()) for c in self.ranked],
                "excluded": [rounded(e._asdict()) for e in self.excluded]}


def records(kind: type, *columns: list) -> list:
    """Records of `kind` (a NamedTuple) from its columns, in order, made without a Python call for each (a
    ranking's few dozen records cost more as calls than the ranking itself)."""
    return list(map(tuple.__new__, repeat(kind), zip(*columns, strict=True)))


class Ranker:
    """The in-memory half of recommend(): eligibility and distance ranking over the staff index."""

    def __init__(self, district: District, *, use_roads: bool = True,
                 max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> None:
        self.crs = district.crs
        self.max_distance_m = max_distance_m
        self.roads = RoadNetwork(district) if use_roads and len(district.roads) else None
        self.index = StaffIndex(self.crs, roads=self.roads)
        self.workload = Workload()  # who holds how many active cases (DispatchService keeps it current)
        self._scratch = threading.local()  # each ranking thread's own
        self._projects = len(self.crs.compiled) > 0  # the compiled ranking projects its point itself

    def _kernel_scratch(self, people: int) -> tuple:
        assert self.roads is not None
        mine = getattr(self._scratch, "s", None)
        if mine is None:
            mine = self._scratch.s = Scratch((self.crs.compiled, *self.roads.kernel_args), self.roads.n,
                                             len(self.roads.graph.indices))
        return mine.args(people)

    def warm(self) -> None:
        """Compile the ranking by road now (about 5 s the first time on a machine; numba keeps the result in
        `__pycache__`, so later starts load it in a fraction of a second) rather than on a dispatcher's first
        card."""
        if self.roads is not None:  # (an empty index of its own: the staff may be loading meanwhile)
            x, y = (float(v) for v in self.roads.edges[0].coords[0])
            x, y = self.crs.to_wgs84(x, y) if self._projects else (x, y)
            nearest_by_road(x, y, 1, 100.0, 100.0, 1, *StaffIndex(self.crs).kernel_args("", 0.0, None)[0],
                            *self._kernel_scratch(0))

    def rank(self, lon: float, lat: float, category: str, *, now: datetime | None = None,
             max_distance_m: float | None = None, limit: int = 10, exclude: set[str] | None = None
             ) -> Recommendation:
        """Rank suitable staff who may be sent (available or returning), fresh, near a point for a category (in
        memory, no database).

        The search starts where `limit` suitable people are expected and widens until they are found or
        `max_distance_m` is reached; by road, until no one farther in a straight line could still be nearer
        (the compiled `nearest_by_road`). Fewer fresh than asked for: the nearest whose position is stale
        come after them, marked. The nearby people left out are said with why.
        """
        now_s = now.timestamp() if now is not None else time.time()  # (utcnow's clock, without a datetime)
        limit_m = max_distance_m or self.max_distance_m
        if self.roads is None:
            x, y = self.crs.to_metric(lon, lat)
            ranked, left_out = self._straight(x, y, category, now_s, limit, limit_m, exclude)
            ranked_labels, left_labels = self.index.labels(ranked[:, 0]), self.index.labels(left_out[:, 0])
        else:
            staff, placed = self.index.kernel_args(category, now_s, exclude)
            qx, qy = (lon, lat) if self._projects else self.crs.to_metric(lon, lat)
            ranked, left_out, places, x, y = nearest_by_road(qx, qy, limit, limit_m, MIN_RADIUS_M, MAX_EXCLUDED,
                                                             *staff, *self._kernel_scratch(len(staff[4])))
            n = len(ranked)
            ids, teams, modes = StaffIndex.placed(placed, places)
            ranked_labels, left_labels = (ids[:n], teams[:n], modes[:n]), (ids[n:], teams[n:], modes[n:])
        # ranked: [place, distance, straight, eta, status code, row]; left out: [place, straight, reason code, row]
        n_fresh = len(ranked)
        if n_fresh < limit:
            stale = self._stale(x, y, category, now_s, exclude, limit - n_fresh, limit_m)
            if len(stale):  # (rare: fewer fresh than asked for)
                ranked = np.concatenate([ranked, stale])
                (ids, teams, modes), (s_ids, s_teams, s_modes) = ranked_labels, self.index.labels(stale[:, 5])
                ranked_labels = ids + s_ids, teams + s_teams, modes + s_modes
                keep = (~np.isin(left_out[:, 3], stale[:, 5])).tolist()
                left_out = left_out[np.array(keep, dtype=bool)]
                ids, teams, modes = ([v for v, k in zip(vs, keep, strict=True) if k] for vs in left_labels)
                left_labels = ids, teams, modes
        _place, distance, straight, eta, status, _row = ranked.T.tolist()
        ids, teams, modes = ranked_labels
        rec = Recommendation(case_id=None, metric="road" if self.roads else "straight", max_distance_m=limit_m)
        rec.ranked = records(Candidate, ids, teams, distance, straight, eta, modes, self.workload.counts(ids),
                             [False] * n_fresh + [True] * (len(ids) - n_fresh),
                             list(map(float(RETURNING_CODE).__eq__, status)))
        _place, straight, reason, _row = left_out.T.tolist()
        ids, teams, _modes = left_labels
        rec.excluded = records(Excluded, ids, teams, list(map(REASONS.__getitem__, map(int, reason))), straight)
        return rec

    def _straight(self, x: float, y: float, category: str, now_s: float, limit: int, limit_m: float,
                  exclude: set[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """In a straight line: (ranked, left out) as the compiled ranking gives them (`nearest_by_road`), with
        rows where it gives places."""
        idx = self.index
        radius = first_radius(limit, idx.density(category), 1.5, MIN_RADIUS_M, limit_m)
        while True:
            rows, straight = idx.within(x, y, radius)  # nearest first, ties by id
            ok = idx.eligible(category, now_s)[rows]
            if exclude:
                ok &= ~np.isin(idx.ids(rows), list(exclude))
            if int(ok.sum()) >= limit or radius >= limit_m:
                break
            radius = min(limit_m, radius * 2.0)
        picked = np.flatnonzero(ok)[:limit]
        chosen, d = rows[picked], straight[picked]
        ranked = np.c_[chosen, d, d, d / idx.speeds(chosen), idx.status[chosen], chosen]
        cut = float(d[-1]) if len(d) else radius
        near = np.flatnonzero(~ok & (straight <= cut))
        if exclude:
            near = near[~np.isin(idx.ids(rows[near]), list(exclude))]
        near = near[:MAX_EXCLUDED]
        return ranked, np.c_[rows[near], straight[near], self._reasons(rows[near], category), rows[near]]

    def _reasons(self, rows: np.ndarray, category: str) -> np.ndarray:
        """Why each of these people may not be ranked (each is not eligible), as the compiled ranking's codes."""
        idx = self.index
        return kernel.reasons(idx.status[rows], idx.duty_mask(category)[rows], OFF_DUTY_CODE, READY_CODE)

    def _stale(self, x: float, y: float, category: str, now_s: float, exclude: set[str] | None, room: int,
               limit_m: float) -> np.ndarray:
        """Up to `room` suitable people who may be sent (available or returning) whose position is stale, within
        the limit, nearest first, ties by id, as the ranked rows of `nearest_by_road` (row, distance by road where
        the district has roads, straight distance, ETA, status code, row): a dispatcher sees them, marked, after
        everyone fresh, rather than not at all."""
        idx = self.index
        rows, straight = idx.within(x, y, limit_m)
        t = idx.times(rows)
        pick = np.flatnonzero(idx.ready()[rows] & idx.duty_mask(category)[rows]
                              & np.isfinite(t) & ~idx.eligible(category, now_s)[rows])
        if exclude:
            pick = pick[~np.isin(idx.ids(rows[pick]), list(exclude))]
        if not len(pick):
            return np.zeros((0, 6))
        dist = straight[pick]
        if self.roads is not None:
            xs, ys = idx.xy(rows[pick])
            dist = self.roads.distances(x, y, xs, ys, limit=limit_m)
        keep = dist <= limit_m
        pick, dist = pick[keep], dist[keep]
        order = np.lexsort((rows[pick], dist))[:room]
        chosen = rows[pick[order]]
        return np.c_[chosen, dist[order], straight[pick[order]], dist[order] / idx.speeds(chosen),
                     idx.status[chosen], chosen]


class DispatchService(Following):
    def __init__(self, *, cases: CaseService, staff: StaffService, catalogue: Catalogue, district: District,
                 use_roads: bool = True, max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> None:
        super().__init__()
        self.cases = cases
        self.staff = staff
        self.store = cases.store
        self.catalogue = catalogue
        self.ranker = Ranker(district, use_roads=use_roads, max_distance_m=max_distance_m)
        self.index = self.ranker.index
        self.workload = self.ranker.workload
        # what a re-assignment changes beyond the case, in its transaction (brain.flows.Flows.reassigned)
        self.followers: list[Callable[[Unit, Case, Staff, str | None, datetime], None]] = []

    # --- keeping the index current ----------------------------------------------------------
    def load(self) -> None:
        threading.Thread(target=self.ranker.warm, name="dispatch-warm", daemon=True).start()
        self.index.load(self.staff.roster())
        with self.store.db.read() as s:
            self.workload.load(s)

    def _handlers(self) -> dict[str, Callable]:
        """Follow staff moves and status changes, and who holds which case; auto-dispatch."""
        moves = {EventType.case_move(s).value: self._on_case_moved for s in CaseStatus if s is not CaseStatus.REPORTED}
        return {"staff.moved": self._on_moved, "staff.status_changed": self._on_status,
                EventType.CASE_ASSIGNED.value: self._on_assigned, **moves, "case.opened": self._on_opened}

    def _on_assigned(self, e: Event) -> None:
        self.workload.assigned(int(e.subject_id), str(e.payload["staff_id"]))

    def _on_case_moved(self, e: Event) -> None:
        self.workload.moved(int(e.subject_id), str(e.payload["to"]))

    def _on_moved(self, e: Event) -> None:
        p = e.payload
        self.index.move(e.subject_id, p["lon"], p["lat"], datetime.fromisoformat(p["at"]))

    def _on_status(self, e: Event) -> None:
        self.index.set_status(e.subject_id, e.payload["to"])

    # --- recommend --------------------------------------------------------------------------
    def recommend_at(self, lon: float, lat: float, category: str, **kwargs) -> Recommendation:
        """Rank suitable staff who may be sent near a point (see `Ranker.rank`)."""
        return self.ranker.rank(lon, lat, category, **kwargs)

    def everyone_for(self, case_id: int, *, limit: int = 20) -> list[tuple[StaffView, float | None]]:
        """Every person whose team takes the case's category, whatever their state or distance, with the
        straight-line distance to the case (None without a position): who may be sent first (available or
        returning), then the nearest, ties by id. What a dispatcher picks from when nobody is recommended."""
        case = self.cases.get(case_id)
        out = []
        for s in self.staff.roster():
            if not Catalogue.covers(list(s.duties), case.category):
                continue
            d = None if s.lon is None or s.lat is None else float(haversine_m(case.lon, case.lat, s.lon, s.lat))
            out.append((s, d))
        out.sort(key=lambda p: (p[0].status not in READY, p[1] is None, p[1] or 0.0, p[0].id))
        return out[:limit]

    def recommend(self, case_id: int, *, limit: int = 10, max_distance_m: float | None = None) -> Recommendation:
        """Ranked suitable staff for a case, with each one's current workload (in memory, see `Workload`); and
        who was left out, why."""
        case = self.cases.get(case_id)
        rec = self.recommend_at(case.lon, case.lat, case.category, limit=limit, max_distance_m=max_distance_m,
                                exclude={case.assigned_staff_id} if case.assigned_staff_id else None)
        rec.case_id = case_id
        return rec

    # --- assign -----------------------------------------------------------------------------
    def assign(self, case_id: int, *, actor: str, version: int | None, staff_id: str | None = None,
               team_id: str | None = None, reason: str | None = None, source: str | None = None,
               auto: bool = False) -> CaseView:
        """Dispatch a case to a person (or a team: its nearest suitable member) in one transaction.

        Registered (or just reported) cases become dispatched; a case already dispatched is re-assigned
        only with a reason, logged as an override. Emits ``case.dispatched`` and ``case.assigned``; the
        person's task and duty status follow in the same transaction (brain.flows). A stale `version`
        raises VersionConflict: two dispatchers never both win.
        """
        if not staff_id and not team_id:
            raise AssignRefused("give staff_id or team_id", key="refused.assign.whom")
        if staff_id is None:
            seen = self.cases.get(case_id)
            rec = self.recommend_at(seen.lon, seen.lat, seen.category)
            members = [c for c in rec.ranked if c.team_id == team_id]
            if not members:
                raise AssignRefused(f"team {team_id} has no available member suitable for {seen.category} nearby",
                                    key="refused.assign.team_nobody", team=team_id)
            staff_id = members[0].staff_id
        now = utcnow()
        try:
            with self.store.unit(actor, source=source) as u:
                case = self.cases.locked(u, case_id, version)
                person = u.session.get(Staff, staff_id, with_for_update=True)
                if person is None:
                    raise AssignRefused(f"no staff member {staff_id}", key="refused.assign.no_staff", staff=staff_id)
                team = u.session.get(Team, person.team_id)
                if team_id and person.team_id != team_id:
                    raise AssignRefused(f"{staff_id} is not in team {team_id}", key="refused.assign.not_in_team",
                                        staff=staff_id, team=team_id)
                if not Catalogue.covers(list(team.duties if team else []), case.category):
                    raise AssignRefused(f"{staff_id}'s team does not take {case.category} cases",
                                        key="refused.assign.duty", staff=staff_id)
                if person.status not in READY:
                    raise AssignRefused(f"{staff_id} is {person.status}, not available", key="refused.assign.busy",
                                        staff=staff_id, duty=person.status)
                status = CaseStatus(case.status)
                previous = case.assigned_staff_id
                override = status is CaseStatus.DISPATCHED
                if override and not (reason and reason.strip()):
                    raise AssignRefused("the case is already dispatched: overriding needs a reason",
                                        key="refused.assign.override")
                if status is CaseStatus.REPORTED:
                    self.cases.apply(u, case, CaseStatus.REGISTERED, note=None, now=now)
                    status = CaseStatus.REGISTERED
                if status not in (CaseStatus.REGISTERED, CaseStatus.DISPATCHED):
                    raise AssignRefused(f"a case that is {status} cannot be assigned", key="refused.assign.stage",
                                        status=status.value)
                case.assigned_staff_id, case.assigned_team_id = person.id, person.team_id
                if status is CaseStatus.REGISTERED:
                    self.cases.apply(u, case, CaseStatus.DISPATCHED, note=reason, now=now,
                                     extra={"staff_id": person.id, "team_id": person.team_id, "auto": auto})
                else:
                    case.updated_at = now
                    u.session.flush()
                away = (None if person.lon is None or person.lat is None
                        else round(float(haversine_m(person.lon, person.lat, case.lon, case.lat)), 1))
                u.emit(EventType.CASE_ASSIGNED, "case", case.id, {
                    "staff_id": person.id, "team_id": person.team_id, "previous_staff_id": previous,
                    "override": override, "reason": reason, "auto": auto, "distance_m": away}, at=now,
                    audit="case.override" if override else "case.assign")
                if override:
                    for follow in self.followers:  # brain.flows: tasks and duty of both people, in this unit
                        follow(u, case, person, previous, now)
                view = self.cases.view_of(case)
        except StaleDataError:
            raise VersionConflict(f"case {case_id} or {staff_id} was changed by someone else") from None
        return view

    # --- reacting to cases ------------------------------------------------------------------
    def _on_opened(self, e: Event) -> None:
        """Auto-dispatch: an urgent case from a sensor goes to the top recommendation at once. When nobody
        can be sent, that is an event on the case (``case.auto_dispatch_failed``, with why): the dispatchers'
        queue and the wall show the case until someone is sent (see `stranded`)."""
        p = e.payload
        if p.get("channel") != Channel.IOT.value or p.get("priority") != Priority.URGENT.value:
            return
        case_id = int(e.subject_id)
        try:
            rec = self.recommend(case_id, limit=1)
            if not rec.ranked or rec.ranked[0].stale:  # nobody is sent on a position nobody can vouch for
                self._failed(case_id, "nobody", None)
                return
            self.assign(case_id, actor=AUTO_ACTOR, version=None, staff_id=rec.ranked[0].staff_id, auto=True)
        except (AssignRefused, TransitionRefused, VersionConflict) as exc:
            self._failed(case_id, "refused", getattr(exc, "key", None))
        except LookupError:
            log.warning("auto-dispatch: case %s is gone", case_id)

    def _failed(self, case_id: int, reason: str, key: str | None) -> None:
        log.warning("auto-dispatch found nobody to send to case %s (%s)", case_id, key or reason)
        with self.store.unit(AUTO_ACTOR) as u:
            u.emit(EventType.CASE_AUTO_DISPATCH_FAILED, "case", case_id, {"reason": reason, "refusal": key})

    def stranded(self) -> list[int]:
        """Urgent sensor cases that auto-dispatch could not send anyone to and nobody has been sent to since:
        still reported or registered. Oldest first."""
        with self.store.db.read() as s:
            failed = (select(cast(EventRecord.subject_id, Integer))
                      .where(EventRecord.type == "case.auto_dispatch_failed"))
            rows = s.scalars(select(Case.id).where(
                Case.id.in_(failed), Case.status.in_((CaseStatus.REPORTED.value, CaseStatus.REGISTERED.value)))
                .order_by(Case.id))
            return [int(i) for i in rows]
