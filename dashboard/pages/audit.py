"""/audit: the audit log for administrators, newest first, filterable by actor, action and day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dash import Input, Output, State, dcc, html

from brain.auth.enums import Permission
from brain.events import audit
from dashboard import ids
from dashboard.i18n import translator

PAGE_SIZE = 300
COLUMNS = [("at", "audit.at"), ("actor", "audit.actor"), ("action", "audit.action"), ("subject", "audit.subject"),
           ("source", "audit.source"), ("detail", "audit.detail")]


def body(locale: str) -> html.Div:
    tr = translator(locale)
    return html.Div(className="audit-page", children=[
        html.Div(className="audit-filters", children=[
            dcc.Input(id=ids.AUDIT_ACTOR, placeholder=tr("audit.actor"), maxLength=100, debounce=True,
                      className="text-input"),
            dcc.Input(id=ids.AUDIT_ACTION, placeholder=tr("audit.action_hint"), maxLength=64, debounce=True,
                      className="text-input"),
            dcc.DatePickerSingle(id=ids.AUDIT_DAY, placeholder=tr("audit.day"), clearable=True,
                                 display_format="YYYY-MM-DD"),
        ]),
        html.Table(className="audit-table", children=[
            html.Thead(html.Tr([html.Th(tr(k)) for _c, k in COLUMNS])),
            html.Tbody(id=ids.AUDIT_TABLE)]),
    ])


def register(guard, brain, locale_of) -> None:
    tz = ZoneInfo(brain.settings.display_tz)

    @guard.callback(Permission.READ_AUDIT, Output(ids.AUDIT_TABLE, "children"),
                    Input(ids.AUDIT_ACTOR, "value"), Input(ids.AUDIT_ACTION, "value"), Input(ids.AUDIT_DAY, "date"),
                    Input(ids.LIVE_TICK, "n_intervals"), State(ids.URL, "search"))
    def show(actor, action, day, _n, _search):
        since = until = None
        if day:
            try:
                start = datetime.combine(datetime.fromisoformat(day[:10]).date(), time(0), tzinfo=tz)
            except ValueError:
                start = None
            if start is not None:  # a day in Asia/Shanghai: from its midnight to the next
                since, until = start, start + timedelta(days=1)
        rows = audit.query(brain.db, actor=(actor or "").strip() or None, action=(action or "").strip() or None,
                           since=since, until=until, limit=PAGE_SIZE)
        out = []
        for r in rows:
            r["at"] = datetime.fromisoformat(r["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            r["detail"] = ", ".join(f"{k}={v}" for k, v in (r["detail"] or {}).items() if v not in (None, ""))[:300]
            out.append(html.Tr([html.Td(str(r[c] or "")) for c, _k in COLUMNS]))
        return out
