"""MQTT ingest against a real Mosquitto broker (MQTT_URL): alarms and positions by topic, bad messages
refused and counted, duplicates ignored, and messages sent while the consumer is down delivered later."""

import json
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from brain.alarms.models import Alarm
from brain.ingest.mqtt import MqttIngest
from brain.storage.db import utcnow
from tests.conftest import service_url, wait_until


@pytest.fixture
def broker():
    u = urlparse(service_url("MQTT_URL"))
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    try:
        pub.connect(u.hostname or "127.0.0.1", u.port or 1883)
    except OSError as e:
        pytest.fail(f"MQTT broker at {u.netloc} not reachable: {e}")
    pub.loop_start()
    yield pub
    pub.loop_stop()
    pub.disconnect()


def _publish(pub, topic, payload):
    info = pub.publish(topic, payload if isinstance(payload, bytes) else json.dumps(payload), qos=1)
    info.wait_for_publish(5)


def _consumer(brain, client_id):
    return MqttIngest(service_url("MQTT_URL"), brain.ingest, division=brain.district.meta["division_code"],
                      client_id=client_id).start()


def test_alarms_and_positions_arrive_by_topic_and_bad_ones_are_counted(brain, broker):
    d = brain.district.meta["division_code"]
    consumer = _consumer(brain, f"test-ingest-{uuid.uuid4().hex[:8]}")
    try:
        assert consumer.connected.is_set()
        devices = brain.district.devices
        dev = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
        person = brain.staff.roster()[0]
        good = {"type": "smoke", "ts": utcnow().isoformat(), "id": f"msg-{uuid.uuid4().hex[:8]}"}
        _publish(broker, f"brain/{d}/devices/{dev}/events", good)
        _publish(broker, f"brain/{d}/devices/{dev}/events", good)  # delivered twice: counted once
        _publish(broker, f"brain/{d}/devices/{dev}/events", b"{oops")
        _publish(broker, f"brain/{d}/devices/NO-SUCH-DEVICE/events", {"type": "smoke", "ts": utcnow().isoformat()})
        _publish(broker, f"brain/{d}/staff/{person.id}/position",
                 {"lat": 31.3302, "lon": 121.4503, "timestamp": utcnow().timestamp() + 2})
        _publish(broker, f"brain/{d}/staff/{person.id}/position", {"lat": "NaN", "lon": 121.45, "timestamp": 1})
        assert wait_until(lambda: consumer.received >= 6), consumer.health()
        # received is counted on arrival; the pipeline handles what arrived in batches after it
        expected = {"position.accepted": 1, "position.rejected.not_a_number": 1,
                    "alarm.rejected.malformed_json": 1, "alarm.rejected.unknown_device": 1}
        assert wait_until(lambda: all(brain.ingest.counts[k] >= n for k, n in expected.items())), brain.ingest.counts
        counts = brain.ingest.counts
        assert counts["alarm.accepted"] == 2 or counts["alarm.accepted"] + counts["alarm.duplicate"] == 2
        assert counts["alarm.rejected.malformed_json"] == 1 and counts["alarm.rejected.unknown_device"] == 1
        assert counts["position.rejected.not_a_number"] == 1
        with brain.db.read() as s:
            alarm = s.scalars(select(Alarm).where(Alarm.device_id == dev)).one()
        assert alarm.count == 1
        moved = next(p for p in brain.staff.roster() if p.id == person.id)
        assert moved.lat == pytest.approx(31.3302)
        health = brain.health()["ingest"]
        assert health["mqtt"] is None  # this brain's own consumer is off; the test runs its own
        assert health["rejected_last_24h"] == {"malformed_json": 1, "unknown_device": 1, "not_a_number": 1}
    finally:
        consumer.stop()


