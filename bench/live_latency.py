"""Time from an event entering the bus to its marker being drawn on /wall in Chromium: push (the
deltas pushed over the page's WebSocket, what the wall does) beside polling every second, in the same run.

    python -m bench.live_latency [--events 200] [--gap 0.35]

For each mode the whole app runs in-process (SQLite in a temporary folder, the demo district,
simulator off) and a signed-in Chromium opens /wall. Alarms are raised through the domain at random
gaps (mean `--gap` s, so a poll's phase is sampled evenly), each on its own device. Measured per alarm:
- **enters the bus**: `time.time()` in the bus handler for its `alarm.raised` (after the commit);
- **drawn**: `Date.now()` in the page at the first frame MapLibre rendered after the alarms' source took
  the delta that holds the alarm (bench._util.DRAWN_JS: the map component's hook and MapLibre's events).
Both clocks are this machine's. An alarm not drawn within 10 s counts as lost (none is expected).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from bench._util import DRAWN_JS, MAP_STILL
from brain.alarms.enums import ALARM_TYPES, SEVERITY_RANK
from brain.config import Settings
from brain.runtime import Brain
from geodata.district import District
from tools.browser import ARGS, CHROMIUM, login
from tools.serve import serve

PASSWORD = "bench-admin-pass"
LOST_AFTER_S = 10.0

def quietest_alarm(device_type: str) -> str:
    """The least severe alarm a device of this type raises (no takeover, no escalation)."""
    kinds = ALARM_TYPES[device_type]
    return max(kinds, key=lambda k: SEVERITY_RANK[kinds[k].value])


def measure(mode: str, settings: Settings, district: District, devices: list[tuple[str, str]], gap: float,
            seed: int) -> tuple[np.ndarray, int]:
    """Latencies in seconds of the alarms drawn, and how many were lost."""
    rng = np.random.default_rng(seed)
    brain = Brain(settings, district=district)
    entered: dict[str, float] = {}
    lock = threading.Lock()

    def on_raised(e) -> None:
        with lock:
            entered[e.subject_id] = time.time()

    with serve(settings, brain) as app, sync_playwright() as p:
        brain.bus.subscribe("alarm.raised", on_raised)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        login(page, app.url, "admin", PASSWORD)
        page.goto(app.url + "/wall")
        page.wait_for_selector(".maplibregl-canvas", timeout=30_000)
        page.wait_for_function(MAP_STILL, timeout=30_000)
        page.wait_for_timeout(1000)
        page.evaluate(DRAWN_JS, ["alarms"])
        raised = []
        for device_id, kind in devices:
            view, _ = brain.alarms.raise_alarm(device_id=device_id, type=kind, actor="bench")
            raised.append(f"{view.id}|1")
            time.sleep(float(rng.uniform(0.0, 2 * gap)))
        deadline = time.time() + LOST_AFTER_S
        while time.time() < deadline:
            drawn = page.evaluate("window.__drawn")
            if all(key in drawn for key in raised):
                break
            time.sleep(0.2)
        drawn = page.evaluate("window.__drawn")
        browser.close()
    with lock:
        lat = [drawn[key] / 1000 - entered[key.split("|")[0]] for key in raised
               if key in drawn and key.split("|")[0] in entered]
    print(f"  {mode}: {len(lat)} drawn, {len(devices) - len(lat)} lost")
    return np.array(lat), len(devices) - len(lat)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--gap", type=float, default=0.35, help="mean seconds between alarms")
    args = ap.parse_args(argv)
    district = District.load()
    pool = [(d, quietest_alarm(t)) for d, t in zip(district.devices["id"], district.devices["type"], strict=True)]
    if len(pool) < args.events:
        raise SystemExit(f"the district has {len(pool)} devices; at most that many events")
    devices = pool[:args.events]
    modes = {"push (WebSocket)": {"live_push": True},
             "polling every 1 s": {"live_push": False, "live_poll_ms": 1000}}
    results = {}
    print(f"{args.events} alarms per mode, mean gap {args.gap} s")
    for i, (mode, extra) in enumerate(modes.items()):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'brain.sqlite3'}", simulate=False,
                                escalate_after_s=0, admin_password=PASSWORD, **extra)
            results[mode] = measure(mode, settings, district, devices, args.gap, seed=i)
    print(f"\n{'bus -> drawn on /wall':<24}{'n':>6}{'lost':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for mode, (lat, lost) in results.items():
        ms = lat * 1000
        print(f"{mode:<24}{len(ms):>6}{lost:>6}{np.percentile(ms, 50):>9.0f}{np.percentile(ms, 95):>9.0f}"
              f"{ms.max():>9.0f}")
    (push, _), (poll, _) = results.values()
    print(f"\npush p95 / polling p95 = {np.percentile(push, 95) / np.percentile(poll, 95):.2f}  "
          f"(target: push p95 under 250 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
