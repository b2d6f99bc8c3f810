"""A resident's way in and way back: a report by pole number (or position) with up to three photos, the
tracking code it answers with, the case's progress in a resident's words, the reply and the return visit's
satisfaction question; following a case someone reported first; and the limits that keep the door open.

The tracking code is shown once and kept only as its SHA-256: it opens one report's progress and nothing
else. What the progress holds is chosen for a stranger's eyes: stages, times, the team sent, the reply
(masked), the after photo when closed; never a description, a phone number or another report.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from brain.cases.enums import TERMINAL, CaseStatus, Channel
from brain.cases.models import Case
from brain.cases.service import DUPLICATE_RADIUS_M, MAX_DESCRIPTION, CaseNotFound, CaseService, IntakeError
from brain.events.kinds import EventType
from brain.events.log import Store
from brain.events.models import EventRecord
from brain.field.enums import PhotoKind
from brain.field.models import Photo
from brain.field.photos import PhotoStore, Prepared, prepare
from brain.field.service import photo_dict
from brain.refusal import Refusal
from brain.residents.models import ResidentReport
from brain.staff.models import Team
from brain.storage.db import utcnow
from geodata.crs import haversine_m

TOPICS_FILE = Path(__file__).resolve().parent / "topics.json"
MAX_PHOTOS = 3
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed from a screen
CODE_LENGTH = 12  # about 59 bits
PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{2,3}\d{7,8})$")
MERGE_DEPTH = 5  # a merged case's parent is followed this far


@dataclass(frozen=True)
class Limits:
    """What one address or one phone may send in an hour; an address marked for spam in the last day is
    held to `after_spam_per_hour`."""

    per_address_per_hour: int = 20  # mobile networks put many residents behind one address
    per_phone_per_hour: int = 5
    photo_bytes_per_address_per_hour: int = 40 * 1024 * 1024
    after_spam_per_hour: int = 2


class ResidentRefused(Refusal):
    """A report, a follow or an answer refused, with its catalogue key; `status` is the HTTP status."""

    def __init__(self, message: str, *, key: str, status: int = 422, retry_after_s: int | None = None,
                 field: str | None = None, **params) -> None:
        super().__init__(message, key=key, **params)
        self.status = status
        self.retry_after_s = retry_after_s
        self.field = field


class UnknownCode(ResidentRefused):
    def __init__(self) -> None:
        super().__init__("no report has this tracking code", key="refused.r.code", status=404)


@dataclass(frozen=True)
class Topic:
    topic: str
    category: str
    icon: str


@dataclass(frozen=True)
class Receipt:
    """What a report answers with: the tracking code (shown once), the case, and whether it follows one."""

    code: str
    report_id: int
    case_id: int
    follows: bool

    def as_dict(self) -> dict:
        return {"code": self.code, "case_id": self.case_id, "follows": self.follows}


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """The code as typed, without spaces and dashes, upper case ('' if it cannot be a code)."""
    c = re.sub(r"[\s\-]", "", str(code or "")).upper()
    return c if len(c) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in c) else ""


def show_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def key_of(kind: str, value: str) -> str:
    """A hash to count by (an address, a phone) without keeping the address itself."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def normalize_phone(phone: str | None) -> str | None:
    """A Chinese mobile or landline number as digits (None if none given); ResidentRefused if malformed."""
    if phone is None or not str(phone).strip():
        return None
    digits = re.sub(r"[\s\-()]", "", str(phone))
    m = PHONE.match(digits)
    if not m:
        raise ResidentRefused("the phone number is not a mobile or landline number", key="refused.r.phone",
                              field="phone")
    return m.group(1)


def load_topics(catalogue, path: Path = TOPICS_FILE) -> list[Topic]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    topics = [Topic(topic=str(r["topic"]), category=str(r["category"]), icon=str(r["icon"])) for r in rows]
    for t in topics:
        if t.category not in catalogue or not catalogue.get(t.category).public:
            raise ValueError(f"{path}: topic {t.topic} names {t.category}, not a public category")
    return topics


