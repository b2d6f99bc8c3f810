"""A bounded fuzz of ingest: hypothesis makes bodies and topics a careless or hostile sender might, and
every one must come out of the pipeline (directly and over a real MQTT broker) with an outcome of its own:
accepted, duplicate, suppressed or refused with a reason. No exception, nothing left unacknowledged."""

import json
import uuid
from collections import Counter

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brain.ingest.mqtt import MqttIngest
from brain.ingest.pipeline import Message
from brain.storage.db import utcnow
from tests.conftest import service_url, wait_until

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                    st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
FIELDS = {"alarm": ["device_id", "type", "ts", "id", "severity"], "status": ["device_id", "ts", "activity"],
          "position": ["id", "lat", "lon", "timestamp", "speed", "coord"]}
NOW = utcnow()
# values that pass a field's checks, so that fuzzed messages also reach the later stages and the database
PLAUSIBLE = {
    "device_id": st.sampled_from(["SMK-000001", "GAS-000002", "DOR-000004", "ELV-000013", "FLN-000031"]),
    "type": st.sampled_from(["smoke", "gas_leak", "trapped", "blocked", "low_battery", "no_activity"]),
    "ts": st.integers(-3600, 60).map(lambda s: (NOW.timestamp() + s)),
    "timestamp": st.integers(-3600, 60).map(lambda s: str(int(NOW.timestamp()) + s)),
    "id": st.sampled_from(["S00001", "S00002", "m-1", "m-2"]),
    "severity": st.sampled_from(["critical", "minor", "loud"]),
    "activity": st.booleans(),
    "lat": st.floats(31.31, 31.34), "lon": st.floats(121.43, 121.46),
    "speed": st.floats(0, 30), "coord": st.sampled_from(["wgs84", "gcj02", "bd09", "utm"]),
}


@st.composite
def bodies(draw, kind: str):
    """A body near what the kind expects (its own field names, values of any shape), or anything at all."""
    if draw(st.booleans()):
        body = {name: draw(PLAUSIBLE[name]) if draw(st.integers(0, 5)) else draw(JSON) for name in FIELDS[kind]
                if draw(st.integers(0, 6))}
        raw = json.dumps(body, allow_nan=True)
    else:
        raw = json.dumps(draw(JSON), allow_nan=True)
    return draw(st.sampled_from([raw, raw, raw.encode(), raw.encode(), raw[: max(1, len(raw) // 2)].encode(),
                                 b"\xff" + raw.encode()]))


MESSAGES = st.lists(st.sampled_from(list(FIELDS)).flatmap(
    lambda kind: st.tuples(st.just(kind), bodies(kind), st.one_of(st.none(), TEXT))), min_size=1, max_size=8)


def test_every_fuzzed_message_has_an_outcome_and_the_pipeline_never_raises(brain):
    seen: Counter = Counter()

    @given(MESSAGES, st.sampled_from([("SMK-000001", "smoke"), ("GAS-000002", "gas_leak"), ("ELV-000013", "trapped")]),
           st.integers(-3000, 0))
    @settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def run(batch, device, age_s):
        good = {"device_id": device[0], "type": device[1], "ts": NOW.timestamp() + age_s}
        messages = [Message(kind, raw, "fuzz", subject) for kind, raw, subject in batch]
        outs = brain.ingest.handle([*messages, Message("alarm", json.dumps(good), "fuzz")])
        assert len(outs) == len(messages) + 1
        assert outs[-1].status in ("accepted", "duplicate"), outs[-1]  # the fuzz never takes a good one with it
        for o in outs:
            assert o.status in ("accepted", "duplicate", "suppressed", "rejected")
            assert o.status != "rejected" or (o.reason and o.reason != "internal_error"), o
            seen[o.status] += 1

    run()
    print(f"fuzzed ingest messages: {sum(seen.values())}, outcomes: {dict(seen)}")
    assert seen["rejected"] > 100 and seen["accepted"] + seen["duplicate"] + seen["suppressed"] >= 10


def test_fuzzed_payloads_over_mqtt_are_each_handled_and_acknowledged(brain):
    division = brain.district.meta["division_code"]
    consumer = MqttIngest(service_url("MQTT_URL"), brain.ingest, division=division,
                          client_id=f"test-fuzz-{uuid.uuid4().hex[:8]}").start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-fuzzpub-{uuid.uuid4().hex[:8]}")
    sent = []

    @given(st.sampled_from(["devices/SMK-X/events", "devices/SMK-X/status", "staff/S00001/position",
                            "gateways/GW-1/events", "gateways/GW-1/status"]).flatmap(
        lambda t: st.tuples(st.just(t), bodies({"events": "alarm", "status": "status",
                                                "position": "position"}[t.rsplit("/", 1)[1]]))))
    @settings(max_examples=120, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def publish(item):
        topic, raw = item
        pub.publish(f"brain/{division}/{topic}", raw if isinstance(raw, bytes) else raw.encode(), qos=1)
        sent.append(topic)

    try:
        assert consumer.connected.is_set()
        pub.connect(consumer.host, consumer.port)
        pub.loop_start()
        assert wait_until(pub.is_connected, timeout=5)
        publish()
        good = {"device_id": "SMK-X", "type": "smoke", "ts": utcnow().isoformat()}  # an unknown device at the end
        pub.publish(f"brain/{division}/gateways/GW-1/events", json.dumps(good), qos=1).wait_for_publish(5)
        total = len(sent) + 1
        assert wait_until(lambda: consumer.received == total, timeout=30), consumer.health()
        # every message was handled: counted as accepted, duplicate, suppressed or refused
        assert wait_until(lambda: sum(brain.ingest.counts.values()) >= total, timeout=30), brain.ingest.counts
        assert consumer.unacknowledged == 0 and consumer.failed == 0
        print(f"fuzzed MQTT messages: {total}, outcomes: {dict(brain.ingest.counts)}")
    finally:
        pub.loop_stop()
        pub.disconnect()
        consumer.stop()
