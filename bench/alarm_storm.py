"""An alarm storm: 50,000 alarms from 5,000 devices within 10 s, end to end, with /wall open.

    python -m bench.alarm_storm [--alarms 50000] [--devices 5000] [--seconds 10] [--db sqlite|postgresql]

The whole app runs in-process as in production with REDIS_URL and MQTT_URL (a Mosquitto and a Redis
of the benchmark's own, tools/services.py), on the demo district with its devices repeated (new ids at
the same places) until 5,000 of them raise alarms of their own, with a signed-in Chromium on /wall. Another
process publishes the storm at QoS 1 through one gateway connection (mosquitto_pub, a C client: the
devices are not on this machine), evenly over `--seconds`: each device sends 10 messages,
alternating between two of its alarm types where it has two. Measured:
- **nothing lost**: every message id stored once; the active alarms equal the distinct (device, type)
  pairs; the alarms' counts add up to the messages;
- **publish -> visible on /wall**: for every message of the storm (late ones included), from its publish
  until the page shows it: its alarm drawn on the map (the first frame after) and the page holding at
  least that message's count (what the alarm's hover text reads), p50/p95/max (target p95 under 1 s);
  the first round (each device's first message) and the last second's messages are shown apart;
- the storm's throughput beside the raw broker's for the same messages (baseline, same run);
- where the two cores went from the first message until all was stored: CPU seconds of the app, the
  ingest workers, Chromium, PostgreSQL, the broker and Redis (from /proc).
STORM_DEBUG=1 adds the stages between, STORM_TRACE=<file> writes a Chrome trace of the storm and
STORM_PROFILE=<file> the page's JavaScript CPU profile (.cpuprofile: DevTools' Performance panel opens it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os as _os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import redis
from playwright.sync_api import sync_playwright
from sqlalchemy import func, select

from bench._util import MAP_STILL, cpu_by_group, cpu_seconds, pg_url, stat_cpu_seconds, stored_alarm_messages
from bench.ingest import raw_broker
from brain.alarms.enums import ALARM_TYPES, LIVE_STATES, OFFLINE, WELFARE_TYPES
from brain.alarms.models import Alarm
from brain.config import Settings
from brain.ingest.models import IngestMessage
from brain.runtime import Brain
from brain.storage.db import utcnow
from geodata.district import District
from tools.browser import ARGS, CHROMIUM, login
from tools.serve import serve
from tools.services import OwnRedis, own_mosquitto

PASSWORD = "bench-admin-pass"
PG_DB = "brain_bench_storm"
# The publisher is a fresh interpreter, not a fork of this one: a forked child held this process's
# sockets open, among them the app's idle keep-alive connections, so one the server had closed stayed
# open until the child exited, and a request the browser sent on it waited there unread (5-10 s).
SPAWN = mp.get_context("spawn")


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "gpu", "toplevel", "v8"]


class ServerProbe:
    """STORM_DEBUG=1: when each device's alarm reached the app's bus and a live step read it."""

    def __init__(self, brain: Brain) -> None:
        self.calls: list[tuple[float, int]] = []
        self.seen_at: dict[str, float] = {}
        self.bus_at: dict[str, float] = {}
        self.pace: list[tuple[float, str, float]] = []
        live = brain.alarms.live

        def traced_live():
            out = live()
            now = time.time()
            self.calls.append((now, len(out)))
            for a in out:
                self.seen_at.setdefault(a.device_id, now)
            return out

        brain.alarms.live = traced_live  # type: ignore[method-assign]
        brain.live._load["alarms"] = traced_live  # the projection reads through it too
        brain.bus.subscribe("alarm.raised", lambda e: self.bus_at.setdefault(e.payload["device_id"], time.time()))
        self.flow: list[tuple] = []
        threading.Thread(target=self._sample, args=(brain,), daemon=True).start()

    @staticmethod
    def threads_cpu(pid: int | str = "self") -> dict[str, float]:
        """CPU seconds of each thread of a process, by name where it is this process's."""
        names = {t.native_id: t.name for t in threading.enumerate()} if pid == "self" else {}
        out: dict[str, float] = {}
        for tid in _os.listdir(f"/proc/{pid}/task"):
            try:
                used = stat_cpu_seconds(Path(f"/proc/{pid}/task/{tid}/stat").read_text())
            except OSError:
                continue
            name = names.get(int(tid), f"tid {tid}")
            out[name] = out.get(name, 0.0) + used
        return out

    def _sample(self, brain: Brain) -> None:
        r = redis.Redis.from_url(brain.settings.redis_url)
        while True:
            m = brain.mqtt
            try:
                g = r.xinfo_groups("brain:ingest")[0]
                lag, pending = g.get("lag"), g.get("pending")
            except Exception:
                lag = pending = None
            if m is not None:
                self.flow.append((time.time(), m.received, m.handed_over, len(m._waiting), lag, pending))
            time.sleep(0.25)


