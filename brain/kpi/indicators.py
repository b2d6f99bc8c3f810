"""The case indicators: each one's definition in words sits beside the code that computes it.

Every case indicator is computed over the *cohort* of the window: the cases reported in it. A count
is the number of cohort cases that satisfy its numerator; a rate divides that by the cases in its
denominator; a mean or a 90th percentile is taken over a column of the numerator's cases. The masks
are also what the drill-down lists, so a figure and the cases behind it cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

Mask = Callable[[pd.DataFrame, pd.Timestamp], np.ndarray]

OPEN = ("reported", "registered", "dispatched", "handling", "handled", "verified", "deferred")
FINISHED_ELSEWHERE = ("cancelled", "merged")


@dataclass(frozen=True)
class Indicator:
    key: str
    kind: str  # count | rate | mean | p90 | ratio
    zh: str
    en: str
    definition_zh: str
    definition_en: str
    numerator: Mask
    denominator: Mask | None = None
    column: str | None = None  # mean / p90: the column, in seconds (shown in minutes) or metres
    unit: str = ""  # "%", "min", "m", ""
    better: str = "high"  # which way is good, for colour grades: high | low

    def name(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en

    def definition(self, locale: str) -> str:
        return self.definition_zh if locale.startswith("zh") else self.definition_en


def _all(df, now):
    return np.ones(len(df), dtype=bool)


def _has(col: str) -> Mask:
    return lambda df, now: df[col].notna().to_numpy()


def _true(col: str) -> Mask:
    return lambda df, now: (df[col] == True).to_numpy()  # noqa: E712  (NULL counts as not true)


def _valid_reports(df, now):
    # a duplicate merged before it was registered was never a separate problem
    return ~((df["status"] == "merged") & df["registered_at"].isna()).to_numpy()


def _handling_due(df, now):
    """Cases whose handling clock has run out: handled, or past the handling deadline and still live."""
    handled = df["handled_at"].notna()
    late = (df["handle_due_at"] < now) & ~df["status"].isin(("deferred", *FINISHED_ELSEWHERE))
    return (df["dispatched_at"].notna() & (handled | late.fillna(False))).to_numpy()


def closure_due(df, now):
    """Cases that should be closed by now: closed, or past the sum of their stage limits."""
    return (~df["status"].isin(FINISHED_ELSEWHERE) & (df["closed_at"].notna() | (df["close_due_at"] <= now))).to_numpy()


def _closure_due_not_deferred(df, now):
    return closure_due(df, now) & ~df["ever_deferred"].to_numpy(dtype=bool)


def _closed_on_time(df, now):
    return _closure_due_not_deferred(df, now) & (df["close_on_time"] == True).to_numpy()  # noqa: E712


def _overdue_now(df, now):
    return (df["status"].isin(OPEN) & (df["stage_due_at"] < now).fillna(False)).to_numpy()


def _repeat_at_pole(df, now):
    with_pole = df["pole"].notna()
    repeat = df.sort_values("reported_at").duplicated(subset=["pole", "category"], keep="first").reindex(df.index)
    return (with_pole & repeat).to_numpy()


def _satisfied(df, now):
    return df["satisfaction"].isin(("satisfied", "basically_satisfied")).to_numpy()


def _reworked(df, now):
    return (df["rework"] > 0).to_numpy()


STAGE_NAMES = {
    "register": ("立案", "registration", "上报到立案", "reported to registered"),
    "dispatch": ("派遣", "dispatch", "立案到派遣", "registered to dispatched"),
    "arrive": ("到场", "arrival", "派遣到到场", "dispatched to on scene"),
    "handle": ("处置", "handling", "到场到处置完成", "on scene to handled"),
    "verify": ("核查", "verification", "处置完成到核查", "handled to verified"),
    "close": ("结案", "closing", "核查到结案", "verified to closed"),
}


def _stage_indicators() -> list[Indicator]:
    out = []
    for stage, (zh, en, span_zh, span_en) in STAGE_NAMES.items():
        for kind, kzh, ken in (("mean", "平均", "mean"), ("p90", "90分位", "90th percentile")):
            out.append(Indicator(
                f"{stage}_time_{kind}", kind, f"{zh}用时{kzh}", f"{en} time, {ken}",
                f"报告期内上报、已走完该阶段的案件，{span_zh}的有效用时（不含缓办）的{kzh}值，单位分钟；返工后再次经过的时间累加。",
                f"The {ken} of the active time from {span_en} (deferral excluded), in minutes, over cases reported "
                "in the window that completed the stage; time spent again after rework adds up.",
                _has(f"t_{stage}"), column=f"t_{stage}", unit="min", better="low"))
    return out


CASE_INDICATORS: list[Indicator] = [
    Indicator("reported", "count", "上报数", "reported",
              "报告期内上报的案件数（各渠道，含后来作废和合并的）。",
              "Cases reported in the window, from every channel (including those later cancelled or merged).",
              _all),
    Indicator("registered", "count", "立案数", "registered",
              "报告期内上报、已立案的案件数。", "Cases reported in the window that were registered.",
              _has("registered_at")),
    Indicator("registration_rate", "rate", "立案率", "registration rate",
              "立案数 ÷ 有效上报数；有效上报数不含立案前即被合并的重复上报。",
              "Registered ÷ valid reports; a duplicate merged before registration is not a valid report.",
              _has("registered_at"), _valid_reports, unit="%"),
    Indicator("dispatched", "count", "派遣数", "dispatched",
              "报告期内上报、已派遣的案件数。", "Cases reported in the window that were dispatched.",
              _has("dispatched_at")),
    Indicator("timely_dispatch_rate", "rate", "按时派遣率", "timely dispatch rate",
              "首次派遣在派遣时限内（立案起计，缓办不计时）的案件数 ÷ 派遣数。",
              "Cases whose first dispatch came within the dispatch limit (counted from registration, deferral "
              "excluded) ÷ dispatched.", _true("dispatch_on_time"), _has("dispatched_at"), unit="%"),
    Indicator("handled", "count", "处置数", "handled",
              "报告期内上报、已处置完成的案件数。", "Cases reported in the window that were handled.",
              _has("handled_at")),
    Indicator("on_time_handling_rate", "rate", "按期处置率", "on-time handling rate",
              "首次派遣起（缓办不计时）在到场与处置时限之和内处置完成的案件数 ÷ 应处置数；应处置数 = 已处置完成的，"
              "加上已过处置期限仍未完成（缓办中的除外）的。返工的时间计入。",
              "Cases handled within the arrival plus handling limits, counted from the first dispatch (deferral "
              "excluded; rework counts) ÷ cases due: those handled, and those past the deadline unhandled (not "
              "deferred).", _true("handle_on_time"), _handling_due, unit="%"),
    Indicator("closed", "count", "结案数", "closed",
              "报告期内上报、已结案的案件数。", "Cases reported in the window that were closed.", _has("closed_at")),
    Indicator("closure_rate", "rate", "结案率", "closure rate",
              "结案数 ÷ 立案数。", "Closed ÷ registered.", _has("closed_at"), _has("registered_at"), unit="%"),
    Indicator("on_time_closure_rate", "rate", "按期结案率", "on-time closure rate",
              "按期结案数 ÷ (应结案数 − 缓办数)。应结案数：已结案或总时限已到的案件（作废、合并的除外）；"
              "缓办数：其中办理中曾经缓办的；按期：上报到结案未超过各阶段时限之和。",
              "Closed on time ÷ (due − deferred). Due: closed, or past the sum of the stage limits (cancelled and "
              "merged excluded); deferred: due cases that were ever deferred; on time: closed within that sum.",
              _closed_on_time, _closure_due_not_deferred, unit="%"),
    Indicator("rework_rate", "rate", "返工率", "rework rate",
              "核查未通过、返工过至少一次的案件数 ÷ 处置数。",
              "Cases sent back at verification at least once ÷ handled.", _reworked, _has("handled_at"), unit="%",
              better="low"),
    Indicator("overdue_now", "count", "当前超期数", "overdue now",
              "报告期内上报、仍未结案且当前阶段已超过时限的案件数（缓办中的不计）。",
              "Cases reported in the window, still open, whose current stage is past its limit (deferred "
              "cases excluded).", _overdue_now, better="low"),
    *_stage_indicators(),
    Indicator("satisfaction_rate", "rate", "群众满意率", "resident satisfaction",
              "回访中“满意”与“基本满意”的案件数 ÷ 有回访结果的案件数。",
              "Cases whose resident answered satisfied or basically satisfied ÷ cases with feedback.",
              _satisfied, _has("satisfaction"), unit="%"),
    Indicator("repeat_rate", "rate", "同杆重复问题率", "repeat problems at a pole",
              "同一杆号、同一类别在报告期内再次上报的案件数（每组第一件不算）÷ 有杆号的案件数。",
              "Cases reported again at the same pole for the same category in the window (the first of each "
              "is not counted) ÷ cases with a pole.", _repeat_at_pole, _has("pole"), unit="%", better="low"),
    Indicator("response_distance_mean", "mean", "平均响应距离", "mean response distance",
              "首次派遣时被派人员与案件位置的直线距离的平均值，单位米。",
              "Mean straight-line distance from the first assignee to the case when dispatched, in metres.",
              _has("response_m"), column="response_m", unit="m", better="low"),
    Indicator("response_time_mean", "mean", "平均响应时间", "mean response time",
              "上报到首次到场的平均用时，单位分钟。", "Mean time from report to first arrival on scene, in minutes.",
              _has("t_response"), column="t_response", unit="min", better="low"),
    Indicator("read_time_mean", "mean", "任务读取用时平均", "time to read, mean",
              "派遣后任务送到外勤人员手机、到其打开任务的平均用时（首次派遣的任务），单位分钟。",
              "Mean time from a task sent to the field person's phone to the person opening it (the first "
              "dispatch's task), in minutes.", _has("t_read"), column="t_read", unit="min", better="low"),
    Indicator("read_time_p90", "p90", "任务读取用时90分位", "time to read, 90th percentile",
              "派遣后任务送到外勤人员手机、到其打开任务用时的90分位值（首次派遣的任务），单位分钟。",
              "The 90th percentile of the time from a task sent to the field person's phone to the person "
              "opening it (the first dispatch's task), in minutes.", _has("t_read"), column="t_read", unit="min",
              better="low"),
    Indicator("cases_per_person", "ratio", "人均派遣案件", "cases per person",
              "派遣数 ÷ 接受过派遣的人员数。", "Dispatched cases ÷ staff who received at least one of them.",
              _has("dispatched_at"), column="staff"),
]

BY_KEY = {i.key: i for i in CASE_INDICATORS}
# The facts columns the indicators above read (the screen reads only these, plus its breakdown).
INDICATOR_COLUMNS = frozenset({
    "reported_at", "status", "registered_at", "dispatched_at", "arrived_at", "handled_at", "closed_at",
    "handle_due_at", "close_due_at", "stage_due_at", "ever_deferred", "rework", "t_register", "t_dispatch",
    "t_arrive", "t_handle", "t_verify", "t_close", "dispatch_on_time", "handle_on_time", "close_on_time",
    "satisfaction", "pole", "category", "response_m", "staff", "t_read"})
# The tiles a leader sees first; the rest are in the table and the API.
HEADLINE = ("reported", "registration_rate", "timely_dispatch_rate", "on_time_handling_rate", "closure_rate",
            "on_time_closure_rate", "rework_rate", "overdue_now", "satisfaction_rate", "response_time_mean")


TARGETS_FILE = Path(__file__).resolve().parent / "targets.json"


@dataclass(frozen=True)
class Target:
    """Where an indicator turns green and where amber (below amber, or above it for a lower-is-better one: red)."""

    green: float
    amber: float


def load_targets(path: Path | str = TARGETS_FILE) -> dict[str, Target]:
    """The targets file (`{"indicator": {"green": x, "amber": y}}`); a bad entry is refused with what is wrong."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the targets ({e})") from None
    out: dict[str, Target] = {}
    for key, t in (rows.items() if isinstance(rows, dict) else []):
        if key not in BY_KEY:
            raise ValueError(f"{path}: {key} is no indicator")
        try:
            target = Target(green=float(t["green"]), amber=float(t["amber"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: {key} needs numbers green and amber") from None
        ind = BY_KEY[key]
        if (ind.better == "high") != (target.green >= target.amber):
            raise ValueError(f"{path}: {key}: green must be the better side of amber ({ind.better} is better)")
        out[key] = target
    return out


def grade(ind: Indicator, value: float | None, targets: dict[str, Target]) -> str:
    """green, amber or red against the indicator's target; '' where it has none (or no value)."""
    t = targets.get(ind.key)
    if t is None or value is None:
        return ""
    if ind.better == "high":
        return "green" if value >= t.green else "amber" if value >= t.amber else "red"
    return "green" if value <= t.green else "amber" if value <= t.amber else "red"
