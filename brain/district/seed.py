"""Load a district's static geography into the database, once, in one transaction."""

from __future__ import annotations

import shapely
from sqlalchemy import func, insert, select

from brain.district.models import Committee, Device, GridCell, Place, Pole, Road
from brain.staff.enums import DutyStatus
from brain.staff.models import Staff, Team
from brain.storage.db import Database, utcnow
from geodata.district import District


def _records(gdf, columns: dict[str, str]) -> list[dict]:
    """Rows of a GeoDataFrame as dicts: attribute columns renamed, geometry as GeoJSON text."""
    out = []
    props = [c for c in columns if c in gdf.columns]
    geoms = shapely.to_geojson(gdf.geometry.to_numpy())
    for i, row in enumerate(gdf[props].itertuples(index=False, name=None)):
        rec = {columns[c]: (None if v is None or v != v else v) for c, v in zip(props, row, strict=True)}
        rec["geometry"] = geoms[i]
        out.append(rec)
    return out


def seed(db: Database, district: District) -> bool:
    """Insert the district (geography, teams, staff) if the database holds none; returns True if it did."""
    with db.transaction() as s:
        if s.scalar(select(func.count()).select_from(Pole)):
            return False
        if len(district.committees):
            s.execute(insert(Committee), _records(district.committees, {"code": "code", "name": "name"}))
        if len(district.grid):
            s.execute(insert(GridCell), _records(district.grid, {"code": "code", "committee": "committee_code"}))
        if len(district.roads):
            s.execute(insert(Road), _records(district.roads, {
                "id": "id", "name": "name", "class": "road_class", "from_node": "from_node",
                "to_node": "to_node", "length_m": "length_m"}))
        poles = district.poles
        s.execute(insert(Pole), [
            {"number": str(n), "code": str(c), "kind": k, "road": r, "grid_code": g, "committee_code": cm,
             "lon": float(x), "lat": float(y)}
            for n, c, k, r, g, cm, x, y in zip(
                poles["number"], poles["code"], poles.get("kind", [None] * len(poles)),
                poles.get("road", [None] * len(poles)), poles.get("grid", [None] * len(poles)),
                poles.get("committee", [None] * len(poles)), poles.geometry.x, poles.geometry.y, strict=True)])
        if len(district.places):
            places = _records(district.places, {
                "id": "id", "kind": "kind", "name": "name", "parent": "parent_id", "committee": "committee_code",
                "floors": "floors", "address": "address", "occupant": "occupant", "phone": "phone", "age": "age",
                "living_alone": "living_alone"})
            cents = district.places.geometry.to_crs(district.metric_epsg).centroid.to_crs(4326)
            for rec, c in zip(places, cents, strict=True):
                rec["lon"], rec["lat"] = float(c.x), float(c.y)
                rec["living_alone"] = bool(rec.get("living_alone") or False)
                for k in ("floors", "age"):
                    rec[k] = int(rec[k]) if rec.get(k) is not None else None
            s.execute(insert(Place), places)
        if len(district.devices):
            dev = district.devices
            s.execute(insert(Device), [
                {"id": i, "type": t, "place_id": p, "heartbeat_s": int(h), "lon": float(x), "lat": float(y),
                 "online": True, "maintenance": False, "last_seen_at": utcnow()}
                for i, t, p, h, x, y in zip(dev["id"], dev["type"], dev["place"], dev["heartbeat_s"],
                                            dev.geometry.x, dev.geometry.y, strict=True)])
        if district.teams:
            s.execute(insert(Team), [{"id": t["id"], "name": t["name"], "department": t["department"],
                                      "department_name": t["department_name"], "duties": t["duties"],
                                      "mode": t.get("mode", "walk")} for t in district.teams])
        if district.staff:
            now = utcnow()
            s.execute(insert(Staff), [{
                "id": p["id"], "name": p["name"], "team_id": p["team_id"], "role": p.get("role", "member"),
                "phone": p.get("phone"), "mode": p.get("mode", "walk"),
                "status": (DutyStatus.AVAILABLE if p.get("on_duty", True) else DutyStatus.OFF_DUTY).value,
                "lon": p.get("lon"), "lat": p.get("lat"), "position_at": now if p.get("lon") is not None else None,
                "version": 1} for p in district.staff])
    return True
