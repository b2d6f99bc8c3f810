"""Each view loads in Chromium with no console error, shows live changes, and reaches no other host."""

import time

import pytest

from brain.staff.service import Fix
from brain.storage.db import utcnow
from tests.e2e.conftest import open_case, sign_in

pytestmark = pytest.mark.e2e

# what a live layer of the map holds, through the map component's documented hook (window.districtMaps)
LAYER_JS = """([layer]) => { const m = window.districtMaps && window.districtMaps['district-map'];
    if (!m) { return null; }
    const f = m.features(layer);
    return {lon: f.map((x) => x.lon), lat: f.map((x) => x.lat), ids: f.map((x) => x.id), tips: f.map((x) => x.tip),
            colours: f.map((x) => x.colour), rings: f.map((x) => !!x.ring)}; }"""


def open_view(page, live_app, path):
    page.page.goto(live_app.url + path)
    if path.startswith("/kpi"):  # the leaders' screen: its own committee map and the ranking
        page.page.wait_for_selector("#kpi-hotspots .maplibregl-canvas", timeout=30_000)
        page.page.wait_for_selector(".kpi-table td", timeout=30_000)
        return
    page.page.wait_for_selector("#district-map .maplibregl-canvas", timeout=30_000)
    page.page.wait_for_function("() => document.querySelector('#counter-open_cases') !== null")
    page.page.wait_for_function("() => window.districtMaps && window.districtMaps['district-map'].still()",
                                timeout=30_000)


def trace(page, name):
    return page.page.evaluate(LAYER_JS, [name])


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
    ids = data["ids"]
    assert str(case.id) in ids
    i = ids.index(str(case.id))
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
        ids = t["ids"]
        return person.id in ids and (t["lon"][ids.index(person.id)], t["lat"][ids.index(person.id)]) == \
            pytest.approx((pole.lon, pole.lat))

    assert wait_for(moved)


SCRIPT = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def test_script_bearing_resident_text_never_reaches_the_wall_and_shows_as_text_on_the_card(page, live_app):
    case = live_app.brain.cases.open_case(channel="wechat", category="E0101", pole="0001", description=SCRIPT,
                                          actor="e2e")
    open_view(page, live_app, "/wall")  # the wall: the case on the map and in the feed, none of the words typed
    assert wait_for(lambda: str(case.id) in (trace(page, "cases") or {"ids": []})["ids"])
    assert "<img" not in page.page.inner_text("#feed") and "__pwned" not in page.page.content()
    data = trace(page, "cases")
    assert all("<img" not in tip for tip in data["tips"])  # the map's hover text never carries it
    page.page.goto(live_app.url + "/dispatch")  # the dispatcher's card: the words as typed, as text
    open_case(page.page, case.id)
    words = page.page.inner_text(".card .description")
    assert "<img src=x" in words and "<script>" in words
    assert page.page.evaluate("() => document.querySelectorAll('.card img, .card script').length") == 0
    assert page.page.evaluate("() => window.__pwned") is None
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
    anonymous.page.wait_for_function(CENTRED_ON, arg=[alarm.lon, alarm.lat, 1e-6], timeout=10_000)
    assert anonymous.page.evaluate("() => window.districtMaps['district-map'].map.getZoom()") == pytest.approx(17)
    brain.alarms.acknowledge(alarm.id, actor="operator")
    anonymous.page.wait_for_selector("#takeover-banner.takeover", state="detached", timeout=10_000)
    # acknowledged: the wall shows the whole district again, fitted to the map
    minx, miny, maxx, maxy = brain.district.boundary.bounds
    anonymous.page.wait_for_function("""([minx, miny, maxx, maxy]) => {
        const b = window.districtMaps['district-map'].map.getBounds();
        return b.getWest() <= minx && b.getSouth() <= miny && b.getEast() >= maxx && b.getNorth() >= maxy; }""",
                                     arg=[minx, miny, maxx, maxy], timeout=10_000)
    assert anonymous.errors == []


