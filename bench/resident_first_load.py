"""The residents' page on a throttled 3G phone: what scanning a pole's QR code costs, from the first byte
asked to the page ready to report (the pole, its small map and the kinds of problem on screen), beside the
product's lightest page (/login: one HTML file and a stylesheet) on the same connection, in the same run.

    python -m bench.resident_first_load [--runs 3] [--kbps 1440] [--up-kbps 675] [--rtt-ms 563]

The defaults are Chrome's "Fast 3G" preset (1.44 Mbit/s down, 675 kbit/s up, 563 ms round trip), set with
DevTools Network.emulateNetworkConditions on a fresh Chromium profile each run (nothing cached), at 390×844.
Every response's bytes on the wire (encodedDataLength: compressed where sent compressed, headers included)
are summed. The check: /r/0412 shows pole 0412 and every kind of problem. The goals: under 200 KB, usable
in under 2 s.
"""

from __future__ import annotations

import argparse

from bench._util import field_app, median_table, throttled_visit
from tools.browser import ARGS, CHROMIUM


def visit(browser, url: str, ready: str, args) -> tuple[int, float]:
    return throttled_visit(browser, url, kbps=args.kbps, up_kbps=args.up_kbps, rtt_ms=args.rtt_ms, mobile=True,
                           act=lambda page: page.wait_for_function(ready, timeout=120_000))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kbps", type=int, default=1440)
    ap.add_argument("--up-kbps", type=int, default=675)
    ap.add_argument("--rtt-ms", type=int, default=563)
    args = ap.parse_args(argv)
    with field_app() as (brain, url, p):
        topics = len(brain.residents.topics)
        ready = ("() => document.body.dataset.view === 'pole' && document.getElementById('pole-no').textContent "
                 f"=== '0412' && document.querySelectorAll('#topics .topic').length === {topics} && "
                 "document.querySelector('#pole-map svg') !== null")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows: dict[str, list[tuple[int, float]]] = {"residents' page (/r/0412)": [], "sign-in page (/login)": []}
        for _ in range(args.runs):
            rows["residents' page (/r/0412)"].append(visit(browser, url + "/r/0412", ready, args))
            rows["sign-in page (/login)"].append(visit(browser, url + "/login",
                                                       "() => document.querySelector('input[name=password]')",
                                                       args))
        browser.close()
    print(f"first visit, fresh profile, {args.kbps}/{args.up_kbps} kbit/s, {args.rtt_ms} ms round trip; "
          f"median of {args.runs}")
    med = median_table(rows)
    page_, floor = med["residents' page (/r/0412)"], med["sign-in page (/login)"]
    print(f"residents' page / sign-in page: {page_[0] / floor[0]:.2f}x the bytes, {page_[1] / floor[1]:.2f}x the "
          f"time; goals: under 200 KB ({'met' if page_[0] < 200 else 'NOT met'}), usable under 2 s "
          f"({'met' if page_[1] < 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
