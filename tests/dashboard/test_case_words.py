"""What a person reads of a case the product wrote about, and of a merge, in each language."""

from __future__ import annotations

from dashboard.i18n import translator
from dashboard.texts import case_words, say, timeline_items


def test_a_text_of_the_product_is_said_in_each_language_and_an_unknown_word_is_not_a_crash():
    text = {"key": "case.text.welfare_visit", "params": {"type": "@alarm.no_activity", "device": "DOR-000588"}}
    assert say(translator("zh-CN"), text) == "长时间无活动（设备 DOR-000588）：需上门探视"
    assert say(translator("en"), text) == "No activity (device DOR-000588): a welfare visit is needed"
    odd = {"key": "case.text.welfare_visit", "params": {"type": "@alarm.new_kind", "device": "X"}}
    assert say(translator("en"), odd) == "new_kind (device X): a welfare visit is needed"
    assert say(translator("en"), {"key": "no.such.entry"}) == "no.such.entry"


def test_a_typed_description_follows_the_products_words(brain):
    view = brain.cases.open_case(channel="iot", category="E0607", pole="0412", actor="monitor", description="门未开",
                                 text={"key": "case.text.welfare_visit",
                                       "params": {"type": "@alarm.no_activity", "device": "DOR-1"}})
    assert case_words(view, translator("zh-CN")) == "长时间无活动（设备 DOR-1）：需上门探视 · 门未开"


def test_a_merge_says_the_case_it_joined_without_english_words(brain):
    from zoneinfo import ZoneInfo

    a = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0412", actor="hotline")
    b = brain.cases.open_case(channel="hotline_12345", category="E0101", pole="0412", actor="hotline")
    brain.cases.merge(b.id, into=a.id, actor="person:disp")
    items = timeline_items(brain, b.id, translator("zh-CN"), ZoneInfo("Asia/Shanghai"))
    last = items[-1].children[1]
    assert f"合并 → #{a.id}" in last and "duplicate" not in last


def test_a_refused_alarm_move_and_a_refused_new_case_are_said_in_the_readers_words(brain):
    import pytest

    from brain.alarms.service import AlarmError
    from brain.cases.service import IntakeError
    from dashboard.i18n.catalogue import CATALOGUE
    from dashboard.texts import refusal_text

    device = next(str(d) for d in brain.district.devices["id"] if str(d).startswith("SMK"))
    alarm, _ = brain.alarms.raise_alarm(device_id=device, type="smoke")
    brain.alarms.acknowledge(alarm.id, actor="op")
    with pytest.raises(AlarmError) as e:
        brain.alarms.acknowledge(alarm.id, actor="op")
    assert refusal_text(e.value, translator("zh-CN")) == "这条告警已确认或已解除"
    assert refusal_text(e.value, translator("en")) == "This alarm is already acknowledged or cleared"
    with pytest.raises(IntakeError) as e:
        brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", description="长" * 2001,
                              actor="taker")
    assert e.value.key in CATALOGUE
    assert refusal_text(e.value, translator("zh-CN")) == "描述过长（最多 2000 字）"
    assert refusal_text(e.value, translator("en")) == "The description is too long (at most 2000)"
