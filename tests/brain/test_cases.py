"""Case intake and the workflow transition table."""

from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import select

from brain.cases import workflow
from brain.cases.enums import CaseStatus as S
from brain.cases.service import IntakeError, VersionConflict
from brain.cases.workflow import TRANSITIONS, TransitionRefused, check
from brain.events.models import AuditRecord, EventRecord
from brain.storage.db import utcnow


def test_intake_by_tolerant_pole_number_locates_the_case(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", description="灯不亮", pole="０４－１２",
                              actor="hotline")
    pole = brain.gazetteer.lookup("0412")
    assert (c.pole, c.lon, c.lat, c.grid, c.committee) == ("0412", pole.lon, pole.lat, pole.grid, pole.committee)
    assert c.status == "reported" and c.department == "municipal" and c.priority == "normal"


def test_intake_by_point_finds_grid_committee_and_a_nearby_pole(brain, district):
    cell = district.grid.iloc[10]
    p = cell.geometry.representative_point()
    c = brain.cases.open_case(channel="street_patrol", category="E0501", lon=p.x, lat=p.y, actor="patrol")
    assert c.grid == cell["code"] and c.committee == cell["committee"]


def test_intake_accepts_gcj02_when_declared(brain):
    from geodata.crs import wgs84_to_gcj02

    pole = brain.gazetteer.lookup("0412")
    glon, glat = wgs84_to_gcj02(pole.lon, pole.lat)
    c = brain.cases.open_case(channel="wechat", category="C0107", lon=glon, lat=glat, coord_system="gcj02",
                              actor="app")
    assert c.pole == "0412" and abs(c.lon - pole.lon) < 1e-6


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"pole": "99999"}, "pole", "no pole numbered"),
    ({"lon": 121.6, "lat": 31.4}, "lon", "outside the district"),
    ({"lon": float("nan"), "lat": 31.33}, "lon", "finite"),
    ({}, "pole", "give a pole number"),
    ({"pole": "0412", "category": "X9999"}, "category", "unknown category"),
    ({"pole": "0412", "channel": "fax"}, "channel", "unknown channel"),
    ({"pole": "0412", "description": "x" * 2001}, "description", "longer than"),
])
def test_bad_intake_is_refused_with_a_clear_message_and_writes_nothing(brain, kwargs, field, message):
    args = {"channel": "hotline_12345", "category": "C0107", "actor": "t", **kwargs}
    with brain.db.read() as s:
        before = len(s.scalars(select(EventRecord)).all())
    with pytest.raises(IntakeError, match=message) as exc:
        brain.cases.open_case(**args)
    assert exc.value.field == field
    with brain.db.read() as s:
        assert len(s.scalars(select(EventRecord)).all()) == before


def test_unknown_pole_answers_with_suggestions(brain):
    with pytest.raises(IntakeError) as exc:
        brain.cases.open_case(channel="hotline_12345", category="C0107", pole="412", actor="t")
    assert "0412" in exc.value.suggestions


@pytest.mark.parametrize(("current", "target"), list(product(S, S)))
def test_transition_table_allows_exactly_the_listed_moves(current, target):
    note = "reason"
    if target in TRANSITIONS[current]:
        check(current, target, note=note)
    else:
        with pytest.raises(TransitionRefused, match=f"cannot become {target.value}"):
            check(current, target, note=note)


def test_terminal_states_allow_nothing():
    for terminal in (S.CLOSED, S.CANCELLED, S.MERGED):
        assert TRANSITIONS[terminal] == frozenset()


def test_moves_that_need_a_reason_are_refused_without_one():
    with pytest.raises(TransitionRefused, match="needs a reason"):
        check(S.HANDLED, S.DISPATCHED, note="  ")


ACTOR = {"handling": "team", "handled": "team", "verified": "supervisor"}


def _walk(brain, case_id, *statuses, note="ok"):
    view = None
    for st in statuses:
        view = brain.cases.transition(case_id, to=st, actor=ACTOR.get(st, "disp"), note=note)
    return view


