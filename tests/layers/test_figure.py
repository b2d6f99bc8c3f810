"""Map figures: fixed trace order, nothing fetched from outside, honest colours for state."""

import json
from datetime import timedelta

import numpy as np
import pytest

from brain.cases.service import CaseView
from brain.staff.service import StaffView
from brain.storage.db import utcnow
from dashboard.i18n import translator
from layers import cases as case_layer
from layers import poles, style
from layers import staff as staff_layer
from layers.figure import (
    KEYS,
    LIVE,
    OVERLAY,
    POLE_LABEL_ZOOM,
    STATIC,
    TRACE_INDEX,
    UIREVISION,
    district_figure,
    district_view,
    fit_zoom,
    in_view,
    never_empty,
    takeover_view,
)

HOVER = {k: k for k in ("pole", "code", "grid", "committee")}
EMPTY = {"lon": [], "lat": [], "marker.color": [], "marker.size": [], "marker.opacity": [], "customdata": []}


def figure(district):
    return district_figure(district, live={"cases": EMPTY, "alarms": EMPTY, "staff": EMPTY},
                           tr=translator("zh-CN"))


def test_traces_are_in_the_fixed_order_live_updates_patch(district):
    fig = figure(district)
    assert len(fig.data) == len(STATIC) + len(LIVE) + len(OVERLAY) + len(KEYS)
    assert [fig.data[TRACE_INDEX[n]].name for n in ("cases", "alarms", "staff")] == ["在办案件", "告警", "人员位置"]
    assert fig.layout.uirevision == UIREVISION
    assert len(fig.data[TRACE_INDEX["poles"]].lon) == len(district.poles)


def test_the_live_layers_are_drawn_by_the_page_and_named_in_the_legend_by_their_keys(district):
    """MapLibre is given no marker of a live layer (the page paints them, assets/overlay.js); each has a key
    in the legend, in its legend group, with a colour and no place on the map."""
    fig = figure(district)
    for name in LIVE:
        layer, key = fig.data[TRACE_INDEX[name]], fig.data[TRACE_INDEX[f"{name}_key"]]
        assert layer.mode == "none" and layer.meta == {"draw": "markers"} and layer.showlegend is False
        assert key.legendgroup == layer.legendgroup == name and key.name == layer.name
        assert key.mode == "markers" and key.marker.color and list(key.lon) == [None]
    for name in STATIC:  # MapLibre draws these
        assert fig.data[TRACE_INDEX[name]].meta is None


def test_an_empty_live_layer_keeps_one_point_with_no_place_and_nothing_to_draw(district):
    """Plotly hides a map trace with no points (and builds it anew for the first one): an empty live
    layer holds a point without a place, invisible, that the page's painter skips (it has no lon)."""
    empty = never_empty(EMPTY)
    fig = district_figure(district, live={"cases": empty, "alarms": empty, "staff": empty}, tr=translator("zh-CN"))
    for name in LIVE:
        t = fig.data[TRACE_INDEX[name]]
        assert list(t.lon) == [None] and list(t.lat) == [None] and list(t.customdata) == [None]
    full = {"lon": [121.45], "lat": [31.33], "customdata": [["x"]]}
    assert never_empty(full) is full


def test_map_style_names_no_outside_host(district):
    text = json.dumps(figure(district).to_plotly_json()["layout"])
    assert "http" not in text and "mapbox://" not in text
    s = style.offline_map_style()
    assert all(src["type"] == "geojson" for src in s["sources"].values())
    assert s["glyphs"].startswith("/map/glyphs/")  # the app's own (app.empty_glyphs)


def test_fit_zoom_shows_the_whole_district_at_street_level(district):
    assert 14.5 < fit_zoom(district) < 16.5


def boundary_points(district):
    return list(district.boundary.exterior.coords)


def test_the_district_view_holds_every_point_of_the_district_on_a_wall_of_any_size(district):
    for scale in (0.6, 1.0, 2.0):
        view = district_view(district, scale)
        assert in_view(view, boundary_points(district), scale)
        # and no more than it needs: a step closer and the district's edge is cut
        closer = {**view, "zoom": view["zoom"] + 0.2}
        assert not in_view(closer, boundary_points(district), scale)
    assert district_view(district, 2.0)["zoom"] == pytest.approx(district_view(district)["zoom"] + 1, abs=0.01)


def test_one_waiting_critical_alarm_takes_the_wall_to_its_street_and_keeps_it_there(district):
    home = district_view(district)
    spot = (121.452, 31.331)
    view = takeover_view([spot], home)
    assert view == {"center": {"lon": spot[0], "lat": spot[1]}, "zoom": POLE_LABEL_ZOOM}
    assert takeover_view([spot], view) is None  # already there: no move
    assert takeover_view([spot], None) == view  # a page whose view is unknown is sent there
    assert takeover_view([], home) is None


def test_several_waiting_critical_alarms_keep_the_wall_where_it_shows_them_all(district):
    home = district_view(district)
    corners = boundary_points(district)[:3]
    assert takeover_view(corners, home) is None  # a storm across the district: the whole district stays


