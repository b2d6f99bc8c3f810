"""The ingest pipeline, in one place and in order:

    decode -> validate -> de-duplicate -> enrich -> persist -> publish

for device alarms and staff positions, from MQTT or HTTP alike. Each message has an id (given, or
derived from its content), so handling it twice changes nothing. A message that fails a stage is
refused with a reason: logged, counted, and kept in `ingest_rejects` with the start of what arrived.
Nothing raised by a message escapes `handle_*`: a consumer never dies of bad input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from brain.alarms.monitor import DeviceMonitor
from brain.alarms.service import MAX_FUTURE, AlarmMessage, AlarmNotFound, AlarmService, AlarmView
from brain.ingest.models import MESSAGES, IngestReject
from brain.staff.models import Staff, StaffTrack
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
            if "recursion" in str(e).lower():
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

    # --- alarms --------------------------------------------------------------------------------
    def handle_alarm(self, raw, *, source: str, device_from_topic: str | None = None,
                     actor: str = "device") -> Outcome:
        """An alarm message: {"device_id", "type", "ts", optional "id", "severity"}."""
        return self.handle_alarms([(raw, source, device_from_topic, actor)])[0]

    def handle_alarms(self, items: list[tuple]) -> list[Outcome]:
        """Many alarm messages, each (raw, source, device from the topic or None, actor[, key for
        reject]), in order, with one transaction for all that pass validation; one outcome each. A batch
        that meets a concurrent writer (the same live alarm or message id) is handled again one message
        at a time."""
        out: list[Outcome | None] = [None] * len(items)
        parsed: list[tuple[int, AlarmMessage]] = []
        now = utcnow()
        keys = [item[4] if len(item) > 4 else None for item in items]
        for i, (raw, source, topic, actor, *_key) in enumerate(items):
            try:
                parsed.append((i, self._parse_alarm(raw, topic, actor, now)))            # decode + validate
            except Refused as e:
                out[i] = self.reject("alarm", source, e.reason, str(e), raw, key=keys[i])
        if parsed:
            try:                                         # enrich + de-duplicate + persist (publish on commit)
                results = self._raise([m for _i, m in parsed])
            except Exception as e:  # a bug or an outage: refused with its reason, the consumer goes on
                log.exception("alarm ingest failed")
                results = [e] * len(parsed)
            tally: Counter = Counter()  # counted for the batch at once, not a lock per message
            for (i, m), r in zip(parsed, results, strict=True):
                raw, source = items[i][0], items[i][1]
                out[i] = self._alarm_outcome(r, m, source, raw, tally, keys[i])
            with self._lock:
                self.counts.update(tally)
        return [o if o is not None else Outcome("rejected", reason="internal_error") for o in out]

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

    @staticmethod
    def _parse_alarm(raw, device_from_topic: str | None, actor: str, now: datetime) -> AlarmMessage:
        body = decode(raw)
        device_id = _device_id(body, device_from_topic)
        type_ = str(_text(body, "type", limit=32))
        ts = parse_time(body.get("ts"), now=now)
        severity = _text(body, "severity", required=False, limit=16)
        given = _text(body, "id", required=False, limit=ID_MAX)
        return AlarmMessage(device_id=device_id, type=type_, at=ts, severity=severity,
                            alarm_id=given[:40] if given else None,
                            message_id=given or derived_id("alarm", device_id, type_, ts.isoformat()),
                            actor=_actor(actor, device_id))

    # --- device status (heartbeats, signs of life) ------------------------------------------------
    def handle_status(self, raw, *, source: str, device_from_topic: str | None = None,
                      actor: str = "device", key: str | None = None) -> Outcome:
        """A device's status: {"device_id" (or the topic's), "ts", optional "activity": true (a door opened,
        water ran)}. Every status is a heartbeat; handling one twice changes nothing more."""
        try:
            body = decode(raw)                                                      # decode
            device_id = _device_id(body, device_from_topic)                         # validate
            ts = parse_time(body.get("ts"), now=utcnow())
            activity = body.get("activity", False)
            if not isinstance(activity, bool):
                raise Refused("bad_field", "activity must be true or false")
            if self.monitor is None:
                raise Refused("refused", "this process does not follow device status")
            try:                                                   # enrich (the device) + persist + publish
                result = self.monitor.status(device_id, at=ts, activity=activity, actor=_actor(actor, device_id))
            except AlarmNotFound:
                raise Refused("unknown_device", f"unknown device {device_id!r}") from None
        except Refused as e:
            return self.reject("status", source, e.reason, str(e), raw, key=key)
        except Exception as e:
            log.exception("status ingest failed")
            return self.reject("status", source, "internal_error", f"{type(e).__name__}: {e}", raw)
        self._count("status.accepted")
        return Outcome("accepted", id=str(device_id), created=bool(result["came_back"]))

    # --- positions -----------------------------------------------------------------------------
    def handle_position(self, raw, *, source: str, staff_from_topic: str | None = None,
                        actor: str = "gps", key: str | None = None) -> Outcome:
        """A position: {"id" (staff), "lat", "lon", "timestamp", optional "speed", "bearing", "accuracy",
        "coord" (wgs84 | gcj02 | bd09)}; OsmAnd's names, as Traccar clients send them."""
        try:
            body = decode(raw)
            now = utcnow()
            staff_id = _text(body, "id", required=staff_from_topic is None, limit=20)
            if staff_from_topic is not None:
                if staff_id is not None and staff_id != staff_from_topic:
                    raise Refused("staff_mismatch", f"topic names {staff_from_topic}, body {staff_id}")
                staff_id = staff_from_topic
            refuse_unstorable(staff_id)
            lat, lon = _number(body, "lat"), _number(body, "lon")
            assert lat is not None and lon is not None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                if self._near(lat, lon):
                    raise Refused("swapped_coordinates", f"lat {lat} and lon {lon} look swapped")
                raise Refused("bad_coordinates", f"lat {lat}, lon {lon} are not coordinates")
            at = parse_time(body.get("timestamp"), now=now, name="timestamp")
            speed = _number(body, "speed", required=False)
            system = (_text(body, "coord", required=False, limit=8) or "wgs84").lower()
            try:
                lon, lat = to_wgs84(lon, lat, system)
            except ValueError:
                raise Refused("bad_field", f"coord {system!r}: one of wgs84, gcj02, bd09") from None
            if not self._near(lon, lat):
                if self._near(lat, lon):
                    raise Refused("swapped_coordinates", f"lat {lat} and lon {lon} look swapped")
                raise Refused("out_of_district", f"({lon:.5f}, {lat:.5f}) is far outside the district")
            with self.db.read() as s:                                                  # enrich + de-duplicate
                if s.get(Staff, staff_id) is None:
                    raise Refused("unknown_staff", f"unknown staff member {staff_id!r}")
                seen = s.scalar(select(func.count()).select_from(StaffTrack).where(
                    StaffTrack.staff_id == staff_id, StaffTrack.at == at))
            if seen:
                self._count("position.duplicate")
                return Outcome("duplicate")
            self.staff.record_fixes([Fix(str(staff_id), lon, lat, at, speed)], actor=actor)  # persist + publish
        except Refused as e:
            return self.reject("position", source, e.reason, str(e), raw, key=key)
        except Exception as e:
            log.exception("position ingest failed")
            return self.reject("position", source, "internal_error", f"{type(e).__name__}: {e}", raw)
        self._count("position.accepted")
        return Outcome("accepted")

    def _near(self, lon: float, lat: float, margin_deg: float = 0.05) -> bool:
        """Within about 5 km of the district's box: staff may work just outside, not in another city."""
        minx, miny, maxx, maxy = self._bbox
        return minx - margin_deg <= lon <= maxx + margin_deg and miny - margin_deg <= lat <= maxy + margin_deg
