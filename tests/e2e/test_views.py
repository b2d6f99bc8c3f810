"""Each view loads in Chromium with no console error, shows live changes, and reaches no other host."""

import json
import time

import pytest

from brain.staff.service import Fix
from brain.storage.db import utcnow
from layers.figure import TRACE_INDEX
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

# the points a live layer shows (without the one with no place that an empty layer holds: layers.figure)
TRACE_JS = """([i]) => { const gd = document.querySelector('#district-map .js-plotly-plot');
    if (!gd || !gd.data) { return null; }
    const t = gd.data[i], keep = t.lon.map((v) => typeof v === 'number');
    const only = (a) => a.filter((_, k) => keep[k]);
    return {lon: only(t.lon), lat: only(t.lat), custom: only(t.customdata)}; }"""


def open_view(page, live_app, path):
    page.page.goto(live_app.url + path)
    if path.startswith("/kpi"):  # the leaders' screen: its own committee map and the ranking
        page.page.wait_for_selector("#kpi-hotspots .maplibregl-canvas", timeout=30_000)
        page.page.wait_for_selector(".kpi-table td", timeout=30_000)
        return
    page.page.wait_for_selector("#district-map .js-plotly-plot .maplibregl-canvas", timeout=30_000)
    page.page.wait_for_function("() => document.querySelector('#counter-open_cases') !== null")


def trace(page, name):
    return page.page.evaluate(TRACE_JS, [TRACE_INDEX[name]])


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    return predicate()


VIEWS = [("/wall", "联合指挥中心", "wall"), ("/dispatch", "案件调度", "dispatcher"), ("/kpi", "考核指标", "leader")]


@pytest.mark.parametrize(("path", "title", "role"), VIEWS)
def test_view_loads_without_console_errors_or_foreign_requests(anonymous, live_app, path, title, role):
    page = anonymous
    sign_in(page.page, live_app, role)
    open_view(page, live_app, path)
    assert title in page.page.inner_text("#title")
    page.page.wait_for_timeout(2500)  # one live tick
    assert page.errors == []
    assert page.foreign() == []
    assert any("/_dash-" in u for u in page.requests)


def test_english_is_one_link_away(page, live_app):
    open_view(page, live_app, "/wall?lang=en")
    assert "Joint command centre" in page.page.inner_text("#title")
    assert "Open cases" in page.page.inner_text("#counters")


def test_a_case_opened_through_the_domain_appears_on_the_map(page, live_app):
    open_view(page, live_app, "/wall")
    before = len(trace(page, "cases")["lon"])
    case = live_app.brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412",
                                          description="<img src=x onerror=alert(1)>", actor="e2e")
    data = wait_for(lambda: (t := trace(page, "cases")) and len(t["lon"]) > before and t)
    assert data and len(data["lon"]) == before + 1
    ids = [row[0] for row in data["custom"]]
    assert case.id in ids
    i = ids.index(case.id)
    assert (data["lon"][i], data["lat"][i]) == pytest.approx((case.lon, case.lat))
    assert int(page.page.inner_text("#counter-open_cases")) == before + 1
    assert page.errors == []


def test_a_staff_position_fix_moves_the_marker(page, live_app):
    open_view(page, live_app, "/wall")
    person = live_app.brain.staff.roster()[0]
    pole = live_app.brain.gazetteer.lookup("1000")
    live_app.brain.staff.record_fixes([Fix(person.id, pole.lon, pole.lat, utcnow())])

    def moved():
        t = trace(page, "staff")
        ids = [row[4] for row in t["custom"]]
        return person.id in ids and (t["lon"][ids.index(person.id)], t["lat"][ids.index(person.id)]) == \
            pytest.approx((pole.lon, pole.lat))

    assert wait_for(moved)


