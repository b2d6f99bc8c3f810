"""The field app's HTTP side: a person acts for their own staff member only, bad photos and far arrivals are
refused with their catalogue key, and nothing is stored for a refusal."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from PIL import Image
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from brain.field.models import Photo
from brain.staff.service import Fix
from brain.storage.db import utcnow
from tests.api.conftest import ORIGIN
from tests.brain.test_photos import photo_bytes

H = {"origin": ORIGIN}


def op() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def case_for(site):
    """A case assigned to its nearest suitable person, and that person's signed-in phone."""

    def make(pole="0412"):
        brain = site.brain
        # everyone has just reported where they are (the seeded positions grow stale as a run goes on)
        brain.staff.record_fixes([Fix(p.id, p.lon, p.lat, utcnow()) for p in brain.staff.roster() if p.lon is not None])
        case = brain.cases.open_case(channel="street_patrol", category="E0501", pole=pole, actor="patrol")
        sid = brain.dispatch.recommend(case.id).ranked[0].staff_id
        brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=sid)
        phone = site.login("field", staff_id=sid)
        task = phone.get("/api/v1/field/tasks").json()["tasks"][0]
        return brain.cases.get(case.id), sid, phone, task["task"]["id"]

    return make


def _other(site, not_):
    return next(s.id for s in site.brain.staff.roster() if s.id != not_)


def _photos(site) -> int:
    with site.brain.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Photo)))


def _upload(phone, case_id, data, kind="after", name="p.jpg", ctype="image/jpeg"):
    return phone.post("/api/v1/field/photos", headers=H, files={"file": (name, data, ctype)},
                      data={"case_id": str(case_id), "kind": kind, "taken_at": utcnow().isoformat()})


def test_a_field_person_sees_their_own_tasks_with_the_description_masked(site, case_for):
    site.brain.cases.masker.names = set()  # (a phone number is masked whatever the names)
    case, sid, phone, _task = case_for()
    tasks = phone.get("/api/v1/field/tasks").json()["tasks"]
    assert [t["case"]["id"] for t in tasks] == [case.id]
    c = tasks[0]["case"]
    assert c["pole"] == "0412" and c["committee"] and c["stage_due_at"] and tasks[0]["task"]["state"] == "assigned"
    other = site.login("field", staff_id=_other(site, sid))
    assert other.get("/api/v1/field/tasks").json()["tasks"] == []


def test_acting_on_someone_elses_task_is_403_with_its_key_and_changes_nothing(site, case_for):
    case, sid, _phone, task_id = case_for()
    other = site.login("field", staff_id=_other(site, sid))
    r = other.post(f"/api/v1/field/tasks/{task_id}/accept", headers=H, json={"op": op()})
    assert r.status_code == 403 and r.json()["key"] == "refused.field.not_yours"
    r = other.post(f"/api/v1/field/tasks/{task_id}/arrive", headers=H, json={
        "op": op(), "lon": case.lon, "lat": case.lat, "at": utcnow().isoformat()})
    assert r.status_code == 403
    assert site.brain.cases.get(case.id).status == "dispatched"


def test_a_field_account_reports_its_own_position_only(site, case_for):
    case, sid, phone, _task = case_for()
    other = _other(site, sid)
    fix = {"id": other, "lat": case.lat, "lon": case.lon, "timestamp": utcnow().isoformat()}
    r = phone.post("/api/v1/osmand", headers=H, json=fix)
    assert r.status_code == 403
    r = phone.post("/api/v1/field/position", headers=H, json={"lon": case.lon + 0.0003, "lat": case.lat,
                                                              "accuracy": 8.0, "at": utcnow().isoformat()})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    me = next(s for s in site.brain.staff.roster() if s.id == sid)
    assert me.lon == pytest.approx(case.lon + 0.0003)
    again = phone.post("/api/v1/field/position", headers=H, json={"lon": 121.9, "lat": 31.0,
                                                                  "at": utcnow().isoformat()})
    assert again.status_code == 422 and again.json()["key"] == "refused.position.out_of_district"


def test_bad_photos_are_refused_with_their_reason_and_nothing_is_stored(site, case_for, tmp_path):
    case, _sid, phone, _task = case_for()
    r = _upload(phone, case.id, b"%PDF-1.7 this is a document" * 50, name="x.pdf", ctype="application/pdf")
    assert r.status_code == 422 and r.json()["key"] == "refused.photo.unreadable"
    big = b"\xff\xd8\xff" + bytes(50 * 1024 * 1024)
    r = _upload(phone, case.id, big)
    assert r.status_code == 413 and r.json()["key"] == "refused.photo.request_too_large"
    other_case = site.brain.cases.open_case(channel="street_patrol", category="E0501", pole="0777", actor="patrol")
    r = _upload(phone, other_case.id, photo_bytes())
    assert r.status_code == 403 and r.json()["key"] == "refused.field.not_yours"
    r = _upload(phone, case.id, photo_bytes(), kind="selfie")
    assert r.status_code == 422
    assert _photos(site) == 0
    assert [f for f in (tmp_path / "photos").rglob("*") if f.is_file()] == []  # not a byte written


