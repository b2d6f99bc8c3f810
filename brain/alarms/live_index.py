"""The live alarms, kept in memory from the bus, for the screens that show them all on every update.

A screen's update read every live alarm from the database: in a storm, 8,000 rows several times a
second, most of what the wall's server side cost. Here the list is read once, then kept from the
events that change what a live alarm shows, applied so that applying one twice changes nothing:

    alarm.raised        a new live alarm
    alarm.repeated      its count and last time (never moved back)
    alarm.acknowledged  its state
    alarm.cleared       gone from the live list

Any other event about an alarm (a welfare rung, an escalation), a raised welfare alarm, or an event
about an alarm the list does not hold (events of several workers may cross) makes it read the
database again at the next request. Alarms cleared in the last GONE_S seconds are remembered, so a
raised event that arrives after the clear (the two made by different workers) does not bring one back.
It is also read again at least every `resync_s` seconds, so a lost event (Redis restarting under the
bus) shows for no longer than that. Events that arrive while it reads are applied to what it read.

Its order is stable: an alarm keeps its place for as long as it is live, and an alarm that becomes live
joins at the end (a reading of the database keeps the places of the alarms it already held and adds the
others at the end, oldest first). The screens built from it then see a storm of new alarms as appended
ones (layers/diff.py sends only those), not as thousands of places shifted by one insertion each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from brain.alarms.enums import WELFARE_TYPES, AlarmState
from brain.alarms.service import AlarmView
from brain.events.bus import Following
from brain.events.types import Event

RESYNC_S = 10.0
GONE_S = 60.0  # how long a cleared alarm is remembered (far longer than events of two workers can cross)
FOLLOWED = {"alarm.raised", "alarm.repeated", "alarm.acknowledged", "alarm.cleared", "alarm.escalated"}
IGNORED = {"alarm.suppressed"}  # about a device: no live alarm changes


class LiveIndex(Following):
    def __init__(self, load: Callable[[], list[AlarmView]], *, resync_s: float = RESYNC_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._load = load
        self.resync_s = resync_s
        self._clock = clock
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._items: dict[str, AlarmView] = {}  # the list held: its order is what a new reading keeps
        self._stale = True  # the database is read at the next request
        self._loaded_at = 0.0
        self._loading: list[Event] | None = None  # events that arrived while the database was read
        self._gone: dict[str, float] = {}  # alarm id -> when its clear arrived, the oldest first
        self.loads = 0

    def _handlers(self) -> dict[str, Callable]:
        return {"alarm.*": self._on_event}

    def live(self) -> list[AlarmView]:
        """The live alarms, each in the place it took when it became live (the first known first)."""
        with self._lock:  # events change the list from the bus's thread
            got = self._fresh()
        if got is not None:
            return got
        with self._load_lock:  # one read at a time; whoever waited for it takes what it read
            with self._lock:
                got = self._fresh()
                if got is not None:
                    return got
                self._loading = []
            try:
                loaded = self._load()
            except BaseException:
                with self._lock:
                    self._loading = None
                raise
            with self._lock:
                read = {a.id: a for a in loaded}
                items = {key: read[key] for key in self._items if key in read}  # in the places they had
                items.update(read)  # the others after them, in the database's order (oldest first)
                pending, self._loading = self._loading or [], None
                # if one of them needs the database, the next request reads it again
                self._items, self._stale = items, not all(self._apply(items, event) for event in pending)
                if not self._stale:
                    self._loaded_at = self._clock()
                    self.loads += 1
                return list(items.values())

    def _fresh(self) -> list[AlarmView] | None:
        """The list if it was read recently enough (called holding the lock)."""
        if self._stale or self._clock() - self._loaded_at >= self.resync_s:
            return None
        return list(self._items.values())

    def _on_event(self, event: Event) -> None:
        if event.type in IGNORED:
            return
        with self._lock:
            if event.type == "alarm.cleared":  # remembered whether or not the list is held now
                self._cleared(event.subject_id)
            if self._loading is not None:
                self._loading.append(event)
            if not self._stale and not self._apply(self._items, event):
                self._stale = True

    def _cleared(self, key: str) -> None:
        """Remember `key` as cleared now, and forget the clears older than GONE_S (the oldest are first)."""
        now = self._clock()
        while self._gone:
            oldest, at = next(iter(self._gone.items()))
            if now - at < GONE_S:
                break
            del self._gone[oldest]
        self._gone.pop(key, None)
        self._gone[key] = now

    def _apply(self, items: dict[str, AlarmView], event: Event) -> bool:
        """Apply `event` to `items`; False where it needs the database read again (called holding the lock)."""
        if event.type not in FOLLOWED:
            return False
        p, key = event.payload, event.subject_id
        if event.type == "alarm.raised":
            if p.get("type") in WELFARE_TYPES:  # its ladder's rung is set beside it
                return False
            if key not in items and key not in self._gone:  # (cleared already: its raise arrived late)
                items[key] = AlarmView(key, p["device_id"], p["type"], p["severity"], AlarmState.ACTIVE.value, 1,
                                       event.at, event.at, p["lon"], p["lat"])
            return True
        if event.type == "alarm.cleared":
            items.pop(key, None)
            return True
        view = items.get(key)
        if view is None:
            return False
        if event.type == "alarm.escalated":  # the case it opened: named on the banner
            items[key] = replace(view, case_id=p.get("case_id"))
            return True
        if event.type == "alarm.acknowledged":
            items[key] = replace(view, state=AlarmState.ACKNOWLEDGED.value)
            return True
        count, last = p.get("count"), p.get("last_at")
        if not isinstance(count, int) or not isinstance(last, str):
            return False
        last_at = datetime.fromisoformat(last)
        items[key] = view.bumped(max(view.count, count), max(view.last_at, last_at))
        return True
