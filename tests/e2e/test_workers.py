"""Two worker processes on one database and one Redis: an alarm ingested by one is pushed to a browser
on the other (the Redis bus fans every event out to every worker; each worker's push wakes its pages).

Two ports rather than `uvicorn --workers 2` behind one: the test must know which worker ingests and
which one serves the browser; what joins them (the database and the Redis bus) is the same."""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from brain.storage.db import utcnow
from tests.conftest import service_url
from tests.e2e.conftest import ADMIN_PASSWORD
from tools.browser import login
from tools.serve import app_process

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _worker(db_file: Path, redis_url: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "BRAIN_DATABASE_URL": f"sqlite:///{db_file}", "REDIS_URL": redis_url,
           "BRAIN_ADMIN_PASSWORD": ADMIN_PASSWORD, "BRAIN_ESCALATE_AFTER_S": "0", "BRAIN_MONITOR_INTERVAL_S": "0",
           "BRAIN_SIMULATE": "0", "BRAIN_LOG_LEVEL": "WARNING"}
    env.pop("MQTT_URL", None)
    env.pop("DATABASE_URL", None)
    try:
        return app_process(ROOT, env, timeout_s=60)
    except RuntimeError:
        pytest.fail("a worker process did not start")


@pytest.fixture
def two_workers(tmp_path):
    redis_url = service_url("REDIS_URL")
    db_file = tmp_path / "brain.sqlite3"
    first = _worker(db_file, redis_url)  # creates and seeds the database
    second = _worker(db_file, redis_url)
    yield first[1], second[1]
    for proc, _url in (first, second):
        proc.terminate()
        proc.wait(10)


def test_an_alarm_ingested_by_one_worker_is_pushed_to_a_browser_on_the_other(browser, two_workers):
    ingest_url, wall_url = two_workers
    with httpx.Client(base_url=ingest_url) as c:  # the health's detail is for a signed-in operator
        c.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD}, headers={"origin": ingest_url})
        assert c.get("/api/v1/health").json()["bus"]["kind"] == "redis"
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(page, wall_url, "admin", ADMIN_PASSWORD)
        page.goto(wall_url + "/wall")
        page.wait_for_selector("#district-map .maplibregl-canvas", timeout=30_000)
        page.wait_for_function("() => window.districtMaps && window.districtMaps['district-map'].still()",
                               timeout=30_000)
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
        with httpx.Client(base_url=ingest_url, headers={"origin": ingest_url}) as api:
            r = api.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD}, follow_redirects=False)
            assert r.status_code == 303
            devices = api.get("/api/v1/devices").json()
            device = next(d["id"] for d in devices if d["type"] == "elevator")
            r = api.post("/api/v1/alarms", json={"device_id": device, "type": "fault", "ts": utcnow().isoformat()})
            assert r.status_code == 202, r.text
        page.wait_for_function(
            "(d) => window.districtMaps['district-map'].features('alarms').some((f) => f.tip.includes(d))",
            arg=device, timeout=15_000)
        page.wait_for_function("() => document.querySelector('#counter-unacknowledged_alarms').innerText === '1'",
                               timeout=5_000)
        # pushed: the other worker's event reached this one over Redis and woke the page's loop, which sent
        # the delta over the page's socket; the page asked for nothing over HTTP
        assert not [b for b in posts if "district-map" in b], posts
        assert errors == []
    finally:
        ctx.close()
