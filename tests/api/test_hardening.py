"""Headers, CSRF, size limits, login throttling, redirects, masking and the audit trail over HTTP."""

import json
import re

import pytest

from brain.auth.service import MAX_FAILURES_PER_ACCOUNT
from tests.api.conftest import ADMIN_PASSWORD, ORIGIN


def home(site) -> dict:
    places = site.brain.district.places
    return places[places["kind"] == "home"].iloc[0].to_dict()


def test_every_response_carries_a_self_only_content_security_policy(site):
    for r in (site.client.get("/login"), site.client.get("/api/v1/health"), site.client.get("/wall"),
              site.login("wall").get("/wall")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert not re.search(r"https?://", csp)
        assert r.headers["x-content-type-options"] == "nosniff"


def test_session_cookie_is_http_only_and_same_site_strict(site):
    r = site.client.post("/login", content=f"username=admin&password={ADMIN_PASSWORD}",
                         headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN},
                         follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "brain_session=" in cookie


@pytest.mark.parametrize("origin", [None, "http://evil.example"])
def test_cookie_authenticated_changes_from_another_site_are_refused(site, origin):
    client = site.login("admin")
    headers = {"content-type": "application/json"}
    if origin:
        headers["origin"] = origin
    r = client.post("/_dash-update-component", content="{}", headers=headers)
    assert r.status_code == 403 and "cross-site" in r.json()["error"]
    r = client.post("/logout", headers={"origin": origin} if origin else {})
    assert r.status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # still signed in


def test_token_requests_need_no_origin(site):
    r = site.client.post(f"/api/v1/places/{home(site)['id']}/unmask", json={"reason": "上门核实"},
                         headers=site.bearer("dispatcher"))
    assert r.status_code == 200


def test_oversized_bodies_are_refused_before_they_are_read(site):
    big = json.dumps({"reason": "x" * 70_000})
    r = site.client.post(f"/api/v1/places/{home(site)['id']}/unmask", content=big,
                         headers={**site.bearer("dispatcher"), "content-type": "application/json"})
    assert r.status_code == 413
    r = site.login("admin").post("/_dash-update-component", content="x" * 1_100_000,
                                 headers={"origin": ORIGIN, "content-type": "application/json"})
    assert r.status_code == 413


def test_repeated_failed_logins_are_throttled_over_http(site):
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        r = site.client.post("/login", content="username=admin&password=wrong-wrong",
                             headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN})
        assert r.status_code == 401
    r = site.client.post("/login", content=f"username=admin&password={ADMIN_PASSWORD}",
                         headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


@pytest.mark.parametrize("target", ["//evil.example/x", "http://evil.example", "/\\evil", "javascript:alert(1)"])
def test_login_never_redirects_to_another_host(site, target):
    r = site.client.post("/login", content=f"username=admin&password={ADMIN_PASSWORD}&next={target}",
                         headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN},
                         follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/wall"


def test_login_page_escapes_what_it_echoes(site):
    r = site.client.post("/login", content="username=%3Cscript%3Ealert(1)%3C/script%3E&password=x",
                         headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN})
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    r = site.client.get('/login?next=/wall"><script>alert(1)</script>')
    assert "<script>alert(1)</script>" not in r.text


def test_personal_data_is_masked_until_unmasked_with_a_reason_and_the_unmasking_is_audited(site):
    h = home(site)
    masked = site.client.get(f"/api/v1/places/{h['id']}", headers=site.bearer("operator")).json()
    assert masked["masked"] is True
    assert masked["occupant"] != h["occupant"] and masked["occupant"][0] == h["occupant"][0]
    assert masked["phone"] == h["phone"][:3] + "****" + h["phone"][-4:]
    assert masked["age"].endswith("+") and h["address"] not in masked["address"]
    r = site.client.post(f"/api/v1/places/{h['id']}/unmask", json={}, headers=site.bearer("dispatcher"))
    assert r.status_code == 422
    r = site.client.post(f"/api/v1/places/{h['id']}/unmask", json={"reason": "独居老人烟感告警，上门核实"},
                         headers=site.bearer("dispatcher"))
    clear = r.json()
    assert clear["occupant"] == h["occupant"] and clear["phone"] == h["phone"] and clear["masked"] is False
    rows = site.client.get("/api/v1/audit", params={"action": "privacy.*"}, headers=site.bearer("admin")).json()
    assert rows[0]["actor"] == "service:t-dispatcher" and rows[0]["subject"] == f"place:{h['id']}"
    assert rows[0]["detail"]["reason"] == "独居老人烟感告警，上门核实"


def test_audit_log_filters_and_refuses_naive_times(site):
    site.login("leader")
    admin = site.bearer("admin")
    rows = site.client.get("/api/v1/audit", params={"action": "auth.login"}, headers=admin).json()
    assert rows and all(r["action"] == "auth.login" for r in rows)
    assert any(r["subject"] == "account:p-leader" for r in rows)
    r = site.client.get("/api/v1/audit", params={"since": "2026-11-22T08:00:00"}, headers=admin)
    assert r.status_code == 422
    r = site.client.get("/api/v1/audit", params={"since": "2026-11-22T08:00:00+08:00"}, headers=admin)
    assert r.status_code == 200


