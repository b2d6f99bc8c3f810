"""Nearest suitable team: ranking against brute force, exclusions, assignment, override, auto-dispatch, races."""

import itertools
import threading
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from brain.cases.catalogue import Catalogue
from brain.cases.service import VersionConflict
from brain.config import Settings
from brain.dispatch.service import AssignRefused, DispatchService
from brain.events.bus import MemoryBus
from brain.events.models import AuditRecord, EventRecord
from brain.runtime import Brain
from brain.staff.service import StaffView
from brain.storage.db import Database, utcnow
from geodata.crs import haversine_m
from tests.conftest import private_pg_schema, service_url

DUTIES = {"T1": ["E05"], "T2": ["C01"], "T3": ["E05", "C01"]}


def roster(rng, n, district, now):
    minx, miny, maxx, maxy = district.boundary.bounds
    out = []
    for i in range(n):
        team = ["T1", "T2", "T3"][i % 3]
        status = rng.choice(["available"] * 6 + ["en_route", "on_scene", "off_duty"])
        age = float(rng.choice([5, 10, 20, 500]))  # 500 s is stale for a 30 s interval
        out.append(StaffView(id=f"X{i:05d}", name="", team_id=team, team_name="", department="", department_name="",
                             duties=DUTIES[team], status=str(status), mode=str(rng.choice(["walk", "cycle"])),
                             lon=float(rng.uniform(minx, maxx)), lat=float(rng.uniform(miny, maxy)),
                             position_at=now - timedelta(seconds=age), report_interval_s=30))
    return out


def test_ranking_matches_a_brute_force_great_circle_ranking_over_thousands_of_queries(brain, district):
    rng = np.random.default_rng(11)
    now = utcnow()
    staff = roster(rng, 600, district, now)
    svc = DispatchService(cases=brain.cases, staff=brain.staff, catalogue=brain.catalogue, district=district,
                          use_roads=False, max_distance_m=800)
    svc.index.load(staff)
    minx, miny, maxx, maxy = district.boundary.bounds
    lon_s = np.array([s.lon for s in staff])
    lat_s = np.array([s.lat for s in staff])
    for q in range(2000):
        lon, lat = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
        category = "E0501" if q % 2 else "C0107"
        rec = svc.recommend_at(lon, lat, category, now=now, limit=1000)
        gc = haversine_m(lon, lat, lon_s, lat_s)
        want = [s.id for s, d in zip(staff, gc, strict=True)
                if s.status == "available" and any(category.startswith(p) for p in s.duties)
                and (now - s.position_at).total_seconds() <= 60 and d <= 800 * 0.994]
        got = [c.staff_id for c in rec.ranked if not c.stale]
        stale = [c for c in rec.ranked if c.stale]
        assert all(not c.stale for c in rec.ranked[:len(got)])  # the stale come after every fresh person
        assert all(c.distance_m <= 800 for c in stale)
        g = {s.id: d for s, d in zip(staff, gc, strict=True)}
        # nobody suitable within range is missed; the sphere of the great-circle formula and the
        # ellipsoid of UTM disagree by up to 0.3-0.5% with direction, hence the margins
        assert set(want) <= set(got)
        extra = [i for i in got if i not in want]
        assert all(g[i] > 800 * 0.99 for i in extra)  # only borderline ones at the edge of the range
        dists = [g[i] for i in got]
        assert all(a <= b * 1.006 + 0.01 for a, b in itertools.pairwise(dists))
        for c in rec.ranked:
            assert c.distance_m == pytest.approx(g[c.staff_id], rel=6e-3, abs=0.2)
        assert {c.staff_id for c in stale}.isdisjoint(e.staff_id for e in rec.excluded)
        reasons = {e.staff_id: e.reason for e in rec.excluded}
        for s in staff:
            if s.id in reasons:
                assert reasons[s.id] in {"off_duty", "busy", "wrong_duty", "position_stale"}


