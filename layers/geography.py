"""Static outlines: district boundary, committees, grid cells and roads as line traces."""

from __future__ import annotations

import plotly.graph_objects as go
from shapely.geometry.base import BaseGeometry

from layers import style


def _lines(geoms) -> tuple[list, list]:
    """Concatenate the outlines (or lines) of many geometries, separated by None, for one trace."""
    lons: list = []
    lats: list = []
    for g in geoms:
        parts = getattr(g, "geoms", [g])
        for p in parts:
            rings = [p.exterior, *p.interiors] if p.geom_type == "Polygon" else [p]
            for ring in rings:
                xs, ys = ring.xy
                lons.extend(round(v, 6) for v in xs)
                lats.extend(round(v, 6) for v in ys)
                lons.append(None)
                lats.append(None)
    return lons, lats


def outline_trace(name: str, geoms: list[BaseGeometry], *, colour: str, width: float,
                  visible: bool | str = True) -> go.Scattermap:
    lons, lats = _lines(geoms)
    return go.Scattermap(lon=lons, lat=lats, mode="lines", name=name, line={"color": colour, "width": width},
                         hoverinfo="skip", visible=visible)


def committee_labels_trace(name: str, district, locale_names: dict | None = None) -> go.Scattermap:
    """Invisible points at committee centres carrying the name and code on hover."""
    c = district.committees
    pts = c.geometry.to_crs(district.metric_epsg).representative_point().to_crs(4326)
    return go.Scattermap(lon=pts.x.round(6).tolist(), lat=pts.y.round(6).tolist(), mode="markers", name=name,
                         marker={"size": 14, "color": style.COMMITTEE_COLOUR, "opacity": 0.35},
                         customdata=list(zip(c["name"], c["code"], strict=True)),
                         hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>", showlegend=False)