SCRIPT = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.mark.parametrize("path", ["/wall", "/dispatch"])
def test_script_bearing_resident_text_shows_as_text_and_never_runs(page, live_app, path):
    case = live_app.brain.cases.open_case(channel="wechat", category="E0101", pole="0001", description=SCRIPT,
                                          actor="e2e")
    open_view(page, live_app, path)
    page.page.wait_for_function("() => document.querySelector('#feed') && "
                                "document.querySelector('#feed').innerText.includes('<img')", timeout=10_000)
    feed = page.page.inner_text("#feed")
    assert "<img src=x" in feed  # the text, visibly
    assert page.page.evaluate("() => window.__pwned") is None
    assert page.page.evaluate("() => document.querySelectorAll('#feed img, #feed script').length") == 0
    data = trace(page, "cases")
    assert case.id in [row[0] for row in data["custom"]]
    assert page.errors == []


def test_strangers_are_sent_to_the_login_form_and_can_sign_out(anonymous, live_app):
    anonymous.page.goto(live_app.url + "/wall")
    assert "/login" in anonymous.page.url
    sign_in(anonymous.page, live_app, "wall")
    open_view(anonymous, live_app, "/wall")
    nav = anonymous.page.inner_text("#nav")
    assert "调度" not in nav and "指标" not in nav  # the wall account sees the wall only
    anonymous.page.click(".logout-form button")
    anonymous.page.wait_for_url("**/login")
    anonymous.page.goto(live_app.url + "/wall")
    assert "/login" in anonymous.page.url
    assert anonymous.errors == []


def test_a_critical_alarm_takes_over_the_wall_until_it_is_acknowledged(anonymous, live_app):
    brain = live_app.brain
    devices = brain.district.devices
    dev = devices[devices["type"] == "elevator"].iloc[0]
    sign_in(anonymous.page, live_app, "wall")
    open_view(anonymous, live_app, "/wall")
    alarm, _ = brain.alarms.raise_alarm(device_id=str(dev["id"]), type="trapped")
    banner = anonymous.page.locator("#takeover-banner.takeover")
    banner.wait_for(timeout=10_000)
    assert "电梯困人" in banner.inner_text() and str(dev["id"]) in banner.inner_text()
    center = anonymous.page.evaluate(
        "() => document.querySelector('#district-map .js-plotly-plot').layout.map.center")
    assert center["lon"] == pytest.approx(alarm.lon) and center["lat"] == pytest.approx(alarm.lat)
    brain.alarms.acknowledge(alarm.id, actor="operator")
    anonymous.page.wait_for_selector("#takeover-banner.takeover", state="detached", timeout=10_000)
    # acknowledged: the wall shows the whole district again
    home = brain.district.boundary.centroid
    anonymous.page.wait_for_function("""([lon, lat]) => { const c = document.querySelector(
        '#district-map .js-plotly-plot').layout.map.center; return Math.abs(c.lon - lon) < 1e-6 &&
        Math.abs(c.lat - lat) < 1e-6; }""", arg=[home.x, home.y], timeout=10_000)
    assert anonymous.errors == []


def test_the_dispatcher_acknowledges_and_clears_alarms_from_the_panel(page, live_app):
    brain = live_app.brain
    devices = brain.district.devices
    dev = str(devices[devices["type"] == "gas"]["id"].iloc[0])
    alarm, _ = brain.alarms.raise_alarm(device_id=dev, type="gas_leak")
    open_view(page, live_app, "/dispatch")
    ack = page.page.locator(f"#alarm-panel .alarm-item:has-text('{dev}') button").first
    ack.wait_for(timeout=10_000)
    ack.click()
    page.page.wait_for_selector("#alarm-message .ok", timeout=10_000)
    assert brain.alarms.find(state="acknowledged")[0].id == alarm.id
    # Once acknowledged, the item is redrawn with the clear button alone.
    item = page.page.locator(f"#alarm-panel .alarm-item:has-text('{dev}')")
    page.page.wait_for_function(
        "(d) => [...document.querySelectorAll('#alarm-panel .alarm-item')].some("
        "e => e.innerText.includes(d) && e.querySelectorAll('button').length === 1)", arg=dev, timeout=10_000)
    item.locator("button").click()
    page.page.wait_for_function("(d) => !document.querySelector('#alarm-panel').innerText.includes(d)", arg=dev,
                                timeout=10_000)
    assert brain.alarms.find(state="cleared")[0].id == alarm.id
    assert page.errors == []


