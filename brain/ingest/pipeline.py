"""The ingest pipeline: every message, from MQTT, the Redis queue or HTTP, takes its kind's route in ROUTES
(at the end of this module), an ordered list of small named stages:

    alarm     decode_body -> read_alarm    -> check_time -> identify_alarm -> persist (de-duplicate, enrich, store)
    status    decode_body -> read_status   -> check_time                   -> persist (enrich: the device)
    position  decode_body -> read_position -> check_time -> check_place -> identify_fix -> persist (enrich, ...)

decode_body refuses a body too big, too deep or holding text no database can store. Each message has an
id (given, or derived from its content) stored in `ingest_messages` in the transaction of its effect:
one mechanism for every kind, so handling a message twice changes nothing (a status is a heartbeat:
twice is once). A message that fails a stage is refused with a reason: logged, counted, and kept in
`ingest_rejects` with the start of what arrived. Nothing a message does escapes `Pipeline.handle`: a
consumer never dies of bad input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from brain.alarms.monitor import DeviceMonitor
from brain.alarms.service import MAX_FUTURE, AlarmMessage, AlarmNotFound, AlarmService, AlarmView
from brain.ingest.models import MESSAGES, IngestReject
from brain.staff.models import Staff
from brain.staff.service import Fix, StaffService
from brain.storage.db import Database, insert_new, utcnow
from geodata.crs import to_wgs84
from geodata.gazetteer import Gazetteer

log = logging.getLogger(__name__)

MAX_BYTES = 16 * 1024
MAX_AGE = timedelta(days=7)  # older than this is not news: refused, not replayed into the live state
ID_MAX = 80
EXCERPT = 500
DEAD_LETTER = "dead_letter"  # the reason a message that kept failing is kept under
MAX_DEPTH = 16  # nesting a message may have: a device's body is flat; thousands of levels are an attack
# text no database column can hold: NUL (PostgreSQL refuses it) and lone surrogates (not encodable as UTF-8)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Refused(Exception):
    """A stage refused the message; `reason` is a short code, the message says why in words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    status: str  # accepted | duplicate | suppressed | rejected
    reason: str | None = None
    detail: str | None = None
    id: str | None = None
    created: bool | None = None  # alarms: a new alarm (else a repeat bumped the live one)
    alarm: AlarmView | None = None


@dataclass(frozen=True)
class Message:
    """A message as it arrived, before any stage: its kind (alarm | status | position), body, where it came
    from, the device or staff member its topic names, who its events name, and `key`: where it may come
    again (a queue entry's place), so that a refusal is recorded once."""

    kind: str
    raw: bytes | str | dict
    source: str
    subject: str | None = None
    actor: str = "device"
    key: str | None = None


# --- decode and validate ---------------------------------------------------------------------------
def decode(raw: bytes | str | dict) -> dict:
    """A message's body as a JSON object, refused (Refused) if it is too big, not JSON, nested deeper
    than MAX_DEPTH or holds text no database can store; never any other exception."""
    if isinstance(raw, dict):
        body = raw
    else:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")  # a lone surrogate is refused below, not replaced
        if len(raw) > MAX_BYTES:
            raise Refused("oversized", f"{len(raw)} bytes; at most {MAX_BYTES}")
        try:
            body = orjson.loads(raw)  # strict JSON, in C: what devices send (refuses beyond 1,024 levels)
        except orjson.JSONDecodeError as e:
            if "depth limit" in str(e):  # orjson's own bound: the standard reader would only recurse deeper
                raise Refused("too_deep", f"nested deeper than {MAX_DEPTH} levels") from None
            try:  # the standard reader: NaN and Infinity (refused later by name), integers beyond 64 bits
                body = json.loads(raw.decode("utf-8"), parse_constant=lambda c: float("nan"))
            except RecursionError:
                raise Refused("too_deep", f"nested deeper than {MAX_DEPTH} levels") from None
            except (UnicodeDecodeError, ValueError) as e:
                raise Refused("malformed_json", f"not JSON: {e}") from None
    if not isinstance(body, dict):
        raise Refused("malformed_json", "a JSON object is expected")
    refuse_unstorable(body)
    return body


