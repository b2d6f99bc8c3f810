"""/kpi: the leaders' screen. Windows, breakdowns, trends, hotspots, a graded ranking, and every
figure drilling down to the cases behind it and on to a case's timeline. `?rotate=1` is the wall
variant: no controls, large type, the breakdown rotating on its own.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from brain.auth.context import current
from brain.auth.enums import Permission
from brain.kpi import export
from brain.kpi.indicators import BY_KEY, HEADLINE, grade
from brain.kpi.service import DIMENSIONS, Figure, KpiError, Window, window
from brain.storage.db import utcnow
from dashboard import ids
from dashboard.i18n import translator
from dashboard.i18n.catalogue import category_names
from dashboard.texts import dropdown, fmt, group_names, photo_links, refusal_text, timeline_items
from layers import kpi as kpi_layers
from layers.view import fit_zoom

TABLE_KEYS = ("reported", "registration_rate", "timely_dispatch_rate", "on_time_handling_rate", "closure_rate",
              "on_time_closure_rate", "rework_rate", "overdue_now", "satisfaction_rate")
RANK_BY = "on_time_closure_rate"
ROTATION = ("committee", "department", "category", "channel")
ROTATE_MS = 15_000
REFRESH_MS = 60_000
DRILL_SHOWN = 200
TOP_CATEGORIES = 10
WALL_CHART_PX = 350  # /kpi?rotate=1 at 1920×1080: the trend and the top categories, one above the other
DEFAULT_WINDOW = "7d"  # a week: enough cases for rates to mean something at any hour; today is one click away


def wants_rotation(search: str | None) -> bool:
    return "rotate=1" in (search or "")


def body(brain, locale: str, search: str | None) -> html.Div:
    tr = translator(locale)
    rotate = wants_rotation(search)
    who = current()
    may_export = who is not None and who.can(Permission.EXPORT)
    lang = "" if locale == "zh-CN" else f"?lang={locale}"
    has_committees = len(brain.district.committees) > 0  # an imported district may have none: say so
    controls = html.Div(className="kpi-controls", hidden=rotate, children=[
        dcc.RadioItems(id=ids.KPI_WINDOW, value=DEFAULT_WINDOW, inline=True, className="kpi-window",
                       options=[{"label": tr(f"kpi.window.{w}"), "value": w}
                                for w in ("today", "7d", "30d", "custom")]),
        dcc.DatePickerRange(id=ids.KPI_DATES, display_format="YYYY-MM-DD", clearable=True, className="kpi-dates",
                            start_date_placeholder_text=tr("kpi.from"), end_date_placeholder_text=tr("kpi.to"),
                            max_date_allowed=utcnow().astimezone(ZoneInfo(brain.settings.display_tz)).date()),
        html.Label(tr("kpi.by"), className="kpi-by-label"),
        dropdown(tr, id=ids.KPI_BY, value="committee" if has_committees else "department", clearable=False,
                 className="kpi-by", options=[{"label": tr(f"kpi.by.{d}"), "value": d} for d in DIMENSIONS]),
        html.Button(tr("kpi.export.csv"), id=ids.KPI_EXPORT_CSV, n_clicks=0, className="small", hidden=not may_export),
        html.Button(tr("kpi.export.xlsx"), id=ids.KPI_EXPORT_XLSX, n_clicks=0, className="small",
                    hidden=not may_export),
        html.A(tr("kpi.report"), href=f"/report/daily{lang}", target="_blank", className="kpi-report-link"),
        html.A(tr("kpi.rotate"), href=f"/kpi?rotate=1{'&lang=en' if lang else ''}", className="kpi-report-link"),
    ])
    return html.Div(className="kpi-page kpi-wall" if rotate else "kpi-page", children=[
        dcc.Store(id=ids.KPI_PICK), dcc.Download(id=ids.KPI_DOWNLOAD),
        dcc.Interval(id=ids.KPI_TICK, interval=REFRESH_MS),
        dcc.Interval(id=ids.KPI_ROTATE, interval=ROTATE_MS, disabled=not rotate),
        controls,
        html.Div(tr("kpi.cohort"), className="kpi-cohort"),
        html.Div(id=ids.KPI_TILES, className="kpi-tiles"),
        html.Div(className="kpi-charts", children=[
            dcc.Graph(id=ids.KPI_TREND, config={"displayModeBar": False}, className="kpi-chart"),
            dcc.Graph(id=ids.KPI_TOP, config={"displayModeBar": False}, className="kpi-chart"),
            dcc.Graph(id=ids.KPI_HOTSPOTS, config={"displayModeBar": False, "scrollZoom": False},
                      className="kpi-chart", style={} if has_committees else {"display": "none"}),
            *([] if has_committees else [html.Div(tr("kpi.no_committees"), className="kpi-chart empty-queue")]),
        ]),
        html.Div(id=ids.KPI_OTHER, className="kpi-other"),
        html.Div(id=ids.KPI_TABLE, className="kpi-table-wrap"),
        html.Div(className="kpi-drill-wrap", hidden=rotate, children=[
            html.H3(tr("kpi.drill")),
            html.Div(tr("kpi.drill.hint"), id=ids.KPI_DRILL, className="kpi-drill"),
            html.Div(id=ids.KPI_TIMELINE, className="kpi-timeline")]),
    ])


# --- formatting -----------------------------------------------------------------------------------
def fraction(f: Figure) -> str:
    ind = BY_KEY[f.key]
    if ind.kind in ("rate", "ratio"):
        return fraction_of(f)
    if ind.kind in ("mean", "p90"):
        return f"n = {int(f.denominator or 0):,}"
    return ""


def unit_text(key: str, tr) -> str:
    u = BY_KEY[key].unit
    return {"min": tr("hover.min"), "m": "m"}.get(u, "")



def resolve_window(brain, kind: str | None, start: str | None, end: str | None) -> Window:
    """The chosen window; a custom one without both dates falls back to the last 7 days."""
    now, tz = utcnow(), brain.settings.display_tz
    if kind == "custom":
        try:
            return window("custom", now=now, tz=tz, start=date.fromisoformat(start[:10]),  # type: ignore[index]
                          end=date.fromisoformat(end[:10]))  # type: ignore[index]
        except (TypeError, ValueError, KpiError):
            return window("7d", now=now, tz=tz)
    return window(kind if kind in ("today", "7d", "30d") else DEFAULT_WINDOW, now=now, tz=tz)


def change(f: Figure, before: Figure | None, tr) -> tuple[str, str]:
    """How a figure moved against an earlier one, and whether that is good: a rate in percentage points, any
    other figure in per cent of the earlier value ("—" where there is nothing to compare)."""
    ind = BY_KEY[f.key]
    if before is None or f.value is None or before.value is None:
        return "—", ""
    if ind.unit == "%":
        delta = f.value - before.value
        text = f"{delta:+.1f} {tr('kpi.points')}"
    elif before.value:
        delta = 100.0 * (f.value - before.value) / before.value
        text = f"{delta:+.0f}%"
    else:
        return "—", ""
    if abs(delta) < 0.05:
        return text, ""
    better = (delta > 0) == (ind.better == "high")
    return text, "delta-good" if better else "delta-bad"


def _tile(f: Figure, locale: str, tr, targets: dict, *, previous: Figure | None = None,
          last_year: Figure | None = None, spread: tuple | None = None) -> html.Div:
    ind = BY_KEY[f.key]
    g = grade(ind, f.value, targets)
    extra = []
    if spread is not None and spread[0] is not None:  # a mean says little alone: its median and p90 beside it
        extra.append(html.Div(f"{tr('kpi.median')} {spread[0]:,.1f} · {tr('kpi.p90')} {spread[1]:,.1f}",
                              className="spread"))
    compared = []
    for label, earlier in (("kpi.vs_previous", previous), ("kpi.vs_last_year", last_year)):
        text, good = change(f, earlier, tr)
        compared += [html.Span(tr(label), className="vs"), html.Span(text, className=f"delta {good}".strip())]
    extra.append(html.Div(compared, className="compare"))
    return html.Div(className=f"kpi-tile grade-{g}" if g else "kpi-tile", title=ind.definition(locale), children=[
        html.Div(ind.name(locale), className="label"),
        html.Button([fmt(f), html.Span(f" {unit_text(f.key, tr)}", className="unit")],
                    id={"type": ids.KPI_TILE, "key": f.key, "part": "numerator"}, n_clicks=0, className="value"),
        html.Button(fraction(f), id={"type": ids.KPI_TILE, "key": f.key, "part": "denominator"}, n_clicks=0,
                    className="fraction", title=f"{tr('kpi.numerator')} / {tr('kpi.denominator')}")
        if ind.denominator is not None else html.Span(fraction(f), className="fraction"),
        *extra,
    ])


def _legend(targets: dict, locale: str, tr) -> html.Div:
    """What the colours of the ranking mean: each graded indicator's green and amber lines (configurable)."""
    items = []
    for key, t in targets.items():
        if key not in TABLE_KEYS:
            continue
        ind = BY_KEY[key]
        cmp_ = "≥" if ind.better == "high" else "≤"
        items.append(html.Span(f"{ind.name(locale)}: {tr('kpi.green')} {cmp_} {t.green:g}% · {tr('kpi.amber')} {cmp_} "
                               f"{t.amber:g}%", className="target"))
    return html.Div([html.Span(tr("kpi.targets"), className="label"),
                     html.Span([html.Span(className="swatch green"), tr("kpi.green"),
                                html.Span(className="swatch amber"), tr("kpi.amber"),
                                html.Span(className="swatch red"), tr("kpi.red")], className="swatches"),
                     *items], className="kpi-legend")


