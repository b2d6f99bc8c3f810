"""Crafted callback requests, as a careless or hostile client would send them: every server callback with
each of its inputs and states replaced by a value of the wrong type or shape, and requests whose frame is
broken. Each is answered 2xx or 4xx, never 5xx (bounded: one pass over a fixed list of values)."""

import copy
import json
from collections import Counter

import pytest

from tests.api.conftest import ORIGIN
from tests.api.test_access_matrix import _callback_body, _name

WRONG = ["x", "", -1, 0, 1.5, 1e308, 2**70, True, None, [], [1, "a"], {}, {"a": {"b": []}}, "9" * 3000,
         "/dispatch?case=abc", "/kpi?from=0001-01-01", {"id": "x", "n_clicks": "many"}]


# Callbacks do not depend on the database dialect: SQLite only.
pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _bodies(site):
    """(callback, variant, body): each input and state slot of each callback set to each wrong value."""
    for key in sorted(site.callback_permissions):
        name = _name(site, key)
        if name.startswith("("):
            continue  # the push loop has no HTTP callback
        base = _callback_body(site, name)
        for part in ("inputs", "state"):
            for i, slot in enumerate(base.get(part, [])):
                for value in WRONG:
                    body = copy.deepcopy(base)
                    if isinstance(slot, dict):
                        body[part][i]["value"] = value
                    else:
                        body[part][i] = value
                    yield name, f"{part}[{i}]={value!r:.30}", body
        for broken in ({"output": key}, {**base, "inputs": "x"}, {**base, "inputs": [None]},
                       {**base, "state": {"a": 1}}, {**base, "changedPropIds": 5}, {**base, "outputs": []}):
            yield name, "frame", broken


def test_no_crafted_callback_request_is_answered_with_a_5xx(site):
    client = site.login("admin")
    statuses: Counter = Counter()
    failures = []
    for name, variant, body in _bodies(site):
        r = client.post("/_dash-update-component", content=json.dumps(body),
                        headers={"content-type": "application/json", "origin": ORIGIN})
        statuses[r.status_code] += 1
        if r.status_code >= 500:
            failures.append(f"{name} {variant}: {r.status_code}")
    print(f"crafted callback requests: {sum(statuses.values())}, by status: {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) > 1000
    assert not failures, f"{len(failures)} answered 5xx:\n" + "\n".join(failures[:40])
