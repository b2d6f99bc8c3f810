"""The city's map under live load: this build of the map component beside an earlier build, in one run.

    python -m bench.map_live [--tiles 7] [--staff 10000] [--alarms 8000] [--seconds 8] [--rounds 2] [--old 04ff0a9]

One app in-process (SQLite in a temporary folder, simulator off) on a city of `--tiles` x `--tiles`
districts (7: 100,526 poles) with `--staff` people and `--alarms` live alarms (devices placed at poles). A
driver thread moves every person once a second (a few metres each, through `StaffService.record_fixes`,
the app's own path: the live projection pushes the moves to the page as deltas). A signed-in Chromium
(software WebGL) opens /wall at 1920x1080, once with this build's component and once with the earlier
build's bundle (`git show <old>:district_map/district_map.min.js`, handed to the page in place of this
build's by Playwright's request routing; the app and its props are the same), alternating for `--rounds`.
Measured for each, with the live load running:
- **main thread at rest**: the page's main-thread busy milliseconds per second of live updates (Chrome's
  `TaskDuration`, Performance.getMetrics), and every Chromium process's CPU per second (from /proc);
- **panning**: the map zoomed and panned on every animation frame for `--seconds` while the moves go on:
  frame interval p50 / p95, and the main thread's milliseconds per second meanwhile.
The check: each page's map holds every person and every live alarm the server's projection holds, at
their current places (to within the last second's move), and the staff layer's version keeps advancing.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from playwright.sync_api import sync_playwright

from bench._util import MAP_STILL, cpu_seconds
from bench.map_scale import MOVE
from brain.alarms.service import AlarmMessage
from brain.config import Settings
from brain.runtime import Brain
from brain.staff.service import Fix
from brain.storage.db import utcnow
from geodata.district import District
from tools.browser import ARGS, CHROMIUM, login
from tools.serve import serve

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-admin-pass"


def with_devices(district: District, n: int, rng) -> District:
    """`n` smoke and gas detectors at random poles of the city (the generated city has none)."""
    poles = district.poles.iloc[rng.choice(len(district.poles), size=n, replace=n > len(district.poles))]
    kinds = np.where(np.arange(n) % 2 == 0, "smoke", "gas")
    d = pd.DataFrame({"id": [f"{'SMK' if k == 'smoke' else 'GAS'}-C{i:06d}" for i, k in enumerate(kinds)],
                      "type": kinds, "place": None, "heartbeat_s": 3600})
    import geopandas as gpd

    district.devices = gpd.GeoDataFrame(d, geometry=list(poles.geometry), crs=4326)
    return district


class Mover:
    """Moves every person once a second through the app's own path until stopped."""

    def __init__(self, brain: Brain, rng) -> None:
        self.brain = brain
        roster = brain.staff.roster()
        self.ids = [s.id for s in roster]
        poles = brain.district.poles
        at = poles.iloc[rng.choice(len(poles), size=len(roster))]
        self.lon = np.array([p.x for p in at.geometry])
        self.lat = np.array([p.y for p in at.geometry])
        self.rng = rng
        self.rounds = 0
        self.late = 0
        self.stop = threading.Event()
        self.step()

    def step(self) -> None:
        self.lon += self.rng.normal(0, 3e-5, self.lon.shape)
        self.lat += self.rng.normal(0, 3e-5, self.lat.shape)
        now = utcnow()
        self.brain.staff.record_fixes([Fix(i, float(x), float(y), now)
                                       for i, x, y in zip(self.ids, self.lon, self.lat, strict=True)])
        self.rounds += 1

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.step()
            spent = time.monotonic() - t0
            if spent > 1:
                self.late += 1
            self.stop.wait(max(0.0, 1 - spent))


def chromium_cpu() -> float:
    return sum(cpu for name, cpu in cpu_seconds().values() if "chrom" in name)


def busy_ms(cdp) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return 1000 * metrics["TaskDuration"]


HELD = """() => { const d = window.districtMaps['district-map'];
    return {staff: d.count('staff'), alarms: d.count('alarms'), version: d.versions().staff,
            places: d.features('staff').map((f) => [f.id, f.lon, f.lat])}; }"""


