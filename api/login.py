"""Sign-in and sign-out for people (a plain HTML form: no script, works under the strict CSP)."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.ratelimit import RateLimiter
from api.security import COOKIE, MAX_API_BODY, _cookie, _headers, client_source, principal_of
from brain.auth.enums import Role
from brain.auth.service import MIN_PASSWORD, SESSION_TTL, AuthError, LoginFailed, LoginThrottled

# where each role lands after signing in when no page asked for it: its own view
HOME = {Role.DISPATCHER: "/dispatch", Role.OPERATOR: "/dispatch", Role.LEADER: "/kpi", Role.INTAKE: "/dispatch",
        Role.FIELD: "/m/", Role.SUPERVISOR: "/m/"}


def _safe_next(target: str | None) -> str:
    """Only a local path: never another host (no open redirect); '' when none was asked for."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    return target


def _box(*, title: str, heading: str, error: str | None, body: str) -> str:
    """The sign-in pages' shell: one box on the wall's style, an error above the form if there is one."""
    err = f'<p class="login-error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>社区大脑 · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/wall.css"></head>
<body class="login-body"><main class="login-box">
<h1>{heading}</h1>
{err}
{body}
</main></body></html>"""


def _page(*, error: str | None = None, next_: str = "", username: str = "") -> str:
    return _box(title="登录", heading="社区大脑 <span>Community Brain</span>", error=error, body=f"""\
<form method="post" action="/login">
<input type="hidden" name="next" value="{html.escape(next_)}">
<label>用户名 Username <input name="username" autocomplete="username" maxlength="64" required
 value="{html.escape(username)}" autofocus></label>
<label>密码 Password <input name="password" type="password" autocomplete="current-password" maxlength="256"
 required></label>
<button type="submit">登录 Sign in</button>
</form>""")


def _password_page(*, first: bool = False, error: str | None = None) -> str:
    why = '<p>首次登录：请先修改一次性密码 · First sign-in: change the one-time password first</p>\n' if first else ""
    return _box(title="修改密码", heading="修改密码 <span>Change password</span>", error=error, body=f"""\
{why}<form method="post" action="/password">
<label>当前密码 Current password <input name="current" type="password" autocomplete="current-password"
 maxlength="256" required autofocus></label>
<label>新密码 New password <input name="new" type="password" autocomplete="new-password" minlength="{MIN_PASSWORD}"
 maxlength="256" required></label>
<label>再次输入 Repeat <input name="repeat" type="password" autocomplete="new-password" maxlength="256" required>
</label>
<button type="submit">修改 Change</button>
</form>""")


def build_router(brain, *, secure_cookies: bool) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    # Per address, before any password is checked: bounds what a guesser can even try.
    limiter = RateLimiter(per_minute=20, burst=10)

    @r.get("/login")
    def login_form(next: str = ""):
        return HTMLResponse(_page(next_=_safe_next(next)))

    @r.post("/login")
    async def login(request: Request):
        wait = limiter.check(client_source(request.scope) or "?")
        if wait:
            return HTMLResponse(_page(error="请求过于频繁，请稍后再试 · Too many attempts, wait a minute"),
                                status_code=429, headers={"retry-after": str(int(wait) + 1)})
        body = await request.body()
        if len(body) > MAX_API_BODY:
            return HTMLResponse(_page(error="请求过大 Request too large"), status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        username, password = form.get("username", "")[:64], form.get("password", "")
        next_ = _safe_next(form.get("next"))
        try:
            cookie, principal = await run_in_threadpool(brain.auth.login, username, password,
                                                        source=client_source(request.scope))
        except LoginThrottled as e:
            return HTMLResponse(_page(error=f"登录失败次数过多，请稍后再试 · {e}", next_=next_, username=username),
                                status_code=429, headers={"retry-after": str(e.retry_after_s)})
        except LoginFailed:
            return HTMLResponse(_page(error="用户名或密码错误 · Wrong username or password", next_=next_,
                                      username=username), status_code=401)
        response = RedirectResponse(next_ or HOME.get(principal.role, "/wall"), status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                            samesite="strict", secure=secure_cookies, path="/")
        return response

    @r.get("/password")
    def password_form(request: Request):
        who = principal_of(request)
        if who is None or who.kind != "person":
            return RedirectResponse("/login?next=/password", status_code=303)
        return HTMLResponse(_password_page(first=who.must_change_password))

    @r.post("/password")
    async def change_password(request: Request):
        who = principal_of(request)
        if who is None or who.kind != "person":
            return RedirectResponse("/login?next=/password", status_code=303)
        body = await request.body()
        if len(body) > MAX_API_BODY:
            return HTMLResponse(_password_page(error="请求过大 Request too large"), status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        new = form.get("new", "")
        if new != form.get("repeat", ""):
            return HTMLResponse(_password_page(first=who.must_change_password,
                                               error="两次输入的新密码不一致 · The new passwords differ"),
                                status_code=422)
        try:
            await run_in_threadpool(brain.auth.change_password, who.username, form.get("current", ""), new,
                                    keep_cookie=_cookie(_headers(request.scope)), source=client_source(request.scope))
        except LoginThrottled as e:
            return HTMLResponse(_password_page(first=who.must_change_password,
                                               error="请求过于频繁，请稍后再试 · Too many attempts, wait a minute"),
                                status_code=429, headers={"retry-after": str(e.retry_after_s)})
        except LoginFailed:
            return HTMLResponse(_password_page(first=who.must_change_password,
                                               error="当前密码错误 · The current password is wrong"), status_code=401)
        except AuthError:
            return HTMLResponse(_password_page(first=who.must_change_password, error=(
                f"新密码至少 {MIN_PASSWORD} 个字符，且不同于当前密码 · At least {MIN_PASSWORD} characters, "
                "and not the current one")), status_code=422)
        return RedirectResponse(HOME.get(who.role, "/wall"), status_code=303)

    @r.post("/logout")
    async def logout(request: Request):
        cookie = _cookie(_headers(request.scope))
        if cookie:
            await run_in_threadpool(brain.auth.logout, cookie, source=client_source(request.scope))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return r
