"""The first visit to /wall: bytes transferred and seconds from the sign-in to the map drawn with its
live layers, for this tree and for the previous path (a git worktree of `--old`), in the same run.

    python -m bench.first_visit [--old 14e5c7f] [--runs 3]

Each app runs as `python app.py` on the demo district with the simulator off (SQLite in a temporary
folder), in its own process. A fresh Chromium profile (nothing cached) signs in and opens /wall at
1920x1080 (to the map with its live data on the page; for this tree also to every label placed and drawn,
MapLibre's `loaded()`); every response's bytes on the wire (Chrome's encodedDataLength: compressed where it was sent
compressed, headers included) are summed until the map is drawn and stands still. The check: the page
counts the staff on duty, so both measure a working page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tools.browser import ARGS, CHROMIUM, login
from tools.serve import app_process

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-admin-pass"
DRAWN = {  # how each path's page says its map is drawn with the live layers
    "this tree": "() => { const m = window.districtMaps && window.districtMaps['district-map'];"
                 " return !!(m && m.count('staff') > 0"
                 " && document.querySelector('#district-map .maplibregl-canvas')); }",
    "previous": "() => { const gd = document.querySelector('#district-map .js-plotly-plot');"
                " return !!(gd && gd.data && gd.data.length > 6 && document.querySelector('.maplibregl-canvas')); }",
}


def worktree(rev: str) -> Path:
    tree = Path(tempfile.gettempdir()) / f"brain-previous-{rev}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True,
                       capture_output=True)
    return tree


def start(tree: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MQTT_URL")}
    env.update({"BRAIN_DATABASE_URL": f"sqlite:///{tmp / 'b.sqlite3'}", "BRAIN_ADMIN_PASSWORD": PASSWORD,
                "BRAIN_SIMULATE": "0", "BRAIN_LOG_LEVEL": "WARNING", "PYTHONPATH": str(tree)})
    return app_process(tree, env)


LOADED = "() => window.districtMaps['district-map'].map.loaded()"  # this tree: every label placed and drawn


def visit(browser, url: str, drawn: str, loaded: str | None) -> tuple[int, float, float | None, int]:
    """(bytes, seconds to the map with its live data, seconds to every label drawn (this tree), staff shown)
    of one first visit in a fresh context."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        login(page, url, "admin", PASSWORD)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        total = [0]
        cdp.on("Network.loadingFinished", lambda e: total.__setitem__(0, total[0] + int(e["encodedDataLength"])))
        t0 = time.perf_counter()
        page.goto(url + "/wall")
        page.wait_for_function(drawn, timeout=120_000, polling=50)
        seconds = time.perf_counter() - t0
        full = None
        if loaded:
            page.wait_for_function(loaded, timeout=120_000, polling=50)
            full = time.perf_counter() - t0
        page.wait_for_timeout(1500)  # what is still on its way (late chunks, the worker) counts too
        shown = int(page.inner_text("#counter-staff_on_duty"))
        return total[0], seconds, full, shown
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="14e5c7f", help="the revision of the previous path, or none")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    paths = {"this tree": ROOT}
    if args.old != "none":
        paths["previous"] = worktree(args.old)
    rows = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, tree in paths.items():
            with tempfile.TemporaryDirectory() as tmp:
                proc, url = start(tree, Path(tmp))
                try:
                    runs = [visit(browser, url, DRAWN[name], LOADED if name == "this tree" else None)
                            for _ in range(args.runs)]
                finally:
                    proc.terminate()
                    proc.wait(20)
            assert all(shown > 0 for *_r, shown in runs), "the page shows no staff on duty"
            full = [f for _b, _s, f, _n in runs if f is not None]
            rows[name] = (statistics.median(b for b, *_r in runs), statistics.median(s for _b, s, *_r in runs),
                          statistics.median(full) if full else None)
        browser.close()
    print(f"first visit to /wall, fresh profile, median of {args.runs}")
    print(f"{'':<12}{'transferred':>14}{'map + live data s':>19}{'all labels drawn s':>20}")
    for name, (b, s, f) in rows.items():
        print(f"{name:<12}{b / 1e6:>11.2f} MB{s:>19.2f}{'' if f is None else f'{f:.2f}':>20}")
    if "previous" in rows:
        print(f"ratio: bytes {rows['this tree'][0] / rows['previous'][0]:.2f}, time "
              f"{rows['this tree'][1] / rows['previous'][1]:.2f}")
    print(f"goal: under 1.5 MB: {'met' if rows['this tree'][0] < 1.5e6 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
