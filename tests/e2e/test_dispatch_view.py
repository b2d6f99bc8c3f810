"""The dispatcher's screen, driven as a dispatcher would: new case by pole, duplicate warning, one-click assign."""

import pytest

from brain.staff.service import Fix
from brain.storage.db import utcnow
from tests.e2e.conftest import choose, open_case, sign_in

pytestmark = pytest.mark.e2e


def test_new_case_by_pole_warns_of_duplicates_then_assigns_in_one_click(anonymous, live_app):
    brain = live_app.brain
    now = utcnow()  # everyone reports in, so recommendations are fresh
    brain.staff.record_fixes([Fix(s.id, s.lon, s.lat, now) for s in brain.staff.roster() if s.lon is not None])
    first = brain.cases.open_case(channel="hotline_12345", category="E0501", pole="0777", actor="hotline")
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    page.wait_for_selector(".queue-item", timeout=30_000)
    page.click(".new-case summary")
    page.fill(f"#{'new-pole'}", "０７－７７")  # full-width, with a dash: as a resident might say it
    choose(page, "new-category", "无照经营")
    choose(page, "new-channel", "12345")
    page.fill("#new-description", "门口有流动摊贩")
    page.click("#new-submit")
    try:
        page.wait_for_selector("#new-result .warn", timeout=10_000)
    except Exception:
        page.screenshot(path="/tmp/shots/e2e-fail.png")
        raise AssertionError(f"no duplicate warning; shown: {page.inner_text('#new-result')!r}; "
                             f"errors: {anonymous.errors}") from None
    assert f"#{first.id}" in page.inner_text("#new-result")  # offered as a likely duplicate
    page.click("#new-result button")
    page.wait_for_selector("#new-result .ok", timeout=10_000)
    created = int(page.inner_text("#new-result").split("#")[-1])
    assert created != first.id
    page.wait_for_selector(".card h3", timeout=10_000)
    assert f"#{created}" in page.inner_text(".card h3")
    assert "按道路步行距离" in page.inner_text(".card")
    page.wait_for_function("""() => window.districtMaps['district-map'].map.querySourceFeatures('links').length
        >= 1""", timeout=10_000)
    links = page.evaluate("() => window.districtMaps['district-map'].map.getSource('links').serialize().data"
                          ".features.length")
    assert links >= 3  # lines to the recommended staff
    page.click("table.rec button >> nth=0")
    page.wait_for_selector("#dispatch-message .ok", timeout=10_000)
    case = brain.cases.get(created)
    assert case.status == "dispatched" and case.assigned_staff_id
    assert anonymous.errors == [] and anonymous.foreign() == []


def test_the_wall_account_cannot_reach_the_dispatch_screen(anonymous, live_app):
    sign_in(anonymous.page, live_app, "wall")
    anonymous.page.goto(live_app.url + "/dispatch")
    anonymous.page.wait_for_selector(".forbidden", timeout=20_000)
    assert anonymous.page.query_selector(".queue") is None


def test_a_duplicate_is_merged_into_its_parent_from_the_case_card(anonymous, live_app):
    brain = live_app.brain
    parent = brain.cases.open_case(channel="hotline_12345", category="E0102", pole="1500", actor="hotline")
    dup = brain.cases.open_case(channel="wechat", category="E0102", pole="1500", description="同一处垃圾",
                                actor="wechat")
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    choose(page, "filter-category", "积存垃圾")
    page.wait_for_selector(f"button.queue-item:has-text('#{dup.id}')", timeout=30_000)
    page.click(f"button.queue-item:has-text('#{dup.id}')")
    page.wait_for_selector(f".card h3:has-text('#{dup.id}')", timeout=10_000)
    # at 1920×1080 the card sits beside the queue, its moves in the order of the workflow
    queue, card = page.locator("#dispatch-queue").bounding_box(), page.locator("#case-card").bounding_box()
    assert card["x"] >= queue["x"] + queue["width"] and card["y"] < queue["y"] + queue["height"]
    assert page.locator("#case-card .moves button").all_inner_texts() == ["立案", "作废"]
    page.click(f".duplicates button:has-text('#{parent.id}')")
    page.wait_for_selector("#dispatch-message .ok", timeout=10_000)
    merged = brain.cases.get(dup.id)
    assert merged.status == "merged" and merged.parent_id == parent.id
    assert anonymous.errors == []


def test_the_audit_log_page_is_for_admins_and_filters(anonymous, live_app):
    sign_in(anonymous.page, live_app, "admin")
    anonymous.page.goto(live_app.url + "/audit")
    anonymous.page.wait_for_selector("#audit-table tr", timeout=20_000)
    anonymous.page.fill("#audit-action", "auth.*")
    anonymous.page.keyboard.press("Enter")
    anonymous.page.wait_for_function(
        "() => [...document.querySelectorAll('#audit-table tr')].every(r => r.innerText.includes('auth.'))",
        timeout=10_000)
    assert "auth.login" in anonymous.page.inner_text("#audit-table")
    assert anonymous.errors == []