# the step a case's current state is in, in a resident's words (its catalogue entry is r.step.<step>)
STEP_OF_STATUS = {CaseStatus.REPORTED: "received", CaseStatus.REGISTERED: "registered",
                  CaseStatus.DISPATCHED: "sent", CaseStatus.HANDLING: "on_site", CaseStatus.HANDLED: "handled",
                  CaseStatus.VERIFIED: "verified", CaseStatus.CLOSED: "closed", CaseStatus.DEFERRED: "deferred",
                  CaseStatus.CANCELLED: "cancelled", CaseStatus.MERGED: "merged"}
# the same, by the event that enters each state (a case enters "reported" by being opened)
STEP_OF = {(EventType.CASE_OPENED if s is CaseStatus.REPORTED else EventType.case_move(s)).value: step
           for s, step in STEP_OF_STATUS.items()}


class ResidentService:
    def __init__(self, store: Store, cases: CaseService, photos: PhotoStore, *, limits: Limits | None = None,
                 topics: list[Topic] | None = None) -> None:
        self.store = store
        self.cases = cases
        self.photos = photos
        self.limits = limits or Limits()
        self.topics = topics if topics is not None else load_topics(cases.catalogue)
        self._by_topic = {t.topic: t for t in self.topics}

    def team_names(self) -> dict[str, str]:
        with self.store.db.read() as s:
            return {t: n for t, n in s.execute(select(Team.id, Team.name))}

    # --- where ------------------------------------------------------------------------------------
    def nearby(self, *, category: str, lon: float, lat: float, pole: str | None) -> list[dict]:
        """Open cases of this category at this pole or within 50 m, as a stranger may see them: the case
        number, its step, how far and when (no description)."""
        out = []
        for d in self.cases.duplicates(category=category, lon=lon, lat=lat, pole=pole):
            out.append({"case_id": d["id"], "step": STEP_OF_STATUS[CaseStatus(d["status"])],
                        "distance_m": round(d["distance_m"]), "reported_at": d["reported_at"],
                        "same_pole": bool(pole and d["pole"] == pole)})
        return out

    def category_of(self, topic: str) -> str:
        t = self._by_topic.get(topic)
        if t is None:
            raise ResidentRefused(f"unknown topic {topic!r}", key="refused.r.topic", field="topic")
        return t.category

    # --- report -----------------------------------------------------------------------------------
    def report(self, *, category: str, pole: str | None = None, lon: float | None = None, lat: float | None = None,
               description: str = "", phone: str | None = None, photos: list[bytes] | None = None,
               follow: int | None = None, topic: str | None = None, lang: str = "zh-CN", address: str | None,
               channel: str = Channel.WEB.value, sender: str | None = None, actor: str = "resident",
               email: str | None = None, name: str | None = None, media_url: str | None = None,
               honeypot: str | None = None, max_description: int | None = None, source: str | None = None,
               at: datetime | None = None) -> Receipt:
        """Check everything, then record in one transaction: a new case (or a link to the open case the
        resident chose to follow), the report with its code's hash, and its photos. Nothing is stored
        when anything is refused. The code is in the receipt and nowhere else."""
        if honeypot:
            self.store.audit(actor=actor, action="resident.refused", subject="report", source=source,
                             detail={"reason": "honeypot"})
            raise ResidentRefused("refused: a field people do not fill in was filled in", key="refused.r.bot",
                                  status=400)
        photos = photos or []
        if len(photos) > MAX_PHOTOS:
            raise ResidentRefused(f"at most {MAX_PHOTOS} photos", key="refused.r.photos", field="photos",
                                  max=MAX_PHOTOS)
        phone = normalize_phone(phone)
        if category not in self.cases.catalogue or not self.cases.catalogue.get(category).public:
            raise ResidentRefused(f"unknown category {category!r}", key="refused.r.topic", field="topic")
        new = self.cases.prepare(channel=channel, category=category, description=description, pole=pole, lon=lon,
                                 lat=lat, max_description=max_description or MAX_DESCRIPTION)
        now = at or utcnow()
        address_key = key_of("address", address) if address else None
        phone_key = key_of("phone", phone) if phone else None
        prepared: list[Prepared] = [prepare(raw) for raw in photos]  # each checked in full (PhotoRefused)
        size = sum(len(p.data) for p in prepared)
        self._within_limits(address_key, phone_key, size, now)
        for p in prepared:  # by content hash, whole or not at all: harmless if the report is refused below
            self.photos.put(p.id, p.data)
            self.photos.put(f"{p.id}.thumb", p.thumb)
        code = new_code()
        with self.store.unit(actor, source=source) as u:
            if follow is not None:
                case = self._followable(u, follow, new)
                follows = True
            else:
                case = self.cases.open_in(u, new, now, reporter_phone=phone, reporter_name=name)
                follows = False
            report = ResidentReport(case_id=case.id, follows=follows, code_hash=code_hash(code), channel=new.channel,
                                    sender=sender, topic=topic, phone=phone, email=email, phone_key=phone_key,
                                    address_key=address_key, media_url=media_url, photo_bytes=size,
                                    lang=lang if lang in ("zh-CN", "en") else "zh-CN", created_at=now)
            u.session.add(report)
            u.session.flush()
            for p in prepared:
                row = u.session.get(Photo, p.id)
                if row is not None:  # the same picture sent twice: one photo
                    continue
                u.session.add(Photo(id=p.id, case_id=case.id, staff_id=None, report_id=report.id,
                                    kind=PhotoKind.RESIDENT.value, content_type=p.content_type, size=len(p.data),
                                    width=p.width, height=p.height, received_sha256=p.received_sha256,
                                    taken_at=now, lon=None, lat=None, uploaded_at=now, uploaded_by=actor))
            u.session.flush()
            u.emit(EventType.CASE_FOLLOWED if follows else "resident.reported", "case", case.id,
                   {"report": report.id, "channel": new.channel, "topic": topic, "photos": len(prepared),
                    "phone": bool(phone), "sender": sender})
            # the address is kept a day, for the limits: no longer
            u.session.execute(update(ResidentReport).where(ResidentReport.created_at < now - timedelta(days=1),
                                                           ResidentReport.address_key.is_not(None))
                              .values(address_key=None))
            return Receipt(code=code, report_id=report.id, case_id=case.id, follows=follows)

    def _followable(self, u, case_id: int, new) -> Case:
        try:
            case = self.cases.locked(u, case_id, None)
        except CaseNotFound:
            case = None
        if case is None or not CaseStatus(case.status).is_open or case.category != new.category:
            raise ResidentRefused(f"case {case_id} is not an open case of this kind", key="refused.r.follow",
                                  field="follow")
        near = float(haversine_m(new.lon, new.lat, case.lon, case.lat)) <= DUPLICATE_RADIUS_M
        if not near and not (new.pole and case.pole_number == new.pole):
            raise ResidentRefused(f"case {case_id} is not at this place", key="refused.r.follow", field="follow")
        return case

    def _within_limits(self, address_key: str | None, phone_key: str | None, photo_bytes: int, now: datetime) -> None:
        hour = now - timedelta(hours=1)
        lim = self.limits
        with self.store.db.read() as s:
            if address_key:
                n, size = s.execute(select(func.count(), func.coalesce(func.sum(ResidentReport.photo_bytes), 0))
                                    .where(ResidentReport.address_key == address_key,
                                           ResidentReport.created_at >= hour)).one()
                spam = s.scalar(select(func.count()).where(ResidentReport.address_key == address_key,
                                                          ResidentReport.spam_at.is_not(None),
                                                          ResidentReport.created_at >= now - timedelta(days=1)))
                allowed = lim.after_spam_per_hour if spam else lim.per_address_per_hour
                if n >= allowed:
                    raise ResidentRefused(f"{n} reports from this address in the last hour",
                                          key="refused.r.too_many", status=429, retry_after_s=600)
                if int(size) + photo_bytes > lim.photo_bytes_per_address_per_hour:
                    raise ResidentRefused("too many photo bytes from this address in the last hour",
                                          key="refused.r.photo_bytes", status=429, retry_after_s=600)
            if phone_key:
                n = s.scalar(select(func.count()).where(ResidentReport.phone_key == phone_key,
                                                       ResidentReport.created_at >= hour)) or 0
                if n >= lim.per_phone_per_hour:
                    raise ResidentRefused(f"{n} reports with this phone number in the last hour",
                                          key="refused.r.too_many_phone", status=429, retry_after_s=600)

    # --- the way back -------------------------------------------------------------------------------
    def _report(self, s, code: str) -> ResidentReport:
        if not normalize_code(code):
            raise UnknownCode()
        report = s.scalar(select(ResidentReport).where(ResidentReport.code_hash == code_hash(code)))
        if report is None:
            raise UnknownCode()
        return report

    @staticmethod
    def _case_chain(s, case_id: int) -> list[Case]:
        """The case, and the case it was merged into (and so on): the resident follows the survivor."""
        chain: list[Case] = []
        nxt: int | None = case_id
        while nxt is not None and len(chain) < MERGE_DEPTH:
            case = s.get(Case, nxt)
            if case is None:
                break
            chain.append(case)
            nxt = case.parent_id if case.status == CaseStatus.MERGED.value else None
        return chain

    def track(self, code: str) -> dict:
        """The progress of the report with this code, in steps a resident reads (UnknownCode if none)."""
        teams = self.team_names()
        with self.store.db.read() as s:
            report = self._report(s, code)
            chain = self._case_chain(s, report.case_id)
            case = chain[-1]
            events = s.scalars(select(EventRecord).where(
                EventRecord.subject_type == "case", EventRecord.subject_id.in_([str(c.id) for c in chain]),
                EventRecord.type.in_(list(STEP_OF))).order_by(EventRecord.at, EventRecord.seq)).all()
            steps: list[dict[str, str | None]] = []
            for e in events:
                if e.type == "case.opened" and str(report.case_id) != e.subject_id:
                    continue  # the case it was merged into began elsewhere: the resident's began here
                if report.follows and e.type == "case.opened":
                    steps.append({"step": "received", "at": e.at.isoformat()})
                    steps.append({"step": "followed", "at": report.created_at.isoformat()})
                    continue
                step = STEP_OF[e.type]
                p = e.payload or {}
                if step == "sent" and p.get("rework"):
                    step = "rework"
                item: dict[str, str | None] = {"step": step, "at": e.at.isoformat()}
                if step in ("sent", "rework"):
                    item["agency"] = teams.get(p.get("team_id") or "", None)
                    item["department"] = case.department
                steps.append(item)
            closed = case.status == CaseStatus.CLOSED.value
            photos = [photo_dict(p) for p in s.scalars(select(Photo).where(
                Photo.case_id.in_([c.id for c in chain])).order_by(Photo.uploaded_at))]
            shown = [{"id": p["id"], "kind": p["kind"]} for p in photos
                     if p["report_id"] == report.id or (closed and p["kind"] == PhotoKind.AFTER.value
                                                        and p["event_id"])]
            return {"case_id": case.id, "status": case.status, "open": CaseStatus(case.status) not in TERMINAL,
                    "category": case.category, "topic": report.topic, "pole": case.pole_number,
                    "reported_at": report.created_at.isoformat(), "follows": report.follows,
                    "steps": steps, "reply": self.cases.masker.mask(case.reply) if closed and case.reply else None,
                    "photos": shown, "may_answer": closed, "satisfaction": report.satisfaction}

    def answer(self, code: str, satisfaction: str, *, source: str | None = None) -> dict:
        """The resident's answer to the reply of the closed case (the return visit): counted by the
        satisfaction indicator. The last answer counts. The case's feedback, the report's answer and their
        events are one transaction: all of it is kept, or none."""
        with self.store.db.read() as s:
            report_id = self._report(s, code).id
        with self.store.unit(f"resident:r{report_id}", source=source) as u:
            row = u.session.get(ResidentReport, report_id, with_for_update=True)
            assert row is not None
            case = self._case_chain(u.session, row.case_id)[-1]
            if case.status != CaseStatus.CLOSED.value:
                raise ResidentRefused("the case is not closed yet: the question follows the reply",
                                      key="refused.r.not_closed", status=409)
            try:
                self.cases.feedback_in(u, case.id, satisfaction=satisfaction, note=None, now=utcnow())
            except IntakeError as e:
                raise ResidentRefused(str(e), key="refused.r.satisfaction", field="satisfaction") from None
            row.satisfaction = satisfaction
            u.emit(EventType.RESIDENT_ANSWERED, "case", case.id, {"report": report_id, "satisfaction": satisfaction})
            return {"case_id": case.id, "satisfaction": satisfaction}

    def photo(self, code: str, photo_id: str, *, thumb: bool = False) -> tuple[bytes, str]:
        """A photo the tracking page shows (the resident's own, or the after photo of a closed case)."""
        shown = {p["id"] for p in self.track(code)["photos"]}
        if photo_id not in shown:
            raise ResidentRefused("no such photo for this report", key="refused.r.photo", status=404)
        with self.store.db.read() as s:
            p = s.get(Photo, photo_id)
            assert p is not None
            content_type = "image/jpeg" if thumb else p.content_type
        return self.photos.get(f"{photo_id}.thumb" if thumb else photo_id), content_type

    # --- the call-taker's side ----------------------------------------------------------------------
    def reports_of(self, case_id: int, *, personal: bool) -> list[dict]:
        """The residents' reports of a case (the phone masked unless `personal`)."""
        from brain.privacy import mask_phone

        with self.store.db.read() as s:
            rows = s.scalars(select(ResidentReport).where(ResidentReport.case_id == case_id)
                             .order_by(ResidentReport.id)).all()
            return [{"id": r.id, "follows": r.follows, "channel": r.channel, "sender": r.sender, "topic": r.topic,
                     "phone": (r.phone if personal else mask_phone(r.phone)) if r.phone else None,
                     "created_at": r.created_at.isoformat(), "spam": r.spam_at is not None,
                     "satisfaction": r.satisfaction} for r in rows]

    def mark_spam(self, case_id: int, *, actor: str, note: str, source: str | None = None) -> int:
        """Mark the reports that opened a case as spam (kept and counted, never deleted) and cancel the case
        if it is still before dispatch. Returns how many reports were marked."""
        now = utcnow()
        with self.store.unit(actor, source=source) as u:
            case = self.cases.locked(u, case_id, None)
            rows = u.session.scalars(select(ResidentReport).where(ResidentReport.case_id == case_id,
                                                                 ResidentReport.follows.is_(False),
                                                                 ResidentReport.spam_at.is_(None))).all()
            if not rows:
                raise ResidentRefused(f"case {case_id} has no resident's report to mark", key="refused.r.no_report",
                                      status=409)
            for r in rows:
                r.spam_at, r.spam_by = now, actor
            u.emit(EventType.RESIDENT_SPAM, "case", case_id, {"reports": [r.id for r in rows], "note": note})
            if case.status in (CaseStatus.REPORTED.value, CaseStatus.REGISTERED.value):
                self.cases.apply(u, case, CaseStatus.CANCELLED, note=note, now=now)
            return len(rows)

    def stats(self, since: datetime) -> dict:
        """Reports since `since`: new, following, marked as spam, answered, by channel."""
        with self.store.db.read() as s:
            rows = s.execute(select(ResidentReport.channel, ResidentReport.follows, ResidentReport.spam_at.is_not(None),
                                    ResidentReport.satisfaction.is_not(None), func.count())
                             .where(ResidentReport.created_at >= since)
                             .group_by(ResidentReport.channel, ResidentReport.follows,
                                       ResidentReport.spam_at.is_not(None),
                                       ResidentReport.satisfaction.is_not(None))).all()
        counts = {"reports": 0, "follows": 0, "spam": 0, "answered": 0}
        by_channel: dict[str, int] = {}
        for channel, follows, spam, answered, n in rows:
            counts["follows" if follows else "reports"] += n
            counts["spam"] += n if spam else 0
            counts["answered"] += n if answered else 0
            by_channel[channel] = by_channel.get(channel, 0) + n
        return {**counts, "by_channel": by_channel}
