"""Case operations: intake (by pole number or point) and workflow transitions.

Every operation runs in one transaction that writes the case row, an event and an audit row;
the event is published on the bus after commit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from brain.cases import workflow
from brain.cases.catalogue import Catalogue
from brain.cases.enums import TERMINAL, CaseStatus, Channel, Priority
from brain.cases.models import Case
from brain.events.kinds import EventType
from brain.events.log import Store, Unit
from brain.events.models import EventRecord
from brain.events.types import Event
from brain.privacy import TextMasker
from brain.refusal import Refusal
from brain.storage.db import utcnow
from geodata.crs import haversine_m, to_wgs84
from geodata.gazetteer import Gazetteer, PoleNotFound

MAX_DESCRIPTION = 2000
DUPLICATE_RADIUS_M = 50.0
DISCLOSURE_AUDIT_EVERY = timedelta(hours=1)  # a person reading a case's personal data is audited this often at most
FREE_TEXT = frozenset({"description", "note", "reason", "reply", "comment"})  # event fields people type into
AT_RISK_FRACTION = 0.8
# the resident's answer at the return visit after closing
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")


def _contains(words: str):
    """The description holds `words` (case-insensitive; % and _ are themselves)."""
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return Case.description.ilike(pattern, escape="\\")


class IntakeError(Refusal):
    """A case that cannot be accepted, in words and as a catalogue key with its values; `field` names the
    input at fault, `suggestions` may help (the poles near a number that is not one)."""

    def __init__(self, message: str, *, field: str | None = None, suggestions: list[str] | None = None,
                 key: str = "refused.intake.other", **params) -> None:
        super().__init__(message, key=key, **params)
        self.field = field
        self.suggestions = suggestions or []


class CaseNotFound(LookupError):
    pass


class PersonalSearch(PermissionError):
    """A search by personal data from a role that may not read it."""


class VersionConflict(RuntimeError):
    """Someone else changed the case first; reload and decide again."""


@dataclass(frozen=True)
class NewCase:
    """A case checked and located by CaseService.prepare, to be recorded by open_in."""

    channel: str
    category: str
    priority: str
    description: str
    lon: float
    lat: float
    pole: str | None
    grid: str | None
    committee: str | None
    department: str
    device_id: str | None = None
    text: dict | None = None


@dataclass(frozen=True)
class CaseView:
    """A case as the views and the API see it. Its `description` has residents' personal data masked (what
    every screen shows); the text as typed is `full_description`, given only through
    CaseService.description_for to a person whose role may read it."""

    id: int
    status: str
    channel: str
    category: str
    priority: str
    description: str
    lon: float
    lat: float
    pole: str | None
    grid: str | None
    committee: str | None
    department: str | None
    reported_at: datetime
    stage_started_at: datetime
    stage_due_at: datetime | None
    version: int
    assigned_team_id: str | None = None
    assigned_staff_id: str | None = None
    rework_count: int = 0
    parent_id: int | None = None
    text: dict | None = None  # what the product wrote, as a catalogue entry (see Case.text)
    full_description: str | None = field(default=None, repr=False, compare=False)

    @property
    def personal(self) -> bool:
        """Whether the description as typed holds personal data (masking changed it)."""
        return self.full_description is not None and self.full_description != self.description

    def stage_fraction(self, now: datetime) -> float | None:
        """Share of the current stage's time limit used (None while no clock runs, e.g. deferred)."""
        if self.stage_due_at is None:
            return None
        limit = (self.stage_due_at - self.stage_started_at).total_seconds()
        return (now - self.stage_started_at).total_seconds() / limit if limit > 0 else None

    def overdue(self, now: datetime) -> bool:
        return self.stage_due_at is not None and now > self.stage_due_at

    def at_risk(self, now: datetime) -> bool:
        """At least 80% of the stage's limit used, not yet over it."""
        f = self.stage_fraction(now)
        return f is not None and AT_RISK_FRACTION <= f <= 1.0

    def as_dict(self, now: datetime | None = None) -> dict:
        now = now or utcnow()
        d = dict(self.__dict__)
        d.pop("full_description")
        for k in ("reported_at", "stage_started_at", "stage_due_at"):
            d[k] = d[k].isoformat() if d[k] else None
        f = self.stage_fraction(now)
        d.update(stage_fraction=None if f is None else round(f, 3), overdue=self.overdue(now),
                 at_risk=self.at_risk(now))
        return d


