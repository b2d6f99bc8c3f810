"""What the dispatcher, the leader and the handover report read of the field: each step of a task with its
time, the photos, and the tasks not read in time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

from dash import html

from brain.storage.db import utcnow
from dashboard.pages.dispatch import field_progress, queue_items
from tests.brain.test_photos import photo_bytes


def _text(node) -> str:
    if isinstance(node, (list, tuple)):
        return " ".join(_text(n) for n in node)
    if isinstance(node, str | int | float):
        return str(node)
    children = getattr(node, "children", None)
    return "" if children is None else _text(children)


def _imgs(node) -> list:
    if isinstance(node, (list, tuple)):
        return [i for n in node for i in _imgs(n)]
    found = [node] if isinstance(node, html.Img) else []
    children = getattr(node, "children", None)
    return found + ([] if children is None else _imgs(children))


def _assigned(brain):
    case = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    sid = brain.dispatch.recommend(case.id).ranked[0].staff_id
    brain.dispatch.assign(case.id, actor="person:disp", version=case.version, staff_id=sid)
    (task, _c), = brain.field.tasks_for(sid)
    return case, sid, task


def test_the_card_shows_each_step_with_its_time_and_the_photos(brain):
    case, sid, task = _assigned(brain)
    children, sig = field_progress(brain, case.id, "zh-CN")
    text = _text(children)
    assert "现场进度" in text and "派遣" in text and "待接收" in text
    assert "距离案件" in text  # on the way: how far the person is, and when that position was
    brain.field.acknowledge(uuid.uuid4().hex, task.id, "read", staff_id=sid, actor=f"person:{sid}")
    brain.flows.arrive(uuid.uuid4().hex, task.id, staff_id=sid, lon=case.lon, lat=case.lat, at=utcnow(),
                       actor=f"person:{sid}")
    brain.field.add_photo(photo_bytes(), case_id=case.id, kind="before", staff_id=sid, actor=f"person:{sid}",
                          taken_at=utcnow(), lon=case.lon, lat=case.lat, may_verify=False)
    again, sig2 = field_progress(brain, case.id, "en")
    assert sig2 != sig
    text = _text(again)
    assert "Arrived" in text and "0 m from the case" in text
    (img,) = _imgs(again)
    assert img.src.startswith("/api/v1/photos/") and img.src.endswith("?thumb=1")


def test_a_task_not_read_in_time_is_flagged_on_the_card_the_queue_and_the_report(brain):
    from dashboard.report import render

    case, _sid, _task = _assigned(brain)
    assert "未读" not in _text(queue_items(brain, [brain.cases.get(case.id)], "zh-CN", None, set()))
    brain.field.unread_after = timedelta(0)
    text = _text(field_progress(brain, case.id, "zh-CN")[0])
    assert "仍未读" in text
    queue = queue_items(brain, [brain.cases.get(case.id)], "zh-CN", None, {t.case_id for t in brain.field.unread()})
    assert "未读" in _text(queue) and "unread" in queue[0].className
    page = render(brain, SimpleNamespace(display_name="值班长", can=lambda _permission: False), "zh-CN")
    assert "超时未读任务 · 1" in page and f"#{case.id}" in page


def test_an_urgent_case_auto_dispatch_could_not_send_anyone_to_heads_the_queue_marked(brain):
    first = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0412", actor="patrol")
    urgent = brain.cases.open_case(channel="street_patrol", category="E0501", pole="0777", actor="patrol")
    queue = queue_items(brain, [brain.cases.get(first.id), brain.cases.get(urgent.id)], "zh-CN", None, set(),
                        {urgent.id})
    assert queue[0].id["case"] == urgent.id and "stranded" in queue[0].className
    assert "自动派遣失败" in _text(queue[0]) and "stranded" not in queue[1].className


def test_every_event_a_case_can_carry_reads_as_words_in_the_timeline(brain):
    from zoneinfo import ZoneInfo

    from dashboard.i18n import translator
    from dashboard.texts import timeline_items

    case, sid, task = _assigned(brain)
    brain.field.acknowledge(uuid.uuid4().hex, task.id, "read", staff_id=sid, actor=f"person:{sid}")
    for s in brain.staff.roster():  # nobody left to send: an urgent sensor case's auto-dispatch fails
        brain.staff.set_status(s.id, "off_duty", actor="test")
    urgent = brain.cases.open_case(channel="iot", category="E0606", lon=case.lon, lat=case.lat, actor="device")
    tz = ZoneInfo("Asia/Shanghai")
    items = _text(timeline_items(brain, case.id, translator("en"), tz)) + " " + _text(
        timeline_items(brain, urgent.id, translator("en"), tz))
    assert "Read" in items and "Auto-dispatch failed" in items
    for raw in ("task.", "auto_dispatch_failed", "delivered"):
        assert raw not in items
