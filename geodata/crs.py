"""Coordinate systems: WGS-84 storage, one metric CRS for distances, GCJ-02/BD-09 at the boundary.

Everything is stored and displayed as WGS-84 longitude/latitude (EPSG:4326). Distances are
computed in one projected, metric CRS of the district (UTM 51N, EPSG:32651, by default).
Chinese phone map SDKs report GCJ-02 and Baidu reports BD-09; those are accepted only when the
sender declares them and are converted here, at the boundary.
"""

from __future__ import annotations

import math
from enum import StrEnum
from functools import lru_cache

import numpy as np
from numba import njit
from pyproj import CRS, Transformer

WGS84_EPSG = 4326
DEFAULT_METRIC_EPSG = 32651


class CoordSystem(StrEnum):
    """Coordinate systems a sender may declare for longitude/latitude input."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


@lru_cache(maxsize=8)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    crs = CRS.from_epsg(epsg)
    if not crs.is_projected:
        raise ValueError(f"EPSG:{epsg} is not a projected CRS; distances need metres")
    forward = Transformer.from_crs(WGS84_EPSG, epsg, always_xy=True)
    inverse = Transformer.from_crs(epsg, WGS84_EPSG, always_xy=True)
    return forward, inverse


NOT_COMPILED = np.zeros(0)


@lru_cache(maxsize=8)
def _transverse_mercator(epsg: int) -> np.ndarray:
    """The constants of the forward projection when the CRS is a transverse Mercator on WGS-84 itself (UTM,
    or Gauss-Kruger zones on the WGS-84 datum) with its origin on the equator: (central meridian, k0 * A,
    false easting, false northing, e, alpha 1..6) for `tm_point`; none (`NOT_COMPILED`) for any other CRS
    (pyproj projects it)."""
    crs = CRS.from_epsg(epsg)
    conversion = (crs.to_json_dict().get("conversion") or {}) if crs.is_projected else {}
    if (conversion.get("method") or {}).get("name") != "Transverse Mercator" or crs.geodetic_crs != CRS.from_epsg(
            WGS84_EPSG) or crs.ellipsoid is None:
        return NOT_COMPILED
    par = {q["name"]: float(q["value"]) for q in conversion.get("parameters", [])}
    if par.get("Latitude of natural origin") != 0.0:
        return NOT_COMPILED
    a, f = crs.ellipsoid.semi_major_metre, 1.0 / crs.ellipsoid.inverse_flattening
    n = f / (2 - f)
    # Krueger's series to the sixth order in n (C. F. F. Karney, Transverse Mercator with an accuracy of a few
    # nanometers, J. Geodesy 85, 2011, eq. 35); agrees with PROJ to a few nanometres (tests/geodata)
    big_a = a / (1 + n) * (1 + n ** 2 / 4 + n ** 4 / 64 + n ** 6 / 256)
    alpha = [n / 2 - 2 / 3 * n ** 2 + 5 / 16 * n ** 3 + 41 / 180 * n ** 4 - 127 / 288 * n ** 5 + 7891 / 37800 * n ** 6,
             13 / 48 * n ** 2 - 3 / 5 * n ** 3 + 557 / 1440 * n ** 4 + 281 / 630 * n ** 5 - 1983433 / 1935360 * n ** 6,
             61 / 240 * n ** 3 - 103 / 140 * n ** 4 + 15061 / 26880 * n ** 5 + 167603 / 181440 * n ** 6,
             49561 / 161280 * n ** 4 - 179 / 168 * n ** 5 + 6601661 / 7257600 * n ** 6,
             34729 / 80640 * n ** 5 - 3418889 / 1995840 * n ** 6,
             212378941 / 319334400 * n ** 6]
    k0 = par["Scale factor at natural origin"]
    return np.array([par["Longitude of natural origin"], k0 * big_a, par["False easting"], par["False northing"],
                     math.sqrt(f * (2 - f)), *alpha])


@njit(cache=True)
def tm_point(lon, lat, c):
    """One point projected (constants of `_transverse_mercator`): the conformal latitude, then Krueger's series."""
    phi, lam = math.radians(lat), math.radians(lon - c[0])
    e = c[4]
    tau = math.tan(phi)
    sigma = math.sinh(e * math.atanh(e * tau / math.sqrt(1.0 + tau * tau)))
    taup = tau * math.sqrt(1.0 + sigma * sigma) - sigma * math.sqrt(1.0 + tau * tau)
    xip = math.atan2(taup, math.cos(lam))
    etap = math.asinh(math.sin(lam) / math.sqrt(taup * taup + math.cos(lam) ** 2))
    xi, eta = xip, etap
    for j in range(1, 7):
        xi += c[4 + j] * math.sin(2 * j * xip) * math.cosh(2 * j * etap)
        eta += c[4 + j] * math.cos(2 * j * xip) * math.sinh(2 * j * etap)
    return c[2] + c[1] * eta, c[3] + c[1] * xi


