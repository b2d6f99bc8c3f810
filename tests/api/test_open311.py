"""Open311 GeoReport v2 at /open311/v2: every endpoint validates against the reference JSON Schemas, its
XML is well-formed and says what its JSON says, and every malformed post is refused with the spec's error
list, storing nothing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7
from sqlalchemy import func, select

from brain.cases.models import Case
from brain.residents.models import ResidentReport
from tests.api.conftest import sqlite_site

SCHEMAS = Path(__file__).resolve().parent / "data" / "open311-georeport-v2"  # the reference schemas, as published
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _schema(name: str) -> Draft7Validator:
    def load(n: str) -> dict:
        return json.loads((SCHEMAS / n).read_text(encoding="utf-8"))

    registry = Registry().with_resources((n, DRAFT7.create_resource(load(n))) for n in ("request.json", "service.json"))
    return Draft7Validator(load(name), registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)


def valid(name: str, body) -> None:
    errors = sorted(_schema(name).iter_errors(body), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.fixture(scope="module")
def site(tmp_path_factory, district):
    yield from sqlite_site(tmp_path_factory, district, "open311")


@pytest.fixture(scope="module")
def key(site) -> str:
    return site.brain.auth.create_token(name="hotline-platform", role="intake", actor="test", channel="hotline_12345")


def _stored(site) -> tuple[int, int]:
    with site.brain.db.read() as s:
        return (int(s.scalar(select(func.count()).select_from(Case)) or 0),
                int(s.scalar(select(func.count()).select_from(ResidentReport)) or 0))


def _post(site, fields: dict, fmt: str = "json"):
    return site.client.post(f"/open311/v2/requests.{fmt}", data=fields, headers=FORM)


def _xml(response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml")
    return ET.fromstring(response.content)


def _as_dicts(root: ET.Element) -> list[dict]:
    return [{child.tag: (child.text or "") for child in item} for item in root]


def _same(json_items: list[dict], xml_root: ET.Element) -> None:
    """The XML holds the same records, every scalar field with the same text (null: empty)."""
    rows = _as_dicts(xml_root)
    assert len(rows) == len(json_items)
    for j, x in zip(json_items, rows, strict=True):
        for k, v in j.items():
            text = "" if v is None else ("true" if v is True else "false" if v is False else str(v))
            assert x.get(k, "") == text, k


def test_services_list_every_public_category_with_its_gbt_group_in_json_and_xml(site):
    r = site.client.get("/open311/v2/services.json")
    assert r.status_code == 200
    body = r.json()
    valid("services.json", body)
    codes = {s["service_code"] for s in body}
    assert "C0107" in codes and "E0607" not in codes and "E0606" not in codes  # sensor-only: no service
    lamp = next(s for s in body if s["service_code"] == "C0107")
    assert lamp["service_name"] == "路灯损坏或不亮" and lamp["group"] == "公用设施" and lamp["metadata"] is True
    x = site.client.get("/open311/v2/services.xml")
    root = _xml(x)
    assert root.tag == "services" and all(item.tag == "service" for item in root)
    _same(body, root)
    en = site.client.get("/open311/v2/services.json", headers={"accept-language": "en-GB,en;q=0.9"}).json()
    assert next(s for s in en if s["service_code"] == "C0107")["group"] == "Public utilities"


def test_a_service_definition_names_the_pole_attribute(site):
    r = site.client.get("/open311/v2/services/C0107.json")
    valid("service-definition.json", r.json())
    (attr,) = r.json()["attributes"]
    assert attr["code"] == "pole" and attr["datatype"] == "string" and attr["required"] is False
    root = _xml(site.client.get("/open311/v2/services/C0107.xml"))
    assert root.tag == "service_definition" and root.find("attributes/attribute/code").text == "pole"
    missing = site.client.get("/open311/v2/services/E0607.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


def test_a_post_by_pole_number_opens_a_case_with_the_senders_channel_and_reads_back(site, key):
    r = _post(site, {"api_key": key, "service_code": "C0107", "address_id": "0412", "description": "灯不亮",
                     "phone": "13800138000", "first_name": "张", "last_name": "三", "email": "z@example.cn",
                     "media_url": "https://platform.example.cn/m/1.jpg", "jurisdiction_id": "310106015"})
    assert r.status_code == 200, r.text
    (made,) = r.json()
    case_id = int(made["service_request_id"])
    case = site.brain.cases.get(case_id)
    assert case.channel == "hotline_12345" and case.pole == "0412"
    assert site.brain.residents.track(made["token"])["case_id"] == case_id  # the token is the tracking code
    one = site.client.get(f"/open311/v2/requests/{case_id}.json")
    valid("requests.json", one.json())
    (req,) = one.json()
    assert req["status"] == "open" and req["service_code"] == "C0107" and req["address_id"] == "0412"
    assert req["requested_datetime"].endswith("+08:00") and req["expected_datetime"]
    assert req["media_url"] == "https://platform.example.cn/m/1.jpg" and req["status_notes"] == "已收到"
    assert "13800138000" not in one.text and "z@example.cn" not in one.text and "张三" not in one.text
    _same(one.json(), _xml(site.client.get(f"/open311/v2/requests/{case_id}.xml")))
    tok = site.client.get(f"/open311/v2/tokens/{made['token']}.json").json()
    assert tok == [{"service_request_id": str(case_id), "token": made["token"]}]
    # the sender sees the case move
    site.brain.cases.transition(case_id, to="registered", actor="person:disp", note="ok")
    assert site.client.get(f"/open311/v2/requests/{case_id}.json").json()[0]["status_notes"] == "已受理立案"


def test_a_post_by_position_with_the_pole_attribute_and_in_xml(site, key):
    p = site.brain.gazetteer.lookup("0413")
    r = _post(site, {"api_key": key, "service_code": "E0101", "lat": str(p.lat), "long": str(p.lon),
                     "attribute[pole]": "0413"}, fmt="xml")
    assert r.status_code == 200
    root = _xml(r)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text.isdigit()


def test_requests_are_filtered_by_id_service_status_and_dates(site, key):
    ids = [int(_post(site, {"api_key": key, "service_code": "E0201", "address_id": n}).json()[0]
               ["service_request_id"]) for n in ("0420", "0421")]
    site.brain.cases.transition(ids[0], to="cancelled", actor="person:disp", note="重复")
    got = site.client.get("/open311/v2/requests.json", params={"service_request_id": f"{ids[0]},{ids[1]}"}).json()
    valid("requests.json", got)
    assert sorted(int(g["service_request_id"]) for g in got) == sorted(ids)
    closed = site.client.get("/open311/v2/requests.json", params={"service_code": "E0201", "status": "closed"}).json()
    assert [int(g["service_request_id"]) for g in closed] == [ids[0]]
    opened = site.client.get("/open311/v2/requests.json", params={"service_code": "E0201", "status": "open"}).json()
    assert [int(g["service_request_id"]) for g in opened] == [ids[1]]
    _same(opened, _xml(site.client.get("/open311/v2/requests.xml",
                                       params={"service_code": "E0201", "status": "open"})))
    old = site.client.get("/open311/v2/requests.json", params={"start_date": "2020-01-01T00:00:00+08:00",
                                                               "end_date": "2020-02-01T00:00:00+08:00"}).json()
    assert old == []


def test_a_sensor_case_is_never_listed(site):
    case = site.brain.cases.open_case(channel="iot", category="E0404", pole="0412", actor="gateway")
    assert site.client.get(f"/open311/v2/requests/{case.id}.json").status_code == 404


BAD_POSTS = [
    ({}, 403, "no key"),
    ({"api_key": "cbt_not-a-real-key"}, 403, "wrong key"),
    ({"service_code": "Z9999", "address_id": "0412"}, 400, "unknown service"),
    ({"address_id": "0412"}, 400, "no service"),
    ({"service_code": "C0107"}, 400, "no location"),
    ({"service_code": "C0107", "lat": "north", "long": "121.45"}, 400, "bad number"),
    ({"service_code": "C0107", "lat": "31.2", "long": "inf"}, 400, "infinite"),
    ({"service_code": "C0107", "lat": "95", "long": "121.45"}, 400, "out of range"),
    ({"service_code": "C0107", "lat": "31.2"}, 400, "half a point"),
    ({"service_code": "C0107", "address_id": "0412", "description": "x" * 5000}, 400, "too long"),
    ({"service_code": "C0107", "address_id": "0412", "attribute[colour]": "red"}, 400, "attribute not defined"),
    ({"service_code": "C0107", "address_id": "9999999"}, 400, "unknown pole"),
    ({"service_code": "C0107", "lat": "39.9", "long": "116.39"}, 400, "outside the district"),
    ({"service_code": "C0107", "address_id": "0412", "media_url": "javascript:alert(1)"}, 400, "bad media url"),
    ({"service_code": "C0107", "address_id": "0412", "phone": "call me"}, 400, "bad phone"),
    ({"service_code": "C0107", "address_id": "0412", "jurisdiction_id": "110000"}, 404, "other jurisdiction"),
    ({"service_code": "E0607", "address_id": "0412"}, 400, "sensor-only service"),
]


@pytest.mark.parametrize("fields,status,why", BAD_POSTS, ids=[b[2] for b in BAD_POSTS])
def test_a_malformed_post_is_refused_with_the_specs_error_list_and_stores_nothing(site, key, fields, status, why):
    if "api_key" not in fields and status != 403:
        fields = {**fields, "api_key": key}
    before = _stored(site)
    r = _post(site, fields)
    assert r.status_code == status, (why, r.text)
    body = r.json()
    assert isinstance(body, list) and body[0]["code"] == status and body[0]["description"], why
    assert _stored(site) == before, why
    x = _post(site, fields, fmt="xml")
    root = _xml(x)
    assert x.status_code == status and root.tag == "errors" and root.find("error/code").text == str(status)


def test_a_key_of_a_role_that_may_not_open_cases_is_refused(site):
    gateway = site.brain.auth.create_token(name="iot-gw-311", role="gateway", actor="test")
    r = _post(site, {"api_key": gateway, "service_code": "C0107", "address_id": "0412"})
    assert r.status_code == 403 and r.json()[0]["code"] == 403


@pytest.mark.parametrize("params,why", [
    ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}, "more than 90 days"),
    ({"start_date": "yesterday"}, "not a date"),
    ({"start_date": "2026-01-01T00:00:00"}, "no zone"),
    ({"status": "pending"}, "unknown status"),
    ({"service_request_id": "1,two"}, "bad ids"),
    ({"end_date": "2026-01-01T00:00:00+08:00", "start_date": "2026-02-01T00:00:00+08:00"}, "end before start"),
])
def test_a_malformed_query_is_refused_with_the_specs_error_list(site, params, why):
    r = site.client.get("/open311/v2/requests.json", params=params)
    assert r.status_code == 400 and r.json()[0]["code"] == 400, why


def test_unknown_things_are_404_in_the_specs_terms(site):
    for path in ("/open311/v2/requests/99999999.json", "/open311/v2/tokens/AAAA-AAAA-AAAA.json",
                 "/open311/v2/services.yaml", "/open311/v2/nothing.json"):
        r = site.client.get(path)
        assert r.status_code == 404 and r.json()[0]["code"] == 404, path
