"""Every route and every data callback, for each role and for no credentials: allowed or denied.

The expectations are written out here, apart from the code's own tables; a route or callback the
app has but this matrix does not name fails the test, so nothing new ships unguarded.
"""

import json

import pytest

from tests.api.conftest import HUMAN, ORIGIN, SERVICE, built

ALL_ROLES = HUMAN + SERVICE
PUSH = "(push: the live change counter, over the WebSocket)"




@pytest.fixture(scope="module")
def site(tmp_path_factory, district):
    """One app for the whole matrix, on SQLite (the gate does not depend on the database dialect): the
    matrix asks who may call what; what the calls change does not decide any answer it checks."""
    from tests.conftest import sqlite_database

    folder = tmp_path_factory.mktemp("matrix")
    db = sqlite_database(folder)
    yield from built(db, district, folder / "photos")
    db.dispose()

STAFF_READERS = {"operator", "dispatcher", "leader", "admin"}
MAP_VIEWERS = {"wall", "operator", "dispatcher", "leader", "admin", "intake"}
CASE_READERS = {"operator", "dispatcher", "leader", "admin", "intake"}
CASE_OPENERS = {"dispatcher", "admin", "intake"}
CASE_MOVERS = {"dispatcher", "admin"}
# the field app's routes act for the staff member an account is tied to: no token is anyone's (a person's
# account is tested in test_field_api); refused with 403 for every role here
FIELD_PEOPLE_ONLY: set[str] = set()
OP = {"op": "0123456789abcdef"}

