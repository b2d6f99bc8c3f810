"""Screenshot views of a running app with Debian's Chromium (for docs/ and for looking at screens).

    python -m tools.screenshot http://127.0.0.1:8050 /wall docs/wall-1920x1080.png [--size 1920x1080]

Prints every request that went to another host and every console error; exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import os

from playwright.sync_api import sync_playwright

from tools.browser import ARGS, CHROMIUM, login


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("path")
    ap.add_argument("out")
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--ready", default=".maplibregl-canvas", help="CSS selector to wait for before the shot")
    ap.add_argument("--full", action="store_true", help="the whole scrolling page, not just the screen")
    ap.add_argument("--wait", type=float, default=5.0, help="seconds of live updates before the shot")
    ap.add_argument("--user", default=os.environ.get("BRAIN_USER", "admin"))
    ap.add_argument("--password", default=os.environ.get("BRAIN_PASSWORD"), help="or BRAIN_PASSWORD")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    foreign: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_page(viewport={"width": w, "height": h})
        page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((args.base, "data:", "blob:"))
                else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        if args.password:
            login(page, args.base, args.user, args.password)
        page.goto(args.base + args.path)
        page.wait_for_selector(args.ready, timeout=30_000)
        page.wait_for_timeout(args.wait * 1000)
        if args.full:  # the page scrolls inside its own panel: let it grow to its content first
            page.add_style_tag(content="html, body, .page, .kpi-page { height: auto !important; "
                                       "overflow: visible !important; }")
        page.screenshot(path=args.out, full_page=args.full)
        b.close()
    print(f"saved {args.out}; foreign requests: {foreign or 'none'}; console errors: {errors or 'none'}")
    return 1 if foreign or errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
