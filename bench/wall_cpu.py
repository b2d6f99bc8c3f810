"""What /wall costs the browser while nothing moves: Chromium's CPU on a quiet wall (the baseline) and
on a wall taken over by an unacknowledged critical alarm (banner and ring blinking), in the same run.

    python -m bench.wall_cpu [--seconds 10]

The whole app runs in-process (SQLite in a temporary folder, the demo district, simulator off) and a
signed-in Chromium (software drawing, as on this machine) keeps /wall open at 1920x1080. Chromium's
CPU is read from /proc for all its processes (those below this one) over `--seconds`: first with no alarm, then with a
critical smoke alarm waiting. The figure is cores busy (1.0 = one core all the time). A wall that
burns a core while an alarm waits takes it from the map and, on a shared machine, from the server.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench._util import stat_cpu_seconds, wall_in_browser


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (those gone meanwhile count nothing)."""
    total = 0.0
    for pid in pids:
        try:
            total += stat_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())
        except FileNotFoundError:
            continue
    return total


def descendants(root: int) -> list[int]:
    """Every process below `root` (here: Playwright's driver and the Chromium it started)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
    found, frontier = [], [root]
    while frontier:
        kids = [pid for pid, ppid in parent.items() if ppid in frontier]
        found += kids
        frontier = kids
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return ""


def busy(pids: list[int], seconds: float) -> float:
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args(argv)
    with wall_in_browser() as (brain, page):
        pids = [pid for pid in descendants(os.getpid()) if "chromium" in cmdline(pid)]
        quiet = busy(pids, args.seconds)
        devices = brain.district.devices
        smoke = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
        brain.alarms.raise_alarm(device_id=smoke, type="smoke", actor="bench")
        page.wait_for_selector(".banner.takeover", timeout=30_000)
        page.wait_for_timeout(4000)  # the map has flown to the alarm
        alarm = busy(pids, args.seconds)
        animations = page.evaluate("() => document.getAnimations().length")
    print(f"Chromium on /wall, cores busy over {args.seconds:.0f} s:")
    print(f"  quiet wall (baseline)                      {quiet:5.2f}")
    print(f"  critical alarm waiting (takeover, blinking) {alarm:5.2f}   x{alarm / max(quiet, 0.01):.1f}")
    print(f"  animations running on the page: {animations}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