def refuse_unstorable(value, depth: int = 0, *, limit: int = MAX_DEPTH) -> None:
    """Refuse (Refused) a value nested deeper than `limit` or holding, in a key or a text, a NUL or a
    lone surrogate: refused here, on its own, it cannot fail a batch of good messages at the database."""
    if depth > limit:
        raise Refused("too_deep", f"nested deeper than {limit} levels")
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            raise Refused("unstorable_text", "text holds a NUL character or a lone surrogate")
    elif isinstance(value, dict):
        for k, v in value.items():
            refuse_unstorable(k, depth + 1, limit=limit)
            refuse_unstorable(v, depth + 1, limit=limit)
    elif isinstance(value, list):
        for v in value:
            refuse_unstorable(v, depth + 1, limit=limit)


def _text(body: dict, name: str, *, required: bool = True, limit: int = 40) -> str | None:
    v = body.get(name)
    if type(v) is str and 0 < len(v) <= limit and not v[0].isspace() and not v[-1].isspace():
        return v  # the usual case, checked in one step: text of a fitting length with nothing to strip
    if v is None or v == "":
        if required:
            raise Refused("missing_field", f"{name} is required")
        return None
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise Refused("bad_field", f"{name} must be text")
    v = str(v).strip()
    if not v or len(v) > limit:
        raise Refused("bad_field", f"{name} must be 1 to {limit} characters")
    return v


def parse_time(v, *, now: datetime, name: str = "ts") -> datetime:
    """An ISO time with a zone, or epoch seconds (or milliseconds); not in the future, not stale."""
    if v is None or v == "":
        raise Refused("missing_field", f"{name} is required")
    try:
        numeric = (isinstance(v, (int, float)) and not isinstance(v, bool)) or (
            isinstance(v, str) and v.replace(".", "", 1).isdigit())
        if numeric:
            x = float(v)
            if not math.isfinite(x):
                raise ValueError("not finite")
            t = datetime.fromtimestamp(x / 1000 if x > 1e11 else x, UTC)
        elif isinstance(v, str):
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
        else:
            raise ValueError(f"{type(v).__name__}")
    except (ValueError, OverflowError, OSError) as e:
        raise Refused("bad_timestamp", f"{name}: not a time ({e})") from None
    if t.tzinfo is None:
        raise Refused("bad_timestamp", f"{name}: give a time zone (e.g. 2026-11-22T08:00:00+08:00)")
    if t > now + MAX_FUTURE:
        raise Refused("future_timestamp", f"{name} {t.isoformat()} is in the future")
    if t < now - MAX_AGE:
        raise Refused("stale_timestamp", f"{name} {t.isoformat()} is more than {MAX_AGE.days} days old")
    return t


def _number(body: dict, name: str, *, required: bool = True) -> float | None:
    v = body.get(name)
    if v is None or v == "":
        if required:
            raise Refused("missing_field", f"{name} is required")
        return None
    if isinstance(v, bool):  # a JSON true is no number (float(True) would read it as 1.0)
        raise Refused("bad_field", f"{name} must be a number")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise Refused("bad_field", f"{name} must be a number") from None
    if not math.isfinite(x):
        raise Refused("not_a_number", f"{name} is not a finite number")
    return x


def _device_id(body: dict, from_topic: str | None) -> str:
    """The device a message is about: the topic's (MQTT), which the body may repeat but not contradict."""
    named = _text(body, "device_id", required=from_topic is None)
    refuse_unstorable(from_topic)
    if from_topic is None:
        return str(named)
    if named is not None and named != from_topic:
        raise Refused("device_mismatch", f"topic names {from_topic}, body {named}")
    return from_topic


def _actor(actor: str, device_id: str) -> str:
    """Who a device message's events name: the plain "device" of a gateway's topic (or of the queue)
    becomes the device the body names, as on the device's own topic."""
    return f"device:{device_id}"[:100] if actor == "device" else actor


