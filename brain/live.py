"""A consistent picture of what is live now: open cases, live alarms, staff, headline counters."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Generic, TypeVar

from brain.alarms.enums import AlarmState, Severity
from brain.alarms.service import AlarmView
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
    """Read the live state through the services (one read each, or what is kept of it from the bus)."""
    return Snapshot(at=utcnow(), cases=brain.live_cases.get(), alarms=brain.alarms.live(),
                    staff=brain.live_staff.get())


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
