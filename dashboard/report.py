"""GET /report/daily: the one-page shift-handover report, and GET /report/case/{id}: one case (its card, its
task's steps, the residents' reports, the photos and the timeline) on one A4 page; printable HTML (print to
PDF from the browser). Plain HTML with every value escaped; no script, so it works under the strict CSP."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from api.security import client_source, requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.cases.service import CaseNotFound
from brain.kpi.export import rows_to_csv
from brain.kpi.indicators import BY_KEY
from brain.kpi.report import handover
from brain.replay.service import KINDS, Filter, ReplayError
from brain.staff.enums import DutyStatus
from brain.storage.db import utcnow
from dashboard.i18n import translator
from dashboard.i18n.catalogue import category_names, names
from dashboard.texts import (
    case_words,
    event_subject,
    event_text,
    event_words,
    fmt,
    group_names,
    refusal_text,
    replay_href,
)

e = html.escape


class _Html(str):
    """A cell already made safe (a link built from escaped parts): written as it is."""


def _jump(text: str, href: str | None) -> str:
    """A cell that opens the replay there (`href`), for a reader who may replay; the text alone otherwise."""
    return _Html(f'<a href="{e(href)}">{e(text)}</a>') if href else text


def _table(head: list[str], rows: list[list], empty: str) -> str:
    if not rows:
        return f'<p class="report-empty">{e(empty)}</p>'
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{v if isinstance(v, _Html) else e(str(v))}</td>" for v in r) + "</tr>"
                   for r in rows)
    return f'<table class="report-table"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def render(brain, who: Principal, locale: str) -> str:
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    now = utcnow()
    h = handover(brain, now)
    cats = category_names(brain.catalogue, locale)
    committees = group_names(brain, "committee", locale)
    departments = group_names(brain, "department", locale)
    local = now.astimezone(tz)
    today = "".join(
        f'<div class="report-figure"><span>{e(BY_KEY[k].name(locale))}</span><b>{e(fmt(f))}</b></div>'
        for k, f in h.today.items())
    status_rows = [[tr(f"status.{s}"), n] for s, n in sorted(h.open_by_status.items())]
    replays = who.can(P.REPLAY)  # each overdue case and alarm opens the replay where it began
    overdue_rows = [[_jump(f"#{c.id}", replay_href(c.stage_due_at or now, case=c.id) if replays else None),
                     cats.get(c.category, c.category), tr(f"status.{c.status}"),
                     committees.get(c.committee or "", c.committee or ""), c.pole or "",
                     int((now - c.stage_due_at).total_seconds() // 60)] for c in h.overdue]
    alarm_rows = [[_jump(tr(f"severity.{a.severity}"), replay_href(a.first_at, case=a.case_id) if replays else None),
                   names(tr, "alarm", [a.type])[a.type], a.device_id, a.count,
                   int((now - a.first_at).total_seconds() // 60)] for a in h.alarms]
    staff = {p.id: p.name for p in brain.staff.roster()}
    unread = brain.field.unread(now)
    unread_rows = [[f"#{t.case_id}", staff.get(t.staff_id, t.staff_id),
                    int((now - datetime.fromisoformat(t.stamps["assigned"] or now.isoformat())).total_seconds() // 60)]
                   for t in unread]
    photos = brain.field.photos_since(local.replace(hour=0, minute=0, second=0, microsecond=0))
    photo_rows = "".join(
        f'<div class="report-photos"><b>#{cid}</b> ' + "".join(
            f'<a href="/api/v1/photos/{e(ph["id"])}"><img src="/api/v1/photos/{e(ph["id"])}?thumb=1" '
            f'alt="{e(tr("photo." + ph["kind"]))}" title="{e(tr("photo." + ph["kind"]))}"></a>' for ph in shots)
        + "</div>" for cid, shots in photos.items())
    team_rows = [[t["name"], departments.get(t["department"], t["department"]),
                  *[t[d.value] for d in DutyStatus]] for t in h.teams]
    return f"""<!DOCTYPE html>
<html lang="{e(locale)}"><head><meta charset="utf-8"><title>{e(tr("report.title"))}</title>
<link rel="stylesheet" href="/assets/wall.css"></head>
<body class="report-body"><main class="report">
<h1>{e(tr("report.title"))} · {e(brain.district.meta.get("name", ""))}</h1>
<p class="report-meta">{e(local.strftime("%Y-%m-%d %H:%M"))} ({e(tr("report.tz"))}) · {e(who.display_name)}
 · {e(tr("report.print"))}</p>
