"""Accounts, passwords (argon2id), API tokens, browser sessions and login throttling.

Passwords are hashed with argon2id; tokens and session ids are random and stored only as SHA-256
digests, so a copy of the database gives no way in. Every account change is an event with its
audit row; every login, refused login and logout is an audit row.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import CursorResult, Table, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from brain.auth.enums import HUMAN_ROLES, ROLE_PERMISSIONS, STAFF_ROLES, Permission, Role
from brain.auth.models import Account, ApiToken, LoginAttempt, WebSession
from brain.events.kinds import EventType
from brain.events.log import Store
from brain.events.models import AuditRecord
from brain.storage.db import utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
SESSION_TTL = timedelta(hours=12)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_SOURCE = 20
MAX_HASHING = 2  # password checks at once in a process: argon2 takes 64 MiB each, so a burst cannot take memory
HASH_WAIT_S = 10.0  # a sign-in waits this long for a turn, then is told to try again
TOKEN_PREFIX = "cbt_"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class AuthError(ValueError):
    """A refused account operation, with the reason in words."""


class LoginFailed(AuthError):
    pass


class LoginThrottled(AuthError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s // 60 + 1} minutes")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account, its role and what that role may do."""

    account_id: int
    username: str
    display_name: str
    role: Role
    kind: str
    must_change_password: bool = False  # signed in with a one-time password: only changing it is allowed
    staff_id: str | None = None  # a field person's staff member: the only one they act and report for
    channel: str | None = None  # an intake service's channel (brain.cases.enums.Channel)

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.username}"


def _principal(a: Account) -> Principal:
    return Principal(account_id=a.id, username=a.username, display_name=a.display_name, role=Role(a.role),
                     kind=a.kind, must_change_password=bool(a.must_change_password), staff_id=a.staff_id,
                     channel=a.channel)


