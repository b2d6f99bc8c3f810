"""Personal data in free text is masked for every role that may not read it."""

import pytest

from brain.privacy import TextMasker

MASKER = TextMasker(["王秀英", "李建国"])


@pytest.mark.parametrize(("typed", "shown"), [
    ("居民王秀英 电话13812345678, 住3号楼1502室", "居民王** 电话***********, 住3号楼****室"),
    ("身份证 31010119900101123X", "身份证 ******************"),
    ("座机021-62345678，或62345678", "座机***-********，或********"),
    ("+86 138 1234 5678 李建国", "+** *** **** **** 李**"),
    ("车牌沪A12345占用消防通道", "车牌沪******占用消防通道"),
    ("5栋 1203 漏水", "5栋 **** 漏水"),
])
def test_phone_id_plate_room_numbers_and_known_names_are_masked(typed, shown):
    assert MASKER.mask(typed) == shown


@pytest.mark.parametrize("text", ["0412号灯杆不亮", "案件 12345 已派遣", "井盖缺失约2米", "E0102 垃圾满溢", ""])
def test_text_without_personal_data_is_left_as_typed(text):
    assert MASKER.mask(text) == text


def test_a_case_description_is_masked_in_its_view_and_timeline_and_kept_as_typed(brain):
    brain.cases.masker = TextMasker(["王秀英"])
    typed = "居民王秀英 电话13812345678, 住3号楼1502室"
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", description=typed, pole="0412",
                              actor="test")
    view = brain.cases.get(c.id)
    assert view.description == "居民王** 电话***********, 住3号楼****室" and view.personal
    assert "full_description" not in view.as_dict() and view.as_dict()["description"] == view.description
    brain.cases.transition(c.id, to="registered", note="已回电王秀英 13812345678", version=view.version, actor="t")
    assert brain.cases.timeline(c.id)[-1]["payload"]["note"] == "已回电王** ***********"
    assert brain.cases.timeline(c.id, personal=True)[-1]["payload"]["note"] == "已回电王秀英 13812345678"
    assert brain.cases.description_for(view, may_read_personal=False, actor="user:op") == view.description
    assert brain.cases.description_for(view, may_read_personal=True, actor="user:d") == typed
