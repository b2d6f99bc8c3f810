"""Texts more than one screen shows: an indicator's figure, the names of a breakdown's groups, a case's
timeline. Shared by the pages and the printable shift handover, so no page imports another."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dash import dcc, html

from brain.auth.context import current
from brain.auth.enums import Permission
from brain.cases.enums import Channel
from brain.kpi.indicators import BY_KEY
from brain.kpi.service import UNPLACED, Figure
from dashboard.i18n import translator
from dashboard.i18n.catalogue import category_names

DROPDOWN_WORDS = ("select_all", "deselect_all", "selected_count", "search", "clear_search", "clear_selection",
                  "no_options_found")


def dropdown(tr, **props) -> dcc.Dropdown:
    """A dropdown whose own words (its search box, "no match", select all, clear) come from the catalogue: the
    component's own are English."""
    return dcc.Dropdown(labels={k: tr(f"dropdown.{k}") for k in DROPDOWN_WORDS}, **props)


def fmt(f: Figure) -> str:
    ind = BY_KEY[f.key]
    if f.value is None:
        return "—"
    if ind.unit == "%":
        return f"{f.value:.1f}%"
    if ind.kind == "count":
        return f"{int(f.value):,}"
    return f"{f.value:,.1f}"


def group_names(brain, by: str, locale: str) -> dict[str, str]:
    """Breakdown value -> its name on screen."""
    tr = translator(locale)
    if by == "committee":
        c = brain.district.committees
        out = dict(zip(c["code"], c["name"], strict=True))
    elif by == "category":
        out = category_names(brain.catalogue, locale)
    elif by == "team":
        out = {t["id"]: t["name"] for t in brain.district.teams}
    elif by in ("channel", "department"):
        prefix = "channel" if by == "channel" else "department"
        out = {}
        values = ([c.value for c in Channel] if by == "channel"
                  else sorted({t["department"] for t in brain.district.teams}))
        for v in values:
            try:
                out[v] = tr(f"{prefix}.{v}")
            except KeyError:
                out[v] = v
    else:
        out = {}
    out[UNPLACED] = tr("kpi.unplaced")
    return out


def say(tr, text: dict) -> str:
    """A text the product wrote ({"key", "params"}) in the reader's language; a param "@key" is said too."""
    def word(v):
        if isinstance(v, str) and v.startswith("@"):
            try:
                return tr(v[1:])
            except KeyError:
                return v[1:].rsplit(".", 1)[-1]
        return v

    try:
        return tr(text["key"]).format(**{k: word(v) for k, v in (text.get("params") or {}).items()})
    except (KeyError, IndexError, ValueError):
        return str(text.get("key"))


def case_words(view, tr, typed: str | None = None) -> str:
    """What a person reads of a case: what the product wrote, in their language, then the words a person
    typed (`typed`, as the reader's role may read them; the view's masked description by default)."""
    typed = view.description if typed is None else typed
    return " · ".join(w for w in ((say(tr, view.text) if view.text else ""), typed or "") if w)


def replay_href(at: datetime, *, case: int | None = None, staff: str | None = None) -> str:
    """Where a jump into the replay goes: the hour either side of `at`, the case or person followed."""
    q: dict[str, str] = {"at": at.isoformat()}
    if case is not None:
        q["case"] = str(case)
    if staff is not None:
        q["staff"] = staff
    return "/replay?" + urlencode(q)


def timeline_items(brain, case_id: int, tr, tz: ZoneInfo, staff: dict | None = None, *,
                   personal: bool = False) -> list:
    """A case's events as list items, oldest first, in local time (personal data masked unless `personal`);
    for a reader who may replay, each time opens the replay at that moment with the case followed."""
    staff = {s.id: s for s in brain.staff.roster()} if staff is None else staff
    who = current()
    jump = who is not None and who.can(Permission.REPLAY)
    items = []
    for e in brain.cases.timeline(case_id, personal=personal):
        at = datetime.fromisoformat(e["at"])
        when = at.astimezone(tz).strftime("%m-%d %H:%M")
        stamp = (html.A(when, href=replay_href(at, case=case_id), className="when replay-jump",
                        title=tr("replay.jump"), target="_blank")
                 if jump else html.Span(when, className="when"))
        items.append(html.Li([stamp, f" {event_words(e, tr, staff)} · {e['actor']}"]))
    return items