PERSONAL = "居民{name} 电话13812345678, 住3号楼1502室，楼道堆物"


def _personal_case(site):
    places = site.brain.district.places
    name = str(places[places["occupant"].notna()]["occupant"].iloc[0])
    typed = PERSONAL.format(name=name)
    case = site.brain.cases.open_case(channel="hotline_12345", category="C0107", description=typed, pole="0412",
                                      actor="test")
    return case, typed, name


def test_personal_data_a_call_taker_typed_never_reaches_the_wall(site):
    from brain.privacy import mask_name

    case, _typed, name = _personal_case(site)
    from tests.api.test_access_matrix import _callback_body, _post_callback

    wall = site.login("wall")
    answer = _post_callback(wall, _callback_body(site, "page.children"))  # the wall: feed, map and its hover text
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "13812345678" not in text and name not in text and "1502室" not in text
    from dash.development.base_component import Component

    from dashboard.live import LiveSession

    pushed = LiveSession(site.brain).step(None, {"locale": "zh-CN", "path": "/wall"})  # and what its loop pushes
    text = json.dumps(pushed, default=Component.to_plotly_json, ensure_ascii=False)
    assert "13812345678" not in text and name not in text and "1502室" not in text
    page = _post_callback(wall, _callback_body(site, "page.children")).content.decode()
    assert "· 0412" in page and mask_name(name) not in page  # the feed shows the case, not even masked words
    operator = site.client.get(f"/api/v1/cases/{case.id}", headers=site.bearer("operator")).json()
    assert "13812345678" not in json.dumps(operator, ensure_ascii=False) and name not in operator["description"]
    assert all(name not in json.dumps(e, ensure_ascii=False) for e in operator["timeline"])


def test_the_dispatcher_reads_the_description_as_typed_and_the_audit_log_says_so(site):
    case, typed, _name = _personal_case(site)
    h = site.bearer("dispatcher")
    for _ in range(3):
        body = site.client.get(f"/api/v1/cases/{case.id}", headers=h).json()
        assert body["description"] == typed
    rows = site.client.get("/api/v1/audit", params={"action": "privacy.unmask", "subject": f"case:{case.id}"},
                           headers=site.bearer("admin")).json()
    assert len(rows) == 1 and rows[0]["actor"].endswith("t-dispatcher")  # once an hour, not at every read


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/kpi", {"from": "0001-01-01", "to": "0001-01-02"}),
    ("/api/v1/kpi", {"from": "9999-12-31"}),
    ("/api/v1/kpi", {"from": "2026-11-01T00:00:00+00:00", "to": "9999-12-31T23:59:59+00:00"}),
    ("/api/v1/audit", {"since": "0001-01-01T00:00:00+00:00"}),
    ("/api/v1/audit", {"until": "9999-12-31T23:59:59+14:00"}),
])
def test_windows_at_the_ends_of_the_calendar_are_a_422_not_a_500(site, path, params):
    r = site.client.get(path, params=params, headers=site.bearer("admin"))
    assert r.status_code == 422 and "between" in r.json()["error"]


@pytest.mark.parametrize("reason", ["   ", " x ", "\t\n"])
def test_an_unmask_reason_of_blanks_is_a_422(site, reason):
    r = site.client.post(f"/api/v1/places/{home(site)['id']}/unmask", json={"reason": reason},
                         headers=site.bearer("dispatcher"))
    assert r.status_code == 422


def test_a_readers_bad_query_on_an_ingest_path_is_no_refused_message(site):
    from sqlalchemy import func, select

    from brain.ingest.models import IngestReject

    r = site.client.get("/api/v1/alarms", params={"limit": 0}, headers=site.bearer("wall"))
    assert r.status_code == 422
    with site.brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IngestReject)) == 0


@pytest.mark.parametrize(("path", "body", "role"), [
    ("/api/v1/cases/1/transition", {"to": "registered", "version": True}, "admin"),
    ("/api/v1/cases/1/assign", {"team_id": "T01", "version": 1.0}, "admin"),
    ("/api/v1/osmand", {"id": "S00001", "lat": True, "lon": 121.45, "timestamp": "1"}, "field"),
    ("/api/v1/osmand", {"id": "S00001", "lat": "31.33", "lon": 121.45, "timestamp": "1"}, "field"),
    ("/api/v1/cases", {"channel": "wechat", "category": "C0107", "lon": True, "lat": 31.33}, "admin"),
    ("/api/v1/devices/D1/maintenance", {"on": "yes", "reason": "work order"}, "admin"),
    ("/api/v1/devices/D1/status", {"ts": "2026-01-01T08:00:00+08:00", "activity": 1}, "gateway"),
])
def test_values_of_the_wrong_type_are_refused_not_coerced(site, path, body, role):
    r = site.client.post(path, json=body, headers=site.bearer(role))
    assert r.status_code == 422, r.text


