"""The durable ingest queue on a real Redis (REDIS_URL): workers share a stream through a consumer group,
a message taken by a worker that was killed is taken over, and a message handled twice changes nothing."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from sqlalchemy import select

from brain.alarms.models import Alarm
from brain.ingest.models import IngestReject
from brain.ingest.queue import IngestQueue, pack, unpack
from brain.storage.db import utcnow
from tests.conftest import service_url


@pytest.fixture
def stream():
    url = service_url("REDIS_URL")
    r = redis.Redis.from_url(url)
    try:
        r.ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis at {url} not reachable: {e}")
    name = f"test:ingest:{uuid.uuid4().hex[:8]}"
    yield url, name
    r.delete(name)


def _smoke(brain, i=0):
    d = brain.district.devices
    return str(d[d["type"] == "smoke"]["id"].iloc[i])


def _alarms(brain, dev):
    with brain.db.read() as s:
        return s.scalars(select(Alarm).where(Alarm.device_id == dev)).all()


def test_two_workers_share_the_stream_and_every_message_is_handled_once(brain, stream):
    url, name = stream
    a = IngestQueue(url, brain.ingest, stream=name, consumer="a")
    b = IngestQueue(url, brain.ingest, stream=name, consumer="b")
    devs = [_smoke(brain, i) for i in range(6)]
    for dev in devs:
        a.enqueue("alarm", json.dumps({"type": "smoke", "ts": utcnow().isoformat()}), source="test", subject=dev)
    a.enqueue("alarm", b"{broken", source="test", subject=devs[0])
    a.enqueue("position", json.dumps({"lat": 31.33, "lon": 121.45, "timestamp": 1}), source="test",
              subject="S00001")
    handled = a.work_once(count=4, block_ms=100) + b.work_once(count=10, block_ms=100)
    assert handled == 8 and a.pending() == 0
    assert all(len(_alarms(brain, dev)) == 1 for dev in devs)
    assert brain.ingest.counts["alarm.rejected.malformed_json"] == 1
    assert brain.ingest.counts["position.rejected.stale_timestamp"] == 1


WORKER = """
import redis, sys, time
r = redis.Redis.from_url(sys.argv[1])
got = r.xreadgroup("ingest", "doomed", {sys.argv[2]: ">"}, count=1, block=5000)
print("took", got[0][1][0][0].decode(), flush=True)
time.sleep(60)  # killed here: the message stays pending under "doomed"
"""


def _taken_by_a_worker_then_killed(url, name):
    """Another process takes the next entry of the stream and is SIGKILLed holding it (left pending)."""
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url, name], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("took")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_message_held_by_a_killed_worker_is_taken_over(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="survivor", claim_idle_ms=200)
    dev = _smoke(brain, 1)
    q.enqueue("alarm", json.dumps({"type": "smoke", "ts": utcnow().isoformat(), "id": "held-1"}), source="test",
              subject=dev)
    _taken_by_a_worker_then_killed(url, name)
    assert q.pending() == 1 and _alarms(brain, dev) == []
    time.sleep(0.3)  # idle past claim_idle_ms
    assert q.work_once(block_ms=100) == 1 and q.reclaimed == 1
    assert q.pending() == 0 and len(_alarms(brain, dev)) == 1


def test_a_message_delivered_twice_changes_nothing(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="w")
    dev = _smoke(brain, 2)
    t = utcnow()
    brain.alarms.raise_alarm(device_id=dev, type="smoke", at=t)
    repeat = json.dumps({"type": "smoke", "ts": t.isoformat(), "id": "repeat-1"})
    q.enqueue("alarm", repeat, source="test", subject=dev)
    q.enqueue("alarm", repeat, source="test", subject=dev)  # e.g. a retry after a lost XACK
    assert q.work_once(block_ms=100) == 2
    assert _alarms(brain, dev)[0].count == 2  # the first bumped the live alarm; the second was a duplicate
    assert brain.ingest.counts["alarm.duplicate"] == 1


def test_trimming_drops_only_what_every_worker_has_acknowledged(brain, stream):
    url, name = stream
    a = IngestQueue(url, brain.ingest, stream=name, consumer="a")
    for i in range(5):
        a.enqueue("alarm", json.dumps({"type": "smoke", "ts": utcnow().isoformat()}), source="test",
                  subject=_smoke(brain, i))
    assert a.work_once(count=3, block_ms=100) == 3
    assert a.trim() == 3 and a.redis.xlen(name) == 2  # the three handled went; the two waiting stay
    taken = a.redis.xreadgroup("ingest", "doomed", {name: ">"}, count=1)  # taken, never acknowledged
    assert taken
    assert a.trim() == 0 and a.redis.xlen(name) == 2  # a pending entry and what follows it stay
    assert a.work_once(count=5, block_ms=100) == 1
    assert a.redis.xlen(name) == 2  # still pending under "doomed" until taken over


def _batch(brain, prefix, n, first=3):
    """n alarm messages from `first` smoke detectors on, with ids, as the MQTT hand-over passes them."""
    return [("alarm", json.dumps({"type": "smoke", "ts": utcnow().isoformat(), "id": f"{prefix}-{i}"}), "test",
             _smoke(brain, first + i % 4)) for i in range(n)]


def test_a_batch_travels_as_one_entry_and_is_acknowledged_once_all_its_messages_are_handled(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="w")
    items = [*_batch(brain, "b1", 40), ("alarm", b"{broken \xff", "test", _smoke(brain, 3)),
             ("status", json.dumps({"ts": utcnow().isoformat()}), "test", _smoke(brain, 4))]
    q.enqueue_many(items)
    assert q.redis.xlen(name) == 1
    assert q.work_once(block_ms=100) == 42
    assert q.pending() == 0
    assert sum(a.count for i in range(3, 7) for a in _alarms(brain, _smoke(brain, i))) == 40
    assert brain.ingest.counts["alarm.rejected.malformed_json"] == 1
    assert brain.ingest.counts["status.accepted"] == 1


def test_a_worker_behind_takes_many_entries_and_handles_them_in_groups_each_acknowledged(brain, stream, monkeypatch):
    from brain.ingest import queue as queue_module

    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="w")
    monkeypatch.setattr(queue_module, "BATCH_MESSAGES", 30)
    for k in range(7):  # seven entries of 10 alarms: what a storm's hand-over leaves while a worker is busy
        q.enqueue_many(_batch(brain, f"g{k}", 10))
    sizes = []
    handle = brain.ingest.handle  # each call: one group, its alarms in one transaction
    monkeypatch.setattr(brain.ingest, "handle", lambda messages: sizes.append(len(messages)) or handle(messages))
    assert q.work_once(block_ms=100) == 70  # one read
    assert sizes == [30, 30, 10]  # three transactions, each of whole entries
    assert q.pending() == 0
    assert sum(a.count for i in range(3, 7) for a in _alarms(brain, _smoke(brain, i))) == 70


def test_the_refusals_of_an_entry_handled_again_are_recorded_and_counted_once(brain, stream):
    """A worker handles an entry and dies before acknowledging it: another takes it over and handles it
    again. Its alarms were stored once (their message ids); its refused messages are recorded and
    counted once too, not again with each handling."""
    url, name = stream
    first = IngestQueue(url, brain.ingest, stream=name, consumer="first")
    second = IngestQueue(url, brain.ingest, stream=name, consumer="second", claim_idle_ms=200)
    ts = utcnow().isoformat()
    source = f"test:{uuid.uuid4().hex[:8]}"
    items = [*_batch(brain, "again", 12),
             ("alarm", b"{broken \xff", source, _smoke(brain, 3)),
             ("alarm", json.dumps({"type": "smoke", "ts": ts}), source, "NO-SUCH-DEVICE"),
             ("status", json.dumps({"ts": "yesterday"}), source, _smoke(brain, 4)),
             ("position", json.dumps({"id": "S1", "lat": 31.2, "lon": "east", "timestamp": ts}), source, "S1")]
    first.enqueue_many(items)
    before = dict(brain.ingest.counts)
    first.redis.xack = lambda *_a, **_k: 0  # handled, then the worker died before its XACK reached Redis
    assert first.work_once(block_ms=100) == len(items)
    assert first.pending() == 1
    time.sleep(0.3)  # idle past claim_idle_ms
    assert second.work_once(block_ms=100) == len(items) and second.reclaimed == 1
    assert second.pending() == 0
    with brain.db.read() as s:
        kept = s.execute(select(IngestReject.reason).where(IngestReject.source == source)).scalars().all()
    assert sorted(kept) == ["bad_field", "bad_timestamp", "malformed_json", "unknown_device"]
    counted = {k: v - before.get(k, 0) for k, v in brain.ingest.counts.items() if "rejected" in k}
    assert {k: v for k, v in counted.items() if v} == {
        "alarm.rejected.malformed_json": 1, "alarm.rejected.unknown_device": 1,
        "status.rejected.bad_timestamp": 1, "position.rejected.bad_field": 1}
    alarms = [a for i in range(3, 7) for a in _alarms(brain, _smoke(brain, i))]
    assert sum(a.count for a in alarms) == 12  # each alarm message once


def test_a_batch_held_by_a_killed_worker_is_taken_over_and_each_alarm_stored_once(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="survivor", claim_idle_ms=200)
    q.enqueue_many(_batch(brain, "held-batch", 30))
    _taken_by_a_worker_then_killed(url, name)
    assert q.pending() == 1
    time.sleep(0.3)
    assert q.work_once(block_ms=100) == 30 and q.reclaimed == 1
    q.enqueue_many(_batch(brain, "held-batch", 30))  # the same again, as after an XACK that was lost
    assert q.work_once(block_ms=100) == 30
    alarms = [a for i in range(3, 7) for a in _alarms(brain, _smoke(brain, i))]
    assert len(alarms) == 4 and sum(a.count for a in alarms) == 30  # one alarm per device, each message once


def test_an_entry_of_the_earlier_one_message_form_is_still_read(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="w")
    dev = _smoke(brain, 8)
    q.redis.xadd(name, {"kind": "alarm", "source": "test", "subject": dev,
                        "body": json.dumps({"type": "smoke", "ts": utcnow().isoformat()})})
    assert q.work_once(block_ms=100) == 1 and q.pending() == 0
    assert len(_alarms(brain, dev)) == 1


def test_a_batch_cut_short_is_refused_recorded_and_acknowledged(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="w")
    whole = pack([("alarm", b'{"type": "smoke"}', "test", "SMK-1")])
    q.redis.xadd(name, {"batch": whole[:-5]})
    assert q.work_once(block_ms=100) == 0 and q.pending() == 0
    assert brain.ingest.counts["unknown.rejected.malformed_batch"] == 1


def test_pack_and_unpack_keep_every_part_byte_for_byte():
    items = [("alarm", b"\x00\xff not utf-8", "mqtt:brain/x/gateways/g/events", None),
             ("position", '{"lat": 31.3}', "http", "S00001"), ("status", b"", "s" * 200, "SMK-000001")]
    assert unpack(pack(items)) == [("alarm", "mqtt:brain/x/gateways/g/events", None, b"\x00\xff not utf-8"),
                                   ("position", "http", "S00001", b'{"lat": 31.3}'),
                                   ("status", "s" * 120, "SMK-000001", b"")]
