"""No English on the Chinese screens: the wall with a critical alarm, the dispatcher's card, the leaders'
screen, the handover report and a printed case, read as a person reads them. What may be Latin letters is
data (device ids, account names) and the few names of formats a person clicks (CSV, Excel)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from brain.sim.history import HistoryGenerator, write
from brain.storage.db import utcnow
from tests.e2e.conftest import open_case, sign_in
from tests.e2e.test_views import open_view

pytestmark = pytest.mark.e2e
FORMATS = {"CSV", "Excel", "PDF", "EN"}


def test_the_chinese_screens_say_nothing_in_english(anonymous, live_app):
    brain = live_app.brain
    now = utcnow()
    write(brain.db, HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=3),
          start=now - timedelta(days=2), end=now, now=now, per_day=30)
    case = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline",
                                 description="路灯不亮")
    device = next(str(d) for d in brain.district.devices["id"] if str(d).startswith("SMK"))
    brain.alarms.raise_alarm(device_id=device, type="smoke")
    data = {device.split("-")[0], "hotline", "admin"}  # ids and account names are data, not words of the screen
    page = anonymous.page
    sign_in(page, live_app, "admin")

    def english(where: str) -> set[str]:
        return set(re.findall(r"[A-Za-z][A-Za-z_]{2,}", page.inner_text("body"))) - FORMATS - data

    open_view(anonymous, live_app, "/wall")
    page.wait_for_selector("#takeover-banner.takeover", timeout=15_000)
    assert english("wall") == set()
    page.goto(live_app.url + "/dispatch")
    page.wait_for_selector(f"button.queue-item:has-text('#{case.id}')", timeout=30_000)
    page.click(f"button.queue-item:has-text('#{case.id}')")
    page.wait_for_selector(f".card h3:has-text('#{case.id}')", timeout=10_000)
    assert english("dispatch") == set()
    page.goto(live_app.url + "/kpi")
    page.wait_for_selector(".kpi-table td", timeout=30_000)
    assert english("kpi") == set()
    for path in ("/report/daily", f"/report/case/{case.id}"):
        page.goto(live_app.url + path)
        assert english(path) == set(), path
    brain.alarms.acknowledge(brain.alarms.live()[0].id, actor="person:admin")


def test_the_english_screens_say_nothing_in_chinese_but_the_districts_own_names(anonymous, live_app):
    brain = live_app.brain
    case = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline",
                                 description="路灯不亮")
    d = brain.district
    names = {*d.committees["name"], *d.roads["name"].dropna(), *d.places["name"].dropna(),
             *(t["name"] for t in d.teams), *(s["name"] for s in d.staff), d.meta.get("name", ""), "路灯不亮"}
    names = sorted((n for n in names if n), key=len, reverse=True)  # the longest first: a name inside another
    page = anonymous.page
    sign_in(page, live_app, "admin")

    def chinese(where: str) -> set[str]:
        text = page.inner_text("body")
        for n in names:
            text = text.replace(n, "")
        return set(re.findall(r"[\u4e00-\u9fff]+", text)) - {"中文"}  # the language switch names itself

    for path in ("/wall?lang=en", "/kpi?lang=en"):
        page.goto(live_app.url + path)
        page.wait_for_selector("#district-map .maplibregl-canvas, .kpi-table td", timeout=30_000)
        page.wait_for_timeout(1000)
        assert chinese(path) == set(), path
    page.goto(live_app.url + "/dispatch?lang=en")
    page.wait_for_selector("#dispatch-queue-search", timeout=30_000)
    open_case(page, case.id)
    assert chinese("dispatch") == set()
    for path in ("/report/daily?lang=en", f"/report/case/{case.id}?lang=en"):
        page.goto(live_app.url + path)
        assert chinese(path) == set(), path