# (method, path template) -> (concrete path, body, roles allowed; "public" = also without credentials)
API = {
    ("GET", "/api/v1/health"): ("/api/v1/health", None, "public"),
    ("GET", "/api/v1/me"): ("/api/v1/me", None, set(ALL_ROLES)),
    ("GET", "/api/v1/poles/nearest"): ("/api/v1/poles/nearest?lon=121.45&lat=31.33", None, MAP_VIEWERS),
    ("GET", "/api/v1/poles/{number}"): ("/api/v1/poles/0412", None, MAP_VIEWERS),
    ("GET", "/api/v1/staff"): ("/api/v1/staff", None, STAFF_READERS),
    ("GET", "/api/v1/places/{place_id}"): ("/api/v1/places/{home}", None, MAP_VIEWERS),
    ("POST", "/api/v1/places/{place_id}/unmask"): ("/api/v1/places/{home}/unmask", {"reason": "上门核实"},
                                                   {"dispatcher", "admin"}),
    ("GET", "/api/v1/audit"): ("/api/v1/audit", None, {"admin"}),
    ("POST", "/api/v1/alarms"): ("/api/v1/alarms", {"device_id": "{device}", "type": "smoke",
                                                     "ts": "2026-01-01T08:00:00+08:00"}, {"gateway", "admin"}),
    ("GET", "/api/v1/alarms"): ("/api/v1/alarms?state=active", None, MAP_VIEWERS),
    ("POST", "/api/v1/alarms/{alarm_id}/acknowledge"): ("/api/v1/alarms/{alarm}/acknowledge", None,
                                                        {"operator", "dispatcher", "admin"}),
    ("POST", "/api/v1/alarms/{alarm_id}/clear"): ("/api/v1/alarms/{alarm}/clear", None,
                                                  {"operator", "dispatcher", "admin"}),
    ("GET", "/api/v1/devices"): ("/api/v1/devices", None, MAP_VIEWERS),
    ("POST", "/api/v1/cases"): ("/api/v1/cases", {"channel": "hotline_12345", "category": "C0107", "pole": "0412"},
                                CASE_OPENERS),
    ("GET", "/api/v1/cases"): ("/api/v1/cases?open=true&limit=5", None, CASE_READERS),
    ("GET", "/api/v1/cases/{case_id}"): ("/api/v1/cases/{case}", None, CASE_READERS),
    ("GET", "/api/v1/cases/{case_id}/recommendations"): ("/api/v1/cases/{case}/recommendations", None, CASE_READERS),
    ("POST", "/api/v1/cases/{case_id}/assign"): ("/api/v1/cases/{case}/assign", {"team_id": "T01", "version": 1},
                                                 CASE_MOVERS),
    ("POST", "/api/v1/cases/{case_id}/transition"): ("/api/v1/cases/{case}/transition",
                                                     {"to": "registered", "version": 1}, CASE_MOVERS),
    ("POST", "/api/v1/cases/{case_id}/feedback"): ("/api/v1/cases/{case}/feedback",
                                                   {"satisfaction": "satisfied"}, CASE_OPENERS),
    ("GET", "/api/v1/kpi"): ("/api/v1/kpi?by=committee", None, {"leader", "admin"}),
    ("POST", "/api/v1/devices/{device_id}/maintenance"): ("/api/v1/devices/{device}/maintenance",
                                                          {"on": True, "reason": "work order 17"},
                                                          {"operator", "dispatcher", "admin"}),
    ("POST", "/api/v1/devices/{device_id}/status"): ("/api/v1/devices/{device}/status",
                                                     {"ts": "2026-01-01T08:00:00+08:00", "activity": True},
                                                     {"gateway", "admin"}),
    ("POST", "/api/v1/alarms/{alarm_id}/welfare"): ("/api/v1/alarms/{alarm}/welfare", {"outcome": "resident_ok"},
                                                    {"operator", "dispatcher", "admin"}),
    ("GET", "/api/v1/osmand"): ("/api/v1/osmand?id=S00001&lat=31.33&lon=121.45&timestamp=1",
                                None, {"field", "admin"}),
    ("POST", "/api/v1/osmand"): ("/api/v1/osmand", {"id": "S00001", "lat": 31.33, "lon": 121.45, "timestamp": "1"},
                                 {"field", "admin"}),
    ("GET", "/api/v1/field/me"): ("/api/v1/field/me", None, FIELD_PEOPLE_ONLY),
    ("GET", "/api/v1/field/tasks"): ("/api/v1/field/tasks", None, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/tasks/{task_id}/delivered"): ("/api/v1/field/tasks/1/delivered", OP, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/tasks/{task_id}/read"): ("/api/v1/field/tasks/1/read", OP, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/tasks/{task_id}/accept"): ("/api/v1/field/tasks/1/accept", OP, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/tasks/{task_id}/decline"): ("/api/v1/field/tasks/1/decline", {**OP, "reason": "x"},
                                                        FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/tasks/{task_id}/arrive"): ("/api/v1/field/tasks/1/arrive", {
        **OP, "lon": 121.45, "lat": 31.33, "at": "2026-01-01T08:00:00+08:00"}, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/tasks/{task_id}/handled"): ("/api/v1/field/tasks/1/handled", {
        **OP, "note": "done", "photos": []}, FIELD_PEOPLE_ONLY),
    ("GET", "/api/v1/field/tasks/{task_id}/route"): ("/api/v1/field/tasks/1/route?lon=121.45&lat=31.33", None,
                                                     FIELD_PEOPLE_ONLY),
    ("GET", "/api/v1/field/verify"): ("/api/v1/field/verify", None, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/verify/{case_id}"): ("/api/v1/field/verify/{case}", {**OP, "passed": True},
                                                 FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/duty"): ("/api/v1/field/duty", {**OP, "on": True}, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/position"): ("/api/v1/field/position", {
        "lon": 121.45, "lat": 31.33, "at": "2026-01-01T08:00:00+08:00"}, FIELD_PEOPLE_ONLY),
    ("POST", "/api/v1/field/photos"): ("/api/v1/field/photos", None, FIELD_PEOPLE_ONLY),
    # any signed-in account may ask; whether it sees the photo depends on the case (test_field_api): 404 here
    ("GET", "/api/v1/photos/{photo_id}"): ("/api/v1/photos/" + "0" * 64, None, set(ALL_ROLES)),
    # the residents' door: no account
    ("GET", "/api/v1/public/topics"): ("/api/v1/public/topics", None, "public"),
    ("GET", "/api/v1/public/poles/{number}"): ("/api/v1/public/poles/0412", None, "public"),
    ("GET", "/api/v1/public/poles"): ("/api/v1/public/poles?lon=121.45&lat=31.33", None, "public"),
    ("GET", "/api/v1/public/nearby"): ("/api/v1/public/nearby?topic=lamp&pole=0412", None, "public"),
    ("POST", "/api/v1/public/reports"): ("/api/v1/public/reports", None, "public"),
    ("GET", "/api/v1/public/track/{code}"): ("/api/v1/public/track/AAAA-BBBB-CCCC", None, "public"),
    ("POST", "/api/v1/public/track/{code}/answer"): ("/api/v1/public/track/AAAA-BBBB-CCCC/answer",
                                                      {"satisfaction": "satisfied"}, "public"),
    ("GET", "/api/v1/public/track/{code}/photos/{photo_id}"): (
        "/api/v1/public/track/AAAA-BBBB-CCCC/photos/" + "0" * 64, None, "public"),
    # the desk's side of residents' reports
    ("GET", "/api/v1/cases/{case_id}/reports"): ("/api/v1/cases/{case}/reports", None, CASE_READERS),
    ("POST", "/api/v1/cases/{case_id}/spam"): ("/api/v1/cases/{case}/spam", {"note": "推销"}, CASE_MOVERS),
    ("GET", "/api/v1/residents/stats"): ("/api/v1/residents/stats", None, CASE_READERS),
    ("GET", "/api/v1/plates.pdf"): ("/api/v1/plates.pdf?poles=0412&lang=en", None, {"admin"}),
}