def cpu_groups(workers: int, publisher: int | None) -> dict[str, Callable[[int, str], bool]]:
    """Who the CPU of a storm goes to: this process (the app, and with no workers its ingest too), the
    ingest workers, the browser, the database, the publisher, the broker, Redis. A process that ended
    before the second reading (the publisher, once it has sent everything) is not counted."""
    me = _os.getpid()
    return {"app": lambda pid, args: pid == me,
            "ingest workers": lambda pid, args: workers > 0 and "brain.ingest" in args,
            "Chromium": lambda pid, args: "chrom" in args,
            "PostgreSQL": lambda pid, args: args.startswith("postgres"),
            "publisher": lambda pid, args: pid == publisher or "mosquitto_pub" in args,
            "Mosquitto": lambda pid, args: "mosquitto" in args,
            "Redis": lambda pid, args: "redis-server" in args}


KINDS = {t: [k for k in ALARM_TYPES[t] if k != OFFLINE and k not in WELFARE_TYPES] for t in ALARM_TYPES}


# What the page shows of the storm, from the map component's listeners: when each alarm was first drawn
# (`window.__drawn[device|type]`, the first frame showing it) and when the page took each count of it
# (`window.__counts[device|type|count]`: its hover text reads the count from what the page holds); and each
# move of the wall (`window.__moves`: when, and the bounds it shows), for the takeover by the critical alarms
WATCH = """() => { window.__drawn = {}; window.__counts = {}; const d = window.districtMaps['district-map'];
    window.__moves = [];
    d.map.on('moveend', () => { const b = d.map.getBounds();
        window.__moves.push([Date.now(), b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]); });
    const waiting = new Set();
    d.listen('applied', (e) => {
        if (e.layer !== 'alarms') { return; }
        for (const f of e.features) {
            const pair = f.device + '|' + f.kind;
            const key = pair + '|' + f.count;
            if (!(key in window.__counts)) { window.__counts[key] = e.at; }
            if (!(pair in window.__drawn)) { waiting.add(pair); }
        }
    });
    d.listen('drawn', (e) => {
        if (!e.layers.includes('alarms')) { return; }
        for (const pair of waiting) { if (!(pair in window.__drawn)) { window.__drawn[pair] = e.at; } }
        waiting.clear();
    }); }"""
ALL_DRAWN = """(want) => want.every(([pair, n]) => pair in window.__drawn && (pair + '|' + n) in window.__counts)"""


def visible_latencies(batch, sent_at: list[float], drawn: dict, counts: dict, devices: int):
    """Milliseconds from each message's publish to when the page shows it: its alarm drawn on the map, and
    the page holding a count at least that message's (counts grow: one update may bring several messages).
    Returns every message's, the first round's (each device's first message) and the last second's."""
    held: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for key, t in counts.items():
        device, kind, count = key.rsplit("|", 2)
        held.setdefault((device, kind), []).append((int(count), t / 1000))
    for taken in held.values():
        taken.sort()
    seen: dict[tuple[str, str], int] = {}
    out, first, late, last_at = [], [], [], max(sent_at)
    for i, (device, body) in enumerate(batch):
        key = (device, json.loads(body)["type"])
        n = seen[key] = seen.get(key, 0) + 1
        shown = drawn.get(f"{key[0]}|{key[1]}")
        taken = next((t for count, t in held.get(key, []) if count >= n), None)
        if shown is None or taken is None:
            continue
        ms = (max(shown / 1000, taken) - sent_at[i]) * 1000
        out.append(ms)
        if i < devices:
            first.append(ms)
        if sent_at[i] >= last_at - 1.0:
            late.append(ms)
    return np.array(out), np.array(first), np.array(late)


def with_devices(district: District, n: int) -> District:
    """The demo district with its alarm-raising devices repeated (new ids, same places) up to `n` of them."""
    d = district.devices
    own = d[d["type"].map(lambda t: bool(KINDS[t]))]
    copies = [own.assign(id=own["id"] + f"-{r}") for r in range(1, math.ceil(n / len(own)))]
    district.devices = pd.concat([d, *copies], ignore_index=True)
    return district


