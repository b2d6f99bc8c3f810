"""What a callback request may carry: the shape of its frame and the type of each value, checked by the
server's gate before Dash or a callback reads it (a request that breaks it is a 400, as the API answers a
body that breaks its schema).

Each server callback's contract is taken from its own declaration (its Input and State dependencies) when
it is registered; a value's type comes from its property (`n_clicks` is a count, `search` a text), from
its store where the store holds something particular, and a pattern-matching id's keys from PATTERN_KEYS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from dash.dependencies import ALL, DashDependency, Input, Output, State

from dashboard import ids

MAX_TEXT = 4000  # a description typed in the case form is 2,000 at most; a query string a little more
MAX_DEPTH = 32
Check = Callable[[object], bool]


def _count(v) -> bool:
    return v is None or (type(v) is int and 0 <= v <= 2**53)


def _text(limit: int = MAX_TEXT) -> Check:
    return lambda v: v is None or (isinstance(v, str) and len(v) <= limit)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?$")


def _date(v) -> bool:
    return v is None or (isinstance(v, str) and len(v) <= 40 and bool(_DATE.match(v)))


def _depth(v, depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        return depth
    if isinstance(v, dict):
        return max((_depth(x, depth + 1) for x in v.values()), default=depth + 1)
    if isinstance(v, list):
        return max((_depth(x, depth + 1) for x in v), default=depth + 1)
    return depth


def _json(v) -> bool:
    return _depth(v) <= MAX_DEPTH


def _mapping(v) -> bool:
    return v is None or (isinstance(v, dict) and _json(v))


def _scalar(v) -> bool:
    return v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool)
                         and (not isinstance(v, str) or len(v) <= MAX_TEXT))


def _value(v) -> bool:
    """A dropdown's, an input's or a checklist's value: a scalar, or a list of scalars."""
    return _scalar(v) or (isinstance(v, list) and len(v) <= 1000 and all(_scalar(x) for x in v))


def _versions(v) -> bool:
    """The versions of its live layers a map holds: {layer: count}."""
    return v is None or (isinstance(v, dict) and len(v) <= 8 and all(_text(16)(k) and _count(x) for k, x in v.items()))


def _case_id(v) -> bool:
    return v is None or (type(v) is int and 1 <= v <= 2**62)


PROPERTY: dict[str, Check] = {
    "n_clicks": _count, "n_intervals": _count, "pathname": _text(2048), "search": _text(2048),
    "date": _date, "start_date": _date, "end_date": _date, "clickData": _mapping, "figure": _mapping,
    "value": _value, "data": _json, "versions": _versions,
}


def _pick(v) -> bool:
    """The KPI figure picked for a drill-down: {key, part[, by, group]}."""
    if v is None:
        return True
    if not isinstance(v, dict) or not {"key", "part"} <= set(v) <= {"key", "part", "by", "group"}:
        return False
    return (_text(64)(v["key"]) and _text(32)(v["part"]) and _text(64)(v.get("by"))
            and _scalar(v.get("group")))


def _drawn(v) -> bool:
    """The case and version a card was drawn from."""
    return v is None or (isinstance(v, dict) and set(v) == {"case", "version"} and v["case"] is not None
                         and _case_id(v["case"]) and type(v["version"]) is int and 1 <= v["version"] <= 2**31)


# a component's value of a particular kind: (component id, property) -> its check
PARTICULAR: dict[tuple[str, str], Check] = {
    (ids.SELECTED, "data"): _case_id, (ids.REFRESH, "data"): _count, (ids.LIVE_PUSH, "data"): _count,
    (ids.KPI_PICK, "data"): _pick, (ids.CARD_DRAWN, "data"): _drawn, (ids.QUEUE_PAGE, "data"): _count,
    (ids.QUEUE_SEARCH, "value"): _text(100),
    **{(i, "value"): _text(2000) for i in (ids.AUDIT_ACTOR, ids.AUDIT_ACTION, ids.NEW_POLE, ids.NOTE,
                                          ids.NEW_DESCRIPTION)},
}
PATTERN_KEYS: dict[str, Check] = {
    "type": _text(64), "case": _case_id, "into": _case_id, "n": _count, "staff": _text(40), "alarm": _text(40),
    "to": _text(32), "outcome": _text(32), "key": _text(64), "part": _text(32), "group": _scalar,
}


class Refused(ValueError):
    """A callback request that breaks its contract; the message says where."""