@pytest.mark.parametrize("durable", [False, True], ids=["direct", "redis"])
def test_a_gateway_topic_carries_alarms_of_the_devices_its_bodies_name(brain, broker, durable):
    from brain.events.models import EventRecord
    from brain.ingest.queue import IngestQueue

    d = brain.district.meta["division_code"]
    devices = brain.district.devices
    smoke, gas = (str(devices[devices["type"] == t]["id"].iloc[0]) for t in ("smoke", "gas"))
    name = f"test:ingest:{uuid.uuid4().hex[:8]}"
    queue = IngestQueue(service_url("REDIS_URL"), brain.ingest, stream=name, consumer="w1") if durable else None
    consumer = MqttIngest(service_url("MQTT_URL"), brain.ingest, division=d,
                          client_id=f"test-gw-{uuid.uuid4().hex[:8]}", queue=queue).start()
    topic = f"brain/{d}/gateways/gw-7/events"
    try:
        _publish(broker, topic, {"device_id": smoke, "type": "smoke", "ts": utcnow().isoformat()})
        _publish(broker, topic, {"device_id": gas, "type": "gas_leak", "ts": utcnow().isoformat()})
        _publish(broker, topic, {"type": "smoke", "ts": utcnow().isoformat()})  # names no device
        _publish(broker, f"brain/{d}/gateways/gw-7/weather", {"device_id": smoke})  # no such kind
        assert wait_until(lambda: consumer.received >= 4), consumer.health()
        if queue is not None:
            assert wait_until(lambda: consumer.handed_over == 3)
            assert queue.work_once(block_ms=500) == 3
        counts = brain.ingest.counts
        assert wait_until(lambda: counts["alarm.accepted"] == 2 and counts["alarm.rejected.missing_field"] == 1
                          and counts["unknown.rejected.unknown_topic"] == 1), dict(counts)
        with brain.db.read() as s:
            raised = {a.device_id: a for a in s.scalars(select(Alarm).where(Alarm.device_id.in_([smoke, gas])))}
            assert (raised[smoke].type, raised[gas].type) == ("smoke", "gas_leak")
            actors = set(s.scalars(select(EventRecord.actor).where(EventRecord.type == "alarm.raised",
                                                                   EventRecord.subject_id.in_(
                                                                       [a.id for a in raised.values()]))))
            assert actors == {f"device:{smoke}", f"device:{gas}"}
    finally:
        consumer.stop()
        if queue is not None:
            queue.redis.delete(name)


def test_messages_sent_while_the_consumer_is_down_arrive_when_it_returns(brain, broker):
    d = brain.district.meta["division_code"]
    client_id = f"test-ingest-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(brain, client_id)  # registers a persistent session at the broker
    consumer.stop()
    devices = brain.district.devices
    dev = str(devices[devices["type"] == "elevator"]["id"].iloc[0])
    _publish(broker, f"brain/{d}/devices/{dev}/events", {"type": "trapped", "ts": utcnow().isoformat()})
    time.sleep(0.3)
    with brain.db.read() as s:
        assert s.scalars(select(Alarm).where(Alarm.device_id == dev)).all() == []
    consumer = _consumer(brain, client_id)
    try:
        assert wait_until(lambda: brain.ingest.counts["alarm.accepted"] == 1), consumer.health()
        with brain.db.read() as s:
            assert s.scalars(select(Alarm).where(Alarm.device_id == dev)).one().type == "trapped"
    finally:
        consumer.stop()


def test_with_redis_mqtt_hands_messages_to_the_durable_queue_for_any_worker(brain, broker):
    from brain.ingest.queue import IngestQueue

    url = service_url("REDIS_URL")
    name = f"test:ingest:{uuid.uuid4().hex[:8]}"
    queue = IngestQueue(url, brain.ingest, stream=name, consumer="w1")
    d = brain.district.meta["division_code"]
    consumer = MqttIngest(service_url("MQTT_URL"), brain.ingest, division=d,
                          client_id=f"test-ingest-{uuid.uuid4().hex[:8]}", queue=queue).start()
    try:
        devices = brain.district.devices
        dev = str(devices[devices["type"] == "gas"]["id"].iloc[0])
        _publish(broker, f"brain/{d}/devices/{dev}/events", {"type": "gas_leak", "ts": utcnow().isoformat()})
        assert wait_until(lambda: consumer.received >= 1)
        assert brain.ingest.counts["alarm.accepted"] == 0  # handed over, not handled in the MQTT thread
        assert wait_until(lambda: queue.work_once(block_ms=200) == 1)
        with brain.db.read() as s:
            assert s.scalars(select(Alarm).where(Alarm.device_id == dev)).one().type == "gas_leak"
        assert consumer.health()["via"] == "redis"
    finally:
        consumer.stop()
        queue.redis.delete(name)