class AuthService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._hashing = threading.BoundedSemaphore(MAX_HASHING)

    # --- accounts ---------------------------------------------------------------------------
    def create_account(self, *, username: str, role: str, actor: str, password: str | None = None,
                       display_name: str | None = None, kind: str = "person", staff_id: str | None = None
                       ) -> Principal:
        """Create an account (person with a password, or service without); emits ``account.created``.

        A field person or supervisor is one staff member (`staff_id`): their tasks and their position."""
        if not USERNAME.match(username or ""):
            raise AuthError("username: 2-64 letters, digits, '.', '_' or '-'")
        try:
            role_ = Role(role)
        except ValueError:
            raise AuthError(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}") from None
        if kind not in ("person", "service"):
            raise AuthError("kind is person or service")
        if kind == "person":
            if role_ not in HUMAN_ROLES:
                raise AuthError(f"role {role_} is for service accounts")
            self._check_password(password)
        if (kind == "person" and role_ in STAFF_ROLES) != bool(staff_id):
            raise AuthError(f"a {role_} person is one staff member: give --staff" if not staff_id
                            else f"only a field person or supervisor is tied to a staff member, not a {role_}")
        with self.store.unit(actor) as u:
            if u.session.scalar(select(Account).where(Account.username == username)) is not None:
                raise AuthError(f"username {username!r} is taken")
            if staff_id:
                from brain.staff.models import Staff

                if u.session.get(Staff, staff_id) is None:
                    raise AuthError(f"no staff member {staff_id}")
                if u.session.scalar(select(Account.id).where(Account.staff_id == staff_id,
                                                             Account.active.is_(True))) is not None:
                    raise AuthError(f"staff member {staff_id} already has an account")
            account = Account(username=username, display_name=display_name or username, role=role_.value, kind=kind,
                              password_hash=_hasher.hash(password) if password else None, active=True,
                              created_at=utcnow(), staff_id=staff_id)
            u.session.add(account)
            u.session.flush()
            u.emit(EventType.ACCOUNT_CREATED, "account", account.id, {"username": username, "role": role_.value,
                                                               "kind": kind, "staff_id": staff_id})
            return _principal(account)

    @staticmethod
    def _check_password(password: str | None) -> None:
        if not password or len(password) < MIN_PASSWORD:
            raise AuthError(f"password: at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise AuthError(f"password: at most {MAX_PASSWORD} characters")

    def change_password(self, username: str, current: str, new: str, *, keep_cookie: str | None = None,
                        source: str | None = None) -> None:
        """A person changes their own password: the current one is checked (LoginFailed if wrong), the new
        one must differ; every other session of the account ends (`keep_cookie`'s goes on)."""
        if new == current:
            raise AuthError("password: the new password must differ from the current one")
        self._check_password(new)
        with self.store.db.read() as s:
            account = s.scalar(select(Account).where(Account.username == username))
        real = account.password_hash if account is not None else None
        ok = self._verify(real or _DUMMY_HASH, current)
        if ok is None:
            raise LoginThrottled(5)
        if not (ok and real):
            self.store.audit(actor=f"person:{username}", action="auth.password_change_failed",
                             subject=f"account:{username}", source=source)
            raise LoginFailed("the current password is wrong")
        self.set_password(username, new, actor=f"person:{username}", keep_cookie=keep_cookie)

    def set_password(self, username: str, password: str, *, actor: str, keep_cookie: str | None = None) -> None:
        """Set a person's password (an administrator's reset, or change_password); every session of the
        account ends but `keep_cookie`'s, and a one-time password's mark is cleared."""
        self._check_password(password)
        with self.store.unit(actor) as u:
            account = u.session.scalar(select(Account).where(Account.username == username))
            if account is None or account.kind != "person":
                raise AuthError(f"no person account {username!r}")
            account.password_hash = _hasher.hash(password)
            account.must_change_password = False
            # every session of the account ends: whoever knew the old password is signed out
            kept = [WebSession.id_hash != _digest(keep_cookie)] if keep_cookie else []
            ended = cast(CursorResult, u.session.execute(update(WebSession).where(WebSession.account_id == account.id,
                                                               WebSession.revoked.is_(False), *kept)
                                      .values(revoked=True))).rowcount
            u.emit(EventType.ACCOUNT_PASSWORD_SET, "account", account.id,
                   {"username": username, "sessions_ended": ended})

    def field_staff(self) -> set[str]:
        """The staff members who sign in to the field app (an active person account tied to them)."""
        with self.store.db.read() as s:
            return set(s.scalars(select(Account.staff_id).where(Account.staff_id.is_not(None),
                                                                 Account.active.is_(True))))

    def count_accounts(self) -> int:
        with self.store.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(Account)) or 0)

    def ensure_admin(self, password: str | None = None) -> str | None:
        """On an empty account table create `admin`; returns the one-time password if it made one up."""
        if self.count_accounts():
            return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        self.create_account(username="admin", role=Role.ADMIN, password=password, display_name="admin",
                            actor="system:first-start")
        if generated:  # printed once on a console: it is changed at the first sign-in
            with self.store.db.transaction() as s:
                account = s.scalar(select(Account).where(Account.username == "admin"))
                assert account is not None
                account.must_change_password = True
        return generated

    # --- tokens -----------------------------------------------------------------------------
    def create_token(self, *, name: str, role: str, actor: str, channel: str | None = None) -> str:
        """Issue an API token for service account `name` (created with `role` if new); returns it once.

        `channel`: the channel of the cases an intake service opens (set on the account)."""
        if channel is not None:
            from brain.cases.enums import Channel

            if channel not in {c.value for c in Channel}:
                raise AuthError(f"unknown channel {channel!r}; one of: {', '.join(c.value for c in Channel)}")
        with self.store.db.read() as s:
            account = s.scalar(select(Account).where(Account.username == name))
        if account is None:
            self.create_account(username=name, role=role, actor=actor, kind="service")
            with self.store.db.read() as s:
                account = s.scalar(select(Account).where(Account.username == name))
        elif account.role != Role(role).value:
            raise AuthError(f"account {name!r} has role {account.role}, not {role}")
        assert account is not None
        if channel is not None and account.channel != channel:
            with self.store.unit(actor) as u:
                held = u.session.get(Account, account.id)
                assert held is not None
                held.channel = channel
                u.emit(EventType.ACCOUNT_CHANNEL, "account", held.id, {"channel": channel})
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.unit(actor) as u:
            row = ApiToken(account_id=account.id, name=name, prefix=token[:10], token_hash=_digest(token),
                           created_at=utcnow())
            u.session.add(row)
            u.session.flush()
            u.emit(EventType.TOKEN_CREATED, "account", account.id, {"token_id": row.id, "prefix": row.prefix})
        return token

    def revoke_token(self, prefix: str, *, actor: str) -> int:
        with self.store.unit(actor) as u:
            rows = u.session.scalars(select(ApiToken).where(ApiToken.prefix == prefix,
                                                            ApiToken.revoked_at.is_(None))).all()
            for row in rows:
                row.revoked_at = utcnow()
                u.emit(EventType.TOKEN_REVOKED, "account", row.account_id, {"token_id": row.id, "prefix": prefix})
            return len(rows)

    def authenticate_token(self, token: str) -> Principal | None:
        """The principal behind a bearer token, or None (unknown, revoked, or account disabled)."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        now = utcnow()
        with self.store.db.transaction() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
            if row is None or row.revoked_at is not None:
                return None
            account = s.get(Account, row.account_id)
            if account is None or not account.active:
                return None
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                row.last_used_at = now  # coarse, so a busy integration does not write on every call
            return _principal(account)

    # --- sessions ---------------------------------------------------------------------------
    def _verify(self, password_hash: str, password: str) -> bool | None:
        """Whether `password` matches `password_hash`, checked when one of the MAX_HASHING turns is free;
        None if none was within HASH_WAIT_S (a burst of sign-ins: tell the person to try again)."""
        if not self._hashing.acquire(timeout=HASH_WAIT_S):
            return None
        try:
            return _hasher.verify(password_hash, (password or "")[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        finally:
            self._hashing.release()

    def _count_attempt(self, keys: list[str], now: datetime, step: int = 1) -> list[int]:
        """Add `step` to each key's attempts in the current window (a window older than THROTTLE_WINDOW
        starts again) and return the counts, each read in the statement that changed it: two sign-ins
        at once never read the same count."""
        t = cast(Table, LoginAttempt.__table__)
        out = []
        with self.store.db.transaction() as s:
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            stale = t.c.window_start < now - THROTTLE_WINDOW
            for key in keys:
                stmt = insert(t).values(key=key, window_start=now, count=max(step, 0)).on_conflict_do_update(
                    index_elements=[t.c.key],
                    set_={"count": case((stale, max(step, 0)), (t.c.count + step < 0, 0), else_=t.c.count + step),
                          "window_start": case((stale, now), else_=t.c.window_start)}).returning(t.c.count)
                out.append(int(s.scalar(stmt) or 0))
        return out

    def login(self, username: str, password: str, *, source: str | None = None) -> tuple[str, Principal]:
        """Check a password; returns (session cookie value, principal).

        Throttled (LoginThrottled, before any password is checked) once an account has had
        MAX_FAILURES_PER_ACCOUNT failed or unfinished attempts in THROTTLE_WINDOW, or an address
        MAX_FAILURES_PER_SOURCE: each attempt is counted atomically first and uncounted once it succeeds,
        so parallel guesses cannot all pass the check. At most MAX_HASHING passwords are checked at once."""
        now = utcnow()
        username = (username or "")[:64]
        valid_name = bool(USERNAME.match(username))  # anything else names no account (and is not stored as typed)
        subject = f"account:{username}" if valid_name else "account:?"
        keys = [subject] + ([f"source:{source}"[:200]] if source else [])
        counts = self._count_attempt(keys, now)
        if counts[0] > MAX_FAILURES_PER_ACCOUNT or (source and counts[1] > MAX_FAILURES_PER_SOURCE):
            self.store.audit(actor=f"anonymous@{source}", action="auth.login_throttled", subject=subject,
                             source=source)
            raise LoginThrottled(int(THROTTLE_WINDOW.total_seconds()))
        account = None
        if valid_name:
            with self.store.db.read() as s:
                account = s.scalar(select(Account).where(Account.username == username))
        real = account.password_hash if account is not None and account.active and account.kind == "person" else None
        # a miss is checked against a dummy hash: the same time, so it does not reveal which usernames exist
        ok = self._verify(real or _DUMMY_HASH, password)
        if ok is None:
            self._count_attempt(keys, utcnow(), step=-1)  # not checked: not held against the account
            raise LoginThrottled(5)
        if not (ok and real):
            self.store.audit(actor=f"anonymous@{source}", action="auth.login_failed", subject=subject,
                             source=source)
            raise LoginFailed("wrong username or password")
        assert account is not None
        self._count_attempt(keys, utcnow(), step=-1)  # a success is no failure
        cookie = secrets.token_urlsafe(32)
        with self.store.db.transaction() as s:
            s.add(WebSession(id_hash=_digest(cookie), account_id=account.id, created_at=now,
                             expires_at=now + SESSION_TTL, source=source, revoked=False))
            s.add(AuditRecord(at=now, actor=f"person:{account.username}", action="auth.login",
                              subject=f"account:{account.username}", source=source, detail={}))
        return cookie, _principal(account)

    def session_principal(self, cookie: str | None) -> Principal | None:
        """The principal of a live session cookie, or None."""
        if not cookie or len(cookie) > 200:
            return None
        with self.store.db.read() as s:
            row = s.get(WebSession, _digest(cookie))
            if row is None or row.revoked or row.expires_at <= utcnow():
                return None
            account = s.get(Account, row.account_id)
            if account is None or not account.active:
                return None
            return _principal(account)

    def logout(self, cookie: str, *, source: str | None = None) -> None:
        with self.store.db.transaction() as s:
            row = s.get(WebSession, _digest(cookie))
            if row is None or row.revoked:
                return
            row.revoked = True
            account = s.get(Account, row.account_id)
            s.add(AuditRecord(at=utcnow(), actor=f"person:{account.username if account else '?'}",
                              action="auth.logout", subject=f"account:{account.username if account else '?'}",
                              source=source, detail={}))