def table_rows(groups, names: dict[str, str]) -> list[dict]:
    """The ranking: groups sorted by on-time closure (best first, no figure last), then by reports."""
    ranked = sorted(groups, key=lambda kv: (kv[1][RANK_BY].value is None, -(kv[1][RANK_BY].value or 0),
                                            -(kv[1]["reported"].value or 0), kv[0]))
    return [{"rank": i + 1, "group": g, "name": names.get(g, g), "figures": figs} for i, (g, figs) in enumerate(ranked)]


def _table(rows: list[dict], locale: str, tr, targets: dict) -> html.Table:
    head = html.Tr([html.Th(tr("kpi.rank")), html.Th(tr("kpi.group"))]
                   + [html.Th(BY_KEY[k].name(locale), title=BY_KEY[k].definition(locale)) for k in TABLE_KEYS])
    body_rows = []
    for r in rows:
        cells = [html.Td(str(r["rank"])), html.Td(r["name"], className="name")]
        for k in TABLE_KEYS:
            f = r["figures"][k]
            g = grade(BY_KEY[k], f.value, targets)
            cells.append(html.Td(html.Button(fmt(f), id={"type": ids.KPI_CELL, "key": k, "group": r["group"]},
                                             n_clicks=0, title=fraction(f) or None),
                                 className=f"grade-{g}" if g else ""))
        body_rows.append(html.Tr(cells))
    if not body_rows:
        body_rows = [html.Tr(html.Td(tr("kpi.drill.none"), colSpan=2 + len(TABLE_KEYS), className="name"))]
    return html.Table(className="kpi-table", children=[html.Thead(head), html.Tbody(body_rows)])