# Dash callback (by its first output) -> roles allowed
CALLBACKS = {
    "page.children": set(HUMAN) | set(SERVICE),  # any signed-in account; the page shows what the role may see
    "dispatch-queue.children": CASE_READERS,
    "dispatch-queue-page.data": CASE_READERS,
    "selected-case.data": CASE_READERS,
    "case-card.children": CASE_READERS,
    "case-field-progress.children": CASE_READERS,
    "dispatch-message.children": CASE_MOVERS,
    "new-result.children": CASE_OPENERS,
    "new-pole.value": CASE_OPENERS,
    "audit-table.children": {"admin"},
    "alarm-panel.children": MAP_VIEWERS,
    "alarm-message.children": {"operator", "dispatcher", "admin"},
    "kpi-tiles.children": {"leader", "admin"},
    "kpi-by.value": {"leader", "admin"},
    "kpi-pick.data": {"leader", "admin"},
    "kpi-drill.children": {"leader", "admin"},
    "kpi-timeline.children": CASE_READERS,
    "kpi-download.data": {"leader", "admin"},
    "pole-card.children": MAP_VIEWERS,
    "replay-state.data": {"dispatcher", "leader", "admin"},
    PUSH: MAP_VIEWERS,
}


def _name(site, key: str) -> str:
    """A callback's name in the matrix: its first output, or PUSH for the output-less push loop."""
    if site.client.app.state.dash.callback_map[key].get("no_output"):
        return PUSH
    return key.strip(".").split("...")[0]


def test_the_matrix_names_every_api_route(site):
    doc = site.client.get("/api/v1/openapi.json").json()["paths"]
    documented = {(m.upper(), path) for path, ops in doc.items() for m in ops}
    assert documented == set(API)


def test_the_matrix_names_every_server_callback(site):
    firsts = {_name(site, key) for key in site.callback_permissions}
    assert firsts == set(CALLBACKS)


def _home(site) -> str:
    return str(site.brain.district.places.query("kind == 'home'")["id"].iloc[0])


@pytest.mark.parametrize(("method", "template"), sorted(API))
@pytest.mark.parametrize("role", [None, *ALL_ROLES])
def test_api_route_allows_or_denies(site, method, template, role):
    path, body, allowed = API[(method, template)]
    path = path.replace("{home}", _home(site))
    devices = site.brain.district.devices
    smoke = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
    if body and body.get("device_id") == "{device}":
        body = {**body, "device_id": smoke}
    path = path.replace("{device}", smoke)
    if "{alarm}" in path:  # on another device than the one the maintenance route puts out of service
        other = str(devices[devices["type"] == "smoke"]["id"].iloc[1])
        alarm, _ = site.brain.alarms.raise_alarm(device_id=other, type="smoke")
        path = path.replace("{alarm}", alarm.id)
    if "{case}" in path:
        case = site.brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="test")
        path = path.replace("{case}", str(case.id))
    r = site.client.request(method, path, json=body, headers=site.bearer(role))
    if allowed == "public" or (role is not None and role in allowed):
        assert r.status_code not in (401, 403), r.text
        assert r.status_code < 500
    elif role is None:
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    else:
        assert r.status_code == 403, r.text


VALUES = {"url.pathname": "/wall", "url.search": "", "live-tick.n_intervals": 1}


