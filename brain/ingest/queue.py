"""The durable ingest queue: a Redis Stream with a consumer group, so several workers share the work
and a message a dead worker took but never finished is taken over by another.

    enqueue  -> XADD brain:ingest * batch <messages, each kind, source, subject, body>
    work     -> XAUTOCLAIM (entries idle past `claim_idle_ms`, left by a worker that died)
                XREADGROUP GROUP ingest <consumer> ... STREAMS brain:ingest >
                pipeline.handle_*  ->  XACK (also for a refusal: it is recorded, the message is done)

An entry carries the messages handed over together (the MQTT consumer's batch of the last few
milliseconds): one XADD, one entry read and one XACK for all of them, where a storm had paid for each
message. An entry is acknowledged only after every message in it has been handled; handled twice
(taken over after a crash between the effect and the XACK, or tried again after a database failure)
a message changes nothing, because every message has an id. Entries of single messages in the
earlier form (fields kind, source, body, subject) are still read.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import redis

from brain.ingest.pipeline import Message, Pipeline

log = logging.getLogger(__name__)

STREAM = "brain:ingest"
GROUP = "ingest"
TRIM_EVERY = 1000  # handled messages between trims of the acknowledged part of the stream
READ_ENTRIES = 16  # entries a worker takes per read at most (as many as wait, when it is behind)
BATCH_MESSAGES = 400  # the entries read are handled in groups of about this many messages: a group's alarms in
# one transaction, then its entries acknowledged. A storm's entries hold a few dozen messages; on PostgreSQL a
# message costs half as much or less in a transaction of 400 as in one of 25, and 5-30% less than in one of 100 (the
# lookups and writes are per batch: bench.ingest_batches), so a worker that has fallen behind catches up
# faster, and one that has not still handles what it reads at once.
_LEN = 4  # bytes of each part's length in an entry's batch
PENDING_BOUND_S = 120.0  # an entry pending longer than this (two take-overs' worth): ingest is stalled
CONSUMER_IDLE_S = 30.0  # a consumer that has not read for this long is not consuming
ALIVE_EVERY_S = 5.0  # how often a worker notes that it is consuming
MAX_DELIVERIES = 5  # an entry whose message failed this often: that message goes to a dead letter, the entry is done


def pack(items: list[tuple[str, bytes | str, str, str | None]]) -> bytes:
    """(kind, body, source, subject) messages as one entry's batch: each part prefixed by its length."""
    out = bytearray()
    for kind, body, source, subject in items:
        raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else bytes(body)
        for part in (kind.encode(), source[:120].encode(), (subject or "").encode(), raw):
            out += len(part).to_bytes(_LEN, "big")
            out += part
    return bytes(out)