def test_several_waiting_critical_alarms_out_of_view_are_fitted_into_it_and_no_closer_than_street_zoom(district):
    home = district_view(district)
    street = takeover_view([(121.452, 31.331)], home)
    far = [(121.452, 31.331), (121.4415, 31.3245)]  # the second one is at the other end of the district
    assert not in_view(street, far)
    fitted = takeover_view(far, street)
    assert in_view(fitted, far) and fitted["zoom"] > home["zoom"]  # all of them, and closer than the district
    assert not in_view({**fitted, "zoom": fitted["zoom"] + 0.3}, far)  # no farther out than they need
    near = [(121.452, 31.331), (121.45201, 31.33101)]  # two in one building: the street, not the building
    assert takeover_view(near, None)["zoom"] == POLE_LABEL_ZOOM


def test_a_fitted_takeover_view_holds_every_alarm_it_was_fitted_to_on_a_wall_of_any_size(district):
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = district.boundary.bounds
    for _ in range(200):
        n = int(rng.integers(2, 40))
        points = list(zip(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n), strict=True))
        scale = float(rng.choice([0.6, 1.0, 2.0]))
        view = takeover_view(points, None, scale)
        assert in_view(view, points, scale) and view["zoom"] <= POLE_LABEL_ZOOM


def _case(status="registered", due_in=60, priority="normal"):
    now = utcnow()
    return CaseView(id=1, status=status, channel="hotline_12345", category="C0107", priority=priority,
                    description="", lon=121.45, lat=31.33, pole="0412", grid=None, committee=None,
                    department="municipal", reported_at=now - timedelta(minutes=30), stage_started_at=now,
                    stage_due_at=now + timedelta(minutes=due_in), version=1)


def test_overdue_cases_are_vermillion_and_larger():
    tr = translator("zh-CN")
    d = case_layer.data([_case(due_in=30), _case(due_in=-5)], now=utcnow(), labels={"overdue": tr("case.overdue")},
                        status_names={}, category_names={"C0107": "路灯"})
    assert d["marker.color"] == [style.CASE_STATUS_COLOUR["registered"], style.OVERDUE_COLOUR]
    assert d["marker.size"][1] > d["marker.size"][0]
    assert d["customdata"][1][6] == "已超时" and d["customdata"][0][6] == ""
    assert d["customdata"][0][1] == "路灯" and d["customdata"][0][4] == 30


def test_stale_positions_are_drawn_faint():
    now = utcnow()
    base = dict(name="张三", team_id="T01", team_name="一中队", department="chengguan", department_name="城管执法",
                duties=["E05"], status="available", mode="walk", lon=121.45, lat=31.33, report_interval_s=30)
    fresh = StaffView(id="S1", position_at=now - timedelta(seconds=10), **base)
    stale = StaffView(id="S2", position_at=now - timedelta(minutes=5), **base)
    d = staff_layer.data([fresh, stale], now=now, status_names={}, stale_label="位置过期")
    assert d["marker.opacity"] == [1.0, 0.35]
    assert d["customdata"][1][3] == "位置过期"


def test_poles_carry_every_detail_on_hover_up_to_the_detail_limit_and_are_not_clustered(district):
    t = poles.trace(district, "杆号", HOVER)
    assert len(t.customdata[0]) == 5 and t.customdata[0][0] == district.poles["number"].iloc[0]
    assert not (t.cluster and t.cluster.enabled)


def test_a_city_scale_pole_set_carries_only_numbers_and_is_clustered_below_street_zoom(district, monkeypatch):
    monkeypatch.setattr(poles, "DETAIL_MAX", len(district.poles) - 1)
    t = poles.trace(district, "杆号", HOVER)
    assert [list(row) for row in t.customdata[:3]] == [[n] for n in district.poles["number"].iloc[:3]]
    assert t.cluster.enabled and t.cluster.maxzoom == poles.CLUSTER_BELOW_ZOOM
    full = len(json.dumps(poles.trace(district, "杆号", HOVER).to_plotly_json()))
    monkeypatch.setattr(poles, "DETAIL_MAX", 10**9)
    assert full < 0.5 * len(json.dumps(poles.trace(district, "杆号", HOVER).to_plotly_json()))


@pytest.mark.parametrize(("days", "hourly"), [(1, True), (7, False), (30, False)])
def test_the_trend_is_on_a_date_axis_of_real_local_days_with_digits_only(days, hourly):
    import pandas as pd

    from layers.kpi import trend_figure

    start = pd.Timestamp("2026-11-27", tz="Asia/Shanghai")
    index = pd.date_range(start, periods=24 if hourly else days, freq="h" if hourly else "D")
    trend = pd.DataFrame({"reported": range(len(index)), "closed": range(len(index))}, index=index)
    fig = trend_figure(trend, title="t", names={"reported": "r", "closed": "c"}, hourly=hourly)
    assert fig.data[0].x[0].startswith("2026-11-27") and len(fig.data[0].x) == len(index)
    assert fig.layout.xaxis.type == "date" and "%b" not in fig.layout.xaxis.tickformat
