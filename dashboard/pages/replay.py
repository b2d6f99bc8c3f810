"""/replay: the district's past on the wall's map. A window of up to 7 days, a playhead moved by a slider,
played at 1x to 600x (by the time elapsed, not by the count of events) or stepped from event to event; the
window's events beside the map, filtered, moving with the playhead; one person or one case followed. The
state at the playhead comes from the event log and the position track (brain.replay), never from screens;
the map is the live screens' component and layers, fed with what changed since the last step.

A jump in opens /replay?at=<time>[&case=<id>][&staff=<id>]: the hour either side of the moment, with that
case or person followed; /replay?from=<time>&to=<time>[&at=<time>] opens a window (at its end, or at `at`)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import dash
from dash import ALL, Input, Output, State, dcc, html

from brain.auth.context import current
from brain.auth.enums import Permission
from brain.live import Entry, stale_position
from brain.replay.service import FOLLOW_S, KINDS, Filter, ReplayError, Scene, Window
from brain.storage.db import utcnow
from dashboard import ids
from dashboard.i18n import translator
from dashboard.i18n.catalogue import category_names
from dashboard.live import map_frame
from dashboard.texts import dropdown, event_subject, event_text, group_names, refusal_text
from layers import live as live_layer

SPEEDS = (1, 10, 60, 600)
TICK_MS = 1000
DEFAULT_SPAN = timedelta(hours=2)
JUMP_SPAN = timedelta(hours=1)  # a jump in shows this much either side of the moment
LIST_BEFORE, LIST_AFTER = 14, 6
FOLLOW_ZOOM = 16.0
SESSIONS = 64  # pages whose last map state this app keeps (to send only what changed)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _local_input(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _from_input(value, tz: ZoneInfo) -> datetime | str | None:
    """A datetime-local input's value (no zone: the screen's, Asia/Shanghai) as an aware time; anything
    else as given, for the replay to refuse with what is wrong."""
    if not isinstance(value, str):
        return value
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return at if at.tzinfo else at.replace(tzinfo=tz)


def window_of(state: dict) -> tuple[Window, datetime]:
    """The window and the playhead a page's state holds (as the page last showed them)."""
    w = Window(datetime.fromisoformat(state["from"]), datetime.fromisoformat(state["to"]))
    return w, w.clamp(datetime.fromisoformat(state["at"]))


def start_state(brain, search: str | None, tr) -> tuple[dict, str | None]:
    """The page's first state from its address: ?from&to, or ?at (a jump in), and what to follow; with the
    refusal's words where the address asks for what cannot be shown (the last two hours are shown then)."""
    q = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v}
    now = utcnow()
    error = None
    state = {"token": uuid.uuid4().hex, "playing": False, "speed": 60, "wall": None,
             "follow_staff": q.get("staff"), "follow_case": None}
    try:
        state["follow_case"] = int(q["case"]) if q.get("case") else None
    except ValueError:
        state["follow_case"] = None
    try:
        if q.get("from") or q.get("to"):
            w = brain.replay.window(q.get("from"), q.get("to"))
            at = brain.replay.instant(w, q["at"]) if q.get("at") else w.end
        elif q.get("at"):
            probe = brain.replay.window(now - timedelta(days=7), now)
            at = brain.replay.instant(probe, q["at"])
            w = brain.replay.window(max(probe.start, at - JUMP_SPAN), min(now, at + JUMP_SPAN))
        else:
            w, at = brain.replay.window(now - DEFAULT_SPAN, now), now
    except ReplayError as e:
        error = refusal_text(e, tr)
        w, at = brain.replay.window(now - DEFAULT_SPAN, now), now
    state.update({"from": _iso(w.start), "to": _iso(w.end), "at": _iso(at)})
    return state, error


