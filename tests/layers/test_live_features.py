"""The live layers as the map draws them: one colour meaning per thing, every drawn colour in the legend,
honest marks for state, nothing personal in hover text; the static geography without residents' homes."""

import json
from datetime import timedelta

from brain.alarms.service import AlarmView
from brain.cases.service import CaseView
from brain.live import Delta, Entry
from brain.staff.service import StaffView
from brain.storage.db import utcnow
from dashboard.i18n import translator
from layers import live
from layers.geography import geography
from layers.view import fit_zoom

NOW = utcnow()


def case(status="dispatched", priority="normal", description="王小明 13812345678 楼道堆物", **kw) -> CaseView:
    return CaseView(id=kw.pop("id", 7), status=status, channel="hotline_12345", category="C0107", priority=priority,
                    description=description, lon=121.45, lat=31.33, pole="0412", grid=None, committee=None,
                    department=None, reported_at=NOW - timedelta(minutes=30),
                    stage_started_at=NOW - timedelta(minutes=5), stage_due_at=NOW + timedelta(minutes=25),
                    version=1, **kw)


def alarm(severity="critical", state="active") -> AlarmView:
    return AlarmView("a1", "D1", "smoke", severity, state, 3, NOW, NOW, 121.45, 31.33)


def person(status="available", at=NOW) -> StaffView:
    return StaffView(id="S01", name="李四", team_id="T1", team_name="城管一中队", department="cm",
                     department_name="城管", duties=["C0107"], status=status, mode="walk", lon=121.45, lat=31.33,
                     position_at=at, report_interval_s=5)


def build(locale="zh-CN") -> live.Features:
    return live.Features(translator(locale), {"C0107": "楼道堆物"}, "Asia/Shanghai")


def legend_colours(tr) -> set[str]:
    return {r["colour"] for s in live.legend(tr, {"roads", "poles"}) for r in s["rows"]}


def test_no_colour_means_two_things_on_the_map():
    used = [c for name, table in live.COLOURS.items() for key, c in table.items()
            if not (name == "cases" and key == "verified")]  # handled and verified are one legend row
    assert len(used) == len(set(used))
    assert live.RING_COLOUR not in used


def test_every_colour_a_live_feature_can_be_drawn_in_is_in_the_legend_in_both_languages():
    f = build()
    drawn = set()
    for status in live.COLOURS["cases"]:
        if status != "overdue":
            drawn.add(f.case(1, Entry(case(status=status)))["colour"])
    drawn.add(f.case(1, Entry(case(), True))["colour"])
    for severity in live.COLOURS["alarms"]:
        drawn.add(f.alarm("a1", Entry(alarm(severity)))["colour"])
    for status in live.COLOURS["staff"]:
        drawn.add(f.staff("S01", Entry(person(status)))["colour"])
    assert drawn == live.drawn_colours() - {live.RING_COLOUR}
    for locale in ("zh-CN", "en"):
        tr = translator(locale)
        assert drawn | {live.RING_COLOUR} <= legend_colours(tr)
        labels = [r["label"] for s in live.legend(tr, set()) for r in s["rows"]]
        assert all(label and "." not in label for label in labels)  # every label came from the catalogue


def test_an_overdue_case_is_magenta_and_larger_and_says_so():
    f = build()
    on_time, late = f.case(7, Entry(case())), f.case(7, Entry(case(), True))
    assert late["colour"] == live.COLOURS["cases"]["overdue"] and late["size"] > on_time["size"]
    assert "已超时" in late["tip"] and "已超时" not in on_time["tip"]


def test_a_case_on_the_map_never_carries_the_residents_words():
    tip = build().case(7, Entry(case()))["tip"]
    assert "13812345678" not in tip and "王小明" not in tip and "楼道堆物" in tip  # the category's name only


def test_a_waiting_critical_alarm_is_ringed_and_an_acknowledged_one_is_not():
    f = build("en")
    assert f.alarm("a1", Entry(alarm()))["ring"] is True
    assert f.alarm("a1", Entry(alarm(state="acknowledged")))["ring"] is False
    assert f.alarm("a1", Entry(alarm("major")))["ring"] is False


def test_a_stale_position_is_faint_and_a_person_without_one_is_not_drawn():
    f = build()
    assert f.staff("S01", Entry(person(), True))["opacity"] < 1 == f.staff("S01", Entry(person()))["opacity"]
    nowhere = StaffView(**{**person().__dict__, "lon": None, "lat": None})
    d = f.delta(Delta("staff", 5, 4, False, [("S01", Entry(nowhere, True))], []))
    assert d == {"layer": "staff", "version": 5, "base": 4, "reset": False, "upsert": [], "remove": ["S01"]}


def test_the_geography_names_roads_committees_and_compounds_and_never_sends_homes(district):
    g = geography(district)
    layers = g["layers"]
    assert {"boundary", "committees", "grid", "roads", "poles", "committee_labels", "compounds",
            "buildings"} <= set(layers)
    assert all(f["properties"]["name"] for f in layers["committee_labels"]["features"])
    assert sum(1 for f in layers["roads"]["features"] if f["properties"]["name"]) > 100
    assert len(layers["poles"]["features"]) == len(district.poles)
    text = json.dumps(g, ensure_ascii=False)
    homes = district.places[district.places["kind"] == "home"]
    assert not any(str(o) in text for o in homes["occupant"].dropna()) and "phone" not in text
    b = g["bounds"]
    assert b[0] < b[2] and b[1] < b[3]


def test_fit_zoom_shows_the_whole_district_at_street_level(district):
    assert 14.5 < fit_zoom(district) < 16.5


def test_no_colour_on_the_map_means_two_things_and_the_dispatch_legend_names_the_lines():
    from dashboard.i18n import translator

    assert live.one_meaning()
    rows = [r for s in live.legend(translator("zh-CN"), set(), links=True) for r in s["rows"]]
    assert {"colour": live.palette()["link"], "label": "推荐派遣连线（案件到人员）", "line": True} in rows
    assert not any(r.get("label") == "推荐派遣连线（案件到人员）"
                   for s in live.legend(translator("zh-CN"), set()) for r in s["rows"])  # the wall draws none
