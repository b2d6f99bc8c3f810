"""The field app on a phone (390×844 and 360×640, an emulated position): the whole loop from the dispatcher's
click to the closing reply, offline actions sent once, and a stale action refused as a conflict."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from brain.staff.service import Fix
from brain.storage.db import utcnow
from tests.brain.test_photos import photo_bytes
from tests.conftest import wait_until
from tests.e2e.conftest import PASSWORD, Watched, sign_in

SHOTS = Path("/tmp/shots")


def _field_account(brain, staff_id: str, role: str = "field") -> str:
    """The username of the staff member's account (made with `role` if they have none yet)."""
    from sqlalchemy import select

    from brain.auth.models import Account

    with brain.db.read() as s:
        known = s.scalar(select(Account.username).where(Account.staff_id == staff_id))
    if known:
        return known
    username = f"e2e-{role}-{staff_id}"
    brain.auth.create_account(username=username, role=role, password=PASSWORD, actor="e2e", staff_id=staff_id)
    return username


def _phone(browser, live_app, username: str, lon: float, lat: float, size=(390, 844)) -> Watched:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, is_mobile=True, has_touch=True,
                              device_scale_factor=2, geolocation={"longitude": lon, "latitude": lat},
                              permissions=["geolocation"])
    watched = Watched(ctx.new_page(), live_app.url)
    page = watched.page
    page.goto(live_app.url + "/login?next=/m/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/m/", timeout=15_000)
    page.wait_for_function("() => document.body.dataset.push === 'open'", timeout=15_000)
    return watched


def _fresh(brain) -> None:
    now = utcnow()
    brain.staff.record_fixes([Fix(s.id, s.lon, s.lat, now) for s in brain.staff.roster() if s.lon is not None])


def _image(fmt: str) -> dict:
    """A photo file as a phone's camera gives it, different from every other one taken in this run (the same
    picture handed in for two cases is refused: it cannot be evidence of both)."""
    _image.taken = getattr(_image, "taken", 0) + 1
    return {"name": f"shot.{fmt.lower()}", "mimeType": f"image/{fmt.lower()}",
            "buffer": photo_bytes(fmt, size=(640 + _image.taken, 480))}


