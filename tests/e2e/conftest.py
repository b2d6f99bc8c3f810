"""A real app on a free port (uvicorn in a thread) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil

import pytest

from brain.config import Settings
from brain.runtime import Brain
from tests.conftest import missing
from tools.browser import ARGS, CHROMIUM
from tools.serve import serve

ADMIN_PASSWORD = "e2e-admin-password"
PASSWORD = "e2e-person-password"


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, district):
    """The whole app (API + UI) on SQLite, simulator off so the tests decide what happens."""
    folder = tmp_path_factory.mktemp("e2e")
    settings = Settings(database_url=f"sqlite:///{folder / 'brain.sqlite3'}", simulate=False,
                        admin_password=ADMIN_PASSWORD, escalate_after_s=0, monitor_interval_s=0,
                        photo_dir=folder / "photos")
    brain = Brain(settings, district=district)
    try:
        with serve(settings, brain) as served:
            yield served
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        missing(f"{CHROMIUM} is missing: browser tests need Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


DESCRIBE = """e => e instanceof Error ? `${e.name}: ${e.message} [${Object.keys(e).join(',')}] ${e.stack || ''}`
                               : (typeof e === 'object' ? JSON.stringify(e) : String(e))"""


def _said(message) -> str:
    """A console error with where it was said and what each of its arguments holds (a bare "Error" alone tells
    nothing of its cause: an error that came from a worker has lost its stack)."""
    where = message.location or {}
    held = []
    for arg in message.args:
        try:
            held.append(str(arg.evaluate(DESCRIBE))[:600])
        except Exception as exc:  # the page may be gone by now
            held.append(f"(unreadable: {type(exc).__name__})")
    return f"{message.text} @ {where.get('url', '?')}:{where.get('lineNumber', '?')} {held}"


class Watched:
    """A page that records every request and every console error."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(_said(m)) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def foreign(self) -> list[str]:
        return [u for u in self.requests
                if not u.startswith((self.origin + "/", "data:", "blob:")) and u != self.origin]


def sign_in(page, live_app, role: str) -> None:
    """Sign in through the login form as a person with `role` (created on first use)."""
    username = "admin" if role == "admin" else f"e2e-{role}"
    if role != "admin":
        try:
            live_app.brain.auth.create_account(username=username, role=role, password=PASSWORD, actor="e2e")
        except ValueError:
            pass
    page.goto(live_app.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", ADMIN_PASSWORD if role == "admin" else PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def choose(page, dropdown_id: str, text: str) -> None:
    """Pick the option of a dropdown whose label holds `text`, as a person would: open the menu, search, click.

    Each step waits for what the page shows, so a slow page (a busy machine) delays the pick but never
    sends keys to a menu that is not open yet."""
    menu = page.locator(".dash-dropdown-content[data-state=open]")
    if not menu.is_visible():
        page.click(f"#{dropdown_id}")
    menu.wait_for(state="visible", timeout=10_000)
    menu.locator("input.dash-dropdown-search").fill(text)
    menu.locator("[role=option]", has_text=text).first.click(timeout=10_000)
    page.wait_for_function("([id, t]) => document.getElementById(id).innerText.includes(t)",
                           arg=[dropdown_id, text], timeout=10_000)
    if menu.is_visible():  # a multi-choice menu stays open after a pick
        page.keyboard.press("Escape")
        menu.wait_for(state="hidden", timeout=10_000)


@pytest.fixture
def anonymous(browser, live_app):
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    watched = Watched(ctx.new_page(), live_app.url)
    yield watched
    ctx.close()


@pytest.fixture
def page(anonymous, live_app):
    """A page signed in as a dispatcher (sees /wall and /dispatch)."""
    sign_in(anonymous.page, live_app, "dispatcher")
    return anonymous


def open_case(page, case_id: int) -> None:
    """Find a case by its number in the queue's search box and open its card (the queue may hold more than a
    page: the tests of this module share one app). The item is the one whose number is exactly this case's
    (#2 is not #21); a click that lands while the search's answer redraws the queue is made again."""
    page.wait_for_selector("#dispatch-queue-search", timeout=30_000)
    page.fill("#dispatch-queue-search", str(case_id))
    page.press("#dispatch-queue-search", "Enter")
    item = f"button.queue-item:has(.cid:text-is('#{case_id}'))"
    opened = "([id]) => { const h = document.querySelector('.card h3'); return !!h && h.innerText.startsWith(id); }"
    for _ in range(5):
        page.wait_for_selector(item, timeout=15_000)
        page.click(item)
        try:
            page.wait_for_function(opened, arg=[f"#{case_id} "], timeout=3_000)
            return
        except Exception:  # the queue was redrawn under the click: find it again
            continue
    page.wait_for_function(opened, arg=[f"#{case_id} "], timeout=10_000)