def test_ties_are_broken_by_id_and_exclusions_say_why(brain, district):
    now = utcnow()
    c = district.boundary.centroid

    def person(i, status="available", duties=("E05",), age=5):
        return StaffView(id=i, name="", team_id="T", team_name="", department="", department_name="",
                         duties=list(duties), status=status, mode="walk", lon=c.x, lat=c.y,
                         position_at=now - timedelta(seconds=age), report_interval_s=30)

    svc = DispatchService(cases=brain.cases, staff=brain.staff, catalogue=brain.catalogue, district=district,
                          use_roads=False)
    svc.index.load([person("B"), person("A"), person("C", status="off_duty"), person("D", status="en_route"),
                    person("E", duties=("C01",)), person("F", age=600)])
    rec = svc.recommend_at(c.x, c.y, "E0501", now=now)
    assert [(r.staff_id, r.stale) for r in rec.ranked] == [("A", False), ("B", False), ("F", True)]
    assert {e.staff_id: e.reason for e in rec.excluded} == {"C": "off_duty", "D": "busy", "E": "wrong_duty"}
    rec = svc.recommend_at(c.x, c.y, "E0501", now=now, limit=2)  # enough fresh: the stale one is left out
    assert [r.staff_id for r in rec.ranked] == ["A", "B"]
    assert {e.staff_id: e.reason for e in rec.excluded}["F"] == "position_stale"
    assert rec.metric == "straight"


def test_with_roads_the_ranking_is_by_walking_distance_and_says_so(brain):
    pole = brain.gazetteer.lookup("0412")
    rec = brain.dispatch.recommend_at(pole.lon, pole.lat, "E0501")
    assert rec.metric == "road" and rec.ranked
    for c in rec.ranked:
        assert c.distance_m >= c.straight_m - 0.5  # never shorter than the straight line
        assert c.eta_s == pytest.approx(c.distance_m / (4.0 if c.mode == "cycle" else 1.3), rel=1e-2)
    assert [c.distance_m for c in rec.ranked] == sorted(c.distance_m for c in rec.ranked)


def _case(brain, category="E0501", pole="0412"):
    return brain.cases.open_case(channel="street_patrol", category=category, pole=pole, actor="patrol")


def test_assign_dispatches_the_case_puts_the_person_en_route_and_tells_their_phone(brain):
    seen = []
    brain.bus.subscribe("field.task", seen.append)
    c = _case(brain)
    top = brain.dispatch.recommend(c.id).ranked[0]
    v = brain.dispatch.assign(c.id, actor="disp", version=c.version, staff_id=top.staff_id)
    assert v.status == "dispatched" and v.assigned_staff_id == top.staff_id and v.assigned_team_id == top.team_id
    person = next(s for s in brain.staff.roster() if s.id == top.staff_id)
    assert person.status == "en_route"
    assert seen and seen[0].subject_id == top.staff_id and seen[0].payload["case_id"] == c.id
    assert seen[0].payload["step"] == "assigned"
    types = [e["type"] for e in brain.cases.timeline(c.id)]
    assert types == ["case.opened", "case.registered", "case.dispatched", "task.assigned", "case.assigned"]
    again = brain.dispatch.recommend_at(c.lon, c.lat, "E0501")
    assert top.staff_id not in [r.staff_id for r in again.ranked]
    assert {e.staff_id: e.reason for e in again.excluded}.get(top.staff_id) == "busy"


def test_assign_by_team_takes_its_nearest_suitable_member(brain):
    c = _case(brain)
    rec = brain.dispatch.recommend(c.id, limit=50)
    team = rec.ranked[-1].team_id
    nearest_of_team = next(r for r in rec.ranked if r.team_id == team)
    v = brain.dispatch.assign(c.id, actor="disp", version=c.version, team_id=team)
    assert v.assigned_staff_id == nearest_of_team.staff_id


