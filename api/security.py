"""The gate in front of every route: who is asking, may they, and is the request sane.

One ASGI middleware does, in order, for every HTTP request and WebSocket:
1. identify the principal (``Authorization: Bearer`` token, else the session cookie);
2. refuse cross-site use of the cookie (an unsafe method with a session cookie must carry an
   Origin or Referer of this host) and oversized bodies;
3. send anonymous visitors of a page to /login, and answer 401 on the data endpoints;
4. check the permission of each Dash callback by its output id (a table, denied by default);
5. add the security headers (a Content-Security-Policy of 'self' only) to every response.
API routes state their own permission with `requires(...)`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import quote, unquote_to_bytes, urlsplit

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from brain.auth.context import CURRENT
from brain.auth.enums import Permission
from brain.auth.service import Principal
from brain.field.photos import MAX_PHOTO_BYTES
from brain.ingest.pipeline import UNSTORABLE, Refused, refuse_unstorable

log = logging.getLogger(__name__)
COOKIE = "brain_session"
MAX_API_BODY = 64 * 1024
MAX_CALLBACK_BODY = 1024 * 1024
PHOTO_ROUTE = "/api/v1/field/photos"
MAX_PHOTO_BODY = MAX_PHOTO_BYTES + 64 * 1024  # one photo and its form fields
FIELD_SOCKET = "/api/v1/field/ws"
MOBILE = "/m"  # the field app: its shell, script, styles, manifest and service worker (no data)
RESIDENT = "/r"  # the residents' page (no account): report by pole number, follow by tracking code
REPORT_ROUTE = "/api/v1/public/reports"
MAX_REPORT_BODY = 3 * MAX_PHOTO_BYTES + 64 * 1024  # a resident's report: three photos and its fields
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/login", "/favicon.ico", "/api/v1/health",
                   "/api/v1/openapi.json", "/api/v1/docs", "/map/glyphs/", "/m/", "/r/", "/api/v1/public/",
                   "/open311/")
# no data: no need to know who asks
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/favicon.ico", "/map/glyphs/", "/m/", "/r/")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# what is not a page of the UI: the API, Dash's own routes (all under "/_"), assets, sign-in, the report
NON_PAGE_PREFIXES = ("/password", "/api/", "/_", "/assets/", "/login", "/logout", "/report/", "/map/glyphs/",
                     "/favicon.ico", "/m/", "/r/", "/open311/")
# what a person signed in with a one-time password may reach: changing it (and signing out)
ONE_TIME_ALLOWED = ("/password", "/logout", "/login", "/assets/", "/favicon.ico", "/_dash-component-suites/")
DENIED = object()


class Forbidden(Exception):
    def __init__(self, status: int, message: str, *, location: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.location = location  # a 303's target (default: sign in, then back here)
        self.key = key  # the catalogue entry a client says it from


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(headers: dict[str, str]) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def _same_origin(headers: dict[str, str]) -> bool:
    host = headers.get("host", "")
    for name in ("origin", "referer"):
        value = headers.get(name)
        if value:
            return urlsplit(value).netloc == host
    return False


def client_source(scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def content_security_policy(script_hashes: list[str]) -> str:
    scripts = " ".join(["'self'", *(h if h.startswith("'") else f"'{h}'" for h in script_hashes)])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "  # plotly and React set style attributes
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; child-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


class SecurityMiddleware:
    """See the module docstring. `callback_permissions` maps a Dash callback output id to a permission."""

    def __init__(self, app, *, brain, callback_permissions: Callable[[], dict[str, Permission | None]],
                 callback_contracts: Callable[[], dict] | None = None,
                 csp: Callable[[], str], secure_cookies: bool = False,
                 pages: Callable[[], set[str]] | None = None) -> None:
        self.app = app
        self.pages = pages  # the UI's page paths: any other path outside NON_PAGE_PREFIXES is a 404
        self.brain = brain
        self.callback_permissions = callback_permissions
        # output -> an object whose check(request) raises ValueError for a request that breaks its contract
        self.callback_contracts = callback_contracts or dict
        self.csp = csp
        self.secure_cookies = secure_cookies

    def _identify(self, headers: dict[str, str]) -> tuple[Principal | None, bool]:
        """(principal, by_cookie)."""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return self.brain.auth.authenticate_token(auth[7:].strip()), False
        cookie = _cookie(headers)
        return (self.brain.auth.session_principal(cookie), True) if cookie else (None, False)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        static = scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(STATIC_PREFIXES)
        principal, by_cookie = (None, False) if static else await run_in_threadpool(self._identify, headers)
        if scope["type"] == "websocket":
            # the screens' push needs the map; the field app's, a field person's tasks
            needed = Permission.FIELD_WORK if scope["path"] == FIELD_SOCKET else Permission.VIEW_MAP
            if principal is None or not principal.can(needed) or not _same_origin(headers):
                await send({"type": "websocket.close", "code": 4403})
                return
            token = CURRENT.set(principal)
            scope.setdefault("state", {})["principal"] = principal
            try:
                return await self.app(scope, receive, send)
            finally:
                CURRENT.reset(token)

        path, method = scope["path"], scope["method"]
        csp = self.csp()
        # the field app takes the phone's position and photos from its camera; no other page may
        # (and the residents' page: the position finds the nearest poles, the camera takes the photos)
        mobile = path in (MOBILE, RESIDENT) or path.startswith((MOBILE + "/", RESIDENT + "/"))
        features = b"camera=(self), microphone=(), geolocation=(self)" if mobile else \
            b"camera=(), microphone=(), geolocation=()"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                         (b"x-frame-options", b"DENY"), (b"content-security-policy", csp.encode()),
                         (b"permissions-policy", features)]
                if path.startswith("/api/") or path.startswith("/_dash-update"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            body_receive = await self._check(scope, receive, headers, principal, by_cookie, path, method)
        except Forbidden as f:
            if f.status == 404 and not path.startswith("/api/"):
                response = HTMLResponse(NOT_FOUND_PAGE, status_code=404)
            elif f.status == 303:
                target = f.location or "/login?next=" + quote(path + ("?" + scope["query_string"].decode("latin-1")
                                                                      if scope.get("query_string") else ""))
                response = JSONResponse({"error": str(f)}, status_code=303, headers={"location": target})
            else:
                response = JSONResponse({"error": str(f), **({"key": f.key, "params": {}} if f.key else {})},
                                        status_code=f.status)
            return await response(scope, receive, send_with_headers)
        token = CURRENT.set(principal)
        scope.setdefault("state", {})["principal"] = principal
        if self.pages is not None and method in ("GET", "HEAD") and path != "/" and path in self.pages():
            # every page of the UI is the same single-page shell (its content follows the browser's address):
            # it is asked of Dash at its own root, where Dash readies its index (scripts and stylesheets)
            scope = {**scope, "path": "/", "raw_path": b"/"}
        try:
            return await self.app(scope, body_receive or receive, send_with_headers)
        finally:
            CURRENT.reset(token)

    async def _check(self, scope, receive, headers, principal, by_cookie, path, method):
        refuse_unstorable_request(path, scope.get("query_string", b""))
        body = parsed = None
        if method in UNSAFE:
            if by_cookie and not _same_origin(headers):
                raise Forbidden(403, "cross-site request refused: this host's Origin is required")
            if "origin" in headers and not _same_origin(headers):
                raise Forbidden(403, "cross-site request refused")
            limit = MAX_CALLBACK_BODY if path.startswith("/_dash-") else MAX_PHOTO_BODY if path == PHOTO_ROUTE \
                else MAX_REPORT_BODY if path == REPORT_ROUTE else MAX_API_BODY
            length = headers.get("content-length")
            if length is None and headers.get("transfer-encoding"):
                raise Forbidden(411, "a Content-Length is required")
            too_large = "refused.photo.request_too_large" if path in (PHOTO_ROUTE, REPORT_ROUTE) else None
            if length is not None and (not length.isdigit() or int(length) > limit):
                raise Forbidden(413, f"request body larger than {limit} bytes", key=too_large)
            body = await _read_body(receive, limit, key=too_large)
            parsed = refuse_unstorable_body(body, headers.get("content-type", ""))
        replay = _replay(body) if body is not None else None
        if principal is not None and principal.must_change_password and not path.startswith(ONE_TIME_ALLOWED):
            # signed in with a one-time password: changing it comes before anything else
            if method == "GET" and not path.startswith(("/api/", "/_")):
                raise Forbidden(303, "change the one-time password first", location="/password")
            raise Forbidden(403, "change the one-time password first: /password")
        if path == MOBILE:
            raise Forbidden(303, "the field app", location=MOBILE + "/")
        if path == RESIDENT:
            raise Forbidden(303, "the residents' page", location=RESIDENT + "/")
        if self.pages is not None and method in ("GET", "HEAD") and not path.startswith(NON_PAGE_PREFIXES) \
                and path not in self.pages():
            raise Forbidden(404, "no such page")
        if path.startswith(PUBLIC_PREFIXES):
            return replay
        if path.startswith("/api/"):
            return replay  # each API route checks its own permission (401/403 with JSON)
        if path.startswith("/_dash-"):
            if principal is None:
                raise Forbidden(401, "sign in first")
            if path.startswith("/_dash-update-component") and method == "POST":
                self._check_callback(body or b"", parsed, principal)
            return replay
        if principal is None:  # a page: the UI itself
            if method == "GET":
                raise Forbidden(303, "sign in first")
            raise Forbidden(401, "sign in first")
        return replay

    def _check_callback(self, body: bytes, parsed, principal: Principal) -> None:
        """`parsed`: the body as the unstorable-text check read it (JSON), or None to read it here."""
        try:
            request = json.loads(body) if parsed is None else parsed
            output = request.get("output")
        except (ValueError, AttributeError, RecursionError):
            raise Forbidden(400, "malformed callback request") from None
        needed = self.callback_permissions().get(output, DENIED)
        if needed is DENIED:
            raise Forbidden(403, "unknown callback")
        if needed is not None and not principal.can(needed):  # type: ignore[arg-type]
            raise Forbidden(403, f"your role ({principal.role}) may not do this")
        contract = self.callback_contracts().get(output)
        if contract is not None:
            try:
                contract.check(request)
            except ValueError as e:
                raise Forbidden(400, f"malformed callback request: {e}") from None


async def _read_body(receive, limit: int, key: str | None = None) -> bytes:
    """The whole request body (413 past `limit`: a missing or false Content-Length is no way round it)."""
    chunks, more, size = [], True, 0
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Forbidden(413, f"request body larger than {limit} bytes", key=key)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes):
    """A receive() that hands the app the body already read."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


