import numpy as np
import pytest
import shapely

from geodata.district import District
from geodata.gazetteer import Gazetteer, PoleNotFound, normalize_number


@pytest.mark.parametrize("typed", ["0412", " 0412 ", "04-12", "０４１２", "０４－１２", "04 12", "04_12"])
def test_lookup_tolerates_spaces_dashes_and_full_width_digits(gazetteer, typed):
    assert gazetteer.lookup(typed).number == "0412"


def test_lookup_tolerates_case_of_lettered_numbers():
    city = Gazetteer(District.generated(tiles=2, staff=50))
    n = city.lookup("01-0007").number
    assert city.lookup("01 0007").number == n == city.lookup("０１－０００７").number


def test_lookup_by_the_sixteen_digit_component_code(gazetteer):
    pole = gazetteer.lookup("0412")
    assert gazetteer.lookup(pole.code) == pole


def test_unknown_number_is_refused_with_closest_numbers_never_a_guess(gazetteer):
    with pytest.raises(PoleNotFound) as exc:
        gazetteer.lookup("412")  # a dropped leading zero is a suggestion, not a match
    assert exc.value.suggestions[0] in {"0412", "1412"}
    assert "0412" in exc.value.suggestions
    assert len(exc.value.suggestions) <= 5


def test_suggestions_rank_by_edit_distance(gazetteer):
    # transposed digits are one edit away
    assert gazetteer.suggest("0421X")[0] == "0421"
    assert gazetteer.suggest("zzzzzzzz") == []


def test_normalize_number_keeps_only_letters_and_digits_uppercased():
    assert normalize_number(" ａｂ-１２ ") == "AB12"


def test_pole_attributes_match_the_data(gazetteer, district):
    row = district.poles.iloc[100]
    pole = gazetteer.lookup(row["number"])
    assert (pole.code, pole.grid, pole.committee) == (row["code"], row["grid"], row["committee"])
    assert pole.lon == pytest.approx(row.geometry.x)


def test_nearest_pole_agrees_with_brute_force_in_metres(gazetteer, district):
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = district.boundary.bounds
    crs = district.crs
    px, py = crs.to_metric(district.poles.geometry.x.to_numpy(), district.poles.geometry.y.to_numpy())
    numbers = district.poles["number"].to_numpy()
    for lon, lat in zip(rng.uniform(minx, maxx, 300), rng.uniform(miny, maxy, 300), strict=True):
        x, y = crs.to_metric(lon, lat)
        d = np.hypot(px - x, py - y)
        best = d.min()
        expected = min(numbers[np.isclose(d, best, atol=1e-6)])
        found = gazetteer.nearest_pole(lon, lat, max_distance=5000)
        assert found is not None
        assert found[0].number == expected
        assert found[1] == pytest.approx(best, abs=1e-6)


def test_nearest_pole_respects_max_distance(gazetteer):
    assert gazetteer.nearest_pole(121.60, 31.40, max_distance=500) is None


def test_nearest_pole_refuses_non_finite_coordinates(gazetteer):
    with pytest.raises(ValueError):
        gazetteer.nearest_pole(float("nan"), 31.33)


def test_locate_gives_grid_cell_and_committee_of_a_point_inside(gazetteer, district):
    cell = district.grid.iloc[37]
    p = cell.geometry.representative_point()
    where = gazetteer.locate(p.x, p.y)
    assert where.inside
    assert where.grid == cell["code"]
    assert where.committee == cell["committee"]
    assert where.pole is not None


def test_locate_says_when_a_point_is_outside_the_district(gazetteer):
    where = gazetteer.locate(121.60, 31.40)
    assert not where.inside
    assert where.grid is None and where.committee is None and where.pole is None


def test_every_pole_stands_in_the_grid_cell_it_names(gazetteer, district):
    grid = dict(zip(district.grid["code"], district.grid.geometry, strict=True))
    inside = [shapely.intersects(grid[g], p) for g, p in zip(district.poles["grid"], district.poles.geometry,
                                                                strict=True)]
    assert all(inside)
