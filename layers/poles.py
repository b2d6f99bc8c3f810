"""Numbered poles (一号定位): small markers; hover shows number, code, grid cell and committee."""

from __future__ import annotations

import plotly.graph_objects as go

from layers import style


def trace(district, name: str, hover: dict[str, str]) -> go.Scattermap:
    p = district.poles
    custom = list(zip(p["number"], p["code"], p["grid"], p["committee"], p["road"], strict=True))
    template = (f"<b>{hover['pole']} %{{customdata[0]}}</b><br>{hover['code']} %{{customdata[1]}}"
                f"<br>{hover['grid']} %{{customdata[2]}}<br>{hover['committee']} %{{customdata[3]}}"
                f"<br>%{{customdata[4]}}<extra></extra>")
    return go.Scattermap(lon=p.geometry.x.round(7).tolist(), lat=p.geometry.y.round(7).tolist(), mode="markers",
                         name=name, marker={"size": 4, "color": style.POLE_COLOUR, "opacity": 0.7},
                         customdata=custom, hovertemplate=template)