class Sessions:
    """What each open replay page's map holds (features by layer and id, and the layer's version), so a
    step sends only what changed; an unknown page, or a map that says it holds another version, gets the
    layers whole."""

    def __init__(self, size: int = SESSIONS) -> None:
        self.size = size
        self._held: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def deltas(self, token: str, layers: dict[str, dict[str, dict]], versions) -> list[dict]:
        with self._lock:
            held = self._held.pop(token, None)
            versions = versions if isinstance(versions, dict) else {}
            out = []
            fresh = held is None or any(versions.get(n) != held["versions"].get(n) for n in layers)
            base_version = time.time_ns() // 1000
            new = {"features": layers, "versions": {}}
            for name, features in layers.items():
                if fresh:
                    v = base_version
                    out.append({"layer": name, "version": v, "reset": True, "upsert": list(features.values()),
                                "remove": []})
                else:
                    before = held["features"][name]
                    upsert = [f for k, f in features.items() if before.get(k) != f]
                    remove = [k for k in before if k not in features]
                    v = held["versions"][name] + (1 if upsert or remove else 0)
                    if upsert or remove:
                        out.append({"layer": name, "version": v, "base": v - 1, "reset": False, "upsert": upsert,
                                    "remove": remove})
                new["versions"][name] = v
            self._held[token] = new
            while len(self._held) > self.size:
                self._held.popitem(last=False)
            return out


def layers_of(brain, scene: Scene, locale: str) -> dict[str, dict[str, dict]]:
    """The scene's features as the live layers draw them (same colours, sizes and hover text; an alarm's
    count and last time are left out: not in the log)."""
    build = live_layer.Features(translator(locale), category_names(brain.catalogue, locale),
                                brain.settings.display_tz, counts=False)
    at = scene.at
    out: dict[str, dict[str, dict]] = {"cases": {}, "alarms": {}, "staff": {}}
    for c in scene.cases:
        out["cases"][str(c.id)] = build.case(c.id, Entry(c, c.overdue(at)))
    for a in scene.alarms:
        out["alarms"][a.id] = build.alarm(a.id, Entry(a))
    for s in scene.staff:
        f = build.staff(s.id, Entry(s, stale_position(s, at)))
        if f is not None:
            out["staff"][s.id] = f
    return out


def trail_of(brain, scene: Scene, follow_staff: str | None, follow_case: int | None) -> tuple[dict | None, list | None]:
    """The map's trail (every person's last minutes; the person followed, or the person sent to the case
    followed, for half an hour; the case's place) and where the followed thing is (None: not on the map)."""
    followed, where, reported = follow_staff, None, None
    if follow_case is not None:
        case = next((c for c in scene.cases if c.id == follow_case), None)
        if case is not None:
            reported = (case.lon, case.lat)
            where = [round(case.lon, 6), round(case.lat, 6)]
            followed = followed or case.assigned_staff_id
    paths = dict(scene.trails)
    if followed:
        paths[followed] = brain.replay.path(followed, scene.at, FOLLOW_S)
        if where is None and follow_staff:
            person = next((s for s in scene.staff if s.id == follow_staff and s.lon is not None), None)
            where = [round(person.lon, 6), round(person.lat, 6)] if person else None
    history = {"reported": reported,
               "trails": [{"staff_id": sid, "path": path, "arrived": None} for sid, path in sorted(paths.items())]}
    return live_layer.trail(history), where


def filter_of(kinds, committee, team, case) -> Filter:
    kinds = tuple(k for k in (kinds or []) if k in KINDS)
    try:
        case_id = int(str(case).strip().lstrip("#")) if case not in (None, "") else None
    except ValueError:
        case_id = None
    return Filter(kinds=kinds, case_id=case_id if case_id and case_id > 0 else None,
                  team_id=team or None, committee=committee or None)


def event_list(brain, w: Window, at: datetime, f: Filter, tr, tz: ZoneInfo, staff: dict) -> list:
    past, later = brain.replay.events(w, at, f, before=LIST_BEFORE, after=LIST_AFTER)
    if not past and not later:
        return [html.Div(tr("replay.none"), className="muted")]
    fmt = "%m-%d %H:%M:%S" if w.seconds > 86400 else "%H:%M:%S"
    rows = []
    for i, e in enumerate(past + later):
        now = i == len(past) - 1  # the last event at or before the playhead
        offset = int((e["at"] - w.start).total_seconds() * 1_000_000)
        rows.append(html.Button(id={"type": ids.REPLAY_EVENT, "n": e["seq"], "key": str(offset)}, n_clicks=0,
                                className="replay-event" + (" now" if now else "") + (" later" if i >= len(past)
                                                                                        else ""),
                                children=[html.Span(e["at"].astimezone(tz).strftime(fmt), className="when"),
                                          html.Span(event_text(e, tr, staff), className="what"),
                                          html.Span(event_subject(e), className="subject")]))
    return rows