def measure(browser, url: str, bundle: bytes | None, seconds: float, brain: Brain) -> dict:
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    if bundle is not None:
        page.route("**/district_map.min.js*", lambda route: route.fulfill(
            status=200, body=bundle, headers={"content-type": "application/javascript"}))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, url, "admin", PASSWORD)
    page.goto(url + "/wall")
    page.wait_for_function(MAP_STILL, timeout=300_000, polling=200)
    page.wait_for_timeout(3000)  # the first live pushes
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    b0, c0, t0 = busy_ms(cdp), chromium_cpu(), time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    b1, c1, t1 = busy_ms(cdp), chromium_cpu(), time.monotonic()
    gaps = np.array(page.evaluate(MOVE, [seconds]))
    b2, t2 = busy_ms(cdp), time.monotonic()
    held = page.evaluate(HELD)
    page.wait_for_timeout(1500)
    later = page.evaluate(HELD)
    page.close()
    from dashboard.live import features

    brain.live.refresh()
    build = features(brain, "zh-CN")
    want = {d.layer: build.delta(d)["upsert"] for d in brain.live.since(None)}
    n_staff, n_alarms = len(want["staff"]), len(want["alarms"])
    assert not errors, errors
    assert held["staff"] == n_staff and held["alarms"] == n_alarms, (held["staff"], n_staff, held["alarms"], n_alarms)
    assert later["version"] > held["version"], "the staff layer stopped advancing"
    server = {f["id"]: f for f in want["staff"]}
    off = [p for p in held["places"] if p[0] not in server or abs(p[1] - server[p[0]]["lon"]) > 5e-4
           or abs(p[2] - server[p[0]]["lat"]) > 5e-4]
    assert not off, f"{len(off)} people drawn away from where the server has them"
    return {"rest_busy": (b1 - b0) / (t1 - t0), "rest_cpu": (c1 - c0) / (t1 - t0) * 1000,
            "pan_busy": (b2 - b1) / (t2 - t1), "p50": float(np.percentile(gaps, 50)),
            "p95": float(np.percentile(gaps, 95)), "staff": n_staff, "alarms": n_alarms}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=7)
    ap.add_argument("--staff", type=int, default=10_000)
    ap.add_argument("--alarms", type=int, default=8_000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--old", default="04ff0a9", help="the earlier build to compare with (git revision), or none")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(7)
    old = None if args.old == "none" else subprocess.run(
        ["git", "show", f"{args.old}:district_map/district_map.min.js"], cwd=ROOT, check=True,
        capture_output=True).stdout
    district = with_devices(District.generated(tiles=args.tiles, staff=args.staff), args.alarms, rng)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            admin_password=PASSWORD, escalate_after_s=0, monitor_interval_s=0)
        brain = Brain(settings, district=district)
        rows: dict[str, list[dict]] = {"this build": [], f"earlier build ({args.old})": []}
        with serve(settings, brain) as app, sync_playwright() as p:
            now = utcnow()
            devices = district.devices
            for i in range(0, len(devices), 500):
                brain.alarms.raise_many([AlarmMessage(device_id=str(d), type="smoke" if t == "smoke" else "gas_leak",
                                                      at=now, severity="minor")
                                         for d, t in zip(devices["id"][i:i + 500], devices["type"][i:i + 500],
                                                         strict=True)])
            mover = Mover(brain, rng)
            print(f"{len(district.poles):,} poles, {len(mover.ids):,} staff moving every second, "
                  f"{args.alarms:,} alarms; one round of moves takes {_round_s(mover):.2f} s", flush=True)
            driver = threading.Thread(target=mover.run, daemon=True)
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            driver.start()
            try:
                for _ in range(args.rounds):
                    for name, bundle in (("this build", None), (f"earlier build ({args.old})", old)):
                        if name != "this build" and old is None:
                            continue
                        r = measure(browser, app.url, bundle, args.seconds, brain)
                        rows[name].append(r)
                        print(f"  {name}: at rest main thread {r['rest_busy']:.0f} ms/s, Chromium CPU "
                              f"{r['rest_cpu']:.0f} ms/s; panning frames p50 {r['p50']:.0f} ms p95 {r['p95']:.0f} ms,"
                              f" main thread {r['pan_busy']:.0f} ms/s ({r['staff']:,} staff, {r['alarms']:,} alarms"
                              " held as the server holds them)", flush=True)
            finally:
                mover.stop.set()
                driver.join(30)
                browser.close()
        brain.stop()
    print(f"\nmoves: {mover.rounds} rounds of {len(mover.ids):,}, {mover.late} took over a second")
    print(f"{'':<28}{'rest main ms/s':>15}{'rest CPU ms/s':>15}{'pan p50':>9}{'pan p95':>9}{'pan main ms/s':>15}")
    med = {}
    for name, rs in rows.items():
        if not rs:
            continue
        m = {k: float(np.median([r[k] for r in rs])) for k in ("rest_busy", "rest_cpu", "p50", "p95", "pan_busy")}
        med[name] = m
        print(f"{name:<28}{m['rest_busy']:>15.0f}{m['rest_cpu']:>15.0f}{m['p50']:>7.0f}ms{m['p95']:>7.0f}ms"
              f"{m['pan_busy']:>15.0f}")
    if len(med) == 2:
        (_, new), (_, was) = med.items()
        print(f"\nthis build / earlier: main thread at rest x{new['rest_busy'] / was['rest_busy']:.2f}, "
              f"Chromium CPU at rest x{new['rest_cpu'] / was['rest_cpu']:.2f}, pan frame p95 "
              f"x{new['p95'] / was['p95']:.2f}, main thread panning x{new['pan_busy'] / was['pan_busy']:.2f}")
    return 0


def _round_s(mover: Mover) -> float:
    t0 = time.monotonic()
    mover.step()
    return time.monotonic() - t0


if __name__ == "__main__":
    raise SystemExit(main())
