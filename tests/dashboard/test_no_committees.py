"""An imported district with no committees says so where the committee panels would be."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from dashboard.pages import dispatch, kpi
from tests.dashboard.test_field_progress import _text


def test_the_kpi_and_dispatch_screens_say_there_are_no_committees(brain):
    bare = dataclasses.replace(brain.district, committees=brain.district.committees.iloc[0:0])
    view = SimpleNamespace(district=bare, settings=brain.settings, catalogue=brain.catalogue)
    page = kpi.body(view, "zh-CN", "")
    assert "本辖区数据没有居委会边界" in _text(page)
    by = next(c for c in _walk(page) if getattr(c, "id", None) == "kpi-by")
    assert by.value == "department"
    desk = dispatch.body(view, "en")
    assert any(getattr(c, "placeholder", None) == "This district's data has no committees" for c in _walk(desk))


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        yield from _walk(child)
