"""The map component's bundle is reproducible: built from components/district_map with its lock file, it is
byte for byte the bundle the app serves (district_map/), and so is the Python class generated from it."""

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "components" / "district_map"
BUILT = ("district_map.min.js", "district_map.min.css", "maplibre-gl-worker.mjs", "package-info.json")


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_committed_bundle_is_what_the_source_builds(tmp_path):
    work = tmp_path / "src"
    shutil.copytree(SOURCE, work, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "out"
    env = {**os.environ, "DISTRICT_MAP_OUT": str(out)}
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=work, check=True, capture_output=True, timeout=600)
    subprocess.run(["node", "build.mjs"], cwd=work, check=True, capture_output=True, env=env, timeout=300)
    for name in BUILT:
        assert filecmp.cmp(out / name, ROOT / "district_map" / name, shallow=False), f"{name} differs: npm run build"
    (work / "district_map").mkdir()
    generate = Path(sys.executable).parent / "dash-generate-components"
    subprocess.run([str(generate), "src/components", "district_map", "--ignore", "^_"], cwd=work, check=True,
                   capture_output=True, timeout=300)
    assert filecmp.cmp(work / "district_map" / "DistrictMap.py", ROOT / "district_map" / "DistrictMap.py",
                       shallow=False), "DistrictMap.py differs from its prop types: run npm run build"