def derived_id(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


class Pipeline:
    """One per process; thread-safe. Counts what it accepted, skipped as duplicate and refused."""

    def __init__(self, db: Database, alarms: AlarmService, staff: StaffService, gazetteer: Gazetteer,
                 monitor: DeviceMonitor | None = None) -> None:
        self.db = db
        self.alarms = alarms
        self.monitor = monitor
        self.staff = staff
        self.gazetteer = gazetteer
        self.counts: Counter = Counter()
        self._lock = threading.Lock()
        minx, miny, maxx, maxy = gazetteer.district.boundary.bounds
        self._bbox = (minx, miny, maxx, maxy)

    # --- bookkeeping ---------------------------------------------------------------------------
    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def reject(self, kind: str, source: str, reason: str, detail: str, raw=None, *, key: str | None = None) -> Outcome:
        """Log, keep and count a refused message; never raises. It is counted once kept (or once keeping
        it has failed), so a reader who sees the count finds the row.

        `key` names the message where it may come again (a queue entry handed out again after a database
        failure): a refusal with a key already recorded is neither recorded nor counted twice. A failure
        of the brain's own (internal_error) is recorded each time it happens."""
        excerpt = raw if isinstance(raw, str) else (
            raw.decode("utf-8", "replace") if isinstance(raw, bytes) else json.dumps(raw, ensure_ascii=False,
                                                                                     default=str))
        outcome = Outcome("rejected", reason=reason, detail=detail)
        # what is kept must itself be storable: the text that was refused for holding NUL, say
        excerpt, detail, source = (UNSTORABLE.sub("\ufffd", t or "") for t in (excerpt, detail, source))
        now = utcnow()
        try:
            with self.db.transaction() as s:
                if key is not None and reason != "internal_error" and not insert_new(
                        s, MESSAGES, "id", {f"refused:{key}"[:80]}, kind="refused",
                        at=now):
                    return outcome  # this very message was refused, recorded and counted before
                s.add(IngestReject(at=now, source=source[:120], kind=kind, reason=reason[:40],
                                   detail=detail[:1000], excerpt=(excerpt or "")[:EXCERPT]))
        except Exception:  # the database is down: the log line and the counter still hold it
            log.exception("could not record a refused message")
        log.warning("ingest refused a %s from %s: %s (%s)", kind, source, reason, detail)
        self._count(f"{kind}.rejected.{reason}")
        return outcome

    def dead_letter(self, kind: str, source: str, raw, detail: str) -> bool:
        """Keep a message that kept failing as a dead letter (reason ``dead_letter``, the whole message,
        to be looked at and replayed); True once it is written, False if it could not be (the database
        away: whoever holds the message keeps it)."""
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        body, detail, source = (UNSTORABLE.sub("\ufffd", t) for t in (body, detail, source))
        try:
            with self.db.transaction() as s:
                s.add(IngestReject(at=utcnow(), source=source[:120], kind=kind[:16], reason=DEAD_LETTER,
                                   detail=detail[:1000], excerpt=body[:MAX_BYTES]))
        except Exception:
            log.exception("could not keep a dead letter")
            return False
        log.error("ingest gave up on a %s from %s: %s", kind, source, detail)
        self._count(f"{kind}.dead_letter")
        return True

    def dead_letters(self, since: datetime) -> int:
        """How many messages went to a dead letter since `since` (every worker's)."""
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(IngestReject).where(
                IngestReject.reason == DEAD_LETTER, IngestReject.at >= since)) or 0)

    def stats(self, hours: int = 24) -> dict:
        """This process's counters, and the refusals of the last `hours` recorded by every worker."""
        since = utcnow() - timedelta(hours=hours)
        with self.db.read() as s:
            rows = s.execute(select(IngestReject.reason, func.count()).where(IngestReject.at >= since)
                             .group_by(IngestReject.reason)).all()
        with self._lock:
            counts = dict(self.counts)
        return {"process": counts, f"rejected_last_{hours}h": {r: int(n) for r, n in rows},
                "rejected_total_last_24h": sum(int(n) for _r, n in rows) if hours == 24 else None}

    # --- the route of every message -------------------------------------------------------------
    def handle(self, messages: list[Message]) -> list[Outcome]:
        """Handle messages of any kind, in order, each through its kind's ROUTES: the per-message stages,
        then the kind's batch stage for all that passed them (the alarms of a call in one transaction).
        One outcome each; nothing a message does raises here: a consumer never dies of bad input."""
        out: list[Outcome | None] = [None] * len(messages)
        now = utcnow()
        passed: dict[str, list[tuple[int, Message, dict]]] = {}
        for i, m in enumerate(messages):
            route = ROUTES.get(m.kind)
            if route is None:
                out[i] = self.reject("unknown", m.source, "unknown_kind", f"no handler for kind {m.kind!r}",
                                     m.raw, key=m.key)
                continue
            ctx: dict = {"now": now}
            try:
                for stage in route.stages:
                    stage(self, m, ctx)
            except Refused as e:
                out[i] = self.reject(m.kind, m.source, e.reason, str(e), m.raw, key=m.key)
                continue
            except Exception as e:  # a fault of the brain's: refused with its reason, the consumer goes on
                log.exception("%s ingest failed", m.kind)
                out[i] = self.reject(m.kind, m.source, "internal_error", f"{type(e).__name__}: {e}", m.raw)
                continue
            passed.setdefault(m.kind, []).append((i, m, ctx))
        for kind, items in passed.items():
            for (i, _m, _ctx), outcome in zip(items, ROUTES[kind].finish(self, items), strict=True):
                out[i] = outcome
        return [o if o is not None else Outcome("rejected", reason="internal_error") for o in out]

    def handle_alarm(self, raw, *, source: str, device_from_topic: str | None = None,
                     actor: str = "device") -> Outcome:
        """An alarm message: {"device_id", "type", "ts", optional "id", "severity"}."""
        return self.handle([Message("alarm", raw, source, device_from_topic, actor)])[0]

    def handle_alarms(self, items: list[tuple]) -> list[Outcome]:
        """Many alarm messages, each (raw, source, device from the topic or None, actor[, key]), as handle."""
        return self.handle([Message("alarm", raw, source, topic, actor, *key)
                            for raw, source, topic, actor, *key in items])

    def handle_status(self, raw, *, source: str, device_from_topic: str | None = None,
                      actor: str = "device", key: str | None = None) -> Outcome:
        """A device's status: {"device_id" (or the topic's), "ts", optional "activity": true (a door opened,
        water ran)}. Every status is a heartbeat; handling one twice changes nothing more."""
        return self.handle([Message("status", raw, source, device_from_topic, actor, key)])[0]

    def handle_position(self, raw, *, source: str, staff_from_topic: str | None = None,
                        actor: str = "gps", key: str | None = None) -> Outcome:
        """A position: {"id" (staff), "lat", "lon", "timestamp", optional "speed", "bearing", "accuracy",
        "coord" (wgs84 | gcj02 | bd09)}; OsmAnd's names, as Traccar clients send them."""
        return self.handle([Message("position", raw, source, staff_from_topic, actor, key)])[0]

    # --- batch stages: de-duplicate + enrich + persist (+ publish on commit) -----------------------
    def _persist_alarms(self, items: list[tuple[int, Message, dict]]) -> list[Outcome]:
        try:
            results = self._raise([ctx["alarm"] for _i, _m, ctx in items])
        except Exception as e:  # a bug or an outage: refused with its reason, the consumer goes on
            log.exception("alarm ingest failed")
            results = [e] * len(items)
        tally: Counter = Counter()  # counted for the batch at once, not a lock per message
        outs = [self._alarm_outcome(r, ctx["alarm"], m.source, m.raw, tally, m.key)
                for (_i, m, ctx), r in zip(items, results, strict=True)]
        with self._lock:
            self.counts.update(tally)
        return outs

    def _raise(self, messages: list[AlarmMessage]) -> list:
        """Raise a batch in one transaction; if it fails, each message in its own, so one message that
        fails (a concurrent writer, a bug, a value the database will not take) never takes a good one
        with it. A result per message: what raise_many gave, or the exception of that message alone."""
        try:
            return list(self.alarms.raise_many(messages))
        except Exception as e:  # one by one, a concurrent writer's conflict retried once
            if len(messages) > 1 or not isinstance(e, IntegrityError):
                log.warning("an alarm batch of %d failed (%s: %s); handled one by one", len(messages),
                            type(e).__name__, e)
            results: list = []
            for m in messages:
                for attempt in range(2):
                    try:
                        results.extend(self.alarms.raise_many([m]))
                        break
                    except IntegrityError as err:
                        if attempt:
                            results.append(err)
                    except Exception as err:
                        log.exception("alarm %s of %s could not be stored", m.message_id, m.device_id)
                        results.append(err)
                        break
            return results

    def _alarm_outcome(self, r, m: AlarmMessage, source: str, raw, tally: Counter, key: str | None) -> Outcome:
        """One message's outcome; what it counts goes to `tally` (a refusal is counted as it is kept)."""
        if isinstance(r, Exception):
            return self.reject("alarm", source, "internal_error", f"{type(r).__name__}: {r}", raw)
        if r.status == "duplicate":
            tally["alarm.duplicate"] += 1
            return Outcome("duplicate", id=m.message_id)
        if r.status == "suppressed":  # in the log as alarm.suppressed: recorded, not raised
            tally[f"alarm.suppressed.{r.reason}"] += 1
            return Outcome("suppressed", reason=r.reason)
        if r.status == "refused":
            return self.reject("alarm", source, r.code or "refused", str(r.reason), raw, key=key)
        tally["alarm.accepted"] += 1
        return Outcome("accepted", id=r.alarm.id, created=r.status == "created", alarm=r.alarm)

    def _persist_statuses(self, items: list[tuple[int, Message, dict]]) -> list[Outcome]:
        outs = []
        for _i, m, ctx in items:
            try:
                if self.monitor is None:
                    raise Refused("refused", "this process does not follow device status")
                try:                                                   # enrich (the device) + persist + publish
                    result = self.monitor.status(ctx["device_id"], at=ctx["at"], activity=ctx["activity"],
                                                 actor=_actor(m.actor, ctx["device_id"]))
                except AlarmNotFound:
                    raise Refused("unknown_device", f"unknown device {ctx['device_id']!r}") from None
            except Refused as e:
                outs.append(self.reject("status", m.source, e.reason, str(e), m.raw, key=m.key))
                continue
            except Exception as e:
                log.exception("status ingest failed")
                outs.append(self.reject("status", m.source, "internal_error", f"{type(e).__name__}: {e}", m.raw))
                continue
            self._count("status.accepted")
            outs.append(Outcome("accepted", id=str(ctx["device_id"]), created=bool(result["came_back"])))
        return outs

    def _persist_positions(self, items: list[tuple[int, Message, dict]]) -> list[Outcome]:
        """Known staff only (enrich); each fix's message id (derived from staff and time) recorded in the
        transaction of its fix, so a fix delivered twice changes nothing (de-duplicate + persist)."""
        outs: list[Outcome | None] = [None] * len(items)
        try:
            with self.db.read() as s:
                known = set(s.scalars(select(Staff.id).where(Staff.id.in_({ctx["staff_id"] for *_x, ctx in items}))))
            by_actor: dict[str, list[tuple[int, str, Fix]]] = {}
            for n, (_i, m, ctx) in enumerate(items):
                if ctx["staff_id"] not in known:
                    outs[n] = self.reject("position", m.source, "unknown_staff",
                                          f"unknown staff member {ctx['staff_id']!r}", m.raw, key=m.key)
                    continue
                by_actor.setdefault(m.actor, []).append((n, ctx["message_id"], ctx["fix"]))
            for actor, fixes in by_actor.items():
                fresh = self.staff.record_messages([(mid, fix) for _n, mid, fix in fixes], actor=actor)
                for n, mid, _fix in fixes:
                    outs[n] = Outcome("accepted", id=mid) if mid in fresh else Outcome("duplicate", id=mid)
                    fresh.discard(mid)  # the same fix twice in one batch: the second is the duplicate
        except Exception as e:
            log.exception("position ingest failed")
            for n, (_i, m, _ctx) in enumerate(items):
                if outs[n] is None or outs[n].status != "rejected":  # type: ignore[union-attr]
                    outs[n] = self.reject("position", m.source, "internal_error", f"{type(e).__name__}: {e}",
                                          m.raw)
        with self._lock:
            self.counts.update(f"position.{o.status}" for o in outs if o is not None and o.status != "rejected")
        return [o if o is not None else Outcome("rejected", reason="internal_error") for o in outs]

    def _near(self, lon: float, lat: float, margin_deg: float = 0.05) -> bool:
        """Within about 5 km of the district's box: staff may work just outside, not in another city."""
        minx, miny, maxx, maxy = self._bbox
        return minx - margin_deg <= lon <= maxx + margin_deg and miny - margin_deg <= lat <= maxy + margin_deg