<h2>{e(tr("report.today"))} ({e(h.window_label.split("..")[0])})</h2><div class="report-figures">{today}</div>
<h2>{e(tr("report.open"))} · {sum(h.open_by_status.values())} · {e(tr("dispatch.at_risk"))} {h.at_risk}</h2>
{_table([tr("kpi.col.status"), tr("report.count")], status_rows, tr("dispatch.empty"))}
<h2>{e(tr("report.overdue"))} · {h.overdue_total}</h2>
{_table([tr("kpi.col.id"), tr("kpi.col.category"), tr("kpi.col.status"), tr("kpi.col.committee"),
         tr("kpi.col.pole"), tr("report.minutes_over")], overdue_rows, tr("kpi.drill.none"))}
<h2>{e(tr("report.alarms"))} · {len(h.alarms)} · {e(tr("alarms.acknowledged"))} {h.acknowledged_alarms}</h2>
{_table([tr("report.severity"), tr("report.alarm_type"), tr("hover.device"), tr("hover.count"), tr("hover.age")],
        alarm_rows, tr("alarms.none"))}
<h2>{e(tr("report.unread"))} · {len(unread)}</h2>
{_table([tr("kpi.col.id"), tr("report.person"), tr("report.minutes_since")], unread_rows, tr("kpi.drill.none"))}
<h2>{e(tr("report.field_photos"))} · {sum(len(v) for v in photos.values())}</h2>
{photo_rows or f'<p class="report-empty">{e(tr("kpi.drill.none"))}</p>'}
<h2>{e(tr("report.teams"))}</h2>
{_table([tr("kpi.by.team"), tr("kpi.by.department"), *[tr(f"duty.{d.value}") for d in DutyStatus]], team_rows, "")}
</main></body></html>"""


def render_case(brain, who: Principal, case_id: int, locale: str, source: str | None) -> str:
    """One case on one page: what the dispatcher's card says, as the reader's role may read it."""
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    now = utcnow()
    c = brain.cases.get(case_id)  # CaseNotFound: 404
    personal = who.can(P.READ_PERSONAL)
    typed = brain.cases.description_for(c, may_read_personal=personal, actor=who.actor, source=source)
    words = case_words(c, tr, typed) or "—"
    staff = {s.id: s for s in brain.staff.roster()}
    teams = brain.residents.team_names()
    committees = group_names(brain, "committee", locale)

    def at(iso: str | datetime | None) -> str:
        if not iso:
            return "—"
        value = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    pole = brain.gazetteer.lookup(c.pole) if c.pole else None
    person = staff.get(c.assigned_staff_id or "")
    facts = [(tr("kpi.col.status"), tr(f"status.{c.status}")), (tr("kpi.col.channel"), tr(f"channel.{c.channel}")),
             (tr("kpi.col.reported"), at(c.reported_at)), (tr("dispatch.case.due"), at(c.stage_due_at)),
             (tr("kpi.col.pole"), f"{c.pole} · {pole.road}" if pole and pole.road else c.pole or "—"),
             (tr("kpi.col.committee"), committees.get(c.committee or "", c.committee or "—")),
             (tr("dispatch.assigned_to"), f"{person.name} · {person.team_name}" if person else
              teams.get(c.assigned_team_id or "", "—")),
             (tr("priority.label"), tr(f"priority.{c.priority}"))]
    if c.rework_count:
        facts.append((tr("dispatch.case.rework"), str(c.rework_count)))
    grid = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts)
    task_rows = [[tr(f"step.{step}"), staff[t.staff_id].name if t.staff_id in staff else t.staff_id, at(when)]
                 for t in brain.field.progress([c.id]).get(c.id, []) for step, when in t.stamps.items() if when]
    resident_rows = [[tr("dispatch.resident.follows") if r["follows"] else tr("dispatch.resident.reported"),
                      tr("channel." + r["channel"]), at(r["created_at"]), r["phone"] or "—",
                      tr("r.sat." + r["satisfaction"]) if r["satisfaction"] else "—"]
                     for r in brain.residents.reports_of(c.id, personal=personal)]
    photos = brain.field.photos_of([c.id])[c.id]
    shots = "".join(f'<figure><img src="/api/v1/photos/{e(ph["id"])}?thumb=1" alt=""><figcaption>'
                    f'{e(tr("photo." + ph["kind"]))}</figcaption></figure>' for ph in photos)
    timeline = [[at(ev["at"]), event_words(ev, tr, staff), ev["actor"]]
                for ev in brain.cases.timeline(c.id, personal=personal)]
    names_ = category_names(brain.catalogue, locale)
    return f"""<!DOCTYPE html>
