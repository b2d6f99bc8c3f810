"""Import a real district from GeoPackage, Shapefile, GeoJSON or CSV into a district folder.

    python -m geodata.importer --out var/district --poles poles.shp --pole-number-field NUM \\
        [--boundary b.gpkg] [--committees c.shp --committee-code-field CODE --committee-name-field NAME] \\
        [--grid g.geojson --grid-code-field CODE] [--roads r.shp --road-name-field NAME] \\
        [--teams teams.csv] [--staff staff.csv] [--source-crs EPSG:2384] [--division-code 310106015] [--replace]

Every layer is read with its own CRS (or `--source-crs` where a file declares none) and reprojected
to WGS-84. Rows that cannot be used are rejected with a reason (duplicate pole numbers, points
outside the boundary, missing fields, empty or wrong geometries); the report lists them. The
output folder is written whole or not at all: the files go to a temporary folder that replaces
the target only when everything succeeded. The app reads it with ``BRAIN_DISTRICT_DIR``.

The division code (6 to 12 digits) comes from `--division-code` or from the data: the digits the
committees' (or grid cells') codes all begin with; never a default of somewhere else. With named roads, each
pole takes the name of the nearest road within 30 m. Dispatch needs people: `--teams` (CSV: id, name,
department, duties as category codes or class prefixes separated by ";", optional mode walk|cycle|drive)
and `--staff` (CSV: id, name, team_id, phone, optional role leader|member and mode) become teams.json and
staff.json; a row that cannot be used is rejected with its reason, as for the layers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.crs import DEFAULT_METRIC_EPSG, haversine_m
from geodata.demo.generate import DistrictData
from geodata.demo.generate import write as write_folder
from geodata.gazetteer import normalize_number


class ImportFailed(Exception):
    """A fatal problem: nothing was written."""


@dataclass
class LayerReport:
    name: str
    source: str
    read: int = 0
    loaded: int = 0
    rejected: Counter = field(default_factory=Counter)
    examples: dict[str, list] = field(default_factory=dict)

    def reject(self, reason: str, rows) -> None:
        rows = list(rows)
        if not rows:
            return
        self.rejected[reason] += len(rows)
        self.examples.setdefault(reason, []).extend(str(r) for r in rows[: 5 - len(self.examples.get(reason, []))])

    def as_dict(self) -> dict:
        return {"layer": self.name, "source": self.source, "read": self.read, "loaded": self.loaded,
                "rejected": dict(self.rejected), "examples": self.examples}


@dataclass
class ImportReport:
    layers: list[LayerReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    out: str | None = None

    @property
    def rejected(self) -> int:
        return sum(sum(layer.rejected.values()) for layer in self.layers)

    def as_dict(self) -> dict:
        return {"out": self.out, "layers": [layer.as_dict() for layer in self.layers], "notes": self.notes,
                "rejected_total": self.rejected}

    def text(self) -> str:
        lines = [f"{'layer':<12}{'read':>9}{'loaded':>9}{'rejected':>10}  reasons"]
        for layer in self.layers:
            reasons = "; ".join(f"{k}: {v}" for k, v in layer.rejected.items()) or "-"
            lines.append(f"{layer.name:<12}{layer.read:>9}{layer.loaded:>9}{sum(layer.rejected.values()):>10}"
                         f"  {reasons}")
            for reason, ex in layer.examples.items():
                lines.append(f"{'':<12}  e.g. {reason}: {', '.join(ex)}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


class Progress:
    """Progress on standard error for long imports (silent when `quiet`)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def read_layer(path: Path | str, *, source_crs: str | None = None, x_field: str = "lon", y_field: str = "lat"
               ) -> gpd.GeoDataFrame:
    """Read any supported file to a GeoDataFrame in WGS-84; raises ImportFailed with a plain reason."""
    path = Path(path)
    if not path.exists():
        raise ImportFailed(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".csv", ".txt"):
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            missing = [c for c in (x_field, y_field) if c not in df.columns]
            if missing:
                raise ImportFailed(f"{path}: CSV has no column {', '.join(missing)} (columns: {', '.join(df.columns)})")
            x = pd.to_numeric(df[x_field].str.strip(), errors="coerce")
            y = pd.to_numeric(df[y_field].str.strip(), errors="coerce")
            geom = [shapely.Point(a, b) if np.isfinite(a) and np.isfinite(b) else None
                    for a, b in zip(x, y, strict=True)]
            gdf = gpd.GeoDataFrame(df.drop(columns=[x_field, y_field]), geometry=geom, crs=source_crs or "EPSG:4326")
        else:
            gdf = gpd.read_file(path)
    except ImportFailed:
        raise
    except Exception as e:
        raise ImportFailed(f"{path}: cannot be read ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    if gdf.crs is None:
        if not source_crs:
            raise ImportFailed(f"{path}: the file declares no CRS; give --source-crs (e.g. EPSG:4547)")
        gdf = gdf.set_crs(source_crs)
    try:
        CRS.from_user_input(gdf.crs)
        gdf = gdf.to_crs(4326)
    except Exception as e:
        raise ImportFailed(f"{path}: cannot reproject from {gdf.crs} ({e})") from None
    return gdf


def _valid_geometry(gdf: gpd.GeoDataFrame, kinds: tuple[str, ...], report: LayerReport) -> gpd.GeoDataFrame:
    geom = gdf.geometry
    empty = geom.isna() | geom.is_empty
    report.reject("empty geometry", gdf.index[empty] + 1)
    gdf = gdf[~empty]
    wrong = ~gdf.geom_type.isin(kinds)
    report.reject(f"geometry is not {'/'.join(kinds)}", gdf.index[wrong] + 1)
    gdf = gdf[~wrong]
    b = gdf.geometry.bounds
    bad = ~(b["minx"].between(-180, 180) & b["maxx"].between(-180, 180) & b["miny"].between(-90, 90)
            & b["maxy"].between(-90, 90))
    report.reject("coordinates outside WGS-84 range (wrong source CRS?)", gdf.index[bad] + 1)
    return gdf[~bad]


FAR_KM = 50.0  # a sub-district is a few kilometres across: a point this far from the others is a wrong one


def far_from_the_rest(points: gpd.GeoSeries) -> np.ndarray:
    """Which points lie more than FAR_KM from the median point of all (a row at 0, 0, a swapped pair): such
    a point would also pick the wrong UTM zone for the whole district."""
    if points.empty:
        return np.zeros(0, dtype=bool)
    x, y = points.x.to_numpy(), points.y.to_numpy()
    return haversine_m(x, y, np.median(x), np.median(y)) > FAR_KM * 1000


def _field(gdf: gpd.GeoDataFrame, name: str | None, path: str, what: str) -> str:
    if not name:
        raise ImportFailed(f"{path}: say which field holds the {what}")
    if name not in gdf.columns:
        fields = ", ".join(str(c) for c in gdf.columns if c != "geometry")
        raise ImportFailed(f"{path}: no field {name!r} for the {what} (fields: {fields})")
    return name


def _text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: None if v is None or (isinstance(v, float) and not np.isfinite(v)) else
                      (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()) or None)


