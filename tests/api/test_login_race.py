"""Sign-in under attack, over a real server: parallel guesses cannot pass the per-account limit, a client's
own X-Forwarded-For names nobody, password checks run a few at a time, and a new password ends every
session of the account."""

from __future__ import annotations

import resource
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from brain.auth.service import MAX_FAILURES_PER_ACCOUNT
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.events.models import AuditRecord
from brain.runtime import Brain
from tools.serve import serve

ADMIN_PASSWORD = "race-admin-password"
PASSWORD = "race-person-password"


def _served(db, district, **settings):
    s = Settings(simulate=False, escalate_after_s=0, monitor_interval_s=0, admin_password=ADMIN_PASSWORD,
                 **settings)
    return serve(s, Brain(s, district=district, db=db, bus=MemoryBus()))


def _login(url: str, username: str, password: str, headers: dict | None = None) -> int:
    with httpx.Client(base_url=url, timeout=60) as c:
        return c.post("/login", data={"username": username, "password": password},
                      headers={"origin": url, **(headers or {})}, follow_redirects=False).status_code


def _audits(brain, action: str, subject: str | None = None) -> list[AuditRecord]:
    with brain.db.read() as s:
        q = select(AuditRecord).where(AuditRecord.action == action)
        return list(s.scalars(q.where(AuditRecord.subject == subject) if subject else q))


def test_thirty_parallel_guesses_check_no_more_passwords_than_the_limit_and_ignore_forwarded_for(concurrent_db,
                                                                                                    district):
    with _served(concurrent_db, district) as app:
        app.brain.auth.create_account(username="zhou", role="operator", password=PASSWORD, actor="t")
        tries = [f"wrong-password-{i:02d}" for i in range(29)] + [PASSWORD]
        with ThreadPoolExecutor(30) as pool:
            codes = list(pool.map(lambda i: _login(app.url, "zhou", tries[i], {"x-forwarded-for": f"10.9.0.{i}"}),
                                  range(30)))
        failed = _audits(app.brain, "auth.login_failed", "account:zhou")
        assert len(failed) <= MAX_FAILURES_PER_ACCOUNT, codes
        assert codes.count(429) >= 30 - MAX_FAILURES_PER_ACCOUNT
        assert codes.count(401) + codes.count(303) <= MAX_FAILURES_PER_ACCOUNT
        # the address every row names is the connection's, not what the client claimed
        assert {r.source for r in failed + _audits(app.brain, "auth.login_throttled")} == {"127.0.0.1"}


def test_sixty_parallel_failed_logins_hash_a_few_at_a_time(concurrent_db, district):
    # behind a trusted proxy each attempt has its own address, so no address limit stops them early
    with _served(concurrent_db, district, trusted_proxies="127.0.0.1") as app:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
        with ThreadPoolExecutor(60) as pool:
            codes = list(pool.map(lambda i: _login(app.url, f"nobody{i}", "wrong-password-x",
                                                   {"x-forwarded-for": f"10.8.{i // 200}.{i % 200}"}), range(60)))
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert set(codes) <= {401, 429} and codes.count(401) >= 1
        with app.brain.db.read() as s:
            sources = set(s.scalars(select(AuditRecord.source).where(AuditRecord.action == "auth.login_failed")))
        assert "10.8.0.7" in sources  # the trusted proxy's header names the client
        # argon2 takes 64 MiB a check: 60 at once would take close to 4 GiB; two at a time, about 128 MiB
        assert grown_mib < 1024, f"the process grew by {grown_mib:.0f} MiB"


def test_a_new_password_ends_every_session_of_the_account(concurrent_db, district):
    with _served(concurrent_db, district) as app:
        app.brain.auth.create_account(username="wu", role="operator", password=PASSWORD, actor="t")
        with httpx.Client(base_url=app.url) as old:
            assert old.post("/login", data={"username": "wu", "password": PASSWORD},
                            headers={"origin": app.url}).status_code in (200, 303)
            assert old.get("/api/v1/me").status_code == 200
            app.brain.auth.set_password("wu", "a-brand-new-password", actor="person:admin")
            assert old.get("/api/v1/me").status_code == 401
        assert _login(app.url, "wu", PASSWORD) == 401
        assert _login(app.url, "wu", "a-brand-new-password") == 303


@pytest.mark.parametrize(("username", "status"), [("ad\x00min", 400), ("\ud800", 400), ("a/b" * 100, 401),
                                                ("王 秀英", 401)])
def test_a_username_no_account_can_have_is_a_plain_failure(concurrent_db, district, username, status):
    """Text no database can store is refused at the boundary (400); any other impossible name is a failed
    sign-in recorded without the name as typed (401)."""
    form = f"username={quote(username, errors='surrogatepass')}&password=whatever-whatever"
    with _served(concurrent_db, district) as app, httpx.Client(base_url=app.url) as c:
        r = c.post("/login", content=form, headers={"origin": app.url,
                                                    "content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == status
        assert len(_audits(app.brain, "auth.login_failed", "account:?")) == (status == 401)
