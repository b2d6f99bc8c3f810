"""Deterministic generator of the demonstration sub-district (示范街道) and of city-scale sets.

Run ``python -m geodata.demo.generate`` to rewrite the committed files in this folder, or
``python -m geodata.demo.generate --tiles 7 --staff 10000 --out /tmp/city`` for a city-scale set
(not committed). The same seed always gives byte-identical files.

Everything is laid out on a 100 m lattice in the metric CRS (UTM 51N) around 31.33°N 121.45°E:
lattice lines are roads, lattice squares are the unit grid cells (万米单元网格), blocks of squares
are the neighbourhood committees (居委会). It is demonstration data, not a survey of a real place.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from shapely import LineString, Point, box, unary_union
from shapely.geometry import mapping

from geodata.crs import DEFAULT_METRIC_EPSG, MetricCRS

HERE = Path(__file__).resolve().parent
CENTRE_LON, CENTRE_LAT = 121.45, 31.33
CELL_M = 100.0
NX, NY = 17, 13  # lattice squares per tile
TILE_DX, TILE_DY = 1800.0, 1400.0  # tile pitch for city-scale sets
NOTCHES = {(i, j) for i in (15, 16) for j in (11, 12)} | {(0, j) for j in (0, 1, 2)}
COL_BREAKS = (0, 4, 8, 12, NX)  # committee boundaries run along roads
ROW_BREAKS = (0, 4, 8, 11, NY)
MAIN_X, MAIN_Y = {0, 4, 8, 12, 16, 17}, {0, 4, 8, 13}
DIVISION = "310106"  # county-level division code of the demo district
STREET_BASE = 15  # 3-digit township (street) code of the first tile

V_NAMES = ["西华路", "安澜路", "锦秋路", "临岚路", "和畅路", "宝泉路", "青枫路", "永乐路", "长兴路",
           "润泽路", "建宁路", "嘉禾路", "瑞金路", "东风路", "惠民路", "启明路", "新泾路", "东环路"]
H_NAMES = ["南环路", "汾阳路", "场北路", "康宁路", "平安路", "共和路", "泰和路", "明德路",
           "广延路", "文昌路", "延长路", "秀川路", "静宁路", "北环路"]
COMMITTEE_NAMES = ["安澜一村", "安澜二村", "锦秋苑", "临岚", "和畅", "宝泉", "青枫", "永乐",
                   "长兴", "润泽", "建宁", "嘉禾", "瑞金新村", "东风", "惠民", "启明"]
COMPOUND_SUFFIX = ["小区", "新村", "苑", "花园", "公寓"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
GIVEN = list("秀英桂兰玉珍凤华建国明德志强海燕丽芳文军伟敏静")

# Departments and teams. Duties are GB/T 30428 class codes (C = component, E = event) or
# longer category codes; a team may take a case whose category code starts with one of them.
DEPARTMENTS = {
    "chengguan": ("城管执法", ["E05", "E02", "E0103", "E0104", "E03"]),
    "greening": ("市容绿化", ["E01", "C03", "C04"]),
    "housing": ("房管物业", ["C05", "E0601", "E0602", "E0603"]),
    "municipal": ("市政维修", ["C01", "C02", "E0401", "E0402", "E0403"]),
    "police": ("综治/派出所联络", ["E0505", "E0604", "E0605"]),
    "grid": ("网格", ["E01", "E02", "E05", "C01", "C02", "C03", "C04", "E06"]),
    "elderly": ("养老服务", ["E0606", "E0607"]),
    "emergency": ("应急", ["E04", "E0606"]),
}
TEAMS = [  # (team id, department, name, staff count, travel mode)
    ("T01", "chengguan", "城管执法一中队", 8, "cycle"),
    ("T02", "chengguan", "城管执法二中队", 7, "cycle"),
    ("T03", "greening", "市容保洁队", 8, "cycle"),
    ("T04", "greening", "绿化养护队", 5, "walk"),
    ("T05", "housing", "房管办维修队", 6, "walk"),
    ("T06", "municipal", "市政养护队", 6, "cycle"),
    ("T07", "police", "综治联络组", 5, "walk"),
    ("T08", "grid", "网格巡查一组", 6, "walk"),
    ("T09", "grid", "网格巡查二组", 6, "walk"),
    ("T10", "elderly", "养老服务站", 5, "walk"),
    ("T11", "emergency", "应急抢险队", 6, "cycle"),
]


@dataclass
class DistrictData:
    """Plain records of one generated district; geometry in WGS-84, as written to disk."""

    meta: dict
    layers: dict[str, list[dict]] = field(default_factory=dict)  # name -> GeoJSON features
    tables: dict[str, list[dict]] = field(default_factory=dict)  # name -> JSON records


def _feature(geom, props: dict, crs: MetricCRS) -> dict:
    from shapely import transform

    geom = transform(geom, lambda xy: np.column_stack(crs.to_wgs84(xy[:, 0], xy[:, 1])))
    gj = mapping(geom)
    gj = json.loads(json.dumps(gj), parse_float=lambda s: round(float(s), 7))
    return {"type": "Feature", "properties": props, "geometry": gj}


def _name(rng: np.random.Generator) -> str:
    return str(rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN, size=int(rng.integers(1, 3))))


def _tile(tile: int, ox: float, oy: float, rng, crs: MetricCRS, data: DistrictData, counters: dict,
          city: bool) -> None:
    street = f"{STREET_BASE + tile:03d}"
    cells = {(i, j) for i in range(NX) for j in range(NY)} - NOTCHES
    sq = {c: box(ox + c[0] * CELL_M, oy + c[1] * CELL_M, ox + (c[0] + 1) * CELL_M, oy + (c[1] + 1) * CELL_M)
          for c in cells}
    boundary = unary_union(list(sq.values()))
    data.layers.setdefault("boundary", []).append(_feature(boundary, {
        "name": "示范街道（演示数据）" if not city else f"示范街道{tile + 1:02d}（演示数据）",
        "code": DIVISION + street, "demo": True}, crs))

    # Committees: blocks of lattice squares bounded by roads.
    committee_of: dict[tuple[int, int], str] = {}
    k = 0
    for cj in range(len(ROW_BREAKS) - 1):
        for ci in range(len(COL_BREAKS) - 1):
            block = [c for c in cells if COL_BREAKS[ci] <= c[0] < COL_BREAKS[ci + 1]
                     and ROW_BREAKS[cj] <= c[1] < ROW_BREAKS[cj + 1]]
            if not block:
                continue
            k += 1
            code = f"{DIVISION}{street}{k:03d}"
            name = COMMITTEE_NAMES[(k - 1) % len(COMMITTEE_NAMES)] + "居委会"
            for c in block:
                committee_of[c] = code
            data.layers.setdefault("committees", []).append(_feature(
                unary_union([sq[c] for c in block]), {"code": code, "name": name}, crs))

    # Unit grid cells: one per lattice square, coded committee + 2-digit serial.
    serial: dict[str, int] = {}
    grid_of: dict[tuple[int, int], str] = {}
    for c in sorted(cells, key=lambda c: (committee_of[c], c[1], c[0])):
        cc = committee_of[c]
        serial[cc] = serial.get(cc, 0) + 1
        grid_of[c] = f"{cc}{serial[cc]:02d}"
        data.layers.setdefault("grid", []).append(_feature(sq[c], {"code": grid_of[c], "committee": cc}, crs))

    # Roads: every lattice line, cut into 100 m segments between nodes (graph-ready).
    inside = boundary.buffer(0.5)
    lines = []  # (name, class, horizontal, fixed, start, end) in lattice units
    for i in range(NX + 1):
        cls = "main" if i in MAIN_X else ("secondary" if i % 2 == 0 else "lane")
        name = V_NAMES[i] if cls != "lane" else V_NAMES[i - 1].replace("路", "支路")
        lines.append((name, cls, False, i))
    for j in range(NY + 1):
        cls = "main" if j in MAIN_Y else ("secondary" if j % 2 == 0 else "lane")
        name = H_NAMES[j] if cls != "lane" else H_NAMES[j - 1].replace("路", "支路")
        lines.append((name, cls, True, j))
    node_id = lambda i, j: f"{tile:02d}N{i:02d}{j:02d}"  # noqa: E731
    for name, cls, horizontal, fixed in lines:
        span = NX if horizontal else NY
        for s in range(span):
            a = (s, fixed) if horizontal else (fixed, s)
            b = (s + 1, fixed) if horizontal else (fixed, s + 1)
            seg = LineString([(ox + a[0] * CELL_M, oy + a[1] * CELL_M), (ox + b[0] * CELL_M, oy + b[1] * CELL_M)])
            if not inside.contains(seg):
                continue
            counters["road"] += 1
            data.layers.setdefault("roads", []).append(_feature(seg, {
                "id": f"R{counters['road']:06d}", "name": name, "class": cls,
                "from_node": node_id(*a), "to_node": node_id(*b), "length_m": CELL_M}, crs))

    # Poles: along each road side, 26-38 m apart, set back from the kerb; both sides of main and
    # secondary roads, one side of lanes. Numbered in the order a surveyor would walk the roads.
    setback = {"main": 12.0, "secondary": 7.0, "lane": 4.0}
    interior = boundary.buffer(-1.0)
    for name, cls, horizontal, fixed in lines:
        sides = (1, -1) if cls != "lane" else (1,)
        length = (NX if horizontal else NY) * CELL_M
        for side in sides:
            t = float(rng.uniform(0, 20))
            while t < length:
                off = side * setback[cls]
                x, y = (ox + t, oy + fixed * CELL_M + off) if horizontal else (ox + fixed * CELL_M + off, oy + t)
                t += float(rng.uniform(26, 38))
                p = Point(x, y)
                if not interior.contains(p):
                    continue
                ci, cj = int((x - ox) // CELL_M), int((y - oy) // CELL_M)
                if (ci, cj) not in grid_of:
                    continue
                counters["pole"] += 1
                seq = counters["pole_tile"][tile] = counters["pole_tile"].get(tile, 0) + 1
                lamp = cls != "lane" or rng.random() < 0.5
                sub = "07" if lamp else "10"  # 路灯 / 电杆 within class 01 公用设施
                number = f"{tile + 1:02d}-{seq:04d}" if city else f"{seq:04d}"
                data.layers.setdefault("poles", []).append(_feature(p, {
                    "number": number,
                    "code": f"{DIVISION}01{sub}{counters['pole']:06d}",
                    "kind": "lamp" if lamp else "utility",
                    "road": name, "grid": grid_of[(ci, cj)], "committee": committee_of[(ci, cj)]}, crs))

    if city:
        return  # city-scale sets carry geography, poles and staff only

    # Compounds (小区) in the 200 m blocks between secondary roads, with buildings inside.
    place_no = 0
    for bi in range(0, NX - 1, 2):
        for bj in range(0, NY - 1, 2):
            block_cells = {(bi, bj), (bi + 1, bj), (bi, bj + 1), (bi + 1, bj + 1)}
            if not block_cells <= cells or rng.random() < 0.15:
                continue  # outside, or a school, market or park
            x0, y0 = ox + bi * CELL_M, oy + bj * CELL_M
            place_no += 1
            cid = f"P{place_no:05d}"
            cname = COMMITTEE_NAMES[(bi * 7 + bj) % len(COMMITTEE_NAMES)].replace("新村", "") \
                + str(rng.choice(COMPOUND_SUFFIX))
            cname = f"{cname}{bi // 2 + 1}{bj // 2 + 1}" if cname in {p["properties"]["name"] for p in
                                                                        data.layers.get("places", [])} else cname
            comp = box(x0 + 15, y0 + 15, x0 + 185, y0 + 185)
            centre = (bi + 1, bj + 1) if (bi + 1, bj + 1) in cells else (bi, bj)
            data.layers.setdefault("places", []).append(_feature(comp, {
                "id": cid, "kind": "compound", "name": cname, "parent": None,
                "committee": committee_of[centre], "floors": None, "address": None}, crs))
            high_rise = rng.random() < 0.4
            floors = int(rng.integers(14, 25)) if high_rise else int(rng.integers(5, 7))
            buildings = []
            for row in range(3):
                for col in range(2):
                    place_no += 1
                    bid = f"P{place_no:05d}"
                    bx, by = x0 + 30 + col * 80, y0 + 30 + row * 50
                    bgeom = box(bx, by, bx + 60, by + 14)
                    bname = f"{cname}{row * 2 + col + 1}号楼"
                    cell = (int((bx + 30 - ox) // CELL_M), int((by + 7 - oy) // CELL_M))
                    buildings.append((bid, bgeom, bname, cell))
                    data.layers["places"].append(_feature(bgeom, {
                        "id": bid, "kind": "building", "name": bname, "parent": cid,
                        "committee": committee_of[cell], "floors": floors, "address": bname}, crs))
            _devices(rng, data, crs, counters, cid, comp, buildings, floors, high_rise, committee_of)


def _devices(rng, data, crs, counters, compound_id, comp, buildings, floors, high_rise, committee_of) -> None:
    def add(kind: str, place_id: str, pt: Point, interval_s: int) -> None:
        counters["device"] += 1
        prefix = {"smoke": "SMK", "gas": "GAS", "water_meter": "WTR", "door": "DOR", "elevator": "ELV",
                  "fire_lane": "FLN", "infrared": "IRC"}[kind]
        data.layers.setdefault("devices", []).append(_feature(pt, {
            "id": f"{prefix}-{counters['device']:06d}", "type": kind, "place": place_id,
            "heartbeat_s": interval_s}, crs))

    # Homes of elderly residents living alone: smoke, gas, water meter and door sensor each.
    for _ in range(int(rng.integers(2, 6))):
        bid, bgeom, bname, cell = buildings[int(rng.integers(0, len(buildings)))]
        room = f"{int(rng.integers(1, floors + 1))}{int(rng.integers(1, 5)):02d}室"
        counters["home"] += 1
        hid = f"H{counters['home']:05d}"
        c = bgeom.centroid
        pt = Point(c.x + float(rng.uniform(-25, 25)), c.y + float(rng.uniform(-4, 4)))
        data.layers["places"].append(_feature(pt, {
            "id": hid, "kind": "home", "name": f"{bname}{room}", "parent": bid,
            "committee": committee_of[cell], "floors": None, "address": f"{bname}{room}",
            "occupant": _name(rng), "phone": f"138{int(rng.integers(0, 10**8)):08d}",
            "age": int(rng.integers(72, 96)), "living_alone": True}, crs))
        for kind, interval in (("smoke", 3600), ("gas", 3600), ("water_meter", 3600), ("door", 1800)):
            add(kind, hid, pt, interval)
    for bid, bgeom, _bname, _cell in buildings:
        if high_rise:
            c = bgeom.centroid
            add("elevator", bid, Point(c.x - 10, c.y), 300)
            add("elevator", bid, Point(c.x + 10, c.y), 300)
            add("infrared", bid, Point(c.x, c.y - 10), 600)
    minx, miny, maxx, maxy = comp.bounds
    add("fire_lane", compound_id, Point(minx + 8, (miny + maxy) / 2), 900)
    add("fire_lane", compound_id, Point((minx + maxx) / 2, miny + 8), 900)


def _staff(rng, data: DistrictData, total_staff: int, city_tiles: int) -> None:
    roads = data.layers["roads"]
    base = sum(n for *_, n, _m in TEAMS)
    factor = max(1.0, total_staff / base)
    staff_no = 0
    for t in range(city_tiles):
        for tid, dept, name, n, mode in TEAMS:
            team_id = tid if city_tiles == 1 else f"{tid}-{t + 1:02d}"
            dname, duties = DEPARTMENTS[dept]
            data.tables.setdefault("teams", []).append({
                "id": team_id, "name": name if city_tiles == 1 else f"{name}（{t + 1:02d}）",
                "department": dept, "department_name": dname, "duties": duties, "mode": mode})
            count = math.ceil(n * factor / city_tiles)
            for m in range(max(1, count)):
                staff_no += 1
                road = roads[int(rng.integers(0, len(roads)))]
                (lon, lat) = road["geometry"]["coordinates"][0]
                data.tables.setdefault("staff", []).append({
                    "id": f"S{staff_no:05d}", "name": _name(rng), "team_id": team_id,
                    "role": "leader" if m == 0 else "member",
                    "phone": f"139{int(rng.integers(0, 10**8)):08d}",
                    "on_duty": bool(rng.random() > 0.1), "mode": mode, "lon": lon, "lat": lat})


def generate(*, tiles: int = 1, staff: int = 0, seed: int = 20261122, epsg: int = DEFAULT_METRIC_EPSG
             ) -> DistrictData:
    """Generate a district (tiles=1) or a city-scale set of tiles x tiles districts, deterministically."""
    if tiles < 1:
        raise ValueError("tiles must be at least 1")
    rng = np.random.default_rng(seed)
    crs = MetricCRS(epsg)
    cx, cy = crs.to_metric(CENTRE_LON, CENTRE_LAT)
    city = tiles > 1
    n_tiles = tiles * tiles
    data = DistrictData(meta={
        "name": "示范街道（演示数据）", "name_en": "Demonstration sub-district (demo data)",
        "division_code": DIVISION + f"{STREET_BASE:03d}", "metric_epsg": epsg, "seed": seed,
        "tiles": n_tiles, "demo": True,
        "notice": "Generated demonstration data. Not a survey of any real place."})
    counters: dict = {"road": 0, "pole": 0, "device": 0, "home": 0, "pole_tile": {}}
    ox0, oy0 = cx - NX * CELL_M / 2 - (tiles - 1) * TILE_DX / 2, cy - NY * CELL_M / 2 - (tiles - 1) * TILE_DY / 2
    for t in range(n_tiles):
        ox, oy = math.floor(ox0 + (t % tiles) * TILE_DX), math.floor(oy0 + (t // tiles) * TILE_DY)
        _tile(t, ox, oy, rng, crs, data, counters, city)
    _staff(rng, data, staff or sum(n for *_, n, _m in TEAMS), n_tiles)
    return data


LAYER_FILES = ("boundary", "committees", "grid", "roads", "poles", "places", "devices")
TABLE_FILES = ("teams", "staff")


def write(data: DistrictData, out: Path) -> None:
    """Write the data set as GeoJSON layers and JSON tables, one file each, deterministically."""
    out.mkdir(parents=True, exist_ok=True)
    for name in LAYER_FILES:
        if name not in data.layers:
            continue
        fc = {"type": "FeatureCollection", "name": name,
              "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
              "features": data.layers[name]}
        (out / f"{name}.geojson").write_text(
            "{" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in fc.items()
                             if k != "features")
            + ',\n"features": [\n' + ",\n".join(json.dumps(f, ensure_ascii=False) for f in fc["features"])
            + "\n]}\n", encoding="utf-8")
    for name in TABLE_FILES:
        (out / f"{name}.json").write_text(
            json.dumps(data.tables.get(name, []), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "district.json").write_text(json.dumps(data.meta, ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    ap.add_argument("--tiles", type=int, default=1, help="N gives an N x N city of districts (7 -> ~100k poles)")
    ap.add_argument("--staff", type=int, default=0, help="total staff (default: the demo roster)")
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args(argv)
    data = generate(tiles=args.tiles, staff=args.staff, seed=args.seed)
    write(data, args.out)
    counts = {k: len(v) for k, v in {**data.layers, **data.tables}.items()}
    print(json.dumps({"out": str(args.out), **counts}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