def test_the_wall_shows_how_fresh_each_layer_is(anonymous, live_app):
    sign_in(anonymous.page, live_app, "wall")
    open_view(anonymous, live_app, "/wall")
    page = anonymous.page
    assert page.locator("#freshness .fresh").count() == 3
    brain = live_app.brain
    devices = brain.district.devices
    dev = str(devices[devices["type"] == "fire_lane"]["id"].iloc[1])
    brain.alarms.raise_alarm(device_id=dev, type="blocked")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#freshness .fresh')].some("
        "e => e.innerText.startsWith('告警') && !e.classList.contains('stale'))", timeout=10_000)
    assert anonymous.errors == []


def test_after_many_diff_ticks_the_browser_holds_exactly_the_servers_markers(page, live_app):
    from brain.live import snapshot
    from dashboard.app import live_layers

    open_view(page, live_app, "/wall")
    brain = live_app.brain
    roster = [s for s in brain.staff.roster() if s.lon is not None]
    for step in range(4):  # four rounds of a few moves, each sent as edits
        brain.staff.record_fixes([Fix(s.id, s.lon + 1e-4 * (step + 1), s.lat, utcnow()) for s in roster[step::9]])
        page.page.wait_for_timeout(2_300)

    def same():
        want = live_layers(brain, snapshot(brain), "zh-CN")["staff"]
        got = trace(page, "staff")
        return got["lon"] == pytest.approx(want["lon"]) and got["lat"] == pytest.approx(want["lat"])

    assert wait_for(same)
    assert page.errors == []


def test_on_a_4k_wall_the_map_fills_its_area_and_the_legend_grows(browser, live_app):
    ctx = browser.new_context(viewport={"width": 3840, "height": 2160})
    try:
        page = ctx.new_page()
        sign_in(page, live_app, "wall")
        page.goto(live_app.url + "/wall")
        page.wait_for_selector("#district-map .maplibregl-canvas", timeout=30_000)
        page.wait_for_function("() => { const gd = document.querySelector('#district-map .js-plotly-plot');"
                               " return gd && gd.layout.legend.font.size > 14; }", timeout=15_000)
        size = page.evaluate("() => document.querySelector('#district-map .js-plotly-plot').layout.legend.font.size")
        assert 26 <= size <= 32  # about twice 1080p's 14 px
        # markers grow with it too: the poles (static, in the page) and the live cases (sized by the server)
        page.wait_for_function("() => document.querySelector('#district-map .js-plotly-plot').data[IDX].marker.size"
                               " .every((s) => s >= 16)".replace("IDX", str(TRACE_INDEX["cases"])), timeout=15_000)
        pole = page.evaluate("() => document.querySelector('#district-map .js-plotly-plot').data[IDX].marker.size"
                             .replace("IDX", str(TRACE_INDEX["poles"])))
        assert pole >= 7  # 4 px at 1080p
        overflow = page.evaluate("() => [document.documentElement.scrollWidth > innerWidth,"
                                 " document.documentElement.scrollHeight > innerHeight]")
        assert overflow == [False, False]  # no scrollbars on the wall
    finally:
        ctx.close()


def test_a_change_reaches_the_wall_by_push_not_at_the_next_poll(page, live_app):
    """The update that draws a new alarm was asked for because the server pushed the change counter
    (``live-push``, let through the page's gate as ``live-pull``), not by the wall's slow heartbeat tick."""
    open_view(page, live_app, "/wall")
    bodies: list[str] = []
    page.page.on("request", lambda r: bodies.append(r.post_data) if r.method == "POST" and r.post_data
                 and "district-map.figure" in r.post_data else None)
    devices = live_app.brain.district.devices
    device = str(devices[devices["type"] == "water_meter"]["id"].iloc[-1])
    live_app.brain.alarms.raise_alarm(device_id=device, type="leak", actor="e2e")
    assert wait_for(lambda: device in [row[2] for row in trace(page, "alarms")["custom"]])
    # (a heartbeat tick due at the same moment rides in the same request: Dash sends both changes at once)
    pushed = [b for b in bodies if "live-pull.data" in json.loads(b)["changedPropIds"]]
    assert pushed, bodies
    assert page.errors == []


