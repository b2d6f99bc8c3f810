"""The residents' door over HTTP: no account, a report with photos answers a tracking code, refusals say
their catalogue key, the limits answer 429 with Retry-After, and the desk sees the reports (phones masked
for roles that may not read them) and marks spam."""

from __future__ import annotations

import pytest

from brain.residents.service import Limits
from tests.api.conftest import ORIGIN, sqlite_site
from tests.brain.test_photos import photo_bytes


@pytest.fixture(scope="module")
def site(tmp_path_factory, district):
    yield from sqlite_site(tmp_path_factory, district, "residents")


def _report(site, address_ok=True, **fields):
    data = {"topic": "lamp", "pole": "0412", **{k: v for k, v in fields.items() if k != "files"}}
    return site.client.post("/api/v1/public/reports", data=data, files=fields.get("files"),
                            headers={"origin": ORIGIN})


def test_the_pages_and_the_public_api_need_no_account(site):
    for path in ("/r/", "/r/0412", "/r/t/ABCD-EFGH-JKMN", "/r/app.js", "/r/icons.svg", "/r/texts.json?lang=en",
                 "/api/v1/public/topics", "/api/v1/public/poles/0412"):
        r = site.client.get(path)
        assert r.status_code == 200, path
    shell = site.client.get("/r/0412")
    assert b'data-hotline="12345"' in shell.content and "geolocation=(self)" in shell.headers["permissions-policy"]
    assert site.client.get("/r", follow_redirects=False).headers["location"] == "/r/"
    texts = site.client.get("/r/texts.json?lang=en").json()
    assert texts["r.topic.lamp"] == "Street lamp out" and texts["r.step.sent"] == "Sent to {agency}"


def test_a_pole_comes_with_its_road_committee_and_small_map_and_a_miss_with_suggestions(site):
    p = site.client.get("/api/v1/public/poles/0412").json()
    assert p["number"] == "0412" and p["map"]["roads"] and p["map"]["poles"]
    assert all(q["distance_m"] <= 150 for q in p["map"]["poles"])
    miss = site.client.get("/api/v1/public/poles/0412x")
    assert miss.status_code == 404 and "0412" in miss.json()["suggestions"]
    near = site.client.get("/api/v1/public/poles", params={"lon": p["lon"], "lat": p["lat"]}).json()
    assert near[0]["number"] == "0412" and len(near) == 5


def test_a_report_with_a_photo_answers_a_code_that_shows_its_progress(site):
    r = _report(site, description="路灯不亮", phone="13800138001",
                files=[("photos", ("a.jpg", photo_bytes(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    out = r.json()
    assert len(out["code"]) == 14 and out["url"].startswith("/r/t/") and not out["follows"]
    t = site.client.get(f"/api/v1/public/track/{out['code']}").json()
    assert t["case_id"] == out["case_id"] and [s["step"] for s in t["steps"]] == ["received"]
    (photo,) = t["photos"]
    img = site.client.get(f"/api/v1/public/track/{out['code']}/photos/{photo['id']}?thumb=1")
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    early = site.client.post(f"/api/v1/public/track/{out['code']}/answer", json={"satisfaction": "satisfied"},
                             headers={"origin": ORIGIN})
    assert early.status_code == 409 and early.json()["key"] == "refused.r.not_closed"
    # the desk: the phone masked for the wall-side roles, whole for the dispatcher
    leader = site.client.get(f"/api/v1/cases/{out['case_id']}/reports", headers=site.bearer("intake")).json()
    assert leader[0]["phone"] != "13800138001" and leader[0]["phone"].endswith("8001")
    disp = site.login("dispatcher").get(f"/api/v1/cases/{out['case_id']}/reports").json()
    assert disp[0]["phone"] == "13800138001"


def test_nearby_reports_are_offered_to_follow(site):
    first = _report(site, topic="rubbish", pole="0430").json()
    near = site.client.get("/api/v1/public/nearby", params={"topic": "rubbish", "pole": "0430"}).json()
    assert [n["case_id"] for n in near] == [first["case_id"]]
    follow = _report(site, topic="rubbish", pole="0430", follow=str(first["case_id"])).json()
    assert follow["follows"] and follow["case_id"] == first["case_id"]


@pytest.mark.parametrize("fields,status,key", [
    ({"topic": "unicorns"}, 422, "refused.r.topic"),
    ({"pole": "99999999"}, 422, "r.pole.not_found"),
    ({"phone": "call me"}, 422, "refused.r.phone"),
    ({"website": "http://spam.example"}, 400, "refused.r.bot"),
    ({"files": [("photos", ("x.jpg", b"not a picture", "image/jpeg"))]}, 422, "refused.photo.unreadable"),
    ({"files": [("photos", (f"{i}.jpg", photo_bytes(), "image/jpeg")) for i in range(4)]}, 422, "refused.r.photos"),
])
def test_a_refused_report_says_its_catalogue_key_and_stores_nothing(site, fields, status, key):
    before = site.brain.residents.stats(site.brain.started_at.replace(year=2000))
    r = _report(site, **fields)
    assert r.status_code == status, r.text
    assert r.json()["key"] == key
    assert site.brain.residents.stats(site.brain.started_at.replace(year=2000)) == before


def test_the_limits_answer_429_with_retry_after(site):
    site.brain.residents.limits = Limits(per_address_per_hour=0)
    try:
        r = _report(site)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and r.json()["key"] == "refused.r.too_many"
    finally:
        site.brain.residents.limits = Limits()


def test_looking_up_codes_from_one_address_is_limited(site):
    answers = [site.client.get("/api/v1/public/track/AAAA-BBBB-CCCC") for _ in range(40)]
    codes = [a.status_code for a in answers]
    assert set(codes) == {404, 429} and codes.index(429) <= 31  # a burst of 30 (some spent by the tests above)
    busy = answers[codes.index(429)]
    assert int(busy.headers["retry-after"]) >= 1 and busy.json()["key"] == "refused.r.too_many"


def test_spam_is_marked_by_the_desk_not_by_anyone(site):
    out = _report(site, topic="small_ads", pole="0440").json()
    assert site.client.post(f"/api/v1/cases/{out['case_id']}/spam", json={"note": "推销"},
                            headers=site.bearer("wall")).status_code in (401, 403)
    r = site.login("dispatcher").post(f"/api/v1/cases/{out['case_id']}/spam", json={"note": "推销"},
                                      headers={"origin": ORIGIN})
    assert r.status_code == 200 and r.json()["marked"] == 1
    stats = site.client.get("/api/v1/residents/stats", headers=site.bearer("intake")).json()
    assert stats["spam"] >= 1