def test_a_photo_is_stored_stripped_and_the_wall_cannot_see_it(site, case_for):
    case, sid, phone, _task = case_for()
    r = _upload(phone, case.id, photo_bytes("PNG"), name="a.png", ctype="image/png")
    assert r.status_code == 201, r.text
    shot = r.json()
    assert shot["content_type"] == "image/png" and shot["event_id"] is None
    full = phone.get(f"/api/v1/photos/{shot['id']}")
    assert full.status_code == 200 and b"PhoneModel X" not in full.content
    thumb = site.login("dispatcher").get(f"/api/v1/photos/{shot['id']}?thumb=1")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).format == "JPEG"
    assert site.login("wall").get(f"/api/v1/photos/{shot['id']}").status_code == 403
    assert site.login("field", staff_id=_other(site, sid)).get(f"/api/v1/photos/{shot['id']}").status_code == 403


def test_arrival_far_away_is_refused_with_the_distance_then_taken_with_a_reason(site, case_for):
    case, _sid, phone, task_id = case_for()
    body = {"op": op(), "lon": case.lon + 0.002, "lat": case.lat, "at": utcnow().isoformat()}
    r = phone.post(f"/api/v1/field/tasks/{task_id}/arrive", headers=H, json=body)
    assert r.status_code == 422 and r.json()["key"] == "refused.field.far"
    assert r.json()["params"]["distance"] > 150 and r.json()["params"]["radius"] == 50
    assert site.brain.cases.get(case.id).status == "dispatched"
    r = phone.post(f"/api/v1/field/tasks/{task_id}/arrive", headers=H, json={**body, "reason": "小区封闭施工"})
    assert r.status_code == 200 and r.json()["case_status"] == "handling"


def test_an_action_sent_again_gets_its_first_answer(site, case_for):
    _case, _sid, phone, task_id = case_for()
    body = {"op": op()}
    first = phone.post(f"/api/v1/field/tasks/{task_id}/accept", headers=H, json=body).json()
    again = phone.post(f"/api/v1/field/tasks/{task_id}/accept", headers=H, json=body).json()
    assert again == {**first, "repeat": True}


@pytest.mark.parametrize("role", ["dispatcher", "wall", "admin"])
def test_an_account_that_is_no_staff_members_cannot_use_the_field_routes(site, role):
    client = site.login(role)
    r = client.get("/api/v1/field/tasks")
    assert r.status_code == 403


def test_the_push_socket_is_for_field_people(site, case_for):
    _case, sid, phone, _task = case_for()
    with phone.websocket_connect("/api/v1/field/ws", headers=H) as ws:
        assert ws.receive_json() == {"type": "hello", "staff_id": sid}
        # a task given to this person is told at once
        case = site.brain.cases.open_case(channel="street_patrol", category="E0501", pole="0777", actor="patrol")
        site.brain.staff.set_status(sid, "available", actor="test")
        site.brain.dispatch.assign(case.id, actor="person:disp", version=None, staff_id=sid)
        msg = ws.receive_json()
        assert msg["type"] == "task" and msg["case_id"] == case.id and msg["step"] == "assigned"
    with pytest.raises(WebSocketDisconnect), site.login("dispatcher").websocket_connect(
            "/api/v1/field/ws", headers=H) as ws:
        ws.receive_json()


def test_the_route_goes_along_the_roads_with_distance_and_eta(site, case_for):
    case, _sid, phone, task_id = case_for()
    r = phone.get(f"/api/v1/field/tasks/{task_id}/route", params={"lon": case.lon + 0.004, "lat": case.lat + 0.002})
    assert r.status_code == 200
    out = r.json()
    assert len(out["path"]) >= 3 and out["roads"]
    assert out["path"][-1] == pytest.approx([case.lon, case.lat], abs=1e-6)
    assert out["distance_m"] > 400 and out["eta_s"] > 0  # farther by road than the ~440 m straight line


def test_the_app_shell_is_served_here_with_its_texts_and_may_use_position_and_camera(site):
    c = site.client
    shell = c.get("/m/")
    assert shell.status_code == 200 and "/m/app.js" in shell.text
    assert "geolocation=(self)" in shell.headers["permissions-policy"]
    assert "geolocation=()" in c.get("/api/v1/health").headers["permissions-policy"]
    manifest = json.loads(c.get("/m/manifest.webmanifest").content)
    assert manifest["start_url"] == "/m/" and {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    sw = c.get("/m/sw.js").text
    assert "__VERSION__" not in sw
    zh, en = c.get("/m/texts.json?lang=zh-CN").json(), c.get("/m/texts.json?lang=en").json()
    assert zh["m.arrive"] == "到达现场" and en["m.arrive"] == "I have arrived" and zh.keys() == en.keys()
    assert zh["cat.E0501"] and "refused.field.far" in zh
    assert c.get("/m", follow_redirects=False).status_code == 303
