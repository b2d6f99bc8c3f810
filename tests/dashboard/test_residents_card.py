"""What the desk reads of residents' reports on the case card: who reported and who follows, the phone masked
for a role that may not read it, the spam mark (for roles that move cases), and the timeline in words."""

from __future__ import annotations

from brain.auth.context import CURRENT
from brain.auth.enums import Role
from brain.auth.service import Principal
from dashboard import ids
from dashboard.pages.dispatch import card
from tests.dashboard.test_field_progress import _imgs, _text


def _card_as(brain, role: Role, case_id: int, locale: str) -> list:
    """The card's children as a person of `role` sees it."""
    token = CURRENT.set(Principal(account_id=1, username=f"p-{role}", display_name=role.value, role=role,
                                  kind="person"))
    try:
        return card(brain, case_id, locale)[0]
    finally:
        CURRENT.reset(token)


def _buttons(node) -> list:
    if isinstance(node, (list, tuple)):
        return [b for n in node for b in _buttons(n)]
    found = [node.id] if getattr(node, "id", None) and type(node).__name__ == "Button" else []
    children = getattr(node, "children", None)
    return found + ([] if children is None else _buttons(children))


def test_the_card_lists_the_residents_reports_and_masks_their_phones_by_role(brain):
    from tests.brain.test_photos import photo_bytes

    r = brain.residents.report(category="C0107", topic="lamp", pole="0412", phone="13800138000", address="10.0.0.1",
                               photos=[photo_bytes()])
    brain.residents.report(category="C0107", topic="lamp", pole="0412", follow=r.case_id, address="10.0.0.2")
    children = _card_as(brain, Role.OPERATOR, r.case_id, "zh-CN")
    text = _text(children)
    assert "居民上报" in text and "扫码上报" in text and "关注" in text
    assert "13800138000" not in text and "138****8000" in text
    assert {"type": ids.SPAM, "case": r.case_id} not in _buttons(children)  # an operator moves no case
    assert "居民上报（1 张照片）" in text and "又一位居民关注此案" in text  # the timeline, in words
    (img,) = [i for i in _imgs(children) if i.alt == "居民上传照片"]
    assert img.src.startswith("/api/v1/photos/") and img.src.endswith("?thumb=1")
    children = _card_as(brain, Role.DISPATCHER, r.case_id, "en")
    text = _text(children)
    assert "13800138000" in text and {"type": ids.SPAM, "case": r.case_id} in _buttons(children)
    assert "Residents' reports" in text and "Another resident follows it (0 photos)" in text
    brain.residents.mark_spam(r.case_id, actor="person:disp", note="推销")
    children = _card_as(brain, Role.DISPATCHER, r.case_id, "en")
    text = _text(children)
    assert "Marked as spam" in text and {"type": ids.SPAM, "case": r.case_id} not in _buttons(children)
    assert "The resident's report marked as spam · 推销" in text
