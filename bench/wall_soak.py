"""/wall under one live update a second for a long time: the browser's JS heap after garbage collection
at the start and at the end, with the page's DOM nodes and event listeners beside it.

    python -m bench.wall_soak [--minutes 30] [--sample 60]

The whole app runs in-process (SQLite in a temporary folder, the demo district, simulator off) and a
signed-in Chromium keeps /wall open at 1920x1080. Every second a driver moves 10 staff; every 10 s it
opens a case or cancels one, and raises or clears an alarm (so arrays change length, not only values).
Every `--sample` seconds the page's heap is read through the DevTools protocol after a forced garbage
collection (HeapProfiler.collectGarbage, then Runtime.getHeapUsage), with Performance.getMetrics for
nodes and listeners. The baseline is the first sample, taken after a minute of updates (the map's
tiles, fonts and first ticks are loaded by then); growth = last - first. Target: under 20 MB.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from bench._util import MAP_STILL
from bench.live_latency import quietest_alarm
from brain.config import Settings
from brain.runtime import Brain
from brain.staff.service import Fix
from brain.storage.db import utcnow
from geodata.district import District
from tools.browser import ARGS, CHROMIUM, login
from tools.serve import serve

PASSWORD = "bench-admin-pass"
WARM_UP_S = 60


def drive(brain: Brain, stop: threading.Event, counts: dict) -> None:
    """One update a second: 10 staff move; every 10th second a case and an alarm come or go."""
    rng = np.random.default_rng(11)
    staff = [s.id for s in brain.staff.roster()]
    poles = brain.district.poles
    devices = [(d, quietest_alarm(t)) for d, t in zip(brain.district.devices["id"], brain.district.devices["type"],
                                                      strict=True)]
    opened: list[int] = []
    raised: list[str] = []
    tick = 0
    while not stop.wait(1.0):
        tick += 1
        now = utcnow()
        picks = rng.choice(len(poles), 10)
        fixes = [Fix(staff[int(rng.integers(len(staff)))], float(poles.geometry.iloc[i].x),
                     float(poles.geometry.iloc[i].y), now) for i in picks]
        brain.staff.record_fixes(fixes, actor="bench")
        counts["moves"] += 1
        if tick % 10 == 0:
            if len(opened) < 20 or rng.random() < 0.5:
                pole = str(poles["number"].iloc[int(rng.integers(len(poles)))])
                opened.append(brain.cases.open_case(channel="street_patrol", category="C0107", pole=pole,
                                                    actor="bench").id)
            else:
                brain.cases.transition(opened.pop(0), to="cancelled", actor="bench", note="soak")
            if len(raised) < 10 or rng.random() < 0.5:
                device_id, kind = devices[int(rng.integers(len(devices)))]
                view, created = brain.alarms.raise_alarm(device_id=device_id, type=kind, actor="bench")
                if created:
                    raised.append(view.id)
            else:
                brain.alarms.clear(raised.pop(0), actor="bench")
            counts["changes"] += 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--sample", type=float, default=60.0, help="seconds between heap samples")
    args = ap.parse_args(argv)
    district = District.load()
    counts = {"moves": 0, "changes": 0, "callbacks": 0}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'brain.sqlite3'}", simulate=False,
                            escalate_after_s=0, admin_password=PASSWORD)
        brain = Brain(settings, district=district)
        stop = threading.Event()
        with serve(settings, brain) as app, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            login(page, app.url, "admin", PASSWORD)
            page.goto(app.url + "/wall")
            page.wait_for_selector(".maplibregl-canvas", timeout=30_000)
            page.wait_for_function(MAP_STILL, timeout=60_000)
            # the deltas the map takes, counted through its documented listener
            page.evaluate("() => { window.__applied = 0; window.districtMaps['district-map'].listen('applied',"
                          " () => { window.__applied += 1; }); }")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            driver = threading.Thread(target=drive, args=(brain, stop, counts), daemon=True)
            driver.start()
            t0 = time.monotonic()
            end = t0 + WARM_UP_S + args.minutes * 60
            next_sample = t0 + WARM_UP_S
            print(f"{'min':>6}{'heap MB':>10}{'nodes':>8}{'listeners':>11}{'updates':>9}{'changes':>9}")
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    counts["callbacks"] = page.evaluate("window.__applied")
                    cdp.send("HeapProfiler.collectGarbage")
                    heap = cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6
                    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                    row = ((now - t0 - WARM_UP_S) / 60, heap, int(metrics.get("Nodes", 0)),
                           int(metrics.get("JSEventListeners", 0)), counts["callbacks"], counts["changes"])
                    rows.append(row)
                    print(f"{row[0]:>6.1f}{row[1]:>10.2f}{row[2]:>8}{row[3]:>11}{row[4]:>9}{row[5]:>9}", flush=True)
                    next_sample += args.sample
                    if now >= end:
                        break
                if not driver.is_alive():
                    raise SystemExit("the driver stopped: see the error above")
                page.wait_for_timeout(1000)
            stop.set()
            driver.join(5)
            browser.close()
    first, last = rows[0], rows[-1]
    minutes = last[0] - first[0]
    slope = np.polyfit([r[0] for r in rows], [r[1] for r in rows], 1)[0] if len(rows) > 2 else float("nan")
    print(f"\nover {minutes:.1f} min: {counts['moves']} staff moves, {counts['changes']} case/alarm changes, "
          f"{counts['callbacks']} live-layer deltas taken by the map")
    print(f"heap after GC: {first[1]:.2f} MB -> {last[1]:.2f} MB, growth {last[1] - first[1]:+.2f} MB "
          f"(x{last[1] / first[1]:.2f}; trend {slope:+.3f} MB/min); target: growth under 20 MB")
    print(f"DOM nodes {first[2]} -> {last[2]}; listeners {first[3]} -> {last[3]}; console errors: {len(errors)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
