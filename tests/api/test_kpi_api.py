"""GET /api/v1/kpi and POST /api/v1/cases/{id}/feedback over HTTP."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def _closed_case(brain, at):
    c = brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline", at=at)
    for i, (to, who, note) in enumerate((("registered", "d", None), ("dispatched", "d", None), ("handling", "h", None),
                                         ("handled", "h", "fixed"), ("verified", "v", None),
                                         ("closed", "d", "repaired"))):
        brain.cases.transition(c.id, to=to, actor=who, note=note, at=at + timedelta(minutes=i + 1))
    return c.id


def test_kpi_gives_each_indicator_with_numerator_denominator_and_definition(site):
    now = datetime.now(UTC)
    cid = _closed_case(site.brain, now - timedelta(minutes=10))
    r = site.client.post(f"/api/v1/cases/{cid}/feedback", json={"satisfaction": "basically_satisfied"},
                         headers=site.bearer("intake"))
    assert r.status_code == 200, r.text
    r = site.client.get("/api/v1/kpi?by=channel", headers=site.bearer("leader"))
    assert r.status_code == 200, r.text
    body = r.json()
    ind = {i["key"]: i for i in body["indicators"]}
    assert ind["reported"]["value"] == 1 and ind["closed"]["value"] == 1
    assert ind["satisfaction_rate"] | {"definition": ""} == {
        "key": "satisfaction_rate", "value": 100.0, "numerator": 1, "denominator": 1, "parts": None,
        "name": "群众满意率", "unit": "%", "definition": ""}
    assert "满意" in ind["satisfaction_rate"]["definition"]
    assert body["by"] == "channel" and body["groups"][0]["group"] == "hotline_12345"
    local_today = now.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert body["window"]["from"].startswith(local_today) and body["window"]["from"].endswith("+08:00")


def test_kpi_takes_local_dates_or_zoned_times(site):
    brain = site.brain
    t = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)  # 2026-11-10 00:00 in Shanghai
    brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app", at=t)
    brain.cases.open_case(channel="wechat", category="C0107", pole="0413", actor="app", at=t - timedelta(seconds=1))

    def reported(query):
        r = site.client.get(f"/api/v1/kpi?{query}", headers=site.bearer("leader"))
        assert r.status_code == 200, r.text
        return next(i["value"] for i in r.json()["indicators"] if i["key"] == "reported")

    assert reported("from=2026-11-10") == 1
    assert reported("from=2026-11-09") == 1
    assert reported("from=2026-11-09&to=2026-11-10") == 2
    assert reported("from=2026-11-09T23:00:00%2B08:00&to=2026-11-10T00:00:00%2B08:00") == 1  # end excluded
    assert reported("lang=en&from=2026-11-10") == 1


def test_kpi_refuses_bad_windows_and_breakdowns_with_a_reason(site):
    h = site.bearer("leader")
    for query, words in (("from=yesterday", "not a date"), ("from=2026-11-10T08:00:00", "time zone"),
                         ("from=2026-11-10&to=2026-11-01", "before it starts"), ("to=2026-11-10", "without"),
                         ("from=2020-01-01&to=2026-11-10", "at most")):
        r = site.client.get(f"/api/v1/kpi?{query}", headers=h)
        assert r.status_code == 422 and words in r.json()["error"], (query, r.text)
    assert site.client.get("/api/v1/kpi?by=colour", headers=h).status_code == 422


def test_feedback_on_an_open_case_is_refused(site):
    c = site.brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app")
    r = site.client.post(f"/api/v1/cases/{c.id}/feedback", json={"satisfaction": "satisfied"},
                         headers=site.bearer("intake"))
    assert r.status_code == 422 and "feedback follows" in r.json()["error"]
    r = site.client.post(f"/api/v1/cases/{c.id}/feedback", json={"satisfaction": "so-so"},
                         headers=site.bearer("intake"))
    assert r.status_code == 422
