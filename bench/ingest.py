"""Sustained alarms per second MQTT -> pipeline -> database with de-duplication, beside the raw broker
and raw XADD rates, in the same run.

    python -m bench.ingest [--alarms 50000] [--duplicates 0.1] [--only postgresql|sqlite]
                           [--publisher gateway|devices] [--workers N [--app-hands-over-only]]

A Mosquitto and a Redis of the benchmark's own (tools/services.py: the broker never drops what it
holds for a slow consumer; Redis with an append-only file, fsync every second here as in production
advice for throughput). The app's ingest runs as in production with REDIS_URL: its MQTT consumer
hands each message to the Redis stream, and its queue worker reads what waits there, runs it through the
pipeline (one transaction per group of about 400 messages) and acknowledges it. `--alarms` messages are
published at QoS 1 as fast as the broker takes them: each district device (the demo's 860) sends
alarms of its types, with given message ids; `--duplicates` of them are sent twice (the same id:
at-least-once delivery). The publisher is by default one gateway connection (mosquitto_pub, a C client,
on ``brain/<d>/gateways/bench/events``, each body naming its device): devices are not on the brain's
machine, and a Python publisher would take most of a core of the two being measured. `--publisher
devices` publishes on each device's own topic from one paho client instead. Measured:
- **raw broker**: the same messages, the same publisher, to a topic that a bare paho subscriber
  counts (publish -> delivered), no processing;
- **raw XADD**: the same number of XADDs of the same bodies, one round trip each;
- **MQTT -> database**: from the first publish to the last message stored (its id in
  `ingest_messages`), with every message id stored exactly once and the alarms' counts adding up to
  the distinct messages (zero lost, zero counted twice).
The database is a fresh ``brain_bench_ingest`` on the PostgreSQL of DATABASE_URL, then a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import redis
from sqlalchemy import func, select

from bench._util import pg_url, stored_alarm_messages
from brain.alarms.enums import ALARM_TYPES, OFFLINE, WELFARE_TYPES
from brain.alarms.models import Alarm
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.runtime import Brain
from brain.storage.db import utcnow
from geodata.district import District
from tools.services import OwnRedis, own_mosquitto

PG_DB = "brain_bench_ingest"
SPAWN = mp.get_context("spawn")  # publishers are fresh interpreters: a fork would hold the app's sockets open


def messages(district: District, n: int, duplicates: float, run: str) -> list[tuple[str, bytes]]:
    """(topic suffix device id, body) in sending order; a share of them sent twice with the same id."""
    kinds = {t: [k for k in ALARM_TYPES[t] if k != OFFLINE and k not in WELFARE_TYPES] for t in ALARM_TYPES}
    # the devices that send alarms of their own (a door sensor's only alarm is the brain's welfare conclusion)
    devices = [(d, t) for d, t in zip(district.devices["id"], district.devices["type"], strict=True) if kinds[t]]
    now = utcnow().isoformat()
    distinct = int(n / (1 + duplicates))
    out = []
    for i in range(distinct):
        device, dtype = devices[i % len(devices)]
        kind = kinds[dtype][(i // len(devices)) % len(kinds[dtype])]
        body = json.dumps({"device_id": str(device), "type": kind, "ts": now, "id": f"{run}-{i}"}).encode()
        out.append((str(device), body))
    step = max(1, int(1 / duplicates)) if duplicates else 0
    if step:
        for j in range(0, distinct, step):  # the same message again, a little later
            if len(out) >= n:
                break
            out.insert(min(len(out), j + step // 2 + 1), out[j])
    return out[:n]


def publisher(url: str, name: str, inflight: int) -> mqtt.Client:
    """A connected, running MQTT client that queues without limit and keeps `inflight` QoS 1 messages out."""
    u = urlparse(url)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}")
    c.max_inflight_messages_set(inflight)
    c.max_queued_messages_set(0)
    c.connect(u.hostname or "127.0.0.1", u.port or 1883)
    c.loop_start()
    return c


def publish(url: str, base: str, batch: list[tuple[str, bytes]], started, gateway: bool, finished) -> None:
    """In its own process: publish everything at QoS 1 and wait until the broker has taken it all.

    `gateway`: one connection carries every device's alarms on ``<base>/gateways/bench/events`` (each
    body names its device), sent by mosquitto_pub, a C client that leaves the CPU to what is measured.
    Its input stays open until `finished` is set (the measuring side has what it waits for): at the end
    of its input mosquitto_pub disconnects, and what it still held unsent was lost (of 100,000 lines
    written at once, about 65,000). Otherwise each on its device's topic ``<base>/devices/<id>/events``
    from one paho client."""
    if gateway:
        u = urlparse(url)
        proc = subprocess.Popen(["mosquitto_pub", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 1883), "-q",
                                 "1", "-i", f"bench-gw-{uuid.uuid4().hex[:8]}", "-t", f"{base}/gateways/bench/events",
                                 "-l"], stdin=subprocess.PIPE)
        assert proc.stdin is not None
        started.set()
        proc.stdin.write(b"\n".join(body for _d, body in batch) + b"\n")
        proc.stdin.flush()
        finished.wait(900)
        proc.stdin.close()
        if proc.wait(120) != 0:
            raise RuntimeError(f"mosquitto_pub exited with {proc.returncode}")
        return
    c = publisher(url, "bench-pub", 1000)
    started.set()
    infos = [c.publish(f"{base}/devices/{device}/events", body, qos=1) for device, body in batch]
    for info in infos:
        info.wait_for_publish(120)
    c.loop_stop()
    c.disconnect()


STALLED_S = 10.0  # the raw baselines give up this long after their last message


def raw_broker(url: str, batch: list[tuple[str, bytes]], gateway: bool = False) -> float:
    """Messages per second through the broker alone: published as in the run, counted by a bare paho
    subscriber (the client the app's consumer uses), no processing."""
    u = urlparse(url)
    base = f"bench/raw/{uuid.uuid4().hex[:8]}"
    count, last = [0], [0.0]

    def on_message(_c, _u, _m) -> None:
        count[0] += 1
        last[0] = time.perf_counter()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{uuid.uuid4().hex[:8]}")
    sub.on_message = on_message
    sub.connect(u.hostname or "127.0.0.1", u.port or 1883)
    sub.subscribe(f"{base}/#", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    started, finished = SPAWN.Event(), SPAWN.Event()
    p = SPAWN.Process(target=publish, args=(url, base, batch, started, gateway, finished))
    p.start()
    started.wait(120)  # a fresh interpreter takes a moment to start: timed from its first message
    t0 = time.perf_counter()
    seen, progress = 0, t0
    while count[0] < len(batch) and time.perf_counter() - progress < STALLED_S:  # until all came, or none for a while
        time.sleep(0.05)
        if count[0] != seen:
            seen, progress = count[0], time.perf_counter()
    finished.set()
    p.join(60)
    sub.loop_stop()
    sub.disconnect()
    if count[0] < len(batch):
        print(f"  (the raw broker delivered {count[0]:,} of {len(batch):,} messages to the bare subscriber; "
              f"none more in {STALLED_S:.0f} s: the rate is of those delivered)", flush=True)
    return count[0] / max(last[0] - t0, 1e-9)


def raw_xadd(url: str, batch: list[tuple[str, bytes]]) -> float:
    r = redis.Redis.from_url(url)
    stream = f"bench:raw:{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    for device, body in batch:
        r.xadd(stream, {"kind": "alarm", "source": "bench", "body": body, "subject": device})
    dt = time.perf_counter() - t0
    r.delete(stream)
    return len(batch) / dt


def full(db_url: str, mqtt_url: str, redis_url: str, district: District, batch: list[tuple[str, bytes]],
         workers: int = 0, gateway: bool = True, in_app: bool = True) -> dict:
    settings = Settings(database_url=db_url, redis_url=redis_url, mqtt_url=mqtt_url, simulate=False,
                        escalate_after_s=0, monitor_interval_s=0, mqtt_client_id=f"bench-{uuid.uuid4().hex[:8]}",
                        ingest_in_app=in_app or not workers)
    # the in-process bus: this measures ingest, not the fan-out to screens
    brain = Brain(settings, district=district, bus=MemoryBus()).start()
    division = str(district.meta["division_code"])
    ids = {json.loads(body)["id"] for _d, body in batch}
    env = {**os.environ, "DATABASE_URL": db_url, "BRAIN_DATABASE_URL": db_url, "REDIS_URL": redis_url,
           "BRAIN_MONITOR_INTERVAL_S": "0", "BRAIN_ESCALATE_AFTER_S": "0", "BRAIN_LOG_LEVEL": "WARNING"}
    extra = [subprocess.Popen([sys.executable, "-m", "brain.ingest"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        time.sleep(3.0 if workers else 0)  # the extra workers are up and reading
        started, finished = SPAWN.Event(), SPAWN.Event()
        p = SPAWN.Process(target=publish, args=(mqtt_url, f"brain/{division}", batch, started, gateway, finished))
        p.start()
        started.wait(120)
        t0 = time.perf_counter()
        deadline = time.monotonic() + 600
        stored = 0
        while time.monotonic() < deadline:
            with brain.db.read() as s:
                stored = stored_alarm_messages(s)
            if stored >= len(ids):
                break
            time.sleep(0.05)
        dt = time.perf_counter() - t0
        finished.set()
        p.join(60)
        time.sleep(1.0)  # anything still arriving would be a message counted twice
        with brain.db.read() as s:
            stored = stored_alarm_messages(s)
            counted = int(s.scalar(select(func.coalesce(func.sum(Alarm.count), 0))))
            alarms = int(s.scalar(select(func.count()).select_from(Alarm)))
        return {"rate": len(batch) / dt, "seconds": dt, "distinct": len(ids), "stored": stored, "counted": counted,
                "alarms": alarms, "duplicates_seen": brain.ingest.counts["alarm.duplicate"],
                "suppressed": sum(v for k, v in brain.ingest.counts.items() if k.startswith("alarm.suppressed"))}
    finally:
        for w in extra:
            w.terminate()
            w.wait(10)
        brain.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alarms", type=int, default=50_000)
    ap.add_argument("--duplicates", type=float, default=0.1, help="share of messages delivered twice")
    ap.add_argument("--only", choices=("postgresql", "sqlite"))
    ap.add_argument("--workers", type=int, default=0,
                    help="extra ingest worker processes (python -m brain.ingest) beside the app's own")
    ap.add_argument("--publisher", choices=("gateway", "devices"), default="gateway",
                    help="gateway: one mosquitto_pub connection for all devices (default); devices: a paho "
                         "client publishing on each device's own topic")
    ap.add_argument("--app-hands-over-only", action="store_true",
                    help="with --workers: the app only hands MQTT over to Redis (BRAIN_INGEST_IN_APP=0)")
    args = ap.parse_args(argv)
    district = District.load()
    run = uuid.uuid4().hex[:6]
    batch = messages(district, args.alarms, args.duplicates, run)
    with tempfile.TemporaryDirectory() as tmp, own_mosquitto(Path(tmp)) as mqtt_url:
        own = OwnRedis(Path(tmp)).start()
        redis.Redis.from_url(own.url).config_set("appendfsync", "everysec")
        try:
            print(f"{len(batch):,} messages ({len({json.loads(b)['id'] for _d, b in batch}):,} distinct) from "
                  f"{len(district.devices)} devices", flush=True)
            gateway = args.publisher == "gateway"
            broker = raw_broker(mqtt_url, batch, gateway)
            print(f"  raw broker (publish -> subscriber): {broker:,.0f} msg/s", flush=True)
            xadd = raw_xadd(own.url, batch)
            print(f"  raw XADD (one round trip each): {xadd:,.0f} msg/s", flush=True)
            rows = []
            targets = [("PostgreSQL", lambda: pg_url(PG_DB, fresh=True)),
                       ("SQLite", lambda: f"sqlite:///{Path(tmp) / 'ingest.sqlite3'}")]
            for name, url in targets:
                if args.only and name.lower() != args.only:
                    continue
                redis.Redis.from_url(own.url).flushall()
                r = full(url(), mqtt_url, own.url, district, batch, args.workers, gateway,
                         in_app=not args.app_hands_over_only)
                rows.append((name, r))
                print(f"  MQTT -> {name} (the app + {args.workers} extra workers): {r['rate']:,.0f} alarms/s "
                      f"({r['seconds']:.1f} s)", flush=True)
        finally:
            own.stop()
    print(f"\n{'':<26}{'msg/s':>10}{'vs broker':>11}{'stored':>9}{'distinct':>10}{'counted':>9}{'lost':>6}"
          f"{'twice':>7}")
    print(f"{'raw broker':<26}{broker:>10,.0f}{1:>11.2f}")
    print(f"{'raw XADD':<26}{xadd:>10,.0f}{xadd / broker:>11.2f}")
    for name, r in rows:
        lost = r["distinct"] - r["stored"]
        twice = r["counted"] - r["stored"] + r["suppressed"]
        print(f"{'MQTT -> ' + name:<26}{r['rate']:>10,.0f}{r['rate'] / broker:>11.2f}{r['stored']:>9,}"
              f"{r['distinct']:>10,}{r['counted']:>9,}{lost:>6}{twice:>7}")
    print("\ntarget: at least 5,000 alarms/s MQTT -> database, zero lost (lost = distinct - stored; "
          "twice = counted beyond the stored messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
