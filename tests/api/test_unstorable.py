"""Text no database can store (NUL, lone surrogates, bytes that are not UTF-8) and JSON nested past any
intake's depth are refused with a 400 at the HTTP boundary, on every intake, before authentication, a
route or the database sees them: never a 500, nothing written."""

import json

import pytest
from sqlalchemy import func, select

from brain.cases.models import Case
from tests.api.conftest import ORIGIN

NUL, SURROGATE = "\\u0000", "\\ud800"


def _json(site, role, method, path, text: str):
    return site.client.request(method, path, content=text.encode(), headers={
        **site.bearer(role), "content-type": "application/json"})


BODIES = {  # (role, method, path, a JSON body with {bad} where text goes)
    "open case": ("admin", "POST", "/api/v1/cases", '{"channel": "wechat", "category": "C0107", "pole": "0412", '
                                                     '"description": "x{bad}y"}'),
    "transition": ("admin", "POST", "/api/v1/cases/1/transition", '{"to": "registered", "version": 1, '
                                                                  '"note": "{bad}"}'),
    "assign": ("admin", "POST", "/api/v1/cases/1/assign", '{"version": 1, "staff_id": "S{bad}"}'),
    "feedback": ("admin", "POST", "/api/v1/cases/1/feedback", '{"satisfaction": "satisfied", "note": "{bad}"}'),
    "unmask": ("admin", "POST", "/api/v1/places/P1/unmask", '{"reason": "{bad}"}'),
    "alarm": ("gateway", "POST", "/api/v1/alarms", '{"device_id": "D{bad}", "type": "smoke", "ts": 1}'),
    "position": ("field", "POST", "/api/v1/osmand", '{"id": "S00001{bad}", "lat": 31.33, "lon": 121.45, '
                                                    '"timestamp": 1}'),
    "status": ("gateway", "POST", "/api/v1/devices/D1/status", '{"ts": 1, "x": "{bad}"}'),
    "maintenance": ("admin", "POST", "/api/v1/devices/D1/maintenance", '{"on": true, "reason": "{bad}"}'),
    "welfare": ("admin", "POST", "/api/v1/alarms/A1/welfare", '{"outcome": "resident_ok", "note": "{bad}"}'),
    "callback": ("admin", "POST", "/_dash-update-component",
                 '{"output": "page.children", "inputs": [{"id": "url", "property": "pathname", "value": "{bad}"}]}'),
}


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
@pytest.mark.parametrize("intake", sorted(BODIES))
def test_unstorable_text_in_a_json_body_is_a_400_on_every_intake(site, intake, bad):
    role, method, path, body = BODIES[intake]
    client = site.login(role) if path.startswith("/_dash") else site.client
    headers = {"content-type": "application/json", "origin": ORIGIN,
               **({} if path.startswith("/_dash") else site.bearer(role))}
    r = client.request(method, path, content=body.replace("{bad}", bad).encode(), headers=headers)
    assert r.status_code == 400, r.text
    assert "cannot be stored" in r.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/poles/04%0012", "/api/v1/poles/nearest?lon=121.45&lat=31.33&x=%00",
                                  "/api/v1/audit?actor=%ED%A0%80", "/api/v1/audit?actor=%FF"])
def test_unstorable_text_in_a_path_or_query_is_a_400(site, path):
    r = site.client.get(path, headers=site.bearer("admin"))
    assert r.status_code == 400 and "cannot be stored" in r.json()["error"]


def test_a_nul_in_the_login_form_is_a_400_before_any_account_is_looked_up(site):
    r = site.client.post("/login", content="username=ad%00min&password=whatever-whatever",
                         headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN})
    assert r.status_code == 400


def test_json_nested_past_any_intake_is_a_400_and_nothing_is_written(site):
    deep = '{"channel": "wechat", "category": "C0107", "pole": "0412", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    with site.brain.db.read() as s:
        before = s.scalar(select(func.count()).select_from(Case))
    r = _json(site, "admin", "POST", "/api/v1/cases", deep)
    assert r.status_code == 400 and "deep" in r.json()["error"]
    with site.brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == before


def test_ordinary_text_with_emoji_and_escaped_backslashes_still_passes(site):
    body = json.dumps({"channel": "wechat", "category": "C0107", "pole": "0412",
                       "description": "路灯不亮 😀 路径 C:\\\\u0000x"})
    assert _json(site, "admin", "POST", "/api/v1/cases", body).status_code == 201
