"""Staff positions: colour by duty status; a position older than twice its report interval is stale."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from layers import style


def data(staff, *, now: datetime, status_names: dict[str, str], stale_label: str) -> dict:
    lon, lat, colour, opacity, custom = [], [], [], [], []
    for s in staff:
        if s.lon is None or s.lat is None:
            continue
        age = (now - s.position_at).total_seconds() if s.position_at else None
        stale = age is None or age > 2 * s.report_interval_s
        lon.append(s.lon)
        lat.append(s.lat)
        colour.append(style.STAFF_STATUS_COLOUR.get(s.status, style.MUTED))
        opacity.append(0.35 if stale or s.status == "off_duty" else 1.0)
        custom.append([s.name, s.team_name, status_names.get(s.status, s.status),
                       stale_label if stale else "", s.id])
    return {"lon": lon, "lat": lat, "marker.color": colour, "marker.opacity": opacity, "customdata": custom}


def trace(name: str, d: dict, hover: dict[str, str]) -> go.Scattermap:
    template = (f"<b>%{{customdata[0]}}</b> %{{customdata[4]}}<br>%{{customdata[1]}}<br>{hover['status']} "
                "%{customdata[2]} %{customdata[3]}<extra></extra>")
    return go.Scattermap(lon=d["lon"], lat=d["lat"], mode="markers", name=name, customdata=d["customdata"],
                         marker={"size": 12, "color": d["marker.color"], "opacity": d["marker.opacity"]},
                         hovertemplate=template)
