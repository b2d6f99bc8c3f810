"""/dispatch: the case queue, a case card with timeline and recommendations, one-click assignment,
the workflow moves a dispatcher may make, and new cases by pole number — beside the shared map.

Every callback is registered with the permission it needs; the server checks it before the
callback runs. Callbacks only read inputs, call `brain` services and hand results to builders.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from brain.alarms.enums import SEVERITY_RANK
from brain.alarms.monitor import Outcome
from brain.alarms.service import AlarmError, AlarmNotFound
from brain.auth.context import current
from brain.auth.enums import Permission
from brain.cases.enums import CaseStatus, Channel
from brain.cases.service import CaseNotFound, CaseView, IntakeError, PersonalSearch, VersionConflict
from brain.cases.workflow import TRANSITIONS, TransitionRefused
from brain.dispatch.service import AssignRefused
from brain.residents.service import ResidentRefused
from brain.staff.enums import READY
from brain.storage.db import utcnow
from dashboard import ids
from dashboard.i18n import translator
from dashboard.i18n.catalogue import category_names
from dashboard.texts import case_words, dropdown, photo_links, refusal_text, replay_href, timeline_items
from geodata.crs import haversine_m
from layers import live as live_layer

QUEUE_LENGTH = 60
# a card's workflow moves in the order of the workflow (the way on first, then the pause, the way back, the end)
MOVE_ORDER = [CaseStatus.REGISTERED, CaseStatus.DISPATCHED, CaseStatus.HANDLING, CaseStatus.HANDLED,
              CaseStatus.VERIFIED, CaseStatus.CLOSED, CaseStatus.DEFERRED, CaseStatus.CANCELLED, CaseStatus.REPORTED,
              CaseStatus.MERGED]
CASE_ZOOM = 16.5  # a selected case is shown at this zoom: its street and the poles around it
RECOMMEND = 5


def queue_order(cases: list[CaseView], now: datetime) -> list[CaseView]:
    """Overdue first, then at risk, then by when the current stage is due (no clock: last)."""
    def key(c: CaseView):
        due = c.stage_due_at.timestamp() if c.stage_due_at else float("inf")
        return (0 if c.overdue(now) else 1 if c.at_risk(now) else 2, due, c.id)

    return sorted(cases, key=key)


def filter_cases(cases: list[CaseView], *, status=None, category=None, committee=None, channel=None) -> list:
    return [c for c in cases if (not status or c.status == status) and (not category or c.category == category)
            and (not committee or c.committee == committee) and (not channel or c.channel == channel)]


def _dropdown(tr, id_: str, options: list[tuple[str, str]], placeholder: str) -> dcc.Dropdown:
    return dropdown(tr, id=id_, options=[{"label": label, "value": v} for v, label in options],
                    placeholder=placeholder, clearable=True, className="filter")


def body(brain, locale: str) -> html.Div:
    """The left panel of /dispatch (the map sits beside it)."""
    tr = translator(locale)
    names = category_names(brain.catalogue, locale)
    committees = brain.district.committees
    who = current()
    may_open = who is not None and who.can(Permission.OPEN_CASE)
    new_case = html.Details(open=False, className="new-case", children=[
        html.Summary(tr("dispatch.new")),
        dcc.Input(id=ids.NEW_POLE, placeholder=tr("dispatch.pole"), maxLength=64, debounce=False,
                  className="text-input"),
        _dropdown(tr, ids.NEW_CATEGORY, sorted(names.items()), tr("dispatch.category")),
        _dropdown(tr, ids.NEW_CHANNEL, [(c.value, tr(f"channel.{c.value}")) for c in Channel], tr("dispatch.channel")),
        dcc.Textarea(id=ids.NEW_DESCRIPTION, placeholder=tr("dispatch.description"), maxLength=2000,
                     className="text-input"),
        html.Button(tr("dispatch.create"), id=ids.NEW_SUBMIT, n_clicks=0, className="primary"),
        html.Div(id=ids.NEW_RESULT, className="new-result"),
    ]) if may_open else None
    filters = html.Div(className="filters", children=[
        _dropdown(tr, ids.FILTER_STATUS, [(s.value, tr(f"status.{s.value}")) for s in CaseStatus if s.is_open],
                  tr("dispatch.filter.status")),
        _dropdown(tr, ids.FILTER_CATEGORY, sorted(names.items()), tr("dispatch.filter.category")),
        _dropdown(tr, ids.FILTER_COMMITTEE, list(zip(committees["code"], committees["name"], strict=True)),
                  tr("dispatch.filter.committee") if len(committees) else tr("kpi.no_committees")),
        _dropdown(tr, ids.FILTER_CHANNEL, [(c.value, tr(f"channel.{c.value}")) for c in Channel],
                  tr("dispatch.filter.channel")),
    ])
    # two columns: the queue (and new cases, alarms) and beside it the selected case's card; the map beside both
    return html.Div(className="dispatch-panel", children=[html.Div(className="dispatch-col queue-col", children=[
        dcc.Store(id=ids.SELECTED), dcc.Store(id=ids.REFRESH, data=0), dcc.Store(id=ids.QUEUE_SIG),
        dcc.Store(id=ids.CARD_DRAWN),
        dcc.Store(id=ids.ALARM_SIG),
        new_case,
        html.H2(tr("dispatch.queue")), filters,
        dcc.Store(id=ids.QUEUE_PAGE, data=0),
        dcc.Input(id=ids.QUEUE_SEARCH, type="search", debounce=True, maxLength=100, className="text-input search",
                  placeholder=tr("dispatch.search")),
        html.Div(className="queue-pages", children=[
            html.Button("‹", id=ids.QUEUE_PREV, n_clicks=0, className="small", title=tr("dispatch.page.prev")),
            html.Span(id=ids.QUEUE_COUNT, className="count"),
            html.Button("›", id=ids.QUEUE_NEXT, n_clicks=0, className="small", title=tr("dispatch.page.next"))]),
        html.Div(className="queue-head", children=[html.Span(tr("dispatch.col.case")), html.Span(""),
                                                    html.Span(tr("dispatch.col.category")),
                                                    html.Span(tr("hover.left"), className="left")]),
        html.Div(id=ids.QUEUE, className="queue"),
        html.H2(tr("alarms.title")),
        html.Div(id=ids.ALARM_MESSAGE, className="message", role="status"),
        html.Div(id=ids.ALARM_PANEL, className="alarm-panel"),
    ]), html.Div(className="dispatch-col card-col", children=[
        html.Div(id=ids.MESSAGE, className="message", role="status"),
        html.Div(tr("dispatch.pick_case"), id=ids.CARD, className="card"),
        dcc.Store(id=ids.FIELD_SIG),
        html.Div(id=ids.FIELD_PROGRESS, className="card field-progress"),
    ])])


def _minutes_left(c: CaseView, now: datetime) -> str:
    if c.stage_due_at is None:
        return "—"
    return str(int((c.stage_due_at - now).total_seconds() // 60))


def field_progress(brain, case_id: int, locale: str) -> tuple[list, str]:
    """The case's task as the person's phone moved it: each step with its time (delivered, read, accepted,
    arrived with the distance, handled, verified), how far the person is while on the way, a task not read
    in time, the photos; and the signature of what it shows (redrawn only when that changes)."""
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    tasks = brain.field.progress([case_id])[case_id]
    if not tasks:
        return [], ""
    now = utcnow()
    task, earlier = tasks[0], tasks[1:]
    staff = {s.id: s for s in brain.staff.roster({t.staff_id for t in tasks})}
    person = staff.get(task.staff_id)

    def at(iso: str | None) -> str:
        return datetime.fromisoformat(iso).astimezone(tz).strftime("%H:%M:%S") if iso else "—"

    steps = ["assigned", "delivered", "read", "accepted", "arrived", "handled", "verified"]
    if task.stamps["declined"]:
        steps = ["assigned", "delivered", "read", "declined"]
    items = []
    for step in steps:
        extra = ""
        if step == "arrived" and task.arrive_distance_m is not None:
            extra = " · " + (tr("dispatch.arrive_far").format(distance=round(task.arrive_distance_m),
                                                               reason=task.arrive_reason)
                             if task.arrive_reason else
                             tr("dispatch.arrive_near").format(distance=round(task.arrive_distance_m)))
        if step == "declined" and task.decline_reason:
            extra = f" · {task.decline_reason}"
        items.append(html.Li([html.Span(tr(f"step.{step}"), className="step"),
                              html.Span(at(task.stamps[step]), className="when"), extra],
                             className="done" if task.stamps[step] else "pending"))
    head = [html.H4(f"{tr('dispatch.field')} · {person.name if person else task.staff_id} · "
                    f"{tr('task.' + task.state)}")]
    late = brain.field.late(task, now)
    if late:
        waited = now - datetime.fromisoformat(task.stamps["assigned"] or now.isoformat())
        head.append(html.P(tr("dispatch.unread_for").format(min=int(waited.total_seconds() // 60)),
                           className="warn unread"))
    c = brain.cases.get(case_id)
    where = ""
    if task.state in ("assigned", "accepted") and person and person.lon is not None and person.position_at:
        d = float(haversine_m(person.lon, person.lat, c.lon, c.lat))
        where = tr("dispatch.on_the_way").format(distance=round(d), at=at(person.position_at.isoformat()))
        head.append(html.P(where, className="on-the-way"))
    photos = brain.field.photos_of([case_id])[case_id]
    body = [*head, html.Ol(items, className="steps")]
    if photos:
        body += [html.H4(tr("dispatch.photos")), photo_links(photos, tr, tz)]
    if earlier:
        body += [html.P(f"{tr('dispatch.earlier')}: " + "; ".join(
            f"{staff[t.staff_id].name if t.staff_id in staff else t.staff_id} · {tr('task.' + t.state)}"
            + (f" · {t.decline_reason}" if t.decline_reason else "") for t in earlier), className="hint")]
    sig = "|".join([locale, str(task.id), task.state, *(task.stamps[s] or "" for s in steps), str(late), where,
                    ",".join(ph["id"] for ph in photos), str(len(earlier))])
    return body, sig


def queue_items(brain, cases: list[CaseView], locale: str, selected: int | None,
                unread: set[int] | None = None, stranded: set[int] | None = None, *, ordered: bool = False) -> list:
    """The queue's rows (the cases put in queue order and cut to a page, unless already `ordered`)."""
    tr = translator(locale)
    names = category_names(brain.catalogue, locale)
    committee_names = brain.district.committee_names
    now = utcnow()
    items = []
    rows = cases
    if not ordered:
        rows = queue_order(cases, now)
        if stranded:  # nobody could be sent to these urgent cases: first, whatever their clocks say
            rows = [c for c in rows if c.id in stranded] + [c for c in rows if c.id not in stranded]
        rows = rows[:QUEUE_LENGTH]
    for c in rows:
        state = "overdue" if c.overdue(now) else "at-risk" if c.at_risk(now) else ""
        badge = tr("dispatch.overdue") if state == "overdue" else tr("dispatch.at_risk") if state else ""
        if stranded and c.id in stranded:
            state, badge = f"{state} stranded".strip(), f"{tr('dispatch.stranded')} {badge}".strip()
        if unread and c.id in unread:  # the person has not opened the task on their phone in time
            state, badge = f"{state} unread".strip(), f"{badge} {tr('dispatch.unread')}".strip()
        items.append(html.Button(
            id={"type": ids.QUEUE_ITEM, "case": c.id}, n_clicks=0,
            className=f"queue-item {state} {'selected' if c.id == selected else ''}".strip(),
            children=[html.Span(f"#{c.id}", className="cid"), html.Span(badge, className="badge-state"),
                      html.Span(names.get(c.category, c.category), className="cat"),
                      html.Span(f"{tr(f'status.{c.status}')} · {committee_names.get(c.committee or '', '')}",
                                className="meta"),
                      html.Span(f"{_minutes_left(c, now)} {tr('hover.min')}", className="left")]))
    return items or [html.Div(tr("dispatch.empty"), className="empty-queue")]


