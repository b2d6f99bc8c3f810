"""Bytes sent to the browser per live tick of /wall when 10 of 10,000 staff move, beside a full-figure
resend and beside sending every live array whole, in the same run.

    python -m bench.live_payload [--staff 10000] [--moved 10] [--ticks 20]

The whole app runs in-process (SQLite in a temporary folder, the demo geography with `--staff` people,
simulator off); a signed-in wall client asks for the page once, then each tick moves `--moved` people
and asks for the live update exactly as the browser does (POST /_dash-update-component with the page's
token). Measured: the response body of that request.
- **diff**: the page's token is known, so only changed markers are sent (what the wall does);
- **whole arrays**: no token (a page the server has lost track of): every live array is sent;
- **full figure**: the whole map figure (static and live layers) as JSON, what a plain re-render sends.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from plotly.io.json import to_json_plotly

from app import create_app
from brain.config import Settings
from brain.live import snapshot
from brain.runtime import Brain
from brain.staff.service import Fix
from brain.storage.db import utcnow
from dashboard.app import live_layers
from dashboard.i18n import translator
from geodata.district import District
from layers.figure import district_figure

PASSWORD = "bench-admin-pass"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--staff", type=int, default=10_000)
    ap.add_argument("--moved", type=int, default=10)
    ap.add_argument("--ticks", type=int, default=20)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(3)
    district = District.generated(tiles=1, staff=args.staff)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            escalate_after_s=0, admin_password=PASSWORD)
        brain = Brain(settings, district=district)
        server, _ = create_app(settings, brain=brain)
        with TestClient(server, base_url="http://127.0.0.1") as client:
            roster = [s for s in brain.staff.roster() if s.lon is not None]
            now = utcnow()
            brain.staff.record_fixes([Fix(s.id, s.lon, s.lat, now) for s in roster])
            r = client.post("/login", content=f"username=admin&password={PASSWORD}",
                            headers={"content-type": "application/x-www-form-urlencoded",
                                     "origin": "http://127.0.0.1"}, follow_redirects=False)
            assert r.status_code == 303, r.text
            keys = server.state.callback_permissions
            page_key = next(k for k in keys if k.strip(".").startswith("page.children"))
            live_key = next(k for k in keys if k.strip(".").startswith("district-map.figure") and "live-version" in k)
            spec = server.state.dash.callback_map[live_key]

            def post(key, inputs, state):
                outputs = [{"id": p.split("@")[0].rsplit(".", 1)[0], "property": p.split("@")[0].rsplit(".", 1)[1]}
                           for p in key.strip(".").split("...")]
                body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
                        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"], "state": state}
                resp = client.post("/_dash-update-component", content=json.dumps(body),
                                   headers={"content-type": "application/json", "origin": "http://127.0.0.1"})
                assert resp.status_code == 200, resp.text[:300]
                return resp

            page = post(page_key, [{"id": "url", "property": "pathname", "value": "/wall"},
                                   {"id": "url", "property": "search", "value": ""}], [])
            token = re.search(r'"id":\s*"live-version".*?"data":\s*"([0-9a-f]{32})"', page.text)
            if token is None:
                token = re.search(r'"data":\s*"([0-9a-f]{32})",\s*"id":\s*"live-version"', page.text)
            assert token, "no live-version token in the page"
            version = token.group(1)
            assert [s["id"] for s in spec["state"]] == ["url", "url", "live-version"]

            def tick(version):
                movers = rng.choice(len(roster), size=args.moved, replace=False)
                t = utcnow()
                fixes = []
                for i in movers:
                    s = roster[int(i)]
                    fixes.append(Fix(s.id, s.lon + float(rng.normal(0, 2e-4)), s.lat + float(rng.normal(0, 2e-4)), t))
                brain.staff.record_fixes(fixes)
                return post(live_key, [{"id": "live-tick", "property": "n_intervals", "value": 1}],
                            [{"id": "url", "property": "search", "value": ""},
                             {"id": "url", "property": "pathname", "value": "/wall"},
                             {"id": "live-version", "property": "data", "value": version}])

            diff, whole = [], []
            for _ in range(args.ticks):
                r = tick(version)
                diff.append(len(r.content))
                version = r.json()["response"]["live-version"]["data"]
                whole.append(len(tick(None).content))
            snap = snapshot(brain)
            tr = translator("zh-CN")
            full = len(to_json_plotly(district_figure(brain.district, live=live_layers(brain, snap, "zh-CN"), tr=tr)))
    d, w = statistics.median(diff), statistics.median(whole)
    print(f"staff {args.staff:,}, {args.moved} move per tick, {args.ticks} ticks; median bytes per tick:")
    print(f"  diff (the wall)          {d:>12,.0f}   {100 * d / full:6.2f}% of a full figure")
    print(f"  whole live arrays        {w:>12,.0f}   {100 * w / full:6.2f}%")
    print(f"  full figure (baseline)   {full:>12,.0f}   100.00%")
    print(f"target: diff at most 5% of the full figure: {'met' if d <= 0.05 * full else 'NOT met'}")
    return 0 if d <= 0.05 * full else 1


if __name__ == "__main__":
    raise SystemExit(main())
