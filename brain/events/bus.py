"""The bus: publish after commit, subscribe by pattern; a failing handler never breaks it.

`MemoryBus` is the embedded default (one process). A Redis implementation with the same
interface fans events out to every worker process.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from brain.events.types import Event

log = logging.getLogger(__name__)
Handler = Callable[[Event], None]


class Bus(Protocol):
    def publish(self, event: Event) -> None: ...

    def publish_many(self, events: list[Event]) -> None: ...

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]: ...

    def health(self) -> dict: ...

    def close(self) -> None: ...


class MemoryBus:
    """In-process bus: handlers run synchronously in the publisher's thread, in subscription order."""

    kind = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[tuple[int, str, Handler]] = []
        self._routes: dict[str, list[Handler]] = {}  # event type -> its handlers, found once per type
        self._next = 0
        self.published: Counter[str] = Counter()
        self.handler_errors = 0

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call `handler` for every event whose type matches the glob `pattern`; returns the unsubscribe."""
        with self._lock:
            token = self._next
            self._next += 1
            self._subs.append((token, pattern, handler))
            self._routes = {}

        def unsubscribe() -> None:
            with self._lock:
                self._subs = [s for s in self._subs if s[0] != token]
                self._routes = {}

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` to every matching handler; an exception in one is logged and counted."""
        handlers = self._handlers(event.type)
        self.published[event.type] += 1
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                self.handler_errors += 1
                log.exception("bus handler %r failed on %s", handler, event.type)

    def _handlers(self, event_type: str) -> list[Handler]:
        """The handlers whose pattern matches `event_type`, in subscription order: matched once per type
        until the subscriptions change (a storm publishes thousands of events of a few types)."""
        routes = self._routes
        found = routes.get(event_type)
        if found is None:
            with self._lock:
                found = [h for _t, pattern, h in self._subs if fnmatch.fnmatchcase(event_type, pattern)]
                if routes is self._routes:  # not changed meanwhile
                    routes[event_type] = found
        return found

    def publish_many(self, events: list[Event]) -> None:
        """Publish several events in order (a unit's, after its commit)."""
        for event in events:
            self.publish(event)

    def health(self) -> dict:
        return {"ok": True, "kind": self.kind, "subscribers": len(self._subs),
                "published": sum(self.published.values()), "handler_errors": self.handler_errors}

    def close(self) -> None:
        with self._lock:
            self._subs.clear()
            self._routes = {}


class Following:
    """Something kept from the bus: `attach` subscribes the handlers `_handlers()` names (pattern ->
    handler), `detach` drops every subscription it made."""

    def __init__(self) -> None:
        self._off: list[Callable[[], None]] = []

    def _handlers(self) -> dict[str, Callable]:
        raise NotImplementedError

    @property
    def attached(self) -> bool:
        return bool(self._off)

    def attach(self, bus) -> None:
        for pattern, handler in self._handlers().items():
            self._off.append(bus.subscribe(pattern, handler))

    def detach(self) -> None:
        for off in self._off:
            off()
        self._off.clear()
