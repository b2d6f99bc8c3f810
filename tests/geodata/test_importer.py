"""The importer on a real third-party data set (libpysal's GeoDaNet, Tempe AZ) and on broken files."""

import json
from pathlib import Path

import libpysal
import pytest

from geodata.district import District
from geodata.gazetteer import Gazetteer
from geodata.importer import ImportFailed, main, parser, run

EXAMPLES = Path(libpysal.__file__).parent / "examples"
CRIMES = EXAMPLES / "geodanet" / "crimes.shp"  # 287 points, NAD83 Arizona Central (US feet)
STREETS = EXAMPLES / "geodanet" / "streets.shp"
COLUMBUS = EXAMPLES / "columbus" / "columbus.shp"  # polygons declaring no CRS
BAD_CRS = EXAMPLES / "street_net_pts" / "street_net_pts.shp"  # projected numbers declared as EPSG:4326


def args(out, *extra):
    given = [*map(str, extra)]
    division = [] if "--division-code" in given or "--committees" in given else ["--division-code", "440305001"]
    return parser().parse_args(["--out", str(out), "--quiet", *division, *given])


def geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def point(lon, lat, **props):
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def square(lon, lat, size, **props):
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_imports_a_real_shapefile_reprojecting_from_state_plane_feet(tmp_path):
    out = tmp_path / "tempe"
    report = run(args(out, "--poles", CRIMES, "--pole-number-field", "POLYID", "--roads", STREETS))
    poles = {layer.name: layer for layer in report.layers}["poles"]
    assert poles.read == 287 and poles.loaded == 287 and not poles.rejected
    district = District.load(out)
    assert district.metric_epsg == 32612  # UTM zone of Tempe, chosen from the data
    lon, lat = district.poles.geometry.x, district.poles.geometry.y
    assert lon.between(-112.0, -111.8).all() and lat.between(33.3, 33.5).all()
    assert len(district.roads) == 293 and district.roads["length_m"].gt(0).all()
    g = Gazetteer(district)
    number = str(district.poles["number"].iloc[0])
    assert g.lookup(number).lon == pytest.approx(lon.iloc[0])


def test_duplicate_numbers_points_outside_missing_fields_and_empty_geometries_are_rejected(tmp_path):
    poles = geojson(tmp_path / "poles.geojson", [
        point(121.001, 31.001, no="A1"), point(121.002, 31.002, no="a-1"),  # duplicate once normalised
        point(121.003, 31.003, no=None), point(125.0, 31.0, no="A4"),  # missing number; outside
        {"type": "Feature", "properties": {"no": "A5"}, "geometry": None},  # empty geometry
        square(121.004, 31.004, 0.0001, no="A6"),  # not a point
        point(121.005, 31.005, no="A7"),
    ])
    boundary = geojson(tmp_path / "boundary.geojson", [square(121.0, 31.0, 0.01, name="b")])
    report = run(args(tmp_path / "out", "--poles", poles, "--pole-number-field", "no", "--boundary", boundary))
    rep = {layer.name: layer for layer in report.layers}["poles"]
    assert rep.read == 7 and rep.loaded == 2
    assert rep.rejected == {"duplicate number": 1, "missing number": 1, "outside the boundary": 1,
                            "empty geometry": 1, "geometry is not Point": 1}
    assert "2 (a-1)" in rep.examples["duplicate number"]
    assert sorted(District.load(tmp_path / "out").poles["number"]) == ["A1", "A7"]
    assert "duplicate number: 1" in report.text()


def test_csv_with_declared_crs_is_reprojected_and_bad_coordinates_rejected(tmp_path):
    csv = tmp_path / "poles.csv"
    # UTM 51N metres around the demo district, one row with a missing coordinate
    csv.write_text("number,x,y\n0001,351000,3467000\n0002,351030,3467000\n0003,,3467000\n", encoding="utf-8")
    report = run(args(tmp_path / "out", "--poles", csv, "--pole-number-field", "number", "--source-crs",
                      "EPSG:32651", "--x-field", "x", "--y-field", "y"))
    rep = report.layers[-1]
    assert rep.loaded == 2 and rep.rejected == {"empty geometry": 1}
    d = District.load(tmp_path / "out")
    assert d.poles.geometry.y.between(31.2, 31.4).all()
    assert d.metric_epsg == 32651