SOURCES_JS = """() => { const gd = document.querySelector('#district-map .js-plotly-plot');
    const map = gd._fullLayout.map._subplot.map; window.__sources = [];
    map.on('sourcedata', (e) => window.__sources.push(e.sourceId)); }"""


PAINTED_JS = """([i, device]) => { const gd = document.querySelector('#district-map .js-plotly-plot');
    const map = gd._fullLayout.map._subplot.map; const t = gd.data[i];
    const k = t.customdata.findIndex((r) => r && r[2] === device); if (k < 0) { return null; }
    const wrap = gd.closest('.map-wrap'); const canvas = wrap.querySelector('canvas.map-markers');
    const painted = wrap.__overlay && wrap.__overlay.painted[i];
    const xy = map.project([t.lon[k], t.lat[k]]); const r = window.devicePixelRatio || 1;
    const px = canvas.getContext('2d').getImageData(Math.round(xy.x * r), Math.round(xy.y * r), 1, 1).data;
    return {colour: t.marker.color[k], pixel: Array.from(px),
            painted: !!painted && painted.customdata.some((row) => row && row[2] === device)}; }"""


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


def _shows(painted: dict) -> bool:
    """Whether the canvas pixel at the marker's place is the marker's colour."""
    px = painted["pixel"]
    return px[3] > 150 and all(abs(a - b) <= 40 for a, b in zip(px[:3], _rgb(painted["colour"]), strict=True))


def test_a_live_update_gives_maplibre_nothing_and_the_page_paints_the_new_alarm(page, live_app):
    """A new alarm sets no map source at all, static or live (assets/map_unchanged.js): the page paints the
    live markers on its own canvas over the map (assets/overlay.js), in the alarm's colour at its place.
    Hiding and showing a layer still works."""
    open_view(page, live_app, "/wall")
    p = page.page
    devices = live_app.brain.district.devices
    water = devices[devices["type"] == "water_meter"]["id"]
    first, second = str(water.iloc[-2]), str(water.iloc[-3])
    live_app.brain.alarms.raise_alarm(device_id=first, type="leak", actor="e2e")  # each trace's first update
    assert wait_for(lambda: first in [row[2] for row in trace(page, "alarms")["custom"]])
    p.wait_for_timeout(500)
    p.evaluate(SOURCES_JS)
    live_app.brain.alarms.raise_alarm(device_id=second, type="leak", actor="e2e")
    assert wait_for(lambda: second in [row[2] for row in trace(page, "alarms")["custom"]])
    assert wait_for(lambda: (p.evaluate(PAINTED_JS, [TRACE_INDEX["alarms"], second]) or {}).get("painted"))
    p.wait_for_timeout(1000)
    assert p.evaluate("window.__sources") == []
    assert p.evaluate("window.brainMapSkipped") > 0
    wait_map_still(p)
    assert _shows(p.evaluate(PAINTED_JS, [TRACE_INDEX["alarms"], second]))
    uids = p.evaluate("() => document.querySelector('#district-map .js-plotly-plot')._fullData.map((t) => t.uid)")
    # a layer hidden from the legend (Plotly.restyle) goes, and comes back
    roads = TRACE_INDEX["roads"]
    layer = f"plotly-trace-layer-{uids[roads]}-line"
    visibility = """([layer]) => { const map = document.querySelector('#district-map .js-plotly-plot')._fullLayout
        .map._subplot.map; return map.getLayer(layer) ? map.getLayoutProperty(layer, 'visibility') : 'gone'; }"""
    assert p.evaluate(visibility, [layer]) == "visible"
    p.evaluate("([i]) => Plotly.restyle(document.querySelector('#district-map .js-plotly-plot'), "
               "{visible: 'legendonly'}, [i])", [roads])
    assert wait_for(lambda: p.evaluate(visibility, [layer]) in ("none", "gone"))
    p.evaluate("([i]) => Plotly.restyle(document.querySelector('#district-map .js-plotly-plot'), "
               "{visible: true}, [i])", [roads])
    assert wait_for(lambda: p.evaluate(visibility, [layer]) == "visible")
    assert page.errors == []


