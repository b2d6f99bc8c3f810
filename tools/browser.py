"""Debian's Chromium as the tests, benchmarks and screenshots drive it (Playwright), and signing in."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
# no traffic of the browser's own (updates, sync, safe browsing): a request to a foreign host is the page's
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-gpu", "--no-first-run", "--hide-scrollbars"]


def login(page, base: str, user: str, password: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