def test_a_click_on_a_case_marker_opens_its_card_and_the_map_goes_to_it(anonymous, live_app):
    brain = live_app.brain
    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="1500", actor="patrol")
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    page.wait_for_function("(id) => window.districtMaps && window.districtMaps['district-map'].still() &&"
                           " window.districtMaps['district-map'].features('cases').some((f) => f.id === id)",
                           arg=str(case.id), timeout=30_000)
    page.evaluate("""(id) => { const m = window.districtMaps['district-map'].map; const f = window.districtMaps[
        'district-map'].features('cases').find((x) => x.id === id); m.jumpTo({center: [f.lon, f.lat], zoom: 18}); }""",
                  str(case.id))
    page.wait_for_function("() => window.districtMaps['district-map'].still()", timeout=10_000)
    box = page.locator("#district-map canvas.maplibregl-canvas").bounding_box()
    x, y = page.evaluate("""(id) => { const d = window.districtMaps['district-map'];
        const f = d.features('cases').find((x) => x.id === id); const at = d.map.project([f.lon, f.lat]);
        return [at.x, at.y]; }""", str(case.id))
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("(id) => document.querySelector('.card h3') &&"
                           " document.querySelector('.card h3').innerText.includes('#' + id)", arg=case.id,
                           timeout=10_000)
    assert anonymous.errors == [] and anonymous.foreign() == []


def test_when_nobody_is_recommended_the_dispatcher_picks_from_everyone_who_takes_the_case_with_a_reason(
        anonymous, live_app):
    from brain.staff.service import Fix

    brain = live_app.brain
    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    people = brain.dispatch.everyone_for(case.id, limit=1000)
    chosen = next(s for s, _d in people if s.status == "available")
    others = [s for s, _d in people if s.id != chosen.id and s.status == "available"]
    for s in others:
        brain.staff.set_status(s.id, "off_duty", actor="e2e")
    # the one left available is 6 km east of the case: beyond the recommendation's reach
    brain.staff.record_fixes([Fix(chosen.id, case.lon + 0.063, case.lat, utcnow())])
    try:
        assert not brain.dispatch.recommend(case.id).ranked
        page = anonymous.page
        sign_in(page, live_app, "dispatcher")
        page.goto(live_app.url + "/dispatch")
        page.wait_for_selector(f"button.queue-item:has-text('#{case.id}')", timeout=30_000)
        page.click(f"button.queue-item:has-text('#{case.id}')")
        page.wait_for_selector("table.picker", timeout=10_000)
        text = page.inner_text("table.picker")
        assert chosen.name in text and "离岗" in text  # everyone, with their state
        page.click("table.picker button")
        page.wait_for_selector("#dispatch-message .warn", timeout=10_000)  # a reason first
        assert brain.cases.get(case.id).status == "reported"
        page.fill("#move-note", "附近无人，调派东片人员")
        page.click("table.picker button")
        page.wait_for_selector("#dispatch-message .ok", timeout=10_000)
        done = brain.cases.get(case.id)
        assert done.status == "dispatched" and done.assigned_staff_id == chosen.id
        assert "附近无人" in str(brain.cases.timeline(case.id, personal=True))
        assert anonymous.errors == [] and anonymous.foreign() == []
    finally:
        for s in others:
            brain.staff.set_status(s.id, "available", actor="e2e")
        brain.staff.set_status(chosen.id, "available", actor="e2e")
        brain.staff.record_fixes([Fix(chosen.id, chosen.lon, chosen.lat, utcnow())])


def test_the_queue_pages_through_every_open_case_and_one_box_finds_any_case(anonymous, live_app):
    brain = live_app.brain
    for i in range(65):  # more than a page of open cases
        brain.cases.open_case(channel="street_patrol", category="E0504", pole=f"{1600 + i:04d}", actor="patrol",
                              description=f"非机动车乱停放 第{i}处")
    closed = brain.cases.open_case(channel="hotline_12345", category="E0201", pole="1700", actor="hotline",
                                   description="电线杆上小广告很多")
    brain.cases.transition(closed.id, to="cancelled", note="重复", actor="person:disp")
    total = len(brain.cases.open_cases())
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    page.wait_for_selector("#dispatch-queue-count:has-text('共')", timeout=30_000)
    assert page.inner_text("#dispatch-queue-count") == f"第 1–60 件，共 {total} 件"
    assert page.locator("button.queue-item").count() == 60
    page.click("#dispatch-queue-next")
    page.wait_for_selector("#dispatch-queue-count:has-text('第 61–')", timeout=10_000)
    assert page.locator("button.queue-item").count() == min(60, total - 60)
    # one box: words of a description find a case, open or not
    page.fill("#dispatch-queue-search", "小广告很多")
    page.press("#dispatch-queue-search", "Enter")
    page.wait_for_selector(f"button.queue-item:has-text('#{closed.id}')", timeout=10_000)
    assert page.locator("button.queue-item").count() == 1 and "找到 1 件" in page.inner_text("#dispatch-queue-count")
    page.fill("#dispatch-queue-search", "")
    page.press("#dispatch-queue-search", "Enter")
    page.wait_for_selector("#dispatch-queue-count:has-text('第 1–60')", timeout=10_000)
    assert anonymous.errors == []