def _picker(brain, case_id: int, tr) -> list:
    """Nobody recommended: everyone whose team takes the case, with their state and distance; the available
    can be sent, with a reason in the note (the assignment records it)."""
    people = brain.dispatch.everyone_for(case_id)
    if not people:
        return [html.P(tr("dispatch.nobody_at_all"), className="warn")]
    rows = [html.Tr([html.Td(s.name), html.Td(s.team_name), html.Td(tr(f"duty.{s.status}")),
                     html.Td("—" if d is None else f"{d:,.0f} m"),
                     html.Td(html.Button(tr("dispatch.assign"), id={"type": ids.ASSIGN_ANY, "staff": s.id}, n_clicks=0,
                                         className="small") if s.status in READY else "")])
            for s, d in people]
    return [html.H4(tr("dispatch.pick")), html.P(tr("dispatch.pick_hint"), className="hint"),
            html.Table([html.Thead(html.Tr([html.Th(tr(k)) for k in (
                "dispatch.col.name", "dispatch.col.team", "dispatch.col.state", "dispatch.col.straight",
                "dispatch.col.action")])), html.Tbody(rows)], className="rec picker")]


def card(brain, case_id: int, locale: str):
    """The case card and the recommendation lines for the map."""
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    c = brain.cases.get(case_id)
    now = utcnow()
    names = category_names(brain.catalogue, locale)
    staff = {s.id: s for s in brain.staff.roster()}
    rec = brain.dispatch.recommend(case_id, limit=RECOMMEND) if CaseStatus(c.status) in (
        CaseStatus.REPORTED, CaseStatus.REGISTERED, CaseStatus.DISPATCHED) else None
    who = current()
    may_move = who is not None and who.can(Permission.MOVE_CASE)
    personal = who is not None and who.can(Permission.READ_PERSONAL)
    description = brain.cases.description_for(c, may_read_personal=personal, actor=who.actor if who else None)
    rows = []
    pairs = []
    if rec is not None:
        for r in rec.ranked:
            s = staff.get(r.staff_id)
            if s is None:
                continue
            pairs.append((c.lon, c.lat, s.lon, s.lat))
            notes = [*([html.Span(f" · {tr('duty.returning')}", className="returning-note")] if r.returning
                       else []),
                     *([html.Span(f" · {tr('staff.stale')}", className="stale-note")] if r.stale else [])]
            rows.append(html.Tr(className="stale" if r.stale else None, children=[
                html.Td([s.name, *notes]),
                html.Td(s.team_name), html.Td(f"{r.distance_m:.0f} m"),
                html.Td(f"{r.eta_s / 60:.0f} {tr('hover.min')}"), html.Td(str(r.workload)),
                html.Td(html.Button(tr("dispatch.assign"), id={"type": ids.ASSIGN, "staff": r.staff_id},
                                    n_clicks=0, className="primary small") if may_move else "")]))
    excluded = [html.Li(f"{staff[e.staff_id].name if e.staff_id in staff else e.staff_id} · "
                        f"{tr('reason.' + e.reason)} · {e.straight_m:.0f} m")
                for e in (rec.excluded[:6] if rec else [])]
    timeline = timeline_items(brain, case_id, tr, tz, staff, personal=personal)
    moves = [s for s in TRANSITIONS[CaseStatus(c.status)] if s is not CaseStatus.MERGED] if may_move else []
    state = tr("dispatch.overdue") if c.overdue(now) else tr("dispatch.at_risk") if c.at_risk(now) else ""
    lang = "" if locale == "zh-CN" else f"?lang={locale}"
    children = [
        html.A(tr("dispatch.print"), href=f"/report/case/{c.id}{lang}", target="_blank", className="print-case"),
        html.H3([f"#{c.id} {names.get(c.category, c.category)} ", html.Span(state, className="badge-state")]),
        html.P(case_words(c, tr, description) or "—", className="description"),
        html.P(f"{tr('status.' + c.status)} · {tr('channel.' + c.channel)} · {tr('hover.pole')} {c.pole or '—'} · "
               f"{tr('hover.left')} {_minutes_left(c, now)} {tr('hover.min')}", className="meta"),
    ]
    if c.id in brain.dispatch.stranded():
        children.append(html.P(tr("dispatch.stranded_hint"), className="warn stranded"))
    if c.assigned_staff_id:
        s = staff.get(c.assigned_staff_id)
        children.append(html.P(f"{tr('dispatch.assigned_to')} {s.name if s else c.assigned_staff_id}"
                               f" · {s.team_name if s else c.assigned_team_id}", className="assigned"))
    if rec is not None:
        children += [html.H4(f"{tr('dispatch.recommend')} ({tr('dispatch.metric.' + rec.metric)})"),
                     html.Table([html.Thead(html.Tr([html.Th(tr(k)) for k in (
                         "dispatch.col.name", "dispatch.col.team", "dispatch.col.distance", "dispatch.col.eta",
                         "dispatch.col.workload", "dispatch.col.action")])), html.Tbody(rows)], className="rec")
                     if rows else html.P(tr("dispatch.nobody"), className="warn")]
        if not rows and may_move:
            children += _picker(brain, c.id, tr)
        if excluded:
            children += [html.H4(tr("dispatch.excluded")), html.Ul(excluded, className="excluded")]
    if moves:
        children += [html.H4(tr("dispatch.moves")),
                     dcc.Input(id=ids.NOTE, placeholder=tr("dispatch.note"), maxLength=2000, className="text-input"),
                     html.Div([html.Button(tr(f"status.{s.value}"), id={"type": ids.MOVE, "to": s.value},
                                           n_clicks=0, className="small") for s in sorted(moves, key=MOVE_ORDER.index)],
                              className="moves")]
    if may_move and CaseStatus.MERGED in TRANSITIONS[CaseStatus(c.status)]:
        dups = [d for d in brain.cases.duplicates(category=c.category, lon=c.lon, lat=c.lat, pole=c.pole)
                if d["id"] != c.id]
        if dups:
            children += [html.H4(tr("dispatch.duplicates")), html.Ul([
                html.Li([f"#{d['id']} · {tr('status.' + d['status'])} · {d['distance_m']:.0f} m · "
                         f"{d['description'][:30]} ",
                         html.Button(f"{tr('dispatch.merge_into')} #{d['id']}", id={"type": ids.MERGE, "into": d["id"]},
                                     n_clicks=0, className="small")]) for d in dups[:5]], className="duplicates")]
    children += _residents(brain, c, tr, tz, personal=personal, may_move=may_move)
    children += [html.H4(tr("dispatch.timeline")), html.Ul(timeline, className="timeline")]
    return children, c, pairs


