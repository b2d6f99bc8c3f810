"""The case workflow: one explicit transition table and the stage time limits.

Every move not in `TRANSITIONS` is refused with a message naming both states. A deferral
remembers the stage it paused and may only resume to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from brain.cases.enums import CaseStatus as S
from brain.cases.enums import Priority
from brain.refusal import Refusal

TRANSITIONS: dict[S, frozenset[S]] = {
    S.REPORTED: frozenset({S.REGISTERED, S.CANCELLED, S.MERGED}),
    S.REGISTERED: frozenset({S.DISPATCHED, S.DEFERRED, S.CANCELLED, S.MERGED}),
    S.DISPATCHED: frozenset({S.HANDLING, S.REGISTERED, S.DEFERRED, S.MERGED}),
    S.HANDLING: frozenset({S.HANDLED, S.DEFERRED}),
    S.HANDLED: frozenset({S.VERIFIED, S.DISPATCHED}),  # back to dispatched = rework (返工)
    S.VERIFIED: frozenset({S.CLOSED}),
    S.DEFERRED: frozenset({S.REGISTERED, S.DISPATCHED, S.HANDLING, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
    S.MERGED: frozenset(),
}

# Which timestamp column a move into a state writes.
STAMP: dict[S, str] = {
    S.REGISTERED: "registered_at", S.DISPATCHED: "dispatched_at", S.HANDLING: "arrived_at",
    S.HANDLED: "handled_at", S.VERIFIED: "verified_at", S.CLOSED: "closed_at",
    S.DEFERRED: "deferred_at", S.CANCELLED: "cancelled_at",
}

# The stage whose clock runs while a case sits in a state.
STAGE_OF: dict[S, str] = {
    S.REPORTED: "register", S.REGISTERED: "dispatch", S.DISPATCHED: "arrive", S.HANDLING: "handle",
    S.HANDLED: "verify", S.VERIFIED: "close",
}

# Moves that need a written reason.
NEEDS_NOTE = frozenset({(S.HANDLED, S.DISPATCHED), (S.REGISTERED, S.DEFERRED), (S.DISPATCHED, S.DEFERRED),
                        (S.HANDLING, S.DEFERRED), (S.REPORTED, S.CANCELLED), (S.REGISTERED, S.CANCELLED),
                        (S.DEFERRED, S.CANCELLED), (S.DISPATCHED, S.REGISTERED),
                        (S.HANDLING, S.HANDLED),  # the handling notes
                        (S.VERIFIED, S.CLOSED)})  # the reply to the resident


class TransitionRefused(Refusal):
    """A move that the workflow does not allow, with the reason in words (and its catalogue key)."""


def check(current: S, target: S, *, deferred_from: S | None = None, note: str | None = None) -> None:
    """Raise TransitionRefused unless current -> target is allowed (and carries a note where needed)."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: the case is finished"
        raise TransitionRefused(f"a case that is {current} cannot become {target} (allowed: {allowed})",
                                key="refused.transition", current=current.value, target=target.value)
    if current is S.DEFERRED and target is not S.CANCELLED and deferred_from and target is not deferred_from:
        raise TransitionRefused(f"a deferred case resumes to the stage it paused ({deferred_from}), not {target}",
                                key="refused.resume", stage=deferred_from.value)
    if (current, target) in NEEDS_NOTE and not (note and note.strip()):
        raise TransitionRefused(f"{current} -> {target} needs a reason", key="refused.reason", current=current.value,
                                target=target.value)


@dataclass(frozen=True)
class TimeLimits:
    """Stage limits in minutes for one category and priority."""

    minutes: dict[str, int]

    def due(self, stage: str, started: datetime, paused_s: float = 0.0) -> datetime | None:
        m = self.minutes.get(stage)
        return None if m is None else started + timedelta(minutes=m, seconds=paused_s)


class TimeLimitPolicy:
    """Time limits as data: per priority, overridden per category (see `time_limits.json`)."""

    def __init__(self, data: dict) -> None:
        self._priorities = {Priority(k): dict(v) for k, v in data["priorities"].items()}
        self._categories = {k: dict(v) for k, v in data.get("categories", {}).items()}

    @classmethod
    def load(cls, path: Path | str = Path(__file__).resolve().parent / "time_limits.json") -> TimeLimitPolicy:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def limits(self, category: str, priority: Priority | str) -> TimeLimits:
        return TimeLimits({**self._priorities[Priority(priority)], **self._categories.get(category, {})})

    def stage_due(self, category: str, priority: Priority | str, status: S | str, started: datetime) -> datetime | None:
        """When the stage a case in `status` is at runs over its limit (None: no clock runs, e.g. deferred)."""
        stage = STAGE_OF.get(S(status))
        return self.limits(category, priority).due(stage, started) if stage else None
