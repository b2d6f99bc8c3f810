"""A consistent picture of what is live now: open cases, live alarms, staff, headline counters."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from brain.alarms.enums import AlarmState, Severity
from brain.alarms.service import AlarmView
from brain.cases.enums import TERMINAL
from brain.cases.service import CaseView
from brain.events.bus import Following
from brain.staff.enums import DutyStatus
from brain.staff.service import StaffView
from brain.storage.db import utcnow


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    cases: list[CaseView]
    alarms: list[AlarmView]
    staff: list[StaffView]

    @property
    def overdue(self) -> list[CaseView]:
        """Open cases whose current stage is past its time limit."""
        return [c for c in self.cases if c.stage_due_at is not None and c.stage_due_at < self.at]

    @property
    def unacknowledged(self) -> list[AlarmView]:
        return [a for a in self.alarms if a.state == AlarmState.ACTIVE]

    @property
    def on_duty(self) -> list[StaffView]:
        return [s for s in self.staff if s.status != DutyStatus.OFF_DUTY]

    @cached_property  # a live update asks for it and for the takeover several times (a storm: 8,000 alarms)
    def waiting_critical(self) -> list[AlarmView]:
        """The critical alarms nobody has acknowledged yet: the wall keeps them in view."""
        return [a for a in self.alarms if a.state == AlarmState.ACTIVE and a.severity == Severity.CRITICAL]

    @cached_property
    def takeover(self) -> AlarmView | None:
        """The oldest critical alarm nobody has acknowledged yet: the wall's banner names it."""
        waiting = self.waiting_critical
        return min(waiting, key=lambda a: (a.first_at, a.id)) if waiting else None

    def headline(self) -> dict[str, int]:
        return {"open_cases": len(self.cases), "overdue": len(self.overdue),
                "unacknowledged_alarms": len(self.unacknowledged), "staff_on_duty": len(self.on_duty)}


def snapshot(brain) -> Snapshot:
    """The live state now, as the live projection holds it (brought up to date first)."""
    brain.live.refresh()
    return brain.live.snapshot()


T = TypeVar("T")


