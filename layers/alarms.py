"""Live alarms: colour by severity (critical in vermillion, largest). customdata ends with the raw state
and severity, which the map overlay (assets/overlay.js) reads to ring unacknowledged critical alarms."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from layers import style

SEVERITY_COLOUR = {"critical": style.OKABE_ITO["vermillion"], "major": style.OKABE_ITO["orange"],
                   "minor": style.OKABE_ITO["yellow"], "warning": style.OKABE_ITO["sky"]}
SEVERITY_SIZE = {"critical": 20, "major": 16, "minor": 13, "warning": 11}


def data(alarms, *, now: datetime, severity_names: dict[str, str], type_names: dict[str, str]) -> dict:
    lon, lat, colour, size, custom = [], [], [], [], []
    for a in alarms:
        lon.append(a.lon)
        lat.append(a.lat)
        colour.append(SEVERITY_COLOUR.get(a.severity, style.MUTED))
        size.append(SEVERITY_SIZE.get(a.severity, 12))
        custom.append([type_names.get(a.type, a.type), severity_names.get(a.severity, a.severity), a.device_id,
                       a.count, int((now - a.first_at).total_seconds() // 60), a.state, a.severity])
    return {"lon": lon, "lat": lat, "marker.color": colour, "marker.size": size, "customdata": custom}


def trace(name: str, d: dict, hover: dict[str, str]) -> go.Scattermap:
    template = (f"<b>%{{customdata[0]}}</b> %{{customdata[1]}}<br>{hover['device']} %{{customdata[2]}}"
                f"<br>{hover['count']} %{{customdata[3]}}<br>{hover['age']} %{{customdata[4]}} {hover['min']}"
                "<extra></extra>")
    return go.Scattermap(lon=d["lon"], lat=d["lat"], mode="markers", name=name, customdata=d["customdata"],
                         marker={"size": d["marker.size"], "color": d["marker.color"], "opacity": 0.9},
                         hovertemplate=template)