def unpack(data: bytes) -> list[tuple[str, str, str | None, bytes]]:
    """An entry's batch as (kind, source, subject or None, body); ValueError if it is cut short."""
    out, at, end = [], 0, len(data)
    view = memoryview(data)
    while at < end:
        parts = []
        for _ in range(4):
            n = int.from_bytes(view[at:at + _LEN], "big")
            at += _LEN
            if at + n > end:
                raise ValueError("an ingest batch cut short")
            parts.append(bytes(view[at:at + n]))
            at += n
        kind, source, subject, body = parts
        out.append((kind.decode(), source.decode("utf-8", "replace"), subject.decode() or None, body))
    return out


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
        self.loop_errors = 0  # reads that failed with a fault of the brain's (the loop went on)
        self.last_loop_at: float | None = None  # monotonic time the worker's loop last came round
        # every worker notes the time its loop came round here (Redis's own consumer list keeps a consumer that
        # died, and lists none that has only waited): health finds whether any is consuming
        self._alive_key = f"{stream}:alive"
        self._alive_noted = 0.0
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
        """Add a raw message (`kind` alarm | status | position) for the workers; returns its entry's id."""
        return self.enqueue_many([(kind, body, source, subject)])

    def enqueue_many(self, items: list[tuple[str, bytes | str, str, str | None]]) -> str:
        """Several (kind, body, source, subject) as one entry, in one round trip; returns its id. All are
        in the stream once this returns, or none (an error)."""
        return self.redis.xadd(self.stream, {"batch": pack(items)}).decode()

    def _messages(self, entry_id: bytes, fields: dict) -> list[tuple[str, str, str | None, bytes]]:
        """The messages of an entry; one that cannot be read is refused (recorded) as a whole."""
        if b"batch" in fields:
            try:
                return unpack(fields[b"batch"])
            except (ValueError, UnicodeDecodeError) as e:
                self.pipeline.reject("unknown", "redis", "malformed_batch", f"entry {entry_id.decode()}: {e}",
                                     bytes(fields[b"batch"][:500]), key=entry_id.decode())
                return []
        f = {k.decode(): v for k, v in fields.items()}  # one message per entry (the earlier form)
        subject = f.get("subject", b"").decode() or None
        return [(f.get("kind", b"").decode(), f.get("source", b"redis").decode(), subject, f.get("body", b""))]

    def _handle(self, entries: list[tuple[bytes, dict]], deliveries: dict[bytes, int] | None = None) -> int:
        """Handle the entries' messages in order, in groups of about BATCH_MESSAGES; returns how many
        messages were handled. `deliveries`: how often each entry taken over has been handed out."""
        handled, group, size = 0, [], 0
        for entry_id, fields in entries:
            messages = self._messages(entry_id, fields)
            group.append((entry_id, messages))
            size += len(messages)
            if size >= BATCH_MESSAGES:
                handled += self._handle_group(group, deliveries or {})
                group, size = [], 0
        if group:
            handled += self._handle_group(group, deliveries or {})
        return handled

    def _handle_group(self, entries: list[tuple[bytes, list]], deliveries: dict[bytes, int]) -> int:
        """Handle the entries' messages in order (the alarms among them in one transaction), acknowledge
        the entries all of whose messages are done; returns how many messages were handled.

        A message that failed with an internal error (the database away, or a fault of the brain's)
        leaves its entry pending, to be taken over and tried again; once its entry has been handed out
        MAX_DELIVERIES times, the message is kept as a dead letter (whole, to be replayed) and the entry
        is done. A dead letter that cannot be written leaves the entry pending still."""
        order, messages = [], []  # (entry id, (kind, source, subject, body)) and its Message, in order
        for entry_id, entry in entries:
            for n, (kind, source, subject, body) in enumerate(entry):
                actor = "gps" if kind == "position" else f"device:{subject}" if subject else "device"
                # the key: the same message when its entry is handed out again
                messages.append(Message(kind, body, source, subject, actor, f"{entry_id.decode()}/{n}"))
                order.append((entry_id, (kind, source, subject, body)))
        outs = self.pipeline.handle(messages)  # the alarms among them in one transaction
        done = [(entry_id, message, out) for (entry_id, message), out in zip(order, outs, strict=True)]
        failed: set[bytes] = set()
        for entry_id, (kind, source, _subject, body), out in done:
            if out.reason != "internal_error":
                continue
            tries = deliveries.get(entry_id, 1)
            if tries < MAX_DELIVERIES or not self.pipeline.dead_letter(
                    kind, source, body, f"failed {tries} times; last: {out.detail}"):
                failed.add(entry_id)
        acked = [entry_id for entry_id, _m in entries if entry_id not in failed]
        left = sum(1 for entry_id, _m, _out in done if entry_id in failed)  # messages of the entries left pending
        self.failed += left
        if acked:
            self.redis.xack(self.stream, self.group, *acked)
        handled = len(done) - left
        before = self.handled
        self.handled += handled
        if self.handled // TRIM_EVERY != before // TRIM_EVERY:
            self.trim()
        return handled

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

    def work_once(self, *, count: int = READ_ENTRIES, block_ms: int = 1000) -> int:
        """Take over abandoned entries, then read up to `count` new ones; returns how many messages were
        handled."""
        done = 0
        _next, claimed, *_ = self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                                   min_idle_time=self.claim_idle_ms, start_id="0-0", count=count)
        claimed = [(entry_id, fields) for entry_id, fields in claimed if fields is not None]  # None: trimmed away
        if claimed:
            self.reclaimed += len(claimed)
            deliveries = {p["message_id"]: int(p["times_delivered"]) for p in self.redis.xpending_range(
                self.stream, self.group, min=claimed[0][0], max=claimed[-1][0], count=1000, consumername=self.consumer)}
            done += self._handle(claimed, deliveries)
        reply = self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        for _stream, entries in reply or []:
            done += self._handle(entries)
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
        """Entries taken by a worker and not yet acknowledged."""
        return int(self.redis.xpending(self.stream, self.group)["pending"])

    def _note_alive(self) -> None:
        now = time.time()
        with self.redis.pipeline() as p:
            p.zadd(self._alive_key, {self.consumer: now})
            p.zremrangebyscore(self._alive_key, "-inf", now - 24 * 3600)  # workers gone for a day
            p.execute()
        self._alive_noted = time.monotonic()

    def stalls(self, *, in_process: bool) -> list[str]:
        """Why ingest through the queue is stalled, if it is: an entry pending longer than PENDING_BOUND_S
        (taken and not finished), no consumer in the group that has read lately, or (`in_process`: this
        process runs a worker) this process's worker not coming round."""
        reasons = []
        try:
            if self.redis.xpending_range(self.stream, self.group, min="-", max="+", count=1,
                                         idle=int(PENDING_BOUND_S * 1000)):
                reasons.append("queue_pending_stale")
            if not self.redis.zcount(self._alive_key, time.time() - CONSUMER_IDLE_S, "+inf"):
                reasons.append("queue_no_consumer")
        except redis.RedisError:
            reasons.append("queue_unreachable")
        if in_process and (self._thread is None or not self._thread.is_alive() or self.last_loop_at is None
                           or time.monotonic() - self.last_loop_at > CONSUMER_IDLE_S):
            reasons.append("queue_worker_stalled")
        return reasons

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
            try:  # a worker that stopped is not consuming
                self.redis.zrem(self._alive_key, self.consumer)
            except redis.RedisError:
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.work_once(block_ms=500)
                self.last_loop_at = time.monotonic()
                if self.last_loop_at - self._alive_noted > ALIVE_EVERY_S:
                    self._note_alive()
            except redis.RedisError as e:  # Redis restarting: wait and go on; nothing was acknowledged
                log.warning("ingest queue: %s; retrying", e)
                self._stop.wait(1.0)
                try:
                    self.ensure_group()
                except redis.RedisError:
                    pass
            except Exception:  # a fault of the brain's: nothing was acknowledged; the worker goes on
                log.exception("ingest queue: a read failed; retrying")
                self.loop_errors += 1
                self._stop.wait(1.0)
