"""The first admin's one-time password (printed once at the first start) is changed at the first sign-in,
before anything else is reachable."""

import pytest
from fastapi.testclient import TestClient

from app import create_app
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.runtime import Brain
from tests.api.conftest import ORIGIN

NEW = "a-new-admin-password"
pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the gate: no dialect in it


@pytest.fixture
def first_start(db, district):
    settings = Settings(simulate=False, escalate_after_s=0, monitor_interval_s=0)  # no BRAIN_ADMIN_PASSWORD
    brain = Brain(settings, district=district, db=db, bus=MemoryBus())
    db.create_schema()
    one_time = brain.auth.ensure_admin()
    assert one_time
    server, _ = create_app(brain=brain)
    with TestClient(server) as client:
        r = client.post("/login", data={"username": "admin", "password": one_time}, headers={"origin": ORIGIN},
                        follow_redirects=False)
        assert r.status_code == 303
        yield client, one_time


def test_nothing_but_the_password_change_is_reachable_with_a_one_time_password(first_start):
    client, _ = first_start
    r = client.get("/wall", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    assert client.get("/api/v1/me").status_code == 403
    assert client.post("/_dash-update-component", content="{}", headers={
        "origin": ORIGIN, "content-type": "application/json"}).status_code == 403
    assert "首次登录" in client.get("/password").text


def test_the_change_needs_the_current_password_a_new_one_twice_and_then_everything_is_open(first_start):
    client, one_time = first_start
    form = {"current": "wrong-password-x", "new": NEW, "repeat": NEW}
    assert client.post("/password", data=form, headers={"origin": ORIGIN}).status_code == 401
    assert client.post("/password", data={**form, "current": one_time, "repeat": NEW + "x"},
                       headers={"origin": ORIGIN}).status_code == 422
    assert client.post("/password", data={**form, "current": one_time, "new": one_time, "repeat": one_time},
                       headers={"origin": ORIGIN}).status_code == 422  # not the one-time password again
    r = client.post("/password", data={**form, "current": one_time}, headers={"origin": ORIGIN},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/wall"
    assert client.get("/api/v1/me").status_code == 200  # this session goes on
    assert client.get("/wall").status_code == 200
    with TestClient(client.app) as other:
        assert other.post("/login", data={"username": "admin", "password": one_time}, headers={"origin": ORIGIN},
                          follow_redirects=False).status_code == 401
        assert other.post("/login", data={"username": "admin", "password": NEW}, headers={"origin": ORIGIN},
                          follow_redirects=False).status_code == 303