def test_assign_refuses_busy_or_unsuitable_people(brain):
    c1, c2 = _case(brain), _case(brain)
    top = brain.dispatch.recommend(c1.id).ranked[0]
    brain.dispatch.assign(c1.id, actor="disp", version=c1.version, staff_id=top.staff_id)
    with pytest.raises(AssignRefused, match="not available"):
        brain.dispatch.assign(c2.id, actor="disp", version=c2.version, staff_id=top.staff_id)
    lamp = _case(brain, category="C0107")
    wrong = next(s for s in brain.staff.roster() if not any("C0107".startswith(d) for d in s.duties)
                 and s.status == "available")
    with pytest.raises(AssignRefused, match="does not take"):
        brain.dispatch.assign(lamp.id, actor="disp", version=lamp.version, staff_id=wrong.id)


def test_a_stale_version_is_a_conflict(brain):
    c = _case(brain)
    a, b = brain.dispatch.recommend(c.id).ranked[:2]
    brain.dispatch.assign(c.id, actor="disp-1", version=c.version, staff_id=a.staff_id)
    with pytest.raises(VersionConflict):
        brain.dispatch.assign(c.id, actor="disp-2", version=c.version, staff_id=b.staff_id)


def test_override_needs_a_reason_frees_the_first_person_and_is_audited(brain):
    c = _case(brain)
    a, b = brain.dispatch.recommend(c.id).ranked[:2]
    v = brain.dispatch.assign(c.id, actor="disp", version=c.version, staff_id=a.staff_id)
    with pytest.raises(AssignRefused, match="needs a reason"):
        brain.dispatch.assign(c.id, actor="disp", version=v.version, staff_id=b.staff_id)
    v = brain.dispatch.assign(c.id, actor="disp", version=v.version, staff_id=b.staff_id, reason="更近的队员已空闲")
    assert v.assigned_staff_id == b.staff_id
    statuses = {s.id: s.status for s in brain.staff.roster()}
    assert statuses[a.staff_id] == "available" and statuses[b.staff_id] == "en_route"
    with brain.db.read() as s:
        audit = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.override")).all()
    assert len(audit) == 1 and audit[0].detail["reason"] == "更近的队员已空闲"


def test_urgent_sensor_cases_are_auto_dispatched_to_the_top_recommendation(brain, district):
    d = district.devices
    dev = d[d["type"] == "smoke"].iloc[0]
    expected = brain.dispatch.recommend_at(dev.geometry.x, dev.geometry.y, "E0606").ranked[0].staff_id
    c = brain.cases.open_case(channel="iot", category="E0606", lon=dev.geometry.x, lat=dev.geometry.y,
                              actor="device")
    v = brain.cases.get(c.id)
    assert v.status == "dispatched" and v.assigned_staff_id == expected
    with brain.db.read() as s:
        ev = s.scalar(select(EventRecord).where(EventRecord.type == "case.assigned",
                                                EventRecord.subject_id == str(c.id)))
    assert ev.actor == "system:auto-dispatch" and ev.payload["auto"] is True
    normal = _case(brain)
    assert brain.cases.get(normal.id).status == "reported"  # only urgent sensor cases


def test_an_urgent_sensor_case_nobody_can_be_sent_to_is_an_alert_until_someone_is(brain, district):
    d = district.devices
    dev = d[d["type"] == "smoke"].iloc[0]
    takers = [s for s in brain.staff.roster() if Catalogue.covers(list(s.duties), "E0606") and s.status == "available"]
    for s in takers:
        brain.staff.set_status(s.id, "off_duty", actor="test")
    c = brain.cases.open_case(channel="iot", category="E0606", lon=dev.geometry.x, lat=dev.geometry.y,
                              actor="device")
    assert brain.cases.get(c.id).status == "reported"
    failed = [e for e in brain.cases.timeline(c.id) if e["type"] == "case.auto_dispatch_failed"]
    assert len(failed) == 1 and failed[0]["payload"]["reason"] == "nobody"
    assert brain.dispatch.stranded() == [c.id] and brain.live_stranded.get() == 1
    brain.staff.set_status(takers[0].id, "available", actor="test")
    brain.dispatch.assign(c.id, actor="person:disp", version=None, staff_id=takers[0].id)
    assert brain.dispatch.stranded() == []


