"""Where the wall looks: the critical alarms nobody has acknowledged take it over, and when they are all
acknowledged it returns to the whole district."""

from types import SimpleNamespace

from brain.alarms.service import AlarmView
from brain.live import Snapshot
from brain.storage.db import utcnow
from dashboard.app import _wall_view, map_scale, page_scale
from layers.figure import POLE_LABEL_ZOOM, district_view, in_view

SPOT, FAR = (121.452, 31.331), (121.4415, 31.3245)


def alarm(i, lonlat, severity="critical", state="active") -> AlarmView:
    at = utcnow()
    return AlarmView(f"a{i}", f"D{i}", "smoke", severity, state, 1, at, at, *lonlat)


def snap(*alarms) -> Snapshot:
    return Snapshot(at=utcnow(), cases=[], alarms=list(alarms), staff=[])


def test_a_critical_alarm_moves_the_wall_to_its_street_once_and_an_acknowledgement_brings_it_home(district):
    brain = SimpleNamespace(district=district)
    view, move = _wall_view(brain, snap(alarm(1, SPOT)), True, None, 1.0)
    assert move == view and view["zoom"] == POLE_LABEL_ZOOM and view["center"] == {"lon": SPOT[0], "lat": SPOT[1]}
    assert _wall_view(brain, snap(alarm(1, SPOT)), True, view, 1.0) == (view, None)  # there already
    # a warning, or a critical alarm someone acknowledged, takes nothing over
    quiet = snap(alarm(1, SPOT, state="acknowledged"), alarm(2, FAR, severity="warning"))
    assert _wall_view(brain, quiet, True, view, 1.0) == (None, district_view(district))
    assert _wall_view(brain, quiet, True, None, 1.0) == (None, None)  # home already


def test_a_second_critical_alarm_elsewhere_widens_the_wall_to_both(district):
    brain = SimpleNamespace(district=district)
    street, _ = _wall_view(brain, snap(alarm(1, SPOT)), True, None, 1.0)
    view, move = _wall_view(brain, snap(alarm(1, SPOT), alarm(2, FAR)), True, street, 1.0)
    assert move == view and in_view(view, [SPOT, FAR])


def test_a_storm_of_critical_alarms_across_the_district_leaves_the_whole_district_in_view(district):
    brain = SimpleNamespace(district=district)
    corners = list(district.boundary.exterior.coords)
    storm = snap(*[alarm(i, p) for i, p in enumerate(corners)])
    for scale in (1.0, 2.0):
        assert _wall_view(brain, storm, True, None, scale) == (None, None)


def test_a_page_whose_view_is_not_known_here_is_sent_where_the_alarms_put_it(district):
    """Its last answer came from another worker (or before a restart): move it, unless nothing waits."""
    brain = SimpleNamespace(district=district)
    view, move = _wall_view(brain, snap(alarm(1, SPOT), alarm(2, FAR)), False, None, 1.0)
    assert move == view and in_view(view, [SPOT, FAR])
    assert _wall_view(brain, snap(), False, None, 1.0) == (None, None)


def test_the_scale_a_page_measured_is_taken_within_bounds_and_markers_never_shrink_below_a_walls():
    assert map_scale(2.0) == 2.0 and map_scale(0.6) == 0.6
    assert map_scale(None) == map_scale(True) == map_scale("2") == map_scale(0.0) == map_scale(50) == 1.0
    assert page_scale(0.6) == 1.0 and page_scale(2.0) == 2.0 and page_scale(5.0) == 4.0


def texts(children) -> list[str]:
    return [c.children for c in children]


def test_the_banner_names_the_oldest_waiting_critical_alarm_and_counts_the_others_and_is_quiet_without():
    from dashboard.app import _banner
    from dashboard.i18n import translator

    tr = translator("zh-CN")
    brain = SimpleNamespace(alarms=SimpleNamespace(flapping=lambda device_ids: set()))  # no device flaps
    assert texts(_banner(brain, snap(alarm(1, SPOT, severity="major")), tr)) == ["无待确认的紧急告警"]
    first, second, third = alarm(1, SPOT), alarm(2, FAR), alarm(3, FAR, state="acknowledged")
    shown = texts(_banner(brain, snap(second, first, third), tr))
    assert shown[0] == "紧急" and "D1" in shown[1] and shown[2] == "另有 1 条紧急告警待确认"
    assert len(_banner(brain, snap(first), tr)) == 2  # alone: no count
    assert texts(_banner(brain, snap(first, second), translator("en")))[2] == "+1 more awaiting acknowledgement"


def test_the_banner_marks_a_flapping_device_and_still_names_its_alarm():
    from dashboard.app import _banner
    from dashboard.i18n import translator

    brain = SimpleNamespace(alarms=SimpleNamespace(flapping=lambda device_ids: set(device_ids) & {"D1"}))
    shown = texts(_banner(brain, snap(alarm(1, SPOT)), translator("zh-CN")))
    assert shown[0] == "紧急" and "D1" in shown[1] and shown[2] == "频繁触发"
