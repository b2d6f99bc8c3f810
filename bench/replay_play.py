"""What playing the replay at 60x costs the browser, beside the live wall, in the same run: Chromium's CPU
with /wall open while the simulator runs (the baseline), then with /replay playing the last hour at 60x.

    python -m bench.replay_play [--warm 60] [--seconds 20] [--speed 60]

The whole app runs in-process (SQLite, the demo district, the simulator at 1x driving the services: cases
arrive and move on, people walk and report every 5 s, alarms come and go), with `--warm` seconds of it
first and a backfill of the last hour's cases so the replay has something to play. Chromium (software
drawing, as on this machine) is signed in at 1920x1080. Its CPU is read from /proc for all its processes
over `--seconds`; the figure is cores busy. Goal: the replay at 60x costs no more than the live wall.
The replay must move: the playhead is read before and after and must have gone on by about `--speed` times
the seconds measured.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bench._util import MAP_STILL
from bench.wall_cpu import busy, descendants

SHANGHAI = ZoneInfo("Asia/Shanghai")


def playhead(page) -> datetime:
    stamp = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", page.inner_text("#replay-at")).group(0)
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=float, default=60.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--speed", type=int, default=60, choices=[1, 10, 60, 600])
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from brain.config import Settings
    from brain.runtime import Brain
    from brain.sim.simulator import Simulator
    from brain.storage.db import utcnow
    from tools.browser import ARGS, CHROMIUM, login
    from tools.serve import serve

    password = "bench-admin-pass"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            admin_password=password, escalate_after_s=0, monitor_interval_s=0,
                            photo_dir=Path(tmp) / "photos")
        brain = Brain(settings).start()
        sim = Simulator(district=brain.district, cases=brain.cases, staff=brain.staff, alarms=brain.alarms,
                        speed=1.0, seed=9, dispatch=brain.dispatch)
        sim.load_state()
        sim.backfill(hours=1)
        stop = threading.Event()

        def run() -> None:
            last = time.monotonic()
            while not stop.wait(1.0):
                now = time.monotonic()
                sim.tick(now - last)
                last = now

        driver = threading.Thread(target=run, daemon=True)
        driver.start()
        time.sleep(args.warm)
        try:
            with serve(settings, brain) as app, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1920, "height": 1080})
                    login(page, app.url, "admin", password)
                    pids = descendants(__import__("os").getpid())
                    page.goto(app.url + "/wall")
                    page.wait_for_function(MAP_STILL, timeout=60_000)
                    page.wait_for_timeout(2000)
                    pids = descendants(__import__("os").getpid())
                    wall = busy(pids, args.seconds)
                    start = utcnow() - timedelta(hours=1)  # played from the start of the last hour
                    window = {"from": start.isoformat(), "to": utcnow().isoformat(), "at": start.isoformat()}
                    page.goto(app.url + "/replay?" + urlencode(window))
                    page.wait_for_function(MAP_STILL, timeout=60_000)
                    page.click("#replay-speed")
                    page.locator(".dash-dropdown-content[data-state=open] [role=option]",
                                 has_text=f"{args.speed}×").first.click()
                    page.wait_for_timeout(1000)
                    before = playhead(page)
                    page.click("#replay-play")
                    page.wait_for_timeout(1500)
                    pids = descendants(__import__("os").getpid())
                    replay = busy(pids, args.seconds)
                    moved = (playhead(page) - before).total_seconds()
                    page.click("#replay-play")
                finally:
                    browser.close()
        finally:
            stop.set()
            driver.join(5)
            brain.stop()
    print(f"simulator at 1x, {sim.stats['fixes']} fixes and {sim.stats['transitions']} case moves so far")
    print(f"{'Chromium, cores busy over ' + str(int(args.seconds)) + ' s':<44}{'cores':>8}")
    print(f"{'/wall, live (baseline)':<44}{wall:>8.3f}")
    print(f"{f'/replay playing at {args.speed}x':<44}{replay:>8.3f}")
    print(f"replay / wall: {replay / max(wall, 1e-6):.2f}x; the playhead moved {moved:.0f} s of district time "
          f"(about {args.speed * (args.seconds + 1.5):.0f} expected); goal no more than the wall: "
          f"{'met' if replay <= wall else 'NOT met'}")
    return 0 if moved > args.speed * args.seconds * 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