def test_staff_status_follows_the_case(brain):
    c = _case(brain)
    top = brain.dispatch.recommend(c.id).ranked[0]
    brain.dispatch.assign(c.id, actor="disp", version=c.version, staff_id=top.staff_id)
    brain.cases.transition(c.id, to="handling", actor="team")
    assert {s.id: s.status for s in brain.staff.roster()}[top.staff_id] == "on_scene"
    brain.cases.transition(c.id, to="handled", actor="team", note="已劝离")
    assert {s.id: s.status for s in brain.staff.roster()}[top.staff_id] == "returning"


@pytest.mark.parametrize("use_roads", [True, False])
def test_people_returning_from_a_case_are_ranked_by_distance_among_the_available_and_marked(brain, district, use_roads):
    now = utcnow()
    svc = DispatchService(cases=brain.cases, staff=brain.staff, catalogue=brain.catalogue, district=district,
                          use_roads=use_roads)
    lon, lat = district.boundary.centroid.x, district.boundary.centroid.y
    people = [("A1", "available", 0.0030), ("A2", "returning", 0.0010), ("A3", "en_route", 0.0005),
              ("A4", "returning", 0.0020)]
    svc.index.load([StaffView(id=i, name="", team_id="T1", team_name="", department="", department_name="",
                              duties=["E05"], status=st, mode="walk", lon=lon + dx, lat=lat, position_at=now,
                              report_interval_s=30) for i, st, dx in people])
    rec = svc.recommend_at(lon, lat, "E0501", now=now)
    assert [(c.staff_id, c.returning) for c in rec.ranked] == [("A2", True), ("A4", True), ("A1", False)]
    assert all(c.eta_s == pytest.approx(c.distance_m / 1.3) for c in rec.ranked)  # from where they are now
    assert [(e.staff_id, e.reason) for e in rec.excluded] == [("A3", "busy")]
    assert svc.index.density("E0501") > 0  # the returning size the search too
    svc.index.move("A2", lon + 0.001, lat, now - timedelta(seconds=500))  # (older than held: ignored)
    svc.index.load([StaffView(id="A2", name="", team_id="T1", team_name="", department="", department_name="",
                              duties=["E05"], status="returning", mode="walk", lon=lon + 0.001, lat=lat,
                              position_at=now - timedelta(seconds=500), report_interval_s=30)])
    (only,) = svc.recommend_at(lon, lat, "E0501", now=now).ranked
    assert only.staff_id == "A2" and only.returning and only.stale  # stale and returning: still shown, marked


def test_a_person_returning_from_a_case_may_be_sent_and_the_picker_lists_them_first(brain):
    c = _case(brain)
    top = brain.dispatch.recommend(c.id).ranked[0]
    brain.dispatch.assign(c.id, actor="disp", version=c.version, staff_id=top.staff_id)
    brain.cases.transition(c.id, to="handling", actor="team")
    brain.cases.transition(c.id, to="handled", actor="team", note="已劝离")
    again = _case(brain)
    rec = brain.dispatch.recommend(again.id)
    back = next(r for r in rec.ranked if r.staff_id == top.staff_id)
    assert back.returning and not back.stale
    assert rec.as_dict()["ranked"][rec.ranked.index(back)]["returning"] is True
    picked = [s.id for s, _d in brain.dispatch.everyone_for(again.id, limit=100)]
    ready = [s.id for s, _d in brain.dispatch.everyone_for(again.id, limit=100) if s.status in ("available",
                                                                                                   "returning")]
    assert picked[:len(ready)] == ready and top.staff_id in ready
    brain.dispatch.assign(again.id, actor="disp", version=again.version, staff_id=top.staff_id)
    assert {s.id: s.status for s in brain.staff.roster()}[top.staff_id] == "en_route"


