"""The simulator that makes the demo district live.

It drives the real services, as the outside world would: cases arrive from the nine discovery
channels on a daily profile averaging about 500 a day and move through the workflow; staff walk
or cycle along the road graph and report positions; devices raise alarms, many of them false.
`speed` multiplies every rate and speed (timestamps stay real).
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from brain.alarms.enums import ALARM_CATEGORY, ALARM_TYPES, OFFLINE, WELFARE_SENSORS, WELFARE_TYPES, Severity
from brain.alarms.service import AlarmService
from brain.cases.enums import CaseStatus, Channel
from brain.cases.service import CaseService, VersionConflict
from brain.live import Followed
from brain.staff.enums import SPEED_M_S, DutyStatus, TravelMode
from brain.staff.service import Fix, StaffService
from brain.storage.db import utcnow
from geodata.district import District

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CASES_PER_DAY = 500.0
ALARMS_PER_DAY = 120.0
FALSE_ALARM_SHARE = 0.6
SILENT_SHARE = 0.002  # of heartbeats: the device falls silent for 2 to 6 intervals (goes offline, then back)
REPORT_EVERY_S = 5.0
REAL_WORK = frozenset({CaseStatus.DISPATCHED, CaseStatus.HANDLING, CaseStatus.HANDLED})  # a field person's part
TRACK_RETENTION = timedelta(days=7, hours=1)  # position history kept: the replay's longest window; pruned hourly

# Relative case intake by hour of day (Asia/Shanghai); normalised to mean 1.
_PROFILE = np.array([0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.5, 1.8, 1.8, 1.5,
                     1.1, 1.3, 1.6, 1.7, 1.6, 1.4, 1.2, 1.0, 0.8, 0.6, 0.4, 0.3])
HOURLY_PROFILE = _PROFILE / _PROFILE.mean()

# Channel -> (share of intake, how the location is given, categories it tends to report).
CHANNELS: dict[Channel, tuple[float, str, list[str]]] = {
    Channel.HOTLINE: (0.26, "pole", ["E0101", "E0104", "E0301", "E0503", "E0504", "C0107", "E0403", "E0602"]),
    Channel.STREET_PATROL: (0.22, "point", ["E0501", "E0502", "E0201", "E0101", "E0105", "C0302", "E0503"]),
    Channel.COMPOUND_PATROL: (0.12, "point", ["E0602", "E0603", "E0102", "E0504", "C0501"]),
    Channel.SUPERVISION: (0.08, "point", ["E0103", "E0202", "E0302", "C0205", "C0203"]),
    Channel.WECHAT: (0.14, "pole", ["E0101", "C0107", "C0110", "C0101", "C0401", "E0303"]),
    Channel.LINKAGE_110: (0.04, "point", ["E0505", "E0605", "E0604"]),
    Channel.IOT: (0.04, "point", ["E0603", "E0601", "E0606"]),
    Channel.VIDEO_AI: (0.07, "point", ["E0501", "E0503", "E0101", "E0604"]),
    Channel.WALK_IN: (0.03, "pole", ["C0403", "C0108", "E0402", "E0401", "C0103"]),
}

# Minutes a stage typically takes: (low, high), at speed 1.
STAGE_MINUTES = {CaseStatus.REPORTED: (2, 15), CaseStatus.REGISTERED: (3, 30), CaseStatus.DISPATCHED: (5, 40),
                 CaseStatus.HANDLING: (10, 120), CaseStatus.HANDLED: (10, 90), CaseStatus.VERIFIED: (5, 40),
                 CaseStatus.DEFERRED: (30, 240)}

# Who makes each move (verification must be someone other than the handler).
RETURN_MINUTES = (2, 10)  # how long a simulated person walks back from a case they handled
SIM_ACTORS = {CaseStatus.HANDLING: "sim:team", CaseStatus.HANDLED: "sim:team", CaseStatus.VERIFIED: "sim:supervisor",
              CaseStatus.CLOSED: "sim:dispatcher"}



class RoadGraph:
    """The road network as nodes and edges in metres, for walkers."""

    def __init__(self, district: District) -> None:
        roads = district.roads
        geoms = district.metric("roads")
        self.xy: dict[str, tuple[float, float]] = {}
        self.adj: dict[str, list[str]] = defaultdict(list)
        for a, b, g in zip(roads["from_node"], roads["to_node"], geoms, strict=True):
            (x0, y0), (x1, y1) = g.coords[0], g.coords[-1]
            self.xy.setdefault(a, (x0, y0))
            self.xy.setdefault(b, (x1, y1))
            self.adj[a].append(b)
            self.adj[b].append(a)
        self.nodes = sorted(self.xy)
        self._arr = np.array([self.xy[n] for n in self.nodes]) if self.nodes else np.zeros((0, 2))

    def nearest_node(self, x: float, y: float) -> str:
        d = np.hypot(self._arr[:, 0] - x, self._arr[:, 1] - y)
        return self.nodes[int(np.argmin(d))]


@dataclass
class Walker:
    staff_id: str
    speed: float
    x: float
    y: float
    target: str
    last_report: float = 0.0
    goal: str | None = None  # the node of the case this person was sent to


@dataclass(order=True)
class _Step:
    due: float
    case_id: int = field(compare=False)


class Simulator:
    """Background thread driving the services; `tick(dt)` is the whole of one step (tests call it)."""

    def __init__(self, *, district: District, cases: CaseService, staff: StaffService, alarms: AlarmService,
                 speed: float = 1.0, seed: int | None = None, dispatch=None, monitor=None,
                 people: Callable[[], set[str]] | None = None) -> None:
        if not speed > 0 or not math.isfinite(speed):
            raise ValueError("speed must be a positive number")
        self.district = district
        self.cases = cases
        self.staff = staff
        self.alarms = alarms
        self.dispatch = dispatch  # optional DispatchService: assign the nearest suitable person
        self.monitor = monitor  # optional DeviceMonitor: devices send their heartbeats (and signs of life) to it
        # the staff who carry the field app (AuthService.field_staff): their phone reports where they are and
        # they work their own tasks, so the simulator neither walks them nor moves their cases past dispatch
        self._people = Followed(people or set, max_age_s=10.0)
        self.speed = speed
        self.rng = np.random.default_rng(seed)
        self.crs = district.crs
        self.graph = RoadGraph(district)
        self.walkers: dict[str, Walker] = {}
        self._steps: list[_Step] = []
        self._alarm_clears: list[tuple[float, str, bool]] = []
        self._returns: list[tuple[float, str]] = []  # (when, who): back in service after walking back from a case
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._clock = 0.0
        self._last_prune = 0.0
        self.stats: dict[str, int] = defaultdict(int)
        ch = list(CHANNELS)
        self._channels = ch
        self._channel_p = np.array([CHANNELS[c][0] for c in ch]) / sum(CHANNELS[c][0] for c in ch)
        dev = district.devices
        self._devices = list(zip(dev["id"], dev["type"], strict=True)) if len(dev) else []
        # each device's next heartbeat (simulator clock): spread over its interval so they do not all beat at once
        self._beats = [(float(self.rng.uniform(0, hb)), str(d), str(t), float(hb))
                       for d, t, hb in zip(dev["id"], dev["type"], dev["heartbeat_s"], strict=True)] if len(dev) else []
        self._silent_until: dict[str, float] = {}
        self._poles = district.poles["number"].astype(str).to_numpy()

    # --- set-up -----------------------------------------------------------------------------
    def load_state(self) -> None:
        """Pick up staff and open cases from the database (so a restart continues where it was)."""
        for p in self.staff.roster():
            if p.status == DutyStatus.OFF_DUTY or p.lon is None or not self.graph.nodes:
                continue
            x, y = self.crs.to_metric(p.lon, p.lat)
            node = self.graph.nearest_node(x, y)
            speed = SPEED_M_S.get(TravelMode(p.mode), 1.3) * float(self.rng.uniform(0.8, 1.2))
            self.walkers[p.id] = Walker(p.id, speed, x, y, node, last_report=float(self.rng.uniform(0, 5)))
            if p.status == DutyStatus.RETURNING:
                self._returning(p.id)
        for c in self.cases.open_cases():
            self._schedule(c.id, CaseStatus(c.status))

    def backfill(self, *, hours: float = 6.0) -> int:
        """Create the cases of the last `hours` (as if the simulator had been running); returns the count."""
        now = utcnow()
        n = int(CASES_PER_DAY * hours / 24)
        made = 0
        for _ in range(n):
            at = now - timedelta(seconds=float(self.rng.uniform(0, hours * 3600)))
            if self._new_case(at=at) is not None:
                made += 1
        return made

    # --- running ----------------------------------------------------------------------------
    def start(self, *, interval: float = 1.0) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def _run(self, interval: float) -> None:
        last = time.monotonic()
        while not self._stop.wait(interval):
            now = time.monotonic()
            try:
                self.tick(now - last)
            except Exception:  # the simulator must outlive any single bad step
                log.exception("simulator tick failed")
                self.stats["tick_errors"] += 1
            last = now

    def tick(self, dt: float) -> None:
        """Advance the world by `dt` real seconds (times `speed`)."""
        sdt = dt * self.speed
        self._clock += sdt
        self._move_staff(sdt)
        self._arrivals(sdt)
        self._advance_cases()
        self._alarm_activity(sdt)
        self._heartbeats()
        self._back_in_service()
        if self._clock - self._last_prune >= 3600:
            self._last_prune = self._clock
            self.stats["track_pruned"] += self.staff.prune_track(older_than=utcnow() - TRACK_RETENTION)

    # --- staff ------------------------------------------------------------------------------
    def real_people(self) -> set[str]:
        """The staff with the field app (read again every 10 s)."""
        return self._people.get()

    def _move_staff(self, sdt: float) -> None:
        fixes = []
        now = utcnow()
        real = self.real_people()
        for w in self.walkers.values():
            if w.staff_id in real:
                continue
            remaining = w.speed * sdt
            while remaining > 0:
                tx, ty = self.graph.xy[w.target]
                d = math.hypot(tx - w.x, ty - w.y)
                if d <= remaining:
                    w.x, w.y = tx, ty
                    remaining -= d
                    if w.goal is not None and w.target == w.goal:
                        break  # on scene: stay until the case is handled
                    nbrs = self.graph.adj[w.target]
                    if not nbrs:
                        break
                    if w.goal is not None:  # head for the case: the neighbour nearest to it (a lattice)
                        gx, gy = self.graph.xy[w.goal]
                        w.target = min(nbrs, key=lambda n: (math.hypot(self.graph.xy[n][0] - gx,
                                                                        self.graph.xy[n][1] - gy), n))
                    else:
                        w.target = nbrs[int(self.rng.integers(0, len(nbrs)))]
                else:
                    w.x += (tx - w.x) * remaining / d
                    w.y += (ty - w.y) * remaining / d
                    remaining = 0
            if self._clock - w.last_report >= REPORT_EVERY_S:
                w.last_report = self._clock
                lon, lat = self.crs.to_wgs84(w.x, w.y)
                fixes.append(Fix(w.staff_id, round(float(lon), 7), round(float(lat), 7), now, w.speed))
        if fixes:
            self.staff.record_fixes(fixes, actor="sim:gps")
            self.stats["fixes"] += len(fixes)

    # --- cases ------------------------------------------------------------------------------
    def _rate_per_s(self, per_day: float) -> float:
        hour = utcnow().astimezone(SHANGHAI).hour
        return per_day / 86400.0 * float(HOURLY_PROFILE[hour])

    def _arrivals(self, sdt: float) -> None:
        for _ in range(int(self.rng.poisson(self._rate_per_s(CASES_PER_DAY) * sdt))):
            self._new_case()

    def _new_case(self, *, at: datetime | None = None, channel: Channel | None = None,
                  category: str | None = None, lon: float | None = None, lat: float | None = None) -> int | None:
        if channel is None:
            channel = self._channels[int(self.rng.choice(len(self._channels), p=self._channel_p))]
        _share, how, cats = CHANNELS[channel]
        category = category or str(self.rng.choice(cats))
        kwargs: dict = {}
        if lon is not None and lat is not None:
            kwargs = {"lon": lon, "lat": lat}
        elif how == "pole":
            kwargs = {"pole": str(self._poles[int(self.rng.integers(0, len(self._poles)))])}
        else:
            lon0, lat0 = self._random_point()
            kwargs = {"lon": lon0, "lat": lat0}
        try:
            view = self.cases.open_case(channel=channel.value, category=category, description="",
                                        actor=f"sim:{channel.value}", at=at, **kwargs)
        except ValueError as e:  # a point that fell outside: the intake said so, nothing was written
            self.stats["intake_refused"] += 1
            log.debug("simulated intake refused: %s", e)
            return None
        self.stats["cases"] += 1
        self._schedule(view.id, CaseStatus.REPORTED, backdated=at)
        return view.id

    def _random_point(self) -> tuple[float, float]:
        minx, miny, maxx, maxy = self.district.boundary.bounds
        for _ in range(50):
            lon, lat = float(self.rng.uniform(minx, maxx)), float(self.rng.uniform(miny, maxy))
            if self.cases.gazetteer.contains(lon, lat):
                return lon, lat
        c = self.district.boundary.representative_point()
        return c.x, c.y

    def _schedule(self, case_id: int, status: CaseStatus, backdated: datetime | None = None) -> None:
        lo, hi = STAGE_MINUTES.get(status, (5, 30))
        delay = float(self.rng.uniform(lo, hi)) * 60.0
        if backdated is not None:
            delay -= (utcnow() - backdated).total_seconds()
        heapq.heappush(self._steps, _Step(self._clock + max(delay, 0.0), case_id))

    def _next_status(self, status: CaseStatus) -> tuple[CaseStatus, str | None] | None:
        r = float(self.rng.random())
        if status is CaseStatus.REPORTED:
            return (CaseStatus.CANCELLED, "非本辖区职责") if r < 0.04 else (CaseStatus.REGISTERED, None)
        if status is CaseStatus.REGISTERED:
            return (CaseStatus.DEFERRED, "需协调产权单位") if r < 0.03 else (CaseStatus.DISPATCHED, None)
        if status is CaseStatus.DISPATCHED:
            return CaseStatus.HANDLING, None
        if status is CaseStatus.HANDLING:
            return CaseStatus.HANDLED, "已处置"
        if status is CaseStatus.HANDLED:
            return (CaseStatus.DISPATCHED, "核查未通过，返工") if r < 0.06 else (CaseStatus.VERIFIED, None)
        if status is CaseStatus.VERIFIED:
            return CaseStatus.CLOSED, "已回复市民"
        if status is CaseStatus.DEFERRED:
            return None  # resumes to the stage it paused: asked of the case itself
        return None

    def _dispatch(self, case):
        """Send the nearest suitable person, as a dispatcher would; None if there is nobody."""
        if self.dispatch is None:
            return None
        rec = self.dispatch.recommend(case.id, limit=1)
        if not rec.ranked or rec.ranked[0].stale:
            return None
        staff_id = rec.ranked[0].staff_id
        view = self.dispatch.assign(case.id, actor="sim:dispatcher", version=case.version, staff_id=staff_id)
        walker = self.walkers.get(staff_id)
        if walker is not None:
            x, y = self.crs.to_metric(case.lon, case.lat)
            walker.goal = self.graph.nearest_node(x, y)
        self.stats["assigned"] += 1
        return view

    def _advance_cases(self) -> None:
        while self._steps and self._steps[0].due <= self._clock:
            step = heapq.heappop(self._steps)
            try:
                case = self.cases.get(step.case_id)
            except LookupError:
                continue
            status = CaseStatus(case.status)
            if not status.is_open:
                continue
            if status in REAL_WORK and case.assigned_staff_id in self.real_people():
                self._schedule(case.id, status)  # theirs to do on the phone: looked at again later
                continue
            nxt = self._next_status(status)
            if status is CaseStatus.DEFERRED:
                nxt = (CaseStatus.REGISTERED, None)
            if nxt is None:
                continue
            try:
                view = self._dispatch(case) if (status is CaseStatus.REGISTERED and nxt[0] is
                                                 CaseStatus.DISPATCHED) else None
                if view is None:
                    actor = SIM_ACTORS.get(nxt[0], "sim:dispatcher")
                    view = self.cases.transition(step.case_id, to=nxt[0].value, note=nxt[1], actor=actor)
                if nxt[0] in (CaseStatus.HANDLED, CaseStatus.CANCELLED) and case.assigned_staff_id in self.walkers:
                    self.walkers[case.assigned_staff_id].goal = None
                    if nxt[0] is CaseStatus.HANDLED:  # (brain.flows: they are returning from it now)
                        self._returning(case.assigned_staff_id)
            except (ValueError, VersionConflict) as e:  # someone moved the case first: leave it to them
                self.stats["transition_refused"] += 1
                log.debug("simulated transition refused: %s", e)
                continue
            self.stats["transitions"] += 1
            if CaseStatus(view.status).is_open:
                self._schedule(view.id, CaseStatus(view.status))

    def _returning(self, staff_id: str) -> None:
        lo, hi = RETURN_MINUTES
        heapq.heappush(self._returns, (self._clock + float(self.rng.uniform(lo, hi)) * 60, staff_id))

    def _back_in_service(self) -> None:
        """Those whose walk back from a case is over say they are available (unless sent again meanwhile)."""
        while self._returns and self._returns[0][0] <= self._clock:
            _due, staff_id = heapq.heappop(self._returns)
            if self.staff.back_in_service(staff_id, actor="sim:team", reason="sim"):
                self.stats["back_in_service"] += 1

    # --- devices ----------------------------------------------------------------------------
    def _heartbeats(self) -> None:
        """Devices beat a little inside their interval; a few fall silent for a while (a flat battery, a
        lost link) and the monitor takes them offline; door sensors and water meters report signs of life."""
        if self.monitor is None or not self._beats:
            return
        now = utcnow()
        for i, (due, device_id, dtype, hb) in enumerate(self._beats):
            if due > self._clock:
                continue
            next_due = self._clock + hb * float(self.rng.uniform(0.8, 1.0))
            self._beats[i] = (next_due, device_id, dtype, hb)
            if self._silent_until.get(device_id, 0.0) > self._clock:
                continue
            if self.rng.random() < SILENT_SHARE:
                self._silent_until[device_id] = self._clock + hb * float(self.rng.uniform(2, 6))
                continue
            activity = dtype in WELFARE_SENSORS and bool(self.rng.random() < 0.7)
            try:
                self.monitor.status(device_id, at=now, activity=activity, actor=f"device:{device_id}")
                self.stats["heartbeats"] += 1
            except LookupError:
                continue

    # --- alarms -----------------------------------------------------------------------------
    def _alarm_activity(self, sdt: float) -> None:
        if not self._devices:
            return
        for _ in range(int(self.rng.poisson(ALARMS_PER_DAY / 86400.0 * sdt))):
            device_id, dtype = self._devices[int(self.rng.integers(0, len(self._devices)))]
            # offline and welfare alarms are the brain's own conclusions (DeviceMonitor), not a device's message
            types = [t for t in ALARM_TYPES.get(dtype, {}) if t != OFFLINE and t not in WELFARE_TYPES]
            if not types:
                continue
            atype = str(self.rng.choice(types))
            false = bool(self.rng.random() < FALSE_ALARM_SHARE)
            view, created = self.alarms.raise_alarm(device_id=device_id, type=atype, actor=f"device:{device_id}")
            self.stats["alarms"] += 1
            if not created:
                continue
            lo, hi = (60, 300) if false else (600, 2400)
            self._alarm_clears.append((self._clock + float(self.rng.uniform(lo, hi)), view.id, false))
            category = ALARM_CATEGORY.get((dtype, atype))
            if not false and category and view.severity in (Severity.CRITICAL, Severity.MAJOR):
                self._new_case(channel=Channel.IOT, category=category, lon=view.lon, lat=view.lat)
        due = [a for a in self._alarm_clears if a[0] <= self._clock]
        self._alarm_clears = [a for a in self._alarm_clears if a[0] > self._clock]
        for _t, alarm_id, false in due:
            try:
                self.alarms.clear(alarm_id, actor="sim:device" if false else "sim:operator", false_alarm=false)
            except (LookupError, ValueError):
                continue
