"""The previous live path's tick, run inside a worktree of that revision by bench/live_tick.py:
    python bench/_previous_tick.py STAFF MOVED TICKS     (cwd and PYTHONPATH: the worktree)
Prints one JSON line: the median and p95 server CPU per tick (ms), the median bytes per tick, the bytes of
the whole live state. The wall's live update is asked exactly as its page asked after a push: over HTTP,
with the page's token of what it was last sent."""

import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from app import create_app
from brain.config import Settings
from brain.runtime import Brain
from brain.staff.service import Fix
from brain.storage.db import utcnow
from geodata.district import District

PASSWORD = "bench-admin-pass"


def main() -> None:
    staff, moved, ticks = (int(v) for v in sys.argv[1:4])
    rng = np.random.default_rng(3)
    district = District.generated(tiles=1, staff=staff)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            escalate_after_s=0, admin_password=PASSWORD, live_push=False)
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
            keys = list(server.state.callback_permissions)
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
            token = re.search(r'"data":\s*"([0-9a-f]{32})"', page.text)
            version = token.group(1)
            values = {"url.search": "", "url.pathname": "/wall", "map-fitted.data": 1.0}
            cpu, sent, whole = [], [], 0
            for k in range(ticks + 1):
                t = utcnow()
                brain.staff.record_fixes([Fix(roster[int(i)].id, roster[int(i)].lon + float(rng.normal(0, 2e-4)),
                                              roster[int(i)].lat + float(rng.normal(0, 2e-4)), t)
                                          for i in rng.choice(len(roster), size=moved, replace=False)])
                state = [{"id": s["id"], "property": s["property"],
                          "value": version if s["id"] == "live-version" else values.get(f"{s['id']}.{s['property']}")}
                         for s in spec["state"]]
                inputs = [{"id": i["id"], "property": i["property"], "value": k + 1} for i in spec["inputs"]]
                c0 = time.process_time()
                r = post(live_key, inputs, state)
                used = time.process_time() - c0
                version = r.json()["response"]["live-version"]["data"]
                if k:  # the first tick after the page is its warm-up
                    cpu.append(used)
                    sent.append(len(r.content))
            state = [{"id": s["id"], "property": s["property"],
                      "value": None if s["id"] == "live-version" else values.get(f"{s['id']}.{s['property']}")}
                     for s in spec["state"]]
            whole = len(post(live_key, [{"id": i["id"], "property": i["property"], "value": 1}
                                        for i in spec["inputs"]], state).content)
    print(json.dumps({"cpu_ms": 1000 * statistics.median(cpu), "cpu_p95_ms": 1000 * float(np.percentile(cpu, 95)),
                      "bytes": statistics.median(sent), "whole": whole}))


if __name__ == "__main__":
    main()