def test_the_legend_key_of_a_live_layer_hides_and_shows_its_painted_markers(page, live_app):
    """The alarms' entry in the legend is its key trace; a click hides the whole legend group, and the page
    stops painting the alarms; another click brings them back."""
    open_view(page, live_app, "/wall")
    p = page.page
    devices = live_app.brain.district.devices
    device = str(devices[devices["type"] == "water_meter"]["id"].iloc[-5])
    live_app.brain.alarms.raise_alarm(device_id=device, type="leak", actor="e2e")
    i = TRACE_INDEX["alarms"]
    assert wait_for(lambda: (p.evaluate(PAINTED_JS, [i, device]) or {}).get("painted"))
    entry = p.locator("#district-map .legend .traces").filter(has_text="告警").locator(".legendtoggle")
    wait_map_still(p)
    for visible, shown in (("legendonly", False), (True, True)):
        entry.click(force=True)
        assert wait_for(lambda v=visible: p.evaluate(
            "(i) => document.querySelector('#district-map .js-plotly-plot').data[i].visible", i) == v)
        wait_map_still(p)
        assert wait_for(lambda s=shown: _shows(p.evaluate(PAINTED_JS, [i, device])) == s)
    assert page.errors == []


FRAMES_JS = """() => { const gd = document.querySelector('#district-map .js-plotly-plot');
    const map = gd._fullLayout.map._subplot.map; window.__frames = 0; window.__sources = [];
    map.on('render', () => { window.__frames += 1; });
    map.on('sourcedata', (e) => window.__sources.push(e.sourceId)); }"""


def test_the_first_alarm_on_an_empty_layer_is_painted_without_a_frame_of_the_whole_map(page, live_app):
    """An empty live layer keeps one point with no place (layers.figure.never_empty): Plotly hides a map
    trace with no points and builds its MapLibre layers anew for the first one, which cost the wall
    frames of the whole map as a quiet spell ended (and at the start of every storm)."""
    brain = live_app.brain
    for a in brain.alarms.live():
        brain.alarms.clear(a.id, actor="e2e")
    open_view(page, live_app, "/wall")
    p = page.page
    assert wait_for(lambda: trace(page, "alarms")["custom"] == [])
    wait_map_still(p)
    p.wait_for_timeout(1000)
    p.evaluate(FRAMES_JS)
    devices = brain.district.devices
    device = str(devices[devices["type"] == "water_meter"]["id"].iloc[-6])
    brain.alarms.raise_alarm(device_id=device, type="leak", actor="e2e")
    assert wait_for(lambda: (p.evaluate(PAINTED_JS, [TRACE_INDEX["alarms"], device]) or {}).get("painted"))
    p.wait_for_timeout(1000)
    assert p.evaluate("[window.__frames, window.__sources]") == [0, []]
    assert page.errors == []


def test_a_repeated_alarm_shows_its_new_count_on_hover_without_new_tiles_for_its_layer(page, live_app):
    """A repeat changes only what the alarm's hover label says (its count): the map's alarm layer is not
    set again, and hovering the marker shows the new count."""
    open_view(page, live_app, "/wall")
    p = page.page
    devices = live_app.brain.district.devices
    device = str(devices[devices["type"] == "water_meter"]["id"].iloc[-4])
    live_app.brain.alarms.raise_alarm(device_id=device, type="leak", actor="e2e")
    assert wait_for(lambda: device in [row[2] for row in trace(page, "alarms")["custom"]])
    p.wait_for_timeout(1000)
    p.evaluate(SOURCES_JS)
    live_app.brain.alarms.raise_alarm(device_id=device, type="leak", actor="e2e")  # the same alarm again
    assert wait_for(lambda: [row[3] for row in trace(page, "alarms")["custom"] if row[2] == device] == [2])
    p.wait_for_timeout(1000)
    assert p.evaluate("window.__sources") == []
    at = p.evaluate("""([i, device]) => { const gd = document.querySelector('#district-map .js-plotly-plot');
        const map = gd._fullLayout.map._subplot.map;
        const k = gd.data[i].customdata.findIndex((r) => r && r[2] === device);
        const xy = map.project([gd.data[i].lon[k], gd.data[i].lat[k]]);
        const box = map.getCanvas().getBoundingClientRect(); return [box.left + xy.x, box.top + xy.y]; }""",
                    [TRACE_INDEX["alarms"], device])
    p.mouse.move(at[0] + 3, at[1] + 3)
    p.mouse.move(at[0], at[1])
    p.wait_for_selector("#district-map .hoverlayer .hovertext", timeout=5_000)
    label = p.evaluate("() => document.querySelector('#district-map .hoverlayer .hovertext').textContent")
    assert device in label and "次数 2" in label
    assert page.errors == []


