"""Poison messages: a message built to break the decoder, the database or a worker is refused (or kept
as a dead letter) on its own, acknowledged, and never takes a valid alarm with it; health says when
ingest stalls."""

import json
import uuid

import paho.mqtt.client as mqtt
import pytest
import redis
from sqlalchemy import func, select

from brain.alarms.models import Alarm
from brain.alarms.service import AlarmService
from brain.ingest import queue as queue_module
from brain.ingest.models import IngestReject
from brain.ingest.mqtt import MqttIngest
from brain.ingest.pipeline import Pipeline
from brain.ingest.queue import IngestQueue
from brain.storage.db import utcnow
from tests.conftest import service_url, wait_until

DEEP = b'{"type": "smoke", "ts": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"  # 10 KB, under the size limit


def _smokes(brain, n):
    d = brain.district.devices
    return [str(x) for x in d[d["type"] == "smoke"]["id"].iloc[:n]]


def _good(dev=None):
    body = {"type": "smoke", "ts": utcnow().isoformat(), "id": f"m-{uuid.uuid4().hex[:10]}"}
    return body | ({"device_id": dev} if dev else {})


def _stored(brain, devs) -> set[str]:
    with brain.db.read() as s:
        return set(s.scalars(select(Alarm.device_id).where(Alarm.device_id.in_(devs))))


def _reasons(brain) -> list[str]:
    with brain.db.read() as s:
        return list(s.scalars(select(IngestReject.reason).order_by(IngestReject.seq)))


@pytest.mark.parametrize("raw", [DEEP, DEEP.decode(), b'{"a": ' + b"[" * 20 + b"]" * 20 + b"}"])
def test_a_deeply_nested_body_is_refused_as_too_deep_not_raised(brain, raw):
    out = brain.ingest.handle_alarm(raw, source="test", device_from_topic=_smokes(brain, 1)[0])
    assert out.status == "rejected" and out.reason == "too_deep"
    assert _reasons(brain) == ["too_deep"]


@pytest.mark.parametrize("poison", [
    '{"device_id": "SMK\\u0000", "type": "smoke", "ts": 1}',
    '{"device_id": "SMK", "type": "smo\\u0000ke", "ts": 1}',
    '{"device_id": "SMK", "type": "smoke", "ts": 1, "id": "\\ud800x"}',
    '{"device_id": "SMK", "type": "smoke", "ts": 1, "note\\u0000": 1}',
])
def test_nul_and_lone_surrogates_are_refused_alone_and_the_valid_alarms_beside_them_are_stored(brain, poison):
    devs = _smokes(brain, 4)
    items = [(json.dumps(_good(devs[0])), "t", None, "device"), (poison.encode(), "t", None, "device"),
             (json.dumps(_good(devs[1])), "t", None, "device"), ({"device_id": devs[2], "type": "smoke",
                                                                  "ts": utcnow().isoformat(), "x": "\x00"}, "t",
                                                                 None, "device"),
             (json.dumps(_good(devs[3])), "t", None, "device")]
    outs = brain.ingest.handle_alarms(items)
    assert [o.status for o in outs] == ["accepted", "rejected", "accepted", "rejected", "accepted"]
    assert {outs[1].reason, outs[3].reason} == {"unstorable_text"}
    assert _stored(brain, devs) == {devs[0], devs[1], devs[3]}
    assert _reasons(brain) == ["unstorable_text", "unstorable_text"]  # the refusals themselves are storable


class FailsForOneDevice(AlarmService):
    """An alarm service with a fault for one device (a bug, or a value the database will not take)."""

    def __init__(self, store, bad: str) -> None:
        super().__init__(store)
        self.bad = bad

    def raise_many(self, messages, **kw):
        if any(m.device_id == self.bad for m in messages):
            raise RuntimeError("a fault of the brain's")
        return super().raise_many(messages, **kw)


def _faulty_pipeline(brain, bad):
    return Pipeline(brain.db, FailsForOneDevice(brain.store, bad), brain.staff, brain.gazetteer, brain.monitor)


def test_a_batch_that_fails_is_split_so_the_valid_alarms_are_stored(brain):
    devs = _smokes(brain, 3)
    pipeline = _faulty_pipeline(brain, devs[1])
    outs = pipeline.handle_alarms([(json.dumps(_good(d)), "t", None, "device") for d in devs])
    assert [o.status for o in outs] == ["accepted", "rejected", "accepted"]
    assert outs[1].reason == "internal_error"
    assert _stored(brain, devs) == {devs[0], devs[2]}


@pytest.fixture
def stream():
    url = service_url("REDIS_URL")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis at {url} not reachable: {e}")
    name = f"test:poison:{uuid.uuid4().hex[:8]}"
    yield url, name
    redis.Redis.from_url(url).delete(name, f"{name}:alive")