class Followed(Following, Generic[T]):
    """A read kept until the bus says it changed: `get()` answers what `load()` last returned until an
    event matching one of `patterns` arrives, then reads again at the next `get()`. It also reads again
    once what it holds is `max_age_s` old (an event lost while Redis restarted shows no longer than that),
    and always while it is not attached to a bus. Without patterns it is kept for `max_age_s` alone.

    The screens' live updates asked the database for every open case and every staff member several
    times a second, although in an alarm storm neither changes; in a storm those reads waited on a
    database busy storing alarms. What `get()` returns is shared: callers read it, never change it."""

    def __init__(self, load: Callable[[], T], patterns: tuple[str, ...] = (), *, max_age_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._load = load
        self.patterns = patterns
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._version = 0  # events seen
        self._held: tuple[int, float, T] | None = None  # (events seen before the read, when read, value)
        self.loads = 0

    def _handlers(self) -> dict[str, Callable]:
        return dict.fromkeys(self.patterns, self._changed)

    def _changed(self, _event) -> None:
        with self._lock:
            self._version += 1

    def get(self) -> T:
        with self._lock:
            version, held = self._version, self._held
            followed = self.attached or not self.patterns
            if followed and held is not None and held[0] == version and self._clock() - held[1] < self.max_age_s:
                return held[2]
        value = self._load()  # an event during the read makes the next get() read again
        with self._lock:
            self._held = (version, self._clock(), value)
            self.loads += 1
        return value


# How long each live feed may stay silent before the wall shows it as gone quiet (seconds).
FEED_SILENCE_S = {"cases": 900.0, "alarms": 3600.0, "staff": 60.0}
FEED_EVENTS = {"cases": "case.*", "alarms": "alarm.*", "staff": "staff.moved"}


class Freshness(Following):
    """When each live feed last brought something: followed on the bus, seeded from the data at start."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, datetime | None] = dict.fromkeys(FEED_SILENCE_S)

    def _handlers(self) -> dict[str, Callable]:
        return {pattern: (lambda e, feed=feed: self.seen(feed, e.at)) for feed, pattern in FEED_EVENTS.items()}

    def seen(self, feed: str, at: datetime) -> None:
        last = self.last.get(feed)
        if last is None or at > last:
            self.last[feed] = at

    def seed(self, snap: Snapshot) -> None:
        """At start: the newest open case, live alarm and position fix, where nothing newer is known."""
        for feed, times in (("cases", [c.reported_at for c in snap.cases]),
                            ("alarms", [a.last_at for a in snap.alarms]),
                            ("staff", [s.position_at for s in snap.staff if s.position_at])):
            if times:
                self.seen(feed, max(times))

    def ages(self, now: datetime) -> dict[str, tuple[float | None, bool]]:
        """Per feed: seconds since its last update (None: nothing yet) and whether it has gone silent."""
        out = {}
        for feed, limit in FEED_SILENCE_S.items():
            last = self.last[feed]
            age = None if last is None else max(0.0, (now - last).total_seconds())
            out[feed] = (age, age is None or age > limit)
        return out


# Events that change what the live layers show; anything else (audit, KPI, auth) wakes no screen.
CHANGE_EVENTS = ("case.*", "alarm.*", "staff.*")


class Changes(Following):
    """A counter of live changes, followed on the bus, that screens wait on (push instead of polling).

    `bump()` may be called from any thread (bus handlers run in the publisher's or the listener's
    thread); `wait()` is awaited on an event loop and returns as soon as the counter moves past the
    value the caller last saw.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seq = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def _handlers(self) -> dict[str, Callable]:
        return dict.fromkeys(CHANGE_EVENTS, lambda _e: self.bump())

    def bump(self) -> None:
        with self._lock:
            self.seq += 1
            if not self._waiters:
                return
            waiters, self._waiters = self._waiters, set()  # each woken once, not by every event of a storm
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop has closed: its waiter is gone with it
                pass

    async def wait(self, seen: int, timeout: float) -> int:
        """The counter once it is past `seen`, or as it is after `timeout` seconds."""
        if self.seq != seen:
            return self.seq
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        key = (loop, event)
        with self._lock:
            self._waiters.add(key)
        try:
            if self.seq == seen:  # a bump between the first check and registering
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
        finally:
            with self._lock:
                self._waiters.discard(key)
        return self.seq


class Pace:
    """How far apart pushes to a screen are: at least `floor_s`, and at least what a screen's live update
    has been costing this process (a moving average). In a storm an update of thousands of markers takes
    a good part of a second; pushed back to back, the screens would take the whole process and ingest
    would fall behind. Pushed twice their cost apart (push to push), they take at most about half of it."""

    def __init__(self, floor_s: float, weight: float = 0.3) -> None:
        self.floor_s = floor_s
        self.weight = weight
        self.cost_s = 0.0

    def record(self, seconds: float) -> None:
        self.cost_s += self.weight * (max(0.0, seconds) - self.cost_s)

    def gap(self) -> float:
        return max(self.floor_s, 2 * self.cost_s)


# --- The live projection: what every screen's map shows, kept from the bus, versioned per layer ------


LIVE_LAYERS = ("cases", "alarms", "staff")
SWEEP_S = 5.0  # how often what time alone changes (a case's stage running over, a position going stale) is looked at
RESYNC_S = 60.0  # how often a layer is read whole again and compared (an event lost while Redis restarted)


@dataclass(frozen=True)
class Entry:
    """What a layer holds for one thing: its view and the phase time gives it (a case overdue, a position
    stale), which changes what is drawn without any event."""

    view: Any
    phase: bool = False


@dataclass(frozen=True)
class Delta:
    """What a layer changed since a version: the ids to draw again (with what they hold now) and the ids
    gone; `reset` when the layer is sent whole (the version asked for is forgotten, or unknown)."""

    layer: str
    version: int
    base: int | None
    reset: bool
    upsert: list[tuple[str, Entry]]
    remove: list[str]

    def __bool__(self) -> bool:
        return self.reset or bool(self.upsert or self.remove)


class LiveLayer:
    """One live layer: its entries by id and a version that every change moves on by one. It remembers the
    version at which each id last changed (a removal included), in the order of those versions, so the
    changes since a version cost what changed since, not the size of the layer."""

    def __init__(self, name: str, keep: int = 20_000, tags: Callable[[Entry], tuple[str, ...]] | None = None) -> None:
        self.name = name
        self.items: dict[str, Entry] = {}
        self._tags = tags  # what an entry counts towards (a case overdue, an alarm waiting): kept as it changes
        self.tagged: dict[str, set] = {}
        # versions start at this process's start in microseconds: a page that holds a version of another
        # process (the app restarted) holds one below the floor and is sent the whole layer
        self.version = time.time_ns() // 1000
        self._changed: dict[str, int] = {}  # id -> the version of its last change, oldest first
        self.floor = self.version  # changes at or before this version are forgotten: a page that old is sent all
        self.keep = keep

    def put(self, key: str, entry: Entry | None) -> bool:
        """Set (or with None remove) what the layer holds for `key`; True if that changed anything."""
        held = self.items.get(key)
        if entry is None:
            if held is None:
                return False
            del self.items[key]
        else:
            if held == entry:
                return False
            self.items[key] = entry
        if self._tags is not None:
            for tag in self._tags(held) if held is not None else ():
                self.tagged[tag].discard(key)
            for tag in self._tags(entry) if entry is not None else ():
                self.tagged.setdefault(tag, set()).add(key)
        self.version += 1
        self._changed.pop(key, None)
        self._changed[key] = self.version
        self._forget()
        return True

    def _forget(self) -> None:
        limit = max(self.keep, 2 * len(self.items))
        while len(self._changed) > limit:
            key = next(iter(self._changed))
            self.floor = self._changed.pop(key)

    def since(self, version: int | None) -> Delta:
        """The changes after `version` (None, forgotten or from another process's count: the whole layer)."""
        if version is None or version < self.floor or version > self.version:
            return Delta(self.name, self.version, None, True, list(self.items.items()), [])
        upsert, remove = [], []
        for key, at in reversed(self._changed.items()):
            if at <= version:
                break
            entry = self.items.get(key)
            if entry is None:
                remove.append(key)
            else:
                upsert.append((key, entry))
        return Delta(self.name, self.version, version, False, upsert, remove)


def _case_tags(e: Entry) -> tuple[str, ...]:
    return ("overdue",) if e.phase else ()


def _alarm_tags(e: Entry) -> tuple[str, ...]:
    a = e.view
    if a.state != AlarmState.ACTIVE:
        return ()
    return ("unacknowledged", "waiting") if a.severity == Severity.CRITICAL else ("unacknowledged",)


def _staff_tags(e: Entry) -> tuple[str, ...]:
    return ("on_duty",) if e.view.status != DutyStatus.OFF_DUTY else ()


def _case_phase(c: CaseView, now: datetime) -> bool:
    return c.overdue(now)


def stale_position(s: StaffView, now: datetime) -> bool:
    """Stale: no position, or one older than twice the person's report interval."""
    return s.position_at is None or (now - s.position_at).total_seconds() > 2 * s.report_interval_s


class LiveProjection(Following):
    """What the live screens show, kept from the bus, one versioned layer each for open cases, live
    alarms and staff, so that a page is sent only what changed since the versions it holds.

    Events mark what they are about; `refresh()` reads only those (a position fix is applied from its
    event, without reading anything). What time alone changes is looked at every SWEEP_S seconds; each
    layer is read whole and compared every RESYNC_S seconds (and whenever an event asks for it), so an
    event lost on the way shows for no longer than that. `refresh()` may be called by every page: the
    first after a change does the work, the others find nothing to do."""

    def __init__(self, *, cases: Callable[[], list[CaseView]], case_views: Callable[[set[int]], dict[int, CaseView]],
                 alarms: Callable[[], list[AlarmView]], staff: Callable[..., list[StaffView]],
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        self._load: dict[str, Callable[..., list[Any]]] = {"cases": cases, "alarms": alarms, "staff": staff}
        self._case_views = case_views
        self._clock, self._now = clock, now
        tags = {"cases": _case_tags, "alarms": _alarm_tags, "staff": _staff_tags}
        self.layers = {name: LiveLayer(name, tags=tags[name]) for name in LIVE_LAYERS}
        self._lock = threading.RLock()
        self._dirty: dict[str, set] = {name: set() for name in LIVE_LAYERS}
        self._whole: set[str] = set(LIVE_LAYERS)  # layers to read whole at the next refresh
        self._read_at = dict.fromkeys(LIVE_LAYERS, 0.0)
        self._swept_at = 0.0
        self.at: datetime = now()
        self.reads = 0

    def _handlers(self) -> dict[str, Callable]:
        return {"case.*": self._on_case, "alarm.*": self._on_alarm, "staff.*": self._on_staff}

    def _on_case(self, event) -> None:
        try:
            key = int(event.subject_id)
        except (TypeError, ValueError):
            return
        with self._lock:
            self._dirty["cases"].add(key)

    def _on_alarm(self, event) -> None:
        if event.type != "alarm.suppressed":
            with self._lock:
                self._dirty["alarms"].add(event.subject_id)

    def _on_staff(self, event) -> None:
        with self._lock:
            entry = self.layers["staff"].items.get(event.subject_id)
            if event.type == "staff.moved" and entry is not None and "staff" not in self._whole:
                p = event.payload
                try:
                    at = datetime.fromisoformat(p["at"])
                    lon, lat = float(p["lon"]), float(p["lat"])
                except (KeyError, TypeError, ValueError):
                    self._dirty["staff"].add(event.subject_id)
                    return
                view = entry.view
                if view.position_at is None or at >= view.position_at:
                    moved = replace(view, lon=lon, lat=lat, position_at=at)
                    self.layers["staff"].put(event.subject_id, Entry(moved, stale_position(moved, self.at)))
                return
            self._dirty["staff"].add(event.subject_id)

    def refresh(self) -> None:
        """Bring the layers up to date: read what events marked, what time changed, what is due a full read."""
        with self._lock:
            now, tick = self._now(), self._clock()
            self.at = now
            if not self.attached:  # nothing tells it of changes: it reads everything each time
                self._whole = set(LIVE_LAYERS)
            for name in LIVE_LAYERS:
                if name in self._whole or tick - self._read_at[name] >= RESYNC_S:
                    self._read_whole(name, now, tick)
            self._read_marked(now)
            if tick - self._swept_at >= SWEEP_S:
                self._sweep(now, tick)

    def _entry(self, name: str, view, now: datetime) -> Entry:
        if name == "cases":
            return Entry(view, _case_phase(view, now))
        if name == "staff":
            return Entry(view, stale_position(view, now))
        return Entry(view)

    def _read_whole(self, name: str, now: datetime, tick: float) -> None:
        views = self._load[name]()
        layer = self.layers[name]
        fresh = {str(v.id) if name != "cases" else v.id: v for v in views}
        for key in [k for k in layer.items if k not in fresh]:
            layer.put(key, None)
        for key, view in fresh.items():
            layer.put(key, self._entry(name, view, now))
        self._whole.discard(name)
        self._dirty[name].clear()
        self._read_at[name] = tick
        self.reads += 1

    def _read_marked(self, now: datetime) -> None:
        cases, self._dirty["cases"] = self._dirty["cases"], set()
        if cases:
            views = self._case_views(cases)
            for key in cases:
                view = views.get(key)
                open_ = view is not None and view.status not in {s.value for s in TERMINAL}
                self.layers["cases"].put(key, self._entry("cases", view, now) if open_ else None)
        alarms, self._dirty["alarms"] = self._dirty["alarms"], set()
        if alarms:
            live = {a.id: a for a in self._load["alarms"]()}
            for key in alarms:
                view = live.get(key)
                self.layers["alarms"].put(key, None if view is None else Entry(view))
        staff, self._dirty["staff"] = self._dirty["staff"], set()
        if staff:
            views = {v.id: v for v in self._load["staff"](staff)}
            for key in staff:
                view = views.get(key)
                self.layers["staff"].put(key, None if view is None else self._entry("staff", view, now))

    def _sweep(self, now: datetime, tick: float) -> None:
        for name, phase in (("cases", _case_phase), ("staff", stale_position)):
            layer = self.layers[name]
            turned = [(k, e) for k, e in layer.items.items() if phase(e.view, now) != e.phase]
            for key, entry in turned:
                layer.put(key, Entry(entry.view, not entry.phase))
        self._swept_at = tick

    def since(self, versions: dict | None) -> list[Delta]:
        """Per layer, what changed after the version in `versions` (a layer missing: sent whole)."""
        versions = versions if isinstance(versions, dict) else {}
        with self._lock:
            out = []
            for name in LIVE_LAYERS:
                v = versions.get(name)
                out.append(self.layers[name].since(v if isinstance(v, int) and not isinstance(v, bool) else None))
            return out

    def versions(self) -> dict[str, int]:
        with self._lock:
            return {name: layer.version for name, layer in self.layers.items()}

    def snapshot(self) -> Snapshot:
        """The live state as lists (the order of each layer: first held first)."""
        with self._lock:
            return Snapshot(at=self.at, cases=[e.view for e in self.layers["cases"].items.values()],
                            alarms=[e.view for e in self.layers["alarms"].items.values()],
                            staff=[e.view for e in self.layers["staff"].items.values()])

    def headline(self) -> dict[str, int]:
        """The wall's counters, from what the layers hold now (counted as they change, not here)."""
        with self._lock:
            count = lambda layer, tag: len(self.layers[layer].tagged.get(tag, ()))  # noqa: E731
            return {"open_cases": len(self.layers["cases"].items), "overdue": count("cases", "overdue"),
                    "unacknowledged_alarms": count("alarms", "unacknowledged"),
                    "staff_on_duty": count("staff", "on_duty")}

    def waiting(self) -> list[AlarmView]:
        """The critical alarms nobody has acknowledged yet (they take the wall over)."""
        with self._lock:
            alarms = self.layers["alarms"]
            return [alarms.items[k].view for k in alarms.tagged.get("waiting", ())]