def test_a_case_prints_on_one_a4_page_with_its_card_task_residents_photos_and_timeline(anonymous, live_app):
    from tests.brain.test_photos import photo_bytes

    brain = live_app.brain
    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", phone="13800138000", address="10.9.9.9",
                               description="路灯不亮", photos=[photo_bytes()])
    brain.cases.transition(r.case_id, to="registered", actor="person:disp", note="受理")
    top = brain.dispatch.recommend(r.case_id).ranked[0]
    brain.dispatch.assign(r.case_id, actor="person:disp", version=brain.cases.get(r.case_id).version,
                          staff_id=top.staff_id)
    page = anonymous.page
    sign_in(page, live_app, "operator")  # a role that may not read personal data
    page.goto(live_app.url + "/dispatch")
    open_case(page, r.case_id)
    link = page.locator("#case-card a.print-case")
    link.wait_for(timeout=10_000)
    assert link.get_attribute("href") == f"/report/case/{r.case_id}"
    page.goto(live_app.url + link.get_attribute("href"))
    text = page.inner_text("main")
    assert f"#{r.case_id} 路灯损坏或不亮" in text and "路灯不亮" in text and "已派遣" in text
    assert "派遣" in text and "扫码上报" in text and "居民上传照片" in text
    assert "13800138000" not in text and "138****8000" in text  # masked for this role
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    pdf = page.pdf(format="A4", print_background=False)
    assert _pages(pdf) == 1  # one A4 page
    assert anonymous.errors == [] and anonymous.foreign() == []


def _pages(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    return len(pdfium.PdfDocument(pdf))


def test_on_a_phone_the_dispatch_desk_says_plainly_to_use_a_wider_screen(browser, live_app):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = ctx.new_page()
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    notice = page.locator(".narrow-notice")
    notice.wait_for(timeout=30_000)
    assert notice.is_visible() and "1024" in notice.inner_text() and "/m/" in notice.inner_text()
    box = notice.bounding_box()
    assert box["y"] < 844 and box["width"] <= 390  # on the first screen, within the phone's width
    ctx.close()
    wide = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = wide.new_page()
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    page.wait_for_selector(".dispatch-panel", timeout=30_000)
    assert not page.locator(".narrow-notice").is_visible()
    wide.close()


def test_a_chosen_cases_history_is_drawn_on_the_map_and_the_legend_says_what_it_is(anonymous, live_app):
    import uuid
    from datetime import timedelta

    brain = live_app.brain
    now = utcnow()
    brain.staff.record_fixes([Fix(s.id, s.lon, s.lat, now) for s in brain.staff.roster() if s.lon is not None])
    case = brain.cases.open_case(channel="hotline_12345", category="E0501", pole="0430", actor="hotline")
    top = brain.dispatch.recommend(case.id).ranked[0]
    brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=top.staff_id)
    (task, _v), = [(t, v) for t, v in brain.field.tasks_for(top.staff_id) if v.id == case.id]
    person = next(s for s in brain.staff.roster() if s.id == top.staff_id)
    steps = [(person.lon + (case.lon - person.lon) * k / 4, person.lat + (case.lat - person.lat) * k / 4)
             for k in range(1, 4)]
    brain.staff.record_fixes([Fix(top.staff_id, x, y, now + timedelta(milliseconds=200 * (i + 1)))
                              for i, (x, y) in enumerate(steps)])
    import time

    time.sleep(1)
    brain.flows.arrive(uuid.uuid4().hex, task.id, staff_id=top.staff_id, lon=case.lon, lat=case.lat, at=utcnow(),
                       actor=f"person:{top.staff_id}")
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    open_case(page, case.id)
    kinds = page.wait_for_function(
        """async () => { const m = window.districtMaps['district-map'].map; const s = m.getSource('trail');
           if (!s) return null; const d = await s.getData();
           const k = d.features.map(f => f.properties.kind); return k.includes('arrived') ? k : null; }""",
        timeout=10_000).json_value()
    assert sorted(set(kinds)) == ["arrived", "path", "reported"]
    # the legend starts folded to its button beside the queue and card; a click unfolds it
    assert page.inner_text("#map-legend-fold") == "图例 ▸" and not page.is_visible("#map-legend .legend-section")
    page.click("#map-legend-fold")
    page.wait_for_selector("#map-legend .legend-section", state="visible", timeout=10_000)
    assert page.inner_text("#map-legend-fold") == "收起"
    legend = page.inner_text("#map-legend")
    assert "处置人员走过的路线" in legend and "到场位置" in legend and "推荐派遣连线" in legend
    page.click("#map-legend-fold")
    page.wait_for_selector("#map-legend .legend-section", state="hidden", timeout=10_000)
    assert anonymous.errors == []