def test_the_queue_worker_survives_poison_and_stores_every_valid_alarm(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="w", claim_idle_ms=0)
    devs = _smokes(brain, 6)
    batch = []
    for i, dev in enumerate(devs):
        batch.append(("alarm", json.dumps(_good()), "test", dev))
        batch.append(("alarm", DEEP if i % 2 else '{"type": "smoke", "ts": 1, "id": "a\\u0000"}', "test", dev))
    q.enqueue_many(batch)
    q.enqueue("status", DEEP, source="test", subject=devs[0])
    q.enqueue("position", '{"lat": 31.3, "lon": 121.4, "timestamp": 1, "coord": "\\ud800"}', source="test",
              subject="S00001")
    q.start()
    try:
        assert wait_until(lambda: q.handled == 14 and q.pending() == 0), q.health()
        assert q.stalls(in_process=True) == []
    finally:
        q.stop()
    assert _stored(brain, devs) == set(devs)


def test_a_message_that_keeps_failing_goes_to_a_dead_letter_and_health_says_so(brain, stream, monkeypatch):
    url, name = stream
    devs = _smokes(brain, 2)
    q = IngestQueue(url, _faulty_pipeline(brain, devs[1]), stream=name, consumer="w", claim_idle_ms=0)
    brain.queue = q  # what the brain's health reads
    try:
        q.enqueue_many([("alarm", json.dumps(_good()), "test", d) for d in devs])
        tries = 0
        while q.pending() or tries == 0:
            q.work_once(block_ms=10)
            tries += 1
            assert tries <= queue_module.MAX_DELIVERIES + 1, "never given up"
        assert _stored(brain, devs) == {devs[0]}
        with brain.db.read() as s:
            dead = s.scalars(select(IngestReject).where(IngestReject.reason == "dead_letter")).all()
            internal = s.scalar(select(func.count()).select_from(IngestReject).where(
                IngestReject.reason == "internal_error"))
        assert len(dead) == 1 and json.loads(dead[0].excerpt)["type"] == "smoke"  # whole, to be replayed
        assert internal == queue_module.MAX_DELIVERIES  # each try recorded, and no more
        health = brain.health()
        assert health["status"] == "degraded" and "dead_letters" in health["reasons"]
    finally:
        brain.queue = None


def test_health_is_degraded_when_no_worker_consumes_the_queue(brain, stream):
    url, name = stream
    q = IngestQueue(url, brain.ingest, stream=name, consumer="idle")
    brain.queue = q
    try:
        health = brain.health()
        assert health["status"] == "degraded"
        assert {"queue_no_consumer", "queue_worker_stalled"} <= set(health["reasons"])
        q.start()
        assert wait_until(lambda: brain.health()["status"] == "ok", timeout=5), brain.health()["reasons"]
    finally:
        q.stop()
        brain.queue = None


def test_the_extra_worker_consumes_even_with_the_apps_in_app_flag_off(monkeypatch):
    from brain.config import Settings
    from brain.ingest import __main__ as worker

    seen = {}

    class Stop(Exception):
        pass

    def started(self):
        seen["ingest_in_app"] = self.settings.ingest_in_app
        raise Stop

    monkeypatch.setenv("BRAIN_INGEST_IN_APP", "0")
    monkeypatch.setenv("REDIS_URL", service_url("REDIS_URL"))
    assert Settings.from_env().ingest_in_app is False
    monkeypatch.setattr(worker.Brain, "start", started)
    with pytest.raises(Stop):
        worker.main()
    assert seen["ingest_in_app"] is True


def test_twenty_five_poison_messages_over_mqtt_do_not_stop_a_later_alarm(brain):
    division = brain.district.meta["division_code"]
    consumer = MqttIngest(service_url("MQTT_URL"), brain.ingest, division=division,
                          client_id=f"test-poison-{uuid.uuid4().hex[:8]}").start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    try:
        assert consumer.connected.is_set()
        pub.connect(consumer.host, consumer.port)
        pub.loop_start()
        dev = _smokes(brain, 1)[0]
        topic = f"brain/{division}/devices/{dev}/events"
        for _ in range(25):  # more than the broker's in-flight window of 20
            pub.publish(topic, DEEP, qos=1).wait_for_publish(5)
        pub.publish(topic, json.dumps(_good()), qos=1).wait_for_publish(5)
        # counters, not the database, are watched meanwhile: the test's PostgreSQL is one connection
        assert wait_until(lambda: brain.ingest.counts["alarm.accepted"] == 1, timeout=15), consumer.health()
        assert consumer.unacknowledged == 0 and brain.ingest.counts["alarm.rejected.too_deep"] == 25
        assert _stored(brain, [dev]) == {dev}
        assert "mqtt_unacknowledged" not in brain.ingest_stalls()
    finally:
        pub.loop_stop()
        pub.disconnect()
        consumer.stop()
