"""What the live pages share: the district map's frame (map, legend, pole card), the status strip (banner,
counters, freshness, feed), and the live path that keeps them current.

The live path is one projection (brain.live.LiveProjection) and one loop per open page, over the page's
own WebSocket: the loop waits for a change on the bus (or the heartbeat), asks the page's map which
versions it holds (a message on the same socket), and pushes the deltas since those versions together
with whatever else on the page changed. A page that fell behind, or whose map is new, is sent the layers
whole. Nothing is pulled by the page; what a tick costs the server is what changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import time
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, State, dcc, html
from dash.backends.ws import WebsocketDisconnected

from brain.auth.enums import Permission
from brain.live import Pace
from dashboard import ids
from dashboard.i18n import LOCALES, translator
from dashboard.i18n.catalogue import category_names
from dashboard.texts import say
from district_map import DistrictMap
from layers import geography as geography_layer
from layers import live as live_layer
from layers.view import POLE_LABEL_ZOOM, in_view

log = logging.getLogger(__name__)

FEED_LENGTH = 8
COUNTERS = ("open_cases", "overdue", "unacknowledged_alarms", "stranded_cases", "staff_on_duty", "unread_tasks")
HEARTBEAT_S = 5.0  # a quiet page still hears this often: clocks, ages and the stage clocks move on
PUSH_GAP_S = 0.15  # at most about seven pushes a second per page: a storm is coalesced, not replayed
NO_MAP_FIRST_S = 0.1  # a page without the map is asked again after this, then twice as long each time
ASK_TIMEOUT_S = 10.0  # a page that does not say what its map holds in this long is asked again later
TAKEOVER_SETTLE_MS = 800  # a takeover moves once no newer one has come for this long: a storm's first alarm,
# then all of them, is one move of the wall (each move has the map draw itself anew, which holds up new alarms)
POLE_CLICK_M = 5.0  # a marker this close to a pole stands on it: a click on it opens the pole's card
FONT_FAMILY = "Noto Sans CJK SC, WenQuanYi Zen Hei, Microsoft YaHei, PingFang SC, sans-serif"
HIDDEN_AT_START = ["grid"]
LEGEND_PX = 300  # the legend's width over the map's left side at 1080p: what the map fits keeps clear of it
FOLDED_ON = ("/dispatch",)  # pages whose map is a column beside the queue and card: the legend starts folded

_geography: dict[int, tuple[object, dict]] = {}  # id of a district -> (that district, its geography)


def geography_of(district) -> dict:
    """The district's static geography for the map (built once per district: it never changes)."""
    held = _geography.get(id(district))
    if held is None or held[0] is not district:
        held = _geography[id(district)] = (district, geography_layer.geography(district))
    return held[1]


def features(brain, locale: str) -> live_layer.Features:
    return live_layer.Features(translator(locale), category_names(brain.catalogue, locale), brain.settings.display_tz)


def map_frame(brain, locale: str, *, path: str, deltas: list | None = None, **props) -> html.Div:
    """The map with the live layers as they are now (the page's loop sends what changes after), its
    legend and the card of a clicked pole. With `deltas` (/replay) the map starts from those instead and no
    live loop feeds it: the page has no live context. `props`: more of the map's props (a view, a trail)."""
    tr = translator(locale)
    replay = deltas is not None
    if deltas is None:
        brain.live.refresh()
        build = features(brain, locale)
        deltas = [build.delta(d) for d in brain.live.since(None)]
    geo = geography_of(brain.district)
    folded = path in FOLDED_ON  # the legend shows only its button; the district is fitted to the whole map
    district_map = DistrictMap(id=ids.MAP, geography=geo, palette=live_layer.palette(), deltas=deltas,
                               versions={d["layer"]: d["version"] for d in deltas}, hidden=HIDDEN_AT_START,
                               font_family=FONT_FAMILY, padding={"left": 0 if folded else LEGEND_PX}, className="map",
                               **props)
    legend = html.Div(id=ids.LEGEND, className="legend folded" if folded else "legend", children=[
        html.Div(className="legend-top", children=[
            html.Span(tr("legend.title"), className="legend-title"),
            html.Button(tr("legend.unfold") if folded else tr("legend.fold"), id=ids.LEGEND_FOLD, n_clicks=0,
                        className="legend-fold", **{"data-fold": tr("legend.fold"),
                                                    "data-unfold": tr("legend.unfold")})]),
        *[html.Div(className="legend-section" + (" off" if s["group"] in HIDDEN_AT_START else ""),
                   id={"type": ids.LEGEND_GROUP, "group": s["group"]}, n_clicks=0, children=[
            html.Div(s["title"], className="legend-head") if s["group"] in (*live_layer.COLOURS, "history")
            else None,
            *[_legend_row(r) for r in s["rows"]]])
          for s in live_layer.legend(tr, set(geo["layers"]), links=path == "/dispatch", trails=replay)]])
    card = html.Div(id=ids.POLE_CARD, className="pole-card hidden", role="dialog")
    if replay:
        return html.Div([district_map, legend, card], className="map-wrap")
    # `page`: this rendering of the page (a navigation renders it anew, with every value as it is now)
    context = dcc.Store(id=ids.LIVE_CONTEXT, data={"locale": locale, "path": path, "page": uuid.uuid4().hex})
    return html.Div([district_map, legend, card, context], className="map-wrap")