<html lang="{e(locale)}"><head><meta charset="utf-8"><title>#{c.id} {e(names_.get(c.category, c.category))}</title>
<link rel="stylesheet" href="/assets/wall.css"></head>
<body class="report-body"><main class="report case-sheet">
<h1>#{c.id} {e(names_.get(c.category, c.category))}</h1>
<p class="report-meta">{e(brain.district.meta.get("name", ""))} · {e(now.astimezone(tz).strftime("%Y-%m-%d %H:%M"))}
 · {e(who.display_name)} · {e(tr("report.print"))}</p>
<p class="sheet-words">{e(words)}</p>
<dl class="sheet-facts">{grid}</dl>
<h2>{e(tr("dispatch.field"))}</h2>
{_table([tr("report.step"), tr("report.person"), tr("audit.at")], task_rows, tr("kpi.drill.none"))}
<h2>{e(tr("dispatch.residents"))}</h2>
{_table([tr("report.kind"), tr("kpi.col.channel"), tr("audit.at"), tr("report.phone"), tr("report.answer")],
        resident_rows, tr("kpi.drill.none"))}
<h2>{e(tr("dispatch.photos"))} · {len(photos)}</h2><div class="sheet-photos">{shots}</div>
<h2>{e(tr("dispatch.timeline"))}</h2>
{_table([tr("audit.at"), tr("report.event"), tr("audit.actor")], timeline, tr("kpi.drill.none"))}
</main></body></html>"""


def build_router(brain) -> APIRouter:
    r = APIRouter()

    @r.get("/report/case/{case_id}", response_class=HTMLResponse, include_in_schema=False)
    def case_sheet(request: Request, case_id: int = Path(ge=1, le=2**62),
                   lang: str = Query("zh-CN", pattern="^(zh-CN|en)$"),
                   who: Principal = Depends(requires(P.READ_CASES))):
        try:
            page = render_case(brain, who, case_id, lang, client_source(request.scope))
        except CaseNotFound:
            return HTMLResponse(f"<p>{e(translator(lang)('dispatch.gone'))}</p>", status_code=404)
        brain.store.audit(actor=who.actor, action="report.case", subject=f"case:{case_id}",
                          source=client_source(request.scope), detail={"lang": lang})
        return HTMLResponse(page)

    @r.get("/report/replay.csv", include_in_schema=False)
    def replay_csv(request: Request, start: str = Query(alias="from", max_length=40),
                   end: str = Query(alias="to", max_length=40),
                   kind: str = Query("", max_length=200), case: int | None = Query(None, ge=1, le=2**62),
                   team: str | None = Query(None, max_length=20), committee: str | None = Query(None, max_length=12),
                   lang: str = Query("zh-CN", pattern="^(zh-CN|en)$"),
                   who: Principal = Depends(requires(P.REPLAY))):
        """The events of a replay window as CSV (what its list shows, payloads masked), for a report."""
        tr = translator(lang)
        try:
            window = brain.replay.window(start, end)
        except ReplayError as err:
            return PlainTextResponse(refusal_text(err, tr), status_code=422)
        f = Filter(kinds=tuple(k for k in kind.split(",") if k in KINDS), case_id=case, team_id=team,
                   committee=committee)
        tz = ZoneInfo(brain.settings.display_tz)
        staff = {s.id: s for s in brain.staff.roster()}
        header = [tr("audit.at"), tr("replay.kind"), tr("report.event"), tr("audit.subject"), tr("audit.actor"),
                  tr("replay.chain")]
        rows = [dict(zip(header, (ev["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), ev["type"],
                                  event_text(ev, tr, staff), event_subject(ev), ev["actor"], ev["correlation_id"]),
                         strict=True)) for ev in brain.replay.export(window, f)]
        brain.store.audit(actor=who.actor, action="replay.export", subject=f"window:{start}/{end}",
                          source=client_source(request.scope), detail={"rows": len(rows), "kind": kind, "case": case})
        return Response(rows_to_csv(rows, header), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="replay-events.csv"'})

    @r.get("/report/daily", response_class=HTMLResponse, include_in_schema=False)
    def daily(request: Request, lang: str = Query("zh-CN", pattern="^(zh-CN|en)$"),
              who: Principal = Depends(requires(P.READ_KPI))):
        page = render(brain, who, lang)
        brain.store.audit(actor=who.actor, action="report.daily", subject="report:daily",
                          source=client_source(request.scope), detail={"lang": lang})
        return HTMLResponse(page)

    return r
