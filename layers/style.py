"""Colours, sizes and the offline map style shared by every layer.

Colours come from the Okabe-Ito palette, which stays distinguishable for the common forms of
colour blindness and reads on the dark wall theme. The map style is a dict with a background
layer only: no tile, glyph or sprite server is ever asked for anything.
"""

from __future__ import annotations

BACKGROUND = "#0b1220"
PANEL = "#111a2e"
TEXT = "#e6edf7"
MUTED = "#8da2c0"

OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#9AA5B1",
}

BOUNDARY_COLOUR = "#c9d6ea"
COMMITTEE_COLOUR = "#5f7aa3"
GRID_COLOUR = "#26385a"
ROAD_COLOUR = "#33476b"
POLE_COLOUR = "#7f93b3"
ROAD_TEXT = "#b8c6dc"
COMPOUND_COLOUR = "#1a2942"
BUILDING_COLOUR = "#22324f"
BUILDING_EDGE = "#3a4d70"
TRAIL_COLOUR = "#00E5FF"  # a case's history on /dispatch: the path walked, where reported, where arrived
LINK_COLOUR = "#F4E3C1"  # the dispatcher's lines from a case to the people recommended: a pale sand no layer uses


GLYPHS_URL = "/map/glyphs/{fontstack}/{range}.pbf"  # served empty by the app itself (app.py)


def offline_map_style(background: str = BACKGROUND) -> dict:
    """A MapLibre style with no sources: nothing to fetch, so nothing leaves the building."""
    # MapLibre refuses a style whose symbol layers have no `glyphs`; plotly adds symbol layers to
    # every scattermap trace. The URL is the app's own and answers an empty glyph set: a symbol layer
    # (the counts of clustered poles) draws no text, and nothing is asked of any other host. Text on
    # the map is page text over it (assets/overlay.js), in the system's CJK fonts.
    # `sources` must not be empty: plotly prunes empty objects on update and MapLibre then rejects
    # the style ("missing required property sources"); an empty local GeoJSON source prevents that.
    return {"version": 8, "name": "community-brain-offline",
            "sources": {"none": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}},
            "glyphs": GLYPHS_URL,
            "layers": [{"id": "background", "type": "background", "paint": {"background-color": background}}]}
