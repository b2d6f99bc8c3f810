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


EQUATOR_M = 40_075_016.7  # a zoom-0 tile (512 px in MapLibre) spans the equator
M_PER_DEG = 111_320.0
FIT_MARGIN = 1.08  # an extent fitted to a map leaves a little room around it
VIEW_EDGE_PX = 20  # at 1080p: a marker nearer the map's edge than this (a critical marker's radius, and room) is cut


def zoom_for(bounds: tuple[float, float, float, float], width_px: float, height_px: float) -> float:
    """The map zoom at which `bounds` (min lon, min lat, max lon, max lat) fills a map of that size."""
    minx, miny, maxx, maxy = bounds
    lat = (miny + maxy) / 2
    extent_x = max((maxx - minx) * M_PER_DEG * math.cos(math.radians(lat)), 1.0)
    extent_y = max((maxy - miny) * M_PER_DEG, 1.0)
    metres_per_px = max(extent_x / width_px, extent_y / height_px) * FIT_MARGIN
    zoom = math.log2(EQUATOR_M * math.cos(math.radians(lat)) / (512 * metres_per_px))
    return round(min(max(zoom, 3.0), 18.0), 2)


def fit_zoom(district, *, width_px: int = FIT_WIDTH_PX, height_px: int = FIT_HEIGHT_PX) -> float:
    """The map zoom at which the district's extent fills a wall-sized map (MapLibre 512 px tiles)."""
    return zoom_for(district.boundary.bounds, width_px, height_px)


def district_view(district, scale: float = 1.0) -> dict:
    """The view a page opens on: the whole district, fitted to a map `scale` times a 1080p wall's
    (the page's fit, dashboard/app.py, adds log2 of its scale to the figure's zoom as well)."""
    c = district.boundary.centroid
    return {"center": {"lon": c.x, "lat": c.y}, "zoom": fit_zoom(district) + math.log2(scale)}


def in_view(view: dict, points: list[tuple[float, float]], scale: float = 1.0) -> bool:
    """Whether every (lon, lat) of `points` lies inside `view` (centre and zoom) on a map `scale` times a
    1080p wall's, clear of its edges."""
    lon0, lat0 = view["center"]["lon"], view["center"]["lat"]
    cos0 = math.cos(math.radians(lat0))
    m_per_px = EQUATOR_M * cos0 / (512 * 2 ** view["zoom"])
    half_x = (FIT_WIDTH_PX / 2 - VIEW_EDGE_PX) * scale * m_per_px
    half_y = (FIT_HEIGHT_PX / 2 - VIEW_EDGE_PX) * scale * m_per_px
    return all(abs(lon - lon0) * M_PER_DEG * cos0 <= half_x and abs(lat - lat0) * M_PER_DEG <= half_y
               for lon, lat in points)


def takeover_view(points: list[tuple[float, float]], current: dict | None, scale: float = 1.0) -> dict | None:
    """Where the wall goes for the critical alarms nobody has acknowledged (their (lon, lat)), from the
    view it shows (`current`; None when unknown); None to stay. One alarm: to it, at street zoom (the
    pole numbers show around it). Several: the wall stays while it shows them all, and else fits them all
    (a storm across the district keeps the whole district in view, not one street of it)."""
    if not points:
        return None
    if len(points) == 1:
        target = {"center": {"lon": points[0][0], "lat": points[0][1]}, "zoom": float(POLE_LABEL_ZOOM)}
        return None if current == target else target
    if current is not None and in_view(current, points, scale):
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    bounds = (min(lons), min(lats), max(lons), max(lats))
    edge = 2 * VIEW_EDGE_PX
    zoom = min(zoom_for(bounds, (FIT_WIDTH_PX - edge) * scale, (FIT_HEIGHT_PX - edge) * scale), POLE_LABEL_ZOOM)
    return {"center": {"lon": (bounds[0] + bounds[2]) / 2, "lat": (bounds[1] + bounds[3]) / 2}, "zoom": zoom}


NO_POINT = {"marker.color": "rgba(0,0,0,0)", "marker.size": 0, "marker.opacity": 0}  # else None (no place)


def never_empty(d: dict) -> dict:
    """A live layer's data, with one point that has no place (nothing drawn, nothing to hover) while it
    has nothing to show. Plotly hides a map trace with no points and builds its MapLibre layers anew
    when the first point comes: the first alarm after a quiet spell cost the wall two WebGL frames of
    the whole map (400 ms and more where it renders in software), at the start of every storm."""
    if d.get("lon"):
        return d
    return {key: [NO_POINT.get(key)] for key in d}


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
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": style.offline_map_style(), **district_view(district)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor=style.BACKGROUND, plot_bgcolor=style.BACKGROUND,
        font={"color": style.TEXT, "family": "sans-serif", "size": 14}, uirevision=UIREVISION,
        legend={"bgcolor": "rgba(17,26,46,0.85)", "font": {"color": style.TEXT, "size": LEGEND_FONT_PX}, "x": 0.01,
                "y": 0.99,
                "xanchor": "left", "yanchor": "top", "itemsizing": "constant"},
        hoverlabel={"font": {"size": HOVER_FONT_PX}}, showlegend=True)
    return fig