@pytest.fixture
def own_app(tmp_path, district):
    """An app of the test's own, for a test that leaves the map crowded."""
    from brain.config import Settings
    from brain.runtime import Brain
    from tests.e2e.conftest import ADMIN_PASSWORD
    from tools.serve import serve

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'brain.sqlite3'}", simulate=False,
                        admin_password=ADMIN_PASSWORD, escalate_after_s=0, monitor_interval_s=0)
    with serve(settings, Brain(settings, district=district)) as served:
        yield served


def test_under_a_steady_stream_of_changes_the_wall_keeps_drawing_them(browser, own_app):
    """Twenty new alarms every 50 ms for about 4 s: the wall draws them again and again while the stream
    goes on, not only once it stops (one request in flight, the next asked for once an answer is read)."""
    from brain.alarms.enums import ALARM_TYPES, OFFLINE, WELFARE_TYPES
    from brain.alarms.service import AlarmMessage
    from tests.e2e.conftest import Watched

    devices = own_app.brain.district.devices
    own = {t: [k for k in kinds if k != OFFLINE and k not in WELFARE_TYPES] for t, kinds in ALARM_TYPES.items()}
    pairs = [(str(d), k) for d, t in zip(devices["id"], devices["type"], strict=True) for k in own[t][:2]][:1600]
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = Watched(ctx.new_page(), own_app.url)
        sign_in(page.page, own_app, "dispatcher")
        open_view(page, own_app, "/wall")
        page.page.evaluate("""(i) => { window.__lens = []; let last = -1; const f = () => {
            const gd = document.querySelector('#district-map .js-plotly-plot');
            const n = gd && gd.data && gd.data[i].customdata ? gd.data[i].customdata.length : -1;
            if (n !== last) { window.__lens.push([Date.now(), n]); last = n; }
            requestAnimationFrame(f); }; requestAnimationFrame(f); }""", TRACE_INDEX["alarms"])
        started = time.time()
        for i in range(0, len(pairs), 20):  # 20 new alarms every 50 ms
            own_app.brain.alarms.raise_many([AlarmMessage(d, k, utcnow()) for d, k in pairs[i:i + 20]])
            time.sleep(0.05)
        ended = time.time()
        during = [n for t, n in page.page.evaluate("window.__lens") if started * 1000 < t < ended * 1000]
        assert len(set(during)) >= 3, during  # drawn again and again while the stream went on
        assert wait_for(lambda: len(trace(page, "alarms")["custom"]) == len(pairs))
        assert page.errors == []
    finally:
        ctx.close()


WRAP = "() => Object.assign({}, document.querySelector('.map-wrap').dataset)"


def settled_zoom(p) -> float:
    """The map's zoom once it has stopped moving (the same for 300 ms): a wheel's zoom is eased in over
    several frames, later on a loaded machine."""
    last = None
    for _ in range(40):
        zoom = p.evaluate(WRAP).get("zoom")
        if zoom is not None and zoom == last:
            return float(zoom)
        last = zoom
        p.wait_for_timeout(300)
    raise AssertionError(f"the map kept moving (zoom {last})")


def zoom_to_street(p) -> None:
    """Zoom in with the wheel over the map's centre, as an operator does, until pole numbers show: one
    notch at a time, each let settle, so that it stops a notch past the street zoom and not, after
    wheel events that had not been applied yet, so close that no pole is in view."""
    box = p.locator("#district-map").bounding_box()
    p.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(20):
        if settled_zoom(p) >= 17.2:
            break
        p.mouse.wheel(0, -300)
    p.wait_for_function("() => +document.querySelector('.map-wrap').dataset.poleLabels > 0", timeout=10_000)
    # the wheel's zoom eases on after the last turn: positions read before it stops are not where the poles end up
    wait_map_still(p)
    p.wait_for_timeout(300)  # the overlay places its labels on the next frame