def _legend_row(r: dict) -> html.Div:
    kind = " ring" if r.get("ring") else " line" if r.get("line") else ""
    colour = {"borderColor": r["colour"]} if r.get("ring") else {"background": r["colour"]}
    return html.Div(className="legend-row", children=[html.Span(className="swatch" + kind, style=colour),
                                                       html.Span(r["label"])])


def clock_text(brain, at, tr) -> str:
    """When the live layers were read, and how many device/GPS messages ingest refused in 24 h."""
    rejected = brain.live_rejected.get()
    text = f"{tr('live.updated')} {at.astimezone(ZoneInfo(brain.settings.display_tz)).strftime('%H:%M:%S')}"
    return text + (f" · {tr('live.rejected')} {rejected}" if rejected else "")


def _age_text(age: float | None, tr) -> str:
    if age is None:
        return "—"
    if age < 60:
        return f"{int(age)} {tr('age.s')}"
    if age < 3600:
        return f"{int(age // 60)} {tr('age.min')}"
    return f"{int(age // 3600)} {tr('age.h')}"


def freshness(brain, at, tr) -> list:
    """A badge per live layer: time since its feed last brought something; red once it has gone silent."""
    return [html.Span(f"{tr('layer.' + feed)} {_age_text(age, tr)}", className="fresh stale" if silent else "fresh",
                      title=tr("fresh.hint"))
            for feed, (age, silent) in brain.freshness.ages(at).items()]


def feed(brain, locale: str) -> list:
    """The latest open cases as text items: time, category, stage, what the product wrote about the case and
    the pole (text rendered as text by React, never as HTML). No words a person typed: the masking finds the
    names of the district's residents, not any name a resident or a caller writes, and this strip is on the
    wall."""
    tz = ZoneInfo(brain.settings.display_tz)
    names = category_names(brain.catalogue, locale)
    with_views = [e.view for e in brain.live.layers["cases"].items.values()]
    latest = heapq.nlargest(FEED_LENGTH, with_views, key=lambda c: (c.reported_at, c.id))
    tr = translator(locale)
    out = []
    for c in latest:
        words = say(tr, c.text) if c.text else ""
        out.append(html.Div(className="feed-item", title=words or None, children=[
            html.Span(c.reported_at.astimezone(tz).strftime("%H:%M"), className="when"),
            f"{names.get(c.category, c.category)} · {tr('status.' + c.status)}"
            + (f" · {words[:40]}" if words else "") + (f" · {c.pole}" if c.pole else "")]))
    return out


