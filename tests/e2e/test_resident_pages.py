"""The resident's whole path on a phone (390×844, an emulated position, real image files): scan a pole's
code, report, get a tracking code, watch the case move as the desk and the field act, read the reply and the
after photo, answer the return visit's question and see the satisfaction figure move by one. A second
resident at the same pole is offered the first report to follow."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from brain.kpi.service import Window
from brain.storage.db import utcnow
from tests.brain.test_photos import photo_bytes
from tests.e2e.conftest import Watched

SHOTS = Path("/tmp/shots")


def _resident(browser, live_app, lon: float, lat: float, locale: str = "zh-CN") -> Watched:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              device_scale_factor=2, geolocation={"longitude": lon, "latitude": lat},
                              permissions=["geolocation"], locale=locale)
    return Watched(ctx.new_page(), live_app.url)


def _ready(page) -> None:
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=15_000)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _satisfied(brain) -> tuple[int, int]:
    now = utcnow()
    w = Window(now - timedelta(days=1), now + timedelta(hours=1), "e2e", "Asia/Shanghai")
    f = brain.kpi.figures(brain.kpi.frame(w))["satisfaction_rate"]
    return int(f.numerator or 0), int(f.denominator or 0)


def _work_the_case(brain, case_id: int) -> None:
    """The desk registers and dispatches; the field person accepts, arrives, photographs and hands in; a
    supervisor verifies; the desk closes with the reply."""
    op = lambda: uuid.uuid4().hex  # noqa: E731
    brain.cases.transition(case_id, to="registered", actor="person:e2e-dispatcher", note="受理")
    top = brain.dispatch.recommend(case_id).ranked[0]
    brain.dispatch.assign(case_id, actor="person:e2e-dispatcher", version=brain.cases.get(case_id).version,
                          staff_id=top.staff_id)
    (task, _v), = [(t, v) for t, v in brain.field.tasks_for(top.staff_id) if v.id == case_id]
    case = brain.cases.get(case_id)
    brain.field.accept(op(), task.id, staff_id=top.staff_id, actor="person:field")
    brain.flows.arrive(op(), task.id, staff_id=top.staff_id, lon=case.lon, lat=case.lat, at=utcnow(),
                       actor="person:field")
    after = brain.field.add_photo(photo_bytes(size=(700, 500)), case_id=case_id, kind="after", staff_id=top.staff_id,
                                  actor="person:field", taken_at=utcnow(), lon=case.lon, lat=case.lat,
                                  may_verify=False)["id"]
    brain.flows.handled(op(), task.id, staff_id=top.staff_id, note="更换灯泡", photos=[after], actor="person:field")
    brain.cases.transition(case_id, to="verified", actor="person:supervisor")
    brain.cases.transition(case_id, to="closed", actor="person:e2e-dispatcher",
                           note="您反映的路灯已修复，感谢您的支持")


def test_a_resident_reports_by_pole_follows_the_case_to_the_reply_and_answers(browser, live_app):
    brain = live_app.brain
    pole = brain.gazetteer.lookup("0412")
    phone = _resident(browser, live_app, pole.lon + 0.0002, pole.lat)
    page = phone.page

    # /r: the phone's position offers the nearest poles
    page.goto(live_app.url + "/r/")
    _ready(page)
    page.click("#locate")
    page.wait_for_selector("#near-list li", timeout=10_000)
    assert "0412" in page.inner_text("#near-list")

    # the QR code on pole 0412 opens /r/0412: the pole, its road, the small map
    page.goto(live_app.url + "/r/0412")
    _ready(page)
    page.wait_for_function("() => document.body.dataset.view === 'pole'", timeout=10_000)
    assert page.inner_text("#pole-no") == "0412" and page.inner_text("#pole-road") == (pole.road or "—")
    assert page.locator("#pole-map svg polyline").count() > 0
    _shot(page, "resident-pole.png")
    page.click("[data-topic=lamp]")
    page.fill("#words", "路灯晚上不亮")
    page.set_input_files("#photo-input", files=[{"name": "lamp.jpg", "mimeType": "image/jpeg",
                                                "buffer": photo_bytes(size=(800, 600))}])
    page.wait_for_selector("#photo-list img")
    page.fill("#phone", "13800138000")
    _shot(page, "resident-report.png")
    page.click("#send")
    page.wait_for_function("() => document.body.dataset.view === 'done'", timeout=15_000)
    code = page.inner_text("#done-code").strip()
    assert len(code) == 14
    _shot(page, "resident-done.png")
    case_id = brain.residents.track(code)["case_id"]
    case = brain.cases.get(case_id)
    assert case.channel == "web" and case.pole == "0412"

    # a neighbour at the same pole is offered this report to follow
    other = _resident(browser, live_app, pole.lon, pole.lat)
    other.page.goto(live_app.url + "/r/0412")
    _ready(other.page)
    other.page.wait_for_function("() => document.body.dataset.view === 'pole'", timeout=10_000)
    other.page.click("[data-topic=lamp]")
    other.page.wait_for_selector("#dups:not([hidden]) button.follow", timeout=10_000)
    _shot(other.page, "resident-duplicate.png")
    other.page.click("#dups button.follow")
    other.page.wait_for_function("() => document.body.dataset.view === 'done'", timeout=15_000)
    assert f"#{case_id}" in other.page.inner_text("#done-followed")
    assert brain.cases.get(case_id).status == "reported"  # no second case

    # the tracking page: received, then every step as the desk and the field act
    page.click("#done-track")
    page.wait_for_function("() => document.body.dataset.view === 'track' && document.querySelectorAll("
                           "'#steps li').length === 1", timeout=10_000)
    assert page.is_hidden("#question")
    _work_the_case(brain, case_id)
    before = _satisfied(brain)
    page.click("#refresh")
    page.wait_for_function("() => document.body.dataset.status === 'closed'", timeout=10_000)
    steps = page.locator("#steps li").evaluate_all("els => els.map(e => e.dataset.step)")
    assert steps == ["received", "registered", "sent", "on_site", "handled", "verified", "closed"]
    assert "已派往" in page.inner_text("#steps li[data-step=sent]")
    assert page.inner_text("#reply-text") == "您反映的路灯已修复，感谢您的支持"
    page.wait_for_function("() => [...document.querySelectorAll('#after-photos img')].every(i => i.naturalWidth > 0)"
                           " && document.querySelectorAll('#after-photos img').length === 1", timeout=10_000)
    body = page.inner_text("body")
    assert "13800138000" not in body and "路灯晚上不亮" not in body  # nothing personal, no description
    page.click("[data-answer=satisfied]")
    page.wait_for_function("() => !document.getElementById('answered').hidden", timeout=10_000)
    _shot(page, "resident-track.png")
    assert _satisfied(brain) == (before[0] + 1, before[1] + 1)

    # English, on the same page
    page.click("#lang")
    page.wait_for_function("() => document.getElementById('steps').innerText.includes('Sent to')", timeout=10_000)
    assert "Satisfied" in page.inner_text("#question") and page.evaluate("document.documentElement.lang") == "en"
    _shot(page, "resident-track-en.png")

    for w in (phone, other):
        assert w.foreign() == [], w.foreign()
        assert w.errors == [], w.errors
    phone.page.context.close()
    other.page.context.close()


def test_a_wrong_code_and_an_unknown_pole_are_said_in_the_residents_words(browser, live_app):
    w = _resident(browser, live_app, 121.45, 31.2)
    page = w.page
    page.goto(live_app.url + "/r/t/AAAA-BBBB-CCCC")
    _ready(page)
    page.wait_for_selector("#notice:not([hidden])")
    assert page.inner_text("#notice") == "查询码不正确"
    page.goto(live_app.url + "/r/0412x")
    _ready(page)
    page.wait_for_selector("#find-result .notice")
    assert "0412x" in page.inner_text("#find-result") and "0412" in page.inner_text("#find-result .list")
    page.click("#find-result .list button >> nth=0")
    page.wait_for_function("() => document.body.dataset.view === 'pole'", timeout=10_000)
    assert w.foreign() == []
    page.context.close()