def _residents(brain, c: CaseView, tr, tz, *, personal: bool, may_move: bool) -> list:
    """The residents' reports of a case (the one who reported it and those who follow it), the phone masked for
    a role that may not read it, and the spam mark for the desk."""
    reports = brain.residents.reports_of(c.id, personal=personal)
    if not reports:
        return []
    items = []
    for r in reports:
        at = datetime.fromisoformat(r["created_at"]).astimezone(tz).strftime("%m-%d %H:%M")
        words = [tr("dispatch.resident.follows") if r["follows"] else tr("dispatch.resident.reported"),
                 tr("channel." + r["channel"]), at]
        if r["phone"]:
            words.append(r["phone"])
        if r["satisfaction"]:
            words.append(tr("r.sat." + r["satisfaction"]))
        if r["spam"]:
            words.append(tr("dispatch.resident.spam"))
        items.append(html.Li(" · ".join(words), className="spam" if r["spam"] else None))
    out = [html.H4(tr("dispatch.residents")), html.Ul(items, className="residents")]
    photos = [p for p in brain.field.photos_of([c.id])[c.id] if p["report_id"] is not None]
    if photos:
        out.append(photo_links(photos, tr, tz))
    if may_move and any(not r["follows"] and not r["spam"] for r in reports):
        out.append(html.Button(tr("dispatch.resident.mark_spam"), id={"type": ids.SPAM, "case": c.id}, n_clicks=0,
                               className="small"))
    return out