def _other(alarms: dict, staff: dict, locale: str, tr) -> list:
    def tile(key: str, value: str, sub: str = "") -> html.Div:
        return html.Div(className="kpi-tile small", title=tr(f"kpi.def.{key}"),
                        children=[html.Div(tr(f"kpi.{key}"), className="label"), html.Div(value, className="value"),
                                  html.Span(sub, className="fraction")])

    def pct(f: Figure) -> str:
        return "—" if f.value is None else f"{f.value:.1f}%"

    w = alarms["welfare"]
    welfare = " · ".join(f"{tr('kpi.welfare.' + k)} {w[k]}" for k in ("open", "confirmed", "false", "cleared_unjudged"))
    ack = alarms["ack_time_mean"]
    return [
        html.H3(tr("kpi.alarms")),
        tile("alarm_total", str(alarms["total"]), " · ".join(
            f"{tr('severity.' + s)} {n}" for s, n in sorted(alarms["by_severity"].items()))),
        tile("ack_time_mean", "—" if ack.value is None else f"{ack.value:.1f} {tr('hover.min')}",
             f"n = {int(ack.denominator or 0)}"),
        tile("false_alarm_rate", pct(alarms["false_alarm_rate"]), fraction_of(alarms["false_alarm_rate"])),
        tile("device_online_rate", pct(alarms["device_online_rate"]), fraction_of(alarms["device_online_rate"])),
        html.Div(className="kpi-tile small", title=tr("kpi.welfare"), children=[
            html.Div(tr("kpi.welfare"), className="label"), html.Div(str(w["total"]), className="value"),
            html.Span(welfare, className="fraction")]),
        html.H3(tr("kpi.staff")),
        tile("staff_on_duty", str(staff["on_duty"]), " · ".join(
            f"{tr('duty.' + k)} {v}" for k, v in staff["by_status"].items())),
    ]


