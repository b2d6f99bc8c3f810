"""Open311 GeoReport v2 at /open311/v2/: services, a service's definition, requests (POST and GET), one
request, and tokens, each as .json or .xml. It lives beside the UI, not in api/: it answers in words, from
the catalogue. Errors are the spec's list (`[{"code", "description"}]`, or
`<errors>` in XML) with 400, 403 or 404; their words come from the catalogue, in the language the client's
Accept-Language asks for (Chinese by default).

A POST is form-encoded with `api_key`, a token of an intake account (`python -m brain.auth create-token
--role intake --name hotline --channel hotline_12345`); its case carries that account's channel. The answer
holds the request's id and a token, which is also the resident's tracking code (/r/t/{token}).
`jurisdiction_id`, when given, must be the district's division code. `media_url` is kept, never fetched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.security import client_source
from brain.auth.enums import Permission as P
from brain.cases.enums import Channel
from brain.cases.service import IntakeError
from brain.field.photos import PhotoRefused
from brain.residents import open311 as o311
from brain.residents.service import ResidentRefused, UnknownCode
from brain.runtime import Brain
from brain.storage.db import utcnow
from dashboard.i18n.catalogue import DEFAULT_LOCALE, category_names, translator
from dashboard.texts import say

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")
# the element names of each answer's XML (the spec's)
XML_ROOT = {"services": ("services", "service"), "requests": ("service_requests", "request")}


def locale_of(request: Request) -> str:
    wanted = request.headers.get("accept-language", "").lower()
    return "en" if wanted.startswith("en") else DEFAULT_LOCALE


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_item(parent: ET.Element, tag: str, item: dict) -> None:
    el = ET.SubElement(parent, tag)
    for k, v in item.items():
        if k == "attributes":
            attrs = ET.SubElement(el, "attributes")
            for a in v:
                _xml_item(attrs, "attribute", a)
        elif k == "values":
            values = ET.SubElement(el, "values")
            for a in v:
                _xml_item(values, "value", a)
        else:
            ET.SubElement(el, k).text = _text(v)


def to_xml(kind: str, body) -> bytes:
    if kind == "errors":
        root = ET.Element("errors")
        for e in body:
            _xml_item(root, "error", e)
    elif kind == "definition":
        root = ET.Element("service_definition")
        ET.SubElement(root, "service_code").text = body["service_code"]
        attrs = ET.SubElement(root, "attributes")
        for a in body["attributes"]:
            _xml_item(attrs, "attribute", a)
    else:
        outer, inner = XML_ROOT[kind]
        root = ET.Element(outer)
        for item in body:
            _xml_item(root, inner, item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


def answer(fmt: str, kind: str, body, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(kind, body), status_code=status, media_type="text/xml; charset=utf-8")
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, include_in_schema=False)
    tz = ZoneInfo(brain.settings.display_tz)
    jurisdiction = str(brain.district.meta.get("division_code") or "") or None

    def when(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else None

    def public() -> set[str]:
        return {c.code for c in brain.catalogue if c.public}

    def refuse(request: Request, fmt: str, status: int, key: str, **params) -> Response:
        tr = translator(locale_of(request))
        try:
            words = tr(key).format(**params)
        except KeyError:
            words = tr("o311.error")
        return answer(fmt if fmt in FORMATS else "json", "errors", [{"code": status, "description": words}],
                      status)

    def checked(request: Request, fmt: str, params) -> Response | None:
        if fmt not in FORMATS:
            return refuse(request, "json", 404, "o311.format")
        given = (params.get("jurisdiction_id") or "").strip()
        if given and jurisdiction and given != jurisdiction:
            return refuse(request, fmt, 404, "o311.jurisdiction", jurisdiction=given[:40])
        return None

    def services_list(locale: str) -> list[dict]:
        tr = translator(locale)
        names = category_names(brain.catalogue, locale)
        out = []
        for c in brain.catalogue:
            if not c.public:
                continue
            out.append({"service_code": c.code, "service_name": names[c.code],
                        "description": tr(f"department.{c.department}"), "metadata": True, "type": "realtime",
                        "keywords": c.kind, "group": tr(f"gbt.{c.code[:3]}")})
        return out

    @r.get("/services.{fmt}")
    def services(request: Request, fmt: str):
        return checked(request, fmt, request.query_params) or answer(fmt, "services", services_list(locale_of(request)))

    @r.get("/services/{code}.{fmt}")
    def definition(request: Request, code: str, fmt: str):
        bad = checked(request, fmt, request.query_params)
        if bad:
            return bad
        if code not in public():
            return refuse(request, fmt, 404, "o311.unknown_service", code=code[:20])
        tr = translator(locale_of(request))
        return answer(fmt, "definition", {"service_code": code, "attributes": [
            {"variable": True, "code": o311.POLE_ATTRIBUTE, "datatype": "string", "required": False,
             "datatype_description": tr("o311.pole.format"), "order": 1, "description": tr("o311.pole")}]})

    def records(request: Request, rows, session) -> list[dict]:
        locale = locale_of(request)
        tr = translator(locale)
        names = category_names(brain.catalogue, locale)
        teams = brain.residents.team_names()
        media = o311.media_of(session, [c.id for c in rows])
        roads: dict[str, str | None] = {}

        def address_of(pole: str | None) -> str | None:
            if not pole:
                return None
            if pole not in roads:
                try:
                    road = brain.gazetteer.lookup(pole).road
                except LookupError:
                    road = None
                roads[pole] = f"{road} {pole}" if road else pole
            return roads[pole]

        out = []
        for c in rows:
            rec = o311.record(c, teams=teams, policy=brain.policy, masker=brain.cases.masker, address_of=address_of,
                              media=media)
            keys = rec.pop("_keys")
            rec["service_name"] = names.get(c.category, c.category)
            if c.text:  # what the product wrote, in the reader's language, before what a person typed
                rec["description"] = " · ".join(w for w in (say(tr, c.text), rec["description"]) if w)
            rec["status_notes"] = tr(keys["status_notes"])
            if rec["agency_responsible"] is None and keys["department"]:
                rec["agency_responsible"] = tr(keys["department"])
            for k in ("requested_datetime", "updated_datetime", "expected_datetime"):
                rec[k] = when(rec[k])
            rec["service_notice"] = (tr("o311.expected").format(at=rec["expected_datetime"][:16].replace("T", " "))
                                     if rec["expected_datetime"] else None)
            out.append(rec)
        return out

    def listed(request: Request, params) -> list[dict]:
        q = o311.parse_query(params, utcnow())
        with brain.db.read() as s:
            rows = s.execute(o311.select_requests(q, public())).all()
            return records(request, rows, s)

    @r.get("/requests.{fmt}")
    def find(request: Request, fmt: str):
        bad = checked(request, fmt, request.query_params)
        if bad:
            return bad
        try:
            return answer(fmt, "requests", listed(request, request.query_params))
        except o311.Open311Error as e:
            return refuse(request, fmt, e.status, e.key, **e.params)

    @r.get("/requests/{request_id}.{fmt}")
    @r.get("/request/{request_id}.{fmt}")  # as the spec's Swagger spells it
    def one(request: Request, request_id: str, fmt: str):
        bad = checked(request, fmt, request.query_params)
        if bad:
            return bad
        if not request_id.isdigit() or len(request_id) > 12:
            return refuse(request, fmt, 404, "o311.no_request", id=request_id[:20])
        found = listed(request, {"service_request_id": request_id})
        if not found:
            return refuse(request, fmt, 404, "o311.no_request", id=request_id)
        return answer(fmt, "requests", found)

    @r.get("/tokens/{token}.{fmt}")
    def token(request: Request, token: str, fmt: str):
        bad = checked(request, fmt, request.query_params)
        if bad:
            return bad
        try:
            case_id = brain.residents.track(token)["case_id"]
        except UnknownCode:
            return refuse(request, fmt, 404, "o311.no_token")
        return answer(fmt, "requests", [{"service_request_id": str(case_id), "token": token}])

    @r.post("/requests.{fmt}")
    async def submit(request: Request, fmt: str):
        if fmt not in FORMATS:
            return refuse(request, "json", 404, "o311.format")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return refuse(request, fmt, 400, "o311.form")
        form = await request.form()
        fields: dict[str, str] = {}
        for k, v in form.multi_items():
            if not isinstance(v, str):
                return refuse(request, fmt, 400, "o311.form")
            fields[k] = v
        bad = checked(request, fmt, fields)
        if bad:
            return bad
        key = fields.get("api_key") or ""
        who = await run_in_threadpool(brain.auth.authenticate_token, key) if key else None
        if who is None or not who.can(P.OPEN_CASE):
            return refuse(request, fmt, 403, "o311.api_key")
        try:
            sub = o311.parse_submission(fields, public())
            receipt = await run_in_threadpool(
                brain.residents.report, category=sub.service_code, pole=sub.pole, lon=sub.lon, lat=sub.lat,
                description=sub.description, phone=sub.phone, email=sub.email, name=sub.name, media_url=sub.media_url,
                channel=who.channel or Channel.OPEN311.value, sender=who.username, actor=who.actor, address=None,
                max_description=o311.MAX_DESCRIPTION, source=client_source(request.scope))
        except o311.Open311Error as e:
            return refuse(request, fmt, e.status, e.key, **e.params)
        except IntakeError as e:
            if e.field == "pole":
                return refuse(request, fmt, 400, "o311.no_pole", pole=(sub.pole or "")[:40],
                              suggestions=", ".join(e.suggestions) or "-")
            return refuse(request, fmt, 400, "o311.outside" if e.field == "lon" else "o311.error")
        except (ResidentRefused, PhotoRefused) as e:
            return refuse(request, fmt, 400, e.key or "o311.error", **e.params)
        notice = None
        case = brain.cases.get(receipt.case_id)  # deduplicated like every case: the dispatcher merges
        dups = [d for d in brain.residents.nearby(category=case.category, lon=case.lon, lat=case.lat, pole=case.pole)
                if d["case_id"] != case.id]
        if dups:
            notice = translator(locale_of(request))("o311.duplicate").format(ids=", ".join(
                f"#{d['case_id']}" for d in dups[:5]))
        return answer(fmt, "requests", [{"service_request_id": str(receipt.case_id), "token": receipt.code,
                                         "service_notice": notice, "account_id": None}])

    @r.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(request: Request, rest: str):
        return refuse(request, "xml" if rest.endswith(".xml") else "json", 404, "o311.unknown_path")

    return r