def test_a_burst_of_critical_alarms_moves_the_wall_once_to_show_them_all(anonymous, live_app):
    brain = live_app.brain
    lifts = brain.district.devices[brain.district.devices["type"] == "elevator"].iloc[::-1]  # (not the others')
    first_dev = lifts.iloc[0]
    second_dev = next(d for _i, d in lifts.iterrows()  # a lift a few streets away
                      if d.geometry.distance(first_dev.geometry) > 0.004)
    assert not brain.live.waiting(), "another test left a critical alarm waiting: the wall is taken over already"
    page = anonymous.page
    sign_in(page, live_app, "wall")
    open_view(anonymous, live_app, "/wall")
    page.evaluate("""() => { window.__moves = 0;
        window.districtMaps['district-map'].map.on('moveend', () => { window.__moves += 1; }); }""")
    first, _ = brain.alarms.raise_alarm(device_id=str(first_dev["id"]), type="trapped")
    page.locator("#takeover-banner.takeover").wait_for(timeout=10_000)  # the wall has been sent the first's street
    second, _ = brain.alarms.raise_alarm(device_id=str(second_dev["id"]), type="trapped")  # ... and then both
    page.wait_for_function("""(points) => { const b = window.districtMaps['district-map'].map.getBounds();
        return window.__moves > 0 && points.every(([lon, lat]) => b.contains([lon, lat])); }""",
                           arg=[[first.lon, first.lat], [second.lon, second.lat]], timeout=10_000)
    page.wait_for_timeout(1500)  # (no other move follows)
    assert page.evaluate("window.__moves") == 1  # one move, not to the first's street and out again
    for a in (first, second):
        brain.alarms.acknowledge(a.id, actor="operator")
        brain.alarms.clear(a.id, actor="operator")
    page.wait_for_selector("#takeover-banner.takeover", state="detached", timeout=10_000)
    assert anonymous.errors == []


CENTRED_ON = """([lon, lat, tol]) => { const c = window.districtMaps['district-map'].map.getCenter();
    return Math.abs(c.lng - lon) < tol && Math.abs(c.lat - lat) < tol; }"""


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


def test_after_many_deltas_the_browser_holds_exactly_the_servers_layers(page, live_app):
    from dashboard.live import features

    open_view(page, live_app, "/wall")
    brain = live_app.brain
    roster = [s for s in brain.staff.roster() if s.lon is not None]
    for step in range(4):  # four rounds of a few moves, each sent as a delta
        brain.staff.record_fixes([Fix(s.id, s.lon + 1e-4 * (step + 1), s.lat, utcnow()) for s in roster[step::9]])
        page.page.wait_for_timeout(700)

    def same():
        brain.live.refresh()
        [whole] = [d for d in brain.live.since(None) if d.layer == "staff"]
        want = {f["id"]: (f["lon"], f["lat"]) for f in features(brain, "zh-CN").delta(whole)["upsert"]}
        got = trace(page, "staff")
        return dict(zip(got["ids"], zip(got["lon"], got["lat"], strict=True), strict=True)) == want

    assert wait_for(same)
    drawn = page.page.evaluate("() => window.districtMaps['district-map'].drawn('staff').map((f) => f.id)")
    assert set(drawn) == set(trace(page, "staff")["ids"])  # and the map's own layer draws just those
    assert page.errors == []


def test_on_a_4k_wall_the_map_fills_its_area_and_text_and_markers_grow(browser, live_app):
    live_app.brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="e2e")  # in the feed
    sizes = {}
    for w, h in ((1920, 1080), (3840, 2160)):
        ctx = browser.new_context(viewport={"width": w, "height": h})
        try:
            page = ctx.new_page()
            sign_in(page, live_app, "wall")
            page.goto(live_app.url + "/wall")
            page.wait_for_selector("#district-map .maplibregl-canvas", timeout=30_000)
            page.wait_for_function("() => window.districtMaps && window.districtMaps['district-map'].still()",
                                   timeout=30_000)
            sizes[w] = page.evaluate("""() => { const m = window.districtMaps['district-map'].map;
                const px = (sel) => parseFloat(getComputedStyle(document.querySelector(sel)).fontSize);
                const canvas = document.querySelector('#district-map canvas.maplibregl-canvas').getBoundingClientRect();
                const wrap = document.querySelector('.map-wrap').getBoundingClientRect();
                return {legend: px('.legend-row'), feed: px('.feed-item'), badge: px('.fresh'),
                        radius: window.districtMaps['district-map'].drawn('cases')[0].radius,
                        road: m.getLayoutProperty('roads-names', 'text-size'),
                        fill: [canvas.width / wrap.width, canvas.height / wrap.height],
                        overflow: [document.documentElement.scrollWidth > innerWidth,
                                   document.documentElement.scrollHeight > innerHeight]}; }""")
        finally:
            ctx.close()
    hd, uhd = sizes[1920], sizes[3840]
    for s in (hd, uhd):
        assert min(s["legend"], s["feed"], s["badge"]) >= 18  # read from across the room
        assert s["fill"][0] > 0.95 and s["fill"][1] > 0.9  # the map takes its whole area
        assert s["overflow"] == [False, False]  # no scrollbars on the wall
    assert uhd["legend"] > 1.6 * hd["legend"] and uhd["road"] > 1.6 * hd["road"]
    assert uhd["radius"] > 1.6 * hd["radius"]  # the markers grow with the map