def storm(district: District, devices: int, alarms: int) -> list[tuple[str, bytes]]:
    kinds = KINDS
    pool = [(str(d), t) for d, t in zip(district.devices["id"], district.devices["type"], strict=True) if kinds[t]]
    if len(pool) < devices:
        raise SystemExit(f"the district has {len(pool)} devices that raise alarms; asked for {devices}")
    chosen = pool[:devices]
    now = utcnow().isoformat()
    run = uuid.uuid4().hex[:6]
    out = []
    for i in range(alarms):  # round-robin over the devices: every device's first message comes early
        device, dtype = chosen[i % devices]
        kind = kinds[dtype][(i // devices) % min(2, len(kinds[dtype]))]
        out.append((device, json.dumps({"device_id": device, "type": kind, "ts": now,
                                        "id": f"storm-{run}-{i}"}).encode()))
    return out


def publish_paced(url: str, base: str, batch: list[tuple[str, bytes]], seconds: float, times_file: str,
                  started=None) -> None:
    """In its own process: publish evenly over `seconds` through one gateway connection (mosquitto_pub,
    a C client, fed line by line); write when each device's first message went; set `started` (an
    Event) as the first goes."""
    u = urlparse(url)
    proc = subprocess.Popen(["mosquitto_pub", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 1883), "-q", "1",
                             "-i", f"storm-gw-{uuid.uuid4().hex[:8]}", "-t", f"{base}/gateways/storm/events", "-l"],
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    first: dict[str, float] = {}
    at: list[float] = []  # when each message went
    chunk = max(1, len(batch) // int(seconds * 20))  # 20 chunks a second
    t0 = time.time()
    if started is not None:
        started.set()
    for k in range(0, len(batch), chunk):
        due = t0 + (k / len(batch)) * seconds
        if due > time.time():
            time.sleep(due - time.time())
        now = time.time()
        for device, _body in batch[k:k + chunk]:
            first.setdefault(device, now)
            at.append(now)
        proc.stdin.write(b"".join(body + b"\n" for _d, body in batch[k:k + chunk]))
        proc.stdin.flush()
    proc.stdin.close()
    proc.wait(300)
    Path(times_file).write_text(json.dumps({"first": first, "at": at, "sent_s": time.time() - t0}))


@contextlib.contextmanager
def workers(n: int, db_url: str, redis_url: str) -> Iterator[list[int]]:
    """`n` ingest worker processes on the app's database and Redis (started once the app has seeded it);
    yields their pids."""
    env = {**_os.environ, "DATABASE_URL": db_url, "BRAIN_DATABASE_URL": db_url, "REDIS_URL": redis_url,
           "BRAIN_MONITOR_INTERVAL_S": "0", "BRAIN_ESCALATE_AFTER_S": "0", "BRAIN_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "brain.ingest"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        if procs:
            time.sleep(4.0)  # up and reading
        yield [proc.pid for proc in procs]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alarms", type=int, default=50_000)
    ap.add_argument("--devices", type=int, default=5_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    ap.add_argument("--workers", type=int, default=0,
                    help="ingest worker processes (python -m brain.ingest) that handle the queue instead of the "
                         "app (BRAIN_INGEST_IN_APP=0): the wall's process then only serves pages and hands MQTT over")
    args = ap.parse_args(argv)
    district = with_devices(District.load(), args.devices)
    batch = storm(district, args.devices, args.alarms)
    pairs = {(d, json.loads(b)["type"]) for d, b in batch}
    print(f"{len(batch):,} alarms from {args.devices:,} devices ({len(pairs):,} distinct device/type pairs) "
          f"over {args.seconds:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp, own_mosquitto(Path(tmp)) as mqtt_url:
        own = OwnRedis(Path(tmp)).start()
        redis.Redis.from_url(own.url).config_set("appendfsync", "everysec")
        try:
            broker = raw_broker(mqtt_url, batch, gateway=True)
            print(f"  raw broker, the same messages unpaced: {broker:,.0f} msg/s", flush=True)
            db_url = pg_url(PG_DB, fresh=True) if args.db == "postgresql" else f"sqlite:///{Path(tmp) / 'b.sqlite3'}"
            settings = Settings(database_url=db_url, redis_url=own.url,
                                mqtt_url=mqtt_url, simulate=False,
                                escalate_after_s=0, monitor_interval_s=0, admin_password=PASSWORD,
                                mqtt_client_id=f"storm-{uuid.uuid4().hex[:8]}", ingest_in_app=not args.workers)
            brain = Brain(settings, district=district)
            probe = ServerProbe(brain) if _os.environ.get("STORM_DEBUG") else None
            with serve(settings, brain) as app, sync_playwright() as p, workers(args.workers, db_url, own.url) as wpids:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                login(page, app.url, "admin", PASSWORD)
                page.goto(app.url + "/wall")
                page.wait_for_selector(".maplibregl-canvas", timeout=60_000)
                page.wait_for_function(MAP_STILL, timeout=60_000)
                page.wait_for_timeout(1000)
                page.evaluate(WATCH)
                if probe is not None:
                    page.evaluate("""() => { window.__lens = []; let last = -1; setInterval(() => {
                        const n = window.districtMaps['district-map'].count('alarms');
                        if (n !== last) { window.__lens.push([Date.now(), n]); last = n; } }, 20); }""")
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                times_file = str(Path(tmp) / "times.json")
                if _os.environ.get("STORM_TRACE"):  # a Chrome trace of the storm (chrome://tracing, Perfetto)
                    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                cdp = None
                if _os.environ.get("STORM_PROFILE"):  # the page's JavaScript CPU profile (.cpuprofile, DevTools)
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
                    cdp.send("Profiler.start")
                division = str(district.meta["division_code"])
                t0 = time.time()
                started = SPAWN.Event()
                pub = SPAWN.Process(target=publish_paced, args=(mqtt_url, f"brain/{division}", batch,
                                                             args.seconds, times_file, started))
                pub.start()
                while not started.wait(0.01):
                    page.wait_for_timeout(10)
                cpu_before, storm_at = cpu_seconds(), time.time()
                if probe is not None:
                    threads_before = probe.threads_cpu()
                    wthreads_before = {w: probe.threads_cpu(w) for w in wpids}
                ids = len(batch)
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    with brain.db.read() as s:
                        stored = stored_alarm_messages(s)
                    if stored >= ids:
                        break
                    page.wait_for_timeout(200)  # through Playwright: the page's events are taken as they come
                stored_s = time.time() - t0
                cpu_spent = cpu_by_group(cpu_before, cpu_seconds(), cpu_groups(args.workers, pub.pid))
                cpu_window = time.time() - storm_at
                if probe is not None:
                    after = probe.threads_cpu()
                    print("    app threads CPU", sorted(((round(v - threads_before.get(k, 0), 2), k)
                                                          for k, v in after.items()), reverse=True)[:12])
                    for w, before in wthreads_before.items():
                        after = probe.threads_cpu(w)
                        print(f"    worker {w} threads CPU", sorted(((round(v - before.get(k, 0), 2), k)
                                                                     for k, v in after.items()), reverse=True)[:8])
                pub.join(120)
                wanted = {d for d, _b in batch}
                final = {}  # (device, type) -> its count once every message is in
                for d, b in batch:
                    key = (d, json.loads(b)["type"])
                    final[key] = final.get(key, 0) + 1
                end = time.monotonic() + 60
                while time.monotonic() < end:
                    if page.evaluate(ALL_DRAWN, [[f"{d}|{k}", n] for (d, k), n in final.items()]):
                        break
                    page.wait_for_timeout(500)
                drawn, counts = page.evaluate("window.__drawn"), page.evaluate("window.__counts")
                page.wait_for_timeout(2000)  # (a takeover moves once its alarms have settled)
                moves = page.evaluate("window.__moves")
                critical = [(a.lon, a.lat) for a in brain.live.waiting()]
                if _os.environ.get("STORM_TRACE"):
                    Path(_os.environ["STORM_TRACE"]).write_bytes(browser.stop_tracing())
                if cdp is not None:
                    Path(_os.environ["STORM_PROFILE"]).write_text(json.dumps(cdp.send("Profiler.stop")["profile"]))
                if probe is not None:
                    for e in page.evaluate("performance.getEntriesByType('resource').filter(e => "
                                           "e.name.includes('_dash-update')).map(e => [performance.timeOrigin + "
                                           "e.startTime, e.duration])"):
                        print(f"    update at {e[0] / 1000 - t0:6.2f} s took {e[1]:.0f} ms")
                    print("    server live()", [(round(t - t0, 2), n) for t, n in probe.calls if t > t0 - 1])
                    print("    flow (t, received, handed over, waiting, stream lag, pending)",
                          [(round(f[0] - t0, 2), *f[1:]) for f in probe.flow if t0 < f[0] < t0 + 25 and f[1]])
                    print("    lengths", [(round(t / 1000 - t0, 2), n) for t, n in page.evaluate("window.__lens")])
                    print("    drawn at", sorted(round(v / 1000 - t0, 2) for v in drawn.values())[::10])
                browser.close()
            if errors:
                print(f"  the page reported {len(errors)} errors, the first: {errors[:3]}")
            sent = json.loads(Path(times_file).read_text())
            with brain.db.read() as s:
                stored = stored_alarm_messages(s)
                active = int(s.scalar(select(func.count()).select_from(Alarm).where(
                    Alarm.state.in_([x.value for x in LIVE_STATES]))))
                counted = int(s.scalar(select(func.coalesce(func.sum(Alarm.count), 0))))
                # when each device's first message was stored (the first round of the storm is one each)
                first_ids = {json.loads(body)["id"]: device for device, body in batch[:args.devices]}
                stored_at = {first_ids[i]: at.timestamp() for i, at in s.execute(
                    select(IngestMessage.id, IngestMessage.at).where(IngestMessage.id.in_(first_ids)))}
        finally:
            own.stop()
    lat, first_round, late = visible_latencies(batch, sent["at"], drawn, counts, args.devices)
    rate = len(batch) / stored_s
    print(f"\nsent in {sent['sent_s']:.1f} s; all stored after {stored_s:.1f} s "
          f"({rate:,.0f} alarms/s; raw broker {broker:,.0f} msg/s: x{rate / broker:.2f})")
    print(f"stored {stored:,} of {len(batch):,} messages (lost {len(batch) - stored}); active alarms {active:,} = "
          f"distinct pairs {len(pairs):,}: {active == len(pairs)}; counts add up to {counted:,}")
    print(f"publish -> visible on /wall, every message ({len(lat):,} of {len(batch):,} seen drawn): "
          f"p50 {np.percentile(lat, 50):,.0f} ms, p95 {np.percentile(lat, 95):,.0f} ms, max {lat.max():,.0f} ms "
          "(target p95 under 1,000 ms)")
    for name, part in (("each device's first message", first_round), ("the last second's messages", late)):
        if len(part):
            print(f"  {name}: p50 {np.percentile(part, 50):,.0f} ms, p95 {np.percentile(part, 95):,.0f} ms")
    to_db = np.array([stored_at[d] - sent["first"][d] for d in wanted if d in stored_at]) * 1000
    first_drawn = {}  # device -> when its first alarm was first drawn
    for key, t in drawn.items():
        device = key.rsplit("|", 1)[0]
        first_drawn[device] = min(first_drawn.get(device, t), t)
    to_screen = np.array([first_drawn[d] / 1000 - stored_at[d] for d in wanted
                          if d in first_drawn and d in stored_at]) * 1000
    print(f"  CPU from the first message until all was stored ({cpu_window:.1f} s, {2 * cpu_window:.0f} core-seconds "
          "on 2 cores): " + ", ".join(f"{name} {sec:.1f} s" for name, sec in cpu_spent.items()))
    if probe is not None:
        stages = {"stored -> on the app's bus": (stored_at, probe.bus_at),
                  "bus -> in a live update": (probe.bus_at, probe.seen_at),
                  "live update -> drawn": (probe.seen_at, {d: v / 1000 for d, v in first_drawn.items()})}
        for name, (start, end) in stages.items():
            ms = np.array([end[d] - start[d] for d in wanted if d in start and d in end]) * 1000
            print(f"  {name}: p50 {np.percentile(ms, 50):,.0f} ms, p95 {np.percentile(ms, 95):,.0f} ms")
    print(f"  of which publish -> stored: p50 {np.percentile(to_db, 50):,.0f} ms, "
          f"p95 {np.percentile(to_db, 95):,.0f} ms; stored -> drawn: p50 {np.percentile(to_screen, 50):,.0f} ms, "
          f"p95 {np.percentile(to_screen, 95):,.0f} ms")
    # the takeover: with critical alarms waiting, the wall moved to show them all
    if critical:
        w, s_, e, n = moves[-1][1:] if moves else (0.0, 0.0, 0.0, 0.0)
        shown = sum(w <= lon <= e and s_ <= lat <= n for lon, lat in critical)
        print(f"takeover: {len(critical):,} critical alarms waiting; the wall moved {len(moves)} times "
              + (f"(first {moves[0][0] / 1000 - storm_at:.1f} s into the storm)" if moves else "")
              + f"; its last view shows {shown:,} of them")
        if shown < len(critical):
            print("FAILED: the wall does not show every critical alarm waiting")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