def test_two_dispatchers_assigning_at_once_on_postgresql_exactly_one_wins(district):
    url = service_url("DATABASE_URL")
    engine, drop = private_pg_schema(url, district)
    try:
        settings = Settings(simulate=False, escalate_after_s=0, monitor_interval_s=0, admin_password="race-admin-pass")
        brains = [Brain(settings, district=district, db=Database(url, engine=engine), bus=MemoryBus()).start()
                  for _ in range(2)]
        for attempt in range(5):
            c = brains[0].cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
            picks = [r.staff_id for r in brains[0].dispatch.recommend(c.id).ranked[:2]]
            barrier = threading.Barrier(2)
            results: list = [None, None]

            def go(k, case=c, picks=picks, barrier=barrier, results=results):
                barrier.wait()
                try:
                    results[k] = brains[k].dispatch.assign(case.id, actor=f"disp-{k}", version=case.version,
                                                           staff_id=picks[k])
                except Exception as exc:  # the test inspects which error
                    results[k] = exc

            threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            wins = [r for r in results if not isinstance(r, Exception)]
            losses = [r for r in results if isinstance(r, Exception)]
            assert len(wins) == 1 and len(losses) == 1, (attempt, results)
            assert isinstance(losses[0], VersionConflict)
            assigned = [e for e in brains[0].cases.timeline(c.id) if e["type"] == "case.assigned"]
            assert len(assigned) == 1 and assigned[0]["payload"]["staff_id"] == wins[0].assigned_staff_id
            statuses = {s.id: s.status for s in brains[0].staff.roster()}
            loser_pick = picks[results.index(losses[0])]
            assert statuses[loser_pick] == "available"  # the loser's person was not touched
            for k in range(2):  # free the winner for the next round
                brains[k].dispatch.load()
            brains[0].staff.set_status(wins[0].assigned_staff_id, "available", actor="test")
    finally:
        drop()


def test_everyone_who_takes_a_case_is_listed_for_a_hand_pick_available_first_then_nearest(brain):
    from brain.cases.catalogue import Catalogue

    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    people = brain.dispatch.everyone_for(case.id, limit=1000)
    roster = brain.staff.roster()
    takers = {s.id for s in roster if Catalogue.covers(list(s.duties), "E0501")}
    assert {s.id for s, _d in people} == takers and takers != {s.id for s in roster}
    far = [p for p in people if p[0].status == "available"][-1][0]
    brain.staff.set_status(people[0][0].id, "off_duty", actor="test")
    again = brain.dispatch.everyone_for(case.id, limit=1000)
    states = [s.status == "available" for s, _d in again]
    assert states == sorted(states, reverse=True)  # the available first
    available = [d for s, d in again if s.status == "available" and d is not None]
    assert available == sorted(available)  # then the nearest
    assert far.id in {s.id for s, _d in again}  # however far


def test_snapping_through_the_road_grid_finds_the_nearest_road_the_tree_finds_on_and_off_the_grid(district):
    import shapely

    from brain.dispatch.kernel import snap_one
    from brain.dispatch.roads import RoadNetwork

    roads = RoadNetwork(district)
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = shapely.total_bounds(roads.pieces)
    xs = rng.uniform(minx - 900, maxx + 900, 20_000)  # beyond the grid's margin too
    ys = rng.uniform(miny - 900, maxy + 900, 20_000)
    edge, along, off = roads.snap(xs, ys)
    pts = shapely.points(xs, ys)
    hit = roads.tree.query_nearest(pts, all_matches=True)  # every road equally near
    lowest = np.full(len(xs), len(roads.edges))
    np.minimum.at(lowest, hit[0], hit[1])
    assert (edge == lowest).all()  # the nearest road; of equally near ones, the lowest
    assert np.allclose(off, shapely.distance(roads.edges[lowest], pts), rtol=0, atol=1e-6)
    assert np.allclose(along, shapely.line_locate_point(roads.edges[lowest], pts), rtol=0, atol=1e-6)
    args = roads.kernel_args  # the compiled ranking snaps the same way, point by point
    for i in range(0, len(xs), 7):
        e, a, d = snap_one(xs[i], ys[i], *args[4:11], args[3])
        assert e == edge[i]
        assert a == pytest.approx(along[i], abs=1e-9)
        assert d == pytest.approx(off[i], abs=1e-9)
    outside = (xs < roads.grid_x0) | (ys < roads.grid_y0)
    assert outside.any()  # the tree's path was taken