def test_a_change_reaches_the_wall_by_push_alone_without_a_request_from_the_page(page, live_app):
    """The page asks nothing over HTTP for a live change: the server pushes the delta over the page's
    WebSocket, and the map applies it."""
    open_view(page, live_app, "/wall")
    posts: list[str] = []
    page.page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
    devices = live_app.brain.district.devices
    device = str(devices[devices["type"] == "water_meter"]["id"].iloc[-1])
    alarm, _ = live_app.brain.alarms.raise_alarm(device_id=device, type="leak", actor="e2e")
    assert wait_for(lambda: alarm.id in trace(page, "alarms")["ids"])
    assert not [b for b in posts if "district-map" in b], posts
    assert page.errors == []


def test_the_legend_hides_and_shows_a_layer_and_says_what_each_colour_means(page, live_app):
    from layers.live import COLOURS

    open_view(page, live_app, "/wall")
    p = page.page
    legend = p.inner_text("#map-legend")
    assert "已超时" in legend and "紧急" in legend and "空闲" in legend and "道路" in legend
    swatches = p.evaluate("""() => [...document.querySelectorAll('#map-legend .swatch')].map((e) =>
        getComputedStyle(e).backgroundColor)""")
    for colour in COLOURS["alarms"].values():
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})" in swatches
    p.click("#map-legend .legend-section:has-text('人员位置')")
    p.wait_for_function("() => window.districtMaps['district-map'].drawn('staff').length === 0"
                        " && window.districtMaps['district-map'].count('staff') > 0", timeout=10_000)
    p.click("#map-legend .legend-section:has-text('人员位置')")
    p.wait_for_function("() => window.districtMaps['district-map'].drawn('staff').length > 0", timeout=10_000)
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
        page.page.evaluate("""() => { window.__lens = []; let last = -1; const f = () => {
            const n = window.districtMaps['district-map'].count('alarms');
            if (n !== last) { window.__lens.push([Date.now(), n]); last = n; }
            requestAnimationFrame(f); }; requestAnimationFrame(f); }""")
        started = time.time()
        for i in range(0, len(pairs), 20):  # 20 new alarms every 50 ms
            own_app.brain.alarms.raise_many([AlarmMessage(d, k, utcnow()) for d, k in pairs[i:i + 20]])
            time.sleep(0.05)
        ended = time.time()
        during = [n for t, n in page.page.evaluate("window.__lens") if started * 1000 < t < ended * 1000]
        assert len(set(during)) >= 3, during  # drawn again and again while the stream went on
        assert wait_for(lambda: len(trace(page, "alarms")["ids"]) == len(pairs))
        assert page.errors == []
    finally:
        ctx.close()


ZOOM = "() => window.districtMaps['district-map'].map.getZoom()"


def wait_map_still(p) -> None:
    """Until the map neither moves nor zooms (a wheel's ease, the wall's flight to an alarm) and has drawn."""
    p.wait_for_function("() => window.districtMaps['district-map'].still()", timeout=10_000)


def zoom_to_street(p) -> None:
    """Zoom in with the wheel over the map's centre, as an operator does, until pole numbers show."""
    box = p.locator("#district-map").bounding_box()
    p.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(20):
        wait_map_still(p)
        if p.evaluate(ZOOM) >= 17.2:
            break
        p.mouse.wheel(0, -300)
        p.wait_for_timeout(200)
    wait_map_still(p)


NUMBERS_SHOWN = """() => window.districtMaps['district-map'].map.queryRenderedFeatures({layers: ['poles-numbers']})
    .map((f) => f.properties.number)"""


def test_at_street_zoom_every_pole_in_view_shows_its_number_and_at_district_zoom_none(page, live_app):
    open_view(page, live_app, "/wall")
    p = page.page
    assert p.evaluate(NUMBERS_SHOWN) == []
    zoom_to_street(p)
    shown = p.wait_for_function(f"() => {{ const s = ({NUMBERS_SHOWN})(); return s.length ? s : null; }}",
                                timeout=10_000).json_value()
    numbers = set(live_app.brain.district.poles["number"])
    assert shown and set(shown) <= numbers
    assert len(set(shown)) < len(numbers)  # only the poles in view
    roads = p.evaluate("""() => window.districtMaps['district-map'].map.queryRenderedFeatures(
        {layers: ['roads-names']}).map((f) => f.properties.name)""")
    assert roads and set(roads) <= set(live_app.brain.district.roads["name"])  # the streets are named
    assert page.errors == []


