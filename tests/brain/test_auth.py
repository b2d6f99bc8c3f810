"""Accounts, argon2 passwords, tokens, sessions, throttling and the first-start admin."""

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from brain.auth.enums import HUMAN_ROLES, ROLE_PERMISSIONS, Permission, Role
from brain.auth.models import Account, ApiToken, WebSession
from brain.auth.service import (
    MAX_FAILURES_PER_ACCOUNT,
    AuthError,
    LoginFailed,
    LoginThrottled,
)
from brain.events import audit
from brain.storage.db import utcnow
from tests.conftest import ROOT

PASSWORD = "correct horse battery"


@pytest.fixture
def auth(brain):
    return brain.auth


def test_first_start_creates_an_admin_with_a_one_time_password_once(brain):
    # the brain fixture started once already: an admin exists and no second one is made
    assert brain.auth.ensure_admin() is None
    with brain.db.read() as s:
        admin = s.scalar(select(Account).where(Account.username == "admin"))
    assert admin.role == "admin" and admin.password_hash.startswith("$argon2id$")


def test_given_admin_password_is_used_else_one_is_generated(db, district):
    from brain.auth.service import AuthService
    from brain.events.bus import MemoryBus
    from brain.events.log import Store

    fresh = AuthService(Store(db, MemoryBus()))
    with db.transaction() as s:  # start from an empty account table
        s.query(WebSession).delete()
        s.query(ApiToken).delete()
        s.query(Account).delete()
    assert fresh.ensure_admin("an-admin-password") is None
    fresh.login("admin", "an-admin-password")
    with db.transaction() as s:
        s.query(WebSession).delete()
        s.query(Account).delete()
    generated = fresh.ensure_admin()
    assert generated and len(generated) >= 12
    fresh.login("admin", generated)


def test_passwords_are_argon2_hashed_and_checked(auth, brain):
    auth.create_account(username="li", role="dispatcher", password=PASSWORD, actor="t")
    with brain.db.read() as s:
        stored = s.scalar(select(Account.password_hash).where(Account.username == "li"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    cookie, who = auth.login("li", PASSWORD, source="10.0.0.1")
    assert who.role is Role.DISPATCHER and auth.session_principal(cookie) == who
    with pytest.raises(LoginFailed):
        auth.login("li", "wrong password!", source="10.0.0.1")
    with pytest.raises(LoginFailed):
        auth.login("nobody", PASSWORD, source="10.0.0.1")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "x", "role": "dispatcher", "password": PASSWORD}, "username"),
    ({"username": "ok", "role": "mayor", "password": PASSWORD}, "unknown role"),
    ({"username": "ok", "role": "dispatcher", "password": "short"}, "at least"),
    ({"username": "ok", "role": "gateway", "password": PASSWORD}, "service accounts"),
])
def test_bad_accounts_are_refused(auth, kwargs, message):
    with pytest.raises(AuthError, match=message):
        auth.create_account(actor="t", **kwargs)


def test_duplicate_username_is_refused(auth):
    auth.create_account(username="wang", role="operator", password=PASSWORD, actor="t")
    with pytest.raises(AuthError, match="taken"):
        auth.create_account(username="wang", role="leader", password=PASSWORD, actor="t")


def test_logins_are_throttled_after_repeated_failures_even_with_the_right_password(auth):
    auth.create_account(username="zhao", role="operator", password=PASSWORD, actor="t")
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(LoginFailed):
            auth.login("zhao", "guess-guess-guess", source="10.0.0.9")
    with pytest.raises(LoginThrottled):
        auth.login("zhao", PASSWORD, source="10.0.0.9")


def test_every_login_and_failure_is_audited(auth, brain):
    auth.create_account(username="sun", role="leader", password=PASSWORD, actor="t")
    auth.login("sun", PASSWORD, source="10.1.1.1")
    with pytest.raises(LoginFailed):
        auth.login("sun", "nope-nope-nope", source="10.1.1.2")
    rows = audit.query(brain.db, action="auth.*", subject="account:sun")
    assert [r["action"] for r in rows] == ["auth.login_failed", "auth.login"]
    assert rows[0]["source"] == "10.1.1.2"


def test_logout_and_expiry_end_a_session(auth, brain):
    auth.create_account(username="qian", role="wall", password=PASSWORD, actor="t")
    cookie, _ = auth.login("qian", PASSWORD)
    auth.logout(cookie)
    assert auth.session_principal(cookie) is None
    cookie, _ = auth.login("qian", PASSWORD)
    with brain.db.transaction() as s:
        for row in s.scalars(select(WebSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    assert auth.session_principal(cookie) is None


def test_tokens_are_shown_once_stored_hashed_and_revocable(auth, brain):
    token = auth.create_token(name="hotline", role="intake", actor="t")
    assert token.startswith("cbt_") and len(token) > 40
    with brain.db.read() as s:
        row = s.scalar(select(ApiToken))
    assert token not in row.token_hash and row.prefix == token[:10]
    who = auth.authenticate_token(token)
    assert who.role is Role.INTAKE and who.kind == "service" and who.can(Permission.OPEN_CASE)
    assert not who.can(Permission.MOVE_CASE)
    assert auth.authenticate_token(token + "x") is None and auth.authenticate_token("") is None
    assert auth.revoke_token(row.prefix, actor="t") == 1
    assert auth.authenticate_token(token) is None


def test_a_service_account_cannot_sign_in_with_a_password(auth):
    auth.create_token(name="gateway", role="gateway", actor="t")
    with pytest.raises(LoginFailed):
        auth.login("gateway", "")


def test_role_table_wall_is_read_only_and_admin_can_everything():
    assert ROLE_PERMISSIONS[Role.WALL] == {Permission.VIEW_MAP}
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(Permission)
    assert Role.WALL in HUMAN_ROLES and Role.GATEWAY not in HUMAN_ROLES
    for role in Role:
        assert role in ROLE_PERMISSIONS


def test_cli_create_token_prints_the_token_alone(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    out = subprocess.run([sys.executable, "-m", "brain.auth", "create-token", "--role", "dispatcher", "--name",
                          "hotline"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cbt_")
    bad = subprocess.run([sys.executable, "-m", "brain.auth", "create-user", "--username", "li", "--role",
                          "dispatcher"], cwd=ROOT, env={**env, "BRAIN_NEW_PASSWORD": "short"}, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "at least" in bad.stderr
