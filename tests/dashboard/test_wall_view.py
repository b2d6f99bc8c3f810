"""Where the wall looks: the critical alarms nobody has acknowledged take it over, and when they are all
acknowledged it returns to the whole district; the banner names them."""

from brain.alarms.service import AlarmView
from brain.storage.db import utcnow
from dashboard.i18n import translator
from dashboard.live import TAKEOVER_SETTLE_MS, banner, takeover
from layers.view import POLE_LABEL_ZOOM

SPOT, FAR = (121.452, 31.331), (121.4415, 31.3245)


def alarm(i, lonlat, severity="critical", state="active") -> AlarmView:
    at = utcnow()
    return AlarmView(f"a{i}", f"D{i}", "smoke", severity, state, 1, at, at, *lonlat)


def test_a_critical_alarm_moves_the_wall_to_its_street_once_and_the_acknowledgement_brings_it_home(district):
    bounds = district.boundary.bounds
    move = takeover(bounds, [alarm(1, SPOT)], None)
    assert move["center"] == list(SPOT) and move["zoom"] == POLE_LABEL_ZOOM and move["key"]
    assert takeover(bounds, [alarm(1, SPOT)], move) is None  # there already: the operator's view is kept
    home = takeover(bounds, [], move)
    assert home["home"] and home["bounds"] == [round(v, 6) for v in bounds]
    assert takeover(bounds, [], home) is None and takeover(bounds, [], None) is None  # home already


def test_every_move_of_the_wall_waits_for_the_alarms_to_settle_so_a_burst_is_one_move(district):
    bounds = district.boundary.bounds
    street = takeover(bounds, [alarm(1, SPOT)], None)
    both = takeover(bounds, [alarm(1, SPOT), alarm(2, FAR)], street)
    home = takeover(bounds, [], both)
    assert street["settle_ms"] == both["settle_ms"] == home["settle_ms"] == TAKEOVER_SETTLE_MS
    assert 0 < TAKEOVER_SETTLE_MS <= 1000  # the wall still shows a new alarm's street within a second


def test_a_second_critical_alarm_elsewhere_fits_the_wall_to_both(district):
    street = takeover(district.boundary.bounds, [alarm(1, SPOT)], None)
    both = takeover(district.boundary.bounds, [alarm(1, SPOT), alarm(2, FAR)], street)
    assert both["bounds"] == [FAR[0], FAR[1], SPOT[0], SPOT[1]] and both["key"] != street["key"]
    assert both["max_zoom"] == POLE_LABEL_ZOOM


def test_in_a_storm_the_wall_moves_only_for_an_alarm_outside_the_area_it_was_fitted_to(district):
    both = takeover(district.boundary.bounds, [alarm(1, SPOT), alarm(2, FAR)], None)
    between = ((SPOT[0] + FAR[0]) / 2, (SPOT[1] + FAR[1]) / 2)
    assert takeover(district.boundary.bounds, [alarm(1, SPOT), alarm(2, FAR), alarm(3, between)], both) is None
    assert takeover(district.boundary.bounds, [alarm(1, SPOT), alarm(3, between)], both) is None  # (one acknowledged)
    beyond = (round(FAR[0] - 0.002, 6), FAR[1])
    wider = takeover(district.boundary.bounds, [alarm(1, SPOT), alarm(2, FAR), alarm(4, beyond)], both)
    assert wider["bounds"] == [beyond[0], FAR[1], SPOT[0], SPOT[1]]
    home = takeover(district.boundary.bounds, [], wider)
    again = takeover(district.boundary.bounds, [alarm(1, SPOT), alarm(2, FAR)], home)  # from home: fitted anew
    assert again["bounds"] == [FAR[0], FAR[1], SPOT[0], SPOT[1]]


def test_the_banner_names_the_oldest_waiting_critical_alarm_and_counts_the_others_and_is_quiet_without():
    tr, none = translator("zh-CN"), (lambda ids: set())
    now = utcnow()
    text, cls, badge, said = banner([], now, tr, none)
    assert text == "无待确认的紧急告警" and cls == "banner" and badge == "" and said == ""
    first, second = alarm(1, SPOT), alarm(2, FAR)
    text, cls, badge, _said = banner([second, first], now, tr, none)
    assert badge == "紧急" and "D1" in text and text.endswith("另有 1 条紧急告警待确认") and "takeover" in cls
    assert "另有" not in banner([first], now, tr, none)[0]  # alone: no count
    assert banner([first, second], now, translator("en"), none)[0].endswith("+1 more awaiting acknowledgement")


def test_the_banner_names_the_place_with_the_room_masked_and_the_escalated_case_and_says_it(brain):
    from dataclasses import replace

    home_device = next(d for d, w in brain.device_places.items() if "室" in w)
    where = brain.device_places[home_device]
    assert "*室" in where and not any(ch.isdigit() for ch in where.split("楼")[-1])  # the room is masked
    a = replace(alarm(1, SPOT), device_id=home_device, case_id=42)
    text, _cls, _badge, said = banner([a], utcnow(), translator("zh-CN"), lambda ids: set(), brain.device_places)
    assert where in text and "已转案件 #42" in text
    assert said.startswith("紧急告警") and where in said
    assert "Critical alarm" in banner([a], utcnow(), translator("en"), lambda ids: set(), brain.device_places)[3]


def test_the_banner_marks_a_flapping_device_and_still_names_its_alarm():
    text = banner([alarm(1, SPOT)], utcnow(), translator("zh-CN"), lambda ids: set(ids) & {"D1"})[0]
    assert "D1" in text and text.endswith("频繁触发")


def test_a_page_rendered_anew_is_sent_every_value_again_and_taken_over_again(brain):
    """A navigation renders the page with the values of that moment: the page's loop compares with those,
    not with what it sent the page before (which a counter may have come back to meanwhile)."""
    from dashboard.live import LiveSession

    session = LiveSession(brain)
    first = session.step(None, {"locale": "zh-CN", "path": "/wall", "page": "a"})
    assert "counter-open_cases" in first
    versions = {d["layer"]: d["version"] for d in first["district-map"]["deltas"]}
    assert "counter-open_cases" not in session.step(versions, {"locale": "zh-CN", "path": "/wall", "page": "a"})
    again = session.step(versions, {"locale": "zh-CN", "path": "/wall", "page": "b"})
    assert "counter-open_cases" in again and "takeover-banner" in again


def test_the_feed_on_the_wall_carries_no_words_a_person_typed(brain):
    from dashboard.live import feed

    brain.residents.report(category="C0107", topic="lamp", pole="0412", address="10.0.0.1",
                           description="王小明家门口路灯不亮，电话13800138000")
    brain.live.refresh()
    text = repr(feed(brain, "zh-CN"))
    assert "路灯损坏或不亮" in text and "0412" in text
    assert "王小明" not in text and "13800138000" not in text and "门口" not in text
