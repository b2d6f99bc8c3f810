"""The KPI service: windows in local days, indicators with numerators and denominators, breakdowns,
trends, the cases behind any figure, alarm and staff indicators and the shift-handover report.

Case indicators read `case_facts` (one row per case, kept by the projector), selecting the window's
cohort through the index on `reported_at`; everything else is arithmetic on that frame.
"""

from __future__ import annotations

import io
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Float, func, select, type_coerce

from brain.alarms.enums import WELFARE_TYPES, AlarmState
from brain.alarms.models import Alarm
from brain.district.models import Device
from brain.kpi.facts import CaseFacts, FactsProjector
from brain.kpi.indicators import (
    BY_KEY,
    CASE_INDICATORS,
    INDICATOR_COLUMNS,
    Indicator,
    Target,
    closure_due,
    load_targets,
)
from brain.staff.enums import DutyStatus
from brain.staff.models import Staff
from brain.storage.db import Database, EpochSeconds, utcnow

WINDOWS = ("today", "7d", "30d", "custom")
MAX_WINDOW_DAYS = 366
UNPLACED = "—"  # the group of cases without a value for the breakdown (no committee, no team yet)

_COLUMNS = [c.name for c in CaseFacts.__table__.columns]
_TIMES = [c.name for c in CaseFacts.__table__.columns if isinstance(c.type, EpochSeconds)]
_BOOLS = [c.name for c in CaseFacts.__table__.columns if c.type.__class__.__name__ == "Boolean"]
_TEXTS = [c.name for c in CaseFacts.__table__.columns if c.type.__class__.__name__ == "String"]
_NUMBERS = [c.name for c in CaseFacts.__table__.columns
            if c.type.__class__.__name__ in ("Float", "Integer") and c.name != "case_id"]


class KpiError(ValueError):
    """A request the KPI service cannot answer (bad window, unknown indicator or breakdown)."""


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, with the local dates it spans for display."""

    start: datetime
    end: datetime
    label: str
    tz: str

    def as_dict(self) -> dict:
        z = ZoneInfo(self.tz)
        return {"from": self.start.astimezone(z).isoformat(), "to": self.end.astimezone(z).isoformat(),
                "label": self.label}


@dataclass
class Figure:
    """One indicator's value and what it was computed from."""

    key: str
    value: float | None
    numerator: float | None
    denominator: float | None
    parts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"key": self.key, "value": self.value, "numerator": self.numerator, "denominator": self.denominator,
                **({"parts": self.parts} if self.parts else {})}


@dataclass
class Screen:
    """What the leaders' screen shows for one window and breakdown."""

    window: Window
    frame: pd.DataFrame
    figures: dict[str, Figure]
    groups: list[tuple[str, dict[str, Figure]]]
    trend: pd.DataFrame
    top_categories: list[tuple[str, int]]
    by_committee: dict[str, int]
    alarms: dict
    staff: dict
    # the same figures over the stretch just before (环比) and a year before (同比), cut at the same point
    previous: dict[str, Figure] = field(default_factory=dict)
    last_year: dict[str, Figure] = field(default_factory=dict)
    spread: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # mean kinds: median, p90


def local_midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


def window(kind: str, *, now: datetime, tz: str, start: date | None = None, end: date | None = None) -> Window:
    """A window of whole local days: today; the last 7 or 30 days including today; or custom dates
    `start`..`end`, both included."""
    z = ZoneInfo(tz)
    today = now.astimezone(z).date()
    if kind == "today":
        first, last = today, today
    elif kind in ("7d", "30d"):
        first, last = today - timedelta(days=int(kind[:-1]) - 1), today
    elif kind == "custom":
        if start is None or end is None:
            raise KpiError("a custom window needs both dates")
        first, last = start, end
    else:
        raise KpiError(f"unknown window {kind!r}; one of {', '.join(WINDOWS)}")
    if last < first:
        raise KpiError(f"the window ends ({last}) before it starts ({first})")
    if (last - first).days >= MAX_WINDOW_DAYS:
        raise KpiError(f"a window is at most {MAX_WINDOW_DAYS} days")
    return Window(start=local_midnight(first, z), end=local_midnight(last + timedelta(days=1), z),
                  label=f"{first.isoformat()}..{last.isoformat()}", tz=tz)


