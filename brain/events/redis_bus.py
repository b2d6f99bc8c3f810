"""The bus across worker processes: every event is published on a Redis channel and every worker's
listener hands it to its own subscribers, so each worker's live views and projections see every change.

Handlers run in the listener thread, after `publish` returns (not in the publisher's thread as with
`MemoryBus`). If Redis cannot be reached, the event (already committed to the log) is delivered to
this worker's own subscribers and the miss is counted; other workers catch up from the database.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
import redis

from brain.events.bus import MemoryBus
from brain.events.types import Event

log = logging.getLogger(__name__)
CHANNEL = "brain:events"
PER_MESSAGE = 500  # events in one pub/sub message at most


class RedisBus(MemoryBus):
    kind = "redis"

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self.redis: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.fanout_errors = 0
        self.received = 0
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-bus", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            log.warning("Redis bus: not subscribed yet to %s (retrying in the background)", channel)

    def publish(self, event: Event) -> None:
        self.publish_many([event])

    def publish_many(self, events: list[Event]) -> None:
        """All of them in one round trip, in order: up to PER_MESSAGE events in each pub/sub message (a
        storm's batch is hundreds of events; each message costs every worker's listener a read)."""
        if not events:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for k in range(0, len(events), PER_MESSAGE):
                pipe.publish(self.channel, orjson.dumps([e.as_dict() for e in events[k:k + PER_MESSAGE]],
                                                        default=str, option=orjson.OPT_NON_STR_KEYS))
            pipe.execute()
        except redis.RedisError as e:
            # a pipeline sends all or reports failure: none is taken as fanned out, each is delivered here
            self.fanout_errors += len(events)
            log.warning("Redis bus: %d events (%s...) not fanned out (%s); delivered in this worker only",
                        len(events), events[0].type, e)
            for event in events:
                MemoryBus.publish(self, event)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self._ready.set()
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.5)
                    if msg is None or msg.get("type") != "message":
                        continue
                    for event in self._events(msg["data"]):
                        super().publish(event)
            except redis.RedisError as e:
                self._ready.clear()
                log.warning("Redis bus: %s; resubscribing", e)
                self._stop.wait(1.0)
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass

    def _events(self, data) -> list[Event]:
        """The events of one pub/sub message that somebody in this worker follows: a list of them (or one,
        as a single object). An event of a type nobody here subscribes to is counted and read no further
        (an ingest worker follows none of the alarms it fans out); an unreadable one is logged and skipped,
        the others are delivered."""
        try:
            items = orjson.loads(data)
        except ValueError as e:
            log.warning("Redis bus: an unreadable message on %s: %s", self.channel, e)
            return []
        items = items if isinstance(items, list) else [items]
        self.received += len(items)
        out = []
        for item in items:
            try:
                if not self._handlers(item["type"]):
                    continue
                out.append(Event.from_dict(item))
            except (ValueError, TypeError, KeyError) as e:
                log.warning("Redis bus: an unreadable event on %s: %s", self.channel, e)
        return out

    def health(self) -> dict:
        try:
            ok = bool(self.redis.ping())
        except redis.RedisError:
            ok = False
        return {**super().health(), "ok": ok, "subscribed": self._ready.is_set(), "received": self.received,
                "fanout_errors": self.fanout_errors}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3)
        super().close()