def test_ranking_by_road_names_the_people_a_brute_force_over_every_eligible_person_names(brain, district):
    rng = np.random.default_rng(3)
    now = utcnow()
    staff = roster(rng, 400, district, now)
    svc = DispatchService(cases=brain.cases, staff=brain.staff, catalogue=brain.catalogue, district=district,
                          max_distance_m=1500)
    svc.index.load(staff)
    roads = svc.ranker.roads
    crs = district.crs
    x, y = (np.asarray(v, dtype=float) for v in crs.to_metric(np.array([s.lon for s in staff]),
                                                                np.array([s.lat for s in staff])))
    minx, miny, maxx, maxy = district.boundary.bounds
    for q in range(300):
        lon, lat = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
        category = "E0501" if q % 2 else "C0107"
        rec = svc.recommend_at(lon, lat, category, now=now)
        qx, qy = crs.to_metric(lon, lat)
        ok = np.array([s.status == "available" and any(category.startswith(p) for p in s.duties)
                       and (now - s.position_at).total_seconds() <= 60 for s in staff])
        cand = np.flatnonzero(ok)
        d = roads.distances(float(qx), float(qy), x[cand], y[cand], limit=1500)
        keep = d <= 1500
        cand, d = cand[keep], d[keep]
        want = [staff[i].id for i in cand[np.lexsort((cand, d))][:10]]
        got = [c.staff_id for c in rec.ranked if not c.stale]
        assert got == want
        assert [c.distance_m for c in rec.ranked[:len(got)]] == pytest.approx(sorted(d)[:len(got)])


def test_the_workload_shown_is_what_the_database_counts_through_assignments_overrides_and_moves(brain):
    from sqlalchemy import func

    from brain.cases.models import Case

    def counted():
        with brain.db.read() as s:
            rows = s.execute(select(Case.assigned_staff_id, func.count()).where(
                Case.status.in_(("dispatched", "handling"))).group_by(Case.assigned_staff_id)).all()
        return {sid: n for sid, n in rows if sid}

    def held():
        return brain.dispatch.workload.of([s.id for s in brain.staff.roster()])

    assert held() == counted()
    c1, c2, c3 = _case(brain), _case(brain), _case(brain)
    a, b = brain.dispatch.recommend(c1.id).ranked[:2]
    v1 = brain.dispatch.assign(c1.id, actor="disp", version=c1.version, staff_id=a.staff_id)
    assert held() == counted() and held()[a.staff_id] >= 1
    brain.dispatch.assign(c1.id, actor="disp", version=v1.version, staff_id=b.staff_id, reason="更近")
    assert held() == counted()
    brain.dispatch.assign(c2.id, actor="disp", version=c2.version, staff_id=a.staff_id)
    brain.cases.transition(c2.id, to="handling", actor="team")
    assert held() == counted()
    brain.cases.transition(c2.id, to="handled", actor="team", note="已处理")
    assert held() == counted()
    brain.cases.transition(c3.id, to="cancelled", actor="disp", note="重复")
    assert held() == counted()
    fresh = DispatchService(cases=brain.cases, staff=brain.staff, catalogue=brain.catalogue,
                            district=brain.district)
    fresh.load()  # a restart reads the same from the cases
    assert fresh.workload.of([s.id for s in brain.staff.roster()]) == counted()
