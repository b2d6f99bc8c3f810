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

from bench._util import field_app, median_table, throttled_visit
from tools.browser import ARGS, CHROMIUM

PASSWORD = "bench-field-pass"


def visit(browser, base: str, user: str, password: str, path: str, ready: str, kbps: int, rtt_ms: int
          ) -> tuple[int, float]:
    def sign_in(page) -> None:
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_selector(ready, timeout=120_000)

    phone = path.startswith("/m/")
    return throttled_visit(browser, base + "/login?next=" + path, kbps=kbps, rtt_ms=rtt_ms,
                           viewport=(390, 844) if phone else (1920, 1080), act=sign_in)


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
    med = median_table(rows, 26)
    field, desk = med["field app (/m/)"], med["dispatcher (/dispatch)"]
    print(f"field app / dispatcher page: {field[0] / desk[0]:.2f}x the bytes, {field[1] / desk[1]:.2f}x the time; "
          f"goal: under 300 KB ({'met' if field[0] < 300 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