def test_a_status_on_a_device_topic_is_its_heartbeat_and_a_sign_of_life_clears_a_welfare_alarm(brain, broker):
    from datetime import timedelta

    from sqlalchemy import update

    from brain.district.models import Device

    d = brain.district.meta["division_code"]
    places, devices = brain.district.places, brain.district.devices
    home = str(places[(places["kind"] == "home") & places["living_alone"]]["id"].iloc[0])
    door = str(devices[(devices["place"] == home) & (devices["type"] == "door")]["id"].iloc[0])
    with brain.db.transaction() as s:
        s.execute(update(Device).where(Device.place_id == home)
                  .values(last_activity_at=utcnow() - timedelta(hours=20)))
    [alarm_id] = brain.monitor.sweep_welfare(utcnow())
    consumer = _consumer(brain, f"test-status-{uuid.uuid4().hex[:8]}")
    try:
        _publish(broker, f"brain/{d}/devices/{door}/status", {"ts": utcnow().isoformat(), "activity": True})
        _publish(broker, f"brain/{d}/devices/{door}/status", b"{not json")
        assert wait_until(lambda: brain.ingest.counts["status.accepted"] == 1
                     and brain.ingest.counts["status.rejected.malformed_json"] == 1)
        with brain.db.read() as s:
            alarm = s.get(Alarm, alarm_id)
            assert (alarm.state, alarm.false_alarm) == ("cleared", True)
            assert s.get(Device, door).last_activity_at > utcnow() - timedelta(minutes=1)
    finally:
        consumer.stop()


def _subscriber(topic: str, *, client_id: str | None = None, ack: bool = True):
    """A paho client subscribed to `topic` at QoS 1 (persistent session, manual acks, as the app's consumer
    is), collecting (topic, payload, mid, qos); with `ack`, each acknowledged as it arrives."""
    u = urlparse(service_url("MQTT_URL"))
    got: list[tuple] = []
    subscribed: list[bool] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-sub-{uuid.uuid4().hex[:8]}",
                      clean_session=False, manual_ack=True)

    def take(_c, _u, m) -> None:
        got.append((m.topic, bytes(m.payload), m.mid, m.qos))
        if ack:
            sub.ack(m.mid, m.qos)

    sub.on_message = take
    sub.on_subscribe = lambda *_a: subscribed.append(True)
    sub.connect(u.hostname or "127.0.0.1", u.port or 1883)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    assert wait_until(lambda: subscribed)
    return sub, got


def test_messages_acknowledged_are_not_delivered_again_and_the_rest_are(broker):
    """Manual acknowledgement, as the consumer uses it: after a reconnect of the same session the broker
    sends again exactly the QoS 1 messages left unacknowledged."""
    topic = f"test/acks/{uuid.uuid4().hex[:8]}"
    client_id = f"test-acks-{uuid.uuid4().hex[:8]}"
    sub, got = _subscriber(topic, client_id=client_id, ack=False)
    try:
        for i in range(100):
            broker.publish(topic, str(i).encode(), qos=1).wait_for_publish(10)
        acked = 0
        deadline = time.monotonic() + 30
        while len(got) < 100 and time.monotonic() < deadline:  # acknowledged in batches as they come; the
            # broker sends only so many unacknowledged, so all 100 arrive only if the batches are acknowledged
            time.sleep(0.05)
            batch, acked = got[acked:], len(got)
            for _t, body, mid, qos in batch:
                if int(body) % 10:  # every tenth left
                    sub.ack(mid, qos)
        assert len(got) == 100, len(got)
        time.sleep(0.5)  # the PUBACKs are written by the network thread
    finally:
        sub.loop_stop()
        sub.disconnect()
    again, got_again = _subscriber(topic, client_id=client_id)
    try:
        assert wait_until(lambda: len(got_again) >= 10, timeout=10), len(got_again)
        time.sleep(0.5)  # nothing more comes
        assert sorted(int(body) for _t, body, _mid, _qos in got_again) == list(range(0, 100, 10))
    finally:
        again.loop_stop()
        again.disconnect()