def wait_map_still(p) -> None:
    """Until the map neither moves nor zooms (a wheel's ease, the wall's flight to an alarm)."""
    p.wait_for_function("""() => { const gd = document.querySelector('#district-map .js-plotly-plot');
        const map = gd._fullLayout.map._subplot.map; return !map.isMoving() && !map.isZooming(); }""",
                        timeout=10_000)


def test_at_street_zoom_every_pole_in_view_shows_its_number_and_at_district_zoom_none(page, live_app):
    open_view(page, live_app, "/wall")
    p = page.page
    p.wait_for_function("() => document.querySelector('.map-wrap').dataset.poleLabels !== undefined",
                        timeout=15_000)
    assert p.evaluate(WRAP)["poleLabels"] == "0"
    zoom_to_street(p)
    # read once the overlay has placed them (a live update may redraw the map meanwhile: labels follow)
    shown = p.wait_for_function("""() => { const s = [...document.querySelectorAll('.pole-label')]
        .map((e) => e.textContent); return s.length ? s : null; }""", timeout=10_000).json_value()
    numbers = set(live_app.brain.district.poles["number"])
    assert shown and set(shown) <= numbers
    assert len(shown) < len(numbers)  # only the poles in view
    assert page.errors == []


def test_an_unacknowledged_critical_alarm_blinks_on_the_map_until_acknowledged_without_a_running_animation(
        page, live_app):
    brain = live_app.brain
    devices = brain.district.devices
    dev = str(devices[devices["type"] == "gas"]["id"].iloc[-1])
    open_view(page, live_app, "/wall")
    alarm, _ = brain.alarms.raise_alarm(device_id=dev, type="gas_leak")
    try:
        page.page.wait_for_function("() => +document.querySelector('.map-wrap').dataset.alarmRings >= 1",
                                    timeout=10_000)
        assert page.page.locator(".alarm-pulse").count() >= 1
        page.page.wait_for_selector(".banner.takeover")
        # it blinks: the ring's look changes within a second (two states, toggled by assets/blink.js) ...
        looks = page.page.evaluate("""() => new Promise((done) => {
            const look = () => { const r = getComputedStyle(document.querySelector('.alarm-pulse'));
                                 return r.opacity + ' ' + r.transform; };
            const seen = new Set([look()]);
            const t = setInterval(() => seen.add(look()), 100);
            setTimeout(() => { clearInterval(t); done([...seen]); }, 1200); })""")
        assert len(looks) == 2
        # ... and nothing on the page animates frame by frame (a CSS animation costs a software-drawn wall
        # a core for as long as the alarm waits)
        assert page.page.evaluate("() => document.getAnimations().length") == 0
        brain.alarms.acknowledge(alarm.id, actor="operator")
        page.page.wait_for_function("() => document.querySelector('.map-wrap').dataset.alarmRings === '0'",
                                    timeout=10_000)
    finally:
        brain.alarms.clear(alarm.id, actor="operator")
    assert page.errors == []


