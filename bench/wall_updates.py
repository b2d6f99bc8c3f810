"""What a live update costs the browser on /wall: every map layer handed to MapLibre again (the
baseline, as Plotly does by itself) against only the layers that changed (assets/map_unchanged.js),
in the same run.

    python -m bench.wall_updates [--updates 20] [--every 1.0]

The whole app runs in-process (SQLite in a temporary folder, the demo district, simulator off) and a
signed-in Chromium (software drawing, as on this machine) keeps /wall open at 1920x1080. A round
raises `--updates` new water-leak alarms (minor, so the wall does not fly to them), one every `--every` seconds;
another repeats each of them once (its count, in the hover label, changes; its marker does not). Each
is run first with the page told to redraw every layer (``window.brainMapEveryLayer``), then without.
Measured per round: Chromium's CPU (all its processes, from /proc) per update, and for each update the
time from just before it to the figure holding it and to the map having drawn it (the first MapLibre
'idle' after), p50 and max.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bench._util import wall_in_browser
from bench.wall_cpu import cmdline, cpu_seconds, descendants
from layers.figure import TRACE_INDEX

WATCH = """([i, device, count]) => { window.__drawnAfter = null; new Promise((resolve) => {
    const gd = document.querySelector('#district-map .js-plotly-plot');
    const map = gd._fullLayout.map._subplot.map;
    const has = () => (gd.data[i].customdata || []).some((row) => row && row[2] === device && row[3] >= count);
    const t0 = performance.now();
    const poll = () => {
        if (!has()) { requestAnimationFrame(poll); return; }
        const inData = performance.now() - t0;
        if (!map.loaded()) { map.once('idle', () => resolve([inData, performance.now() - t0])); return; }
        requestAnimationFrame(() => resolve([inData, performance.now() - t0]));
    };
    poll();
}).then((r) => { window.__drawnAfter = r; }); }"""


def round_of(page, brain, devices: list[str], count: int, every: float, pids: list[int]) -> tuple[float, list, list]:
    """Raise (count 1) or repeat (count 2) an alarm of each device, one every `every` seconds."""
    cpu0 = cpu_seconds(pids)
    data, drawn = [], []
    for device in devices:
        due = time.monotonic() + every
        page.evaluate(WATCH, [TRACE_INDEX["alarms"], device, count])  # timed in the page, from before the raise
        brain.alarms.raise_alarm(device_id=device, type="leak", actor="bench")
        in_data, idle = page.wait_for_function("() => window.__drawnAfter", timeout=30_000).json_value()
        data.append(in_data)
        drawn.append(idle)
        time.sleep(max(0.0, due - time.monotonic()))
    return (cpu_seconds(pids) - cpu0) / len(devices), data, drawn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--every", type=float, default=1.0)
    args = ap.parse_args(argv)
    with wall_in_browser() as (brain, page):
        meters = [str(d) for d in brain.district.devices.query("type == 'water_meter'")["id"]]
        if len(meters) < 2 * args.updates:
            raise SystemExit(f"the district has {len(meters)} water meters; {2 * args.updates} are needed")
        pids = [pid for pid in descendants(os.getpid()) if "chromium" in cmdline(pid)]
        rounds = {}
        for kind, count in (("new", 1), ("repeat", 2)):
            for name, every_layer, devices in (("every layer (baseline)", True, meters[:args.updates]),
                                               ("changed layers only", False, meters[args.updates:2 * args.updates])):
                page.evaluate("(on) => { window.brainMapEveryLayer = on; }", every_layer)
                page.wait_for_timeout(1500)
                rounds[f"{kind}: {name}"] = round_of(page, brain, devices, count, args.every, pids)
    print(f"/wall, {args.updates} alarms raised, then repeated, one every {args.every:.1f} s, per round:")
    print(f"  {'':32} {'Chromium CPU/update':>20} {'in figure p50':>14} {'drawn p50':>10} {'drawn max':>10}")
    base = None
    for name, (cpu, data, drawn) in rounds.items():
        ratio = "" if "baseline" in name else f"   x{cpu / base:.2f} CPU"
        base = cpu if "baseline" in name else base
        print(f"  {name:32} {cpu * 1000:17,.0f} ms {np.percentile(data, 50):11,.0f} ms "
              f"{np.percentile(drawn, 50):7,.0f} ms {max(drawn):7,.0f} ms{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
