"""One leader among the app's workers, for the parts that must run once: the MQTT consumer (one broker
session) and the simulator (one simulated district).

The lease is a Redis key holding the holder's token, set with NX and a time-to-live and renewed every
third of it. A worker that dies stops renewing; its lease lapses and a standby takes it over within one
time-to-live. Transitions are handed to `on_gain` / `on_loss` in their own thread, in order, so a slow
start (the simulator's first history) never delays a renewal.

When Redis cannot be reached the holder keeps leading: nobody else can take the lease while Redis is
away, and the broker itself keeps one session per client id. When Redis answers again and the key is
gone (a restart without persistence) the holder sets it again; if another worker holds it by then, the
old holder steps down.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

log = logging.getLogger(__name__)

# Renew our lease, or take it back if it has vanished (Redis restarted); 0 if another worker holds it.
_RENEW = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Give the lease up only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """A named lease in Redis; `start()` competes for it, `leading` says whether this worker holds it."""

    def __init__(self, url: str, name: str, *, ttl_s: float = 10.0, on_gain: Callable[[], None] | None = None,
                 on_loss: Callable[[], None] | None = None) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.redis: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.name = name
        self.ttl_ms = int(ttl_s * 1000)
        self.token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.on_gain, self.on_loss = on_gain, on_loss
        self.leading = False
        self.since: datetime | None = None  # when this worker last took the lease
        self.gained = self.lost = 0
        self.unreachable = 0  # renewals that could not reach Redis
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._stop = threading.Event()
        self._transitions: queue.Queue[bool | threading.Event | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # --- one round ---------------------------------------------------------------------------------
    def try_once(self) -> bool:
        """Take or renew the lease once; returns whether this worker leads afterwards."""
        try:
            if self.leading:
                held = bool(self._renew(keys=[self.name], args=[self.token, self.ttl_ms]))
            else:
                held = bool(self.redis.set(self.name, self.token, nx=True, px=self.ttl_ms))
        except redis.RedisError as e:
            self.unreachable += 1
            log.warning("leader lease %s: Redis unreachable (%s); %s", self.name, e,
                        "still leading" if self.leading else "standing by")
            return self.leading
        if held != self.leading:
            self.leading = held
            if held:
                self.gained, self.since = self.gained + 1, datetime.now(UTC)
                log.info("leader lease %s taken by %s", self.name, self.token)
            else:
                self.lost += 1
                log.warning("leader lease %s lost: another worker holds it", self.name)
            self._transitions.put(held)
        return held

    def holder(self) -> str | None:
        """The token of whoever holds the lease now (None if nobody, or Redis is unreachable)."""
        try:
            v = self.redis.get(self.name)
        except redis.RedisError:
            return None
        return v.decode() if isinstance(v, bytes) else v

    # --- the threads ---------------------------------------------------------------------------------
    def start(self) -> Lease:
        """Compete once now (so the first worker leads from its start), then keep competing in the background."""
        self.try_once()
        for target, name in ((self._compete, "lease"), (self._apply, "lease-role")):
            t = threading.Thread(target=target, name=f"{name}-{self.name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _compete(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            self.try_once()

    def _apply(self) -> None:
        while True:
            gained = self._transitions.get()
            if gained is None:
                return
            if isinstance(gained, threading.Event):  # wait_idle's marker
                gained.set()
                continue
            callback = self.on_gain if gained else self.on_loss
            if callback is None:
                continue
            try:
                callback()
            except Exception:
                log.exception("leader lease %s: %s failed", self.name, "taking over" if gained else "stepping down")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every transition queued so far has been applied (tests, and an orderly stop)."""
        done = threading.Event()
        self._transitions.put(done)
        return done.wait(timeout)

    def stop(self, *, release: bool = True) -> None:
        """Stop competing; with `release`, give the lease up at once so a standby need not wait it out."""
        self._stop.set()
        if release and self.leading:
            try:
                self._release(keys=[self.name], args=[self.token])
            except redis.RedisError:
                log.warning("leader lease %s: could not release it; it lapses in %d ms", self.name, self.ttl_ms)
        if self.leading:
            self.leading = False
            self._transitions.put(False)
        self._transitions.put(None)
        for t in self._threads:
            t.join(10)
        self._threads = []
        self.redis.close()

    def health(self) -> dict:
        return {"name": self.name, "leading": self.leading, "token": self.token, "holder": self.holder(),
                "since": self.since.isoformat() if self.leading and self.since else None,
                "ttl_ms": self.ttl_ms, "gained": self.gained, "lost": self.lost, "unreachable": self.unreachable}