def fraction_of(f: Figure) -> str:
    return f"{int(f.numerator or 0):,} / {int(f.denominator or 0):,}"


def drill_rows(brain, ids_: list[int], locale: str) -> list[dict]:
    """The cases behind a figure, as rows for the screen and for export (no personal data)."""
    tr = translator(locale)
    tz = ZoneInfo(brain.settings.display_tz)
    names = category_names(brain.catalogue, locale)
    committees = group_names(brain, "committee", locale)
    photos = brain.field.photos_of(ids_)
    out = []
    for cid in ids_:
        c = brain.cases.get(cid)
        out.append({tr("kpi.col.id"): c.id, tr("kpi.col.reported"): c.reported_at.astimezone(tz).strftime(
                        "%Y-%m-%d %H:%M"), tr("kpi.col.category"): names.get(c.category, c.category),
                    tr("kpi.col.status"): tr(f"status.{c.status}"), tr("kpi.col.channel"): tr(f"channel.{c.channel}"),
                    tr("kpi.col.committee"): committees.get(c.committee or "", c.committee or ""),
                    tr("kpi.col.pole"): c.pole or "", tr("dispatch.photos"): len(photos.get(cid, []))})
    return out


def _picked(brain, pick: dict | None, w: Window) -> list[int]:
    if not pick:
        return []
    df = brain.kpi.frame(w)
    return brain.kpi.behind(df, pick["key"], part=pick.get("part", "numerator"), by=pick.get("by"),
                            group=pick.get("group"))


