"""`python app.py`: it says where it is only once it answers there."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tools.serve import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_the_address_is_printed_once_the_server_answers_on_it(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MQTT_URL")}
    env.update(BRAIN_DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}", BRAIN_ADMIN_PASSWORD="app-test-password",
               BRAIN_MONITOR_INTERVAL_S="0", BRAIN_ESCALATE_AFTER_S="0")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--no-sim"], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and "Community Brain on" not in line:
            line = proc.stderr.readline() if proc.stderr else ""
            assert line or proc.poll() is None, "the app stopped before it said where it is"
        assert f"http://127.0.0.1:{port}/wall" in line
        assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200  # answering already
    finally:
        proc.terminate()
        proc.wait(15)
