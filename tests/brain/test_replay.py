"""The replay: the state at an instant equals what the live projection held then; windows and instants are
checked; keyframes agree with the log, late events included; the event list filters and masks."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from brain.replay.models import Keyframe
from brain.replay.service import Filter, ReplayError, ReplayService
from brain.sim.simulator import Simulator
from brain.storage.db import select, utcnow


def picture(cases, alarms, staff, at) -> dict:
    """What the map draws of each thing, by id (an alarm's repeat count and last time are not in the log: the
    replay does not claim them)."""
    return {
        "cases": {c.id: (c.status, c.channel, c.category, c.priority, c.pole, c.lon, c.lat, c.reported_at,
                         c.stage_started_at, c.stage_due_at, c.assigned_staff_id, c.assigned_team_id, c.rework_count,
                         c.overdue(at)) for c in cases},
        "alarms": {a.id: (a.device_id, a.type, a.severity, a.state, a.first_at, a.lon, a.lat, a.case_id)
                   for a in alarms},
        "staff": {s.id: (s.status, s.lon, s.lat, s.position_at,
                         s.position_at is None or (at - s.position_at).total_seconds() > 2 * s.report_interval_s)
                  for s in staff},
    }


def busy_sim(brain, district, seed=11):
    sim = Simulator(district=district, cases=brain.cases, staff=brain.staff, alarms=brain.alarms, speed=900.0,
                    seed=seed, dispatch=brain.dispatch)
    sim.load_state()
    sim.backfill(hours=2)  # cases opened at past times, as a restart's backfill does
    return sim


def test_the_replayed_state_at_an_instant_is_what_the_live_projection_held_then(brain, district):
    sim = busy_sim(brain, district)
    held = []
    for i in range(24):
        sim.tick(1.0)
        if i % 4 == 3:
            brain.live.refresh()
            snap = brain.live.snapshot()
            held.append((snap.at, picture(snap.cases, snap.alarms, snap.staff, snap.at)))
            time.sleep(0.01)  # the next step's events come after this instant
    assert sim.stats["transitions"] > 10 and sim.stats["alarms"] > 0 and sim.stats["fixes"] > 100
    with_keyframes = ReplayService(brain.store, brain.staff, brain.policy, mask=brain.cases.mask_payload,
                                   keyframe_s=1, settle_s=0)
    for at, live in held:
        for replay in (brain.replay, with_keyframes):
            scene = replay.scene(at)
            replayed = picture(scene.cases, scene.alarms, scene.staff, at)
            for layer in ("cases", "alarms", "staff"):
                assert replayed[layer].keys() == live[layer].keys(), (layer, at)
                for key, value in live[layer].items():
                    assert replayed[layer][key] == value, (layer, key, at)
    with brain.db.read() as s:
        assert s.scalars(select(Keyframe.at)).first() is not None  # the second replay did seek from keyframes
    assert len({len(p["cases"]) for _at, p in held}) > 1  # the instants differ


def test_a_case_moved_through_deferral_keeps_its_stage_clock_in_the_replay(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0001", actor="t")
    brain.cases.transition(c.id, to="registered", actor="t")
    brain.cases.transition(c.id, to="deferred", note="waiting for parts", actor="t")
    time.sleep(0.05)
    brain.cases.transition(c.id, to="registered", actor="t")
    brain.live.refresh()
    live = brain.live.snapshot()
    held = next(x for x in live.cases if x.id == c.id)
    replayed = next(x for x in brain.replay.scene(live.at).cases if x.id == c.id)
    assert replayed.stage_started_at == held.stage_started_at and replayed.stage_due_at == held.stage_due_at


def test_an_event_logged_late_for_a_time_keyframes_cover_forgets_them_and_the_replay_sees_it(brain):
    replay = ReplayService(brain.store, brain.staff, brain.policy, mask=brain.cases.mask_payload, keyframe_s=600,
                           settle_s=0)
    now = utcnow()
    brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0001", actor="t",
                          at=now - timedelta(hours=3))
    replay.build_keyframes()
    with brain.db.read() as s:
        assert len(s.scalars(select(Keyframe.at)).all()) >= 17  # three hours in ten-minute keyframes
    late = brain.cases.open_case(channel="wechat", category="E0101", pole="0002", actor="t",
                                 at=now - timedelta(hours=2))
    with brain.db.read() as s:
        kept = s.scalars(select(Keyframe.at)).all()
    assert kept and max(kept) < late.reported_at  # the keyframes from its time on are gone
    assert late.id in {c.id for c in replay.scene(now - timedelta(hours=1)).cases}
    assert late.id not in {c.id for c in replay.scene(now - timedelta(hours=2, seconds=1)).cases}


def test_seeking_from_a_keyframe_folds_only_the_events_after_it(brain):
    replay = ReplayService(brain.store, brain.staff, brain.policy, mask=brain.cases.mask_payload, keyframe_s=600,
                           settle_s=0)
    now = utcnow()
    for h in range(6):
        brain.cases.open_case(channel="wechat", category="E0101", pole="0003", actor="t",
                              at=now - timedelta(hours=5 - h, minutes=30))
    replay.build_keyframes()
    at = now - timedelta(minutes=5)
    with_keyframes = replay.state_at(at)
    folded_from_keyframe = replay.folded
    from_window = replay.state_at(at, since=now - timedelta(hours=6))
    assert folded_from_keyframe < replay.folded
    assert with_keyframes.to_json() == from_window.to_json()


@pytest.mark.parametrize(("start", "end", "key"), [
    (lambda n: n - timedelta(days=8), lambda n: n, "refused.replay.long"),
    (lambda n: n - timedelta(hours=1), lambda n: n + timedelta(hours=1), "refused.replay.future"),
    (lambda n: "yesterday", lambda n: n, "refused.replay.malformed"),
    (lambda n: "2026-12-01T08:00", lambda n: n, "refused.replay.malformed"),
    (lambda n: n, lambda n: n - timedelta(hours=1), "refused.replay.order"),
])
def test_a_bad_window_is_refused_with_what_is_wrong(brain, start, end, key):
    now = utcnow()
    with pytest.raises(ReplayError) as e:
        brain.replay.window(start(now), end(now))
    assert e.value.key == key


def test_an_instant_outside_the_window_or_malformed_is_refused(brain):
    now = utcnow()
    w = brain.replay.window(now - timedelta(hours=2), now)
    assert brain.replay.instant(w, (now - timedelta(hours=1)).isoformat()) == now - timedelta(hours=1)
    for bad, key in (("soon", "refused.replay.malformed"), (now - timedelta(hours=3), "refused.replay.outside")):
        with pytest.raises(ReplayError) as e:
            brain.replay.instant(w, bad)
        assert e.value.key == key


def test_the_event_list_moves_with_the_playhead_filters_by_case_and_masks_personal_data(brain):
    places = brain.district.places
    name = str(places[places["occupant"].notna()]["occupant"].iloc[0])
    start = utcnow()
    a = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0001", actor="t")
    brain.cases.transition(a.id, to="registered", actor="t")
    b = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0002", actor="t")
    brain.cases.transition(b.id, to="registered", actor="t")
    brain.cases.transition(b.id, to="cancelled", note=f"{name}说不用了", actor="t")
    w = brain.replay.window(start - timedelta(seconds=1), utcnow())
    past, later = brain.replay.events(w, w.end, Filter(case_id=b.id))
    assert [e["type"] for e in past] == ["case.opened", "case.registered", "case.cancelled"] and later == []
    assert name not in past[-1]["payload"]["note"]
    every, _ = brain.replay.events(w, w.end, Filter(kinds=("case",)))
    assert len(every) == 5
    past, later = brain.replay.events(w, every[1]["at"], Filter(kinds=("case",)), before=1)
    assert [e["seq"] for e in past] == [every[1]["seq"]] and [e["seq"] for e in later] == [e["seq"] for e in every[2:]]
    assert brain.replay.step(w, past[-1]["at"], +1) == later[0]["at"]
    assert brain.replay.step(w, w.start, -1) is None
    assert [e["type"] for e in brain.replay.events(w, w.end, Filter(kinds=("alarm",)))[0]] == []
    rows = list(brain.replay.export(w, Filter(case_id=a.id)))
    assert [r["type"] for r in rows] == ["case.opened", "case.registered"]


def test_an_alarm_its_acknowledgement_escalation_case_and_dispatch_are_one_chain(brain):
    from brain.alarms.escalation import Escalator

    devices = brain.district.devices
    dev = devices[devices["type"] == "smoke"].iloc[0]
    alarm, _ = brain.alarms.raise_alarm(device_id=str(dev["id"]), type="smoke")
    Escalator(brain.store, brain.cases, after=timedelta(seconds=0)).run_once()
    case_id = next(a.case_id for a in brain.alarms.live_from_db() if a.id == alarm.id)
    assert case_id is not None
    brain.alarms.acknowledge(alarm.id, actor="t")
    w = brain.replay.window(alarm.first_at - timedelta(seconds=1), utcnow())
    kinds = [e["type"] for e in brain.replay.export(w, Filter(case_id=case_id))]
    assert kinds[0] == "alarm.raised" and "alarm.escalated" in kinds and "case.opened" in kinds
    assert "alarm.acknowledged" in kinds


def test_a_welfare_alarm_that_climbs_to_emergency_waits_again_as_critical_in_the_replay():
    from brain.replay.state import State

    s, t = State(), utcnow()
    s.apply("alarm.raised", "a1", t, {"device_id": "d", "type": "no_activity", "severity": "major", "lon": 1.0,
                                      "lat": 2.0})
    s.apply("alarm.acknowledged", "a1", t, {})
    s.apply("alarm.welfare_rung", "a1", t, {"rung": "visit"})
    assert (s.alarms["a1"]["state"], s.alarms["a1"]["severity"]) == ("acknowledged", "major")
    s.apply("alarm.welfare_rung", "a1", t, {"rung": "emergency"})
    assert (s.alarms["a1"]["state"], s.alarms["a1"]["severity"]) == ("active", "critical")
    s.apply("alarm.cleared", "a1", t, {})
    assert s.alarms == {}


def test_keyframes_are_hourly_within_the_horizon_and_daily_before_it(brain):
    from brain.replay.service import HORIZON

    replay = ReplayService(brain.store, brain.staff, brain.policy, mask=brain.cases.mask_payload, settle_s=0)
    now = utcnow()
    first = brain.cases.open_case(channel="wechat", category="E0101", pole="0001", actor="t",
                                  at=now - HORIZON - timedelta(days=3))
    replay.build_keyframes()
    with brain.db.read() as s:
        ats = sorted(s.scalars(select(Keyframe.at)).all())
    horizon = replay.horizon()
    older = [a for a in ats if a < horizon]
    assert older and all(a.hour == 0 and a.minute == 0 for a in older[1:])  # midnights (the first: where it began)
    assert len(older) <= 5 and len([a for a in ats if a >= horizon]) >= 24 * 8
    assert first.id in {c.id for c in replay.scene(now - HORIZON - timedelta(days=1)).cases}
    replay.build_keyframes()  # a second round thins what is older than the horizon to midnights
    with brain.db.read() as s:
        assert all(a.hour == 0 for a in s.scalars(select(Keyframe.at).where(Keyframe.at < horizon)))
