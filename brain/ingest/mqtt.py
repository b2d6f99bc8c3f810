"""The MQTT consumer: device alarms and staff positions from a broker, into the ingest pipeline.

Topics (``<d>`` is the district's division code):

    brain/<d>/devices/<device_id>/events     an alarm, JSON: {"type", "ts", optional "id", "severity"}
    brain/<d>/devices/<device_id>/status     a heartbeat, JSON: {"ts", optional "activity": true}
    brain/<d>/gateways/<gateway_id>/events   alarms of the devices behind a gateway (one connection for
    brain/<d>/gateways/<gateway_id>/status   many sensors): the same bodies, each naming its "device_id"
    brain/<d>/staff/<staff_id>/position      a fix, JSON: {"lat", "lon", "timestamp", optional "speed",
                                             "bearing", "accuracy", "coord": "wgs84" | "gcj02" | "bd09"}

QoS 1 with a persistent session under a fixed client id: messages published while the consumer is
down wait at the broker, and a message delivered twice is recognised by its id. A message is
acknowledged only after the pipeline has handled it (accepted, duplicate or refused with a record),
or, with the durable queue (REDIS_URL), once it is in Redis: a hand-over thread takes what arrived in
the last few milliseconds to Redis as one stream entry and then acknowledges each message.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
import redis

from brain.ingest.pipeline import Message, Pipeline
from brain.ingest.queue import IngestQueue

log = logging.getLogger(__name__)
HANDOVER_PATIENCE_S = 30.0  # how long a message waits for Redis to come back before the session restarts
HANDOVER_BATCH = 250  # messages handed to Redis as one stream entry at most
HANDOVER_LINGER_S = 0.005  # a message waits at most this long for others to share its round trip
HANDOVER_MAX = 20_000  # waiting messages beyond which the consumer stops taking more from the broker


# (topic level 3, level 5) -> the kind of message: brain/<division>/<level 3>/<id>/<level 5>
KINDS = {("devices", "events"): "alarm", ("devices", "status"): "status", ("staff", "position"): "position",
         ("gateways", "events"): "alarm", ("gateways", "status"): "status"}


def topics(division: str) -> dict[str, str]:
    return {"alarms": f"brain/{division}/devices/+/events", "status": f"brain/{division}/devices/+/status",
            "positions": f"brain/{division}/staff/+/position", "gateways": f"brain/{division}/gateways/+/+"}


class MqttIngest:
    """Subscribes on start(); every message goes through `pipeline`; stop() disconnects."""

    def __init__(self, url: str, pipeline: Pipeline, *, division: str, client_id: str = "community-brain-ingest",
                 queue: IngestQueue | None = None, ca_file: str | None = None) -> None:
        """With `queue`, messages are handed to the durable Redis queue (any worker handles them) instead
        of the pipeline in this process. `url` is mqtt://[user:password@]host[:1883], or mqtts:// for TLS
        (port 8883 by default), the broker's certificate checked against `ca_file` (else the system's
        authorities) and its host name."""
        u = urlparse(url)
        if u.scheme not in ("mqtt", "tcp", "mqtts", "ssl", ""):
            raise ValueError(f"MQTT_URL must be mqtt://host:port or mqtts://host:port, not {url!r}")
        tls = u.scheme in ("mqtts", "ssl")
        self.host, self.port = u.hostname or "127.0.0.1", u.port or (8883 if tls else 1883)
        self.tls = tls
        self.pipeline = pipeline
        self.queue = queue
        self.division = division
        self.topics = topics(division)
        self.connected = threading.Event()
        self.received = 0
        self.unacknowledged = 0
        self.refused: str | None = None  # why the broker last refused the connection
        self.failed = 0  # messages whose handling raised (a fault of the brain's): dead letters, acknowledged
        self.handover_retries = 0
        self.handed_over = 0
        self._stopping = False
        self._waiting: list[tuple] = []
        self._cond = threading.Condition()
        self._handover: threading.Thread | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True)
        if u.username:
            self.client.username_pw_set(unquote(u.username), unquote(u.password) if u.password else None)
        if tls:
            self.client.tls_set(ca_certs=ca_file)  # the broker's certificate and host name are checked
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)

    def start(self, timeout: float = 10.0) -> MqttIngest:
        if self.queue is not None:
            self._handover = threading.Thread(target=self._hand_over_loop, name="mqtt-handover", daemon=True)
            self._handover.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            log.warning("MQTT broker %s:%s not reachable yet; retrying in the background", self.host, self.port)
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._handover is not None:
            self._handover.join(HANDOVER_PATIENCE_S + 5)  # what is waiting is handed over (and acknowledged)
        self.client.disconnect()
        self.client.loop_stop()

    def health(self) -> dict:
        return {"connected": self.connected.is_set(), "broker": f"{self.host}:{self.port}", "tls": self.tls,
                "refused": self.refused,
                "topics": list(self.topics.values()), "received": self.received,
                "handed_over": self.handed_over, "handover_retries": self.handover_retries,
                "left_unacknowledged": self.unacknowledged, "via": "redis" if self.queue else "pipeline"}

    # --- callbacks (the network thread) ----------------------------------------------------------
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)  # wrong credentials, or not authorised: health says disconnected
            log.error("MQTT connect refused: %s", reason_code)
            return
        self.refused = None
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

    # --- the hand-over to the durable queue (its own thread) --------------------------------------
    def _take(self, item: tuple) -> None:
        """Queue a message for the hand-over thread; if Redis has been away long enough for HANDOVER_MAX
        to be waiting, hold here (the broker keeps the rest meanwhile)."""
        with self._cond:
            while len(self._waiting) >= HANDOVER_MAX and not self._stopping:
                self._cond.wait(1.0)
            self._waiting.append(item)
            if len(self._waiting) >= HANDOVER_BATCH:
                self._cond.notify_all()

    def _hand_over_loop(self) -> None:
        while True:
            with self._cond:
                if not self._waiting:
                    if self._stopping:
                        return
                    self._cond.wait(HANDOVER_LINGER_S)
                batch, self._waiting = self._waiting[:HANDOVER_BATCH], self._waiting[HANDOVER_BATCH:]
                self._cond.notify_all()
            if batch:
                self._hand_over(batch)

    def _hand_over(self, batch: list[tuple]) -> None:
        """Into the durable queue in one round trip, then each acknowledged to the broker. While Redis is
        away (a restart), try again for a while. If it stays away, the messages are left unacknowledged:
        the broker delivers them again when this session restarts (counted in `left_unacknowledged`)."""
        queue = self.queue
        assert queue is not None
        delay, waited = 0.2, 0.0
        while True:
            try:
                queue.enqueue_many([item[:4] for item in batch])
                break
            except redis.RedisError:
                if waited >= HANDOVER_PATIENCE_S or self._stopping:
                    log.exception("%d MQTT messages could not be handed over; left unacknowledged", len(batch))
                    self.unacknowledged += len(batch)
                    return
                self.handover_retries += 1
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 2.0)
        for *_rest, mid, qos in batch:
            self.client.ack(mid, qos)
        self.handed_over += len(batch)

    def _on_message(self, _client, _userdata, msg) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # refused by its name, as any topic the brain does not know
            topic = "(not UTF-8)"
        self._handle(topic, msg.payload, msg.mid, msg.qos)

    def _handle(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        """One message, on the network thread: to the hand-over (acknowledged once in Redis) or through
        the pipeline here (acknowledged once handled)."""
        self.received += 1
        try:
            parts = topic.split("/")
            source = f"mqtt:{topic}"[:120]
            kind = KINDS.get((parts[2], parts[4])) if len(parts) == 5 and parts[:2] == ["brain", self.division] \
                else None
            # a device's own topic names it; behind a gateway each body names its device
            device = parts[3][:40] if kind and parts[2] == "devices" else None
            if kind and self.queue is not None:  # acknowledged by the hand-over thread once in Redis
                subject = parts[3][:40] if parts[2] != "gateways" else None
                self._take((kind, bytes(payload), source, subject, mid, qos))
                return
            if kind == "position":
                self.pipeline.handle([Message(kind, payload, source, parts[3], "gps")])
            elif kind:  # an alarm or a status: the pipeline names the body's device behind a gateway
                self.pipeline.handle([Message(kind, payload, source, device,
                                              f"device:{device}" if device else "device")])
            else:
                self.pipeline.reject("unknown", source, "unknown_topic", f"no handler for {topic}", payload)
        except Exception as e:  # the last guard of the network thread (the pipeline itself never raises): the
            # message is kept as a dead letter and acknowledged all the same; one left unacknowledged would hold
            # a place of the broker's in-flight window for good, and a few of them would stop every later alarm
            log.exception("MQTT message on %s could not be handled; kept as a dead letter", topic)
            self.failed += 1
            self.pipeline.dead_letter("unknown", f"mqtt:{topic}"[:120], payload, f"{type(e).__name__}: {e}")
        self.client.ack(mid, qos)
