"""MQTT with credentials and TLS, against a broker of the test's own that lets in only known users and lets
each gateway publish only under its own topic."""

import contextlib
import json
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from brain.ingest.mqtt import MqttIngest
from brain.storage.db import utcnow
from tests.conftest import missing, wait_until

USERS = {"brain-ingest": "consumer-secret-1", "GW-0001": "gateway-secret-1"}


@pytest.fixture
def secure_broker(tmp_path):
    from tools.services import own_secure_mosquitto

    try:
        with own_secure_mosquitto(tmp_path, USERS) as broker:
            yield broker
    except RuntimeError as e:
        missing(str(e))


def _publisher(port: int, user: str, password: str, *, ca: str | None = None) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{user}-{uuid.uuid4().hex[:6]}")
    c.username_pw_set(user, password)
    if ca:
        c.tls_set(ca_certs=ca)
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert wait_until(c.is_connected, timeout=5), f"{user} could not sign in"
    return c


def _smoke(brain):
    d = brain.district.devices
    return str(d[d["type"] == "smoke"]["id"].iloc[0])


@pytest.mark.parametrize("over", ["tls", "plain"])
def test_the_consumer_signs_in_and_a_gateway_publishes_only_under_its_own_topic(brain, secure_broker, over):
    division = brain.district.meta["division_code"]
    url = secure_broker.tls_url if over == "tls" else secure_broker.url
    consumer = MqttIngest(url, brain.ingest, division=division, client_id=f"test-sec-{uuid.uuid4().hex[:6]}",
                          ca_file=secure_broker.ca_file).start()
    port = int(url.rsplit(":", 1)[1])
    gateway = _publisher(port, "GW-0001", USERS["GW-0001"], ca=secure_broker.ca_file if over == "tls" else None)
    try:
        assert consumer.connected.is_set(), consumer.health()
        dev = _smoke(brain)
        body = {"device_id": dev, "type": "smoke", "ts": utcnow().isoformat()}
        gateway.publish(f"brain/{division}/gateways/GW-0001/events", json.dumps({**body, "id": "own"}),
                        qos=1).wait_for_publish(5)
        # another gateway's topic: the broker refuses it (the ACL; Mosquitto also ends that connection)
        forged = gateway.publish(f"brain/{division}/gateways/GW-9999/events", json.dumps({**body, "id": "forged"}),
                                 qos=1)
        with contextlib.suppress(RuntimeError, ValueError):
            forged.wait_for_publish(5)
        assert wait_until(lambda: brain.ingest.counts["alarm.accepted"] == 1, timeout=10), consumer.health()
        time.sleep(0.5)  # the forged message, had the broker passed it on, would have arrived by now
        assert consumer.received == 1 and consumer.health()["tls"] is (over == "tls")
    finally:
        gateway.loop_stop()
        gateway.disconnect()
        consumer.stop()


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_a_consumer_without_the_right_credentials_is_refused_and_health_says_so(brain, secure_broker, password):
    division = brain.district.meta["division_code"]
    port = secure_broker.url.rsplit(":", 1)[1]
    url = f"mqtt://brain-ingest:{password}@127.0.0.1:{port}" if password else f"mqtt://127.0.0.1:{port}"
    consumer = MqttIngest(url, brain.ingest, division=division, client_id=f"test-bad-{uuid.uuid4().hex[:6]}")
    consumer.start(timeout=3)
    brain.mqtt = consumer
    try:
        assert not consumer.connected.is_set()
        assert wait_until(lambda: consumer.refused is not None, timeout=5)
        assert "mqtt_disconnected" in brain.ingest_stalls()
    finally:
        brain.mqtt = None
        consumer.stop()


def test_tls_refuses_a_broker_whose_certificate_no_known_authority_signed(brain, secure_broker):
    consumer = MqttIngest(secure_broker.tls_url, brain.ingest, division=brain.district.meta["division_code"],
                          client_id=f"test-ca-{uuid.uuid4().hex[:6]}")  # the system's authorities only
    consumer.start(timeout=3)
    try:
        assert not consumer.connected.is_set()
    finally:
        consumer.stop()
