"""Redis killed and restarted under load loses nothing: alarms published over MQTT are handed to the
durable queue on a Redis of the test's own (append-only file, fsync always), which is SIGKILLed in the
middle of the stream and started again on the same files. Every message ends up stored exactly once.

The broker is a Mosquitto of the test's own too, configured as docs/OPERATIONS.md asks: with its
default `max_queued_messages 1000`, a broker drops what it holds beyond that for a consumer that is
waiting for Redis to come back (the shared broker's log says "Outgoing messages are being dropped")."""

import json
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from brain.alarms.models import Alarm
from brain.ingest.models import IngestMessage
from brain.ingest.mqtt import MqttIngest
from brain.ingest.queue import IngestQueue
from brain.storage.db import utcnow
from tests.conftest import missing, sqlite_database
from tools.services import own_mosquitto


@pytest.fixture
def db(tmp_path):
    """The subject is Redis, not the dialect; and the queue's worker thread needs a database of its own
    connections (the PostgreSQL fixture shares one connection, rolled back after the test)."""
    database = sqlite_database(tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def own_broker(tmp_path):
    try:
        with own_mosquitto(tmp_path) as url:
            yield url
    except RuntimeError as e:
        missing(str(e))


def test_redis_killed_and_restarted_under_load_loses_nothing(brain, own_redis, own_broker):
    broker = urlparse(own_broker)
    division = f"t{uuid.uuid4().hex[:8]}"
    devices = brain.district.devices
    smoke = [str(d) for d in devices[devices["type"] == "smoke"]["id"].iloc[:100]]
    queue = IngestQueue(own_redis.url, brain.ingest, stream="brain:ingest", claim_idle_ms=1500).start()
    consumer = MqttIngest(own_broker, brain.ingest, division=division, queue=queue,
                          client_id=f"test-restart-{uuid.uuid4().hex[:8]}").start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    pub.max_queued_messages_set(0)
    pub.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    pub.loop_start()
    sent: list[str] = []
    try:
        now = utcnow()
        for i in range(1500):
            device = smoke[i % len(smoke)]
            msg_id = f"restart-{division}-{i}"
            body = {"type": "low_battery", "ts": (now.replace(microsecond=0)).isoformat(), "id": msg_id}
            pub.publish(f"brain/{division}/devices/{device}/events", json.dumps(body), qos=1)
            sent.append(msg_id)
            if i == 500:  # in the middle of the stream: Redis dies and comes back on its own files
                time.sleep(0.3)
                own_redis.kill()
                time.sleep(1.5)
                own_redis.start()
        deadline = time.monotonic() + 90

        def stored() -> int:
            with brain.db.read() as s:
                return int(s.scalar(select(func.count()).select_from(IngestMessage)
                                    .where(IngestMessage.id.in_(sent))))

        while stored() < len(sent) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert stored() == len(sent)
        with brain.db.read() as s:
            counts = s.scalars(select(Alarm.count).where(Alarm.device_id.in_(smoke), Alarm.type == "low_battery"))
            assert sum(counts) == len(sent)  # each message counted once: nothing lost, nothing twice
        assert consumer.unacknowledged == 0
        deadline = time.monotonic() + 10
        while queue.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert queue.pending() == 0
        assert queue.durable()
    finally:
        pub.loop_stop()
        pub.disconnect()
        consumer.stop()
        queue.stop()