def test_full_loop_stamps_each_stage_and_logs_every_move(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline")
    _walk(brain, c.id, "registered", "dispatched", "handling", "handled", "verified", "closed")
    from brain.cases.models import Case

    with brain.db.read() as s:
        row = s.get(Case, c.id)
        stamps = [row.registered_at, row.dispatched_at, row.arrived_at, row.handled_at, row.verified_at,
                  row.closed_at]
        mine = select(EventRecord).where(EventRecord.subject_type == "case", EventRecord.subject_id == str(c.id))
        types = [e.type for e in s.scalars(mine.order_by(EventRecord.seq))]
        audits = s.scalars(select(AuditRecord).where(AuditRecord.subject == f"case:{c.id}")).all()
    assert all(stamps) and stamps == sorted(stamps)
    assert types == ["case.opened", "case.registered", "case.dispatched", "case.handling", "case.handled",
                     "case.verified", "case.closed"]
    assert len(audits) == 7


def test_failed_verification_sends_the_case_back_and_counts_rework(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="t")
    v = _walk(brain, c.id, "registered", "dispatched", "handling", "handled")
    v = brain.cases.transition(c.id, to="dispatched", actor="supervisor", note="未修好")
    from brain.cases.models import Case

    with brain.db.read() as s:
        assert s.get(Case, c.id).rework_count == 1
    assert v.status == "dispatched"


def test_deferral_pauses_the_stage_clock_and_resumes_only_to_the_paused_stage(brain):
    t0 = utcnow()
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="t", at=t0)
    brain.cases.transition(c.id, to="registered", actor="t", at=t0 + timedelta(minutes=1))
    v = brain.cases.transition(c.id, to="deferred", actor="t", note="等待产权单位", at=t0 + timedelta(minutes=11))
    assert v.stage_due_at is None
    with pytest.raises(TransitionRefused, match="resumes to the stage it paused"):
        brain.cases.transition(c.id, to="dispatched", actor="t", at=t0 + timedelta(hours=2))
    v = brain.cases.transition(c.id, to="registered", actor="t", at=t0 + timedelta(hours=3, minutes=1))
    # the stage began at +1 min; the pause from +11 min to +3 h 1 min (2 h 50 min) does not count
    limit = timedelta(minutes=brain.policy.limits("C0107", "normal").minutes["dispatch"])
    assert v.stage_due_at == t0 + timedelta(minutes=1) + timedelta(hours=2, minutes=50) + limit


def test_stale_version_is_a_conflict_not_a_silent_overwrite(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="t")
    brain.cases.transition(c.id, to="registered", actor="a", version=c.version)
    with pytest.raises(VersionConflict):
        brain.cases.transition(c.id, to="cancelled", actor="b", note="dup", version=c.version)


def test_time_limits_are_data_per_priority_with_category_overrides(brain):
    urgent = brain.policy.limits("E0401", "urgent")
    assert urgent.minutes["dispatch"] == 10 and urgent.minutes["arrive"] == 30 and urgent.minutes["handle"] == 120
    assert brain.policy.limits("E0103", "normal").minutes["handle"] == 14400
    assert set(workflow.STAGE_OF.values()) <= set(urgent.minutes)


def test_verification_by_the_handler_is_refused(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="t")
    _walk(brain, c.id, "registered", "dispatched", "handling", "handled")
    with pytest.raises(TransitionRefused, match="someone other than the handler"):
        brain.cases.transition(c.id, to="verified", actor="team")


def test_handled_needs_notes_and_closing_needs_the_reply(brain):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="t")
    _walk(brain, c.id, "registered", "dispatched", "handling")
    with pytest.raises(TransitionRefused, match="needs a reason"):
        brain.cases.transition(c.id, to="handled", actor="team")
    brain.cases.transition(c.id, to="handled", actor="team", note="已更换灯泡", photo_ref="photo/2026/11/0412.jpg")
    brain.cases.transition(c.id, to="verified", actor="supervisor")
    brain.cases.transition(c.id, to="closed", actor="disp", note="您反映的路灯已修复，感谢支持")
    from brain.cases.models import Case

    with brain.db.read() as s:
        row = s.get(Case, c.id)
    assert row.reply == "您反映的路灯已修复，感谢支持" and row.photo_ref == "photo/2026/11/0412.jpg"


def test_merge_makes_a_duplicate_the_child_of_its_parent(brain):
    parent = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0412", actor="t")
    dup = brain.cases.open_case(channel="wechat", category="E0101", pole="0412", actor="t")
    v = brain.cases.merge(dup.id, into=parent.id, actor="disp")
    assert v.status == "merged" and v.parent_id == parent.id
    with pytest.raises(TransitionRefused):
        brain.cases.merge(parent.id, into=parent.id, actor="disp")
    other = brain.cases.open_case(channel="wechat", category="E0101", pole="0412", actor="t")
    with pytest.raises(TransitionRefused, match="merged, not open"):  # no chains of duplicates
        brain.cases.merge(other.id, into=dup.id, actor="disp")


