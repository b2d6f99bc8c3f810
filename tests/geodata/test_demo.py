"""The committed demo district: deterministic, plausible and complete."""

import json
from collections import defaultdict

import numpy as np
import pytest
import shapely

from geodata.demo.generate import DEPARTMENTS, LAYER_FILES, TABLE_FILES, generate, write
from geodata.district import DEMO_DIR, District


def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path):
    write(generate(), tmp_path)
    for name in [f"{n}.geojson" for n in LAYER_FILES] + [f"{n}.json" for n in TABLE_FILES] + ["district.json"]:
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name


def test_district_is_about_two_square_km_near_the_stated_place_and_labelled_demo(district):
    assert 1.8 < district.area_km2 < 2.4
    c = district.boundary.centroid
    assert abs(c.x - 121.45) < 0.02 and abs(c.y - 31.33) < 0.02
    assert district.meta["demo"] is True and "演示" in district.meta["name"]
    readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    assert "EPSG:4326" in readme and "licen" in readme.lower()


def test_committees_are_fifteen_or_more_polygons_with_names_and_twelve_digit_codes(district):
    c = district.committees
    assert len(c) >= 15
    assert c["code"].str.fullmatch(r"\d{12}").all() and c["code"].is_unique
    assert c["name"].str.endswith("居委会").all()
    assert shapely.union_all(c.geometry.to_numpy()).symmetric_difference(district.boundary).area < 1e-9


def test_grid_cells_are_about_a_hundred_metres_cover_the_district_and_name_their_committee(district):
    g = district.grid
    areas = district.metric("grid").area
    assert areas.between(9_000, 11_000).all()
    assert g["code"].is_unique and g["committee"].isin(district.committees["code"]).all()
    assert shapely.union_all(g.geometry.to_numpy()).symmetric_difference(district.boundary).area < 1e-9


def test_road_network_is_named_and_connected(district):
    r = district.roads
    assert r["name"].notna().all()
    adj = defaultdict(set)
    for a, b in zip(r["from_node"], r["to_node"], strict=True):
        adj[a].add(b)
        adj[b].add(a)
    start = next(iter(adj))
    seen, todo = {start}, [start]
    while todo:
        for n in adj[todo.pop()] - seen:
            seen.add(n)
            todo.append(n)
    assert seen == set(adj)


def test_poles_number_two_thousand_or_more_with_structured_codes(district):
    p = district.poles
    assert len(p) >= 2000
    assert p["number"].is_unique and p["code"].is_unique
    assert p["code"].str.fullmatch(r"310106(01)(07|10)\d{6}").all()
    assert p["grid"].isin(district.grid["code"]).all() and p["committee"].isin(district.committees["code"]).all()


def test_poles_along_each_road_side_stand_25_to_40_metres_apart(district):
    m = district.metric("poles")
    p = district.poles.assign(x=m.x.round(1), y=m.y.round(1))
    gaps = []
    for _road, poles in p.groupby("road"):
        # a road runs north-south (constant x per side) or east-west (constant y per side)
        key, along = ("x", "y") if poles["x"].std() < poles["y"].std() else ("y", "x")
        for _v, side in poles.groupby(key):
            d = np.diff(np.sort(side[along].to_numpy()))
            gaps.extend(d[d < 60])  # gaps bridging a pole dropped at the boundary are skipped
    gaps = np.array(gaps)
    assert len(gaps) > 1500
    assert gaps.min() >= 25 - 0.2 and gaps.max() <= 40 + 0.2


def test_places_and_devices_are_bound_to_existing_places(district):
    places = district.places
    kinds = set(places["kind"])
    assert {"compound", "building", "home"} <= kinds
    assert set(places["parent"].dropna()) <= set(places["id"])
    d = district.devices
    assert set(d["place"]) <= set(places["id"])
    assert {"smoke", "gas", "elevator", "fire_lane", "infrared", "water_meter"} <= set(d["type"])
    homes = places[places["kind"] == "home"]
    assert homes["living_alone"].all() and homes["occupant"].notna().all()


def test_teams_cover_the_eight_departments_and_staff_have_duties(district):
    teams = district.teams
    assert len(teams) >= 8
    assert {t["department"] for t in teams} == set(DEPARTMENTS)
    assert all(t["duties"] for t in teams)
    staff = district.staff
    assert len(staff) >= 60
    team_ids = {t["id"] for t in teams}
    assert all(s["team_id"] in team_ids for s in staff)


@pytest.mark.slow
def test_city_scale_set_has_a_hundred_thousand_poles_and_ten_thousand_staff():
    data = generate(tiles=7, staff=10_000)
    assert len(data.layers["poles"]) >= 100_000
    assert len(data.tables["staff"]) >= 10_000
    numbers = [f["properties"]["number"] for f in data.layers["poles"]]
    assert len(set(numbers)) == len(numbers)


def test_district_folder_without_poles_is_refused(tmp_path):
    (tmp_path / "boundary.geojson").write_text((DEMO_DIR / "boundary.geojson").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    with pytest.raises(ValueError, match="poles"):
        District.load(tmp_path)
    assert json.loads((DEMO_DIR / "district.json").read_text(encoding="utf-8"))["metric_epsg"] == 32651