def register(guard, brain, locale_of) -> None:
    """The /kpi callbacks, each with the permission it needs."""
    zoom = fit_zoom(brain.district, width_px=560, height_px=290)

    @guard.callback(Permission.READ_KPI, Output(ids.KPI_TILES, "children"), Output(ids.KPI_TREND, "figure"),
                    Output(ids.KPI_TOP, "figure"), Output(ids.KPI_HOTSPOTS, "figure"),
                    Output(ids.KPI_OTHER, "children"), Output(ids.KPI_TABLE, "children"),
                    Input(ids.KPI_WINDOW, "value"), Input(ids.KPI_DATES, "start_date"),
                    Input(ids.KPI_DATES, "end_date"),
                    Input(ids.KPI_BY, "value"), Input(ids.KPI_TICK, "n_intervals"), State(ids.URL, "search"))
    def show(kind, start, end, by, _n, search):
        locale = locale_of(search)
        tr = translator(locale)
        by = by if by in DIMENSIONS else "committee"
        w = resolve_window(brain, kind, start, end)
        sc = brain.kpi.screen(w, by, utcnow(), top=TOP_CATEGORIES)
        names = group_names(brain, by, locale)
        targets = brain.kpi.targets
        height = WALL_CHART_PX if wants_rotation(search) else 300  # the wall: two charts beside the ranking
        tiles = [_tile(sc.figures[k], locale, tr, targets, previous=sc.previous.get(k), last_year=sc.last_year.get(k),
                       spread=sc.spread.get(k)) for k in HEADLINE]
        trend = kpi_layers.trend_figure(sc.trend, title=tr("kpi.trend"),
                                        names={"reported": tr("kpi.trend.reported"), "closed": tr("kpi.trend.closed")},
                                        hourly=(w.end - w.start).days <= 1, height=height)
        cats = category_names(brain.catalogue, locale)
        top_fig = kpi_layers.top_figure([(cats.get(k, k), v) for k, v in sc.top_categories], title=tr("kpi.top"),
                                        height=height)
        hot = kpi_layers.hotspot_figure(brain.district, sc.by_committee, title=tr("kpi.hotspots"),
                                        names=group_names(brain, "committee", locale), zoom=zoom)
        other = _other(sc.alarms, sc.staff, locale, tr)
        table = [html.H3(f"{tr('kpi.ranking')} · {tr('kpi.by.' + by)} · {w.label}"),
                 _table(table_rows(sc.groups, names), locale, tr, targets), _legend(targets, locale, tr)]
        return tiles, trend, top_fig, hot, other, table

    @guard.callback(Permission.READ_KPI, Output(ids.KPI_BY, "value"), Input(ids.KPI_ROTATE, "n_intervals"),
                    State(ids.KPI_BY, "value"), prevent_initial_call=True)
    def rotate(_n, by):
        i = ROTATION.index(by) if by in ROTATION else -1
        return ROTATION[(i + 1) % len(ROTATION)]

    @guard.callback(Permission.READ_KPI, Output(ids.KPI_PICK, "data"),
                    Input({"type": ids.KPI_TILE, "key": ALL, "part": ALL}, "n_clicks"),
                    Input({"type": ids.KPI_CELL, "key": ALL, "group": ALL}, "n_clicks"),
                    State(ids.KPI_BY, "value"), prevent_initial_call=True)
    def pick(tiles, cells, by):
        t = ctx.triggered_id
        if not t or not any((tiles or []) + (cells or [])) or not (ctx.triggered and ctx.triggered[0]["value"]):
            return no_update
        if t["key"] not in BY_KEY:
            return no_update
        if t["type"] == ids.KPI_TILE:
            return {"key": t["key"], "part": t["part"] if t["part"] in ("numerator", "denominator") else "numerator"}
        return {"key": t["key"], "part": "numerator", "by": by if by in DIMENSIONS else None, "group": t["group"]}

    @guard.callback(Permission.READ_KPI, Output(ids.KPI_DRILL, "children"), Input(ids.KPI_PICK, "data"),
                    State(ids.KPI_WINDOW, "value"), State(ids.KPI_DATES, "start_date"),
                    State(ids.KPI_DATES, "end_date"), State(ids.URL, "search"), prevent_initial_call=True)
    def drill(p, kind, start, end, search):
        locale = locale_of(search)
        tr = translator(locale)
        if not p:
            return tr("kpi.drill.hint")
        w = resolve_window(brain, kind, start, end)
        try:
            case_ids = _picked(brain, p, w)
        except KpiError as e:
            return html.Span(refusal_text(e, tr) if getattr(e, "key", None) else tr("refused.kpi.window"),
                             className="warn")
        ind = BY_KEY[p["key"]]
        where = ""
        if p.get("by"):
            where = f" · {group_names(brain, p['by'], locale).get(p['group'], p['group'])}"
        title = f"{ind.name(locale)}{where} · {tr('kpi.' + p.get('part', 'numerator'))} · {len(case_ids)}"
        if not case_ids:
            return [html.H4(title), html.Div(tr("kpi.drill.none"), className="empty-queue")]
        rows = drill_rows(brain, case_ids[:DRILL_SHOWN], locale)
        cut = ([html.P(tr("kpi.drill.cut").format(shown=DRILL_SHOWN, total=len(case_ids)), className="warn")]
               if len(case_ids) > DRILL_SHOWN else [])
        cols = list(rows[0])
        table = html.Table(className="kpi-table drill", children=[
            html.Thead(html.Tr([html.Th(c) for c in cols])),
            html.Tbody([html.Tr([html.Td(html.Button(str(r[c]), id={"type": ids.KPI_DRILL_ROW, "case": r[cols[0]]},
                                                     n_clicks=0) if i == 0 else str(r[c]))
                                 for i, c in enumerate(cols)]) for r in rows])])
        return [html.H4(title), *cut, table]

    @guard.callback(Permission.READ_CASES, Output(ids.KPI_TIMELINE, "children"),
                    Input({"type": ids.KPI_DRILL_ROW, "case": ALL}, "n_clicks"), State(ids.URL, "search"),
                    prevent_initial_call=True)
    def timeline(clicks, search):
        t = ctx.triggered_id
        if not t or not any(clicks or []):
            return no_update
        tr = translator(locale_of(search))
        cid = int(t["case"])
        tz = ZoneInfo(brain.settings.display_tz)
        photos = brain.field.photos_of([cid])[cid]
        return [html.H4(f"{tr('kpi.timeline')} · #{cid}"),
                html.Ul(timeline_items(brain, cid, tr, tz), className="timeline"),
                *([html.H4(tr("dispatch.photos")), photo_links(photos, tr, tz)] if photos else [])]

    @guard.callback(Permission.EXPORT, Output(ids.KPI_DOWNLOAD, "data"),
                    Input(ids.KPI_EXPORT_CSV, "n_clicks"), Input(ids.KPI_EXPORT_XLSX, "n_clicks"),
                    State(ids.KPI_WINDOW, "value"), State(ids.KPI_DATES, "start_date"),
                    State(ids.KPI_DATES, "end_date"), State(ids.KPI_BY, "value"), State(ids.KPI_PICK, "data"),
                    State(ids.URL, "search"), prevent_initial_call=True)
    def download(_csv, _xlsx, kind, start, end, by, p, search):
        if ctx.triggered_id not in (ids.KPI_EXPORT_CSV, ids.KPI_EXPORT_XLSX) or not ctx.triggered[0]["value"]:
            return no_update
        locale = locale_of(search)
        by = by if by in DIMENSIONS else "committee"
        w = resolve_window(brain, kind, start, end)
        now = utcnow()
        df = brain.kpi.frame(w)
        tables = export_tables(brain, df, w, by, p, locale, now)
        fmt_ = "csv" if ctx.triggered_id == ids.KPI_EXPORT_CSV else "xlsx"
        who = current()
        stamp = now.astimezone(ZoneInfo(brain.settings.display_tz)).strftime("%Y%m%d-%H%M")
        brain.store.audit(actor=who.actor if who else "unknown", action="kpi.export", subject=f"kpi:{w.label}",
                          detail={"format": fmt_, "by": by, "rows": {k: len(v) for k, v in tables.items()},
                                  "drill": p})
        if fmt_ == "csv":  # every table, each under its name: the ranking, the district's figures, the drill list
            return dcc.send_bytes(export.tables_to_csv(tables), f"kpi-{by}-{stamp}.csv")
        return dcc.send_bytes(export.to_xlsx(tables), f"kpi-{by}-{stamp}.xlsx")


