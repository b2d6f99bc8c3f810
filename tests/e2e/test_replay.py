"""/replay in Chromium: seek, step, play, jump in from a case's timeline, follow a person, export, and bad
windows refused with words a person reads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from brain.staff.service import Fix
from brain.storage.db import utcnow
from tests.e2e.conftest import choose, open_case, sign_in

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEATURES = "([layer]) => window.districtMaps['district-map'].features(layer)"


@pytest.fixture(scope="module")
def story(live_app):
    """A case opened 50 minutes ago, registered 40 minutes ago, sent to a person just now; the person's walk
    over the last half hour, fix by fix."""
    brain = live_app.brain
    now = utcnow()
    person = next(s for s in brain.staff.roster() if s.lon is not None and s.status == "available"
                  and any("E0101".startswith(d) for d in s.duties))
    case = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0412", actor="e2e",
                                 at=now - timedelta(minutes=50))
    brain.cases.transition(case.id, to="registered", actor="e2e", at=now - timedelta(minutes=40))
    walk = [Fix(person.id, person.lon + 0.00002 * i, person.lat + 0.00001 * i, now - timedelta(seconds=30 * (60 - i)))
            for i in range(60)]
    brain.staff.record_fixes(walk)
    brain.dispatch.assign(case.id, actor="e2e", version=None, staff_id=person.id)
    return {"case": case, "person": person, "start": now - timedelta(minutes=60), "end": utcnow()}


def open_replay(page, live_app, query: dict) -> None:
    page.goto(live_app.url + "/replay?" + urlencode(query))
    page.wait_for_selector("#district-map .maplibregl-canvas", timeout=30_000)
    page.wait_for_function("() => window.districtMaps && window.districtMaps['district-map'].still()",
                           timeout=30_000)


def playhead(page) -> datetime:
    text = page.inner_text("#replay-at")
    stamp = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text).group(0)
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def wait_stage(page, case_id: int, stage: str | None) -> None:
    """Wait until the map draws the case at `stage` (the first line of its hover text), or (None) not at all."""
    page.wait_for_function("([id, stage]) => { const f = window.districtMaps['district-map'].features('cases')"
                           ".find((x) => x.id === String(id));"
                           " return stage === null ? !f : !!f && f.tip.split('\\n')[0].endsWith(stage); }",
                           arg=[case_id, stage], timeout=10_000)


def test_seeking_to_an_event_and_stepping_shows_the_state_of_that_moment(anonymous, live_app, story):
    page = anonymous.page
    sign_in(page, live_app, "leader")
    window = {"from": story["start"].isoformat(), "to": story["end"].isoformat()}
    open_replay(page, live_app, window)
    cid = story["case"].id
    wait_stage(page, cid, "已派遣")
    choose(page, "replay-kinds", "案件")  # the list: case events only
    page.wait_for_function("() => (document.querySelector('.replay-event') || {innerText: ''}).innerText"
                           ".includes('上报')", timeout=10_000)  # the list filtered: the case's opening first
    first = page.locator(".replay-event").first
    assert f"#{cid}" in first.inner_text()
    first.click()  # seek to the case's opening: it is there, just reported
    wait_stage(page, cid, "上报")
    opened = story["start"] + timedelta(minutes=10)
    assert abs((playhead(page) - opened).total_seconds()) < 2
    page.click("#replay-next")  # the next event: registered
    wait_stage(page, cid, "立案")
    page.click("#replay-prev")
    wait_stage(page, cid, "上报")
    page.click("#replay-prev")  # no case event before its opening: the playhead stays
    page.wait_for_timeout(1000)
    wait_stage(page, cid, "上报")
    page.fill("#replay-case", "")
    page.focus("#replay-slider [role=slider]")
    page.keyboard.press("Home")  # the slider to the window's start: the case not yet opened
    wait_stage(page, cid, None)
    assert anonymous.errors == [] and anonymous.foreign() == []


def test_playing_moves_the_playhead_by_the_time_elapsed_times_the_speed(anonymous, live_app, story):
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    open_replay(page, live_app, {"from": story["start"].isoformat(), "to": story["end"].isoformat(),
                                 "at": story["start"].isoformat()})
    page.locator(".replay-event").first.click()
    page.wait_for_timeout(500)
    before = playhead(page)
    choose(page, "replay-speed", "600×")
    page.click("#replay-play")
    page.wait_for_timeout(3500)
    page.click("#replay-play")  # pause
    page.wait_for_timeout(800)
    moved = (playhead(page) - before).total_seconds()
    assert 600 <= moved <= 6 * 600, moved  # about 600 s of district time per second of the wall's
    held = playhead(page)
    page.wait_for_timeout(2000)
    assert playhead(page) == held  # paused: it stays
    assert anonymous.errors == []


def test_a_case_timeline_jumps_into_the_replay_with_the_case_followed(anonymous, live_app, story):
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    page.goto(live_app.url + "/dispatch")
    open_case(page, story["case"].id)
    link = page.locator(".card .timeline a.replay-jump").first
    link.wait_for(timeout=10_000)
    href = link.get_attribute("href")
    assert href.startswith("/replay?") and f"case={story['case'].id}" in href
    page.goto(live_app.url + href)
    page.wait_for_selector("#district-map .maplibregl-canvas", timeout=30_000)
    assert page.input_value("#replay-follow-case") == str(story["case"].id)
    c = story["case"]
    page.wait_for_function("([lon, lat]) => { const m = window.districtMaps['district-map'].map.getCenter();"
                           " return Math.abs(m.lng - lon) < 1e-4 && Math.abs(m.lat - lat) < 1e-4; }",
                           arg=[c.lon, c.lat], timeout=15_000)
    assert anonymous.errors == []


def test_following_a_person_keeps_them_in_view_and_draws_their_path(anonymous, live_app, story):
    page = anonymous.page
    sign_in(page, live_app, "leader")
    open_replay(page, live_app, {"from": story["start"].isoformat(), "to": story["end"].isoformat()})
    p = story["person"]
    choose(page, "replay-follow-staff", p.name)
    last = (p.lon + 0.00002 * 59, p.lat + 0.00001 * 59)
    page.wait_for_function("([lon, lat]) => { const m = window.districtMaps['district-map'].map.getCenter();"
                           " return Math.abs(m.lng - lon) < 1e-4 && Math.abs(m.lat - lat) < 1e-4; }",
                           arg=list(last), timeout=15_000)
    page.wait_for_function("([id]) => window.districtMaps['district-map'].map.querySourceFeatures('trail')"
                           ".some((f) => f.geometry.type === 'LineString' && f.properties.staff_id === id)",
                           arg=[p.id], timeout=15_000)
    assert anonymous.errors == []


def test_the_window_exports_as_csv_and_the_map_as_png(anonymous, live_app, story):
    page = anonymous.page
    sign_in(page, live_app, "leader")
    open_replay(page, live_app, {"from": story["start"].isoformat(), "to": story["end"].isoformat()})
    href = page.get_attribute("#replay-csv", "href")
    r = page.request.get(live_app.url + href)
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.body().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("时间") and f"#{story['case'].id}" in text
    with page.expect_download(timeout=15_000) as got:
        page.click("#replay-png")
    d = got.value
    assert d.suggested_filename == "replay.png"
    with open(d.path(), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    bad = page.request.get(live_app.url + "/report/replay.csv?" + urlencode(
        {"from": (story["end"] - timedelta(days=8)).isoformat(), "to": story["end"].isoformat()}))
    assert bad.status == 422 and "7 天" in bad.text()
    assert anonymous.errors == []


@pytest.mark.parametrize(("days_back", "days_to", "words"), [(8, 0, "最长 7 天"), (1, 1, "不能在将来")])
def test_a_bad_window_is_refused_in_words_and_the_replay_stays_where_it_was(anonymous, live_app, story, days_back,
                                                                             days_to, words):
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    open_replay(page, live_app, {"from": story["start"].isoformat(), "to": story["end"].isoformat()})
    held = page.inner_text("#replay-at")
    now = datetime.now(SHANGHAI)
    page.fill("#replay-from", (now - timedelta(days=days_back)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#replay-to", (now + timedelta(days=days_to)).strftime("%Y-%m-%dT%H:%M"))
    page.click("#replay-apply")
    page.wait_for_function("([w]) => document.getElementById('replay-error').innerText.includes(w)", arg=[words],
                           timeout=10_000)
    assert page.inner_text("#replay-at") == held
    assert anonymous.errors == []


def test_a_malformed_time_in_the_address_is_refused_in_words_and_the_last_two_hours_are_shown(anonymous, live_app):
    page = anonymous.page
    sign_in(page, live_app, "dispatcher")
    open_replay(page, live_app, {"at": "yesterday-ish"})
    assert "时间格式不对" in page.inner_text("#replay-error") and "yesterday-ish" in page.inner_text("#replay-error")
    shown = playhead(page)
    assert abs((shown - datetime.now(SHANGHAI)).total_seconds()) < 120  # the window ends now
    assert anonymous.errors == []
