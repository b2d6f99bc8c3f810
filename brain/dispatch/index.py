"""Where the staff are, for nearest-suitable-team queries: arrays in metres and a lazily rebuilt STRtree.

shapely's STRtree is immutable, so positions live in plain arrays that every fix updates in place,
and the tree is rebuilt only when some point has drifted more than `rebuild_drift_m` from where the
tree saw it, or someone got a first position: at the next query, once for every fix since. A query
asks the tree for `max_distance + drift` and then measures with the current arrays, so answers are
exact between rebuilds. Ties are broken by staff id.

The compiled ranking by road reads a copy of its own: a row of memory a person (position, fix time, interval,
duty state, speed and where they meet the roads, `kernel.PX` ...), ordered by the cells of a grid made with
the tree, so the people near a point are read in a few runs. Every fix and status change writes it too; a
fix is snapped to its road as it comes (`kernel.take_fix`).
"""

from __future__ import annotations

import math
import threading
from datetime import datetime

import numpy as np
import shapely
from shapely import STRtree

from brain.dispatch.kernel import (
    PEDGE,
    PEOPLE_COLUMNS,
    PINTERVAL,
    POFF,
    PROW,
    PSPEED,
    PSTATUS,
    PT,
    PX,
    PY,
    snap_many,
    take_fix,
)
from brain.staff.enums import READY, SPEED_M_S, DutyStatus, TravelMode
from geodata.crs import MetricCRS

STAFF_CELL_M = 250.0  # the side of a cell of the people's grid
# duty states as small codes, the states a case may be sent to first: a code from 0 to READY_CODE may be sent
# (-1: a state this index does not know, never sent)
STATUS_CODES = {s.value: i for i, s in enumerate(sorted(DutyStatus, key=lambda s: s not in READY))}
READY_CODE = max(STATUS_CODES[s.value] for s in READY)
RETURNING_CODE = STATUS_CODES[DutyStatus.RETURNING.value]
OFF_DUTY_CODE = STATUS_CODES[DutyStatus.OFF_DUTY.value]
NO_ONE = np.zeros(0, dtype=np.int64)
NO_ROADS = (0.0, 0.0, 0, 0, 1.0, np.zeros((0, 1), dtype=np.int32), np.zeros(0, dtype=np.bool_), np.zeros((0, 8)))


_SPEEDS = {m.value: v for m, v in SPEED_M_S.items()}
_WALK = SPEED_M_S[TravelMode.WALK]


def speed_m_s(mode: str) -> float:
    """Travel speed of a mode in m/s (walking for an unknown mode)."""
    return _SPEEDS.get(mode, _WALK)


