"""A district's static geography held in memory: boundary, committees, grid, roads, poles, places.

Loaded from a district folder (the committed demo, or the output of `geodata.importer`) or from
generated records. Everything is WGS-84; `metric(...)` gives the same geometry in the metric CRS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely import MultiPolygon, Polygon, unary_union

from geodata.crs import DEFAULT_METRIC_EPSG, MetricCRS

DEMO_DIR = Path(__file__).resolve().parent / "demo"
LAYERS = ("boundary", "committees", "grid", "roads", "poles", "places", "devices")
REQUIRED_LAYERS = ("boundary", "poles")
TABLES = ("teams", "staff")


class DistrictError(ValueError):
    """A district folder is missing or malformed."""


def _empty(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=4326)


@dataclass
class District:
    """The static geography of one district (or a city-scale set of them), in WGS-84."""

    meta: dict
    boundary: Polygon | MultiPolygon
    committees: gpd.GeoDataFrame
    grid: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    poles: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    devices: gpd.GeoDataFrame
    teams: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)

    @property
    def metric_epsg(self) -> int:
        return int(self.meta.get("metric_epsg") or DEFAULT_METRIC_EPSG)

    @property
    def committee_names(self) -> dict[str, str]:
        """Committee code -> name."""
        return dict(zip(self.committees["code"], self.committees["name"], strict=True))

    @property
    def crs(self) -> MetricCRS:
        return MetricCRS(self.metric_epsg)

    def metric(self, layer: str) -> gpd.GeoSeries:
        """The geometry of a layer projected to the district's metric CRS."""
        return getattr(self, layer).geometry.to_crs(self.metric_epsg)

    @property
    def area_km2(self) -> float:
        return float(gpd.GeoSeries([self.boundary], crs=4326).to_crs(self.metric_epsg).area.iloc[0]) / 1e6

    @classmethod
    def from_layers(cls, meta: dict, layers: dict[str, gpd.GeoDataFrame], tables: dict[str, list]) -> District:
        """Assemble a district from GeoDataFrames (any CRS; reprojected to WGS-84)."""
        missing = [name for name in REQUIRED_LAYERS if name not in layers or layers[name].empty]
        if missing:
            raise DistrictError(f"district has no {', '.join(missing)} layer")
        frames = {}
        for name in LAYERS:
            gdf = layers.get(name)
            if gdf is None:
                gdf = _empty(["code", "name"])
            elif gdf.crs is None:
                gdf = gdf.set_crs(4326)
            elif gdf.crs.to_epsg() != 4326:
                gdf = gdf.to_crs(4326)
            frames[name] = gdf.reset_index(drop=True)
        boundary = unary_union(list(frames["boundary"].geometry))
        return cls(meta=meta, boundary=boundary, teams=list(tables.get("teams", [])),
                   staff=list(tables.get("staff", [])), **{k: frames[k] for k in LAYERS if k != "boundary"})

    @classmethod
    def load(cls, folder: Path | str = DEMO_DIR) -> District:
        """Read a district folder: `<layer>.geojson` files, `teams.json`, `staff.json`, `district.json`."""
        folder = Path(folder)
        if not folder.is_dir():
            raise DistrictError(f"district folder {folder} does not exist")
        meta_file = folder / "district.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        layers = {name: gpd.read_file(folder / f"{name}.geojson") for name in LAYERS
                  if (folder / f"{name}.geojson").exists()}
        tables = {name: json.loads((folder / f"{name}.json").read_text(encoding="utf-8")) for name in TABLES
                  if (folder / f"{name}.json").exists()}
        return cls.from_layers(meta, layers, tables)

    @classmethod
    def generated(cls, **kwargs) -> District:
        """Generate a district in memory (see `geodata.demo.generate.generate` for options)."""
        from geodata.demo.generate import generate

        data = generate(**kwargs)
        layers = {name: gpd.GeoDataFrame.from_features(features, crs=4326)
                  for name, features in data.layers.items()}
        return cls.from_layers(data.meta, layers, data.tables)
