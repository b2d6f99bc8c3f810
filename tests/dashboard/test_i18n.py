"""Every visible string has both languages; every state the domain can be in has a name."""

import re

import pytest

from brain.alarms.enums import ALARM_TYPES, Severity
from brain.cases.enums import CaseStatus, Channel
from brain.staff.enums import DutyStatus
from dashboard.app import locale_of
from dashboard.i18n import CATALOGUE, LOCALES, translator


def test_every_key_has_every_locale_and_no_blank_text():
    for key, entry in CATALOGUE.items():
        for loc in LOCALES:
            assert entry.get(loc, "").strip(), f"{key} lacks {loc}"


@pytest.mark.parametrize(("prefix", "values"), [
    ("status", [s.value for s in CaseStatus]), ("duty", [d.value for d in DutyStatus]),
    ("severity", [s.value for s in Severity]), ("channel", [c.value for c in Channel]),
    ("alarm", sorted({t for types in ALARM_TYPES.values() for t in types})),
])
def test_domain_vocabularies_are_all_translated(prefix, values):
    for v in values:
        assert f"{prefix}.{v}" in CATALOGUE


def test_unknown_key_fails_loudly():
    with pytest.raises(KeyError):
        translator("en")("no.such.key")


def test_locale_comes_from_the_url_and_defaults_to_chinese():
    assert locale_of("?lang=en") == "en"
    assert locale_of("") == "zh-CN" and locale_of("?lang=fr") == "zh-CN" and locale_of(None) == "zh-CN"
    assert translator("en")("app.title") == "Community Brain" and translator(None)("app.title") == "社区大脑"


def test_a_domain_refusal_reads_in_the_screens_language_with_its_stages_and_person_in_words():
    from brain.cases.enums import CaseStatus
    from brain.cases.workflow import TransitionRefused, check
    from brain.dispatch.service import AssignRefused
    from dashboard.texts import refusal_text

    try:
        check(CaseStatus.REPORTED, CaseStatus.CLOSED)
    except TransitionRefused as e:
        assert refusal_text(e, translator("zh-CN")) == "“上报”的案件不能转为“结案”"
        assert refusal_text(e, translator("en")) == "A case that is Reported cannot become Closed"
    busy = AssignRefused("S07 is en_route, not available", key="refused.assign.busy", staff="S07", duty="en_route")
    assert refusal_text(busy, translator("zh-CN"), {"S07": "李四"}) == "李四 当前“途中”，不能派遣"
    assert refusal_text(ValueError("plain"), translator("en")) == "plain"  # no catalogue entry: as said


@pytest.mark.parametrize("locale", LOCALES)
def test_every_dropdown_on_the_pages_says_its_own_words_in_the_pages_language(brain, locale):
    """A dropdown's search box, "no match" and clear button are the component's English unless given."""
    from dash import dcc

    from dashboard.pages import dispatch, kpi, replay

    def dropdowns(component):
        if isinstance(component, dcc.Dropdown):
            yield component
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list | tuple) else [children]:
            if child is not None and not isinstance(child, str | int | float):
                yield from dropdowns(child)

    tr = translator(locale)
    found = [d for page in (dispatch.body(brain, locale), kpi.body(brain, locale, None),
                            replay.body(brain, locale, None)) for d in dropdowns(page)]
    assert len(found) >= 7
    for d in found:
        assert d.labels["search"] == tr("dropdown.search") and d.labels["no_options_found"] == tr(
            "dropdown.no_options_found"), d.id
    if locale == "zh-CN":  # not a Latin letter among them (but the count's placeholder)
        latin = [t for d in found for t in d.labels.values() if re.search("[A-Za-z]", t.replace("{num_selected}", ""))]
        assert latin == []
