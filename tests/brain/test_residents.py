"""A resident's report by pole number: one transaction, a tracking code kept as its hash, progress in a
resident's words, following a case reported first, the limits, spam marks, and the return visit's answer
counted by the satisfaction indicator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from brain.cases.models import Case
from brain.cases.service import IntakeError
from brain.events.models import EventRecord
from brain.field.models import Photo
from brain.field.photos import PhotoRefused
from brain.residents.models import ResidentReport
from brain.residents.service import (
    CODE_ALPHABET,
    Limits,
    ResidentRefused,
    UnknownCode,
    code_hash,
    normalize_code,
    show_code,
)
from brain.storage.db import utcnow
from tests.brain.test_photos import photo_bytes


def _count(brain, model) -> int:
    with brain.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _close(brain, case_id: int, reply: str = "路灯已修复，感谢您的反映") -> None:
    """Dispatch to the nearest person, then handle, verify and close, as the desk and the field would."""
    case = brain.cases.get(case_id)
    brain.cases.transition(case_id, to="registered", actor="person:disp", note="ok")
    top = brain.dispatch.recommend(case_id).ranked[0]
    brain.dispatch.assign(case_id, actor="person:disp", version=brain.cases.get(case_id).version,
                          staff_id=top.staff_id)
    for to, actor, note in (("handling", "team", None), ("handled", "team", "修好了"), ("verified", "sup", None),
                            ("closed", "person:disp", reply)):
        brain.cases.transition(case_id, to=to, actor=actor, note=note)
    assert case.id == case_id


def test_a_report_opens_a_web_case_and_keeps_only_the_hash_of_its_code(brain):
    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", description="灯不亮了",
                               phone="138 0013 8000", address="10.0.0.1")
    assert len(r.code) == 12 and set(r.code) <= set(CODE_ALPHABET)
    case = brain.cases.get(r.case_id)
    assert case.channel == "web" and case.pole == "0412" and case.category == "C0107"
    with brain.db.read() as s:
        row = s.scalar(select(ResidentReport))
        assert row.code_hash == code_hash(r.code) and r.code not in (row.code_hash or "")
        assert row.phone == "13800138000" and s.get(Case, r.case_id).reporter_phone == "13800138000"
        types = [e.type for e in s.scalars(select(EventRecord).where(EventRecord.subject_type == "case",
                                                                    EventRecord.subject_id == str(r.case_id)))]
    assert types == ["case.opened", "resident.reported"]
    # the code as shown (dashes, lower case) finds the same report
    assert brain.residents.track(show_code(r.code).lower())["case_id"] == r.case_id


def test_a_code_is_normalised_and_anything_else_is_no_code():
    assert normalize_code("abcd-efgh-jkmn") == "ABCDEFGHJKMN"
    assert normalize_code("ABCD-EFGH-JKM0") == ""  # 0 is not in the alphabet
    assert normalize_code("short") == ""


def test_a_wrong_code_finds_nothing_and_says_the_same_for_any_wrong_code(brain):
    brain.residents.report(category="C0107", topic="lamp", pole="0412", address="10.0.0.1")
    for wrong in ("AAAA-AAAA-AAAA", "x", "' or 1=1 --"):
        with pytest.raises(UnknownCode):
            brain.residents.track(wrong)


def test_the_progress_says_each_step_in_resident_terms_and_the_reply_and_after_photo_once_closed(brain):
    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", description="张三说灯坏了",
                               phone="13800138000", address="10.0.0.1", photos=[photo_bytes()])
    t = brain.residents.track(r.code)
    assert [s["step"] for s in t["steps"]] == ["received"] and t["open"] and not t["may_answer"]
    assert [p["kind"] for p in t["photos"]] == ["resident"]
    _close(brain, r.case_id)
    t = brain.residents.track(r.code)
    steps = [s["step"] for s in t["steps"]]
    assert steps == ["received", "registered", "sent", "on_site", "handled", "verified", "closed"]
    sent = t["steps"][2]
    assert sent["agency"] and sent["department"] == "municipal"  # the team's name, e.g. 市政维修一队
    assert t["reply"] == "路灯已修复，感谢您的反映" and t["may_answer"]
    # nothing personal: no description, no phone, anywhere in the answer
    flat = repr(t)
    assert "13800138000" not in flat and "张三" not in flat and "description" not in t


def test_the_after_photo_shows_once_the_case_is_closed_and_no_photo_of_another_case(brain):
    from tests.brain.test_flows import _assigned, _photo, op

    case, staff_id, task = _assigned(brain, pole="0412", category="C0107")
    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", follow=case.id, address="10.0.0.2")
    brain.field.accept(op(), task.id, staff_id=staff_id, actor="field")
    brain.flows.arrive(op(), task.id, staff_id=staff_id, lon=case.lon, lat=case.lat, at=utcnow(), actor="field")
    after = {"id": _photo(brain, case, staff_id, "after")}
    brain.flows.handled(op(), task.id, staff_id=staff_id, note="修好了", photos=[after["id"]], actor="field")
    assert all(p["kind"] != "after" for p in brain.residents.track(r.code)["photos"])  # not yet closed
    brain.cases.transition(case.id, to="verified", actor="sup")
    brain.cases.transition(case.id, to="closed", actor="person:disp", note="已修复")
    shown = brain.residents.track(r.code)["photos"]
    assert [p["id"] for p in shown if p["kind"] == "after"] == [after["id"]]
    data, kind = brain.residents.photo(r.code, after["id"], thumb=True)
    assert kind == "image/jpeg" and data[:2] == b"\xff\xd8"
    other = brain.residents.report(category="C0107", topic="lamp", pole="0413", address="10.0.0.3")
    with pytest.raises(ResidentRefused):
        brain.residents.photo(other.code, after["id"])


def test_following_an_open_case_links_the_report_and_gives_its_progress(brain):
    first = brain.residents.report(category="E0101", topic="rubbish", pole="0412", address="10.0.0.1")
    near = brain.residents.nearby(category="E0101", lon=brain.cases.get(first.case_id).lon,
                                  lat=brain.cases.get(first.case_id).lat, pole="0412")
    assert [d["case_id"] for d in near] == [first.case_id] and near[0]["step"] == "received"
    assert set(near[0]) == {"case_id", "step", "distance_m", "reported_at", "same_pole"}  # nothing else
    second = brain.residents.report(category="E0101", topic="rubbish", pole="0412", follow=first.case_id,
                                    address="10.0.0.2")
    assert second.follows and second.case_id == first.case_id
    assert _count(brain, Case) == 1 and _count(brain, ResidentReport) == 2
    assert [s["step"] for s in brain.residents.track(second.code)["steps"]] == ["received", "followed"]


def test_following_a_case_of_another_kind_or_far_away_is_refused_and_stores_nothing(brain):
    first = brain.residents.report(category="E0101", topic="rubbish", pole="0412", address="10.0.0.1")
    with pytest.raises(ResidentRefused, match="not an open case of this kind"):
        brain.residents.report(category="C0107", topic="lamp", pole="0412", follow=first.case_id, address="10.0.0.2")
    with pytest.raises(ResidentRefused, match="not at this place"):
        brain.residents.report(category="E0101", topic="rubbish", pole="0001", follow=first.case_id,
                               address="10.0.0.2")
    assert _count(brain, ResidentReport) == 1


def test_a_merged_case_is_followed_into_the_case_it_joined(brain):
    a = brain.residents.report(category="E0101", topic="rubbish", pole="0412", address="10.0.0.1")
    b = brain.residents.report(category="E0101", topic="rubbish", pole="0412", address="10.0.0.2")
    brain.cases.merge(b.case_id, into=a.case_id, actor="person:disp")
    brain.cases.transition(a.case_id, to="registered", actor="person:disp", note="ok")
    t = brain.residents.track(b.code)
    assert t["case_id"] == a.case_id
    assert [s["step"] for s in t["steps"]] == ["received", "merged", "registered"]


def test_a_bad_photo_refuses_the_whole_report_and_nothing_is_stored(brain):
    with pytest.raises(PhotoRefused):
        brain.residents.report(category="C0107", pole="0412", address="10.0.0.1",
                               photos=[photo_bytes(), b"not a picture at all"])
    with pytest.raises(ResidentRefused, match="at most 3"):
        brain.residents.report(category="C0107", pole="0412", address="10.0.0.1", photos=[photo_bytes()] * 4)
    assert _count(brain, Case) == 0 and _count(brain, ResidentReport) == 0 and _count(brain, Photo) == 0


def test_a_resident_photo_loses_its_gps_and_is_tied_to_the_report(brain):
    raw = photo_bytes()
    assert b"PhoneModel X" in raw
    r = brain.residents.report(category="C0107", pole="0412", address="10.0.0.1", photos=[raw])
    with brain.db.read() as s:
        p = s.scalar(select(Photo))
        assert p.report_id == r.report_id and p.staff_id is None and p.kind == "resident"
    assert b"PhoneModel X" not in brain.residents.photo(r.code, p.id)[0]


@pytest.mark.parametrize("bad", ["12345", "1380013800", "call me", "+1 555 0100"])
def test_a_phone_that_is_no_phone_number_is_refused(brain, bad):
    with pytest.raises(ResidentRefused, match="not a mobile or landline"):
        brain.residents.report(category="C0107", pole="0412", phone=bad, address="10.0.0.1")
    assert _count(brain, Case) == 0


def test_a_filled_honeypot_is_refused_and_audited_not_dropped_silently(brain):
    from brain.events.models import AuditRecord

    with pytest.raises(ResidentRefused) as e:
        brain.residents.report(category="C0107", pole="0412", address="10.0.0.1", honeypot="http://spam")
    assert e.value.status == 400 and e.value.key == "refused.r.bot"
    with brain.db.read() as s:
        assert s.scalar(select(func.count()).where(AuditRecord.action == "resident.refused")) == 1
    assert _count(brain, Case) == 0


def test_the_limits_per_address_per_phone_and_for_photo_bytes_hold(brain):
    brain.residents.limits = Limits(per_address_per_hour=2, per_phone_per_hour=1, photo_bytes_per_address_per_hour=1)
    brain.residents.report(category="C0107", pole="0412", address="10.0.0.9", phone="13800138000")
    with pytest.raises(ResidentRefused) as e:
        brain.residents.report(category="C0107", pole="0413", address="10.0.0.8", phone="13800138000")
    assert e.value.status == 429 and e.value.key == "refused.r.too_many_phone"
    brain.residents.report(category="C0107", pole="0413", address="10.0.0.9")
    with pytest.raises(ResidentRefused, match="reports from this address") as e:
        brain.residents.report(category="C0107", pole="0414", address="10.0.0.9")
    assert e.value.retry_after_s
    with pytest.raises(ResidentRefused, match="photo bytes"):
        brain.residents.report(category="C0107", pole="0414", address="10.0.0.7", photos=[photo_bytes()])
    brain.residents.report(category="C0107", pole="0414", address="10.0.0.7")  # words alone still go through
    assert _count(brain, ResidentReport) == 3


def test_a_spam_mark_is_counted_cancels_the_case_and_tightens_that_address(brain):
    r = brain.residents.report(category="E0201", pole="0412", address="10.0.0.5")
    assert brain.residents.mark_spam(r.case_id, actor="person:disp", note="广告推销") == 1
    assert brain.cases.get(r.case_id).status == "cancelled"
    assert _count(brain, ResidentReport) == 1  # kept, not deleted
    stats = brain.residents.stats(utcnow() - timedelta(days=1))
    assert stats["reports"] == 1 and stats["spam"] == 1 and stats["by_channel"] == {"web": 1}
    brain.residents.limits = Limits(after_spam_per_hour=1)
    with pytest.raises(ResidentRefused, match="reports from this address"):
        brain.residents.report(category="E0201", pole="0413", address="10.0.0.5")
    with pytest.raises(ResidentRefused, match="no resident's report"):
        brain.residents.mark_spam(r.case_id, actor="person:disp", note="again")


def test_the_answer_at_the_return_visit_moves_the_satisfaction_indicator_by_one(brain):
    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", address="10.0.0.1")
    with pytest.raises(ResidentRefused, match="not closed"):
        brain.residents.answer(r.code, "satisfied")
    _close(brain, r.case_id)
    now = utcnow()

    from brain.kpi.service import Window

    w = Window(now - timedelta(hours=1), now + timedelta(hours=1), "test", "Asia/Shanghai")

    def answered() -> tuple[int, int]:
        v = brain.kpi.figures(brain.kpi.frame(w))["satisfaction_rate"]
        return int(v.numerator or 0), int(v.denominator or 0)

    assert answered() == (0, 0)
    brain.residents.answer(r.code, "satisfied")
    assert answered() == (1, 1)
    brain.residents.answer(r.code, "dissatisfied")  # the last answer counts
    assert answered() == (0, 1)
    assert brain.residents.track(r.code)["satisfaction"] == "dissatisfied"
    with pytest.raises(ResidentRefused):
        brain.residents.answer(r.code, "meh")


def test_the_answer_is_kept_whole_or_not_at_all(brain, monkeypatch):
    from sqlalchemy import func, select

    from brain.events.kinds import EventType
    from brain.events.log import Unit
    from brain.events.models import EventRecord

    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", address="10.0.0.1")
    _close(brain, r.case_id)

    def feedbacks() -> int:
        with brain.db.read() as s:
            return s.scalar(select(func.count()).select_from(EventRecord).where(EventRecord.type == "case.feedback"))

    emit = Unit.emit

    def failing(self, type_, *args, **kwargs):  # the report's own event fails after the case's feedback
        if type_ == EventType.RESIDENT_ANSWERED:
            raise RuntimeError("the disk is full")
        return emit(self, type_, *args, **kwargs)

    monkeypatch.setattr(Unit, "emit", failing)
    with pytest.raises(RuntimeError):
        brain.residents.answer(r.code, "satisfied")
    assert feedbacks() == 0 and brain.residents.track(r.code)["satisfaction"] is None
    monkeypatch.setattr(Unit, "emit", emit)
    brain.residents.answer(r.code, "satisfied")
    assert feedbacks() == 1 and brain.residents.track(r.code)["satisfaction"] == "satisfied"


def test_a_place_outside_the_district_or_an_unknown_pole_is_an_intake_refusal(brain):
    with pytest.raises(IntakeError) as e:
        brain.residents.report(category="C0107", pole="99999999", address="10.0.0.1")
    assert e.value.field == "pole"
    with pytest.raises(IntakeError, match="outside the district"):
        brain.residents.report(category="C0107", lon=116.39, lat=39.9, address="10.0.0.1")
    with pytest.raises(ResidentRefused):  # a sensor-only category is no resident's
        brain.residents.report(category="E0607", pole="0412", address="10.0.0.1")


def test_the_nearest_poles_to_a_position_come_nearest_first(brain):
    p = brain.gazetteer.lookup("0412")
    near = brain.gazetteer.nearest_poles(p.lon, p.lat, k=5, max_distance=300)
    assert near[0][0].number == "0412" and near[0][1] < 0.01
    assert [d for _p, d in near] == sorted(d for _p, d in near) and len(near) == 5
    assert brain.gazetteer.nearest_poles(116.39, 39.9) == []