def live_alarms(brain) -> list:
    """The alarms the panel lists: most severe, then oldest, first."""
    return sorted(brain.alarms.live(), key=lambda a: (SEVERITY_RANK.get(a.severity, 9), a.first_at, a.id))[:40]


def alarm_signature(alarms, now: datetime, locale: str, flapping: set[str]) -> str:
    """What the panel shows, in one string: the panel is redrawn only when this changes."""
    return f"{locale}|" + ";".join(
        f"{a.id}:{a.state}:{a.severity}:{a.count}:{int((now - a.first_at).total_seconds() // 60)}:{a.rung}"
        f":{a.device_id in flapping}" for a in alarms)


def alarm_items(alarms, locale: str, now: datetime, flapping: set[str]) -> list:
    """Live alarms with acknowledge/clear for those who may; a flapping device's alarm says so (a life-safety
    alarm is raised however often its device repeats it)."""
    tr = translator(locale)
    who = current()
    may = who is not None and who.can(Permission.HANDLE_ALARM)
    replays = who is not None and who.can(Permission.REPLAY)
    items = []
    for a in alarms:
        minutes = int((now - a.first_at).total_seconds() // 60)
        buttons = []
        if may and a.state == "active":
            buttons.append(html.Button(tr("alarms.acknowledge"), id={"type": ids.ALARM_ACK, "alarm": a.id},
                                       n_clicks=0, className="small"))
        if may and a.rung:  # a welfare alarm: what the current rung found
            buttons.extend(html.Button(tr(f"welfare.{o}"), id={"type": ids.ALARM_WELFARE, "alarm": a.id, "outcome": o},
                                       n_clicks=0, className="small") for o in Outcome.ALL)
        elif may:
            buttons.append(html.Button(tr("alarms.clear"), id={"type": ids.ALARM_CLEAR, "alarm": a.id}, n_clicks=0,
                                       className="small"))
        rung = ""
        if a.rung:
            rung = f" · {tr('rung.' + a.rung)}"
            if a.rung_due_at:
                rung += f" ({tr('rung.next_in')} {max(0, int((a.rung_due_at - now).total_seconds() // 60))} " \
                        f"{tr('hover.min')})"
        if replays:  # from its first moment, with the case it opened followed
            buttons.append(html.A(tr("replay.jump"), href=replay_href(a.first_at, case=a.case_id), target="_blank",
                                  className="replay-jump small"))
        items.append(html.Div(className="alarm-item", children=[
            html.Span(tr(f"severity.{a.severity}"), className=f"sev-{a.severity}"),
            html.Span(f"{tr('alarm.' + a.type)} · {a.device_id} · ×{a.count} · {minutes} {tr('hover.min')}{rung}"
                      + (f" · {tr('alarms.acknowledged')}" if a.state == "acknowledged" else ""), className="grow"),
            *([html.Span(tr("alarms.flapping"), className="flapping", title=tr("alarms.flapping_hint"))]
              if a.device_id in flapping else []),
            *buttons]))
    return items or [html.Div(tr("alarms.none"), className="empty-queue")]


def register(guard, brain, locale_of) -> None:
    """The /dispatch callbacks, each with the permission it needs."""

    @guard.callback(Permission.VIEW_MAP, Output(ids.ALARM_PANEL, "children"), Output(ids.ALARM_SIG, "data"),
                    Input(ids.LIVE_TICK, "n_intervals"), Input(ids.LIVE_PUSH, "data"), Input(ids.REFRESH, "data"),
                    State(ids.ALARM_SIG, "data"), State(ids.URL, "search"))
    def show_alarms(_n, _pushed, _refresh, signature, search):
        # Like the queue: re-drawn only when something shown changed, so a click is never lost to a redraw.
        now, locale = utcnow(), locale_of(search)
        alarms = live_alarms(brain)
        flapping = brain.alarms.flapping(device_ids={a.device_id for a in alarms})
        sig = alarm_signature(alarms, now, locale, flapping)
        if sig == signature:
            return no_update, no_update
        return alarm_items(alarms, locale, now, flapping), sig

    @guard.callback(Permission.HANDLE_ALARM, Output(ids.ALARM_MESSAGE, "children"),
                    Output(ids.REFRESH, "data", allow_duplicate=True),
                    Input({"type": ids.ALARM_ACK, "alarm": ALL}, "n_clicks"),
                    Input({"type": ids.ALARM_CLEAR, "alarm": ALL}, "n_clicks"),
                    Input({"type": ids.ALARM_WELFARE, "alarm": ALL, "outcome": ALL}, "n_clicks"),
                    State(ids.REFRESH, "data"), State(ids.URL, "search"), prevent_initial_call=True)
    def handle_alarm(ack, clear, welfare, refresh, search):
        tr = translator(locale_of(search))
        trigger = ctx.triggered_id
        if not trigger or not any((ack or []) + (clear or []) + (welfare or [])):
            return no_update, no_update
        who = current()
        actor = who.actor if who else "unknown"
        try:
            if trigger["type"] == ids.ALARM_ACK:
                brain.alarms.acknowledge(trigger["alarm"], actor=actor)
            elif trigger["type"] == ids.ALARM_WELFARE:
                brain.monitor.record_outcome(trigger["alarm"], str(trigger.get("outcome")), actor=actor)
            else:
                brain.alarms.clear(trigger["alarm"], actor=actor)
        except AlarmNotFound:
            return html.Span(tr("refused.alarm.gone"), className="warn"), (refresh or 0) + 1
        except AlarmError as e:
            return html.Span(refusal_text(e, tr) if e.key else tr("refused.alarm.other"), className="warn"), \
                (refresh or 0) + 1
        return html.Span(tr("dispatch.done"), className="ok"), (refresh or 0) + 1

    @guard.callback(Permission.READ_CASES, Output(ids.QUEUE_PAGE, "data"),
                    Input(ids.QUEUE_PREV, "n_clicks"), Input(ids.QUEUE_NEXT, "n_clicks"),
                    Input(ids.FILTER_STATUS, "value"), Input(ids.FILTER_CATEGORY, "value"),
                    Input(ids.FILTER_COMMITTEE, "value"), Input(ids.FILTER_CHANNEL, "value"),
                    Input(ids.QUEUE_SEARCH, "value"), State(ids.QUEUE_PAGE, "data"), prevent_initial_call=True)
    def turn(_prev, _next, _status, _category, _committee, _channel, _words, page):
        """A page back or on; any new filter or search starts at the first page."""
        page = page or 0
        if ctx.triggered_id == ids.QUEUE_PREV:
            return max(0, page - 1)
        if ctx.triggered_id == ids.QUEUE_NEXT:
            return page + 1  # the queue says when there is no such page, and shows the last
        return 0

    @guard.callback(Permission.READ_CASES, Output(ids.QUEUE, "children"), Output(ids.QUEUE_SIG, "data"),
                    Output(ids.QUEUE_COUNT, "children"),
                    Input(ids.LIVE_TICK, "n_intervals"), Input(ids.LIVE_PUSH, "data"), Input(ids.REFRESH, "data"),
                    Input(ids.FILTER_STATUS, "value"), Input(ids.FILTER_CATEGORY, "value"),
                    Input(ids.FILTER_COMMITTEE, "value"), Input(ids.FILTER_CHANNEL, "value"),
                    Input(ids.SELECTED, "data"), Input(ids.QUEUE_SEARCH, "value"), Input(ids.QUEUE_PAGE, "data"),
                    State(ids.QUEUE_SIG, "data"), State(ids.URL, "search"))
    def show_queue(_n, _pushed, _refresh, status, category, committee, channel, selected, words, page, signature,
                   search):
        tr = translator(locale_of(search))
        now = utcnow()
        words = (words or "").strip()
        if words:  # a search: every case it finds, open or not, newest first
            who = current()
            try:
                total, found = brain.cases.find(words, may_read_personal=bool(who and who.can(
                    Permission.READ_PERSONAL)), limit=QUEUE_LENGTH)
            except PersonalSearch:
                return [html.Div(tr("dispatch.search.personal"), className="warn")], "", ""
            cases, pages, page = found, 1, 0
            count = tr("dispatch.search.found").format(n=total, shown=len(found))
        else:
            cases = filter_cases(brain.cases.open_cases(), status=status, category=category, committee=committee,
                                 channel=channel)
            total = len(cases)
            pages = max(1, -(-total // QUEUE_LENGTH))
            page = min(page or 0, pages - 1)
            first = page * QUEUE_LENGTH
            count = (tr("dispatch.page.of").format(first=first + 1, last=min(total, first + QUEUE_LENGTH), total=total)
                     if total else tr("dispatch.page.none"))
        ordered = queue_order(cases, now)
        stranded = set(brain.dispatch.stranded())
        if stranded and not words:  # nobody could be sent to these urgent cases: first, on the first page
            ordered = [c for c in ordered if c.id in stranded] + [c for c in ordered if c.id not in stranded]
        ordered = ordered[page * QUEUE_LENGTH:(page + 1) * QUEUE_LENGTH]
        # Re-draw only when something a dispatcher sees changed: a click is never lost to a redraw.
        unread = {t.case_id for t in brain.field.unread(now)}
        stranded = set(brain.dispatch.stranded())
        sig = f"{selected}|{locale_of(search)}|{sorted(stranded)}|{count}|" + ";".join(
            f"{c.id}:{c.status}:{_minutes_left(c, now)}:{c.overdue(now)}:{c.at_risk(now)}:{c.id in unread}"
            for c in ordered)
        if sig == signature:
            return no_update, no_update, no_update
        return queue_items(brain, ordered, locale_of(search), selected, unread, stranded, ordered=True), sig, count

    @guard.callback(Permission.READ_CASES, Output(ids.FIELD_PROGRESS, "children"), Output(ids.FIELD_SIG, "data"),
                    Input(ids.SELECTED, "data"), Input(ids.LIVE_TICK, "n_intervals"), Input(ids.LIVE_PUSH, "data"),
                    Input(ids.REFRESH, "data"), State(ids.FIELD_SIG, "data"), State(ids.URL, "search"))
    def show_field(case_id, _n, _pushed, _refresh, signature, search):
        """The selected case's task, kept current as the person's phone moves it."""
        if not case_id:
            return ([], "") if signature else (no_update, no_update)
        children, sig = field_progress(brain, int(case_id), locale_of(search))
        sig = f"{case_id}|{sig}"
        return (no_update, no_update) if sig == signature else (children, sig)

    @guard.callback(Permission.READ_CASES, Output(ids.SELECTED, "data"),
                    Input({"type": ids.QUEUE_ITEM, "case": ALL}, "n_clicks"), Input(ids.MAP, "clickData"),
                    prevent_initial_call=True)
    def select(clicks, click):
        """A case chosen in the queue, or by a click on its marker on the map."""
        if ctx.triggered_id == ids.MAP:
            if not isinstance(click, dict) or click.get("layer") != "cases":
                return no_update
            try:
                return int(click["id"])
            except (KeyError, TypeError, ValueError):
                return no_update
        if not ctx.triggered_id or not any(clicks or []):
            return no_update
        return ctx.triggered_id["case"]

    @guard.callback(Permission.READ_CASES, Output(ids.CARD, "children"),
                    Output(ids.MAP, "links"), Output(ids.MAP, "view"), Output(ids.CARD_DRAWN, "data"),
                    Output(ids.MAP, "trail"),
                    Input(ids.SELECTED, "data"), Input(ids.REFRESH, "data"), State(ids.URL, "search"),
                    prevent_initial_call=True)
    def show_card(case_id, _refresh, search):
        if not case_id:
            return [], [], no_update, None, None
        try:
            children, c, pairs = card(brain, int(case_id), locale_of(search))
        except CaseNotFound:
            return [html.P(translator(locale_of(search))("dispatch.gone"))], [], no_update, None, None
        lines = [[round(v, 6) for v in pair] for pair in pairs]
        # a newly chosen case: the map goes to it (a card redrawn after a move leaves the view alone)
        view = ({"key": f"case-{c.id}-{_refresh}", "center": [c.lon, c.lat], "zoom": CASE_ZOOM}
                if ctx.triggered_id == ids.SELECTED else no_update)
        # a move is made on the case as this card shows it: another dispatcher's move meanwhile is a conflict
        # its history on the map: where it was reported, the path each person sent walked, where they arrived
        trail = live_layer.trail(brain.flows.history(c.id))
        return children, lines, view, {"case": c.id, "version": c.version}, trail

    @guard.callback(Permission.MOVE_CASE, Output(ids.MESSAGE, "children"), Output(ids.REFRESH, "data"),
                    Input({"type": ids.ASSIGN, "staff": ALL}, "n_clicks"),
                    Input({"type": ids.MOVE, "to": ALL}, "n_clicks"),
                    Input({"type": ids.MERGE, "into": ALL}, "n_clicks"),
                    Input({"type": ids.ASSIGN_ANY, "staff": ALL}, "n_clicks"),
                    Input({"type": ids.SPAM, "case": ALL}, "n_clicks"),
                    State(ids.CARD_DRAWN, "data"), State(ids.NOTE, "value"), State(ids.REFRESH, "data"),
                    State(ids.URL, "search"), prevent_initial_call=True)
    def act(assign_clicks, move_clicks, merge_clicks, any_clicks, spam_clicks, drawn, note, refresh, search):
        tr = translator(locale_of(search))
        trigger = ctx.triggered_id
        if not trigger or not drawn or not any((assign_clicks or []) + (move_clicks or []) + (merge_clicks or [])
                                               + (any_clicks or []) + (spam_clicks or [])):
            return no_update, no_update
        if trigger["type"] == ids.ASSIGN_ANY and not (note or "").strip():  # nobody was recommended: say why
            return html.Span(tr("dispatch.pick_reason"), className="warn"), no_update
        who = current()
        actor = who.actor if who else "unknown"
        case_id, version = drawn["case"], drawn["version"]
        try:
            if trigger["type"] in (ids.ASSIGN, ids.ASSIGN_ANY):
                brain.dispatch.assign(int(case_id), actor=actor, version=version, staff_id=trigger["staff"],
                                      reason=(note or "").strip() or None)
            elif trigger["type"] == ids.MERGE:
                brain.cases.merge(int(case_id), into=int(trigger["into"]), actor=actor, version=version)
            elif trigger["type"] == ids.SPAM:  # the reason written into the case: the note, or the catalogue's
                brain.residents.mark_spam(int(case_id), actor=actor,
                                          note=(note or "").strip() or tr("dispatch.resident.spam_note"))
            else:
                brain.cases.transition(int(case_id), to=trigger["to"], note=(note or "").strip() or None,
                                       actor=actor, version=version)
        except VersionConflict:
            return html.Span(tr("dispatch.conflict"), className="warn"), (refresh or 0) + 1
        except CaseNotFound:
            return html.Span(tr("dispatch.gone"), className="warn"), (refresh or 0) + 1
        except ResidentRefused:
            return html.Span(tr("refused.r.no_report"), className="warn"), (refresh or 0) + 1
        except (AssignRefused, TransitionRefused) as e:
            names = {s.id: s.name for s in brain.staff.roster()}
            return html.Span(refusal_text(e, tr, names), className="warn"), (refresh or 0) + 1
        return html.Span(tr("dispatch.done"), className="ok"), (refresh or 0) + 1

    @guard.callback(Permission.OPEN_CASE, Output(ids.NEW_POLE, "value"), Input(ids.MAP, "clickData"),
                    prevent_initial_call=True)
    def pole_from_map(click):
        """A click on the map (a pole, or anywhere) fills in the nearest pole's number."""
        if isinstance(click, dict) and click.get("layer") == "poles" and isinstance(click.get("number"), str):
            return click["number"]
        try:
            found = brain.gazetteer.nearest_pole(float(click["lon"]), float(click["lat"]))
        except (TypeError, KeyError, ValueError):
            return no_update
        return found[0].number if found else no_update

    @guard.callback(Permission.OPEN_CASE, Output(ids.NEW_RESULT, "children"), Output(ids.SELECTED, "data",
                                                                                      allow_duplicate=True),
                    Input(ids.NEW_SUBMIT, "n_clicks"), Input({"type": ids.NEW_CONFIRM, "n": ALL}, "n_clicks"),
                    State(ids.NEW_POLE, "value"), State(ids.NEW_CATEGORY, "value"), State(ids.NEW_CHANNEL, "value"),
                    State(ids.NEW_DESCRIPTION, "value"), State(ids.URL, "search"), prevent_initial_call=True)
    def new_case(submit, confirm, pole, category, channel, description, search):
        tr = translator(locale_of(search))
        if not (submit or any(confirm or [])):
            return no_update, no_update
        if not pole or not category or not channel:
            return html.Span(tr("dispatch.missing"), className="warn"), no_update
        confirmed = isinstance(ctx.triggered_id, dict)
        try:
            where = brain.gazetteer.lookup(pole)
        except LookupError as e:
            hint = ", ".join(getattr(e, "suggestions", []))
            return html.Span(f"{tr('dispatch.unknown_pole')} {hint}", className="warn"), no_update
        if not confirmed:
            dups = brain.cases.duplicates(category=category, lon=where.lon, lat=where.lat, pole=where.number)
            if dups:
                return html.Div([html.P(tr("dispatch.duplicates"), className="warn"),
                                 html.Ul([html.Li(f"#{d['id']} · {tr('status.' + d['status'])} · "
                                                  f"{d['distance_m']:.0f} m · {d['description'][:40]}")
                                          for d in dups[:5]]),
                                 html.Button(tr("dispatch.create_anyway"), id={"type": ids.NEW_CONFIRM, "n": 1},
                                             n_clicks=0, className="small")]), no_update
        who = current()
        try:
            c = brain.cases.open_case(channel=channel, category=category, description=description or "", pole=pole,
                                      actor=who.actor if who else "unknown")
        except IntakeError as e:  # said in the reader's words: what is wrong, and the poles close to a miss
            said = refusal_text(e, tr)
            if e.suggestions:
                said += f" · {tr('r.pole.did_you_mean')} {', '.join(e.suggestions)}"
            return html.Span(said, className="warn"), no_update
        return html.Span(f"{tr('dispatch.created')} #{c.id}", className="ok"), c.id
