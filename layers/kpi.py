"""Figures of the KPI screens: the trend, the top categories and the committees shaded by reports."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go

from layers import style

SEQUENTIAL = "Cividis"  # readable for colour-blind viewers and on a dark screen


def _layout(fig: go.Figure, title: str, *, height: int = 300) -> go.Figure:
    fig.update_layout(title={"text": title, "font": {"size": 16}}, height=height,
                      margin={"l": 48, "r": 16, "t": 44, "b": 36}, paper_bgcolor=style.PANEL,
                      plot_bgcolor=style.PANEL, font={"color": style.TEXT, "family": "sans-serif", "size": 13},
                      legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"})
    fig.update_xaxes(gridcolor="#22304d", zeroline=False)
    fig.update_yaxes(gridcolor="#22304d", zeroline=False, rangemode="tozero")
    return fig


def trend_figure(trend: pd.DataFrame, *, title: str, names: dict[str, str], hourly: bool,
                 height: int = 300) -> go.Figure:
    """Reported and closed per local hour or day (`trend` indexed by local time), on a date axis of those
    local times: a day is a date of its year, never a label read as another year; ticks in digits only (no
    month names in either language)."""
    x = [t.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d") for t in trend.index]
    fig = go.Figure([
        go.Bar(x=x, y=trend["reported"].tolist(), name=names["reported"], marker_color=style.OKABE_ITO["sky"]),
        go.Scatter(x=x, y=trend["closed"].tolist(), name=names["closed"], mode="lines+markers",
                   line={"color": style.OKABE_ITO["orange"], "width": 3}),
    ])
    fig = _layout(fig, title, height=height)
    fig.update_xaxes(type="date", tickformat="%H:%M" if hourly else "%m-%d",
                     hoverformat="%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d",
                     dtick=3600_000 * (3 if len(x) > 12 else 1) if hourly else 86_400_000 * (1 if len(x) <= 14 else 3))
    return fig


def top_figure(counts: list[tuple[str, int]], *, title: str, height: int = 300) -> go.Figure:
    """Horizontal bars, the largest at the top."""
    labels = [c[0] for c in counts][::-1]
    values = [c[1] for c in counts][::-1]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=style.OKABE_ITO["green"],
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    fig = _layout(fig, title, height=height)
    fig.update_yaxes(automargin=True)
    return fig


def hotspot_figure(district, values: dict[str, float], *, title: str, names: dict[str, str],
                   zoom: float) -> go.Figure:
    """Committees shaded by `values` (code -> number), on the offline map style."""
    c = district.committees
    geojson = json.loads(c[["code", "geometry"]].to_json())
    codes = c["code"].tolist()
    z = [float(values.get(code, 0)) for code in codes]
    fig = go.Figure(go.Choroplethmap(
        geojson=geojson, locations=codes, z=z, featureidkey="properties.code", colorscale=SEQUENTIAL,
        marker={"opacity": 0.8, "line": {"width": 1, "color": style.COMMITTEE_COLOUR}},
        customdata=[names.get(code, code) for code in codes],
        hovertemplate="%{customdata}: %{z}<extra></extra>", colorbar={"thickness": 12, "outlinewidth": 0}))
    centre = district.boundary.centroid
    fig.update_layout(map={"style": style.offline_map_style(), "center": {"lon": centre.x, "lat": centre.y},
                           "zoom": zoom}, uirevision="kpi-hotspots")
    fig = _layout(fig, title, height=340)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 44, "b": 0})
    return fig
