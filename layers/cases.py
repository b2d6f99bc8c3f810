"""Open cases: colour by stage, size by priority, overdue in vermillion and larger."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from layers import style


def data(cases, *, now: datetime, labels: dict[str, str], status_names: dict[str, str],
         category_names: dict[str, str]) -> dict:
    """The per-point arrays of the case trace (what a live update patches)."""
    lon, lat, colour, size, custom = [], [], [], [], []
    for c in cases:
        overdue = bool(c.stage_due_at and c.stage_due_at < now)
        lon.append(c.lon)
        lat.append(c.lat)
        colour.append(style.OVERDUE_COLOUR if overdue else style.CASE_STATUS_COLOUR.get(c.status, style.MUTED))
        size.append(style.PRIORITY_SIZE.get(c.priority, 11) + (6 if overdue else 0))
        age_min = int((now - c.reported_at).total_seconds() // 60)
        left = int((c.stage_due_at - now).total_seconds() // 60) if c.stage_due_at else None
        custom.append([c.id, category_names.get(c.category, c.category), status_names.get(c.status, c.status),
                       c.channel, age_min, "—" if left is None else left, labels["overdue"] if overdue else ""])
    return {"lon": lon, "lat": lat, "marker.color": colour, "marker.size": size, "customdata": custom}


def trace(name: str, d: dict, hover: dict[str, str]) -> go.Scattermap:
    template = (f"<b>#%{{customdata[0]}} %{{customdata[1]}}</b> %{{customdata[6]}}<br>{hover['status']} "
                f"%{{customdata[2]}}<br>{hover['channel']} %{{customdata[3]}}<br>{hover['age']} %{{customdata[4]}}"
                f" {hover['min']}<br>{hover['left']} %{{customdata[5]}} {hover['min']}<extra></extra>")
    return go.Scattermap(lon=d["lon"], lat=d["lat"], mode="markers", name=name, customdata=d["customdata"],
                         marker={"size": d["marker.size"], "color": d["marker.color"], "opacity": 0.95},
                         hovertemplate=template)
