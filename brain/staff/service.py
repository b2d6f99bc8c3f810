"""Staff operations: duty status changes (events) and position fixes (telemetry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from brain.events.kinds import EventType
from brain.events.log import Store
from brain.ingest.models import MESSAGES as INGEST_MESSAGES
from brain.staff.enums import DutyStatus
from brain.staff.models import Staff, StaffTrack, Team
from brain.storage.db import insert_new, utcnow

READ_CHUNK = 5000  # ids per IN list (under every database's limit on bound parameters)


@dataclass(frozen=True)
class Fix:
    staff_id: str
    lon: float
    lat: float
    at: datetime
    speed: float | None = None


@dataclass(frozen=True)
class StaffView:
    id: str
    name: str
    team_id: str
    team_name: str
    department: str
    department_name: str
    duties: list[str]
    status: str
    mode: str
    lon: float | None
    lat: float | None
    position_at: datetime | None
    report_interval_s: int

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["position_at"] = self.position_at.isoformat() if self.position_at else None
        return d


class StaffService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def roster(self, staff_ids=None) -> list[StaffView]:
        """Every staff member (or those of `staff_ids`) with team, department, duties, status and last
        position."""
        q = select(Staff, Team).join(Team, Staff.team_id == Team.id).order_by(Staff.id)
        if staff_ids is not None:
            q = q.where(Staff.id.in_(sorted(set(staff_ids))))
        with self.store.db.read() as s:
            rows = s.execute(q).all()
            return [StaffView(id=p.id, name=p.name, team_id=t.id, team_name=t.name, department=t.department,
                              department_name=t.department_name, duties=list(t.duties), status=p.status,
                              mode=p.mode, lon=p.lon, lat=p.lat, position_at=p.position_at,
                              report_interval_s=p.report_interval_s) for p, t in rows]

    def record_fixes(self, fixes: list[Fix], *, actor: str = "gps") -> int:
        """Store a batch of position fixes (latest wins per person) and publish ``staff.moved`` for each.

        Fixes older than the stored position are kept in the track but do not move the person.
        Returns how many people moved.
        """
        if not fixes:
            return 0
        with self.store.unit(actor) as u:
            return self.record_in(u, fixes)

    def record_messages(self, fixes: list[tuple[str, Fix]], *, actor: str = "gps") -> set[str]:
        """Store fixes that arrived as messages, each (message id, fix), as record_fixes does; a message id
        handled before (table ingest_messages, written in the same transaction) is skipped: handling a
        message twice changes nothing, whichever worker gets it. Returns the ids recorded now."""
        if not fixes:
            return set()
        with self.store.unit(actor) as u:
            fresh = insert_new(u.session, INGEST_MESSAGES, "id", {i for i, _f in fixes}, kind="position",
                               at=utcnow())
            new, taken = [], set()
            for i, f in fixes:
                if i in fresh and i not in taken:  # (the same message twice in one batch: once)
                    taken.add(i)
                    new.append(f)
            self.record_in(u, new)
        return taken

    def path(self, staff_id: str, start: datetime, end: datetime, limit: int = 2000) -> list[tuple[float, float]]:
        """The positions a person reported between `start` and `end`, oldest first (at most `limit`, evenly
        thinned)."""
        with self.store.db.read() as s:
            rows = s.execute(select(StaffTrack.lon, StaffTrack.lat).where(
                StaffTrack.staff_id == staff_id, StaffTrack.at >= start, StaffTrack.at <= end)
                .order_by(StaffTrack.at, StaffTrack.seq)).all()
        points = [(float(a), float(b)) for a, b in rows]
        step = max(1, -(-len(points) // limit))
        kept = points[::step]
        if points and kept[-1] != points[-1]:
            kept.append(points[-1])  # the last position is where they are (or arrived)
        return kept

    def record_in(self, u, fixes: list[Fix]) -> int:
        """The fixes' track rows and moves within the unit `u`; returns how many fixes moved someone.

        In order, as if each were applied alone: a fix moves its person when it is not older than the
        position held (or than the batch's earlier fix for them). Whatever the batch's size: one insert of
        the track rows, one read of the people's times (locked until the transaction ends) and one update
        per person moved, sent as one batch."""
        if not fixes:
            return 0
        session = u.session
        session.execute(insert(StaffTrack), [{"staff_id": f.staff_id, "at": f.at, "lon": f.lon, "lat": f.lat,
                                              "speed": f.speed} for f in fixes])
        ids = sorted({f.staff_id for f in fixes})
        held: dict[str, datetime | None] = {}
        for i in range(0, len(ids), READ_CHUNK):
            held.update(session.execute(select(Staff.id, Staff.position_at)
                                        .where(Staff.id.in_(ids[i:i + READ_CHUNK])).with_for_update()).all())
        latest: dict[str, Fix] = {}
        moved = 0
        for f in fixes:
            if f.staff_id not in held:
                continue
            at = held[f.staff_id]
            if at is None or at <= f.at:
                held[f.staff_id] = f.at
                latest[f.staff_id] = f
                moved += 1
                u.signal(EventType.STAFF_MOVED, "staff", f.staff_id,
                         {"lon": f.lon, "lat": f.lat, "at": f.at.isoformat(), "speed": f.speed})
        if latest:
            session.connection().execute(  # (on the connection: one executemany, not the ORM's bulk path)
                update(Staff).where(Staff.id == bindparam("sid"))
                .values(lon=bindparam("new_lon"), lat=bindparam("new_lat"), position_at=bindparam("new_at")),
                [{"sid": f.staff_id, "new_lon": f.lon, "new_lat": f.lat, "new_at": f.at} for f in latest.values()])
        return moved

    def prune_track(self, *, older_than: datetime) -> int:
        """Delete position fixes older than `older_than` (telemetry retention); returns how many."""
        with self.store.db.transaction() as s:
            res = s.execute(delete(StaffTrack).where(StaffTrack.at < older_than))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def set_status(self, staff_id: str, status: str, *, actor: str, reason: str | None = None) -> None:
        """Change a person's duty status; emits ``staff.status_changed`` if it really changed."""
        with self.store.unit(actor) as u:
            person = u.session.get(Staff, staff_id)
            if person is None:
                raise LookupError(f"no staff member {staff_id}")
            self.set_status_in(u, person, DutyStatus(status), reason=reason, now=utcnow())

    def back_in_service(self, staff_id: str, *, actor: str, reason: str | None = None) -> bool:
        """A person returning from a case is available again (said by the person, or their crew); a person in
        any other state is left as they are (sent a new case meanwhile, gone off duty). Says whether it changed."""
        with self.store.unit(actor) as u:
            person = u.session.get(Staff, staff_id, with_for_update=True)
            if person is None or person.status != DutyStatus.RETURNING.value:
                return False
            return self.set_status_in(u, person, DutyStatus.AVAILABLE, reason=reason, now=utcnow())

    @staticmethod
    def set_status_in(u, person: Staff, status: DutyStatus, *, reason: str | None, now: datetime) -> bool:
        """Change `person`'s duty status within the unit `u` (a step of a larger change); emits
        ``staff.status_changed`` if it really changed, and says whether it did."""
        old = person.status
        if old == status.value:
            return False
        person.status = status.value
        u.session.flush()
        u.emit(EventType.STAFF_STATUS_CHANGED, "staff", person.id, {"from": old, "to": status.value, "reason": reason},
               at=now)
        return True