def banner(waiting: list, at, tr, flapping, places: dict[str, str] | None = None) -> tuple[str, str, str, str]:
    """The takeover banner's words, its class, its badge ("紧急", drawn by CSS from data-sev) and what the
    alarm sound says: the oldest of the critical alarms nobody has acknowledged (`waiting`), where (the place
    of its device: `places`, the room masked), for how long, the case its escalation opened, and how many more
    wait (personal data never shown); while none waits, a quiet line saying so (the banner keeps its place: the
    map never changes size). `flapping(device ids)` names the devices that keep raising and clearing.

    The words are one text, not parts: a pushed list of parts left the calm line's first part on screen."""
    if not waiting:
        return tr("banner.calm"), "banner", "", ""
    alarm = min(waiting, key=lambda a: (a.first_at, a.id))
    minutes = int((at - alarm.first_at).total_seconds() // 60)
    more = len(waiting) - 1
    where = (places or {}).get(alarm.device_id)
    said = tr("banner.say").format(type=tr("alarm." + alarm.type), place=where or alarm.device_id)
    parts = [tr("alarm." + alarm.type), *([where] if where else []), f"{tr('hover.device')} {alarm.device_id}",
             f"{minutes} {tr('hover.min')}", tr("alarm.unacknowledged")]
    if alarm.case_id:
        parts.append(tr("banner.case").format(id=alarm.case_id))
    if alarm.device_id in flapping([alarm.device_id]):
        parts.append(tr("alarms.flapping"))
    if more > 0:
        parts.append(tr("banner.more").format(n=more))
    return " · ".join(parts), "banner takeover", tr("severity.critical"), said


def waiting_critical(brain) -> list:
    """The critical alarms nobody has acknowledged yet: they take the wall over."""
    return brain.live.waiting()


def _flapping(brain):
    return lambda device_ids: brain.alarms.flapping(device_ids=device_ids)


def strip_props(brain, locale: str, waiting: list) -> dict[str, dict]:
    """The status strip's values as they are now, by component id: the counters, the banner (`waiting`:
    the critical alarms nobody has acknowledged), the freshness badges and the clock line. What a page is
    drawn with and what its loop pushes when they change."""
    tr = translator(locale)
    at = brain.live.at
    counts = {**brain.live.headline(), "unread_tasks": brain.live_unread.get(),
              "stranded_cases": brain.live_stranded.get()}
    text, cls, badge, said = banner(waiting, at, tr, _flapping(brain), brain.device_places)
    return {**{f"{ids.COUNTER}-{n}": {"children": str(counts[n])} for n in COUNTERS},
            ids.BANNER: {"children": text, "className": cls, "title": said, "data-sev": badge},
            ids.FRESHNESS: {"children": freshness(brain, at, tr)},
            ids.LIVE_STATUS: {"children": clock_text(brain, at, tr)}}


def status_strip(brain, locale: str) -> list:
    """The banner, the counters with the freshness badges and clock, and the feed, as they are now."""
    tr = translator(locale)
    brain.live.refresh()
    props = strip_props(brain, locale, waiting_critical(brain))
    counters = html.Div(id=ids.COUNTERS, className="counters", children=[
        html.Div(className=f"counter counter-{name}", children=[
            html.Div(tr(f"counter.{name}"), className="label"),
            html.Div(id=f"{ids.COUNTER}-{name}", className="value", **props[f"{ids.COUNTER}-{name}"])])
        for name in COUNTERS
    ] + [html.Div(id=ids.FRESHNESS, className="freshness", **props[ids.FRESHNESS]),
         html.Div(id=ids.LIVE_STATUS, className="live-status", **props[ids.LIVE_STATUS])])
    # the alarm sound's buttons (assets/alarm_sound.js): arm it with a click, mute this screen
    sound = html.Div(className="sound", children=[
        html.Button(tr("sound.arm"), id=ids.SOUND_ARM, className="sound-arm"),
        html.Button(tr("sound.mute"), id=ids.SOUND_MUTE, className="sound-mute",
                    **{"data-on": tr("sound.unmute"), "data-off": tr("sound.mute")})])
    return [html.Div(className="banner-row", children=[html.Div(id=ids.BANNER, role="alert", **props[ids.BANNER]),
                                                       sound]),
            counters, html.Div(feed(brain, locale), id=ids.FEED, className="feed")]


def takeover(bounds, waiting: list, current: dict | None) -> dict | None:
    """Where the wall goes for the critical alarms nobody has acknowledged (`waiting`), from where it was
    last moved (`current`, None: never); None to stay. One alarm: to it, at street zoom (the pole numbers
    show around it). Several: the map fits them all (a storm across the district keeps the whole district in
    view), unless the street it shows holds them all, or the area it was last fitted to does (a storm does
    not move the wall at every new alarm inside what it shows). None waiting after some did: back to the district
    (`bounds`). The map takes the move when its `key` is new, and keeps the operator's view otherwise; it makes
    the move once no newer one has come for `settle_ms` (a storm's first alarm, then all of them, is one move:
    each move has the map draw itself anew, which would hold up the new alarms being drawn)."""
    view = _takeover_view(bounds, waiting, current)
    return None if view is None else {**view, "settle_ms": TAKEOVER_SETTLE_MS}


def _takeover_view(bounds, waiting: list, current: dict | None) -> dict | None:
    if not waiting:
        if current is None or current.get("home"):
            return None
        return {"key": "home", "home": True, "bounds": [round(v, 6) for v in bounds]}
    points = sorted({(round(a.lon, 6), round(a.lat, 6)) for a in waiting})
    key = hashlib.sha1(repr(points).encode()).hexdigest()[:12]
    if current is not None and current.get("key") == key:
        return None
    if len(points) == 1:
        return {"key": key, "center": list(points[0]), "zoom": float(POLE_LABEL_ZOOM)}
    if current is not None and current.get("center") and in_view(
            {"center": {"lon": current["center"][0], "lat": current["center"][1]}, "zoom": current["zoom"]}, points):
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    box = [min(lons), min(lats), max(lons), max(lats)]
    if current is not None and current.get("bounds") and not current.get("home"):
        w, s, e, n = current["bounds"]  # fitted to alarms before: stays while every one waiting is inside
        if w <= box[0] and box[2] <= e and s <= box[1] and box[3] <= n:
            return None
    return {"key": key, "bounds": box, "max_zoom": POLE_LABEL_ZOOM}


@dataclass
class LiveSession:
    """One open page's live state on the server: what it was last sent, so a push carries only what
    changed. The map's layers are sent from the versions the map itself says it holds."""

    brain: object
    sent: dict = field(default_factory=dict)  # component id -> the props last pushed
    view: dict | None = None  # where the wall was last moved (a takeover, or home)
    pushes: int = 0  # how often the cases or alarms changed: the dispatcher's queue and alarm panel follow it
    page: str | None = None  # the rendering of the page these were sent to

    def step(self, versions, context) -> dict[str, dict]:
        """Everything on the page that changed, as {component id: props}; the map's deltas first."""
        brain = self.brain
        context = context if isinstance(context, dict) else {}
        locale = context.get("locale") if context.get("locale") in LOCALES else "zh-CN"
        if context.get("page") != self.page:  # a page rendered anew shows what was current then: compare with
            self.page, self.sent, self.view = context.get("page"), {}, None  # that, not with what the last got
        brain.live.refresh()
        out: dict[str, dict] = {}
        build = features(brain, locale)
        deltas = [build.delta(d) for d in brain.live.since(versions) if d]
        if deltas:
            out[ids.MAP] = {"deltas": deltas}
        waiting = waiting_critical(brain)
        if context.get("path") == "/wall":
            move = takeover(brain.district.boundary.bounds, waiting, self.view)
            if move is not None:
                self.view = move
                out.setdefault(ids.MAP, {})["view"] = move
        versions_now = brain.live.versions()
        candidates = strip_props(brain, locale, waiting)
        if self.sent.get("lists") != (versions_now["cases"], versions_now["alarms"]):  # the dispatcher's lists
            self.sent["lists"] = (versions_now["cases"], versions_now["alarms"])
            self.pushes += 1
            candidates[ids.LIVE_PUSH] = {"data": self.pushes}
        if self.sent.get("feed-version") != versions_now["cases"]:
            self.sent["feed-version"] = versions_now["cases"]
            candidates[ids.FEED] = {"children": feed(brain, locale)}
        for cid, props in candidates.items():
            key = repr(props)
            if self.sent.get(cid) != key:
                self.sent[cid] = key
                out[cid] = props
        return out


def register(guard, brain, locale_of) -> None:
    """The live path of the map pages (the push loop, or the poll where push is off), the pole card and
    the legend's toggles."""
    pace = Pace(PUSH_GAP_S)  # this app's: pushes spaced by what a step costs here

    def run_step(session: LiveSession, versions, context) -> dict:
        started = time.perf_counter()
        try:
            return session.step(versions, context)
        finally:
            pace.record(time.perf_counter() - started)

    if brain.settings.live_push:
        @guard.callback(Permission.VIEW_MAP, websocket=True, persistent=True)
        async def live_push():
            ws = dash.ctx.websocket
            loop = asyncio.get_running_loop()
            session = LiveSession(brain)
            seen, last, idle = -1, 0.0, NO_MAP_FIRST_S
            while ws is not None and not ws.is_shutdown:
                seq = await brain.changes.wait(seen, HEARTBEAT_S)
                wait = pace.gap() - (loop.time() - last)
                if seq != seen and wait > 0:  # gather what else arrives in the gap into the same push
                    await asyncio.sleep(wait)
                seen, last = brain.changes.seq, loop.time()
                try:
                    context, versions = await asyncio.gather(ws.get_prop(ids.LIVE_CONTEXT, "data", ASK_TIMEOUT_S),
                                                             ws.get_prop(ids.MAP, "versions", ASK_TIMEOUT_S))
                except WebsocketDisconnected:
                    break
                except TimeoutError:
                    continue
                if not isinstance(context, dict):  # no map yet (the page is drawing it), or a page without one
                    session = LiveSession(brain)
                    await asyncio.sleep(idle)  # asked again soon, then less and less often
                    idle = min(2 * idle, HEARTBEAT_S)
                    continue
                idle = NO_MAP_FIRST_S
                try:
                    updates = await loop.run_in_executor(None, run_step, session, versions, context)
                except Exception:  # a fault in one step must not end the page's live updates
                    log.exception("a live step failed; the page is sent its layers whole at the next")
                    session = LiveSession(brain)
                    continue
                for cid, props in updates.items():
                    dash.set_props(cid, props)
            raise dash.exceptions.PreventUpdate
    else:
        @guard.callback(Permission.VIEW_MAP, Input(ids.LIVE_TICK, "n_intervals"), State(ids.MAP, "versions"),
                        State(ids.LIVE_CONTEXT, "data"), prevent_initial_call=True)
        def live_poll(_n, versions, context):
            for cid, props in run_step(LiveSession(brain), versions, context).items():
                dash.set_props(cid, props)

    @guard.callback(Permission.VIEW_MAP, Output(ids.POLE_CARD, "children"), Output(ids.POLE_CARD, "className"),
                    Input(ids.MAP, "clickData"), Input(ids.POLE_CARD, "n_clicks"), State(ids.URL, "search"),
                    prevent_initial_call=True)
    def show_pole(click, _closed, search):
        """A click on a pole, or on a marker standing on one (a case reported there), opens the pole's card;
        a click on the card closes it."""
        if dash.ctx.triggered_id == ids.POLE_CARD:
            return [], "pole-card hidden"
        number = pole_at(brain, click)
        card = pole_card(brain, number, locale_of(search)) if number else None
        return (card, "pole-card") if card else (dash.no_update, dash.no_update)

    guard.app.clientside_callback(
        """
        function(clicks, cls) {
            // folds the legend to its button, or unfolds it (the button says which it will do)
            const folded = !(cls || '').split(' ').includes('folded');
            const button = document.getElementById(window.dash_clientside.callback_context.triggered_id);
            const label = button ? button.dataset[folded ? 'unfold' : 'fold'] : '';
            return [folded ? 'legend folded' : 'legend', label];
        }
        """,
        Output(ids.LEGEND, "className"),
        Output(ids.LEGEND_FOLD, "children"),
        Input(ids.LEGEND_FOLD, "n_clicks"),
        State(ids.LEGEND, "className"),
        prevent_initial_call=True,
    )

    guard.app.clientside_callback(
        """
        function(clicks, hidden) {
            const ctx = window.dash_clientside.callback_context;
            const skip = window.dash_clientside.no_update;
            if (!ctx.triggered.length || !ctx.triggered_id) { return [skip, skip]; }
            const group = ctx.triggered_id.group;
            const now = new Set(hidden || []);
            if (now.has(group)) { now.delete(group); } else { now.add(group); }
            const ids = ctx.inputs_list[0].map((i) => i.id.group);
            return [Array.from(now), ids.map((g) => 'legend-section' + (now.has(g) ? ' off' : ''))];
        }
        """,
        Output(ids.MAP, "hidden"),
        Output({"type": ids.LEGEND_GROUP, "group": dash.ALL}, "className"),
        Input({"type": ids.LEGEND_GROUP, "group": dash.ALL}, "n_clicks"),
        State(ids.MAP, "hidden"),
        prevent_initial_call=True,
    )


def pole_at(brain, click) -> str | None:
    """The pole a click on the map points at: the pole clicked, or the one a clicked marker stands on."""
    if not isinstance(click, dict):
        return None
    if click.get("layer") == "poles" and isinstance(click.get("number"), str):
        return click["number"]
    try:
        found = brain.gazetteer.nearest_pole(float(click["lon"]), float(click["lat"]))
    except (TypeError, KeyError, ValueError):
        return None
    if not found or (click.get("layer") is None and found[1] > POLE_CLICK_M * 4) or (
            click.get("layer") is not None and found[1] > POLE_CLICK_M):
        return None
    return found[0].number


def pole_card(brain, number: str, locale: str) -> list | None:
    """A pole's card: number, code, grid cell, committee, road and the open cases there; None if no such pole."""
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
