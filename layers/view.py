"""The map's view: the zoom at which an extent fills a map, and whether points lie in a view (the wall's
takeover of critical alarms, the KPI screen's map)."""

from __future__ import annotations

import math

POLE_LABEL_ZOOM = 17  # street level: the pole numbers around a place show
FIT_WIDTH_PX, FIT_HEIGHT_PX = 1700, 850  # the map area of a 1920x1080 wall

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