_ESCAPED_NUL = re.compile(rb"\\u0000", re.IGNORECASE)
NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>404</title><link rel="stylesheet" href="/assets/wall.css">
</head><body class="login-body"><main class="login-box"><h1>页面不存在 <span>Page not found</span></h1>
<p><a href="/wall">大屏 Wall</a> · <a href="/dispatch">调度 Dispatch</a> · <a href="/kpi">指标 KPI</a></p>
</main></body></html>"""
UNSTORABLE_MESSAGE = "text with a NUL character, a lone surrogate or bytes that are not UTF-8 cannot be stored"


def _refuse_unstorable_form(raw: bytes) -> None:
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise Forbidden(400, UNSTORABLE_MESSAGE) from None
    if UNSTORABLE.search(text):
        raise Forbidden(400, UNSTORABLE_MESSAGE)


def refuse_unstorable_request(path: str, query: bytes) -> None:
    """400 for a path or query string holding text no database can store (before any route reads it)."""
    if UNSTORABLE.search(path):
        raise Forbidden(400, UNSTORABLE_MESSAGE)
    if query:
        _refuse_unstorable_form(query)


def refuse_unstorable_body(body: bytes, content_type: str):
    """400 for a JSON or form body holding text no database can store, or nested deeper than any intake
    takes: refused here, for every intake at once, instead of failing at the database (a 500) or in the
    JSON reader (a RecursionError). Returns a JSON body as it was read (None for any other), so that the
    gate does not read it again."""
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return None
    if kind == "application/x-www-form-urlencoded":
        _refuse_unstorable_form(body)
    elif kind == "application/json" or kind.endswith("+json"):
        try:
            value = orjson.loads(body)  # refuses lone surrogates and more than 1,024 levels itself
            if _ESCAPED_NUL.search(body):  # rare: only then is the whole body walked
                refuse_unstorable(value, limit=1024)
            return value
        except orjson.JSONDecodeError as e:
            if any(w in str(e).lower() for w in ("surrogate", "recursion", "depth", "utf-8", "utf8")):
                raise Forbidden(400, UNSTORABLE_MESSAGE if "depth" not in str(e) else "JSON nested too deep") \
                    from None
            # other malformed JSON: the route says what is wrong with it
        except Refused as e:
            raise Forbidden(400, UNSTORABLE_MESSAGE if e.reason == "unstorable_text" else "JSON nested too deep") \
                from None
    return None


def principal_of(request: Request) -> Principal | None:
    return request.scope.get("state", {}).get("principal")


def requires(permission: Permission | None):
    """FastAPI dependency: the principal, or 401 (anonymous) / 403 (role lacks `permission`)."""

    def dependency(request: Request) -> Principal:
        from fastapi import HTTPException

        principal = principal_of(request)
        if principal is None:
            raise HTTPException(status_code=401, detail="authentication required: a session or a Bearer token")
        if permission is not None and not principal.can(permission):
            raise HTTPException(status_code=403, detail=f"your role ({principal.role}) may not do this")
        return principal

    return dependency