def _besides_offline(errors: list[str]) -> list[str]:
    """The console's errors other than the browser's own notes of requests that failed while offline."""
    return [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e and "WebSocket" not in e]


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def test_the_whole_loop_from_the_dispatchers_click_to_the_closing_reply(browser, anonymous, live_app):
    brain = live_app.brain
    _fresh(brain)
    case = brain.cases.open_case(channel="hotline_12345", category="E0501", pole="0412", actor="hotline",
                                 description="门口流动摊贩占道")
    top = brain.dispatch.recommend(case.id).ranked[0]
    person = next(s for s in brain.staff.roster() if s.id == top.staff_id)
    supervisor = next(s for s in brain.staff.roster() if s.id != person.id and s.lon is not None)
    phone = _phone(browser, live_app, _field_account(brain, person.id), person.lon, person.lat)
    p = phone.page
    p.wait_for_selector("#view .empty", timeout=10_000)

    desk = anonymous.page
    sign_in(desk, live_app, "dispatcher")
    desk.goto(live_app.url + "/dispatch")
    desk.wait_for_selector(f"button.queue-item:has-text('#{case.id}')", timeout=30_000)
    desk.click(f"button.queue-item:has-text('#{case.id}')")
    button = f"button[id='{{\"staff\":\"{person.id}\",\"type\":\"assign\"}}']"
    desk.wait_for_selector(button, timeout=10_000)
    desk.click(button)
    clicked = time.monotonic()
    p.wait_for_selector(f".card[data-case-id='{case.id}']", timeout=10_000)
    shown = time.monotonic() - clicked
    assert p.get_attribute("body", "data-new-task")  # the alert (banner, sound, vibration) went off
    _shot(p, "field-new-task-390.png")
    desk.wait_for_selector("#case-field-progress .steps", timeout=10_000)

    p.click(f".card[data-case-id='{case.id}']")
    p.wait_for_selector("#map svg", timeout=10_000)
    p.wait_for_function("() => document.getElementById('routeinfo').dataset.distance > 0", timeout=10_000)
    _shot(p, "field-task-390.png")
    p.click("#accept")
    p.wait_for_selector("section.task[data-state=accepted]", timeout=10_000)
    # walking there: the position moves towards the case and is reported
    for k in (0.25, 0.5, 0.75, 1.0):
        p.context.set_geolocation({"longitude": person.lon + (case.lon - person.lon) * k,
                                   "latitude": person.lat + (case.lat - person.lat) * k + (0.00005 if k == 1 else 0)})
        p.wait_for_timeout(300)
    p.click("#arrive")
    p.wait_for_selector("section.task[data-state=arrived]", timeout=10_000)
    # a file that is not a picture: refused in the reader's words, and not kept as a photo to hand in
    p.set_input_files("input[data-kind=after]", files=[{"name": "notes.jpg", "mimeType": "image/jpeg",
                                                         "buffer": b"these are not pixels" * 40}])
    p.wait_for_selector("#alert.bad", timeout=10_000)
    assert "文件不是可读取的图片" in p.inner_text("#alert")
    p.wait_for_function("() => document.querySelectorAll('.thumbs img').length === 0", timeout=10_000)
    p.set_input_files("input[data-kind=before]", files=[_image("JPEG")])
    p.set_input_files("input[data-kind=after]", files=[_image("PNG")])
    p.wait_for_function("() => document.querySelectorAll('.thumbs img.sent').length === 2", timeout=15_000)
    p.fill("#note", "已劝离摊贩，路面已清理")
    _shot(p, "field-handle-390.png")
    p.click("#handled")
    # back in the list, waiting for verification
    p.wait_for_selector(f".card[data-case-id='{case.id}'] .state.s-handled", timeout=10_000)
    assert brain.cases.get(case.id).status == "handled"
    # on the way back: returning (and already sendable) until the person says they are available again
    p.wait_for_function("() => document.getElementById('status').innerText.includes('返回中')", timeout=10_000)
    p.wait_for_function("() => document.getElementById('duty').innerText === '恢复空闲'", timeout=10_000)
    p.click("#duty")
    p.wait_for_function("() => document.getElementById('duty').innerText === '下岗'", timeout=10_000)
    assert next(s for s in brain.staff.roster() if s.id == person.id).status == "available"

    boss = _phone(browser, live_app, _field_account(brain, supervisor.id, "supervisor"), case.lon, case.lat)
    b = boss.page
    b.click("[data-tab=verify]")
    b.wait_for_selector(f".card[data-case-id='{case.id}']", timeout=10_000)
    b.click(f".card[data-case-id='{case.id}']")
    b.wait_for_function("() => document.querySelectorAll('.thumbs img').length >= 2", timeout=10_000)
    b.set_input_files("input[data-kind=verify]", files=[_image("WEBP")])
    b.wait_for_selector(".thumbs img.sent", timeout=15_000)
    _shot(b, "field-verify-390.png")
    b.click("#pass")
    b.wait_for_selector("#view .empty", timeout=10_000)
    assert brain.cases.get(case.id).status == "verified"
    p.wait_for_selector("#view .empty", timeout=10_000)  # verified: off the person's list
    # every step on the dispatcher's card, with its time and the three photos
    desk.wait_for_function("() => document.querySelectorAll('#case-field-progress .steps li.done').length === 7",
                           timeout=15_000)
    progress = desk.inner_text("#case-field-progress")
    for step in ("派遣", "送达", "已读", "接收", "到场", "处置完成", "核查通过"):
        assert step in progress
    assert desk.locator("#case-field-progress .photos img").count() == 3
    desk.click(f"button.queue-item:has-text('#{case.id}')")  # the card again, to close with the reply
    close = "button[id='{\"to\":\"closed\",\"type\":\"move\"}']"
    desk.wait_for_selector(close, timeout=10_000)
    desk.fill("#move-note", "摊贩已劝离，感谢您的反映")
    desk.click(close)
    assert wait_until(lambda: brain.cases.get(case.id).status == "closed", timeout=10)
    types = [e["type"] for e in brain.cases.timeline(case.id)]
    assert types.index("task.read") < types.index("task.accepted") < types.index("task.arrived") < \
        types.index("task.handled") < types.index("task.verified") < types.index("case.closed")
    assert [e for e in phone.errors if "422" not in e] == []  # (the browser notes the refused upload)
    for w in (boss, anonymous):
        assert w.errors == [] and w.foreign() == []
    assert phone.foreign() == []
    print(f"dispatch click -> task shown on the phone: {shown:.2f} s")


