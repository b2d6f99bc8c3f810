"""Synthetic history: whole loops written in bulk, consistent with the log and the workflow."""

from datetime import timedelta

from sqlalchemy import func, select

from brain.cases.enums import CaseStatus
from brain.cases.models import Case
from brain.events.models import EventRecord
from brain.kpi.facts import CaseFacts
from brain.kpi.service import window
from brain.sim.history import HistoryGenerator, write
from brain.storage.db import utcnow


def _facts(brain):
    with brain.db.read() as s:
        return {r.case_id: {c: getattr(r, c) for c in CaseFacts.__table__.columns.keys()}
                for r in s.scalars(select(CaseFacts))}


def test_history_facts_are_what_a_replay_of_its_events_gives(brain):
    now = utcnow()
    gen = HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=3)
    cases, events = write(brain.db, gen, start=now - timedelta(days=3), end=now, now=now, per_day=200, batch=150)
    assert 550 <= cases <= 650 and events > 4 * cases
    written = _facts(brain)
    with brain.db.transaction() as s:
        assert brain.facts.rebuild(s) == cases
    assert _facts(brain) == written
    with brain.db.read() as s:
        statuses = dict(s.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        first_events = s.scalar(select(func.count()).select_from(EventRecord).where(EventRecord.type == "case.opened"))
        # a day on, most loops are closed (of all 600, about half: how many of the last day's are still
        # open depends on the hour of the run, and in a Shanghai afternoon the closed fell just short)
        settled = dict(s.execute(select(Case.status, func.count()).where(Case.reported_at < now - timedelta(days=1))
                                 .group_by(Case.status)).all())
    assert first_events == cases and set(statuses) <= {st.value for st in CaseStatus}
    assert settled["closed"] > sum(settled.values()) / 2 and statuses.get("cancelled", 0) > 0


def test_history_gives_the_kpi_screens_plausible_figures(brain):
    now = utcnow()
    gen = HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=5)
    write(brain.db, gen, start=now - timedelta(days=8), end=now, now=now, per_day=150)
    f = brain.kpi.figures(brain.kpi.frame(window("7d", now=now, tz="Asia/Shanghai")), now)
    assert 800 < f["reported"].value < 1300
    for key in ("registration_rate", "timely_dispatch_rate", "on_time_handling_rate", "on_time_closure_rate",
                "satisfaction_rate"):
        assert 50 < f[key].value <= 100, key
    assert 0 < f["rework_rate"].value < 20 and f["response_distance_mean"].value > 0
    # new cases after the history get ids beyond it (the sequence moved on)
    c = brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app")
    with brain.db.read() as s:
        assert c.id == s.scalar(select(func.max(Case.id)))


def test_a_history_finished_by_a_time_leaves_no_case_open(brain):
    now = utcnow()
    until = now - timedelta(hours=6)
    gen = HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=9)
    cases, _ = write(brain.db, gen, start=now - timedelta(days=2), end=until, now=now, per_day=300, finish_by=until)
    assert cases > 500
    with brain.db.read() as s:
        statuses = set(s.scalars(select(Case.status).distinct()))
        last = s.scalar(select(func.max(EventRecord.at)).where(EventRecord.subject_type == "case",
                                                              EventRecord.type != "case.feedback"))
    assert statuses <= {"closed", "cancelled"} and last <= until
    assert brain.cases.open_cases() == []