def marks(w: Window, tz: ZoneInfo) -> dict:
    fmt = "%m-%d %H:%M" if w.seconds > 86400 else "%H:%M"
    n = 6
    return {int(w.seconds * i / n): {"label": (w.start + timedelta(seconds=w.seconds * i / n)).astimezone(tz)
                                     .strftime(fmt)} for i in range(n + 1)}


def csv_href(state: dict, f: Filter, locale: str) -> str:
    q = {"from": state["from"], "to": state["to"], "lang": locale}
    if f.kinds:
        q["kind"] = ",".join(f.kinds)
    for key, value in (("case", f.case_id), ("team", f.team_id), ("committee", f.committee)):
        if value is not None:
            q[key] = str(value)
    return "/report/replay.csv?" + urlencode(q)


def scene_outputs(brain, sessions: Sessions, state: dict, f: Filter, locale: str, versions) -> dict:
    """Everything the page shows at the playhead of `state`."""
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    w, at = window_of(state)
    roster = brain.staff.roster()
    scene = brain.replay.scene(at, roster=roster)
    trail, where = trail_of(brain, scene, state.get("follow_staff"), state.get("follow_case"))
    view = ({"key": f"follow:{where[0]:.5f},{where[1]:.5f}", "center": where, "zoom": FOLLOW_ZOOM}
            if where else None)
    following = state.get("follow_staff") or state.get("follow_case")
    on_duty = sum(1 for s in scene.staff if s.status != "off_duty")
    counts = tr("replay.counts").format(cases=len(scene.cases), alarms=len(scene.alarms), staff=on_duty)
    return {
        "deltas": sessions.deltas(state["token"], layers_of(brain, scene, locale), versions),
        "trail": trail, "view": view,
        "value": int((at - w.start).total_seconds()), "max": max(1, int(w.seconds)), "marks": marks(w, tz),
        "at": f"{tr('replay.at')} {at.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S')}",
        "counts": counts + (f" · {tr('replay.follow.gone')}" if following and where is None else ""),
        "events": event_list(brain, w, at, f, tr, tz, {s.id: s for s in roster}),
        "csv": csv_href(state, f, locale),
    }


def body(brain, locale: str, search: str | None) -> html.Div:
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    state, error = start_state(brain, search, tr)
    who = current()
    w, _at = window_of(state)
    if who is not None:
        brain.replay.audit(w, actor=who.actor)
    shown = scene_outputs(brain, Sessions(), state, Filter(), locale, None)  # the layers whole, to begin with
    staff_options = [{"label": f"{s.name} · {s.team_name}", "value": s.id} for s in brain.staff.roster()]
    team_options = [{"label": name, "value": tid} for tid, name in sorted(brain.residents.team_names().items())]
    committees = group_names(brain, "committee", locale)
    map_block = map_frame(brain, locale, path="/replay", deltas=shown["deltas"], trail=shown["trail"],
                          **({"view": shown["view"]} if shown["view"] else {}))
    return html.Div(className="replay-page", children=[
        dcc.Store(id=ids.REPLAY_STATE, data=state),
        dcc.Interval(id=ids.REPLAY_TICK, interval=TICK_MS, disabled=True),
        html.Div(className="replay-bar", children=[
            html.Label([tr("replay.from"), dcc.Input(id=ids.REPLAY_FROM, type="datetime-local",
                                                     value=_local_input(w.start, tz), className="text-input")]),
            html.Label([tr("replay.to"), dcc.Input(id=ids.REPLAY_TO, type="datetime-local",
                                                   value=_local_input(w.end, tz), className="text-input")]),
            html.Button(tr("replay.apply"), id=ids.REPLAY_APPLY, n_clicks=0),
            html.Button(tr("replay.prev"), id=ids.REPLAY_PREV, n_clicks=0, className="step"),
            html.Button(tr("replay.play"), id=ids.REPLAY_PLAY, n_clicks=0, className="play"),
            html.Button(tr("replay.next"), id=ids.REPLAY_NEXT, n_clicks=0, className="step"),
            html.Label([tr("replay.speed"), dropdown(tr, id=ids.REPLAY_SPEED, value=state["speed"], clearable=False,
                                                     options=[{"label": f"{s}×", "value": s} for s in SPEEDS],
                                                     className="speed")]),
            html.Span(shown["at"], id=ids.REPLAY_AT, className="replay-at"),
            html.A(tr("replay.export.csv"), id=ids.REPLAY_CSV, href=shown["csv"], className="export"),
            html.Button(tr("replay.export.png"), id=ids.REPLAY_PNG, n_clicks=0, className="export"),
        ]),
        html.Div(error or "", id=ids.REPLAY_ERROR, className="replay-error", role="alert"),
        dcc.Slider(id=ids.REPLAY_SLIDER, min=0, max=shown["max"], step=1, value=shown["value"], marks=shown["marks"],
                   updatemode="mouseup", className="replay-slider"),
        html.Div(className="replay-body", children=[
            map_block,
            html.Aside(className="replay-side", children=[
                html.Div(shown["counts"], id=ids.REPLAY_COUNTS, className="replay-counts"),
                html.Div(tr("replay.replayed"), className="hint"),
                dropdown(tr, id=ids.REPLAY_FOLLOW_STAFF, options=staff_options, value=state["follow_staff"],
                         placeholder=tr("replay.follow.staff")),
                dcc.Input(id=ids.REPLAY_FOLLOW_CASE, type="text", inputMode="numeric", debounce=True,
                          value=str(state["follow_case"]) if state["follow_case"] else "",
                          placeholder=tr("replay.follow.case"), className="text-input"),
                html.H4(tr("replay.events")),
                dropdown(tr, id=ids.REPLAY_KINDS, multi=True, placeholder=tr("replay.filter.kind"),
                         options=[{"label": tr(f"replay.kind.{k}"), "value": k} for k in KINDS]),
                dropdown(tr, id=ids.REPLAY_COMMITTEE, placeholder=tr("replay.filter.committee"),
                         options=[{"label": n, "value": c} for c, n in sorted(committees.items())]),
                dropdown(tr, id=ids.REPLAY_TEAM, placeholder=tr("replay.filter.team"), options=team_options),
                dcc.Input(id=ids.REPLAY_CASE, type="text", inputMode="numeric", debounce=True,
                          placeholder=tr("replay.filter.case"), className="text-input"),
                html.Div(shown["events"], id=ids.REPLAY_EVENTS, className="replay-events"),
            ]),
        ]),
    ])


