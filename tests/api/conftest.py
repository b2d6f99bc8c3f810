"""The whole app in-process (TestClient runs its lifespan), with an account and a token per role."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import create_app
from brain.auth.enums import Role
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.runtime import Brain
from tests.conftest import devices_just_heard

ADMIN_PASSWORD = "admin-password-for-tests"
PASSWORD = "a-long-enough-password"
ORIGIN = "http://testserver"


class Site:
    def __init__(self, client: TestClient, brain: Brain, callback_permissions: dict) -> None:
        self.client, self.brain, self.callback_permissions = client, brain, callback_permissions
        self.tokens: dict[str, str] = {}
        self.sessions: dict[tuple, TestClient] = {}

    def token(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = self.brain.auth.create_token(name=f"t-{role}", role=role, actor="test")
        return self.tokens[role]

    def bearer(self, role: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(role)}"} if role else {}

    def login(self, role: str, *, staff_id: str | None = None) -> TestClient:
        """A client signed in (cookie) as a person with `role` (a field person or supervisor: as the staff
        member `staff_id`, the first one by default); one sign-in per person for the site's life."""
        if role in (Role.FIELD, Role.SUPERVISOR):
            staff_id = staff_id or self.brain.staff.roster()[0].id
        if (role, staff_id) in self.sessions:
            return self.sessions[(role, staff_id)]
        username = f"p-{role}" + (f"-{staff_id}" if staff_id else "")
        if role != "admin":
            try:
                self.brain.auth.create_account(username=username, role=role, password=PASSWORD, actor="test",
                                               staff_id=staff_id)
            except ValueError:
                pass
        c = TestClient(self.client.app)
        r = c.post("/login", content=f"username={'admin' if role == 'admin' else username}"
                                     f"&password={ADMIN_PASSWORD if role == 'admin' else PASSWORD}",
                   headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        self.sessions[(role, staff_id)] = c
        return c


def built(db, district, photos: Path):
    """The whole app on `db` with its client running: yields the Site."""
    settings = Settings(simulate=False, escalate_after_s=0, monitor_interval_s=0, admin_password=ADMIN_PASSWORD,
                        photo_dir=photos)
    brain = Brain(settings, district=district, db=db, bus=MemoryBus())
    server, _ = create_app(brain=brain)
    perms = server.state.callback_permissions
    with TestClient(server) as c:
        devices_just_heard(brain)
        yield Site(c, brain, perms)


def sqlite_site(tmp_path_factory, district, name: str):
    """The whole app on a SQLite file of its own, for a module's tests to share: yields the Site."""
    from brain.storage.db import Database

    folder = tmp_path_factory.mktemp(name)
    db = Database(f"sqlite:///{folder / 'brain.sqlite3'}")
    db.create_schema()
    yield from built(db, district, folder / "photos")


@pytest.fixture
def site(db, district, tmp_path):
    """The app afresh for each test."""
    yield from built(db, district, tmp_path / "photos")


HUMAN = [r.value for r in (Role.WALL, Role.OPERATOR, Role.DISPATCHER, Role.LEADER, Role.ADMIN)]
FIELD_PEOPLE = [r.value for r in (Role.FIELD, Role.SUPERVISOR)]  # people tied to a staff member
SERVICE = [r.value for r in (Role.INTAKE, Role.GATEWAY, Role.FIELD)]
