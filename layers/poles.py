"""Numbered poles (一号定位): small light markers; their numbers appear at street zoom (assets/overlay.js).

Up to DETAIL_MAX poles, hover shows number, code, grid cell, committee and road. A city-scale set
carries only the numbers (the page would otherwise weigh tens of MB) and is clustered by MapLibre below
street zoom; a click on any pole opens its card with every detail and the open cases there.
"""

from __future__ import annotations

import plotly.graph_objects as go

from layers import style

DETAIL_MAX = 20_000
CLUSTER_BELOW_ZOOM = 16


def trace(district, name: str, hover: dict[str, str]) -> go.Scattermap:
    p = district.poles
    lon, lat = p.geometry.x.round(6).tolist(), p.geometry.y.round(6).tolist()
    marker = {"size": 4, "color": style.POLE_COLOUR, "opacity": 0.7}
    if len(p) <= DETAIL_MAX:
        custom = list(zip(p["number"], p["code"], p["grid"], p["committee"], p["road"], strict=True))
        template = (f"<b>{hover['pole']} %{{customdata[0]}}</b><br>{hover['code']} %{{customdata[1]}}"
                    f"<br>{hover['grid']} %{{customdata[2]}}<br>{hover['committee']} %{{customdata[3]}}"
                    f"<br>%{{customdata[4]}}<extra></extra>")
        return go.Scattermap(lon=lon, lat=lat, mode="markers", name=name, marker=marker, customdata=custom,
                             hovertemplate=template)
    return go.Scattermap(lon=lon, lat=lat, mode="markers", name=name, marker=marker,
                         customdata=[[n] for n in p["number"]],
                         hovertemplate=f"<b>{hover['pole']} %{{customdata[0]}}</b><extra></extra>",
                         cluster={"enabled": True, "maxzoom": CLUSTER_BELOW_ZOOM, "color": style.POLE_COLOUR,
                                  "opacity": 0.55, "step": [50, 500], "size": [10, 16, 24]})
