"""KPIs over a small history built by hand, where every indicator's value is known.

The day is 2026-11-10 in Asia/Shanghai: [2026-11-09 16:00 UTC, 2026-11-10 16:00 UTC). All cases are
urgent, so the stage limits are register 5, dispatch 10, arrive 30, handle 120, verify 60 and close 60
minutes (285 in all). Minutes below are counted from each case's report.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from brain.cases.workflow import TransitionRefused
from brain.kpi.facts import CaseFacts
from brain.kpi.service import KpiError, window

T0 = datetime(2026, 11, 10, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
NOW = T0 + timedelta(hours=17)  # 01:00 on the 11th in Shanghai
DAY = date(2026, 11, 10)
TZ = "Asia/Shanghai"


def _poles(brain, n):
    return [str(p) for p in brain.district.poles["number"].iloc[:n]]


@pytest.fixture
def history(brain):
    poles = _poles(brain, 8)
    ids = {}

    def case(name, at, pole, **kw):
        c = brain.cases.open_case(channel=kw.pop("channel", "hotline_12345"), category=kw.pop("category", "C0107"),
                                  pole=pole, priority="urgent", actor="hotline", at=at)
        ids[name] = c.id
        return c.id

    def move(cid, to, at, actor="dispatcher", note=None):
        brain.cases.transition(cid, to=to, actor=actor, at=at, note=note)

    def m(t0, minutes):
        return t0 + timedelta(minutes=minutes)

    # A: on time everywhere; satisfied.
    a0 = T0
    a = case("A", a0, poles[0])
    # E: a duplicate at A's pole, merged into A.
    e = case("E", m(a0, 5), poles[0], channel="wechat")
    brain.cases.merge(e, into=a, actor="dispatcher")
    for to, mins, who, note in (("registered", 3, "d", None), ("dispatched", 10, "d", None),
                                ("handling", 30, "h", None), ("handled", 100, "h", "fixed"),
                                ("verified", 120, "v", None), ("closed", 150, "d", "repaired")):
        move(a, to, m(a0, mins), who, note)
    brain.cases.feedback(a, satisfaction="satisfied", actor="hotline", at=m(a0, 200))
    # B: dispatched late (18 min), reworked once, closed on time; dissatisfied.
    b0 = T0 + timedelta(hours=1)
    b = case("B", b0, poles[1])
    for to, mins, who, note in (("registered", 2, "d", None), ("dispatched", 20, "d", None),
                                ("handling", 40, "h", None), ("handled", 60, "h", "done"),
                                ("dispatched", 70, "v", "not fixed"), ("handling", 80, "h", None),
                                ("handled", 100, "h", "done again"), ("verified", 110, "v", None),
                                ("closed", 120, "d", "repaired")):
        move(b, to, m(b0, mins), who, note)
    brain.cases.feedback(b, satisfaction="dissatisfied", actor="hotline", at=m(b0, 200))
    # C: deferred for an hour while registered, closed late (400 min): out of the on-time closure base.
    c0 = T0 + timedelta(hours=2)
    c = case("C", c0, poles[2])
    for to, mins, who, note in (("registered", 5, "d", None), ("deferred", 10, "d", "waiting for parts"),
                                ("registered", 70, "d", None), ("dispatched", 75, "d", None),
                                ("handling", 100, "h", None), ("handled", 200, "h", "done"),
                                ("verified", 210, "v", None), ("closed", 400, "d", "repaired")):
        move(c, to, m(c0, mins), who, note)
    # D: cancelled as not ours.
    d = case("D", T0 + timedelta(hours=3), poles[3])
    move(d, "cancelled", m(T0 + timedelta(hours=3), 5), note="not our responsibility")
    # F: dispatched, nobody arrived: overdue now, past its handling and closing deadlines.
    f0 = T0 + timedelta(hours=4)
    f = case("F", f0, poles[4])
    move(f, "registered", m(f0, 2))
    move(f, "dispatched", m(f0, 5))
    # H: the last second of the day, still waiting to be registered.
    case("H", T0 + timedelta(hours=16) - timedelta(seconds=1), poles[5])
    # G: the last second of the day before; I: the first second of the day after. Neither is in the day.
    case("G", T0 - timedelta(hours=8, seconds=1), poles[6])
    case("I", T0 + timedelta(hours=16), poles[7])
    return ids


def _figures(brain):
    w = window("custom", now=NOW, tz=TZ, start=DAY, end=DAY)
    df = brain.kpi.frame(w)
    return brain.kpi.figures(df, NOW), df


def test_the_window_is_the_local_day_and_its_midnights_are_edges(brain, history):
    _, df = _figures(brain)
    assert set(df["case_id"]) == {history[k] for k in "ABCDEFH"}
    w = window("custom", now=NOW, tz=TZ, start=DAY - timedelta(days=1), end=DAY - timedelta(days=1))
    assert set(brain.kpi.frame(w)["case_id"]) == {history["G"]}
    today = window("today", now=NOW, tz=TZ)  # NOW is 01:00 on the 11th
    assert set(brain.kpi.frame(today)["case_id"]) == {history["I"]}
    week = window("7d", now=NOW, tz=TZ)
    assert week.start == datetime(2026, 11, 4, 16, tzinfo=UTC) and week.end == datetime(2026, 11, 11, 16, tzinfo=UTC)


def test_case_counts_and_rates_match_the_hand_computed_values(brain, history):
    f, _ = _figures(brain)

    def check(key, value, num, den):
        assert (f[key].value, f[key].numerator, f[key].denominator) == (pytest.approx(value), num, den), key

    check("reported", 7, 7, None)
    check("registered", 4, 4, None)
    check("registration_rate", 66.67, 4, 6)  # E was merged before registration: not a valid report
    check("dispatched", 4, 4, None)
    check("timely_dispatch_rate", 75.0, 3, 4)  # B took 18 minutes; C's hour of deferral did not count
    check("handled", 3, 3, None)
    check("on_time_handling_rate", 75.0, 3, 4)  # F is past its handling deadline unhandled
    check("closed", 3, 3, None)
    check("closure_rate", 75.0, 3, 4)
    check("rework_rate", 33.33, 1, 3)
    check("overdue_now", 2, 2, None)  # F waits for arrival, H for registration
    check("satisfaction_rate", 50.0, 1, 2)
    check("repeat_rate", 14.29, 1, 7)  # E at A's pole


def test_on_time_closure_is_closed_on_time_over_due_minus_deferred(brain, history):
    f, _ = _figures(brain)
    fig = f["on_time_closure_rate"]
    # due: A, B, C (closed) and F (past 285 min); deferred: C; on time: A and B
    assert fig.parts == {"due": 4, "deferred": 1}
    assert (fig.numerator, fig.denominator, fig.value) == (2, 3, pytest.approx(66.67))


def test_stage_times_leave_deferral_out_and_add_up_rework(brain, history):
    f, _ = _figures(brain)
    expected = {"register": (3.0, 4.4), "dispatch": (9.5, 15.6), "arrive": (25.0, 29.0), "handle": (70.0, 94.0),
                "verify": (50 / 3, 20.0), "close": (230 / 3, 158.0)}
    for stage, (mean, p90) in expected.items():
        assert f[f"{stage}_time_mean"].value == pytest.approx(mean, abs=0.01), stage
        assert f[f"{stage}_time_p90"].value == pytest.approx(p90, abs=0.01), stage
    assert f["response_time_mean"].value == pytest.approx((30 + 40 + 100) / 3, abs=0.01)


def test_every_figure_drills_down_to_the_cases_behind_it(brain, history):
    _, df = _figures(brain)
    h = history
    assert brain.kpi.behind(df, "on_time_closure_rate", now=NOW) == [h["A"], h["B"]]
    assert brain.kpi.behind(df, "on_time_closure_rate", part="denominator", now=NOW) == [h["A"], h["B"], h["F"]]
    assert brain.kpi.behind(df, "overdue_now", now=NOW) == [h["F"], h["H"]]
    assert brain.kpi.behind(df, "rework_rate", now=NOW) == [h["B"]]
    assert brain.kpi.behind(df, "handle_time_mean", now=NOW) == [h["A"], h["B"], h["C"]]
    assert brain.kpi.behind(df, "reported", by="channel", group="wechat", now=NOW) == [h["E"]]
    with pytest.raises(KpiError):
        brain.kpi.behind(df, "no_such_indicator")


def test_breakdown_groups_add_up_to_the_whole(brain, history):
    f, df = _figures(brain)
    groups = dict(brain.kpi.breakdown(df, "channel", NOW))
    assert groups["wechat"]["reported"].value == 1 and groups["hotline_12345"]["reported"].value == 6
    for key in ("reported", "registered", "closed", "overdue_now"):
        assert sum(g[key].value for g in groups.values()) == f[key].value
    rate = groups["hotline_12345"]["registration_rate"]
    assert (rate.numerator, rate.denominator) == (4, 6)
    with pytest.raises(KpiError):
        brain.kpi.breakdown(df, "colour")


def test_trend_counts_reports_and_closures_per_local_hour(brain, history):
    w = window("custom", now=NOW, tz=TZ, start=DAY, end=DAY)
    t = brain.kpi.trend(brain.kpi.frame(w), w)
    assert len(t) == 24 and t["reported"].sum() == 7 and t["closed"].sum() == 3
    assert t["reported"].iloc[8] == 2  # A and E, at 08:00 and 08:05 local
    assert t["reported"].iloc[23] == 1  # H at 23:59:59


def test_facts_kept_in_step_equal_a_replay_of_the_whole_log(brain, history):
    def rows():
        with brain.db.read() as s:
            return {r.case_id: {c: getattr(r, c) for c in CaseFacts.__table__.columns.keys()}
                    for r in s.scalars(select(CaseFacts))}

    live = rows()
    with brain.db.transaction() as s:
        assert brain.facts.rebuild(s) == len(live) == 9
    assert rows() == live


def test_feedback_is_only_for_closed_cases_and_checked(brain, history):
    with pytest.raises(TransitionRefused):
        brain.cases.feedback(history["F"], satisfaction="satisfied", actor="hotline")
    from brain.cases.service import IntakeError

    with pytest.raises(IntakeError):
        brain.cases.feedback(history["A"], satisfaction="meh", actor="hotline")


def test_windows_refuse_nonsense(brain):
    with pytest.raises(KpiError):
        window("custom", now=NOW, tz=TZ, start=DAY, end=DAY - timedelta(days=1))
    with pytest.raises(KpiError):
        window("fortnight", now=NOW, tz=TZ)
    with pytest.raises(KpiError):
        window("custom", now=NOW, tz=TZ, start=date(2020, 1, 1), end=DAY)


def test_response_distance_and_cases_per_person_come_from_assignments(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline")
    rec = brain.dispatch.recommend(c.id)
    top = rec.ranked[0]
    brain.dispatch.assign(c.id, actor="dispatcher", version=c.version, staff_id=top.staff_id)
    w = window("today", now=datetime.now(UTC), tz=TZ)
    f = brain.kpi.figures(brain.kpi.frame(w))
    person = next(s for s in brain.staff.roster() if s.id == top.staff_id)
    assert f["response_distance_mean"].value == pytest.approx(
        __import__("geodata.crs", fromlist=["haversine_m"]).haversine_m(person.lon, person.lat, c.lon, c.lat), abs=0.1)
    assert (f["cases_per_person"].value, f["cases_per_person"].numerator, f["cases_per_person"].denominator) == (
        1.0, 1.0, 1.0)


def test_alarm_indicators_time_to_acknowledge_false_alarms_and_welfare(brain):
    devices = brain.district.devices
    smoke = devices[devices["type"] == "smoke"]["id"].iloc[:2].tolist()
    door = devices[devices["type"] == "door"]["id"].iloc[0]
    t = datetime.now(UTC) - timedelta(minutes=30)
    a1, _ = brain.alarms.raise_alarm(device_id=smoke[0], type="smoke", at=t)
    a2, _ = brain.alarms.raise_alarm(device_id=smoke[1], type="smoke", at=t)
    a3, _ = brain.alarms.raise_alarm(device_id=door, type="no_activity", at=t)
    brain.alarms.acknowledge(a1.id, actor="op", at=t + timedelta(minutes=2))
    brain.alarms.acknowledge(a2.id, actor="op", at=t + timedelta(minutes=4))
    brain.alarms.clear(a1.id, actor="op", false_alarm=True, at=t + timedelta(minutes=5))
    brain.alarms.clear(a3.id, actor="op", false_alarm=False, at=t + timedelta(minutes=6))
    now = datetime.now(UTC)  # the local days from t's to now's (in the first half hour of a day, yesterday too)
    days = window("custom", now=now, tz=TZ, start=t.astimezone(ZoneInfo(TZ)).date(),
                  end=now.astimezone(ZoneInfo(TZ)).date())
    out = brain.kpi.alarms(days)
    assert out["total"] == 3 and out["by_severity"] == {"critical": 2, "major": 1}
    assert out["ack_time_mean"].value == pytest.approx(3.0)
    assert (out["false_alarm_rate"].numerator, out["false_alarm_rate"].denominator) == (1, 2)
    assert out["welfare"] == {"total": 1, "open": 0, "false": 0, "confirmed": 1, "cleared_unjudged": 0}
    assert out["device_online_rate"].denominator == len(devices)


def test_the_screen_reads_only_the_columns_it_needs_and_gets_the_same_figures(brain, history):
    w = window("custom", now=NOW, tz=TZ, start=DAY, end=DAY)
    full = brain.kpi.figures(brain.kpi.frame(w), NOW)
    screen = brain.kpi.screen(w, "channel", NOW)
    assert "priority" not in screen.frame and "deferred_s" not in screen.frame
    assert {k: (f.value, f.numerator, f.denominator) for k, f in screen.figures.items()} == {
        k: (f.value, f.numerator, f.denominator) for k, f in full.items()}
    assert dict(screen.groups)["wechat"]["reported"].value == 1


def test_figures_are_compared_with_the_stretch_before_and_a_year_before_cut_at_the_same_hour():
    from brain.kpi.service import KpiService

    tz = ZoneInfo(TZ)
    now = datetime(2026, 3, 1, 10, 30, tzinfo=tz).astimezone(UTC)  # 10:30 on 1 March, local
    today = window("today", now=now, tz=TZ)
    before, year = KpiService.earlier(today, now)
    assert before.start == datetime(2026, 2, 28, tzinfo=tz) and before.end == datetime(2026, 2, 28, 10, 30, tzinfo=tz)
    assert year.start == datetime(2025, 3, 1, tzinfo=tz) and year.end == datetime(2025, 3, 1, 10, 30, tzinfo=tz)
    week = window("custom", now=now, tz=TZ, start=date(2024, 2, 23), end=date(2024, 2, 29))  # a leap day
    before, year = KpiService.earlier(week, now)
    assert before.end == week.start and before.end - before.start == week.end - week.start
    assert year.start == datetime(2023, 2, 23, tzinfo=tz) and year.end - year.start == week.end - week.start


def test_the_screen_carries_the_earlier_figures_and_the_spread_of_a_mean(brain, history):
    sc = brain.kpi.screen(window("custom", now=NOW, tz=TZ, start=date(2026, 11, 9), end=date(2026, 11, 11)),
                          "committee", NOW)
    assert set(sc.previous) == set(sc.figures) and set(sc.last_year) == set(sc.figures)
    assert sc.previous["reported"].value == 0  # nothing in the days before the history begins
    median, p90 = sc.spread["response_time_mean"]
    mean = sc.figures["response_time_mean"].value
    assert median is not None and p90 is not None and median <= p90 and mean is not None


def test_targets_grade_green_amber_red_each_way_and_a_bad_file_is_refused(tmp_path):
    from brain.kpi.indicators import BY_KEY, grade, load_targets

    t = load_targets()
    closure, rework = BY_KEY["on_time_closure_rate"], BY_KEY["rework_rate"]
    assert [grade(closure, v, t) for v in (95, 85, 50, None)] == ["green", "amber", "red", ""]
    assert [grade(rework, v, t) for v in (2, 8, 30)] == ["green", "amber", "red"]  # lower is better
    assert grade(BY_KEY["reported"], 100, t) == ""  # a count has no target
    bad = tmp_path / "t.json"
    bad.write_text('{"rework_rate": {"green": 20, "amber": 10}}', encoding="utf-8")
    with pytest.raises(ValueError, match="green must be the better side"):
        load_targets(bad)
    bad.write_text('{"nonsense": {"green": 1, "amber": 2}}', encoding="utf-8")
    with pytest.raises(ValueError, match="no indicator"):
        load_targets(bad)
