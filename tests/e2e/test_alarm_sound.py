"""The alarm sound of /wall and /dispatch in Chromium: a click arms it (the browsers' rule), a critical alarm
nobody has acknowledged rings until it is acknowledged, the banner names its place and the case its
escalation opened, and the operator mutes the screen."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Watched, sign_in
from tests.e2e.test_views import open_view

pytestmark = pytest.mark.e2e


def _sound(page) -> dict:
    return page.evaluate("() => window.alarmSound.state()")


def test_a_critical_alarm_rings_until_acknowledged_names_its_place_and_the_screen_can_be_muted(browser, live_app):
    """(Headless Chromium runs Web Audio without a click, whatever its autoplay flag: the arming click itself
    cannot be shown here; the page is armed at once, as on a kiosk wall.)"""
    brain = live_app.brain
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    w = Watched(ctx.new_page(), live_app.url)
    page = w.page
    sign_in(page, live_app, "operator")
    open_view(w, live_app, "/wall")
    page.wait_for_function("() => window.alarmSound.state().armed", timeout=10_000)
    assert page.inner_text("#alarm-sound-arm") == "点击启用告警声音"  # its words, for a browser that needs it
    home = next(d for d, where in brain.device_places.items() if d.startswith("SMK") and "室" in where)
    alarm, _ = brain.alarms.raise_alarm(device_id=home, type="smoke")
    page.wait_for_selector("#takeover-banner.takeover", timeout=15_000)
    page.wait_for_function("() => window.alarmSound.state().ringing && window.alarmSound.state().rings >= 1",
                           timeout=10_000)
    banner = page.inner_text("#takeover-banner")
    assert brain.device_places[home] in banner  # the place, the room masked
    assert brain.device_places[home] in page.get_attribute("#takeover-banner", "title")  # what is spoken
    page.wait_for_function("() => window.alarmSound.state().rings >= 2", timeout=10_000)  # again, every 4 s
    page.click("#alarm-sound-mute")
    assert _sound(page)["muted"] is True and page.inner_text("#alarm-sound-mute") == "取消静音"
    rings = _sound(page)["rings"]
    page.wait_for_timeout(4500)
    assert _sound(page)["rings"] == rings  # muted: no ring
    page.click("#alarm-sound-mute")
    brain.alarms.acknowledge(alarm.id, actor="person:e2e-operator")
    page.wait_for_function("() => !window.alarmSound.state().ringing", timeout=15_000)
    assert w.errors == [] and w.foreign() == []
    ctx.close()
