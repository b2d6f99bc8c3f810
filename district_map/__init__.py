"""The district map: a Dash component of the product (source and build in components/district_map).

`npm run build` there bundles it (React from the page, MapLibre GL JS and its worker inside) into this
package and generates `DistrictMap.py` from the component's prop types: its documented contract.
Dash serves these files from the app itself; nothing is fetched from any other host.
"""

from __future__ import annotations

import json
from pathlib import Path

from .DistrictMap import DistrictMap

__all__ = ["DistrictMap"]
__version__ = json.loads((Path(__file__).parent / "package-info.json").read_text())["version"]

# The bundle and its stylesheet load with the page; MapLibre's worker is asked for by the bundle, from
# beside its own address (registered here so that the app serves it, never loaded by the page itself).
_js_dist = [
    {"relative_package_path": "district_map.min.js", "namespace": "district_map"},
    {"relative_package_path": "maplibre-gl-worker.mjs", "namespace": "district_map", "dynamic": True},
]
_css_dist = [{"relative_package_path": "district_map.min.css", "namespace": "district_map"}]
DistrictMap._js_dist = _js_dist  # what Dash serves with a page that holds the component
DistrictMap._css_dist = _css_dist
