"""Live updates as differences: only the markers that changed travel to the browser.

The server remembers what each open page was last sent (a token the page keeps); a tick compares the
new data of each live trace with that, element by element, and writes a Patch that assigns only the
changed elements, and appends the elements beyond the old length (the live alarms keep their places and
new ones join at the end: a storm's new alarms travel as themselves, not as every array again). Where
most of an array changed, or it got shorter (an alarm cleared, a case closed), the array is sent whole.
Without the page's token (restart, expired) every live array is sent whole.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict

WHOLE_IF_CHANGED = 0.5  # above this share of changed elements, sending the array is smaller than the edits
KEYS = ("lon", "lat", "customdata", "marker.color", "marker.size", "marker.opacity")


def _target(patch, trace: int, key: str):
    node = patch["data"][trace]
    parts = key.split(".")
    for p in parts[:-1]:
        node = node[p]
    return node, parts[-1]


def write_diff(patch, trace: int, old: dict | None, new: dict) -> int:
    """Patch trace `trace` from `old` (what the page has) to `new`; returns the number of edits."""
    edits = 0
    for key in KEYS:
        if key not in new:
            continue
        node, leaf = _target(patch, trace, key)
        before, after = (old or {}).get(key), new[key]
        if before is None or len(before) > len(after):
            node[leaf] = after
            edits += 1
            continue
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]  # the old length
        if len(changed) > WHOLE_IF_CHANGED * len(after):
            node[leaf] = after
            edits += 1
            continue
        array = node[leaf]
        for i in changed:
            array[i] = after[i]
        if len(after) > len(before):
            array.extend(after[len(before):])
            edits += 1
        edits += len(changed)
    return edits


class SentCache:
    """What each page was last sent, by token; the oldest entries go first (a page that lost its entry
    gets everything again). A token taken stays good for TAKEN_S more: two requests that leave a page
    together carry the same token (its heartbeat tick while a pushed update is out), and the second
    would otherwise get every array whole, and the page's view (dashboard.app) as unknown."""

    TAKEN_S = 3.0

    def __init__(self, size: int = 256, clock=time.monotonic) -> None:
        self.size = size
        self._clock = clock
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._taken: OrderedDict[str, tuple[float, dict]] = OrderedDict()  # by when taken, oldest first
        self._lock = threading.Lock()

    def put(self, layers: dict) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._items[token] = layers
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return token

    def take(self, token: str | None) -> dict | None:
        """The state behind `token`; once taken it is kept only TAKEN_S longer (the page moves on to the
        token of this tick; if that answer is lost, it asks with the old one and, after that, gets
        everything). Callers read what it returns, never change it."""
        if not token:
            return None
        with self._lock:
            now = self._clock()
            state = self._items.pop(token, None)
            if state is not None:
                self._taken[token] = (now, state)
            while self._taken and (now - next(iter(self._taken.values()))[0] > self.TAKEN_S
                                   or len(self._taken) > self.size):
                self._taken.popitem(last=False)
            kept = self._taken.get(token)
            return kept[1] if kept is not None else None
