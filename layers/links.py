"""Lines from a selected case to the staff recommended for it, nearest drawn boldest."""

from __future__ import annotations

import plotly.graph_objects as go

from layers import style


def data(pairs: list[tuple[float, float, float, float]]) -> dict:
    """Segments (case lon, lat, staff lon, lat) as one None-separated line."""
    lon: list = []
    lat: list = []
    for clon, clat, slon, slat in pairs:
        lon += [clon, slon, None]
        lat += [clat, slat, None]
    return {"lon": lon, "lat": lat}


def trace(name: str, d: dict) -> go.Scattermap:
    return go.Scattermap(lon=d["lon"], lat=d["lat"], mode="lines", name=name, hoverinfo="skip",
                         line={"color": style.OKABE_ITO["sky"], "width": 3}, showlegend=False)
