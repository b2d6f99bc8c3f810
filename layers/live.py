"""The live layers as the district map draws them: one feature per case, alarm and person, coloured from
one table (`COLOURS`) from which the legend is made too, so a colour on the map means one thing and the
legend says which.

Each layer has colours of its own family, used by no other layer: cases in blues and violets by stage
(magenta once a stage has run over its time limit), alarms in reds, oranges and yellows by severity (a
white ring while a critical one waits for acknowledgement), staff in greens by duty (faded while their
position is stale). Hover text is built here, in the page's language; it never carries a resident's
words or personal data (a case's description is not shown on the map at all).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from brain.live import Delta, Entry
from layers import style

COLOURS: dict[str, dict[str, str]] = {
    "cases": {"reported": "#56B4E9", "registered": "#2F7FD0", "dispatched": "#8C7BFF", "handling": "#B388FF",
              "handled": "#9CD3FF", "verified": "#9CD3FF", "deferred": "#7A8BA8", "overdue": "#FF3DCB"},
    "alarms": {"critical": "#FF2D2D", "major": "#FF8A00", "minor": "#FFD21F", "warning": "#C8A97E"},
    "staff": {"available": "#2EE58C", "returning": "#A8F0C8", "en_route": "#B5E61D", "on_scene": "#13C4A3",
              "off_duty": "#6B7C74"},
}
RING_COLOUR = "#FFFFFF"  # a critical alarm nobody has acknowledged
# the legend's rows: (layer, colour key, catalogue key of its label); handled and verified share a colour
LEGEND_ROWS: dict[str, list[tuple[str, str]]] = {
    "cases": [("reported", "status.reported"), ("registered", "status.registered"),
              ("dispatched", "status.dispatched"), ("handling", "status.handling"),
              ("handled", "legend.handled_or_verified"), ("deferred", "status.deferred"),
              ("overdue", "case.overdue")],
    "alarms": [("critical", "severity.critical"), ("major", "severity.major"), ("minor", "severity.minor"),
               ("warning", "severity.warning")],
    "staff": [("available", "duty.available"), ("returning", "duty.returning"), ("en_route", "duty.en_route"),
              ("on_scene", "duty.on_scene"), ("off_duty", "duty.off_duty")],
}
CASE_SIZE = {"urgent": 18, "high": 15, "normal": 13, "low": 11}  # diameters at 1080p
ALARM_SIZE = {"critical": 24, "major": 19, "minor": 16, "warning": 14}
STAFF_SIZE = 13
STALE_OPACITY = 0.4
FALLBACK = style.MUTED


def palette() -> dict[str, str]:
    """The colours of the static map, by what they mean (the map component's `palette`)."""
    return {"background": style.BACKGROUND, "boundary": style.BOUNDARY_COLOUR, "committee": style.COMMITTEE_COLOUR,
            "grid": style.GRID_COLOUR, "road": style.ROAD_COLOUR, "road_text": style.ROAD_TEXT,
            "compound": style.COMPOUND_COLOUR, "building": style.BUILDING_COLOUR,
            "building_edge": style.BUILDING_EDGE, "pole": style.POLE_COLOUR, "text": style.TEXT,
            "halo": style.BACKGROUND, "link": style.LINK_COLOUR, "ring": RING_COLOUR, "trail": style.TRAIL_COLOUR}


STATIC_LEGEND = [("boundary", "boundary"), ("committees", "committee"), ("roads", "road"), ("compounds", "compound"),
                 ("buildings", "building"), ("grid", "grid"), ("poles", "pole")]


def legend(tr, groups: set[str], *, links: bool = False, trails: bool = False) -> list[dict]:
    """The legend: a section per layer the map draws (`groups`), each row a colour and its meaning, made
    from the same tables the layers are drawn from; with `links` (/dispatch), the lines from the chosen case
    to the people recommended for it; with `trails` (/replay), the paths people walked."""
    p = palette()
    out = [{"group": name, "title": tr(f"layer.{name}"),
            "rows": [{"colour": COLOURS[name][key], "label": tr(label)} for key, label in LEGEND_ROWS[name]]
            + ([{"colour": RING_COLOUR, "label": tr("legend.ring"), "ring": True}] if name == "alarms" else [])
            + ([{"colour": p["link"], "label": tr("legend.link"), "line": True}] if name == "staff" and links
               else [])}
           for name in ("alarms", "cases", "staff")]
    if links:  # /dispatch: the chosen case's history
        out.append({"group": "history", "title": tr("legend.history"), "rows": [
            {"colour": p["trail"], "label": tr("legend.trail.reported"), "ring": True},
            {"colour": p["trail"], "label": tr("legend.trail.path"), "line": True},
            {"colour": p["trail"], "label": tr("legend.trail.arrived")}]})
    if trails:  # /replay: the paths walked before the playhead
        out.append({"group": "history", "title": tr("legend.history.replay"), "rows": [
            {"colour": p["trail"], "label": tr("replay.legend.trail"), "line": True},
            {"colour": p["trail"], "label": tr("legend.trail.reported"), "ring": True}]})
    out += [{"group": name, "title": tr(f"layer.{name}"), "rows": [{"colour": p[key], "label": tr(f"layer.{name}"),
                                                                    "line": name in ("boundary", "committees",
                                                                                     "roads", "grid")}]}
            for name, key in STATIC_LEGEND if name in groups]
    return out


def drawn_colours() -> set[str]:
    """Every colour a live feature can be drawn in."""
    return {c for table in COLOURS.values() for c in table.values()} | {RING_COLOUR}


def trail(history: dict | None) -> dict | None:
    """A case's history (brain.flows.Flows.history) as the map's `trail`: the paths walked, where the case was
    reported (none: no point), where each person arrived. The replay gives its trails in the same shape."""
    if not history:
        return None
    features = ([{"type": "Feature", "properties": {"kind": "reported"},
                  "geometry": {"type": "Point", "coordinates": [round(v, 6) for v in history["reported"]]}}]
                if history.get("reported") else [])
    for t in history["trails"]:
        if len(t["path"]) >= 2:
            features.append({"type": "Feature", "properties": {"kind": "path", "staff_id": t["staff_id"]},
                             "geometry": {"type": "LineString",
                                          "coordinates": [[round(x, 6), round(y, 6)] for x, y in t["path"]]}})
        if t["arrived"]:
            features.append({"type": "Feature", "properties": {"kind": "arrived", "staff_id": t["staff_id"]},
                             "geometry": {"type": "Point", "coordinates": [round(v, 6) for v in t["arrived"]]}})
    return {"type": "FeatureCollection", "features": features}


def one_meaning() -> bool:
    """No colour of the map means two things: the live layers', the ring's, the links' and the static map's
    colours are all different."""
    p = palette()
    used = [c.lower() for table in COLOURS.values() for c in set(table.values())] + [RING_COLOUR.lower()]
    used += [p[k].lower() for k in ("link", "trail", "boundary", "committee", "grid", "road", "compound", "building",
                                    "pole")]
    return len(used) == len(set(used))


class Features:
    """Builds the features of the live layers in one language and time zone. `tr` translates catalogue
    keys; `names` gives the names of categories; `teams` is not needed: a person's view carries it."""

    def __init__(self, tr, category_names: dict[str, str], tz: str, *, counts: bool = True) -> None:
        self.tr = tr
        self.categories = category_names
        self.tz = ZoneInfo(tz)
        self.counts = counts  # an alarm's repeat count and last time (the replay has neither: not in the log)

    def _hm(self, at) -> str:
        return at.astimezone(self.tz).strftime("%H:%M") if at else "—"

    def case(self, key, entry: Entry) -> dict:
        c, overdue = entry.view, entry.phase
        tr = self.tr
        colour = COLOURS["cases"]["overdue"] if overdue else COLOURS["cases"].get(c.status, FALLBACK)
        lines = [f"#{c.id} {self.categories.get(c.category, c.category)} · {tr('status.' + c.status)}"
                 + (f" · {tr('case.overdue')}" if overdue else ""),
                 f"{tr('hover.channel')} {tr('channel.' + c.channel)}"
                 + (f" · {tr('hover.pole')} {c.pole}" if c.pole else ""),
                 f"{tr('hover.reported')} {self._hm(c.reported_at)}"
                 + (f" · {tr('hover.due')} {self._hm(c.stage_due_at)}" if c.stage_due_at else "")]
        return {"id": str(c.id), "lon": round(c.lon, 6), "lat": round(c.lat, 6), "colour": colour,
                "size": CASE_SIZE.get(c.priority, 13) + (4 if overdue else 0), "tip": "\n".join(lines)}

    def alarm(self, key, entry: Entry) -> dict:
        a = entry.view
        tr = self.tr
        waiting = a.state == "active" and a.severity == "critical"
        lines = [f"{tr('alarm.' + a.type)} · {tr('severity.' + a.severity)}"
                 + (f" · {tr('alarm.unacknowledged')}" if a.state == "active" else ""),
                 f"{tr('hover.device')} {a.device_id}" + (f" · {tr('hover.count')} {a.count}" if self.counts else ""),
                 f"{tr('hover.first')} {self._hm(a.first_at)}"
                 + (f" · {tr('hover.last')} {self._hm(a.last_at)}" if self.counts else "")]
        return {"id": str(a.id), "lon": round(a.lon, 6), "lat": round(a.lat, 6),
                "colour": COLOURS["alarms"].get(a.severity, FALLBACK), "size": ALARM_SIZE.get(a.severity, 16),
                "ring": waiting, "tip": "\n".join(lines), "device": a.device_id, "kind": a.type, "count": a.count}

    def staff(self, key, entry: Entry) -> dict | None:
        s, stale = entry.view, entry.phase
        if s.lon is None or s.lat is None:
            return None
        tr = self.tr
        faded = stale or s.status == "off_duty"
        lines = [f"{s.name} · {s.team_name}",
                 f"{tr('duty.' + s.status)}" + (f" · {tr('staff.stale')}" if stale else "")
                 + f" · {self._hm(s.position_at)}"]
        return {"id": str(s.id), "lon": round(s.lon, 6), "lat": round(s.lat, 6),
                "colour": COLOURS["staff"].get(s.status, FALLBACK), "size": STAFF_SIZE,
                "opacity": STALE_OPACITY if faded else 1.0, "tip": "\n".join(lines)}

    def delta(self, d: Delta) -> dict:
        """A delta of the live projection as the map component takes it."""
        build = {"cases": self.case, "alarms": self.alarm, "staff": self.staff}[d.layer]
        upsert, remove = [], [str(k) for k in d.remove]
        for key, entry in d.upsert:
            f = build(key, entry)
            if f is None:
                remove.append(str(key))  # (a person without a position is not drawn)
            else:
                upsert.append(f)
        out = {"layer": d.layer, "version": d.version, "reset": d.reset, "upsert": upsert, "remove": remove}
        if d.base is not None:
            out["base"] = d.base
        return out
