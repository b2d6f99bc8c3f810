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
TRIM_EVERY = 1000  # handled messages between trims of the acknowledged part of the stream
READ_BATCH = 1000  # messages a worker takes per read: handled in one transaction (alarms), then acknowledged


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
        self.failed = 0  # handled with an internal error (database down): left pending for another try
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
        """Add a raw message (`kind` alarm | status | position) for the workers; returns its stream id."""
        return self.enqueue_many([(kind, body, source, subject)])[0]

    def enqueue_many(self, items: list[tuple[str, bytes | str, str, str | None]]) -> list[str]:
        """Several (kind, body, source, subject) in one round trip; all or, on an error, none confirmed."""
        pipe = self.redis.pipeline(transaction=False)
        for kind, body, source, subject in items:
            pipe.xadd(self.stream, {"kind": kind, "source": source[:120], "body": body, "subject": subject or ""})
        return [i.decode() for i in pipe.execute()]

    @staticmethod
    def _fields(fields: dict) -> tuple[str, str, str | None, bytes]:
        f = {k.decode(): v for k, v in fields.items()}
        subject = f.get("subject", b"").decode() or None
        return f.get("kind", b"").decode(), f.get("source", b"redis").decode(), subject, f.get("body", b"")

    def _handle(self, batch: list[tuple[bytes, dict]]) -> None:
        """Handle messages in order (the alarms among them in one transaction) and acknowledge those done."""
        alarms, done = [], []
        for msg_id, fields in batch:
            kind, source, subject, body = self._fields(fields)
            actor = f"device:{subject}" if subject else "device"
            if kind == "alarm":
                alarms.append((msg_id, (body, source, subject, actor)))
                continue
            if kind == "status":
                out = self.pipeline.handle_status(body, source=source, device_from_topic=subject, actor=actor)
            elif kind == "position":
                out = self.pipeline.handle_position(body, source=source, staff_from_topic=subject)
            else:
                out = self.pipeline.reject("unknown", source, "unknown_kind", f"no handler for kind {kind!r}", body)
            done.append((msg_id, out))
        if alarms:
            outs = self.pipeline.handle_alarms([item for _id, item in alarms])
            done.extend((msg_id, out) for (msg_id, _item), out in zip(alarms, outs, strict=True))
        # a database failure (not the message's fault) is left pending: taken over and tried again later
        acked = [msg_id for msg_id, out in done if out.reason != "internal_error"]
        self.failed += len(done) - len(acked)
        if acked:
            self.redis.xack(self.stream, self.group, *acked)
        before = self.handled
        self.handled += len(acked)
        if self.handled // TRIM_EVERY != before // TRIM_EVERY:
            self.trim()

    def trim(self) -> int:
        """Drop the entries every consumer has acknowledged (those before the oldest pending one, or all
        delivered ones when none is pending); returns how many went."""
        pending = self.redis.xpending(self.stream, self.group)
        floor = pending.get("min") if pending.get("pending") else None
        if floor is None:
            groups = {g["name"].decode(): g for g in self.redis.xinfo_groups(self.stream)}
            floor = groups.get(self.group, {}).get("last-delivered-id")
        if not floor:
            return 0
        floor = floor.decode() if isinstance(floor, bytes) else str(floor)
        if not pending.get("pending"):  # nothing pending: the last delivered entry itself is done too
            ms, seq = floor.split("-")
            floor = f"{ms}-{int(seq) + 1}"
        return int(self.redis.xtrim(self.stream, minid=floor, approximate=False))

    def work_once(self, *, count: int = 100, block_ms: int = 1000) -> int:
        """Take over abandoned messages, then read new ones; returns how many were handled."""
        done = 0
        _next, claimed, *_ = self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                                   min_idle_time=self.claim_idle_ms, start_id="0-0", count=count)
        claimed = [(msg_id, fields) for msg_id, fields in claimed if fields is not None]  # None: trimmed away
        if claimed:
            self.reclaimed += len(claimed)
            self._handle(claimed)
            done += len(claimed)
        reply = self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        for _stream, messages in reply or []:
            self._handle(messages)
            done += len(messages)
        return done

    def durable(self) -> bool:
        """Whether Redis keeps the stream across a restart (append-only file on). Without it, messages
        queued but not yet handled are gone if Redis restarts: run it with ``--appendonly yes``."""
        try:
            reply = self.redis.config_get("appendonly")
            value = reply.get("appendonly", reply.get(b"appendonly"))
            return value in ("yes", b"yes")
        except redis.ResponseError:  # CONFIG disabled (a managed Redis): cannot tell
            return True

    def pending(self) -> int:
        return int(self.redis.xpending(self.stream, self.group)["pending"])

    def health(self) -> dict:
        try:
            return {"ok": True, "stream": self.stream, "consumer": self.consumer, "pending": self.pending(),
                    "handled": self.handled, "reclaimed": self.reclaimed, "failed": self.failed,
                    "durable": self.durable()}
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
                self.work_once(count=READ_BATCH, block_ms=500)
            except redis.RedisError as e:  # Redis restarting: wait and go on; nothing was acknowledged
                log.warning("ingest queue: %s; retrying", e)
                self._stop.wait(1.0)
                try:
                    self.ensure_group()
                except redis.RedisError:
                    pass