class StaffIndex:
    """Rows are kept in staff-id order, so a row number breaks ties exactly as the id would."""

    def __init__(self, crs: MetricCRS, *, rebuild_drift_m: float = 100.0, roads=None) -> None:
        self.crs = crs
        # the road grid and pieces (`RoadNetwork.snap_args`): each fix is snapped to its road as it comes, so a
        # ranking by road reads where everyone meets the roads instead of working it out
        self._snap_args: tuple = roads.snap_args if roads is not None else NO_ROADS
        self.rebuild_drift_m = rebuild_drift_m
        self._lock = threading.RLock()
        self._ids = np.array([], dtype=object)
        self._row: dict[str, int] = {}
        self._duties: list[tuple[str, ...]] = []  # by row: the duties of the person's team
        # by row: staff ids, team ids and travel modes as text arrays (read into fresh strings, from memory that is
        # together); the same in the packed rows' order (a neighbourhood's together)
        self._label_arrays: tuple = tuple(np.zeros(0, dtype=str) for _ in range(3))
        self._placed_labels: tuple = self._label_arrays
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._t = np.zeros(0)  # position time, epoch seconds (NaN: no position)
        self._bx = np.zeros(0)  # positions as the tree saw them
        self._by = np.zeros(0)
        self._drift = 0.0
        self._stale = False  # someone appeared or drifted past the limit: the tree is rebuilt when next read
        self._tree: STRtree | None = None
        self._grid: tuple = self.cells_of(self._x, self._y)
        # the compiled ranking's copy: a row of memory a person, in the grid's cell order (kernel.PX ...), where
        # each row is (`_place`), the grid as (x0, y0, nx, ny, cell, drift since made); kept with every change
        self._people = np.zeros((0, PEOPLE_COLUMNS))
        self._place = np.zeros(0, dtype=np.int64)
        self._pgrid = np.array([0.0, 0.0, 1.0, 1.0, STAFF_CELL_M, 0.0])
        self.status = np.zeros(0, dtype=np.int8)
        self.interval = np.zeros(0)
        self._speed = np.zeros(0)
        self._duty_masks: dict[str, np.ndarray] = {}
        self._duty_placed: dict[str, np.ndarray] = {}
        self._density: dict[str, float] = {}
        self.rebuilds = 0

    def __len__(self) -> int:
        return len(self._ids)

    def load(self, staff) -> None:
        """Replace everything with a roster (StaffView-like objects with lon/lat/position_at)."""
        staff = sorted(staff, key=lambda s: s.id)
        with self._lock:
            self._ids = np.array([s.id for s in staff], dtype=object)
            self._row = {s.id: i for i, s in enumerate(staff)}
            self._duties = [tuple(s.duties) for s in staff]
            self._label_arrays = tuple(np.array(v, dtype=str) for v in (
                [s.id for s in staff], [s.team_id for s in staff], [s.mode for s in staff]))
            lon = np.array([np.nan if s.lon is None else s.lon for s in staff], dtype=float)
            lat = np.array([np.nan if s.lat is None else s.lat for s in staff], dtype=float)
            x, y = self.crs.to_metric(lon, lat)
            self._x, self._y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
            self._t = np.array([np.nan if s.position_at is None else s.position_at.timestamp() for s in staff])
            self.status = np.array([STATUS_CODES.get(s.status, -1) for s in staff], dtype=np.int8)
            self.interval = np.array([float(s.report_interval_s) for s in staff])
            self._speed = np.array([speed_m_s(s.mode) for s in staff])
            self._people = np.zeros((0, PEOPLE_COLUMNS))  # (the snaps are made anew by the rebuild below)
            self._duty_masks = {}
            self._density = {}
            self._rebuild()

    def _rebuild(self) -> None:
        self._bx, self._by = self._x.copy(), self._y.copy()
        pts = shapely.points(np.where(np.isfinite(self._x), self._x, 1e12), np.where(np.isfinite(self._y),
                                                                                      self._y, 1e12))
        self._tree = STRtree(pts)
        self._grid = self.cells_of(self._bx, self._by)
        x0, y0, nx, ny, cell, _start, order = self._grid
        n = len(self._x)
        people = np.zeros((n, PEOPLE_COLUMNS))
        people[:, PX], people[:, PY], people[:, PT], people[:, PINTERVAL] = self._x, self._y, self._t, self.interval
        people[:, PSTATUS], people[:, PROW], people[:, PSPEED] = self.status, np.arange(n), self._speed
        # each one's snap, as of their last fix: kept from the packed rows being replaced, or made (a load)
        held = self._people[self._place] if len(self._people) == n else None
        people[:, PEDGE:POFF + 1] = held[:, PEDGE:POFF + 1] if held is not None else self.snapped(self._x, self._y)
        self._people = np.ascontiguousarray(people[order])
        self._place = np.empty(n, dtype=np.int64)
        self._place[order] = np.arange(n)
        self._pgrid = np.array([x0, y0, nx, ny, cell, 0.0])
        self._placed_labels = tuple(a[order] for a in self._label_arrays)
        self._duty_placed = {}
        self._drift = 0.0
        self._stale = False
        self.rebuilds += 1

    def snapped(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Where these positions meet the roads (rows of kernel.PEDGE ... POFF; road -1 without roads)."""
        return snap_many(np.asarray(x, dtype=float), np.asarray(y, dtype=float), *self._snap_args)

    @staticmethod
    def cells_of(x: np.ndarray, y: np.ndarray) -> tuple:
        """The people by grid cell, as the positions are now (the compiled ranking reads only the cells near
        its point): (x0, y0, nx, ny, cell size, start of each cell's rows, the rows by cell then row). A
        person without a position is in no cell."""
        finite = np.isfinite(x) & np.isfinite(y)
        x0 = y0 = 0.0
        nx = ny = 1
        if finite.any():
            x0, y0 = float(x[finite].min()), float(y[finite].min())
            nx = int((float(x[finite].max()) - x0) // STAFF_CELL_M) + 1
            ny = int((float(y[finite].max()) - y0) // STAFF_CELL_M) + 1
        ix = np.where(finite, (x - x0) // STAFF_CELL_M, 0).astype(np.int64)
        iy = np.where(finite, (y - y0) // STAFF_CELL_M, 0).astype(np.int64)
        cell = np.where(finite, iy * nx + ix, nx * ny)
        order = np.argsort(cell, kind="stable").astype(np.int64)
        start = np.searchsorted(cell[order], np.arange(nx * ny + 1)).astype(np.int64)
        return x0, y0, nx, ny, STAFF_CELL_M, start, order

    def kernel_args(self, category: str, now_s: float, exclude: set[str] | None) -> tuple:
        """The people as `brain.dispatch.kernel.nearest_by_road` takes them, read together under the lock (a
        reload between two reads could hand it arrays of two lengths): the `density` of those who could take
        `category`, `now_s`, the highest code that may be sent, off duty's code, the packed people, whether each
        one's team takes `category` (in the same order), the rows never to name, the grid (with how far anyone
        has moved since it was made) and where each of its cells' people start. Arrays are the index's own:
        read, never written. With them, the staff ids, team ids and travel modes by place in the packed rows
        (for `placed`), of the same making."""
        with self._lock:
            if self._stale:
                self._rebuild()
            duty = self._duty_placed.get(category)
            if duty is None:
                duty = self._duty_placed[category] = self.duty_mask(category)[self._grid[6]]
            excluded = NO_ONE if not exclude else np.array(
                [r for s in exclude if (r := self._row.get(s)) is not None], dtype=np.int64)
            density = self._density.get(category)
            return (self.density(category) if density is None else density, now_s, READY_CODE, OFF_DUTY_CODE,
                    self._people, duty, excluded, self._pgrid, self._grid[5]), self._placed_labels

    def move(self, staff_id: str, lon: float, lat: float, at: datetime) -> None:
        """A position fix (ignored if older than the one held), snapped to the roads where the index has them."""
        ts = at.timestamp()
        x, y = self.crs.to_metric(lon, lat)  # (outside the lock)
        with self._lock:
            i = self._row.get(staff_id)
            if i is None:
                return
            d = take_fix(i, x, y, ts, self._x, self._y, self._t, self._bx, self._by, self._people, self._place,
                         *self._snap_args)
            # a first position, or a drift past the limit: the tree is rebuilt when it is next read, once for
            # however many fixes come meanwhile (rebuilding at each would cost the whole roster per fix)
            if d == math.inf:
                self._stale = True
            elif d > self._drift:
                self._drift = self._pgrid[5] = d
                if d > self.rebuild_drift_m:
                    self._stale = True

    def move_many(self, staff_ids, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> None:
        """Many fixes at once, already in metres (the simulator's and the benchmark's path)."""
        with self._lock:
            rows = np.array([self._row[s] for s in staff_ids])
            self._x[rows], self._y[rows], self._t[rows] = x, y, t
            places = self._place[rows]
            self._people[places, PX], self._people[places, PY], self._people[places, PT] = x, y, t
            self._people[places, PEDGE:POFF + 1] = self.snapped(x, y)
            d = np.hypot(x - self._bx[rows], y - self._by[rows])
            self._drift = self._pgrid[5] = max(self._drift, float(np.nanmax(d)) if len(d) else 0.0)
            if not np.isfinite(self._drift) or self._drift > self.rebuild_drift_m:
                self._rebuild()

    def set_status(self, staff_id: str, status: str) -> None:
        with self._lock:
            i = self._row.get(staff_id)
            if i is not None:
                self.status[i] = self._people[self._place[i], PSTATUS] = STATUS_CODES.get(status, -1)
                self._density.clear()

    def density(self, category: str) -> float:
        """People who may be sent (available or returning) per square metre who could take `category` (over the
        area they span).

        Cached until someone's status changes: it only sizes the first search radius."""
        cached = self._density.get(category)
        if cached is not None:
            return cached
        mask = self.duty_mask(category) & self.ready()
        n = int(mask.sum())
        if n == 0 or not len(self._x):
            self._density[category] = 0.0
            return 0.0
        finite = np.isfinite(self._x)
        area = max((np.ptp(self._x[finite]) * np.ptp(self._y[finite])) if finite.any() else 0.0, 1.0)
        self._density[category] = n / area
        return n / area

    def duty_mask(self, category: str) -> np.ndarray:
        """Which rows' duties cover `category` (cached: duties do not change while the index lives)."""
        mask = self._duty_masks.get(category)
        if mask is None:
            mask = np.array([any(category.startswith(d) for d in duties) for duties in self._duties], dtype=bool)
            self._duty_masks[category] = mask
        return mask

    def within(self, x: float, y: float, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of everyone within `radius` metres, nearest first, ties by staff id."""
        with self._lock:
            if self._stale:
                self._rebuild()
            if self._tree is None or not len(self._ids):
                return np.zeros(0, dtype=int), np.zeros(0)
            # envelope candidates only (no GEOS predicate per candidate); numpy measures them exactly
            r = radius + self._drift
            rows = self._tree.query(shapely.box(x - r, y - r, x + r, y + r))
            d = np.hypot(self._x[rows] - x, self._y[rows] - y)
            keep = d <= radius
            rows, d = rows[keep], d[keep]
            order = np.lexsort((rows, d))
            return rows[order], d[order]

    def eligible(self, category: str, now_s: float) -> np.ndarray:
        """Who may be ranked for `category` now: available or returning, on a team that takes it, a fresh
        position."""
        with self._lock:
            t = self._t
            return self.ready() & self.duty_mask(category) & (now_s - t <= 2 * self.interval)

    def ready(self) -> np.ndarray:
        """Whose duty state allows sending them a case (available, or on their way back from one)."""
        return (self.status >= 0) & (self.status <= READY_CODE)

    def ids(self, rows: np.ndarray) -> np.ndarray:
        return self._ids[rows]

    def times(self, rows: np.ndarray) -> np.ndarray:
        return self._t[rows]

    def xy(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._x[rows], self._y[rows]

    @staticmethod
    def placed(labels: tuple, places: np.ndarray) -> tuple[list[str], list[str], list[str]]:
        """The staff ids, team ids and travel modes at these places of the packed rows (`labels` as
        `kernel_args` gave them with the rows), in order."""
        return labels[0][places].tolist(), labels[1][places].tolist(), labels[2][places].tolist()

    def labels(self, rows: np.ndarray) -> tuple[list[str], list[str], list[str]]:
        """The staff ids, team ids and travel modes of these rows (numbers, of any kind), in order."""
        return self.placed(self._label_arrays, np.asarray(rows).astype(np.intp))

    def speeds(self, rows: np.ndarray) -> np.ndarray:
        """Travel speeds in m/s."""
        return self._speed[rows]


AVAILABLE = DutyStatus.AVAILABLE.value
