"""Positions over HTTP in the OsmAnd protocol, and alarms over HTTP, through the same ingest pipeline."""

from sqlalchemy import select

from brain.ingest.models import IngestReject
from brain.storage.db import utcnow
from geodata.crs import wgs84_to_gcj02


def test_osmand_query_string_moves_the_person_and_gcj02_is_converted(site):
    person = site.brain.staff.roster()[3]
    glon, glat = wgs84_to_gcj02(121.4511, 31.3311)
    ts = int(utcnow().timestamp()) + 2
    r = site.client.get(f"/api/v1/osmand?id={person.id}&lat={glat}&lon={glon}&timestamp={ts}&speed=1.2"
                        "&coord=gcj02", headers=site.bearer("field"))
    assert r.status_code == 200 and r.json() == {"status": "accepted"}, r.text
    moved = next(p for p in site.brain.staff.roster() if p.id == person.id)
    assert abs(moved.lon - 121.4511) < 1e-5 and abs(moved.lat - 31.3311) < 1e-5
    again = site.client.get(f"/api/v1/osmand?id={person.id}&lat={glat}&lon={glon}&timestamp={ts}&coord=gcj02",
                            headers=site.bearer("field"))
    assert again.json() == {"status": "duplicate"}


def test_osmand_json_and_refusals_are_recorded_with_their_reason(site):
    person = site.brain.staff.roster()[4]
    h = site.bearer("field")
    r = site.client.post("/api/v1/osmand", json={"id": person.id, "lat": 121.45, "lon": 31.33,
                                                 "timestamp": utcnow().isoformat()}, headers=h)
    assert r.status_code == 422  # lat out of range: refused by the schema, still recorded
    r = site.client.post("/api/v1/osmand", json={"id": person.id, "lat": 39.9, "lon": 116.4,
                                                 "timestamp": utcnow().isoformat()}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "out_of_district"
    r = site.client.get("/api/v1/osmand?id=x&lat=nan&lon=121.45&timestamp=1", headers=h)
    assert r.status_code == 422
    with site.brain.db.read() as s:
        reasons = [x.reason for x in s.scalars(select(IngestReject).order_by(IngestReject.seq))]
    assert reasons == ["invalid", "out_of_district", "invalid"]
    health = site.client.get("/api/v1/health", headers=site.bearer("operator")).json()
    assert health["ingest"]["rejected_last_24h"] == {"invalid": 2, "out_of_district": 1}


def test_http_alarms_go_through_the_pipeline(site):
    devices = site.brain.district.devices
    dev = str(devices[devices["type"] == "gas"]["id"].iloc[0])
    h = site.bearer("gateway")
    body = {"device_id": dev, "type": "gas_leak", "ts": utcnow().isoformat()}
    first = site.client.post("/api/v1/alarms", json=body, headers=h)
    assert first.status_code == 202 and first.json()["created"] is True, first.text
    again = site.client.post("/api/v1/alarms", json=body, headers=h)  # no id: derived from the content
    assert again.status_code == 202 and again.json()["duplicate"] is True
    bad = site.client.post("/api/v1/alarms", json={**body, "type": "trapped"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "unknown_type"
    assert site.brain.ingest.counts["alarm.rejected.unknown_type"] == 1


def test_a_device_status_over_http_is_a_heartbeat_and_brings_an_offline_device_back(site):
    from datetime import timedelta

    devices = site.brain.district.devices
    lift = str(devices[devices["type"] == "elevator"]["id"].iloc[0])
    h = site.bearer("gateway")
    with site.brain.db.transaction() as s:
        from sqlalchemy import update

        from brain.district.models import Device

        s.execute(update(Device).where(Device.id == lift).values(last_seen_at=utcnow() - timedelta(hours=2)))
    assert site.brain.monitor.sweep_offline(utcnow()) == [lift]
    r = site.client.post(f"/api/v1/devices/{lift}/status", json={"ts": utcnow().isoformat()}, headers=h)
    assert r.status_code == 200 and r.json() == {"status": "accepted", "came_back": True}, r.text
    assert not [a for a in site.brain.alarms.live() if a.type == "offline"]
    r = site.client.post("/api/v1/devices/NOPE-1/status", json={"ts": utcnow().isoformat()}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "unknown_device"
    r = site.client.post(f"/api/v1/devices/{lift}/status", json={"ts": "2026-01-01T08:00:00"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "bad_timestamp"  # a time without its zone
    r = site.client.post(f"/api/v1/devices/{lift}/status", json={"ts": utcnow().isoformat(), "activity": "perhaps"},
                         headers=h)
    assert r.status_code == 422  # refused by the schema, still recorded
    with site.brain.db.read() as s:
        kinds = [(x.kind, x.reason) for x in s.scalars(select(IngestReject).order_by(IngestReject.seq))]
    assert kinds == [("status", "unknown_device"), ("status", "bad_timestamp"), ("status", "invalid")]


def test_an_operator_records_a_welfare_outcome_over_http(site):
    from datetime import timedelta

    places, devices = site.brain.district.places, site.brain.district.devices
    home = str(places[(places["kind"] == "home") & places["living_alone"]]["id"].iloc[0])
    sensors = devices[(devices["place"] == home) & devices["type"].isin(["door", "water_meter"])]["id"].tolist()
    with site.brain.db.transaction() as s:
        from sqlalchemy import update

        from brain.district.models import Device

        s.execute(update(Device).where(Device.id.in_(sensors)).values(last_activity_at=utcnow() - timedelta(hours=20)))
    [alarm_id] = site.brain.monitor.sweep_welfare(utcnow())
    h = site.bearer("admin")
    r = site.client.post(f"/api/v1/alarms/{alarm_id}/welfare", json={"outcome": "maybe"}, headers=h)
    assert r.status_code == 422
    r = site.client.post(f"/api/v1/alarms/{alarm_id}/welfare", json={"outcome": "resident_ok", "note": "接通电话"},
                         headers=h)
    assert r.status_code == 200 and r.json() == {"id": alarm_id, "state": "cleared", "rung": "call"}, r.text