def test_clicking_a_pole_opens_its_card_with_the_open_cases_there_and_a_click_closes_it(page, live_app):
    open_view(page, live_app, "/wall")
    p = page.page
    zoom_to_street(p)
    # the pole nearest the middle of the map (not one under the legend in a corner) with no other marker
    # (a case, an alarm, a person left by other tests) within 20 px, which a click might pick instead;
    # where every pole in view has one that close, the pole farthest from any
    # (a redraw of the map between zooming and reading its labels can leave none for a moment: zoom again)
    picked = None
    for _ in range(3):
        picked = p.evaluate("""(live) => {
            const gd = document.querySelector('#district-map .js-plotly-plot');
            const map = gd._fullLayout.map._subplot.map;
            const others = live.flatMap((i) => (gd.data[i].lon || []).flatMap(
                (lon, k) => typeof lon === 'number' ? [map.project([lon, gd.data[i].lat[k]])] : []));
            const box = document.querySelector('#district-map .maplibregl-canvas').getBoundingClientRect();
            const labels = [...document.querySelectorAll('.pole-label')].map((e) =>
                [e.textContent, parseFloat(e.style.left), parseFloat(e.style.top)]);
            const room = (l) => Math.min(Infinity, ...others.map((o) => Math.hypot(o.x - l[1], o.y - l[2])));
            const clear = labels.filter((l) => room(l) > 20);
            const d = (l) => Math.hypot(l[1] - box.width / 2, l[2] - box.height / 2);
            if (!labels.length) { return null; }
            if (!clear.length) { return labels.reduce((a, b) => (room(a) >= room(b) ? a : b)); }
            return clear.reduce((a, b) => (d(a) <= d(b) ? a : b)); }""",
            [TRACE_INDEX[n] for n in ("cases", "alarms", "staff")])
        if picked:
            break
        zoom_to_street(p)
    assert picked, "no pole number showed at street zoom"
    number = picked[0]
    case = live_app.brain.cases.open_case(channel="hotline_12345", category="C0107", pole=number, actor="e2e")
    assert wait_for(lambda: case.id in [row[0] for row in trace(page, "cases")["custom"]])  # the redraw is done
    canvas = p.locator("#district-map .maplibregl-canvas").bounding_box()
    pole = live_app.brain.gazetteer.lookup(number)
    for _ in range(3):  # a live redraw between hover and click loses the click, as it would a person's
        # where the pole is now: the wall may have flown to an alarm since the labels were read
        wait_map_still(p)
        x, y = p.evaluate("""([lon, lat]) => { const gd = document.querySelector('#district-map .js-plotly-plot');
            const map = gd._fullLayout.map._subplot.map; const at = map.project([lon, lat]); return [at.x, at.y]; }""",
                          [pole.lon, pole.lat])
        p.mouse.move(canvas["x"] + x + 3, canvas["y"] + y + 3)
        p.mouse.move(canvas["x"] + x, canvas["y"] + y)  # plotly picks the point under the pointer
        p.wait_for_timeout(300)
        p.mouse.click(canvas["x"] + x, canvas["y"] + y)
        try:
            p.wait_for_selector(".pole-card:not(.hidden)", timeout=4_000)
            break
        except Exception:
            continue
    p.wait_for_selector(".pole-card:not(.hidden)", timeout=1_000)
    text = p.inner_text(".pole-card")
    committees = live_app.brain.district.committees.set_index("code")["name"]
    assert f"杆号 {number}" in text and pole.code in text and pole.grid in text
    assert committees[pole.committee] in text
    assert f"#{case.id}" in text
    p.click(".pole-card")
    p.wait_for_selector(".pole-card.hidden", state="attached", timeout=10_000)
    assert page.errors == []


def test_the_dispatcher_records_what_each_welfare_rung_found_from_the_panel(page, live_app):
    from datetime import timedelta

    from sqlalchemy import update

    from brain.district.models import Device

    brain = live_app.brain
    places = brain.district.places
    home = str(places[(places["kind"] == "home") & places["living_alone"]]["id"].iloc[-1])
    with brain.db.transaction() as s:
        s.execute(update(Device).where(Device.place_id == home)
                  .values(last_activity_at=utcnow() - timedelta(hours=30)))
    [alarm_id] = brain.monitor.sweep_welfare(utcnow())
    dev = next(a.device_id for a in brain.alarms.live() if a.id == alarm_id)
    open_view(page, live_app, "/dispatch")
    item = f"#alarm-panel .alarm-item:has-text('{dev}')"
    page.page.locator(item).wait_for(timeout=10_000)
    assert "电话联系老人" in page.page.inner_text(item)
    page.page.locator(f"{item} button:has-text('联系不上')").click()
    page.page.wait_for_function("(d) => [...document.querySelectorAll('#alarm-panel .alarm-item')].some("
                                "e => e.innerText.includes(d) && e.innerText.includes('上门查看'))", arg=dev,
                                timeout=10_000)
    page.page.locator(f"{item} button:has-text('老人平安')").click()
    page.page.wait_for_function("(d) => !document.querySelector('#alarm-panel').innerText.includes(d)", arg=dev,
                                timeout=10_000)
    cleared = [a for a in brain.alarms.find(state="cleared") if a.id == alarm_id]
    assert cleared and page.errors == []
