"""Where is it? Pole number -> pole, and point -> nearest pole, grid cell and committee.

A pole number is what a resident reads off a lamp or utility pole (一号定位). Lookup forgives case,
spaces, dashes and full-width characters (``０４１２``); a miss never guesses: it raises
`PoleNotFound` carrying the closest existing numbers by edit distance.

All spatial work happens in the district's metric CRS with shapely 2 STRtrees. STRtree answers
with positions, so the id arrays sit beside the geometry arrays, ties are broken by id and every
nearest query carries a `max_distance`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

from geodata.district import District

_NOT_KEY = re.compile(r"[^0-9A-Z]")
DEFAULT_NEAREST_M = 500.0


def normalize_number(text: str) -> str:
    """Canonical key of a pole number: NFKC (full-width to ASCII), upper case, letters and digits only."""
    folded = unicodedata.normalize("NFKC", str(text)).upper()
    return _NOT_KEY.sub("", folded)


@dataclass(frozen=True)
class Pole:
    number: str
    code: str
    lon: float
    lat: float
    grid: str | None
    committee: str | None
    road: str | None
    kind: str | None

    def as_dict(self) -> dict:
        return {"number": self.number, "code": self.code, "lon": self.lon, "lat": self.lat,
                "grid": self.grid, "committee": self.committee, "road": self.road, "kind": self.kind}


@dataclass(frozen=True)
class Location:
    """What a point is: inside the district or not, its grid cell, committee and nearest pole."""

    lon: float
    lat: float
    inside: bool
    grid: str | None
    committee: str | None
    pole: Pole | None
    pole_distance_m: float | None


class PoleNotFound(LookupError):
    """No pole carries this number; `suggestions` are the closest existing numbers (maybe none)."""

    def __init__(self, number: str, suggestions: list[str]) -> None:
        self.number = number
        self.suggestions = suggestions
        hint = f"; closest: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"no pole numbered {number!r}{hint}")


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


class Gazetteer:
    """Pole and place look-ups over one district; build once, query from any thread."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.crs = district.crs
        poles = district.poles
        self._numbers = poles["number"].astype(str).to_numpy()
        self._lon = poles.geometry.x.to_numpy()
        self._lat = poles.geometry.y.to_numpy()
        self._attrs = {c: poles[c].astype(object).where(poles[c].notna(), None).to_numpy()
                       if c in poles else np.full(len(poles), None, dtype=object)
                       for c in ("code", "grid", "committee", "road", "kind")}
        self._by_key: dict[str, int] = {}
        for i, number in enumerate(self._numbers):
            self._by_key.setdefault(normalize_number(number), i)
        for i, code in enumerate(self._attrs["code"]):
            if code:
                self._by_key.setdefault(normalize_number(code), i)
        self._alphabet = sorted({ch for key in self._by_key for ch in key})
        x, y = self.crs.to_metric(self._lon, self._lat)
        self._pole_tree = STRtree(shapely.points(x, y))
        self._boundary_m = shapely.transform(district.boundary, self._project)
        shapely.prepare(self._boundary_m)
        self._grid_codes = district.grid["code"].astype(str).to_numpy() if len(district.grid) else np.array([])
        self._grid_committee = (district.grid["committee"].astype(str).to_numpy() if len(district.grid)
                                else np.array([]))
        self._grid_tree = STRtree(np.asarray(district.metric("grid"))) if len(district.grid) else None
        self._committee_codes = (district.committees["code"].astype(str).to_numpy()
                                 if len(district.committees) else np.array([]))
        self._committee_tree = (STRtree(np.asarray(district.metric("committees")))
                                if len(district.committees) else None)

    def _project(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack(self.crs.to_metric(xy[:, 0], xy[:, 1]))

    def __len__(self) -> int:
        return len(self._numbers)

    def pole_at(self, index: int) -> Pole:
        a = self._attrs
        return Pole(number=str(self._numbers[index]), code=a["code"][index], lon=float(self._lon[index]),
                    lat=float(self._lat[index]), grid=a["grid"][index], committee=a["committee"][index],
                    road=a["road"][index], kind=a["kind"][index])

    # --- number lookup ----------------------------------------------------------------------
    def lookup(self, number: str) -> Pole:
        """The pole with this number (or 16-digit component code); raises PoleNotFound otherwise."""
        key = normalize_number(number)
        index = self._by_key.get(key)
        if index is None:
            raise PoleNotFound(str(number), self.suggest(number))
        return self.pole_at(index)

    def suggest(self, number: str, limit: int = 5, max_edits: int = 2) -> list[str]:
        """The existing numbers closest to `number` by edit distance (at most `max_edits`), best first."""
        key = normalize_number(number)
        if not key:
            return []
        found: dict[str, int] = {}
        frontier = {key}
        for distance in range(1, max_edits + 1):
            variants = set()
            for word in frontier:
                variants |= self._edits(word)
            for v in variants:
                if v in self._by_key and v not in found and v != key:
                    found[v] = distance
            if len(found) >= limit:
                break
            frontier = variants
        ranked = sorted(found, key=lambda k: (found[k], _levenshtein(key, k), k))
        out: list[str] = []
        for k in ranked:
            n = str(self._numbers[self._by_key[k]])
            if n not in out:
                out.append(n)
            if len(out) == limit:
                break
        return out

    def _edits(self, word: str) -> set[str]:
        letters = self._alphabet
        splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
        deletes = {a + b[1:] for a, b in splits if b}
        transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
        inserts = {a + c + b for a, b in splits for c in letters}
        return deletes | transposes | replaces | inserts

    # --- points -----------------------------------------------------------------------------
    def contains(self, lon: float, lat: float) -> bool:
        """Whether a WGS-84 point lies inside (or on) the district boundary."""
        x, y = self.crs.to_metric(lon, lat)
        return bool(shapely.intersects_xy(self._boundary_m, x, y))

    def nearest_pole(self, lon: float, lat: float, *, max_distance: float = DEFAULT_NEAREST_M
                     ) -> tuple[Pole, float] | None:
        """The nearest pole within `max_distance` metres and its distance, ties to the lowest number."""
        if not (np.isfinite(lon) and np.isfinite(lat)):
            raise ValueError("coordinates must be finite numbers")
        x, y = self.crs.to_metric(lon, lat)
        idx, dist = self._pole_tree.query_nearest([shapely.points(x, y)], max_distance=max_distance,
                                                  return_distance=True, all_matches=True)
        if len(idx[1]) == 0:
            return None
        positions = idx[1]
        best = min(range(len(positions)), key=lambda k: (dist[k], self._numbers[positions[k]]))
        return self.pole_at(int(positions[best])), float(dist[best])

    def nearest_poles(self, lon: float, lat: float, *, k: int = 5, max_distance: float = DEFAULT_NEAREST_M
                      ) -> list[tuple[Pole, float]]:
        """Up to `k` poles within `max_distance` metres of a WGS-84 point with their distances, nearest first
        (ties to the lowest number)."""
        if not (np.isfinite(lon) and np.isfinite(lat)):
            raise ValueError("coordinates must be finite numbers")
        x, y = self.crs.to_metric(lon, lat)
        found = self._pole_tree.query(shapely.points(x, y).buffer(max_distance, quad_segs=4), predicate="intersects")
        if len(found) == 0:
            return []
        d = np.hypot(shapely.get_x(self._pole_tree.geometries[found]) - x,
                     shapely.get_y(self._pole_tree.geometries[found]) - y)
        order = sorted((float(dist), str(self._numbers[i]), int(i)) for dist, i in zip(d, found, strict=True)
                       if dist <= max_distance)[:k]
        return [(self.pole_at(i), dist) for dist, _n, i in order]

    def locate(self, lon: float, lat: float) -> Location:
        """Grid cell, committee and nearest pole of a WGS-84 point; `inside` says if it is in the district."""
        if not (np.isfinite(lon) and np.isfinite(lat)):
            raise ValueError("coordinates must be finite numbers")
        inside = self.contains(lon, lat)
        grid = committee = None
        if inside:
            x, y = self.crs.to_metric(lon, lat)
            p = shapely.points(x, y)
            if self._grid_tree is not None:
                hits = self._grid_tree.query(p, predicate="intersects")
                if len(hits):
                    k = min(hits, key=lambda h: self._grid_codes[h])
                    grid, committee = str(self._grid_codes[k]), str(self._grid_committee[k])
            if committee is None and self._committee_tree is not None:
                hits = self._committee_tree.query(p, predicate="intersects")
                if len(hits):
                    committee = str(min(self._committee_codes[h] for h in hits))
        near = self.nearest_pole(lon, lat) if inside else None
        return Location(lon=lon, lat=lat, inside=inside, grid=grid, committee=committee,
                        pole=near[0] if near else None, pole_distance_m=near[1] if near else None)