ROAD_NAME_M = 30.0  # a pole takes the name of a road this close
MODES = ("walk", "cycle", "drive")


def _common_digits(codes: pd.Series) -> str | None:
    """The longest run of digits (6 to 9) every code begins with, or None."""
    values = [str(c) for c in codes if isinstance(c, str) and c]
    if not values:
        return None
    digits = ""
    for chars in zip(*values, strict=False):
        if len(set(chars)) != 1 or not chars[0].isdigit() or len(digits) == 9:
            break
        digits += chars[0]
    return digits if len(digits) >= 6 else None


def _people(args: argparse.Namespace, report: ImportReport) -> dict[str, list[dict]]:
    """teams.json and staff.json from the --teams and --staff CSV files (rows that cannot be used rejected)."""
    from brain.cases.catalogue import Catalogue

    catalogue = Catalogue.load()
    departments = {c.department for c in catalogue}
    teams: list[dict] = []
    staff: list[dict] = []
    if args.teams:
        rep = LayerReport("teams", str(args.teams))
        t = pd.read_csv(args.teams, dtype=str, keep_default_na=False)
        rep.read = len(t)
        for col in ("id", "name", "department", "duties"):
            if col not in t.columns:
                raise ImportFailed(f"{args.teams}: no column {col!r} (columns: {', '.join(t.columns)})")
        seen: set[str] = set()
        for i, r in t.iterrows():
            row = int(str(i)) + 1
            duties = [d.strip() for d in r["duties"].replace(",", ";").split(";") if d.strip()]
            if not r["id"].strip() or r["id"] in seen:
                rep.reject("missing or duplicate id", [row])
            elif r["department"] not in departments:
                rep.reject(f"department is not one of {', '.join(sorted(departments))}", [row])
            elif not duties or not all(any(c.code.startswith(d) for c in catalogue) for d in duties):
                rep.reject("duties must be category codes or class prefixes (e.g. E05;C0107)", [row])
            else:
                seen.add(r["id"])
                teams.append({"id": r["id"].strip(), "name": r["name"].strip() or r["id"], "department":
                              r["department"], "department_name": r.get("department_name") or r["department"],
                              "duties": duties,
                              "mode": r.get("mode") if r.get("mode") in MODES else "walk"})
        rep.loaded = len(teams)
        report.layers.append(rep)
    if args.staff:
        rep = LayerReport("staff", str(args.staff))
        s = pd.read_csv(args.staff, dtype=str, keep_default_na=False)
        rep.read = len(s)
        for col in ("id", "name", "team_id"):
            if col not in s.columns:
                raise ImportFailed(f"{args.staff}: no column {col!r} (columns: {', '.join(s.columns)})")
        known = {t["id"]: t for t in teams}
        seen = set()
        for i, r in s.iterrows():
            row = int(str(i)) + 1
            if not r["id"].strip() or r["id"] in seen:
                rep.reject("missing or duplicate id", [row])
            elif r["team_id"] not in known:
                rep.reject("team_id is no team of --teams", [row])
            else:
                seen.add(r["id"])
                staff.append({"id": r["id"].strip(), "name": r["name"].strip() or r["id"], "team_id": r["team_id"],
                              "role": r.get("role") if r.get("role") in ("leader", "member") else "member",
                              "phone": r.get("phone") or None, "on_duty": False,
                              "mode": r.get("mode") if r.get("mode") in MODES else known[r["team_id"]]["mode"],
                              "lon": None, "lat": None})
        rep.loaded = len(staff)
        report.layers.append(rep)
    elif teams:
        report.notes.append("teams without --staff: nobody can be dispatched until people are added")
    return {"teams": teams, "staff": staff}