def span(start: datetime, end: datetime, tz: str) -> Window:
    """A window between two instants (the API's datetimes)."""
    if end <= start:
        raise KpiError("'to' must be after 'from'")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise KpiError(f"a window is at most {MAX_WINDOW_DAYS} days")
    return Window(start=start, end=end, label=f"{start.isoformat()}..{end.isoformat()}", tz=tz)


class Dimension(StrEnum):
    COMMITTEE = "committee"
    CATEGORY = "category"
    CHANNEL = "channel"
    DEPARTMENT = "department"
    GRID = "grid"
    TEAM = "team"


DIMENSIONS = tuple(d.value for d in Dimension)


def _instant_or_day(text: str, name: str, tz: ZoneInfo) -> tuple[datetime, bool]:
    """(instant, is_a_date) from a local date or a time with a zone."""
    try:
        if len(text) == 10:
            return local_midnight(date.fromisoformat(text), tz), True
        t = datetime.fromisoformat(text)
    except ValueError:
        raise KpiError(f"{name}: not a date (2026-11-10) or a time with a zone ({text!r})") from None
    if t.tzinfo is None:
        raise KpiError(f"{name}: give a time zone (e.g. 2026-11-10T08:00:00+08:00)")
    return t, False


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # the windows a report may cover


def parse_window(start: str | None, end: str | None, *, now: datetime, tz: str) -> Window:
    """The API's window: dates are local days (both included), times are instants (the end excluded)."""
    z = ZoneInfo(tz)
    if start is None:
        if end is not None:
            raise KpiError("'to' without 'from'")
        return window("today", now=now, tz=tz)
    t0, day0 = _instant_or_day(start, "from", z)
    if end is None:
        t1, day1 = t0, day0
    else:
        t1, day1 = _instant_or_day(end, "to", z)
    for name, t in (("from", t0), ("to", t1)):
        if not EARLIEST <= t.date() <= LATEST:  # beyond these a day's arithmetic overflows the calendar
            raise KpiError(f"'{name}' must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    if day0 and day1:
        return window("custom", now=now, tz=tz, start=t0.date(), end=t1.date())
    if day1:  # a date as the end includes that whole day
        t1 = t1 + timedelta(days=1)
    return span(t0, t1, tz)


def _masks(ind: Indicator, df: pd.DataFrame, now: pd.Timestamp) -> tuple[np.ndarray, np.ndarray | None]:
    num = np.asarray(ind.numerator(df, now), dtype=bool)
    den = None if ind.denominator is None else np.asarray(ind.denominator(df, now), dtype=bool)
    if den is not None:
        num = num & den  # a numerator is always part of its denominator
    return num, den


def _values(ind: Indicator, df: pd.DataFrame) -> np.ndarray:
    v = df[ind.column].to_numpy(dtype=float, na_value=np.nan)
    return v / 60.0 if ind.unit == "min" else v


Masks = dict[str, tuple[np.ndarray, np.ndarray | None]]


def masks(df: pd.DataFrame, now: datetime) -> Masks:
    """Each indicator's numerator and denominator rows; computed once per frame, then grouped at will.
    Under the key ``_closure_parts``: the due and the deferred rows of on-time closure."""
    ts = pd.Timestamp(now)
    out: Masks = {ind.key: _masks(ind, df, ts) for ind in CASE_INDICATORS}
    due = closure_due(df, ts)
    out["_closure_parts"] = (due, due & df["ever_deferred"].to_numpy(dtype=bool))
    return out


def evaluate(df: pd.DataFrame, now: datetime, codes: np.ndarray | None = None, k: int = 1,
             m: Masks | None = None) -> dict[str, list[Figure]]:
    """Every case indicator for each of `k` groups (`codes`: the group of each row; None: one group)."""
    m = masks(df, now) if m is None else m
    codes = np.zeros(len(df), dtype=np.int64) if codes is None else codes
    out: dict[str, list[Figure]] = {}
    for ind in CASE_INDICATORS:
        num, den = m[ind.key]
        if ind.kind == "count":
            n = np.bincount(codes[num], minlength=k)
            out[ind.key] = [Figure(ind.key, float(n[g]), float(n[g]), None) for g in range(k)]
        elif ind.kind == "rate":
            assert den is not None
            n, d = np.bincount(codes[num], minlength=k), np.bincount(codes[den], minlength=k)
            out[ind.key] = [Figure(ind.key, round(100.0 * n[g] / d[g], 2) if d[g] else None, float(n[g]),
                                   float(d[g])) for g in range(k)]
        elif ind.kind in ("mean", "p90"):
            vals = _values(ind, df)
            ok = num & ~np.isnan(vals)
            sums = np.bincount(codes[ok], weights=vals[ok], minlength=k)
            cnt = np.bincount(codes[ok], minlength=k)
            if ind.kind == "mean":
                out[ind.key] = [Figure(ind.key, round(sums[g] / cnt[g], 2) if cnt[g] else None,
                                       round(float(sums[g]), 2), float(cnt[g])) for g in range(k)]
            else:
                q = pd.Series(vals[ok]).groupby(codes[ok]).quantile(0.9) if ok.any() else pd.Series(dtype=float)
                out[ind.key] = [Figure(ind.key, round(float(q[g]), 2) if g in q.index else None, None,
                                       float(cnt[g])) for g in range(k)]
        else:  # ratio: cases per distinct value of `column`
            n = np.bincount(codes[num], minlength=k)
            people = pd.Series(df[ind.column].to_numpy()[num]).groupby(codes[num]).nunique()
            out[ind.key] = [Figure(ind.key, round(n[g] / people[g], 2) if people.get(g, 0) else None, float(n[g]),
                                   float(people.get(g, 0))) for g in range(k)]
    # the on-time closure denominator is "due - deferred": show both parts
    due, deferred = m["_closure_parts"]
    n_due, n_deferred = np.bincount(codes[due], minlength=k), np.bincount(codes[deferred], minlength=k)
    for g, fig in enumerate(out["on_time_closure_rate"]):
        fig.parts = {"due": float(n_due[g]), "deferred": float(n_deferred[g])}
    return out


def as_rows(facts: list[dict]) -> list[tuple]:
    """Facts as `derive()` gives them, as rows the way the table stores them (times in epoch seconds)."""
    times = set(_TIMES)
    return [tuple((f[c].timestamp() if f[c] is not None else None) if c in times else f[c] for c in _COLUMNS)
            for f in facts]


def to_frame(rows: list, columns: list[str] = _COLUMNS) -> pd.DataFrame:
    """`case_facts` rows (tuples of `columns`, times in epoch seconds) as a frame with UTC times and the
    derived columns."""
    return _finish(pd.DataFrame.from_records(rows, columns=columns))


def _from_csv(data: bytes, columns: list[str]) -> pd.DataFrame:
    """The frame from PostgreSQL's CSV (COPY): text columns kept as text, booleans from t/f."""
    texts = [c for c in _TEXTS if c in columns]
    df = pd.read_csv(io.BytesIO(data), dtype=dict.fromkeys(texts, "object"), keep_default_na=False,
                     na_values={c: [""] for c in columns})
    for c in _BOOLS:
        if c in df:
            df[c] = df[c].map({"t": True, "f": False}).astype(object)
    for c in texts:
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return _finish(df)


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    for c in _TIMES:  # epoch seconds, as stored
        if c in df:
            df[c] = pd.to_datetime(pd.to_numeric(df[c]).astype(float), unit="s", utc=True)
    for c in _NUMBERS:
        if c in df:
            df[c] = pd.to_numeric(df[c]).astype(float)
    if "ever_deferred" in df:
        df["ever_deferred"] = df["ever_deferred"].astype(bool)
    if "arrived_at" in df and "reported_at" in df:
        df["t_response"] = (df["arrived_at"] - df["reported_at"]).dt.total_seconds()
    return df


class KpiService:
    """Indicators over a database; stateless apart from its settings."""

    def __init__(self, db: Database, projector: FactsProjector, *, tz: str = "Asia/Shanghai",
                 targets: dict[str, Target] | None = None) -> None:
        self.db = db
        self.projector = projector
        self.tz = tz
        self.targets = load_targets() if targets is None else targets  # green/amber per indicator

    # --- the case frame ------------------------------------------------------------------------
    def frame(self, w: Window, columns: AbstractSet[str] | None = None) -> pd.DataFrame:
        """The window's cohort: the facts of every case reported in [start, end) (only `columns`, if given)."""
        t = CaseFacts.__table__
        names = _COLUMNS if columns is None else [c for c in _COLUMNS if c in columns]
        # times come back as the stored numbers (no per-value conversion); to_frame converts them at once
        cols = [type_coerce(t.c[c], Float) if c in _TIMES else t.c[c] for c in names]
        q = select(*cols).where(t.c.reported_at >= w.start, t.c.reported_at < w.end)
        with self.db.read() as s:
            conn = s.connection()
            if conn.dialect.name == "postgresql":
                # COPY streams the rows as CSV, parsed in C by pandas: several times faster than row fetching
                sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                with conn.connection.driver_connection.cursor() as cur:  # type: ignore[union-attr]
                    with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                        data = b"".join(bytes(chunk) for chunk in copy)
                return _from_csv(data, names)
            rows = [tuple(r) for r in conn.execute(q).fetchall()]  # plain tuples: fastest for pandas
        return to_frame(rows, names)

    def ensure_facts(self) -> int:
        """Replay the log into `case_facts` if the table is behind the cases (a database that predates
        it); returns the number of cases replayed (0: nothing to do)."""
        from brain.cases.models import Case

        with self.db.read() as s:
            cases = s.scalar(select(func.count()).select_from(Case)) or 0
            facts = s.scalar(select(func.count()).select_from(CaseFacts)) or 0
        if cases == facts:
            return 0
        with self.db.transaction() as s:
            return self.projector.rebuild(s)

    # --- indicators ------------------------------------------------------------------------------
    def figures(self, df: pd.DataFrame, now: datetime | None = None, m: Masks | None = None) -> dict[str, Figure]:
        return {k: v[0] for k, v in evaluate(df, now or utcnow(), m=m).items()}

    def breakdown(self, df: pd.DataFrame, by: str, now: datetime | None = None, m: Masks | None = None
                  ) -> list[tuple[str, dict[str, Figure]]]:
        """The indicators per value of `by` (committee, category, ...), largest group first."""
        if by not in DIMENSIONS:
            raise KpiError(f"unknown breakdown {by!r}; one of {', '.join(DIMENSIONS)}")
        codes, uniques = pd.factorize(df[by].fillna(UNPLACED))
        figs = evaluate(df, now or utcnow(), codes.astype(np.int64), len(uniques), m=m)
        groups = [(str(u), {k: v[g] for k, v in figs.items()}) for g, u in enumerate(uniques)]
        return sorted(groups, key=lambda kv: (-(kv[1]["reported"].value or 0), kv[0]))

    def behind(self, df: pd.DataFrame, key: str, *, part: str = "numerator", by: str | None = None,
               group: str | None = None, now: datetime | None = None) -> list[int]:
        """The ids of the cases behind a figure: its numerator's or its denominator's cases, oldest first."""
        ind = BY_KEY.get(key)
        if ind is None:
            raise KpiError(f"unknown indicator {key!r}")
        if part not in ("numerator", "denominator"):
            raise KpiError("part is 'numerator' or 'denominator'")
        num, den = _masks(ind, df, pd.Timestamp(now or utcnow()))
        mask = num if part == "numerator" or den is None else den
        if ind.kind in ("mean", "p90"):
            mask = mask & ~np.isnan(_values(ind, df))
        if by is not None:
            if by not in DIMENSIONS:
                raise KpiError(f"unknown breakdown {by!r}")
            mask = mask & (df[by].fillna(UNPLACED) == group).to_numpy()
        sel = df.loc[mask].sort_values(["reported_at", "case_id"])
        return [int(i) for i in sel["case_id"]]

    def trend(self, df: pd.DataFrame, w: Window) -> pd.DataFrame:
        """Cases reported and closed per local hour (window of one day) or per local day."""
        z = ZoneInfo(w.tz)
        hourly = (w.end - w.start) <= timedelta(days=1)
        freq = "h" if hourly else "D"
        index = pd.date_range(w.start.astimezone(z), w.end.astimezone(z), freq=freq, inclusive="left")

        def count(col: str) -> pd.Series:
            t = df[col].dropna()
            t = t[(t >= w.start) & (t < w.end)].dt.tz_convert(z).dt.floor(freq)
            return t.value_counts().reindex(index, fill_value=0)

        return pd.DataFrame({"reported": count("reported_at"), "closed": count("closed_at")}, index=index)

    # --- alarms and staff ---------------------------------------------------------------------
    def alarms(self, w: Window) -> dict:
        """Alarms raised in the window: by severity and type, time to acknowledge, false alarms, welfare."""
        with self.db.read() as s:
            rows = s.execute(select(Alarm.severity, Alarm.type, Alarm.state, Alarm.first_at, Alarm.acknowledged_at,
                                    Alarm.false_alarm).where(Alarm.first_at >= w.start, Alarm.first_at < w.end)).all()
            devices = s.execute(select(Device.online, func.count()).where(Device.maintenance.is_(False))
                                .group_by(Device.online)).all()
        df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=[
            "severity", "type", "state", "first_at", "acknowledged_at", "false_alarm"])
        acked = [(a - f).total_seconds() / 60 for f, a in zip(df["first_at"], df["acknowledged_at"], strict=True)
                 if a is not None and not pd.isna(a)]
        verdicts = df["false_alarm"].dropna()
        n_false = int((verdicts == True).sum())  # noqa: E712
        online = {bool(o): int(n) for o, n in devices}
        total_devices = sum(online.values())
        welfare = df[df["type"].isin(WELFARE_TYPES)]
        outcome = {
            "open": int(welfare["state"].isin((AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED)).sum()),
            "false": int((welfare["false_alarm"] == True).sum()),  # noqa: E712
            "confirmed": int((welfare["false_alarm"] == False).sum()),  # noqa: E712
        }
        outcome["cleared_unjudged"] = len(welfare) - sum(outcome.values())
        return {
            "total": len(df),
            "by_severity": {str(k): int(v) for k, v in df["severity"].value_counts().items()},
            "by_type": {str(k): int(v) for k, v in df["type"].value_counts().items()},
            "ack_time_mean": Figure("ack_time_mean", round(float(np.mean(acked)), 2) if acked else None,
                                    round(float(np.sum(acked)), 2), float(len(acked))),
            "false_alarm_rate": Figure("false_alarm_rate", round(100.0 * n_false / len(verdicts), 2)
                                       if len(verdicts) else None, float(n_false), float(len(verdicts))),
            "device_online_rate": Figure("device_online_rate", round(100.0 * online.get(True, 0) / total_devices, 2)
                                         if total_devices else None, float(online.get(True, 0)), float(total_devices)),
            "welfare": {"total": len(welfare), **outcome},
        }

    def staff_now(self) -> dict:
        """Staff by duty status now, and how many are on duty."""
        with self.db.read() as s:
            rows = dict(s.execute(select(Staff.status, func.count()).group_by(Staff.status)).all())
        by = {st.value: int(rows.get(st.value, 0)) for st in DutyStatus}
        return {"on_duty": sum(v for k, v in by.items() if k != DutyStatus.OFF_DUTY), "by_status": by}

    # --- everything at once ---------------------------------------------------------------------
    def screen(self, w: Window, by: str, now: datetime | None = None, top: int = 10) -> Screen:
        """Everything the /kpi screen shows for a window and a breakdown, from one read of the cohort."""
        now = now or utcnow()
        df = self.frame(w, INDICATOR_COLUMNS | {by, "committee", "category"})
        m = masks(df, now)
        before, year = self.earlier(w, now)
        return Screen(window=w, frame=df, figures=self.figures(df, now, m), groups=self.breakdown(df, by, now, m),
                      trend=self.trend(df, w),
                      top_categories=[(str(k), int(v)) for k, v in df["category"].value_counts().head(top).items()],
                      by_committee={str(k): int(v) for k, v in df["committee"].value_counts().items()},
                      alarms=self.alarms(w), staff=self.staff_now(),
                      previous=self.figures(self.frame(before, INDICATOR_COLUMNS), before.end),
                      last_year=self.figures(self.frame(year, INDICATOR_COLUMNS), year.end),
                      spread={i.key: self.spread(df, i.key, now, m) for i in CASE_INDICATORS if i.kind == "mean"})

    @staticmethod
    def earlier(w: Window, now: datetime) -> tuple[Window, Window]:
        """The windows a figure is compared with: as long and just before (环比), and the same local dates a
        year before (同比); each cut at the point `now` has reached in `w` (today so far against yesterday
        until the same hour, not all of yesterday)."""
        z = ZoneInfo(w.tz)
        reached = min(max(now, w.start), w.end)
        length = w.end - w.start
        first = w.start.astimezone(z).date()
        try:
            year_first = first.replace(year=first.year - 1)
        except ValueError:  # 29 February
            year_first = first.replace(year=first.year - 1, day=28)
        shift = w.start - local_midnight(year_first, z)
        return (Window(w.start - length, reached - length, "previous", w.tz),
                Window(w.start - shift, reached - shift, "last_year", w.tz))

    def spread(self, df: pd.DataFrame, key: str, now: datetime, m: Masks | None = None
               ) -> tuple[float | None, float | None]:
        """The median and 90th percentile of a mean indicator's values (in its unit), beside the mean."""
        ind = BY_KEY[key]
        m = masks(df, now) if m is None else m
        vals = _values(ind, df)
        ok = m[key][0] & ~np.isnan(vals)
        if not ok.any():
            return None, None
        v = vals[ok]
        return round(float(np.median(v)), 2), round(float(np.quantile(v, 0.9)), 2)

    def report(self, w: Window, *, by: str | None = None, now: datetime | None = None, locale: str = "zh-CN"
               ) -> dict:
        """The API's answer: the window, every indicator with its definition, numerator and denominator,
        the breakdown if asked, alarms and staff."""
        now = now or utcnow()
        df = self.frame(w)
        m = masks(df, now)
        figs = self.figures(df, now, m)

        def row(f: Figure) -> dict:
            ind = BY_KEY[f.key]
            return {**f.as_dict(), "name": ind.name(locale), "unit": ind.unit, "definition": ind.definition(locale)}

        out: dict = {"window": w.as_dict(), "computed_at": now.isoformat(), "cohort": "cases reported in the window",
                     "indicators": [row(figs[i.key]) for i in CASE_INDICATORS]}
        if by:
            out["by"] = by
            out["groups"] = [{"group": g, "indicators": [f.as_dict() for f in fs.values()]}
                             for g, fs in self.breakdown(df, by, now, m)]
        alarms = self.alarms(w)
        for k in ("ack_time_mean", "false_alarm_rate", "device_online_rate"):
            alarms[k] = alarms[k].as_dict()
        out["alarms"] = alarms
        out["staff"] = self.staff_now()
        return out