# --- the stages: each takes (pipeline, message, what earlier stages found) and refuses with Refused ---------
def decode_body(p: Pipeline, m: Message, ctx: dict) -> None:
    """decode: JSON, at most MAX_BYTES and MAX_DEPTH, with no text a database cannot store."""
    ctx["body"] = decode(m.raw)


def read_alarm(p: Pipeline, m: Message, ctx: dict) -> None:
    """validate: the device (the topic's, which the body may repeat but not contradict), type, severity, id."""
    body = ctx["body"]
    ctx["device_id"] = _device_id(body, m.subject)
    ctx["type"] = str(_text(body, "type", limit=32))
    ctx["severity"] = _text(body, "severity", required=False, limit=16)
    ctx["given_id"] = _text(body, "id", required=False, limit=ID_MAX)
    ctx["ts"] = body.get("ts")


def read_status(p: Pipeline, m: Message, ctx: dict) -> None:
    """validate: the device and whether the message is a sign of life."""
    body = ctx["body"]
    ctx["device_id"] = _device_id(body, m.subject)
    ctx["ts"] = body.get("ts")
    activity = body.get("activity", False)
    if not isinstance(activity, bool):
        raise Refused("bad_field", "activity must be true or false")
    ctx["activity"] = activity


def read_position(p: Pipeline, m: Message, ctx: dict) -> None:
    """validate: the staff member (the topic's, which the body may repeat but not contradict), lat, lon,
    speed, datum."""
    body = ctx["body"]
    staff_id = _text(body, "id", required=m.subject is None, limit=20)
    if m.subject is not None:
        if staff_id is not None and staff_id != m.subject:
            raise Refused("staff_mismatch", f"topic names {m.subject}, body {staff_id}")
        staff_id = m.subject
    refuse_unstorable(staff_id)
    lat, lon = _number(body, "lat"), _number(body, "lon")
    assert lat is not None and lon is not None
    ctx.update(staff_id=str(staff_id), lat=lat, lon=lon, ts=body.get("timestamp"), ts_name="timestamp",
               speed=_number(body, "speed", required=False),
               system=(_text(body, "coord", required=False, limit=8) or "wgs84").lower())