def test_duplicates_are_open_cases_of_the_same_category_at_the_pole_or_within_50_m(brain):
    pole = brain.gazetteer.lookup("0412")
    same = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0412", actor="t")
    other_category = brain.cases.open_case(channel="hotline_12345", category="E0501", pole="0412", actor="t")
    near = brain.cases.open_case(channel="street_patrol", category="E0101", lon=pole.lon + 0.0003, lat=pole.lat,
                                 actor="t")  # about 29 m east
    far = brain.cases.open_case(channel="street_patrol", category="E0101", lon=pole.lon + 0.0008, lat=pole.lat,
                                actor="t")  # about 76 m east
    closed = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0412", actor="t")
    brain.cases.transition(closed.id, to="cancelled", actor="t", note="重复")
    found = brain.cases.duplicates(category="E0101", lon=pole.lon, lat=pole.lat, pole="0412")
    ids = [d["id"] for d in found]
    assert same.id in ids and near.id in ids
    assert other_category.id not in ids and far.id not in ids and closed.id not in ids
    assert found[0]["distance_m"] <= found[-1]["distance_m"]


def test_at_risk_is_eighty_percent_of_the_stage_limit_used(brain):
    t0 = utcnow()
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="t", at=t0)
    limit = timedelta(minutes=brain.policy.limits("C0107", "normal").minutes["register"])
    assert not c.at_risk(t0 + limit * 0.5) and not c.overdue(t0 + limit * 0.5)
    assert c.at_risk(t0 + limit * 0.85) and not c.overdue(t0 + limit * 0.85)
    assert c.overdue(t0 + limit * 1.01) and not c.at_risk(t0 + limit * 1.01)
    d = c.as_dict(now=t0 + limit * 0.9)
    assert d["at_risk"] is True and d["stage_fraction"] == pytest.approx(0.9, abs=1e-3)


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "cannot read"), ("[]", "no categories"),
    ('[{"code": "X1", "name": "a", "department": "grid"}]', "C/E"),
    ('[{"code": "E0101", "name": "a", "department": "grid"}, {"code": "E0101", "name": "b", "department": "grid"}]',
     "twice"),
    ('[{"code": "E0101", "department": "grid"}]', "category #1"),
])
def test_an_edited_category_file_with_mistakes_is_refused_clearly(tmp_path, content, message):
    from brain.cases.catalogue import Catalogue

    f = tmp_path / "categories.json"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Catalogue.load(f)


def test_the_shipped_catalogue_maps_every_category_to_a_department_some_team_serves(district):
    from brain.cases.catalogue import Catalogue

    cat = Catalogue.load()
    assert len(cat) >= 30
    for c in cat:
        assert any(t["department"] == c.department for t in district.teams), c.code
        assert any(Catalogue.covers(t["duties"], c.code) for t in district.teams), c.code


def test_one_box_finds_a_case_by_its_number_its_pole_its_words_or_the_callers_phone(brain):
    from brain.cases.service import PersonalSearch

    a = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline",
                              description="路灯不亮，门口")
    with brain.db.transaction() as s:
        from brain.cases.models import Case

        s.get(Case, a.id).reporter_phone = "13800138000"
    b = brain.cases.open_case(channel="street_patrol", category="E0101", pole="0413", actor="patrol",
                              description="垃圾堆放")
    assert [v.id for v in brain.cases.find(str(b.id), may_read_personal=False)[1]] == [b.id]
    assert [v.id for v in brain.cases.find("0412", may_read_personal=False)[1]] == [a.id]  # the pole (and no case 412)
    assert [v.id for v in brain.cases.find("垃圾", may_read_personal=False)[1]] == [b.id]
    assert [v.id for v in brain.cases.find("138 0013 8000", may_read_personal=True)[1]] == [a.id]
    with pytest.raises(PersonalSearch):
        brain.cases.find("138 0013 8000", may_read_personal=False)
    assert brain.cases.find("no such words anywhere", may_read_personal=False) == (0, [])
    assert brain.cases.find("50%_\\", may_read_personal=False) == (0, [])  # LIKE's signs are plain characters