def test_actions_taken_offline_are_sent_once_when_the_network_returns(browser, live_app):
    brain = live_app.brain
    _fresh(brain)
    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0777", actor="patrol")
    top = brain.dispatch.recommend(case.id).ranked[0]
    brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=top.staff_id)
    person = next(s for s in brain.staff.roster() if s.id == top.staff_id)
    phone = _phone(browser, live_app, _field_account(brain, person.id), case.lon, case.lat + 0.0001, size=(360, 640))
    p = phone.page
    p.wait_for_selector(f".card[data-case-id='{case.id}']", timeout=10_000)
    p.click(f".card[data-case-id='{case.id}']")
    p.wait_for_selector("#accept", timeout=10_000)
    _shot(p, "field-task-360.png")
    p.context.set_offline(True)
    p.click("#accept")
    p.click("#arrive")
    # without a network the person goes on working: the screen is as the waiting actions will leave it
    p.wait_for_selector("section.task[data-state=arrived][data-sent=false]", timeout=10_000)
    p.set_input_files("input[data-kind=after]", files=[_image("JPEG")])
    p.fill("#note", "已清理")
    p.click("#handled")
    p.wait_for_function("() => document.body.dataset.pending === '4'", timeout=10_000)
    assert "4" in p.inner_text("#status") and p.get_attribute("body", "data-online") == "false"
    p.wait_for_selector(f".card[data-case-id='{case.id}'] .badge.waiting", timeout=10_000)
    _shot(p, "field-offline-360.png")
    assert brain.cases.get(case.id).status == "dispatched"  # nothing reached the server
    p.context.set_offline(False)
    p.evaluate("() => window.dispatchEvent(new Event('online'))")
    p.wait_for_function("() => document.body.dataset.pending === '0'", timeout=20_000)
    # accept, arrive, the photo and handled, in order
    assert wait_until(lambda: brain.cases.get(case.id).status == "handled", timeout=10)
    types = [e["type"] for e in brain.cases.timeline(case.id)]
    assert types.count("task.accepted") == 1 and types.count("case.handling") == 1
    assert types.count("case.handled") == 1 and types.count("photo.stored") == 1
    handled = next(e for e in brain.cases.timeline(case.id) if e["type"] == "case.handled")
    assert len(handled["payload"]["photos"]) == 1  # the photo taken offline, by the id the server gave it
    assert _besides_offline(phone.errors) == [] and phone.foreign() == []


def test_an_action_on_a_task_given_to_someone_else_meanwhile_is_a_clear_conflict(browser, live_app):
    brain = live_app.brain
    _fresh(brain)
    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    first, second = brain.dispatch.recommend(case.id).ranked[:2]
    brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=first.staff_id)
    person = next(s for s in brain.staff.roster() if s.id == first.staff_id)
    phone = _phone(browser, live_app, _field_account(brain, person.id), case.lon, case.lat)
    p = phone.page
    p.wait_for_selector(f".card[data-case-id='{case.id}']", timeout=10_000)
    p.click(f".card[data-case-id='{case.id}']")
    p.wait_for_selector("#arrive", timeout=10_000)
    p.context.set_offline(True)
    p.click("#arrive")
    p.wait_for_function("() => document.body.dataset.pending === '1'", timeout=10_000)
    brain.dispatch.assign(case.id, actor="person:disp", version=None, staff_id=second.staff_id, reason="更近")
    p.context.set_offline(False)
    p.evaluate("() => window.dispatchEvent(new Event('online'))")
    p.wait_for_function("() => document.body.dataset.pending === '0'", timeout=20_000)
    p.wait_for_selector("#alert.bad", timeout=10_000)
    assert "未能执行" in p.inner_text("#alert")
    v = brain.cases.get(case.id)
    assert v.status == "dispatched" and v.assigned_staff_id == second.staff_id  # never a silent override
    assert [e for e in _besides_offline(phone.errors) if "409" not in e] == []


@pytest.mark.parametrize("size", [(390, 844), (360, 640)])
def test_the_field_app_reads_in_english_too_and_fits_a_small_phone(browser, live_app, size):
    brain = live_app.brain
    person = brain.staff.roster()[-1]
    phone = _phone(browser, live_app, _field_account(brain, person.id), person.lon, person.lat, size=size)
    p = phone.page
    p.wait_for_selector("#view .empty, #view .cards", timeout=10_000)
    p.click("#lang")
    p.wait_for_function("() => document.documentElement.lang === 'en'", timeout=10_000)
    assert "My tasks" in p.inner_text("#tabs")
    width = p.evaluate("() => document.documentElement.scrollWidth")
    assert width <= size[0]  # nothing runs off the side
    _shot(p, f"field-en-{size[0]}.png")
    assert phone.errors == [] and phone.foreign() == []
