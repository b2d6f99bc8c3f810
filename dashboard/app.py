"""The Dash app on the FastAPI server: the shell only routes and frames (header, navigation, clock); each
view is a page module (dashboard/pages), and the map pages share the map and the live path
(dashboard/live.py). A page never imports another page.

Callbacks stay short: read the input, ask `brain` for state, hand it to a `layers` builder.
The locale comes from the URL (``?lang=en``), so a wall PC is configured by its bookmark.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import dash
from dash import Input, Output, dcc, html
from fastapi import FastAPI

from brain.auth.context import current
from brain.auth.enums import Permission
from brain.runtime import Brain
from dashboard import ids, live
from dashboard.contract import Contract
from dashboard.i18n import DEFAULT_LOCALE, LOCALES, translator
from dashboard.pages import audit as audit_page
from dashboard.pages import dispatch as dispatch_page
from dashboard.pages import kpi as kpi_page
from dashboard.pages import replay as replay_page
from dashboard.pages import wall as wall_page

log = logging.getLogger(__name__)
ASSETS = __import__("pathlib").Path(__file__).resolve().parent.parent / "assets"
PAGES = {"/wall": "page.wall", "/dispatch": "page.dispatch", "/kpi": "page.kpi", "/replay": "page.replay",
         "/audit": "page.audit"}
PAGE_PERMISSION = {"/wall": Permission.VIEW_MAP, "/dispatch": Permission.READ_CASES, "/kpi": Permission.READ_KPI,
                   "/replay": Permission.REPLAY, "/audit": Permission.READ_AUDIT}
HEARTBEAT_MS = 5000  # with push off: how often the map pages poll (BRAIN_LIVE_POLL_MS)


def locale_of(search: str | None) -> str:
    """The locale asked for in a query string (``?lang=en``), else the default."""
    lang = parse_qs((search or "").lstrip("?")).get("lang", [DEFAULT_LOCALE])[0]
    return lang if lang in LOCALES else DEFAULT_LOCALE


def _shell() -> html.Div:
    return html.Div(className="shell", children=[
        dcc.Location(id=ids.URL),
        dcc.Interval(id=ids.CLOCK_TICK, interval=1000),
        dcc.Store(id=ids.LIVE_PUSH),
        html.Div(id=ids.PAGE, className="page"),
    ])


def _header(brain: Brain, path: str, locale: str, tr) -> html.Header:
    who = current()
    qs = "" if locale == DEFAULT_LOCALE else f"?lang={locale}"
    visible = [p for p in PAGES if who is not None and who.can(PAGE_PERMISSION[p])]
    nav = html.Nav(id=ids.NAV, className="nav", children=[
        dcc.Link(tr(f"nav.{p.strip('/')}"), href=f"{p}{qs}", className="active" if p == path else "")
        for p in visible
    ] + [html.Span("|", className="sep"),
         dcc.Link("中文", id=ids.LOCALE_ZH, href=path, className="active" if locale == "zh-CN" else ""),
         dcc.Link("EN", id=ids.LOCALE_EN, href=f"{path}?lang=en", className="active" if locale == "en" else ""),
         html.Span("|", className="sep"),
         html.Span(f"{who.display_name} · {tr('role.' + who.role.value)}" if who else "", id=ids.WHO,
                   className="who"),
         html.Form(html.Button(tr("auth.logout"), type="submit"), method="post", action="/logout",
                   className="logout-form")])
    title_key = PAGES.get(path)
    return html.Header(className="header", children=[
        html.H1([tr("app.title"), html.Span(" · "), html.Span(tr(title_key) if title_key else tr("page.not_found"))],
                id=ids.TITLE),
        html.Span(tr("app.demo"), id=ids.DEMO_BADGE, className="badge demo") if brain.invented
        else None,
        nav,
        html.Div(id=ids.CLOCK, className="clock"),
    ])


def _page(brain: Brain, path: str, locale: str, search: str | None = None) -> list:
    tr = translator(locale)
    header = _header(brain, path, locale, tr)
    if path not in PAGES:
        return [header, html.Div(tr("page.not_found"), className="empty")]
    who = current()
    if who is None or not who.can(PAGE_PERMISSION[path]):
        return [header, html.Div(tr("auth.forbidden"), className="forbidden")]
    if path == "/audit":
        return [header, audit_page.body(locale), dcc.Interval(id=ids.LIVE_TICK, interval=10_000)]
    if path == "/kpi":
        return [header, kpi_page.body(brain, locale, search)]
    if path == "/replay":  # no live tick: the replay's map is fed by its own playhead
        return [header, replay_page.body(brain, locale, search)]
    interval = HEARTBEAT_MS if brain.settings.live_push else brain.settings.live_poll_ms
    tick = dcc.Interval(id=ids.LIVE_TICK, interval=interval)
    if path == "/dispatch":
        strip = live.status_strip(brain, locale)
        # on a phone the desk cannot be worked: it says so plainly, and where the phone's own pages are
        narrow = html.Div(tr("dispatch.narrow"), className="narrow-notice", role="note")
        return [header, narrow, *strip, html.Div(className="dispatch-body", children=[
            dispatch_page.body(brain, locale), live.map_frame(brain, locale, path=path)]), tick]
    return [header, *wall_page.body(brain, locale), tick]


class GuardedDash:
    """Registers callbacks together with the permission each needs; the server enforces the table."""

    def __init__(self, app: dash.Dash) -> None:
        self.app = app
        self.permissions: dict[str, Permission | None] = {}
        self.contracts: dict[str, Contract] = {}  # what each callback's request may carry (the gate checks it)

    def callback(self, permission: Permission | None, *args, **kwargs):
        def register(fn):
            before = set(self.app.callback_map)
            wrapped = self.app.callback(*args, **kwargs)(fn)
            for key in set(self.app.callback_map) - before:
                self.permissions[key] = permission
                self.contracts[key] = Contract.of(args, kwargs)
            return wrapped

        return register


def create_dash(brain: Brain, server: FastAPI) -> tuple[dash.Dash, GuardedDash]:
    """Mount the UI on `server`; returns the app and its guard: the permission each server callback needs
    and the contract its requests must keep."""
    app = dash.Dash(__name__, server=server, title="社区大脑", update_title=None, assets_folder=str(ASSETS),
                    suppress_callback_exceptions=True, serve_locally=True,
                    compress=True)
    app.layout = _shell
    guard = GuardedDash(app)

    # Any signed-in account may ask for a page; the page itself shows only what the role may see.
    @guard.callback(None, Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def render_page(pathname, search):
        path = pathname if pathname in PAGES else ("/wall" if pathname in (None, "", "/") else pathname)
        return _page(brain, path, locale_of(search), search)

    live.register(guard, brain, locale_of)
    dispatch_page.register(guard, brain, locale_of)
    audit_page.register(guard, brain, locale_of)
    kpi_page.register(guard, brain, locale_of)
    replay_page.register(guard, brain, locale_of)

    app.clientside_callback(
        """
        function(n) {
            const fmt = new Intl.DateTimeFormat('zh-CN', {timeZone: 'Asia/Shanghai', year: 'numeric',
                month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
                hour12: false});
            return fmt.format(new Date());
        }
        """,
        Output(ids.CLOCK, "children"),
        Input(ids.CLOCK_TICK, "n_intervals"),
    )
    return app, guard