def test_committees_and_grid_are_joined_to_the_poles(tmp_path):
    committees = geojson(tmp_path / "c.geojson", [square(121.0, 31.0, 0.01, code="310106015001", name="甲"),
                                                  square(121.01, 31.0, 0.01, code="310106015002", name="乙")])
    grid = geojson(tmp_path / "g.geojson", [square(121.0, 31.0, 0.005, code="G1"),
                                            square(121.01, 31.0, 0.005, code="G2")])
    poles = geojson(tmp_path / "p.geojson", [point(121.001, 31.001, n="1"), point(121.011, 31.001, n="2"),
                                             point(121.009, 31.009, n="3")])
    run(args(tmp_path / "out", "--poles", poles, "--pole-number-field", "n", "--committees", committees,
             "--committee-code-field", "code", "--committee-name-field", "name", "--grid", grid,
             "--grid-code-field", "code"))
    d = District.load(tmp_path / "out")
    grid = [None if g != g else g for g in d.poles["grid"]]  # NaN -> None
    got = dict(zip(d.poles["number"], zip(d.poles["committee"], grid, strict=True), strict=True))
    assert got == {"1": ("310106015001", "G1"), "2": ("310106015002", "G2"), "3": ("310106015001", None)}
    assert dict(zip(d.grid["code"], d.grid["committee"], strict=True)) == {"G1": "310106015001",
                                                                           "G2": "310106015002"}


def test_a_file_without_crs_is_refused_unless_one_is_given(tmp_path):
    with pytest.raises(ImportFailed, match="declares no CRS"):
        run(args(tmp_path / "out", "--poles", CRIMES, "--pole-number-field", "POLYID", "--committees", COLUMBUS,
                 "--committee-code-field", "POLYID"))
    assert not (tmp_path / "out").exists()


