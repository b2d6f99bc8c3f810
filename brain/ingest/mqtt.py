"""The MQTT consumer: device alarms and staff positions from a broker, into the ingest pipeline.

Topics (``<d>`` is the district's division code):

    brain/<d>/devices/<device_id>/events     an alarm, JSON: {"type", "ts", optional "id", "severity"}
    brain/<d>/staff/<staff_id>/position      a fix, JSON: {"lat", "lon", "timestamp", optional "speed",
                                             "bearing", "accuracy", "coord": "wgs84" | "gcj02" | "bd09"}

QoS 1 with a persistent session under a fixed client id: messages published while the consumer is
down wait at the broker, and a message delivered twice is recognised by its id. A message is
acknowledged only after the pipeline has handled it (accepted, duplicate or refused with a record).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from brain.ingest.pipeline import Pipeline
from brain.ingest.queue import IngestQueue

log = logging.getLogger(__name__)


def topics(division: str) -> dict[str, str]:
    return {"alarms": f"brain/{division}/devices/+/events", "positions": f"brain/{division}/staff/+/position"}


class MqttIngest:
    """Subscribes on start(); every message goes through `pipeline`; stop() disconnects."""

    def __init__(self, url: str, pipeline: Pipeline, *, division: str, client_id: str = "community-brain-ingest",
                 queue: IngestQueue | None = None) -> None:
        """With `queue`, messages are handed to the durable Redis queue (any worker handles them) instead
        of the pipeline in this process."""
        u = urlparse(url)
        if u.scheme not in ("mqtt", "tcp", ""):
            raise ValueError(f"MQTT_URL must be mqtt://host:port, not {url!r}")
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 1883
        self.pipeline = pipeline
        self.queue = queue
        self.division = division
        self.topics = topics(division)
        self.connected = threading.Event()
        self.received = 0
        self.unacknowledged = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True)
        if u.username:
            self.client.username_pw_set(u.username, u.password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)

    def start(self, timeout: float = 10.0) -> MqttIngest:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            log.warning("MQTT broker %s:%s not reachable yet; retrying in the background", self.host, self.port)
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def health(self) -> dict:
        return {"connected": self.connected.is_set(), "broker": f"{self.host}:{self.port}",
                "topics": list(self.topics.values()), "received": self.received,
                "left_unacknowledged": self.unacknowledged, "via": "redis" if self.queue else "pipeline"}

    # --- callbacks (the network thread) ----------------------------------------------------------
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe([(t, 1) for t in self.topics.values()])

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        # ready only once the broker has confirmed the subscriptions: a message published before that
        # would not be routed to this session
        if any(getattr(rc, "is_failure", False) for rc in reason_codes):
            log.error("MQTT subscription refused: %s", reason_codes)
            return
        self.connected.set()
        log.info("MQTT ingest subscribed on %s:%s to %s", self.host, self.port, ", ".join(self.topics.values()))

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connected.clear()
        if reason_code != 0:
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, _userdata, msg) -> None:
        self.received += 1
        try:
            parts = msg.topic.split("/")
            source = f"mqtt:{msg.topic}"[:120]
            alarm = len(parts) == 5 and parts[:3] == ["brain", self.division, "devices"] and parts[4] == "events"
            position = len(parts) == 5 and parts[:3] == ["brain", self.division, "staff"] and parts[4] == "position"
            if (alarm or position) and self.queue is not None:
                self.queue.enqueue("alarm" if alarm else "position", bytes(msg.payload), source=source,
                                   subject=parts[3][:40])
            elif alarm:
                self.pipeline.handle_alarm(msg.payload, source=source, device_from_topic=parts[3],
                                           actor=f"device:{parts[3]}"[:100])
            elif position:
                self.pipeline.handle_position(msg.payload, source=source, staff_from_topic=parts[3],
                                              actor="gps")
            else:
                self.pipeline.reject("unknown", source, "unknown_topic", f"no handler for {msg.topic}", msg.payload)
        except Exception:  # Redis unreachable (the pipeline itself never raises): not acknowledged, so the
            # broker delivers it again when this session reconnects; nothing is lost
            log.exception("MQTT message on %s could not be handed over; left unacknowledged", msg.topic)
            self.unacknowledged += 1
            return
        client.ack(msg.mid, msg.qos)
