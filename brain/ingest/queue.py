"""The durable ingest queue: a Redis Stream with a consumer group, so several workers share the work
and a message a dead worker took but never finished is taken over by another.

    enqueue  -> XADD brain:ingest * kind .. source .. body ..
    work     -> XAUTOCLAIM (messages idle past `claim_idle_ms`, left by a worker that died)
                XREADGROUP GROUP ingest <consumer> ... STREAMS brain:ingest >
                pipeline.handle_*  ->  XACK (also for a refusal: it is recorded, the message is done)

A message is acknowledged only after the pipeline has handled it; handled twice (taken over after a
crash between the effect and the XACK) it changes nothing, because every message has an id.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

import redis

from brain.ingest.pipeline import Pipeline

log = logging.getLogger(__name__)

STREAM = "brain:ingest"
GROUP = "ingest"
MAXLEN = 1_000_000  # approximate cap of the stream (acknowledged entries are trimmed first in practice)


class IngestQueue:
    def __init__(self, url: str, pipeline: Pipeline, *, stream: str = STREAM, group: str = GROUP,
                 consumer: str | None = None, claim_idle_ms: int = 30_000) -> None:
        # typed loosely: redis-py annotates its sync and async clients with one union
        self.redis: Any = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self.pipeline = pipeline
        self.stream, self.group = stream, group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = claim_idle_ms
        self.handled = 0
        self.reclaimed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ensure_group()

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def enqueue(self, kind: str, body: bytes | str, *, source: str, subject: str | None = None) -> str:
        """Add a raw message (`kind` alarm | position) for the workers; returns its stream id."""
        fields = {"kind": kind, "source": source[:120], "body": body, "subject": subject or ""}
        return self.redis.xadd(self.stream, fields, maxlen=MAXLEN, approximate=True).decode()

    def _handle(self, msg_id: bytes, fields: dict) -> None:
        f = {k.decode(): v for k, v in fields.items()}
        kind = f.get("kind", b"").decode()
        source = f.get("source", b"redis").decode()
        subject = f.get("subject", b"").decode() or None
        body = f.get("body", b"")
        if kind == "alarm":
            self.pipeline.handle_alarm(body, source=source, device_from_topic=subject,
                                       actor=f"device:{subject}" if subject else "device")
        elif kind == "position":
            self.pipeline.handle_position(body, source=source, staff_from_topic=subject)
        else:
            self.pipeline.reject("unknown", source, "unknown_kind", f"no handler for kind {kind!r}", body)
        self.redis.xack(self.stream, self.group, msg_id)
        self.handled += 1

    def work_once(self, *, count: int = 100, block_ms: int = 1000) -> int:
        """Take over abandoned messages, then read new ones; returns how many were handled."""
        done = 0
        _next, claimed, *_ = self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                                   min_idle_time=self.claim_idle_ms, start_id="0-0", count=count)
        for msg_id, fields in claimed:
            if fields is None:  # trimmed away meanwhile
                continue
            self.reclaimed += 1
            self._handle(msg_id, fields)
            done += 1
        reply = self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        for _stream, messages in reply or []:
            for msg_id, fields in messages:
                self._handle(msg_id, fields)
                done += 1
        return done

    def pending(self) -> int:
        return int(self.redis.xpending(self.stream, self.group)["pending"])

    def health(self) -> dict:
        try:
            return {"ok": True, "stream": self.stream, "consumer": self.consumer, "pending": self.pending(),
                    "handled": self.handled, "reclaimed": self.reclaimed}
        except redis.RedisError as e:
            return {"ok": False, "error": str(e)}

    # --- the worker thread ----------------------------------------------------------------------
    def start(self) -> IngestQueue:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{self.consumer}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.work_once(block_ms=500)
            except redis.RedisError as e:  # Redis restarting: wait and go on; nothing was acknowledged
                log.warning("ingest queue: %s; retrying", e)
                self._stop.wait(1.0)
                try:
                    self.ensure_group()
                except redis.RedisError:
                    pass
