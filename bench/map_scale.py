"""/wall with 100,000 poles beside the demo's 2,048, in the same run: page weight, time to a drawn map,
and frame times while the operator zooms and pans.

    python -m bench.map_scale [--tiles 7] [--seconds 6]

For each district the whole app runs in-process (SQLite in a temporary folder, simulator off) and a
signed-in Chromium (software WebGL, no GPU: the slowest case) opens /wall at 1920x1080. Measured:
- **page bytes**: the body of the answer that draws the page (the map's geography and live layers), as sent (gzip);
- **to drawn**: from navigation until the map has loaded everything and stands still (MapLibre's
  `loaded()`: every layer and label placed and drawn);
- **frames**: for `--seconds`, the map is zoomed in and out and panned on every animation frame (labels
  placed again as it goes); the interval between frames, p50 and p95, and the frames per second.
  100,000 poles against 2,048 is the ratio reported.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from bench._util import MAP_STILL
from brain.config import Settings
from brain.runtime import Brain
from geodata.district import District
from tools.browser import ARGS, CHROMIUM, login
from tools.serve import serve

PASSWORD = "bench-admin-pass"

# zoom out to the district and in to the street, panning, one step per frame; returns frame intervals (ms)
MOVE = """
async ([seconds]) => {
    const map = window.districtMaps['district-map'].map;
    const start = performance.now();
    const gaps = [];
    let last = start;
    const centre = map.getCenter(), zoom = map.getZoom(), b = map.getBounds();
    const dx = (b.getEast() - b.getWest()) / 3, dy = (b.getNorth() - b.getSouth()) / 3;
    await new Promise((done) => {
        const step = (now) => {
            gaps.push(now - last); last = now;
            const phase = (now - start) / 1000;
            map.jumpTo({center: [centre.lng + dx * Math.sin(phase * 0.9), centre.lat + dy * Math.sin(phase * 1.3)],
                        zoom: zoom + 2.2 * (1 - Math.cos(phase * 1.3))});
            if (now - start < seconds * 1000) { requestAnimationFrame(step); } else { done(); }
        };
        requestAnimationFrame(step);
    });
    return gaps.slice(1);
}
"""


def measure(name: str, district: District, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'brain.sqlite3'}", simulate=False,
                            escalate_after_s=0, admin_password=PASSWORD)
        brain = Brain(settings, district=district)
        with serve(settings, brain) as app, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            sizes: list[int] = []

            def on_finished(r) -> None:
                if r.method == "POST" and '"page.children"' in (r.post_data or "").replace(" ", ""):
                    sizes.append(r.sizes()["responseBodySize"])

            page.on("requestfinished", on_finished)
            login(page, app.url, "admin", PASSWORD)
            t0 = time.perf_counter()
            page.goto(app.url + "/wall")
            page.wait_for_function(MAP_STILL, timeout=180_000, polling=50)
            drawn = time.perf_counter() - t0
            page.wait_for_timeout(2000)  # the first live ticks
            gaps = np.array(page.evaluate(MOVE, [seconds]))
            browser.close()
    row = {"name": name, "poles": len(district.poles), "bytes": max(sizes) if sizes else 0, "drawn_s": drawn,
           "p50": float(np.percentile(gaps, 50)), "p95": float(np.percentile(gaps, 95)),
           "fps": 1000 / float(gaps.mean())}
    print(f"  {name}: {row['poles']:,} poles, page {row['bytes'] / 1e6:.1f} MB, drawn in {drawn:.1f} s, "
          f"frames p50 {row['p50']:.0f} ms p95 {row['p95']:.0f} ms ({row['fps']:.0f} fps)", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=7, help="city scale: tiles x tiles copies of the demo district")
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args(argv)
    rows = [measure("demo district", District.load(), args.seconds)]
    rows.append(measure(f"city ({args.tiles}x{args.tiles})", District.generated(tiles=args.tiles), args.seconds))
    print(f"\n{'':<18}{'poles':>9}{'page MB':>9}{'drawn s':>9}{'frame p50':>11}{'frame p95':>11}{'fps':>6}")
    for r in rows:
        print(f"{r['name']:<18}{r['poles']:>9,}{r['bytes'] / 1e6:>9.1f}{r['drawn_s']:>9.1f}{r['p50']:>9.0f}ms"
              f"{r['p95']:>9.0f}ms{r['fps']:>6.0f}")
    base, city = rows
    print(f"\ncity / demo: page x{city['bytes'] / base['bytes']:.1f}, drawn x{city['drawn_s'] / base['drawn_s']:.1f}, "
          f"frame p95 x{city['p95'] / base['p95']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