def export_tables(brain, df, w: Window, by: str, p: dict | None, locale: str, now: datetime) -> dict[str, list[dict]]:
    """What an export holds: the ranking by `by`, the district's indicators and, if a figure is picked,
    the cases behind it. Rows carry no personal data (no names, phones or addresses)."""
    tr = translator(locale)
    names = group_names(brain, by, locale)

    def cells(figs: dict) -> dict:
        out = {}
        for ind in BY_KEY.values():
            f = figs[ind.key]
            unit = {"%": "%", "min": tr("hover.min"), "m": "m"}.get(ind.unit or "")
            out[f"{ind.name(locale)} ({unit})" if unit else ind.name(locale)] = f.value  # the unit in the header
            if ind.kind == "rate":
                out[f"{ind.name(locale)} {tr('kpi.numerator')}"] = f.numerator
                out[f"{ind.name(locale)} {tr('kpi.denominator')}"] = f.denominator
        return out

    ranking = [{tr("kpi.rank"): r["rank"], tr("kpi.by." + by): r["name"], tr("kpi.code"): r["group"],
                **cells(r["figures"])} for r in table_rows(brain.kpi.breakdown(df, by, now), names)]
    district = [{tr("kpi.window"): w.label, **cells(brain.kpi.figures(df, now))}]
    tables = {f"{tr('kpi.ranking')}-{tr('kpi.by.' + by)}": ranking, tr("page.kpi"): district}
    if p:
        try:
            tables[tr("kpi.drill")] = drill_rows(brain, _picked(brain, p, w), locale)
        except KpiError:
            pass
    return tables