def test_a_json_true_is_no_coordinate_over_mqtt_either(site):
    person = site.brain.staff.roster()[0]
    out = site.brain.ingest.handle_position({"lat": True, "lon": 121.45, "timestamp": 1}, source="t",
                                            staff_from_topic=person.id)
    assert (out.status, out.reason) == ("rejected", "bad_field")


def _move(site, client, drawn: dict, to: str):
    """The dispatch page's move button for `to`, clicked on a card drawn from `drawn`."""
    from tests.api.test_access_matrix import _callback_body, _post_callback

    body = _callback_body(site, "dispatch-message.children")
    button = {"type": "move", "to": to}
    body["inputs"][1] = [{"id": button, "property": "n_clicks", "value": 1}]
    body["changedPropIds"] = [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"]
    for slot in body["state"]:
        if slot["id"] == "card-drawn":
            slot["value"] = drawn
    return _post_callback(client, body)


def test_of_two_dispatchers_on_one_card_the_second_is_told_of_the_conflict_not_silently_overriding(site):
    case = site.brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="test")
    drawn = {"case": case.id, "version": case.version}  # both cards were drawn from this version
    first, second = site.login("dispatcher"), site.login("admin")
    assert _move(site, first, drawn, "registered").status_code == 200
    assert site.brain.cases.get(case.id).status == "registered"
    r = _move(site, second, drawn, "cancelled")
    assert r.status_code == 200 and "案件已被他人修改" in r.content.decode()
    assert site.brain.cases.get(case.id).status == "registered"  # the first decision stands


def test_a_fault_of_ours_on_an_ingest_route_is_a_503_without_the_errors_text(site, monkeypatch):
    from brain.alarms.service import AlarmService

    class Broken(AlarmService):
        def raise_many(self, messages, **kw):
            raise RuntimeError('(psycopg.errors.X) SELECT secret FROM "alarms" WHERE ...')

    monkeypatch.setattr(site.brain.ingest, "alarms", Broken(site.brain.store))
    devices = site.brain.district.devices
    dev = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
    r = site.client.post("/api/v1/alarms", json={"device_id": dev, "type": "smoke",
                                                 "ts": "2026-01-01T08:00:00+08:00"}, headers=site.bearer("gateway"))
    assert r.status_code in (422, 503)  # (a stale time is refused before the fault is reached)
    from brain.storage.db import utcnow

    r = site.client.post("/api/v1/alarms", json={"device_id": dev, "type": "smoke", "ts": utcnow().isoformat()},
                         headers=site.bearer("gateway"))
    assert r.status_code == 503 and "send it again" in r.json()["error"]
    assert "SELECT" not in r.text and "psycopg" not in r.text


def test_the_alarm_panel_marks_a_flapping_device_whose_smoke_alarm_is_still_raised(site):
    from datetime import timedelta

    from brain.storage.db import utcnow
    from tests.api.test_access_matrix import _callback_body, _post_callback

    devices = site.brain.district.devices
    dev = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
    t = utcnow() - timedelta(minutes=8)
    for i in range(4):
        out = site.brain.ingest.handle_alarm({"device_id": dev, "type": "smoke",
                                              "ts": (t + timedelta(minutes=2 * i)).isoformat()}, source="t")
        assert out.status == "accepted" and out.created
        if i < 3:
            site.brain.alarms.clear(out.id, actor="device")
    panel = _post_callback(site.login("operator"), _callback_body(site, "alarm-panel.children")).content.decode()
    assert dev in panel and "频繁触发" in panel


@pytest.mark.parametrize("path", ["/nope", "/open311x/v2/services.json", "/wall/extra", "/admin"])
def test_an_unknown_page_is_a_404_signed_in_or_not(site, path):
    for client in (site.client, site.login("dispatcher")):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 404 and "页面不存在" in r.text


@pytest.mark.parametrize("path", ["/", "/wall", "/dispatch", "/kpi", "/audit"])
def test_the_pages_of_the_ui_are_served(site, path):
    assert site.login("admin").get(path).status_code == 200


@pytest.mark.parametrize(("role", "home"), [("dispatcher", "/dispatch"), ("leader", "/kpi"), ("wall", "/wall"),
                                            ("operator", "/dispatch"), ("admin", "/wall")])
def test_after_signing_in_each_role_lands_on_its_own_view_unless_a_page_asked(site, role, home):
    from tests.api.conftest import PASSWORD

    username = "admin" if role == "admin" else f"home-{role}"
    if role != "admin":
        site.brain.auth.create_account(username=username, role=role, password=PASSWORD, actor="test")
    password = ADMIN_PASSWORD if role == "admin" else PASSWORD
    for asked, lands in (("", home), ("/kpi", "/kpi")):
        r = site.client.post("/login", data={"username": username, "password": password, "next": asked},
                             headers={"origin": ORIGIN}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == lands
