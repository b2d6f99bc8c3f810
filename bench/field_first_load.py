"""The field app's first visit on a slow phone network: bytes transferred and seconds from the sign-in to
the person's task list on screen, beside the dispatcher's screen (/dispatch, the product's Dash page) on the
same throttled connection, in the same run.

    python -m bench.field_first_load [--runs 3] [--kbps 1600] [--rtt-ms 150]

The whole app runs in-process (SQLite in a temporary folder, the demo district, simulator off). Each run
is a fresh Chromium profile (nothing cached) whose network Chrome throttles (DevTools
Network.emulateNetworkConditions: `--kbps` down and up, `--rtt-ms` latency: a weak 4G / good 3G phone).
It signs in through the form and waits for the page to be ready: for /m/ the task list with the one task
assigned to the person, for /dispatch the case queue. Every response's bytes on the wire (Chrome's
encodedDataLength: compressed where sent compressed, headers included) are summed from the first request
to that moment. The check: the field page shows the person's task. The goal: under 300 KB.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench._util import field_app
from tools.browser import ARGS, CHROMIUM

PASSWORD = "bench-field-pass"


def visit(browser, base: str, user: str, password: str, path: str, ready: str, kbps: int, rtt_ms: int
          ) -> tuple[int, float]:
    ctx = browser.new_context(viewport={"width": 390, "height": 844} if path.startswith("/m/") else
                              {"width": 1920, "height": 1080})
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt_ms,
                                                  "downloadThroughput": kbps * 1000 / 8,
                                                  "uploadThroughput": kbps * 1000 / 8})
    sizes: dict[str, float] = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    t0 = time.perf_counter()
    page.goto(base + "/login?next=" + path)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector(ready, timeout=120_000)
    took = time.perf_counter() - t0
    total = int(sum(sizes.values()))
    ctx.close()
    return total, took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kbps", type=int, default=1600)
    ap.add_argument("--rtt-ms", type=int, default=150)
    args = ap.parse_args(argv)
    with field_app() as (brain, url, p):
        case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="bench")
        sid = brain.dispatch.recommend(case.id).ranked[0].staff_id
        brain.dispatch.assign(case.id, actor="bench", version=case.version, staff_id=sid)
        brain.auth.create_account(username="bench-field", role="field", password=PASSWORD, actor="bench",
                                  staff_id=sid)
        brain.auth.create_account(username="bench-disp", role="dispatcher", password=PASSWORD, actor="bench")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows = {"field app (/m/)": [], "dispatcher (/dispatch)": []}
        for _ in range(args.runs):
            rows["field app (/m/)"].append(visit(browser, url, "bench-field", PASSWORD, "/m/",
                                                 f".card[data-case-id='{case.id}']", args.kbps, args.rtt_ms))
            rows["dispatcher (/dispatch)"].append(visit(browser, url, "bench-disp", PASSWORD, "/dispatch",
                                                        ".queue-item", args.kbps, args.rtt_ms))
        browser.close()
    print(f"first visit, fresh profile, {args.kbps} kbit/s, {args.rtt_ms} ms round trip; median of {args.runs}")
    print(f"{'':<26}{'KB':>10}{'seconds':>10}")
    med = {}
    for name, runs in rows.items():
        kb = statistics.median(r[0] for r in runs) / 1024
        s = statistics.median(r[1] for r in runs)
        med[name] = (kb, s)
        print(f"{name:<26}{kb:>10.1f}{s:>10.2f}")
    field, desk = med["field app (/m/)"], med["dispatcher (/dispatch)"]
    print(f"field app / dispatcher page: {field[0] / desk[0]:.2f}x the bytes, {field[1] / desk[1]:.2f}x the time; "
          f"goal: under 300 KB ({'met' if field[0] < 300 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
