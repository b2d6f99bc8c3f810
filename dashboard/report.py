"""GET /report/daily: the one-page shift-handover report as printable HTML (print to PDF from the
browser). Plain HTML with every value escaped; no script, so it works under the strict CSP."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.security import client_source, requires
from brain.auth.enums import Permission as P
from brain.auth.service import Principal
from brain.kpi.indicators import BY_KEY
from brain.kpi.report import handover
from brain.staff.enums import DutyStatus
from brain.storage.db import utcnow
from dashboard.i18n import translator
from dashboard.i18n.catalogue import category_names, names
from dashboard.texts import fmt, group_names

e = html.escape


def _table(head: list[str], rows: list[list], empty: str) -> str:
    if not rows:
        return f'<p class="report-empty">{e(empty)}</p>'
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r) + "</tr>" for r in rows)
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
    overdue_rows = [[f"#{c.id}", cats.get(c.category, c.category), tr(f"status.{c.status}"),
                     committees.get(c.committee or "", c.committee or ""), c.pole or "",
                     int((now - c.stage_due_at).total_seconds() // 60)] for c in h.overdue]
    alarm_rows = [[tr(f"severity.{a.severity}"), names(tr, "alarm", [a.type])[a.type], a.device_id, a.count,
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
<p class="report-meta">{e(local.strftime("%Y-%m-%d %H:%M"))} ({e(brain.settings.display_tz)}) · {e(who.display_name)}
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


def build_router(brain) -> APIRouter:
    r = APIRouter()

    @r.get("/report/daily", response_class=HTMLResponse, include_in_schema=False)
    def daily(request: Request, lang: str = Query("zh-CN", pattern="^(zh-CN|en)$"),
              who: Principal = Depends(requires(P.READ_KPI))):
        page = render(brain, who, lang)
        brain.store.audit(actor=who.actor, action="report.daily", subject="report:daily",
                          source=client_source(request.scope), detail={"lang": lang})
        return HTMLResponse(page)

    return r
