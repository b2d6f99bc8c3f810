"""The HTTP API served by the real app (TestClient runs its lifespan: schema, seed, Dash set-up)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from brain.storage.db import utcnow


@pytest.fixture
def client(site):
    """The app's client, every request signed with an admin token."""
    site.client.headers.update(site.bearer("admin"))
    return site.client


def test_health_reports_database_and_bus(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["bus"]["kind"] == "memory"
    assert body["district"]["poles"] == 2048 and body["district"]["demo"] is True
    assert body["leader"]["leading"] is True  # one worker, no Redis: it runs the MQTT consumer and simulator


@pytest.mark.parametrize("typed", ["0412", "０４１２", "04-12", "04%2012"])
def test_pole_by_number_is_tolerant(client, typed):
    r = client.get(f"/api/v1/poles/{typed}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"number", "code", "lon", "lat", "grid", "committee"}
    assert body["number"] == "0412" and len(body["code"]) == 16


def test_unknown_pole_is_404_with_suggestions(client):
    r = client.get("/api/v1/poles/412")
    assert r.status_code == 404
    body = r.json()
    assert "no pole numbered" in body["error"] and "0412" in body["suggestions"]


def test_nearest_pole_gives_distance_and_location(client):
    pole = client.get("/api/v1/poles/0412").json()
    r = client.get("/api/v1/poles/nearest", params={"lon": pole["lon"] + 0.00005, "lat": pole["lat"]})
    assert r.status_code == 200
    body = r.json()
    assert body["number"] == "0412" and 0 < body["distance_m"] < 10 and body["inside"] is True


def test_nearest_pole_far_outside_the_district_says_so(client):
    r = client.get("/api/v1/poles/nearest", params={"lon": 121.6, "lat": 31.4})
    assert r.status_code == 404
    assert "outside the district" in r.json()["error"] and r.json()["inside"] is False


@pytest.mark.parametrize("params", [{"lon": "nan", "lat": 31.33}, {"lon": 121.45}, {"lon": 500, "lat": 31.33},
                                    {"lon": "abc", "lat": 31.33}, {"lon": "inf", "lat": 31.33}])
def test_bad_coordinates_are_422_with_a_message(client, params):
    r = client.get("/api/v1/poles/nearest", params=params)
    assert r.status_code == 422
    assert r.json()["error"].startswith(("lon", "lat"))


def test_overlong_pole_number_is_422(client):
    assert client.get("/api/v1/poles/" + "1" * 100).status_code == 422


def test_staff_lists_everyone_with_duties_and_positions(client, district):
    r = client.get("/api/v1/staff")
    assert r.status_code == 200
    staff = r.json()
    assert len(staff) == len(district.staff)
    first = staff[0]
    assert set(first) >= {"id", "team_id", "department", "status", "duties", "lon", "lat", "position_at"}
    assert first["duties"] and first["position_at"].endswith("+00:00")


def test_unknown_api_path_is_a_json_404_not_the_ui(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"].startswith("no such endpoint")


def test_openapi_documents_every_route(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/health", "/api/v1/poles/{number}", "/api/v1/poles/nearest", "/api/v1/staff"} <= set(paths)


@pytest.mark.parametrize("path", ["/wall", "/dispatch", "/kpi", "/"])
def test_views_serve_the_dash_page_with_its_stylesheet(site, path):
    r = site.login("dispatcher").get(path)
    assert r.status_code == 200
    assert "_dash-renderer" in r.text or "dash_renderer" in r.text
    assert "/assets/wall.css" in r.text


def _smoke(site) -> str:
    d = site.brain.district.devices
    return str(d[d["type"] == "smoke"]["id"].iloc[0])


def _recent() -> str:
    """A few minutes ago in Shanghai time, with its offset (an alarm older than a week is refused as stale)."""
    return (utcnow() - timedelta(minutes=5)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")


def test_alarms_over_http_from_gateway_to_acknowledge_and_clear(site):
    gw, op = site.bearer("gateway"), site.bearer("operator")
    body = {"device_id": _smoke(site), "type": "smoke", "ts": _recent(), "id": "gw-0001"}
    first = site.client.post("/api/v1/alarms", json=body, headers=gw)
    again = site.client.post("/api/v1/alarms", json=body, headers=gw)
    assert first.status_code == again.status_code == 202
    assert first.json()["created"] is True and again.json() == {**first.json(), "created": False}
    active = site.client.get("/api/v1/alarms", params={"state": "active"}, headers=op).json()
    assert [a["id"] for a in active] == ["gw-0001"] and active[0]["count"] == 1
    r = site.client.post("/api/v1/alarms/gw-0001/acknowledge", headers=op)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert site.client.post("/api/v1/alarms/gw-0001/acknowledge", headers=op).status_code == 422
    r = site.client.post("/api/v1/alarms/gw-0001/clear", params={"false_alarm": "true"}, headers=op)
    assert r.status_code == 200 and r.json()["state"] == "cleared"
    assert site.client.post("/api/v1/alarms/nope/clear", headers=op).status_code == 404


@pytest.mark.parametrize(("change", "message"), [
    ({"device_id": "NOPE-1"}, "unknown device"), ({"type": "trapped"}, "raises no alarm"),
    ({"ts": "2099-01-01T00:00:00+08:00"}, "future"), ({"ts": "2026-11-22T08:00:00"}, "time zone"),
])
def test_bad_alarms_are_refused_with_the_reason(site, change, message):
    body = {"device_id": _smoke(site), "type": "smoke", "ts": _recent(), **change}
    r = site.client.post("/api/v1/alarms", json=body, headers=site.bearer("gateway"))
    assert r.status_code == 422 and message in r.json()["error"]
    assert site.client.get("/api/v1/alarms", headers=site.bearer("operator")).json() == []


def test_devices_list_their_place_and_state(site):
    devices = site.client.get("/api/v1/devices", headers=site.bearer("operator")).json()
    assert len(devices) == len(site.brain.district.devices)
    assert set(devices[0]) >= {"id", "type", "place", "lon", "lat", "online", "last_seen_at"}


def test_the_map_glyph_server_is_the_app_itself_and_answers_an_empty_set(client):
    r = client.get("/map/glyphs/Open Sans Regular,Arial Unicode MS Regular/0-255.pbf")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == "application/x-protobuf"


def test_cases_are_found_by_status_pole_words_number_and_paged(client, site):
    cases = site.brain.cases
    a = cases.open_case(channel="wechat", category="C0107", pole="0412", description="路灯不亮 夜间", actor="t")
    b = cases.open_case(channel="hotline_12345", category="E0102", pole="1500", description="垃圾满溢", actor="t")
    cases.transition(b.id, to="registered", version=b.version, actor="t")
    found = client.get("/api/v1/cases", params={"pole": "０４－１２"}).json()
    assert found["total"] == 1 and found["items"][0]["id"] == a.id
    assert [c["id"] for c in client.get("/api/v1/cases", params={"q": "满溢"}).json()["items"]] == [b.id]
    assert [c["id"] for c in client.get("/api/v1/cases", params={"q": str(a.id)}).json()["items"]] == [a.id]
    assert [c["id"] for c in client.get("/api/v1/cases", params={"status": "registered"}).json()["items"]] == [b.id]
    page = client.get("/api/v1/cases", params={"open": "true", "limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and [c["id"] for c in page["items"]] == [a.id]  # newest first: b, then a
    assert client.get("/api/v1/cases", params={"q": "100%_"}).json()["total"] == 0  # wildcards are text


def test_searching_by_personal_data_needs_the_permission_to_read_it(site):
    case = site.brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412",
                                      description="电话13812345678", actor="t")
    from brain.cases.models import Case

    with site.brain.db.transaction() as s:
        s.get(Case, case.id).reporter_phone = "13812345678"
    for params in ({"phone": "13812345678"}, {"q": "13812345678"}):
        assert site.client.get("/api/v1/cases", params=params, headers=site.bearer("operator")).status_code == 403
        found = site.client.get("/api/v1/cases", params=params, headers=site.bearer("dispatcher")).json()
        assert [c["id"] for c in found["items"]] == [case.id]


@pytest.mark.parametrize(("change", "key", "params"), [
    ({"category": "C9999"}, "refused.intake.category", {}),
    ({"pole": "9x9x9"}, "r.pole.not_found", {"number": "9x9x9"}),
    ({"pole": None, "lon": 100.0, "lat": 10.0}, "refused.r.where", {}),
    ({"pole": None}, "refused.intake.where", {}),
])
def test_a_case_that_cannot_be_opened_is_refused_with_a_catalogue_key_said_in_both_languages(site, change, key,
                                                                                              params):
    from dashboard.i18n import translator

    body = {k: v for k, v in {"channel": "hotline_12345", "category": "C0107", "pole": "0412", **change}.items()
            if v is not None}
    r = site.client.post("/api/v1/cases", json=body, headers=site.bearer("admin"))
    assert r.status_code == 422, r.text
    got = r.json()
    assert got.get("key") == key and got.get("params") == params, got
    for lang in ("zh-CN", "en"):
        said = translator(lang)(key).format(**got["params"])
        assert said and "{" not in said and said != key