def register(guard, brain, locale_of) -> None:
    sessions = Sessions()  # this app's replay pages (a page it does not know is sent its layers whole)

    @guard.callback(
        Permission.REPLAY,
        Output(ids.REPLAY_STATE, "data"), Output(ids.MAP, "deltas"), Output(ids.MAP, "trail"),
        Output(ids.MAP, "view"), Output(ids.REPLAY_SLIDER, "value"), Output(ids.REPLAY_SLIDER, "max"),
        Output(ids.REPLAY_SLIDER, "marks"), Output(ids.REPLAY_AT, "children"), Output(ids.REPLAY_COUNTS, "children"),
        Output(ids.REPLAY_EVENTS, "children"), Output(ids.REPLAY_ERROR, "children"),
        Output(ids.REPLAY_TICK, "disabled"), Output(ids.REPLAY_PLAY, "children"), Output(ids.REPLAY_CSV, "href"),
        Input(ids.REPLAY_SLIDER, "value"), Input(ids.REPLAY_TICK, "n_intervals"), Input(ids.REPLAY_PLAY, "n_clicks"),
        Input(ids.REPLAY_PREV, "n_clicks"), Input(ids.REPLAY_NEXT, "n_clicks"), Input(ids.REPLAY_APPLY, "n_clicks"),
        Input(ids.REPLAY_SPEED, "value"), Input(ids.REPLAY_KINDS, "value"), Input(ids.REPLAY_COMMITTEE, "value"),
        Input(ids.REPLAY_TEAM, "value"), Input(ids.REPLAY_CASE, "value"), Input(ids.REPLAY_FOLLOW_STAFF, "value"),
        Input(ids.REPLAY_FOLLOW_CASE, "value"), Input({"type": ids.REPLAY_EVENT, "n": ALL, "key": ALL}, "n_clicks"),
        State(ids.REPLAY_STATE, "data"), State(ids.REPLAY_FROM, "value"), State(ids.REPLAY_TO, "value"),
        State(ids.MAP, "versions"), State(ids.URL, "search"),
        prevent_initial_call=True)
    def show(slider, _tick, _play, _prev, _next, _apply, speed, kinds, committee, team, case, follow_staff,
             follow_case, _events, state, start, end, versions, search):
        locale = locale_of(search)
        tr = translator(locale)
        tz = ZoneInfo(brain.settings.display_tz)
        trigger = dash.ctx.triggered_id
        if isinstance(trigger, dict) and not dash.ctx.triggered[0].get("value"):
            raise dash.exceptions.PreventUpdate  # the list drawn anew, not a click on it
        if not isinstance(state, dict) or not {"from", "to", "at", "token"} <= set(state):
            raise dash.exceptions.PreventUpdate
        state = dict(state)
        error = ""
        f = filter_of(kinds, committee, team, case)
        try:
            w = brain.replay.window(state["from"], state["to"])
            at = w.clamp(datetime.fromisoformat(state["at"]))
            wall = time.time()
            if trigger == ids.REPLAY_APPLY:
                w = brain.replay.window(_from_input(start, tz), _from_input(end, tz))
                at = w.end
                state["playing"] = False
                who = current()
                if who is not None:
                    brain.replay.audit(w, actor=who.actor)
            elif trigger == ids.REPLAY_SLIDER and isinstance(slider, (int, float)):
                at = w.clamp(w.start + timedelta(seconds=float(slider)))
            elif trigger == ids.REPLAY_TICK and state.get("playing"):
                elapsed = min(5.0, max(0.0, wall - (state.get("wall") or wall)))  # by the time elapsed
                at = w.clamp(at + timedelta(seconds=elapsed * int(state.get("speed") or 1)))
                if at >= w.end:
                    state["playing"] = False
            elif trigger == ids.REPLAY_PLAY:
                state["playing"] = not state.get("playing")
                if state["playing"] and at >= w.end:
                    at = w.start
            elif trigger in (ids.REPLAY_PREV, ids.REPLAY_NEXT):
                found = brain.replay.step(w, at, -1 if trigger == ids.REPLAY_PREV else 1, f)
                at = found or at
            elif isinstance(trigger, dict) and trigger.get("type") == ids.REPLAY_EVENT and \
                    str(trigger.get("key")).isdigit():  # the event's time, in microseconds from the window's start
                at = w.clamp(w.start + timedelta(microseconds=int(trigger["key"])))
            elif trigger == ids.REPLAY_FOLLOW_CASE:
                state["follow_case"] = filter_of(None, None, None, follow_case).case_id
            elif trigger == ids.REPLAY_FOLLOW_STAFF:
                state["follow_staff"] = follow_staff or None
            if speed in SPEEDS:
                state["speed"] = speed
        except ReplayError as e:
            error = refusal_text(e, tr)
            w, at = window_of(state)  # where it was
            wall = time.time()
        state.update({"from": _iso(w.start), "to": _iso(w.end), "at": _iso(at), "wall": wall})
        shown = scene_outputs(brain, sessions, state, f, locale, versions)
        playing = bool(state.get("playing"))
        return (state, shown["deltas"] or dash.no_update, shown["trail"], shown["view"] or dash.no_update,
                shown["value"], shown["max"], shown["marks"], shown["at"], shown["counts"], shown["events"], error,
                not playing, tr("replay.pause") if playing else tr("replay.play"), shown["csv"])

    guard.app.clientside_callback(
        """
        function(n, caption) {
            const skip = window.dash_clientside.no_update;
            const held = window.districtMaps && window.districtMaps['district-map'];
            if (!n || !held) { return skip; }
            const map = held.map;
            map.once('render', () => {
                const src = map.getCanvas();
                const band = Math.round(src.height / 18);
                const out = document.createElement('canvas');
                out.width = src.width;
                out.height = src.height + band;
                const g = out.getContext('2d');
                g.fillStyle = '#0B1622';
                g.fillRect(0, 0, out.width, out.height);
                g.drawImage(src, 0, 0);
                g.fillStyle = '#FFFFFF';
                g.font = `${Math.round(band * 0.55)}px sans-serif`;
                g.fillText(caption || '', Math.round(band / 2), src.height + Math.round(band * 0.7));
                out.toBlob((blob) => {
                    const a = document.createElement('a');
                    a.href = URL.createObjectURL(blob);
                    a.download = 'replay.png';
                    document.body.appendChild(a);
                    a.click();
                    a.remove();
                    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
                }, 'image/png');
            });
            map.triggerRepaint();
            return skip;
        }
        """,
        Output(ids.REPLAY_PNG, "title"),
        Input(ids.REPLAY_PNG, "n_clicks"),
        State(ids.REPLAY_AT, "children"),
        prevent_initial_call=True,
    )