def test_points_declared_in_the_wrong_crs_are_all_rejected_and_nothing_is_written(tmp_path):
    with pytest.raises(ImportFailed, match="outside WGS-84 range"):
        run(args(tmp_path / "out", "--poles", BAD_CRS, "--pole-number-field", "ID"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("breakage", ["truncated", "not_json", "missing_field"])
def test_broken_input_fails_cleanly_and_leaves_the_existing_folder_untouched(tmp_path, breakage):
    out = tmp_path / "out"
    good = geojson(tmp_path / "good.geojson", [point(121.001, 31.001, n="1"), point(121.002, 31.002, n="2")])
    run(args(out, "--poles", good, "--pole-number-field", "n"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if breakage == "truncated":
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            (tmp_path / f"bad{ext}").write_bytes((CRIMES.with_suffix(ext)).read_bytes())
        data = (tmp_path / "bad.shp").read_bytes()
        (tmp_path / "bad.shp").write_bytes(data[:50])
        bad, field = tmp_path / "bad.shp", "POLYID"
    elif breakage == "not_json":
        bad, field = tmp_path / "bad.geojson", "n"
        bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    else:
        bad, field = good, "nope"
    with pytest.raises(ImportFailed):
        run(args(out, "--poles", bad, "--pole-number-field", field, "--replace"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_an_existing_folder_is_only_replaced_on_request(tmp_path, capsys):
    out = tmp_path / "out"
    good = geojson(tmp_path / "good.geojson", [point(121.001, 31.001, n="1")])
    assert main(["--out", str(out), "--quiet", "--division-code", "440305001", "--poles", str(good),
                 "--pole-number-field", "n"]) == 0
    assert main(["--out", str(out), "--quiet", "--division-code", "440305001", "--poles", str(good),
                 "--pole-number-field", "n"]) == 2
    assert "--replace" in capsys.readouterr().err
    report = tmp_path / "r.json"
    assert main(["--out", str(out), "--quiet", "--division-code", "440305001", "--poles", str(good),
                 "--pole-number-field", "n", "--replace",
                 "--report", str(report)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["layers"][0]["loaded"] == 1


def test_a_point_far_from_the_others_is_refused_and_does_not_pick_the_utm_zone(tmp_path):
    """A row at (0, 0) among a district's poles: refused by name in the report; the other poles are all
    loaded, in the UTM zone they lie in (51N for Shanghai), not the one of the Gulf of Guinea."""
    rows = [point(121.44 + 0.001 * (i % 10), 31.32 + 0.001 * (i // 10), no=f"P{i:03d}") for i in range(40)]
    poles = geojson(tmp_path / "poles.geojson", [*rows, point(0.0, 0.0, no="ZERO"), point(31.33, 121.45, no="X")])
    report = run(args(tmp_path / "out", "--poles", poles, "--pole-number-field", "no"))
    layer = {x.name: x for x in report.layers}["poles"]
    assert layer.loaded == 40
    reason = next(k for k in layer.rejected if "km from the other poles" in k)
    assert layer.rejected[reason] == 1  # (0, 0)
    assert layer.rejected["coordinates outside WGS-84 range (wrong source CRS?)"] == 1  # lat and lon swapped
    assert District.load(tmp_path / "out").metric_epsg == 32651


def test_the_division_code_comes_from_the_data_or_the_command_line_never_a_default(tmp_path):
    poles = geojson(tmp_path / "poles.geojson", [point(121.001, 31.001, no="A1"), point(121.002, 31.002, no="A2")])
    with pytest.raises(ImportFailed, match="no division code"):
        run(parser().parse_args(["--out", str(tmp_path / "a"), "--quiet", "--poles", str(poles),
                                 "--pole-number-field", "no"]))
    committees = geojson(tmp_path / "c.geojson", [square(121.0, 31.0, 0.002, code="440305001001", name="甲"),
                                                  square(121.002, 31.0, 0.002, code="440305001002", name="乙")])
    run(parser().parse_args(["--out", str(tmp_path / "b"), "--quiet", "--poles", str(poles), "--pole-number-field",
                             "no", "--committees", str(committees), "--committee-code-field", "code",
                             "--committee-name-field", "name"]))
    district = District.load(tmp_path / "b")
    assert district.meta["division_code"] == "440305001"
    assert district.poles["code"].str.startswith("4403050107").all()  # 6 digits + 0107 + serial: 16 in all


def test_poles_take_the_name_of_the_nearest_road_and_teams_and_staff_come_from_csv(tmp_path):
    poles = geojson(tmp_path / "poles.geojson", [point(121.0001, 31.0, no="A1"), point(121.0, 31.01, no="A2")])
    road = {"type": "Feature", "properties": {"name": "青枫支路"},
            "geometry": {"type": "LineString", "coordinates": [[121.0, 31.0], [121.003, 31.0]]}}
    roads = geojson(tmp_path / "roads.geojson", [road])
    teams = tmp_path / "teams.csv"
    teams.write_text("id,name,department,duties,mode\nT1,市政一队,municipal,C01;E04,cycle\n"
                     "T2,无名队,nowhere,E05,walk\n", encoding="utf-8")
    staff = tmp_path / "staff.csv"
    staff.write_text("id,name,team_id,phone\nS1,张三,T1,13800000001\nS2,李四,T9,13800000002\n", encoding="utf-8")
    report = run(args(tmp_path / "out", "--poles", poles, "--pole-number-field", "no", "--roads", roads,
                      "--road-name-field", "name", "--teams", teams, "--staff", staff))
    district = District.load(tmp_path / "out")
    roads_of = dict(zip(district.poles["number"], district.poles["road"], strict=True))
    assert roads_of["A1"] == "青枫支路" and Gazetteer(district).lookup("A2").road is None  # 1.1 km away: no name
    assert [t["id"] for t in district.teams] == ["T1"] and district.teams[0]["duties"] == ["C01", "E04"]
    assert [s["id"] for s in district.staff] == ["S1"] and district.staff[0]["mode"] == "cycle"
    layers = {layer.name: layer for layer in report.layers}
    assert layers["teams"].rejected and layers["staff"].rejected  # the unknown department, the unknown team
