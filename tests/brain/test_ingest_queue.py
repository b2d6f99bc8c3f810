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
from brain.ingest.queue import IngestQueue
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


def test_a_message_held_by_a_killed_worker_is_taken_over(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="survivor", claim_idle_ms=200)
    dev = _smoke(brain, 1)
    q.enqueue("alarm", json.dumps({"type": "smoke", "ts": utcnow().isoformat(), "id": "held-1"}), source="test",
              subject=dev)
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url, name], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("took")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
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