def canvas_pixels(p):
    """The map's canvas as the screen shows it (a PIL image, CSS px at a device scale of 1)."""
    from io import BytesIO

    from PIL import Image

    box = p.locator("#district-map canvas.maplibregl-canvas").bounding_box()
    return Image.open(BytesIO(p.screenshot(clip=box))).convert("RGB")


def close(pixel, colour: str, tol: int = 10) -> bool:
    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tol for a, b in zip(pixel, want, strict=True))


def test_an_unacknowledged_critical_alarm_is_ringed_on_the_map_until_acknowledged(page, live_app):
    brain = live_app.brain
    devices = brain.district.devices
    dev = str(devices[devices["type"] == "gas"]["id"].iloc[-1])
    open_view(page, live_app, "/wall")
    alarm, _ = brain.alarms.raise_alarm(device_id=dev, type="gas_leak")
    ringed = """(id) => window.districtMaps['district-map'].drawn('alarms').some((f) => f.id === id && f.ring)"""
    try:
        page.page.wait_for_function(ringed, arg=alarm.id, timeout=10_000)
        page.page.wait_for_selector(".banner.takeover")
        wait_map_still(page.page)
        # the pixels: the dot in its colour at its place, the ring around it in the ring's colour
        from layers.live import RING_COLOUR

        drawn, held = page.page.evaluate("""(id) => { const d = window.districtMaps['district-map'];
            return [d.drawn('alarms').find((f) => f.id === id), d.features('alarms').find((f) => f.id === id)]; }""",
                                         alarm.id)
        k = drawn["radius"] / (held["size"] / 2)
        shot = canvas_pixels(page.page)
        assert close(shot.getpixel((round(drawn["x"]), round(drawn["y"]))), held["colour"])
        band = drawn["radius"] + 8.5 * k
        assert any(close(shot.getpixel((round(drawn["x"] + dx * band), round(drawn["y"] + dy * band))), RING_COLOUR)
                   for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)))
        # nothing on the page animates frame by frame (that would cost a software-drawn wall a core)
        assert page.page.evaluate("() => document.getAnimations().length") == 0
        brain.alarms.acknowledge(alarm.id, actor="operator")
        page.page.wait_for_function(f"(id) => !({ringed})(id)", arg=alarm.id, timeout=10_000)
        assert alarm.id in trace(page, "alarms")["ids"]  # still on the map, without its ring
    finally:
        brain.alarms.clear(alarm.id, actor="operator")
    assert page.errors == []


def test_clicking_a_pole_opens_its_card_with_the_open_cases_there_and_a_click_closes_it(page, live_app):
    open_view(page, live_app, "/wall")
    p = page.page
    zoom_to_street(p)
    # the pole nearest the map's middle with no live marker within 20 px (a click would pick the marker)
    picked = p.evaluate("""() => { const d = window.districtMaps['district-map'], m = d.map;
        const c = m.getCanvas(), mid = [c.clientWidth / 2, c.clientHeight / 2];
        const others = ['cases', 'alarms', 'staff'].flatMap((l) => d.features(l).map((f) => m.project([f.lon, f.lat])));
        const poles = m.queryRenderedFeatures({layers: ['poles-points']}).map((f) => {
            const at = m.project(f.geometry.coordinates); return [f.properties.number, at.x, at.y]; });
        const clear = poles.filter((q) => others.every((o) => Math.hypot(o.x - q[1], o.y - q[2]) > 20));
        const dist = (q) => Math.hypot(q[1] - mid[0], q[2] - mid[1]);
        return clear.length ? clear.reduce((a, b) => (dist(a) <= dist(b) ? a : b)) : null; }""")
    assert picked, "no clear pole at street zoom"
    number = picked[0]
    case = live_app.brain.cases.open_case(channel="hotline_12345", category="C0107", pole=number, actor="e2e")
    assert wait_for(lambda: str(case.id) in trace(page, "cases")["ids"])
    wait_map_still(p)
    canvas = p.locator("#district-map canvas.maplibregl-canvas").bounding_box()
    pole = live_app.brain.gazetteer.lookup(number)
    x, y = p.evaluate("""([lon, lat]) => { const at = window.districtMaps['district-map'].map.project([lon, lat]);
        return [at.x, at.y]; }""", [pole.lon, pole.lat])
    p.mouse.click(canvas["x"] + x, canvas["y"] + y)
    p.wait_for_selector(".pole-card:not(.hidden)", timeout=10_000)
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
