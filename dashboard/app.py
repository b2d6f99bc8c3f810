"""The Dash app on the FastAPI server: one shell, three views sharing the district map.

Callbacks stay short: read the input, ask `brain` for state, hand it to a `layers` builder.
The locale comes from the URL (``?lang=en``), so a wall PC is configured by its bookmark.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import parse_qs

import dash
from dash import Input, Output, Patch, State, dcc, html
from fastapi import FastAPI

from brain.auth.context import current
from brain.auth.enums import Permission
from brain.live import Pace, Snapshot, snapshot
from brain.runtime import Brain
from dashboard import ids
from dashboard.contract import Contract
from dashboard.i18n import DEFAULT_LOCALE, LOCALES, translator
from dashboard.i18n.catalogue import category_names, names
from dashboard.pages import audit as audit_page
from dashboard.pages import dispatch as dispatch_page
from dashboard.pages import kpi as kpi_page
from layers import alarms as alarm_layer
from layers import cases as case_layer
from layers import staff as staff_layer
from layers.diff import SentCache, write_diff
from layers.figure import (
    FIT_HEIGHT_PX,
    FIT_WIDTH_PX,
    HOVER_FONT_PX,
    LEGEND_FONT_PX,
    POLE_LABEL_ZOOM,
    TRACE_INDEX,
    district_figure,
    district_view,
    never_empty,
    takeover_view,
)

log = logging.getLogger(__name__)
ASSETS = __import__("pathlib").Path(__file__).resolve().parent.parent / "assets"
PAGES = {"/wall": "page.wall", "/dispatch": "page.dispatch", "/kpi": "page.kpi", "/audit": "page.audit"}
PAGE_PERMISSION = {"/wall": Permission.VIEW_MAP, "/dispatch": Permission.READ_CASES, "/kpi": Permission.READ_KPI,
                   "/audit": Permission.READ_AUDIT}
FEED_LENGTH = 8
COUNTERS = ("open_cases", "overdue", "unacknowledged_alarms", "staff_on_duty")
HEARTBEAT_MS = 5000  # with push on: the tick that only ages clocks and badges
PUSH_GAP_S = 0.15  # at most about seven pushes a second per page: a storm is coalesced, not replayed
POLE_CLICK_M = 5.0  # a marker this close to a pole stands on it: a click on it opens the pole's card
PUSH_IDLE_S = 20.0  # a quiet page still hears from its push loop this often (and so notices a closed socket)
SENT = SentCache()  # what each open page was last sent: ticks send only the difference
PACE = Pace(PUSH_GAP_S)  # pushes spaced by what a live update costs here (a storm's updates are heavy)


def locale_of(search: str | None) -> str:
    """The locale asked for in a query string (``?lang=en``), else the default."""
    lang = parse_qs((search or "").lstrip("?")).get("lang", [DEFAULT_LOCALE])[0]
    return lang if lang in LOCALES else DEFAULT_LOCALE


def live_layers(brain: Brain, snap: Snapshot, locale: str, scale: float = 1.0) -> dict[str, dict]:
    """The data dicts of the live layers for one snapshot, labelled in `locale`, with marker sizes times
    `scale` (a wall larger than 1080p: the page tells its scale once its map is fitted)."""
    tr = translator(locale)
    layers = {
        "cases": case_layer.data(snap.cases, now=snap.at, labels={"overdue": tr("case.overdue")},
                                 status_names=names(tr, "status", {c.status for c in snap.cases}),
                                 category_names=category_names(brain.catalogue, locale)),
        "alarms": alarm_layer.data(snap.alarms, now=snap.at,
                                   severity_names=names(tr, "severity", {a.severity for a in snap.alarms}),
                                   type_names=names(tr, "alarm", {a.type for a in snap.alarms})),
        "staff": staff_layer.data(snap.staff, now=snap.at,
                                  status_names=names(tr, "duty", {s.status for s in snap.staff}),
                                  stale_label=tr("staff.stale")),
    }
    if scale != 1.0:
        for d in layers.values():
            if "marker.size" in d:
                d["marker.size"] = [round(s * scale, 1) for s in d["marker.size"]]
    return {name: never_empty(d) for name, d in layers.items()}


def map_scale(fitted) -> float:
    """The size of the page's map against a 1080p wall's (min of the two ratios), as the page measured it
    when it fitted the map (1 until then, or when absurd)."""
    ok = isinstance(fitted, (int, float)) and not isinstance(fitted, bool) and 0.1 <= fitted <= 8
    return float(fitted) if ok else 1.0


def page_scale(fitted) -> float:
    """What the page's markers, fonts and lines are scaled by: its map's scale, never below 1 (a map
    smaller than a wall's keeps them readable) and at most 4."""
    return min(max(map_scale(fitted), 1.0), 4.0)


def _clock_text(snap: Snapshot, tr, tz: str, rejected: int = 0) -> str:
    """When the live layers were read, and how many device/GPS messages ingest refused in 24 h."""
    from zoneinfo import ZoneInfo

    text = f"{tr('live.updated')} {snap.at.astimezone(ZoneInfo(tz)).strftime('%H:%M:%S')}"
    return text + (f" · {tr('live.rejected')} {rejected}" if rejected else "")


def _age_text(age: float | None, tr) -> str:
    if age is None:
        return "—"
    if age < 60:
        return f"{int(age)} {tr('age.s')}"
    if age < 3600:
        return f"{int(age // 60)} {tr('age.min')}"
    return f"{int(age // 3600)} {tr('age.h')}"


def _freshness(brain: Brain, snap: Snapshot, tr) -> list:
    """A badge per live layer: time since its feed last brought something; red once it has gone silent."""
    return [html.Span(f"{tr('layer.' + feed)} {_age_text(age, tr)}", className="fresh stale" if silent else "fresh",
                      title=tr("fresh.hint"))
            for feed, (age, silent) in brain.freshness.ages(snap.at).items()]


def _rejected(brain: Brain) -> int:
    return brain.live_rejected.get()


def _shell() -> html.Div:
    return html.Div(className="shell", children=[
        dcc.Location(id=ids.URL),
        dcc.Interval(id=ids.CLOCK_TICK, interval=1000),
        dcc.Store(id=ids.LIVE_PUSH),
        html.Div(id=ids.PAGE, className="page"),
    ])


def _feed(brain: Brain, snap: Snapshot, locale: str) -> list:
    """The latest open cases as text items (resident text is rendered as text by React, never as HTML)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(brain.settings.display_tz)
    names = category_names(brain.catalogue, locale)
    latest = sorted(snap.cases, key=lambda c: c.reported_at, reverse=True)[:FEED_LENGTH]
    return [html.Div(className="feed-item", title=c.description or None, children=[
        html.Span(c.reported_at.astimezone(tz).strftime("%H:%M"), className="when"),
        f"{names.get(c.category, c.category)}" + (f" · {c.description[:40]}" if c.description else "")
        + (f" · {c.pole}" if c.pole else "")]) for c in latest]


def _banner(brain: Brain, snap: Snapshot, tr) -> list:
    """The takeover banner: the oldest critical alarm nobody has acknowledged, where, for how long, and how
    many more wait (personal data never shown); while none waits, a quiet line saying so (the banner
    keeps its place: the map never changes size)."""
    alarm = snap.takeover
    if alarm is None:
        return [html.Span(tr("banner.calm"))]
    minutes = int((snap.at - alarm.first_at).total_seconds() // 60)
    more = len(snap.waiting_critical) - 1
    flapping = alarm.device_id in brain.alarms.flapping(device_ids=[alarm.device_id])
    return [html.Span(tr("severity.critical"), className="sev"),
            html.Span(f"{tr('alarm.' + alarm.type)} · {tr('hover.device')} {alarm.device_id} · "
                      f"{minutes} {tr('hover.min')} · {tr('alarm.unacknowledged')}"),
            *([html.Span(tr("alarms.flapping"), className="flapping", title=tr("alarms.flapping_hint"))]
              if flapping else []),
            *([html.Span(tr("banner.more").format(n=more), className="more")] if more > 0 else [])]


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
        html.Span(tr("app.demo"), id=ids.DEMO_BADGE, className="badge demo") if brain.district.meta.get("demo")
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
    interval = HEARTBEAT_MS if brain.settings.live_push else brain.settings.live_poll_ms
    tick = [dcc.Interval(id=ids.LIVE_TICK, interval=interval), dcc.Store(id=ids.MAP_FITTED),
            dcc.Interval(id=ids.FIT_TICK, interval=250, max_intervals=40)]  # until the map is fitted
    if path == "/audit":
        return [header, audit_page.body(locale), dcc.Interval(id=ids.LIVE_TICK, interval=10_000)]
    if path == "/kpi":
        return [header, kpi_page.body(brain, locale, search)]
    snap = snapshot(brain)
    counts = snap.headline()
    counters = html.Div(id=ids.COUNTERS, className="counters", children=[
        html.Div(className=f"counter counter-{name}", children=[
            html.Div(tr(f"counter.{name}"), className="label"),
            html.Div(str(counts[name]), id=f"{ids.COUNTER}-{name}", className="value")])
        for name in COUNTERS
    ] + [html.Div(_freshness(brain, snap, tr), id=ids.FRESHNESS, className="freshness"),
         html.Div(_clock_text(snap, tr, brain.settings.display_tz, _rejected(brain)), id=ids.LIVE_STATUS,
                  className="live-status")])
    live = live_layers(brain, snap, locale)
    fig = district_figure(brain.district, live=live, tr=tr)
    tick = html.Div([*tick, dcc.Store(id=ids.LIVE_VERSION, data=SENT.put({"locale": locale, **live})),
                     dcc.Store(id=ids.LIVE_PULL)])
    graph = dcc.Graph(id=ids.MAP, figure=fig, className="map",
                      config={"displayModeBar": False, "scrollZoom": True, "displaylogo": False},
                      style={"height": "100%", "width": "100%"})
    feed = html.Div(_feed(brain, snap, locale), id=ids.FEED, className="feed")
    alarm = snap.takeover
    banner = html.Div(_banner(brain, snap, tr), id=ids.BANNER, role="alert",
                      className="banner takeover" if alarm else "banner")
    if path == "/dispatch":
        return [header, banner, counters, feed, html.Div(className="dispatch-body", children=[
            dispatch_page.body(brain, locale), _map_wrap(graph)]), tick]
    return [header, banner, counters, feed, _map_wrap(graph), tick]


def pole_card(brain: Brain, number: str, locale: str) -> list | None:
    """A pole's card: number, code, grid cell, committee, road and the open cases there; None if no such pole."""
    from zoneinfo import ZoneInfo

    from geodata.gazetteer import PoleNotFound

    tr = translator(locale)
    try:
        pole = brain.gazetteer.lookup(number)
    except PoleNotFound:
        return None
    committees = brain.district.committee_names
    names = category_names(brain.catalogue, locale)
    tz = ZoneInfo(brain.settings.display_tz)
    cases = brain.cases.open_cases(limit=20, pole=pole.number)
    rows = [("hover.code", pole.code), ("hover.grid", pole.grid), ("pole.road", pole.road),
            ("hover.committee", f"{committees.get(pole.committee, '')} {pole.committee or ''}".strip())]
    return [html.H3(f"{tr('hover.pole')} {pole.number}"),
            html.Dl([x for key, value in rows for x in (html.Dt(tr(key)), html.Dd(value or "—"))]),
            html.H4(tr("pole.open_cases")),
            html.Ul([html.Li(f"#{c.id} {names.get(c.category, c.category)} · {tr('status.' + c.status)} · "
                             f"{c.reported_at.astimezone(tz).strftime('%m-%d %H:%M')}") for c in cases])
            if cases else html.Div(tr("pole.none_open"), className="muted"),
            html.Div(tr("pole.close_hint"), className="hint")]


def _wall_view(brain: Brain, snap: Snapshot, known: bool, view: dict | None,
               scale: float) -> tuple[dict | None, dict | None]:
    """The wall's view after this update, and where to move it (None: stay). The critical alarms nobody
    has acknowledged take the wall over (layers.figure.takeover_view); once they are all acknowledged
    it returns to the whole district. `known`: whether the view the page shows is known (`view`, or the
    district's when that is None); a page whose last answer this process did not give is moved to where
    the alarms put it."""
    home = district_view(brain.district, scale)
    points = [(a.lon, a.lat) for a in snap.waiting_critical]
    if not points:
        return None, (home if known and view is not None else None)
    move = takeover_view(points, (view or home) if known else None, scale)
    return (move, move) if move is not None else (view, None)


def _map_wrap(graph) -> html.Div:
    """The map's frame, with the card of a clicked pole; it tells the overlay script (assets/overlay.js)
    which traces hold poles and alarms."""
    card = html.Div(id=ids.POLE_CARD, className="pole-card hidden", role="dialog")
    return html.Div([graph, card], className="map-wrap", **{"data-pole-trace": str(TRACE_INDEX["poles"]),
                                                    "data-alarm-trace": str(TRACE_INDEX["alarms"]),
                                                    "data-label-zoom": str(POLE_LABEL_ZOOM)})


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


def register_push(guard: GuardedDash, brain: Brain) -> None:
    """Push: one loop per open page, over Dash's WebSocket, waits for a live change on the bus and sets
    the page's change counter; the live callbacks listen to that counter and send their differences.
    So a change reaches the screen in one round trip, not at the next poll, and a quiet district costs
    nothing but the slow heartbeat tick. Pushes are at least PUSH_GAP_S apart, and further apart while a
    live update costs more than that (PACE): a storm is coalesced (and
    assets/live_gate.js keeps one request for differences in flight per page)."""

    @guard.callback(Permission.VIEW_MAP, websocket=True, persistent=True)
    async def live_push():
        ws = dash.ctx.websocket
        loop = asyncio.get_running_loop()
        seen, last = brain.changes.seq, 0.0
        while ws is not None and not ws.is_shutdown:
            seq = await brain.changes.wait(seen, PUSH_IDLE_S)
            if seq == seen:
                continue
            wait = PACE.gap() - (loop.time() - last)
            if wait > 0:  # gather what else arrives in the gap into the same push
                await asyncio.sleep(wait)
            seen, last = brain.changes.seq, loop.time()
            dash.set_props(ids.LIVE_PUSH, {"data": seen})
        raise dash.exceptions.PreventUpdate


def create_dash(brain: Brain, server: FastAPI) -> tuple[dash.Dash, GuardedDash]:
    """Mount the UI on `server`; returns the app and its guard: the permission each server callback needs
    and the contract its requests must keep."""
    app = dash.Dash(__name__, server=server, title="社区大脑", update_title=None, assets_folder=str(ASSETS),
                    suppress_callback_exceptions=True, serve_locally=True)
    app.layout = _shell
    guard = GuardedDash(app)

    # Any signed-in account may ask for a page; the page itself shows only what the role may see.
    @guard.callback(None, Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def render_page(pathname, search):
        path = pathname if pathname in PAGES else ("/wall" if pathname in (None, "", "/") else pathname)
        return _page(brain, path, locale_of(search), search)

    @guard.callback(
        Permission.VIEW_MAP,
        Output(ids.MAP, "figure"),
        *[Output(f"{ids.COUNTER}-{name}", "children") for name in COUNTERS],
        Output(ids.LIVE_STATUS, "children"),
        Output(ids.FRESHNESS, "children"),
        Output(ids.FEED, "children"),
        Output(ids.BANNER, "children"),
        Output(ids.BANNER, "className"),
        Output(ids.LIVE_VERSION, "data"),
        Input(ids.LIVE_TICK, "n_intervals"),
        Input(ids.LIVE_PULL, "data"),
        State(ids.URL, "search"),
        State(ids.URL, "pathname"),
        State(ids.LIVE_VERSION, "data"),
        State(ids.MAP_FITTED, "data"),
        prevent_initial_call=True,
    )
    def live_update(_n, _pushed, search, pathname, version, fitted):
        started = time.perf_counter()
        locale, scale = locale_of(search), page_scale(fitted)
        tr = translator(locale)
        snap = snapshot(brain)
        layers = live_layers(brain, snap, locale, scale)
        sent = SENT.take(version if isinstance(version, str) else None)
        view = sent.get("view") if sent is not None else None  # a takeover's; None: the district's
        move = None
        if pathname in ("/wall", "/"):
            view, move = _wall_view(brain, snap, sent is not None, view, map_scale(fitted))
        if sent is not None and (sent.get("locale"), sent.get("scale", 1.0)) != (locale, scale):
            sent = None
        patch = Patch()
        for name, d in layers.items():  # only what changed since this page's last tick
            write_diff(patch, TRACE_INDEX[name], sent.get(name) if sent else None, d)
        counts = snap.headline()
        alarm = snap.takeover
        banner, banner_class = _banner(brain, snap, tr), "banner takeover" if alarm else "banner"
        if move is not None:
            patch["layout"]["map"]["center"] = move["center"]
            patch["layout"]["map"]["zoom"] = move["zoom"]
        token = SENT.put({"locale": locale, "scale": scale, "view": view, **layers})
        PACE.record(time.perf_counter() - started)
        return (patch, *[str(counts[n]) for n in COUNTERS],
                _clock_text(snap, tr, brain.settings.display_tz, _rejected(brain)), _freshness(brain, snap, tr),
                _feed(brain, snap, locale), banner, banner_class, token)

    if brain.settings.live_push:
        register_push(guard, brain)

    @guard.callback(Permission.VIEW_MAP, Output(ids.POLE_CARD, "children"), Output(ids.POLE_CARD, "className"),
                    Input(ids.MAP, "clickData"), Input(ids.POLE_CARD, "n_clicks"), State(ids.URL, "search"),
                    prevent_initial_call=True)
    def show_pole(click, _closed, search):
        """A click on a pole, or on a marker standing on one (a case reported there), opens the pole's card;
        a click on the card closes it."""
        if dash.ctx.triggered_id == ids.POLE_CARD:
            return [], "pole-card hidden"
        try:
            point = click["points"][0]
            if point["curveNumber"] == TRACE_INDEX["poles"]:
                number = str(point["customdata"][0])
            else:
                found = brain.gazetteer.nearest_pole(float(point["lon"]), float(point["lat"]))
                if not found or found[1] > POLE_CLICK_M:
                    return dash.no_update, dash.no_update
                number = found[0].number
        except (TypeError, KeyError, IndexError, ValueError):
            return dash.no_update, dash.no_update
        card = pole_card(brain, number, locale_of(search))
        return (card, "pole-card") if card else (dash.no_update, dash.no_update)
    dispatch_page.register(guard, brain, locale_of)
    audit_page.register(guard, brain, locale_of)
    kpi_page.register(guard, brain, locale_of)

    # Once per page: the server sized the zoom for a 1920x1080 wall; fit it to the map's real size
    # (a 4K wall, a dispatcher's narrower map) in the browser. Live updates patch only the data, so
    # this zoom, and any the operator chooses, stays.
    app.clientside_callback(
        """
        function(n, done, fig) {
            const skip = window.dash_clientside.no_update;
            const gd = document.querySelector('#district-map .js-plotly-plot');
            if (done) { return [skip, skip, true]; }
            if (!fig || !fig.layout || !fig.layout.map || !gd) { return [skip, skip, skip]; }
            const scale = Math.min(gd.clientWidth / WIDTH, gd.clientHeight / HEIGHT);
            if (!(scale > 0)) { return [skip, 1, true]; }
            const map = Object.assign({}, fig.layout.map, {zoom: fig.layout.map.zoom + Math.log2(scale)});
            // on a wall larger than 1080p, the legend, hover text, markers and lines grow with it (readable
            // from the room); the server sizes the live markers by the scale this returns
            const k = Math.min(Math.max(1, scale), 4);
            const data = fig.data.map((t) => {
                const out = Object.assign({}, t);
                if (t.marker && t.marker.size !== undefined) {
                    const s = t.marker.size;
                    out.marker = Object.assign({}, t.marker, {size: Array.isArray(s) ? s.map((v) => v * k) : s * k});
                }
                if (t.line && t.line.width) { out.line = Object.assign({}, t.line, {width: t.line.width * k}); }
                return out;
            });
            const legend = Object.assign({}, fig.layout.legend || {}, {font: Object.assign(
                {}, (fig.layout.legend || {}).font || {}, {size: Math.round(LEGEND_PX * k)})});
            const hover = {font: {size: Math.round(HOVER_PX * k)}};
            const layout = Object.assign({}, fig.layout, {map: map, legend: legend, hoverlabel: hover});
            // and the tick stops: while it ran, each of its turns made the map's live update in flight stale
            return [Object.assign({}, fig, {data: data, layout: layout}), scale, true];
        }
        """.replace("WIDTH", str(FIT_WIDTH_PX)).replace("HEIGHT", str(FIT_HEIGHT_PX))
        .replace("LEGEND_PX", str(LEGEND_FONT_PX)).replace("HOVER_PX", str(HOVER_FONT_PX)),
        Output(ids.MAP, "figure", allow_duplicate=True),
        Output(ids.MAP_FITTED, "data"),
        Output(ids.FIT_TICK, "disabled"),
        Input(ids.FIT_TICK, "n_intervals"),
        State(ids.MAP_FITTED, "data"),
        State(ids.MAP, "figure"),
        prevent_initial_call=True,
    )

    # The gate between a push and the page's request for its differences (assets/live_gate.js): one
    # request in flight at a time. A push while one is out is remembered and asked for as soon as that
    # one lands, with everything that changed meanwhile. Without it, in a storm each push started a
    # request that a newer one made stale before it could be drawn.
    app.clientside_callback(
        """
        function(pushed) {
            return window.brainLiveGate ? window.brainLiveGate.push(pushed) : pushed;
        }
        """,
        Output(ids.LIVE_PULL, "data"),
        Input(ids.LIVE_PUSH, "data"),
        prevent_initial_call=True,
    )

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