@njit(cache=True)
def _tm_array(lon, lat, c):
    x, y = np.empty(lon.shape[0]), np.empty(lon.shape[0])
    for i in range(lon.shape[0]):
        x[i], y[i] = tm_point(lon[i], lat[i], c)
    return x, y


class MetricCRS:
    """Two-way transform between WGS-84 lon/lat and one metric CRS (cached pyproj transformers; the forward
    transverse Mercator of UTM compiled, a fix's and a ranking's most frequent step)."""

    def __init__(self, epsg: int = DEFAULT_METRIC_EPSG) -> None:
        self.epsg = epsg
        self._forward, self._inverse = _transformers(epsg)
        # the constants of the compiled forward projection (`tm_point`, also for compiled code that projects a
        # point itself); empty when pyproj projects this CRS
        self.compiled: np.ndarray = _transverse_mercator(epsg)

    def to_metric(self, lon, lat):
        """Project lon/lat (scalars or arrays) to x/y metres (floats for scalars, arrays of their shape else)."""
        tm = self.compiled
        if not len(tm):
            return self._forward.transform(lon, lat)
        if isinstance(lon, float) and isinstance(lat, float):
            return tm_point(lon, lat, tm)
        lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        if lon_a.ndim == 0:
            return tm_point(float(lon_a), float(lat_a), tm)
        x, y = _tm_array(np.ascontiguousarray(lon_a).ravel(), np.ascontiguousarray(lat_a).ravel(), tm)
        return x.reshape(lon_a.shape), y.reshape(lon_a.shape)

    def to_wgs84(self, x, y):
        """Unproject x/y metres (scalars or arrays) to lon/lat."""
        return self._inverse.transform(x, y)

    def __repr__(self) -> str:
        return f"MetricCRS(EPSG:{self.epsg})"


# --- GCJ-02 / BD-09 -------------------------------------------------------------------------
# The published GCJ-02 forward formula (Krasovsky ellipsoid constants). It is defined only
# inside China; outside the rough national box it is the identity, as every implementation does.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lon: float, lat: float) -> bool:
    """Whether a point lies outside the box where the GCJ-02 offset applies."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Apply the GCJ-02 offset to a WGS-84 point."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float, *, tolerance_deg: float = 1e-10) -> tuple[float, float]:
    """Remove the GCJ-02 offset by fixed-point iteration (sub-millimetre, not the one-step guess)."""
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < tolerance_deg and abs(elat) < tolerance_deg:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert GCJ-02 to Baidu's BD-09."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float, *, tolerance_deg: float = 1e-10) -> tuple[float, float]:
    """Convert BD-09 to GCJ-02, refined by iteration so the round trip is exact to sub-millimetre."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    glon, glat = z * math.cos(theta), z * math.sin(theta)
    for _ in range(10):
        blon, blat = gcj02_to_bd09(glon, glat)
        elon, elat = blon - lon, blat - lat
        glon, glat = glon - elon, glat - elat
        if abs(elon) < tolerance_deg and abs(elat) < tolerance_deg:
            break
    return glon, glat


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert WGS-84 to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert BD-09 to WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: float, lat: float, system: CoordSystem | str = CoordSystem.WGS84) -> tuple[float, float]:
    """Convert a point declared in `system` to WGS-84; raises ValueError for an unknown system."""
    system = CoordSystem(system)
    if system is CoordSystem.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if system is CoordSystem.BD09:
        return bd09_to_wgs84(lon, lat)
    return lon, lat


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (arrays welcome); a cross-check, never the working metric."""
    r = 6371008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))
