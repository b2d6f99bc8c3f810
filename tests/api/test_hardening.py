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
