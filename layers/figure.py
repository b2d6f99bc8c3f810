"""The district map: static layers once, live layers (cases, alarms, staff) patched by index.

MapLibre draws the static layers. The live layers' markers are drawn by the page on a canvas over the
map (assets/overlay.js) from the same traces, which Plotly keeps for hover, clicks and the legend: a
live update then costs the browser no WebGL frame (a frame of the whole map, where the wall renders
WebGL in software, takes 100-300 ms of the page's main thread). Each live trace has a key trace of
its own in the legend (its legend group), which shows the layer's colour and hides and shows it."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from layers import alarms as alarm_layer
from layers import cases as case_layer
from layers import geography, links, poles, style
from layers import staff as staff_layer

# Trace order is fixed so a live update can patch `data[i]` without resending the figure.
STATIC = ("boundary", "committees", "grid", "roads", "poles", "committee_labels")
LIVE = ("cases", "alarms", "staff")
OVERLAY = ("links",)  # lines from a selected case to its recommended staff (/dispatch)
KEYS = tuple(f"{name}_key" for name in LIVE)  # the live layers' legend entries
TRACE_INDEX = {name: i for i, name in enumerate(STATIC + LIVE + OVERLAY + KEYS)}
KEY_COLOUR = {"cases": style.CASE_STATUS_COLOUR["reported"], "alarms": alarm_layer.SEVERITY_COLOUR["critical"],
              "staff": style.STAFF_STATUS_COLOUR["available"]}
UIREVISION = "district-map"


LEGEND_FONT_PX, HOVER_FONT_PX = 14, 15  # at 1080p; a larger wall scales them with the map (dashboard/app.py)
POLE_LABEL_ZOOM = 17  # from this zoom (street level) every pole in view shows its number (assets/overlay.js)
FIT_WIDTH_PX, FIT_HEIGHT_PX = 1700, 850  # the map area of a 1920x1080 wall; the page refits to its real size


def fit_zoom(district, *, width_px: int = FIT_WIDTH_PX, height_px: int = FIT_HEIGHT_PX) -> float:
    """The map zoom at which the district's extent fills a wall-sized map (MapLibre 512 px tiles)."""
    minx, miny, maxx, maxy = district.boundary.bounds
    lat = (miny + maxy) / 2
    m_per_deg = 111_320.0
    extent_x = max((maxx - minx) * m_per_deg * math.cos(math.radians(lat)), 1.0)
    extent_y = max((maxy - miny) * m_per_deg, 1.0)
    metres_per_px = max(extent_x / width_px, extent_y / height_px) * 1.08  # a little margin
    zoom = math.log2(40_075_016.7 * math.cos(math.radians(lat)) / (512 * metres_per_px))
    return round(min(max(zoom, 3.0), 18.0), 2)


def drawn_by_page(trace: go.Scattermap, name: str) -> go.Scattermap:
    """A live layer whose markers the page draws (assets/overlay.js reads `meta.draw`): MapLibre is given
    no marker of it (mode "none"), Plotly still hovers and clicks its points; its legend entry is its key."""
    return trace.update(mode="none", showlegend=False, legendgroup=name, meta={"draw": "markers"})


def legend_key(label: str, name: str) -> go.Scattermap:
    """A live layer's entry in the legend: its colour and name; a click hides or shows the layer (the whole
    legend group). Its one point has no place, so it draws nothing, yet Plotly lists it (not an empty trace)."""
    return go.Scattermap(lon=[None], lat=[None], mode="markers", name=label, legendgroup=name, hoverinfo="skip",
                         marker={"size": 12, "color": KEY_COLOUR[name]})


def district_figure(district, *, live: dict[str, dict], tr) -> go.Figure:
    """The whole map. `live` holds the data dicts of the live layers; `tr` translates catalogue keys."""
    hover = {k: tr(f"hover.{k}") for k in ("pole", "code", "grid", "committee", "status", "channel", "age",
                                            "left", "min", "device", "count")}
    traces = [
        geography.outline_trace(tr("layer.boundary"), [district.boundary], colour=style.BOUNDARY_COLOUR, width=3),
        geography.outline_trace(tr("layer.committees"), list(district.committees.geometry),
                                colour=style.COMMITTEE_COLOUR, width=1.6),
        geography.outline_trace(tr("layer.grid"), list(district.grid.geometry), colour=style.GRID_COLOUR,
                                width=0.6, visible="legendonly"),
        geography.outline_trace(tr("layer.roads"), list(district.roads.geometry), colour=style.ROAD_COLOUR,
                                width=1.0),
        poles.trace(district, tr("layer.poles"), hover),
        geography.committee_labels_trace(tr("layer.committees"), district),
        drawn_by_page(case_layer.trace(tr("layer.cases"), live["cases"], hover), "cases"),
        drawn_by_page(alarm_layer.trace(tr("layer.alarms"), live["alarms"], hover), "alarms"),
        drawn_by_page(staff_layer.trace(tr("layer.staff"), live["staff"], hover), "staff"),
        links.trace(tr("layer.links"), links.data([])),
        *[legend_key(tr(f"layer.{name}"), name) for name in LIVE],
    ]
    c = district.boundary.centroid
    fig = go.Figure(traces)
    zoom = fit_zoom(district)
    fig.update_layout(
        map={"style": style.offline_map_style(), "center": {"lon": c.x, "lat": c.y}, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor=style.BACKGROUND, plot_bgcolor=style.BACKGROUND,
        font={"color": style.TEXT, "family": "sans-serif", "size": 14}, uirevision=UIREVISION,
        legend={"bgcolor": "rgba(17,26,46,0.85)", "font": {"color": style.TEXT, "size": LEGEND_FONT_PX}, "x": 0.01,
                "y": 0.99,
                "xanchor": "left", "yanchor": "top", "itemsizing": "constant"},
        hoverlabel={"font": {"size": HOVER_FONT_PX}}, showlegend=True)
    return fig
