import math

import numpy as np
import pytest

from geodata.crs import (
    MetricCRS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Published reference pairs (the widely used coordtransform implementation's documented results).
WGS_TO_GCJ = [((116.404, 39.915), (116.41024449916938, 39.91640428150164))]
GCJ_TO_BD = [((116.404, 39.915), (116.41036949371029, 39.92133699351021))]
BD_TO_GCJ_ONE_STEP = [((116.404, 39.915), (116.39762729119315, 39.90865673957631))]


def metres(a, b) -> float:
    return float(haversine_m(a[0], a[1], b[0], b[1]))


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_published_reference_within_half_a_metre(wgs, gcj):
    assert metres(wgs84_to_gcj02(*wgs), gcj) < 0.5


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_gcj02_to_wgs84_recovers_the_reference_point_within_half_a_metre(wgs, gcj):
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.5


@pytest.mark.parametrize(("gcj", "bd"), GCJ_TO_BD)
def test_gcj02_to_bd09_matches_published_reference(gcj, bd):
    assert metres(gcj02_to_bd09(*gcj), bd) < 0.5


@pytest.mark.parametrize(("bd", "gcj"), BD_TO_GCJ_ONE_STEP)
def test_bd09_to_gcj02_agrees_with_the_published_one_step_formula(bd, gcj):
    # The one-step inverse is itself off by centimetres; ours iterates and may differ by less than 0.5 m.
    assert metres(bd09_to_gcj02(*bd), gcj) < 0.5


def test_round_trips_are_sub_centimetre_across_the_district_region():
    rng = np.random.default_rng(1)
    for lon, lat in zip(rng.uniform(121.0, 122.0, 200), rng.uniform(30.8, 31.8, 200), strict=True):
        assert metres(gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)), (lon, lat)) < 0.01
        assert metres(bd09_to_wgs84(*wgs84_to_bd09(lon, lat)), (lon, lat)) < 0.01


def test_gcj02_offset_near_the_district_is_hundreds_of_metres_not_zero():
    offset = metres(wgs84_to_gcj02(121.45, 31.33), (121.45, 31.33))
    assert 100 < offset < 1000


def test_points_outside_china_are_not_offset():
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)


def test_to_wgs84_converts_by_declared_system_and_refuses_unknown_ones():
    lon, lat = 121.45, 31.33
    assert to_wgs84(lon, lat, "wgs84") == (lon, lat)
    assert metres(to_wgs84(*wgs84_to_gcj02(lon, lat), "gcj02"), (lon, lat)) < 0.01
    assert metres(to_wgs84(*wgs84_to_bd09(lon, lat), "bd09"), (lon, lat)) < 0.01
    with pytest.raises(ValueError):
        to_wgs84(lon, lat, "mars")


def test_metric_crs_round_trip_and_distances_agree_with_great_circle():
    crs = MetricCRS(32651)
    x, y = crs.to_metric(121.45, 31.33)
    lon, lat = crs.to_wgs84(x, y)
    assert metres((lon, lat), (121.45, 31.33)) < 1e-3
    x2, y2 = crs.to_metric(121.46, 31.34)
    planar = math.hypot(x2 - x, y2 - y)
    assert planar == pytest.approx(metres((121.45, 31.33), (121.46, 31.34)), rel=2e-3)


def test_metric_crs_refuses_a_geographic_crs():
    with pytest.raises(ValueError, match="not a projected CRS"):
        MetricCRS(4326)


@pytest.mark.parametrize("epsg", [32651, 32650, 32751])
def test_the_compiled_transverse_mercator_agrees_with_proj_to_a_nanometre_scale(epsg):
    from pyproj import Transformer

    crs = MetricCRS(epsg)
    proj = Transformer.from_crs(4326, epsg, always_xy=True)
    rng = np.random.default_rng(epsg)
    centre = -183 + 6 * (epsg % 100)  # the zone's central meridian
    lon, lat = rng.uniform(centre - 12, centre + 12, 20_000), rng.uniform(-70, 70, 20_000)
    x, y = crs.to_metric(lon, lat)
    px, py = proj.transform(lon, lat)
    assert np.abs(x - px).max() < 1e-6 and np.abs(y - py).max() < 1e-6  # within 12 degrees of the meridian
    sx, sy = crs.to_metric(float(lon[0]), float(lat[0]))  # a point: floats, the same figures
    assert isinstance(sx, float) and (sx, sy) == (x[0], y[0])
    grid_x, _ = crs.to_metric(lon[:6].reshape(2, 3), lat[:6].reshape(2, 3))  # arrays keep their shape
    assert grid_x.shape == (2, 3) and np.array_equal(grid_x.ravel(), x[:6])


def test_a_crs_that_is_not_utm_on_wgs84_is_projected_by_proj():
    from pyproj import Transformer

    crs = MetricCRS(3857)  # web Mercator: not a transverse Mercator
    assert crs.to_metric(121.45, 31.33) == Transformer.from_crs(4326, 3857, always_xy=True).transform(121.45, 31.33)