def check_time(p: Pipeline, m: Message, ctx: dict) -> None:
    """validate: a time with a zone, not in the future, not stale."""
    ctx["at"] = parse_time(ctx["ts"], now=ctx["now"], name=ctx.get("ts_name", "ts"))


def check_place(p: Pipeline, m: Message, ctx: dict) -> None:
    """validate: coordinates, converted to WGS-84 from the sender's datum, near the district."""
    lat, lon = ctx["lat"], ctx["lon"]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        if p._near(lat, lon):
            raise Refused("swapped_coordinates", f"lat {lat} and lon {lon} look swapped")
        raise Refused("bad_coordinates", f"lat {lat}, lon {lon} are not coordinates")
    try:
        lon, lat = to_wgs84(lon, lat, ctx["system"])
    except ValueError:
        raise Refused("bad_field", f"coord {ctx['system']!r}: one of wgs84, gcj02, bd09") from None
    if not p._near(lon, lat):
        if p._near(lat, lon):
            raise Refused("swapped_coordinates", f"lat {lat} and lon {lon} look swapped")
        raise Refused("out_of_district", f"({lon:.5f}, {lat:.5f}) is far outside the district")
    ctx["lon"], ctx["lat"] = lon, lat


def identify_alarm(p: Pipeline, m: Message, ctx: dict) -> None:
    """The alarm's message id, given or derived from its content: what makes handling it twice change nothing."""
    given, at = ctx["given_id"], ctx["at"]
    ctx["alarm"] = AlarmMessage(device_id=ctx["device_id"], type=ctx["type"], at=at, severity=ctx["severity"],
                                alarm_id=given[:40] if given else None,
                                message_id=given or derived_id("alarm", ctx["device_id"], ctx["type"], at.isoformat()),
                                actor=_actor(m.actor, ctx["device_id"]))


def identify_fix(p: Pipeline, m: Message, ctx: dict) -> None:
    """The fix's message id, derived from staff and time: a fix delivered twice is recognised."""
    ctx["message_id"] = derived_id("position", ctx["staff_id"], ctx["at"].isoformat())
    ctx["fix"] = Fix(ctx["staff_id"], ctx["lon"], ctx["lat"], ctx["at"], ctx["speed"])


@dataclass(frozen=True)
class Route:
    """A kind's way through the pipeline: per-message stages, then one stage for the batch of those that
    passed (de-duplicate + enrich + persist, publishing after its commit)."""

    stages: tuple[Callable[[Pipeline, Message, dict], None], ...]
    finish: Callable[[Pipeline, list[tuple[int, Message, dict]]], list[Outcome]]


# The one routing table MQTT, the queue and HTTP share.
ROUTES: dict[str, Route] = {
    "alarm": Route((decode_body, read_alarm, check_time, identify_alarm), Pipeline._persist_alarms),
    "status": Route((decode_body, read_status, check_time), Pipeline._persist_statuses),
    "position": Route((decode_body, read_position, check_time, check_place, identify_fix),
                      Pipeline._persist_positions),
}