@dataclass(frozen=True)
class Dependency:
    id: str | dict
    property: str

    @property
    def pattern(self) -> bool:
        return isinstance(self.id, dict) and any(v is ALL for v in self.id.values())

    def check_value(self, value, where: str) -> None:
        check = PARTICULAR.get((self.id, self.property)) if isinstance(self.id, str) else None
        check = check or PROPERTY.get(self.property, _json)
        if not check(value):
            raise Refused(f"{where}: not a valid {self.property}")

    def check_id(self, given, where: str) -> None:
        if not self.pattern:
            if given != self.id:
                raise Refused(f"{where}: expected the id {self.id!r}")
            return
        assert isinstance(self.id, dict)
        if not isinstance(given, dict) or set(given) != set(self.id):
            raise Refused(f"{where}: expected an id with the keys {sorted(self.id)}")
        for k, v in given.items():
            if self.id[k] is not ALL and v != self.id[k]:
                raise Refused(f"{where}: {k} must be {self.id[k]!r}")
            if not PATTERN_KEYS.get(k, _scalar)(v) or v is None:
                raise Refused(f"{where}: {k} is not valid")

    def check_slot(self, slot, where: str) -> None:
        items = slot if self.pattern else [slot]
        if self.pattern and (not isinstance(slot, list) or len(slot) > 1000):
            raise Refused(f"{where}: a list of components is expected")
        for n, item in enumerate(items):
            at = f"{where}[{n}]" if self.pattern else where
            if not isinstance(item, dict) or item.get("property") != self.property:
                raise Refused(f"{at}: expected {{id, property: {self.property!r}, value}}")
            self.check_id(item.get("id"), at)
            self.check_value(item.get("value"), at)


@dataclass(frozen=True)
class Contract:
    inputs: tuple[Dependency, ...]
    state: tuple[Dependency, ...]
    outputs: int = 1  # how many outputs the request names (0: none, the push loop)

    @classmethod
    def of(cls, args: tuple, kwargs: dict) -> Contract:
        """A callback's contract from the dependencies it is declared with (positional, or output=/inputs=/
        state=)."""
        deps: list = []
        for a in [*args, kwargs.get("output"), kwargs.get("inputs"), kwargs.get("state")]:
            deps.extend(a if isinstance(a, (list, tuple)) else [a])
        found = [d for d in deps if isinstance(d, DashDependency)]

        def dep(d) -> Dependency:
            return Dependency(d.component_id, d.component_property)

        outputs = sum(1 for d in found if isinstance(d, Output))
        return cls(tuple(dep(d) for d in found if isinstance(d, Input)),
                   tuple(dep(d) for d in found if isinstance(d, State)), outputs)

    def check(self, body: dict) -> None:
        """Refused unless `body` (a decoded callback request) keeps this contract."""
        for part, deps in (("inputs", self.inputs), ("state", self.state)):
            slots = body.get(part, [])
            if not isinstance(slots, list) or len(slots) != len(deps):
                raise Refused(f"{part}: {len(deps)} values are expected")
            for n, (dep, slot) in enumerate(zip(deps, slots, strict=True)):
                dep.check_slot(slot, f"{part}[{n}]")
        changed = body.get("changedPropIds", [])
        if not isinstance(changed, list) or not all(isinstance(c, str) and len(c) <= 1000 for c in changed):
            raise Refused("changedPropIds: a list of texts is expected")
        for c in changed:
            self._check_changed(c)
        outputs = body.get("outputs")
        shaped = (isinstance(outputs, dict) if self.outputs == 1 else
                  isinstance(outputs, list) and len(outputs) == self.outputs) if self.outputs else True
        if not shaped or not all(isinstance(o, dict) and isinstance(o.get("property"), str)
                                 for o in (outputs if isinstance(outputs, list) else [outputs] if outputs else [])):
            raise Refused(f"outputs: {self.outputs} outputs, each {{id, property}}, are expected")

    def _check_changed(self, changed: str) -> None:
        """A changed property names one of the inputs (a pattern's id as its JSON)."""
        name, _, prop = changed.rpartition(".")
        for dep in self.inputs:
            if dep.property != prop:
                continue
            if not dep.pattern and name == dep.id:
                return
            if dep.pattern:
                try:
                    given = json.loads(name)
                except ValueError:
                    continue
                try:
                    dep.check_id(given, "changedPropIds")
                    return
                except Refused:
                    continue
        raise Refused(f"changedPropIds: {changed[:80]!r} is none of the inputs")