def run(args: argparse.Namespace, progress: Progress | None = None) -> ImportReport:
    """Import the layers named in `args`; returns the report; raises ImportFailed (nothing written)."""
    progress = progress or Progress(quiet=True)
    report = ImportReport()
    read = lambda p: read_layer(p, source_crs=args.source_crs, x_field=args.x_field, y_field=args.y_field)  # noqa: E731
    division = args.division_code
    if division is not None and not (division.isdigit() and 6 <= len(division) <= 12):
        raise ImportFailed("--division-code must be 6 to 12 digits")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.replace:
        raise ImportFailed(f"{out} exists and is not empty; add --replace to overwrite it")

    layers: dict[str, gpd.GeoDataFrame] = {}
    if args.metric_epsg is None:
        # Peek at the poles to choose the UTM zone they lie in; distances are then true metres.
        try:
            peek = read(args.poles).dropna(subset=["geometry"])
            peek = peek[peek.geometry.geom_type == "Point"]
            utm = peek[~far_from_the_rest(peek.geometry)].estimate_utm_crs()
            args.metric_epsg = int(utm.to_epsg() or DEFAULT_METRIC_EPSG)
        except (ValueError, RuntimeError):
            args.metric_epsg = DEFAULT_METRIC_EPSG
        report.notes.append(f"metric CRS: EPSG:{args.metric_epsg}")
    # Committees
    if args.committees:
        progress(f"reading committees from {args.committees}")
        rep = LayerReport("committees", str(args.committees))
        g = read(args.committees)
        rep.read = len(g)
        code_f = _field(g, args.committee_code_field, args.committees, "committee code")
        name_f = _field(g, args.committee_name_field or args.committee_code_field, args.committees, "committee name")
        g = g.reset_index(drop=True)
        g = _valid_geometry(g, ("Polygon", "MultiPolygon"), rep)
        codes, names = _text(g[code_f]), _text(g[name_f])
        rep.reject("missing code", g.index[codes.isna()] + 1)
        dup = codes.duplicated() & codes.notna()
        rep.reject("duplicate code", g.index[dup] + 1)
        keep = codes.notna() & ~dup
        g = gpd.GeoDataFrame({"code": codes[keep], "name": names[keep].fillna(codes[keep])},
                             geometry=shapely.make_valid(g.geometry[keep].to_numpy()), crs=4326)
        rep.loaded = len(g)
        report.layers.append(rep)
        layers["committees"] = g

    # Boundary: given, or the union of committees, or derived from the data
    if args.boundary:
        progress(f"reading boundary from {args.boundary}")
        rep = LayerReport("boundary", str(args.boundary))
        b = read(args.boundary)
        rep.read = len(b)
        b = _valid_geometry(b.reset_index(drop=True), ("Polygon", "MultiPolygon"), rep)
        if b.empty:
            raise ImportFailed(f"{args.boundary}: no usable polygon for the boundary")
        boundary = shapely.make_valid(shapely.union_all(b.geometry.to_numpy()))
        rep.loaded = len(b)
        report.layers.append(rep)
    elif "committees" in layers and len(layers["committees"]):
        boundary = shapely.union_all(layers["committees"].geometry.to_numpy())
        report.notes.append("boundary taken as the union of the committees")
    else:
        boundary = None

    # Roads
    if args.roads:
        progress(f"reading roads from {args.roads}")
        rep = LayerReport("roads", str(args.roads))
        r = read(args.roads).reset_index(drop=True)
        rep.read = len(r)
        r = _valid_geometry(r, ("LineString", "MultiLineString"), rep)
        r = r.explode(index_parts=False).reset_index(drop=True)
        names = _text(r[args.road_name_field]) if args.road_name_field and args.road_name_field in r else None
        metric = r.geometry.to_crs(args.metric_epsg)
        ends = [(shapely.get_point(g, 0), shapely.get_point(g, -1)) for g in metric]
        node = lambda p: f"N{round(p.x):d}_{round(p.y):d}"  # noqa: E731  (1 m snapping joins segments)
        r = gpd.GeoDataFrame({"id": [f"R{i + 1:06d}" for i in range(len(r))],
                              "name": names if names is not None else pd.Series([None] * len(r)),
                              "class": "road", "from_node": [node(a) for a, _ in ends],
                              "to_node": [node(b) for _, b in ends], "length_m": metric.length.round(2)},
                             geometry=r.geometry, crs=4326)
        rep.loaded = len(r)
        report.layers.append(rep)
        layers["roads"] = r

    # Poles (required)
    progress(f"reading poles from {args.poles}")
    rep = LayerReport("poles", str(args.poles))
    p = read(args.poles).reset_index(drop=True)
    rep.read = len(p)
    num_f = _field(p, args.pole_number_field, args.poles, "pole number")
    p = _valid_geometry(p, ("Point",), rep)
    if boundary is None:  # (with a boundary, such a pole is refused as outside it)
        far = far_from_the_rest(p.geometry)
        rep.reject(f"more than {FAR_KM:.0f} km from the other poles (a wrong coordinate, such as 0, 0?)",
                   p.index[far] + 1)
        p = p[~far]
    numbers = _text(p[num_f])
    rep.reject("missing number", p.index[numbers.isna()] + 1)
    p, numbers = p[numbers.notna()], numbers[numbers.notna()]
    keys = numbers.map(normalize_number)
    rep.reject("number has no letters or digits", p.index[keys == ""] + 1)
    p, numbers, keys = p[keys != ""], numbers[keys != ""], keys[keys != ""]
    dup = keys.duplicated()
    rep.reject("duplicate number", [f"{i + 1} ({n})" for i, n in zip(p.index[dup], numbers[dup], strict=True)])
    p, numbers = p[~dup], numbers[~dup]
    if boundary is None:
        pts = p.geometry.to_crs(args.metric_epsg)
        hull = shapely.convex_hull(shapely.union_all(pts.to_numpy())).buffer(50)
        boundary = gpd.GeoSeries([hull], crs=args.metric_epsg).to_crs(4326).iloc[0]
        report.notes.append("no boundary given: derived as the convex hull of the poles plus 50 m")
    progress(f"checking {len(p)} poles against the boundary")
    shapely.prepare(boundary)
    inside = shapely.intersects(boundary, p.geometry.to_numpy())
    rep.reject("outside the boundary", p.index[~inside] + 1)
    p, numbers = p[inside], numbers[inside]
    if args.pole_code_field:
        codes = _text(p[_field(p, args.pole_code_field, args.poles, "component code")])
        bad = ~codes.fillna("").str.fullmatch(r"\d{16}")
        rep.reject("component code is not 16 digits", p.index[bad] + 1)
        p, numbers, codes = p[~bad], numbers[~bad], codes[~bad]
    else:
        codes = pd.Series([None] * len(p), index=p.index)  # made once the division code is known
        report.notes.append("no component code field: codes generated as division + 0107 (street lamp) + serial")
    poles = gpd.GeoDataFrame({"number": numbers.to_numpy(), "code": codes.to_numpy(), "kind": "lamp",
                              "road": None, "grid": None, "committee": None},
                             geometry=p.geometry.to_numpy(), crs=4326)
    rep.loaded = len(poles)
    report.layers.append(rep)
    if poles.empty:
        reasons = "; ".join(f"{k}: {v}" for k, v in rep.rejected.items())
        raise ImportFailed(f"{args.poles}: no usable pole (all {rep.read} rows rejected: {reasons})")

    # Grid cells
    if args.grid:
        progress(f"reading grid cells from {args.grid}")
        grep = LayerReport("grid", str(args.grid))
        g = read(args.grid).reset_index(drop=True)
        grep.read = len(g)
        code_f = _field(g, args.grid_code_field, args.grid, "grid cell code")
        g = _valid_geometry(g, ("Polygon", "MultiPolygon"), grep)
        codes = _text(g[code_f])
        grep.reject("missing code", g.index[codes.isna()] + 1)
        dup = codes.duplicated() & codes.notna()
        grep.reject("duplicate code", g.index[dup] + 1)
        keep = codes.notna() & ~dup
        committee = (_text(g[args.grid_committee_field])[keep] if args.grid_committee_field in g.columns
                     else pd.Series([None] * int(keep.sum())))
        g = gpd.GeoDataFrame({"code": codes[keep].to_numpy(), "committee": committee.to_numpy()},
                             geometry=g.geometry[keep].to_numpy(), crs=4326)
        grep.loaded = len(g)
        report.layers.append(grep)
        layers["grid"] = g

    if division is None:  # from the data: the digits every committee's (or grid cell's) code begins with
        for layer in ("committees", "grid"):
            if layer in layers and len(layers[layer]):
                division = _common_digits(layers[layer]["code"])
                if division:
                    report.notes.append(f"division code {division}: the digits every {layer} code begins with")
                    break
        if not division:
            raise ImportFailed("no division code: give --division-code (6 to 12 digits); the data names none "
                               "(committee or grid codes that all begin with the same 6 or more digits)")
    if not args.pole_code_field:
        codes = pd.Series([f"{division[:6]}0107{i + 1:06d}" for i in range(len(poles))], index=poles.index)
        poles["code"] = codes.to_numpy()

    # Road names: the nearest named road within ROAD_NAME_M of each pole
    if "roads" in layers and layers["roads"]["name"].notna().any():
        named = layers["roads"][layers["roads"]["name"].notna()]
        tree = shapely.STRtree(named.geometry.to_crs(args.metric_epsg).to_numpy())
        pts = poles.geometry.to_crs(args.metric_epsg).to_numpy()
        which, near = tree.query_nearest(pts, max_distance=ROAD_NAME_M, all_matches=False)
        road = np.full(len(poles), None, dtype=object)
        road[which] = named["name"].to_numpy()[near]
        poles["road"] = road
        report.notes.append(f"road names: {int(pd.notna(road).sum())} of {len(poles)} poles within {ROAD_NAME_M:.0f} m "
                            "of a named road")

    tables = _people(args, report)

    # Enrich: each pole's committee and grid cell by where it stands
    progress("assigning poles to grid cells and committees")
    for layer, column in (("grid", "grid"), ("committees", "committee")):
        if layer in layers and len(layers[layer]):
            joined = gpd.sjoin(poles[["geometry"]], layers[layer][["code", "geometry"]], how="left",
                               predicate="intersects")
            first = joined[~joined.index.duplicated(keep="first")]
            poles[column] = first["code"].where(first["code"].notna(), None).to_numpy()
    if "grid" in layers and "committees" in layers:
        g = layers["grid"]
        missing = g["committee"].isna()
        if missing.any():
            cent = gpd.GeoDataFrame(geometry=g.geometry[missing].representative_point(), crs=4326)
            j = gpd.sjoin(cent, layers["committees"][["code", "geometry"]], how="left", predicate="intersects")
            j = j[~j.index.duplicated(keep="first")]
            g.loc[missing, "committee"] = j["code"].to_numpy()

    # Write whole or not at all
    data = DistrictData(tables=tables, meta={"name": args.name, "division_code": division,
                                             "metric_epsg": args.metric_epsg,
                              "demo": False, "imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "sources": {layer.name: layer.source for layer in report.layers}})
    data.layers["boundary"] = [{"type": "Feature", "properties": {"name": args.name, "code": division},
                                "geometry": shapely.geometry.mapping(boundary)}]
    for name, gdf in {**layers, "poles": poles}.items():
        data.layers[name] = json.loads(gdf.to_json(na="null", drop_id=True))["features"]
    progress(f"writing {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_folder(data, tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.out = str(out)
    progress("done")
    return report


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m geodata.importer", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="district folder to write (BRAIN_DISTRICT_DIR)")
    ap.add_argument("--name", default="导入街道", help="district name")
    ap.add_argument("--division-code", default=None,
                    help="the division code (6 to 12 digits); default: what the committee or grid codes begin with")
    ap.add_argument("--metric-epsg", type=int, default=None,
                    help="metric CRS for distances (default: the UTM zone of the poles)")
    ap.add_argument("--source-crs", help="CRS of files that declare none (and of CSV coordinates)")
    ap.add_argument("--x-field", default="lon", help="CSV column of x / longitude")
    ap.add_argument("--y-field", default="lat", help="CSV column of y / latitude")
    ap.add_argument("--boundary")
    ap.add_argument("--committees")
    ap.add_argument("--committee-code-field")
    ap.add_argument("--committee-name-field")
    ap.add_argument("--grid")
    ap.add_argument("--grid-code-field")
    ap.add_argument("--grid-committee-field", default="committee")
    ap.add_argument("--roads")
    ap.add_argument("--road-name-field")
    ap.add_argument("--teams", help="CSV of teams: id, name, department, duties (';'-separated), mode")
    ap.add_argument("--staff", help="CSV of people: id, name, team_id, phone, role, mode")
    ap.add_argument("--poles", required=True)
    ap.add_argument("--pole-number-field", required=True)
    ap.add_argument("--pole-code-field")
    ap.add_argument("--replace", action="store_true", help="overwrite a non-empty --out folder")
    ap.add_argument("--report", help="also write the report as JSON here")
    ap.add_argument("--quiet", action="store_true", help="no progress on standard error")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        report = run(args, Progress(quiet=args.quiet))
    except ImportFailed as e:
        print(f"import failed, nothing written: {e}", file=sys.stderr)
        return 2
    print(report.text())
    if args.report:
        Path(args.report).write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
