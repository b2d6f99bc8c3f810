"""The simulator drives the real services: cases flow, staff move along roads, alarms happen."""

import shapely

from brain.sim.simulator import CHANNELS, HOURLY_PROFILE, Simulator


def make(brain, district, seed=3, speed=50.0, dispatch=None, monitor=None):
    sim = Simulator(district=district, cases=brain.cases, staff=brain.staff, alarms=brain.alarms, speed=speed,
                    seed=seed, dispatch=dispatch, monitor=monitor)
    sim.load_state()
    return sim


def test_daily_profile_averages_one_and_channels_are_the_nine():
    assert abs(HOURLY_PROFILE.mean() - 1.0) < 1e-9
    assert len(CHANNELS) == 9 and abs(sum(v[0] for v in CHANNELS.values()) - 1.0) < 1e-9


def test_staff_move_along_the_roads(brain, district):
    sim = make(brain, district)
    before = {s.id: (s.lon, s.lat) for s in brain.staff.roster()}
    for _ in range(10):
        sim.tick(1.0)
    after = {s.id: (s.lon, s.lat) for s in brain.staff.roster() if s.status != "off_duty"}
    moved = [k for k in after if after[k] != before[k]]
    assert len(moved) >= len(after) * 0.9
    roads = shapely.union_all(district.metric("roads").to_numpy())
    crs = district.crs
    for lon, lat in after.values():
        x, y = crs.to_metric(lon, lat)
        assert roads.distance(shapely.Point(x, y)) < 0.5


def test_cases_arrive_and_progress_through_the_workflow(brain, district):
    sim = make(brain, district, speed=2000.0)
    for _ in range(30):
        sim.tick(1.0)
    assert sim.stats["cases"] > 5
    assert sim.stats["transitions"] > 0
    statuses = {c.status for c in brain.cases.open_cases()}
    assert len(statuses) >= 2


def test_backfill_creates_recent_history(brain, district):
    sim = make(brain, district)
    n = sim.backfill(hours=1)
    assert n >= 15
    assert len(brain.cases.open_cases()) >= 15


def test_alarms_are_raised_and_cleared(brain, district):
    sim = make(brain, district, speed=2000.0)
    for _ in range(5):
        sim.tick(1.0)
    assert sim.stats["alarms"] > 0
    sim.speed = 1.0
    sim.tick(400.0)  # false alarms clear within five minutes
    from sqlalchemy import func, select

    from brain.alarms.models import Alarm

    with brain.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alarm).where(Alarm.state == "cleared")) > 0



def test_the_nearest_suitable_person_is_sent_and_walks_to_the_case(brain, district):
    sim = make(brain, district, speed=300.0, dispatch=brain.dispatch)
    for _ in range(60):
        sim.tick(1.0)
    assert sim.stats["assigned"] > 0
    busy = [s for s in brain.staff.roster() if s.status in ("en_route", "on_scene")]
    assert busy
    heading = [w for w in sim.walkers.values() if w.goal is not None]
    assert heading and all(w.goal in sim.graph.xy for w in heading)


def test_a_simulated_person_is_returning_after_a_handled_case_then_available_again(brain, district):
    from sqlalchemy import select

    from brain.events.models import EventRecord

    sim = make(brain, district, speed=300.0, dispatch=brain.dispatch)
    for _ in range(120):
        sim.tick(1.0)
        if sim.stats["back_in_service"]:
            break
    assert sim.stats["back_in_service"] > 0
    with brain.db.read() as s:
        moves = [(e.subject_id, e.payload["from"], e.payload["to"], e.actor) for e in s.scalars(
            select(EventRecord).where(EventRecord.type == "staff.status_changed").order_by(EventRecord.seq))]
    back = [m for m in moves if m[1:] == ("returning", "available", "sim:team")]
    assert back
    who = back[0][0]
    assert (who, "on_scene", "returning") in [m[:3] for m in moves]


def test_devices_beat_within_their_interval_so_the_monitor_finds_almost_none_offline(brain, district):
    sim = make(brain, district, speed=600.0, monitor=brain.monitor)  # ten simulated minutes a tick
    for _ in range(12):  # two simulated hours: every device has beaten at least once
        sim.tick(1.0)
    assert sim.stats["heartbeats"] >= len(district.devices)
    with brain.db.read() as s:
        from sqlalchemy import func, select

        from brain.district.models import Device

        active = s.scalar(select(func.count()).select_from(Device).where(Device.last_activity_at.is_not(None)))
    assert active > 0  # door sensors and water meters reported signs of life
    from brain.storage.db import utcnow

    gone = brain.monitor.sweep_offline(utcnow())
    assert len(gone) <= len(district.devices) * 0.02  # only those the simulator let fall silent


def test_people_with_the_field_app_are_left_to_their_phone(brain, district):
    """The simulator neither walks a person who carries the field app nor moves their case past dispatch."""
    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    sid = brain.dispatch.recommend(case.id).ranked[0].staff_id
    brain.auth.create_account(username="phone-user", role="field", password="a-long-enough-password", actor="t",
                              staff_id=sid)
    brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=sid)
    sim = Simulator(district=district, cases=brain.cases, staff=brain.staff, alarms=brain.alarms, speed=50.0, seed=3,
                    dispatch=brain.dispatch, people=brain.auth.field_staff)
    sim.load_state()  # the open case is on its schedule from here
    before = next(s for s in brain.staff.roster() if s.id == sid)
    for _ in range(240):  # four simulated hours at speed 50
        sim.tick(1.2)
    after = next(s for s in brain.staff.roster() if s.id == sid)
    assert (after.lon, after.lat) == (before.lon, before.lat)
    assert brain.cases.get(case.id).status == "dispatched"
    assert sim.stats["fixes"] > 0 and sim.stats["transitions"] > 0  # everyone else walked and worked
