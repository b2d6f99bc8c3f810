"""Cold start of `python app.py` to a served page, beside the bare import of its libraries.

    python -m bench.cold_start [--runs 3]

Each run starts the app on a free port with a new, empty SQLite file (so the schema is created and
the district seeded), waits until the sign-in page and the health answer, then stops it. A second set of
runs reuses the database (a restart). The baseline is a Python process that only imports the
libraries the app stands on; the ratio says what the app adds to that floor.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except Exception:
        return 0


def start_to_page(db_file: Path, timeout: float = 120.0) -> float:
    port = _port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MQTT_URL")}
    env.update({"BRAIN_DATABASE_URL": f"sqlite:///{db_file}", "BRAIN_LOG_LEVEL": "WARNING"})
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--no-sim"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        while time.perf_counter() - t0 < timeout:
            # the sign-in page served (the UI is up) and the health answering (the brain has started)
            if _get(base + "/login") == 200 and _get(base + "/api/v1/health") == 200:
                return time.perf_counter() - t0
            if proc.poll() is not None:
                raise RuntimeError(f"app exited with {proc.returncode}")
            time.sleep(0.05)
        raise TimeoutError("app did not serve its sign-in page in time")
    finally:
        proc.terminate()
        proc.wait(10)


def imports_only() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import dash, plotly, fastapi, uvicorn, geopandas, shapely, pyproj, "
                    "sqlalchemy"], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    base = [imports_only() for _ in range(args.runs)]
    with tempfile.TemporaryDirectory() as tmp:
        cold = [start_to_page(Path(tmp) / f"cold{i}.sqlite3") for i in range(args.runs)]
        warm = [start_to_page(Path(tmp) / "cold0.sqlite3") for _ in range(args.runs)]
    b, c, w = (float(np.median(x)) for x in (base, cold, warm))
    print(f"{'':<44}{'median s':>10}{'runs':>6}")
    print(f"{'baseline: python importing the libraries':<44}{b:>10.2f}{args.runs:>6}")
    print(f"{'cold start, empty database -> served':<44}{c:>10.2f}{args.runs:>6}")
    print(f"{'restart, existing database -> served':<44}{w:>10.2f}{args.runs:>6}")
    print(f"ratio to baseline: cold {c / b:.2f}x, restart {w / b:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