class CaseService:
    """Intake and workflow over one district; thread-safe (each call opens its own transaction)."""

    def __init__(self, store: Store, gazetteer: Gazetteer, catalogue: Catalogue,
                 policy: workflow.TimeLimitPolicy) -> None:
        self.store = store
        self.gazetteer = gazetteer
        self.catalogue = catalogue
        self.policy = policy
        self.masker = TextMasker()  # the brain gives it the district's resident names at start
        self._disclosed: dict[tuple[str, int], datetime] = {}  # (actor, case) -> when its personal data was last
        self._disclosed_lock = threading.Lock()  # shown unmasked (audited once an hour, not at every refresh)
        # what else a case move changes, in the same transaction (the person's duty, their task): brain.flows
        self.followers: list[Callable[[Unit, Case, CaseStatus, CaseStatus, datetime], None]] = []

    def description_for(self, view: CaseView, *, may_read_personal: bool, actor: str | None,
                        source: str | None = None) -> str:
        """The description a person reads: as typed for a role that may read personal data (the disclosure
        is audited, once an hour per person and case), masked for any other."""
        if not may_read_personal or not view.personal or actor is None:
            return view.description
        now = utcnow()
        key = (actor, view.id)
        with self._disclosed_lock:
            last = self._disclosed.get(key)
            due = last is None or now - last >= DISCLOSURE_AUDIT_EVERY
            if due:
                self._disclosed[key] = now
                if len(self._disclosed) > 10_000:
                    self._disclosed = {k: t for k, t in self._disclosed.items() if now - t < DISCLOSURE_AUDIT_EVERY}
        if due:
            self.store.audit(actor=actor, action="privacy.unmask", subject=f"case:{view.id}", source=source,
                             detail={"fields": ["description"]})
        return view.full_description or ""

    def mask_payload(self, payload: dict) -> dict:
        """An event's payload with personal data masked in every text it holds (descriptions, notes, replies)."""
        return {k: self.masker.mask(v) if isinstance(v, str) and k in FREE_TEXT else v for k, v in payload.items()}

    def view_of(self, c: Case) -> CaseView:
        """The view of a case row read in a session (its description masked; see CaseView)."""
        due = self.policy.stage_due(c.category, c.priority, c.status, c.stage_started_at)
        return CaseView(id=c.id, status=c.status, channel=c.channel, category=c.category, priority=c.priority,
                        description=self.masker.mask(c.description), full_description=c.description,
                        lon=c.lon, lat=c.lat, pole=c.pole_number, grid=c.grid_code,
                        committee=c.committee_code, department=c.department, reported_at=c.reported_at,
                        stage_started_at=c.stage_started_at, stage_due_at=due, version=c.version,
                        assigned_team_id=c.assigned_team_id, assigned_staff_id=c.assigned_staff_id,
                        rework_count=c.rework_count, parent_id=c.parent_id, text=c.text)

    def open_case(self, *, channel: str, category: str, description: str = "", pole: str | None = None,
                  lon: float | None = None, lat: float | None = None, coord_system: str = "wgs84",
                  priority: str | None = None, device_id: str | None = None, actor: str,
                  source: str | None = None, at: datetime | None = None, text: dict | None = None,
                  correlation_id: str | None = None) -> CaseView:
        """Validate, locate and record a new case in state `reported`; emits ``case.opened``. `text`: what the
        product says of the case, as a catalogue entry ({"key", "params"}), instead of words in one language."""
        new = self.prepare(channel=channel, category=category, description=description, pole=pole, lon=lon,
                           lat=lat, coord_system=coord_system, priority=priority, device_id=device_id, text=text)
        with self.store.unit(actor, source=source, correlation_id=correlation_id) as u:
            return self.view_of(self.open_in(u, new, at or utcnow()))

    def prepare(self, *, channel: str, category: str, description: str = "", pole: str | None = None,
                lon: float | None = None, lat: float | None = None, coord_system: str = "wgs84",
                priority: str | None = None, device_id: str | None = None,
                max_description: int = MAX_DESCRIPTION, text: dict | None = None) -> NewCase:
        """A new case checked and located, not yet recorded (IntakeError naming the input at fault)."""
        try:
            channel = Channel(channel).value
        except ValueError:
            raise IntakeError(f"unknown channel {channel!r}; one of: {', '.join(c.value for c in Channel)}",
                              field="channel", key="refused.intake.channel") from None
        if category not in self.catalogue:
            raise IntakeError(f"unknown category {category!r}", field="category", key="refused.intake.category")
        cat = self.catalogue.get(category)
        if priority is not None:
            try:
                priority = Priority(priority).value
            except ValueError:
                raise IntakeError(f"unknown priority {priority!r}", field="priority",
                                  key="refused.intake.priority") from None
        description = (description or "").strip()
        if len(description) > max_description:
            raise IntakeError(f"description longer than {max_description} characters", field="description",
                              key="refused.intake.description", max=max_description)
        pole_number = None
        if pole is not None and str(pole).strip():
            try:
                p = self.gazetteer.lookup(str(pole))
            except PoleNotFound as e:
                raise IntakeError(str(e), field="pole", suggestions=e.suggestions, key="r.pole.not_found",
                                  number=str(pole)[:40]) from None
            lon, lat, pole_number = p.lon, p.lat, p.number
        elif lon is None or lat is None:
            raise IntakeError("give a pole number, or both lon and lat", field="pole", key="refused.intake.where")
        else:
            try:
                lon, lat = to_wgs84(float(lon), float(lat), coord_system)
            except ValueError as e:
                raise IntakeError(f"bad coordinates: {e}", field="lon", key="refused.intake.coordinates") from None
        try:
            where = self.gazetteer.locate(lon, lat)
        except ValueError as e:
            raise IntakeError(str(e), field="lon", key="refused.intake.coordinates") from None
        if not where.inside:
            raise IntakeError(f"point ({lon:.6f}, {lat:.6f}) is outside the district", field="lon",
                              key="refused.r.where")
        if pole_number is None and where.pole is not None and (where.pole_distance_m or 0) <= 50:
            pole_number = where.pole.number
        return NewCase(channel=channel, category=category, priority=priority or cat.priority.value,
                       description=description, lon=float(lon), lat=float(lat), pole=pole_number, grid=where.grid,
                       committee=where.committee, department=cat.department, device_id=device_id, text=text)

    def open_in(self, u: Unit, new: NewCase, now: datetime, *, reporter_phone: str | None = None,
                reporter_name: str | None = None) -> Case:
        """Record a prepared case inside unit `u` (with the resident's phone and name, personal data, if
        given); emits ``case.opened``. Returns the row."""
        case = Case(channel=new.channel, category=new.category, priority=new.priority,
                    status=CaseStatus.REPORTED.value, description=new.description, lon=new.lon, lat=new.lat,
                    pole_number=new.pole, grid_code=new.grid, committee_code=new.committee,
                    department=new.department, device_id=new.device_id, text=new.text, reporter_phone=reporter_phone,
                    reporter_name=reporter_name, reported_at=now, stage_started_at=now, updated_at=now)
        case.correlation_id = u.correlation_id  # an alarm's escalation: the alarm's chain (none: the case's own)
        u.session.add(case)
        u.session.flush()
        if u.correlation_id is None:  # a case of its own is a chain of its own (the column stays empty)
            u.correlation_id = f"case:{case.id}"
        u.emit(EventType.CASE_OPENED, "case", case.id, {
            "channel": new.channel, "category": new.category, "priority": case.priority, "lon": new.lon,
            "lat": new.lat, "pole": new.pole, "grid": new.grid, "committee": new.committee,
            "department": new.department, "status": case.status}, at=now)
        return case

    @staticmethod
    def locked(u: Unit, case_id: int, version: int | None) -> Case:
        """The case row, locked for update; VersionConflict if `version` is given and stale."""
        case = u.session.get(Case, case_id, with_for_update=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        if u.correlation_id is None:  # what this unit changes belongs to the case's chain
            u.correlation_id = case.correlation_id or f"case:{case.id}"
        if version is not None and case.version != version:
            raise VersionConflict(f"case {case_id} is at version {case.version}, not {version}: "
                                  "someone else changed it; reload and decide again")
        return case

    def apply(self, u: Unit, case: Case, target: CaseStatus, *, note: str | None, now: datetime,
              extra: dict | None = None) -> Event:
        """Move `case` to `target` inside unit `u`: checks the table, stamps, logs ``case.<target>``, and has
        the followers make the move's other changes in the same unit. Returns the event."""
        current = CaseStatus(case.status)
        deferred_from = CaseStatus(case.deferred_from) if case.deferred_from else None
        workflow.check(current, target, deferred_from=deferred_from, note=note)
        if target is CaseStatus.VERIFIED:
            handler = u.session.scalar(select(EventRecord.actor).where(
                EventRecord.subject_type == "case", EventRecord.subject_id == str(case.id),
                EventRecord.type == "case.handled").order_by(EventRecord.seq.desc()).limit(1))
            if handler == u.actor:
                raise workflow.TransitionRefused("verification must be done by someone other than the handler "
                                                 f"({handler})", key="refused.verify.own")
        resuming = current is CaseStatus.DEFERRED and target is not CaseStatus.CANCELLED
        if target is CaseStatus.DEFERRED:
            case.deferred_from = current.value  # the stage clock stays where it was
        elif resuming:
            paused = now - (case.deferred_at or now)
            case.deferred_seconds += paused.total_seconds()
            case.deferred_from = None
            case.stage_started_at = case.stage_started_at + paused  # the pause does not count
        else:
            case.stage_started_at = now
        rework = current is CaseStatus.HANDLED and target is CaseStatus.DISPATCHED
        if rework:
            case.rework_count += 1
        column = workflow.STAMP.get(target)
        if column and not rework and not resuming:
            setattr(case, column, now)
        if target is CaseStatus.CLOSED:
            case.reply = note
        case.status = target.value
        case.updated_at = now
        if note:
            case.note = note
        u.session.flush()
        event = u.emit(EventType.case_move(target), "case", case.id, {
            "from": current.value, "to": target.value, "note": note, "rework": case.rework_count, **(extra or {})},
            at=now)
        for follow in self.followers:
            follow(u, case, current, target, now)
        return event

    def transition(self, case_id: int, *, to: str, actor: str, note: str | None = None,
                   version: int | None = None, source: str | None = None, at: datetime | None = None,
                   photo_ref: str | None = None) -> CaseView:
        """Move a case to `to` if the table allows it; stamps the stage column; emits ``case.<to>``.

        With `version`, refuses (VersionConflict) when the case changed since that version.
        Merging has its own operation (`merge`), since it needs the parent.
        """
        try:
            target = CaseStatus(to)
        except ValueError:
            raise workflow.TransitionRefused(f"unknown state {to!r}") from None
        if target is CaseStatus.MERGED:
            raise workflow.TransitionRefused("merge a case with its parent: use merge()")
        now = at or utcnow()
        try:
            with self.store.unit(actor, source=source) as u:
                case = self.locked(u, case_id, version)
                if photo_ref:
                    case.photo_ref = photo_ref[:200]
                self.apply(u, case, target, note=note, now=now, extra={"photo_ref": photo_ref} if photo_ref else None)
                view = self.view_of(case)
        except StaleDataError:
            raise VersionConflict(f"case {case_id} was changed by someone else") from None
        return view

    def merge(self, case_id: int, *, into: int, actor: str, version: int | None = None,
              source: str | None = None) -> CaseView:
        """Make a duplicate the child of its parent case (state `merged`); emits ``case.merged``."""
        if case_id == into:
            raise workflow.TransitionRefused("a case cannot be merged into itself")
        now = utcnow()
        try:
            with self.store.unit(actor, source=source) as u:
                case = self.locked(u, case_id, version)
                parent = u.session.get(Case, into)
                if parent is None:
                    raise CaseNotFound(f"no parent case {into}")
                if not CaseStatus(parent.status).is_open:
                    raise workflow.TransitionRefused(f"parent case {into} is {parent.status}, not open")
                case.parent_id = parent.id
                self.apply(u, case, CaseStatus.MERGED, note=None, now=now, extra={"parent": parent.id})
                view = self.view_of(case)
        except StaleDataError:
            raise VersionConflict(f"case {case_id} was changed by someone else") from None
        return view

    def feedback(self, case_id: int, *, satisfaction: str, actor: str, note: str | None = None,
                 source: str | None = None, at: datetime | None = None) -> None:
        """Record the resident's answer to the reply of a closed case (回访); emits ``case.feedback``.

        The last answer counts; the state of the case does not change."""
        with self.store.unit(actor, source=source) as u:
            self.feedback_in(u, case_id, satisfaction=satisfaction, note=note, now=at or utcnow())

    def feedback_in(self, u: Unit, case_id: int, *, satisfaction: str, note: str | None, now: datetime) -> Case:
        """`feedback` within the unit `u` (a step of a larger change: the resident's own answer); the case."""
        if satisfaction not in SATISFACTION:
            raise IntakeError(f"satisfaction is one of {', '.join(SATISFACTION)}", field="satisfaction",
                              key="refused.r.satisfaction")
        if note and len(note) > MAX_DESCRIPTION:
            raise IntakeError(f"note longer than {MAX_DESCRIPTION} characters", field="note",
                              key="refused.intake.note", max=MAX_DESCRIPTION)
        case = self.locked(u, case_id, None)
        if case.status != CaseStatus.CLOSED.value:
            raise workflow.TransitionRefused(f"case {case_id} is {case.status}: feedback follows the closing reply")
        u.emit(EventType.CASE_FEEDBACK, "case", case.id, {"satisfaction": satisfaction, "note": note}, at=now)
        return case

    def timeline(self, case_id: int, *, personal: bool = False) -> list[dict]:
        """Every event of a case, oldest first; personal data in its texts masked unless `personal`."""
        with self.store.db.read() as s:
            rows = s.scalars(select(EventRecord).where(EventRecord.subject_type == "case",
                                                       EventRecord.subject_id == str(case_id))
                             .order_by(EventRecord.seq)).all()
            return [{"type": e.type, "at": e.at.isoformat(), "actor": e.actor,
                     "payload": e.payload if personal else self.mask_payload(e.payload or {})} for e in rows]

    def duplicates(self, *, category: str, lon: float, lat: float, pole: str | None = None,
                   within_m: float = DUPLICATE_RADIUS_M) -> list[dict]:
        """Open cases of the same category at the same pole or within `within_m` metres, nearest first."""
        dlat = within_m / 111_000 * 1.5
        dlon = dlat / max(0.2, math.cos(math.radians(lat)))
        with self.store.db.read() as s:
            nearby = Case.lon.between(lon - dlon, lon + dlon) & Case.lat.between(lat - dlat, lat + dlat)
            q = select(Case).where(Case.category == category, Case.status.not_in([t.value for t in TERMINAL]),
                                   nearby | (Case.pole_number == pole) if pole else nearby)
            rows = s.scalars(q).all()
        out = []
        for c in rows:
            d = float(haversine_m(lon, lat, c.lon, c.lat))
            if d <= within_m or (pole and c.pole_number == pole):
                out.append({"id": c.id, "status": c.status, "pole": c.pole_number, "distance_m": round(d, 1),
                            "reported_at": c.reported_at.isoformat(),
                            "description": self.masker.mask(c.description)})
        return sorted(out, key=lambda r: (r["distance_m"], r["id"]))

    def get(self, case_id: int) -> CaseView:
        with self.store.db.read() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise CaseNotFound(f"no case {case_id}")
            return self.view_of(case)

    def search(self, *, statuses: list[str] | None = None, open_only: bool = False, category: str | None = None,
               committee: str | None = None, channel: str | None = None, pole: str | None = None,
               text: str | None = None, phone: str | None = None, may_read_personal: bool = False,
               limit: int = 50, offset: int = 0) -> tuple[int, list[CaseView]]:
        """Cases matching every filter given, newest first, a page of them and how many match in all.

        `text` matches a case number (all digits) or words of the description; `pole` a number as read off
        a pole (tolerant). Without `may_read_personal`, searching by personal data (a phone number, a
        resident's name in `text`, or `phone`) raises PersonalSearch: a search must not reveal which
        cases hold a given resident's data to a role that may not read it."""
        self._may_search(text=text, phone=bool(phone), may_read_personal=may_read_personal)
        q = select(Case)
        if statuses:
            q = q.where(Case.status.in_(statuses))
        if open_only:
            q = q.where(Case.status.not_in([t.value for t in TERMINAL]))
        for column, value in ((Case.category, category), (Case.committee_code, committee),
                              (Case.channel, channel)):
            if value:
                q = q.where(column == value)
        if pole:
            try:
                q = q.where(Case.pole_number == self.gazetteer.lookup(pole).number)
            except PoleNotFound:
                return 0, []
        if text:
            words = text.strip()
            match = _contains(words)
            number = int(words) if words.isdigit() and len(words) <= 10 else None
            q = q.where(match | (Case.id == number) if number is not None and number < 2**31 else match)
        if phone:
            digits = "".join(ch for ch in phone if ch.isdigit())
            q = q.where(Case.reporter_phone.contains(digits) if digits else Case.reporter_phone.is_(None))
        with self.store.db.read() as s:
            total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
            rows = s.scalars(q.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset))
            return total, [self.view_of(c) for c in rows]

    def _may_search(self, *, text: str | None, phone: bool, may_read_personal: bool) -> None:
        """PersonalSearch for a role that may not read personal data searching by it: a caller's phone, or words
        that hold a resident's data (a search must not reveal which cases hold them)."""
        if may_read_personal:
            return
        if phone:
            raise PersonalSearch("searching by a caller's phone needs the permission to read personal data")
        if text and self.masker.mask(text) != text:
            raise PersonalSearch("these words hold personal data: searching by them needs the permission to "
                                 "read personal data")

    def find(self, query: str, *, may_read_personal: bool, limit: int = 50, offset: int = 0
             ) -> tuple[int, list[CaseView]]:
        """What a dispatcher types in one box: a case number, a pole number (as read off the pole), words of the
        description, or a caller's phone (for a role that may read personal data; PersonalSearch otherwise).
        Every kind that matches is found (0412 is case 412 and pole 0412), newest first."""
        words = (query or "").strip()
        if not words:
            return 0, []
        q = select(Case)
        conditions = []
        digits = "".join(ch for ch in words if ch.isdigit())
        phone_like = len(digits) >= 7 and all(ch.isdigit() or ch in " +-()" for ch in words)
        self._may_search(text=None if phone_like else words, phone=phone_like, may_read_personal=may_read_personal)
        if phone_like:
            conditions.append(Case.reporter_phone.contains(digits))
        if words.isdigit() and len(words) <= 10 and int(words) < 2**31:
            conditions.append(Case.id == int(words))
        try:
            conditions.append(Case.pole_number == self.gazetteer.lookup(words).number)
        except PoleNotFound:
            pass
        conditions.append(_contains(words))
        q = q.where(or_(*conditions))
        with self.store.db.read() as s:
            total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
            rows = s.scalars(q.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset))
            return total, [self.view_of(c) for c in rows]

    def views(self, case_ids) -> dict[int, CaseView]:
        """The cases of `case_ids` that exist, by id, whatever their state (one read)."""
        ids = sorted({int(i) for i in case_ids})
        if not ids:
            return {}
        with self.store.db.read() as s:
            return {c.id: self.view_of(c) for c in s.scalars(select(Case).where(Case.id.in_(ids)))}

    def open_cases(self, limit: int = 5000, *, pole: str | None = None) -> list[CaseView]:
        """Every case not yet closed, cancelled or merged (at one pole, if given), oldest first."""
        q = select(Case).where(Case.status.not_in([t.value for t in TERMINAL]))
        if pole is not None:
            q = q.where(Case.pole_number == pole)
        with self.store.db.read() as s:
            return [self.view_of(c) for c in s.scalars(q.order_by(Case.reported_at).limit(limit))]