def _callback_body(site, first_output: str) -> dict:
    """A well-formed request for the callback, built from its own declaration (values as on first load)."""
    key = next(k for k in site.callback_permissions if _name(site, k) == first_output)
    spec = site.client.app.state.dash.callback_map[key]

    def values(items):
        out = []
        for item in items:
            if item["id"].startswith("{"):  # a pattern-matching (ALL) input: no such component rendered yet
                out.append([])
            else:
                name = f"{item['id']}.{item['property']}"
                out.append({"id": item["id"], "property": item["property"], "value": VALUES.get(name)})
        return out

    parts = [] if spec.get("no_output") else [p.split("@")[0] for p in key.strip(".").split("...")]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    # a pattern input's declaration (its wildcards) is no component a page could have changed
    changed = [f"{i['id']}.{i['property']}" for i in spec["inputs"][:1] if not i["id"].startswith("{")]
    return {"output": key, "outputs": outputs if len(outputs) != 1 else outputs[0], "inputs": values(spec["inputs"]),
            "changedPropIds": changed, "state": values(spec.get("state", []))}


def _post_callback(client, body, headers=None):
    return client.post("/_dash-update-component", content=json.dumps(body),
                       headers={"content-type": "application/json", "origin": ORIGIN, **(headers or {})})


@pytest.mark.parametrize("first_output", sorted(CALLBACKS))
@pytest.mark.parametrize("role", [None, *HUMAN])
def test_callback_allows_or_denies_people(site, first_output, role):
    body = _callback_body(site, first_output)
    client = site.login(role) if role else site.client
    r = _post_callback(client, body)
    if role is None:
        assert r.status_code == 401
    elif role in CALLBACKS[first_output]:
        assert r.status_code in (200, 204), r.text
    else:
        assert r.status_code == 403


@pytest.mark.parametrize("first_output", sorted(CALLBACKS))
@pytest.mark.parametrize("role", SERVICE)
def test_callback_allows_or_denies_service_tokens(site, first_output, role):
    r = _post_callback(site.client, _callback_body(site, first_output), site.bearer(role))
    if role in CALLBACKS[first_output]:
        assert r.status_code in (200, 204), r.text
    else:
        assert r.status_code == 403


def test_an_unknown_callback_is_denied_even_to_admin(site):
    r = _post_callback(site.login("admin"), {"output": "something.else", "inputs": []})
    assert r.status_code == 403 and r.json()["error"] == "unknown callback"


@pytest.mark.parametrize(("role", "path", "visible"), [
    ("wall", "/wall", True), ("wall", "/dispatch", False), ("wall", "/kpi", False),
    ("operator", "/dispatch", True), ("operator", "/kpi", False), ("leader", "/kpi", True),
    ("dispatcher", "/kpi", False), ("admin", "/kpi", True), ("admin", "/audit", True), ("dispatcher", "/audit", False),
    ("dispatcher", "/replay", True), ("leader", "/replay", True), ("operator", "/replay", False),
    ("wall", "/replay", False),
])
def test_pages_show_only_what_the_role_may_see(site, role, path, visible):
    body = _callback_body(site, "page.children")
    body["inputs"][0]["value"] = path
    text = json.dumps(_post_callback(site.login(role), body).json(), ensure_ascii=False)
    assert ("district-map" in text or "audit-table" in text or "kpi-tiles" in text) is visible
    assert ("您的角色无权查看此页面" in text) is (not visible)


@pytest.mark.parametrize("path", ["/wall", "/dispatch", "/kpi", "/", "/audit", "/password", "/replay"])
def test_pages_send_strangers_to_the_login_form(site, path):
    r = site.client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_dash_data_endpoints_need_a_session(site):
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert site.client.get(path).status_code == 401
        assert site.login("wall").get(path).status_code == 200


@pytest.mark.parametrize("role", [None, *HUMAN])
def test_the_live_push_socket_is_open_only_to_people_who_may_see_the_map(site, role):
    from starlette.websockets import WebSocketDisconnect

    client = site.login(role) if role else site.client
    allowed = role in MAP_VIEWERS
    try:
        with client.websocket_connect("/_dash-ws-callback", headers={"origin": ORIGIN}) as ws:
            ws.send_json({"type": "heartbeat"})
            assert ws.receive_json() == {"type": "heartbeat_ack"}
            opened = True
    except WebSocketDisconnect as e:
        assert e.code == 4403
        opened = False
    assert opened is allowed


def test_the_live_push_socket_refuses_another_site(site):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as e, \
            site.login("admin").websocket_connect("/_dash-ws-callback", headers={"origin": "http://evil.example"}):
        pass
    assert e.value.code == 4403