def photo_links(photos: list[dict], tr, tz: ZoneInfo) -> html.Div:
    """A case's photos as thumbnails, each a link to the photo as stored (kind and capture time in its title)."""
    return html.Div([
        html.A(html.Img(src=f"/api/v1/photos/{ph['id']}?thumb=1", alt=tr(f"photo.{ph['kind']}"),
                        title=f"{tr('photo.' + ph['kind'])} · "
                              f"{datetime.fromisoformat(ph['taken_at']).astimezone(tz).strftime('%m-%d %H:%M')}"),
               href=f"/api/v1/photos/{ph['id']}", target="_blank", rel="noopener") for ph in photos],
        className="photos")


def event_words(e: dict, tr, staff: dict) -> str:
    group, kind = e["type"].split(".", 1)
    p = e["payload"]
    if group == "task":  # a step of the person's task: who, and why where they said
        s = staff.get(p.get("staff_id"))
        why = p.get("decline_reason") or p.get("arrive_reason")
        return f"{tr('step.' + kind)} · {s.name if s else p.get('staff_id')}" + (f" · {why}" if why else "")
    if group == "photo":
        return tr(f"photo.{p.get('kind')}")
    if group == "resident" or kind == "followed":  # a resident's report, follow, answer, or a spam mark
        text = tr(f"timeline.{e['type']}").format(photos=p.get("photos") or 0)
        if kind == "answered":
            text += f": {tr('r.sat.' + str(p.get('satisfaction')))}"
        return text + (f" · {p['note']}" if p.get("note") else "")
    if kind == "merged":
        return f"{tr('status.merged')} → #{p.get('parent')}"
    if kind == "auto_dispatch_failed":
        return tr("dispatch.stranded")
    if kind == "opened":
        return tr("status.reported")
    if kind == "feedback":
        return f"{tr('feedback')}: {tr('satisfaction.' + str(e['payload'].get('satisfaction')))}"
    if kind == "assigned":
        p = e["payload"]
        s = staff.get(p.get("staff_id"))
        text = f"{tr('dispatch.assigned_to')} {s.name if s else p.get('staff_id')}"
        if p.get("override"):
            text += f" ({tr('dispatch.override')}: {p.get('reason')})"
        if p.get("auto"):
            text += f" ({tr('dispatch.auto')})"
        return text
    try:
        return tr(f"status.{kind}") + (f" · {e['payload']['note']}" if e["payload"].get("note") else "")
    except KeyError:
        return kind


def event_text(e: dict, tr, staff: dict) -> str:
    """Any event of the log in the reader's words (a case's, a task's, a resident's as on the case card; an
    alarm's, a device's, a person's duty as the replay lists them)."""
    group = e["type"].split(".", 1)[0]
    p = e["payload"]
    if group in ("alarm", "device", "staff"):
        words = {"kind": tr(f"alarm.{p['type']}") if p.get("type") else "", "case": p.get("case_id") or ""}
        if group == "staff":
            person = staff.get(e["subject_id"])
            words.update(name=person.name if person else e["subject_id"],
                         status=tr(f"duty.{p['to']}") if p.get("to") else "")
        try:
            return tr(f"replay.ev.{e['type']}").format(**words)
        except KeyError:  # a kind of alarm no catalogue entry names: the log's own word
            return e["type"]
    return event_words(e, tr, staff)


def event_subject(e: dict) -> str:
    """What an event is about, in a few characters: a case's number, an alarm's or a device's device."""
    if e["subject_type"] == "case":
        return f"#{e['subject_id']}"
    if e["type"] == "alarm.raised":
        return str(e["payload"].get("device_id") or "")
    return e["subject_id"] if e["subject_type"] == "device" else ""


STAGE_PARAMS = ("current", "target", "stage", "status")  # a refusal's values that are a case's stage


def refusal_text(e: Exception, tr, staff_names: dict[str, str] | None = None) -> str:
    """What a person reads of a domain refusal: its catalogue text in their language, the stages, duty and
    person it names in words (its English message only where it names no catalogue entry)."""
    key = getattr(e, "key", None)
    if not key:
        return str(e)
    params = dict(getattr(e, "params", {}))
    for name in STAGE_PARAMS:
        if name in params:
            params[name] = tr(f"status.{params[name]}")
    if "duty" in params:
        params["duty"] = tr(f"duty.{params['duty']}")
    if "staff" in params and staff_names:
        params["staff"] = staff_names.get(params["staff"], params["staff"])
    return tr(key).format(**params)
