"""The district's static geography for the map component: bounds and GeoJSON layers, labelled by name."""

from __future__ import annotations

from shapely.geometry import mapping


def _features(gdf, props: dict[str, str], precision: int = 6) -> dict:
    """A GeoJSON FeatureCollection of `gdf` with the columns of `props` (column -> property name)."""
    def rounded(coords):
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            return [round(float(v), precision) for v in coords]
        return [rounded(c) for c in coords]

    feats = []
    records = gdf[list(props)].to_dict("records") if props else [{}] * len(gdf)
    for geom, rec in zip(gdf.geometry, records, strict=True):
        if geom is None or geom.is_empty:
            continue
        g = mapping(geom)
        feats.append({"type": "Feature", "geometry": {"type": g["type"], "coordinates": rounded(g["coordinates"])},
                      "properties": {name: (None if rec[col] != rec[col] else rec[col])  # NaN: none
                                     for col, name in props.items()}})
    return {"type": "FeatureCollection", "features": feats}


def geography(district) -> dict:
    """The static geography of the district as the map component takes it: its bounds and GeoJSON layers.
    Places that are homes (residents' own) are never sent: only compounds and buildings, by name."""
    import geopandas as gpd

    layers = {
        "boundary": _features(gpd.GeoDataFrame(geometry=[district.boundary], crs=4326), {}),
        "committees": _features(district.committees, {"code": "code", "name": "name"}),
        "grid": _features(district.grid, {"code": "code"}),
        "roads": _features(district.roads, {"name": "name"}),
        "poles": _features(district.poles, {"number": "number"}),
    }
    c = district.committees
    if len(c):
        pts = c.geometry.to_crs(district.metric_epsg).representative_point().to_crs(4326)
        layers["committee_labels"] = _features(gpd.GeoDataFrame({"name": c["name"]}, geometry=pts, crs=4326),
                                               {"name": "name"})
    places = district.places
    if len(places) and "kind" in places:
        for kind, layer in (("compound", "compounds"), ("building", "buildings")):
            chosen = places[places["kind"] == kind]
            if len(chosen):
                layers[layer] = _features(chosen, {"name": "name"})
    return {"bounds": [round(v, 6) for v in district.boundary.bounds], "layers": layers}
