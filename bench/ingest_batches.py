"""What a storm's alarms cost the pipeline on PostgreSQL by the size of the batch a worker handles in one
transaction, with the brain's connections (a custom plan for every statement) beside the server's
default plan cache, in the same run.

    python -m bench.ingest_batches [--sizes 25,100,400,1000] [--devices 5000] [--alarms 20000]

For each size and each plan setting: a fresh database (``brain_bench_batches`` on the server of
DATABASE_URL), the demo district with its devices repeated until `--devices` raise alarms, and the
storm's messages (bench.alarm_storm: round-robin over the devices, two alarm types each) handed to
`Pipeline.handle_alarms` in batches of that size, as the queue worker hands them over, without MQTT,
Redis or a browser. Printed: wall and CPU time per message for the first round (every message a new
alarm: its row, event and audit row written) and for the rest (four in five repeats: counts bumped),
and the ratio of each to the brain's setting at 400.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import create_engine, make_url

from bench._util import pg_url
from bench.alarm_storm import storm, with_devices
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.runtime import Brain
from brain.storage.db import Database
from geodata.district import District

PG_DB = "brain_bench_batches"


def run(size: int, custom: bool, district: District, batch: list[tuple[str, bytes]], devices: int) -> dict:
    url = pg_url(PG_DB, fresh=True)
    # the brain's own Database (custom plans), or one on an engine with the server's defaults
    db = Database(url) if custom else Database(url, engine=create_engine(make_url(url).set(
        drivername="postgresql+psycopg")))
    brain = Brain(Settings(database_url=url, simulate=False, escalate_after_s=0, monitor_interval_s=0,
                           serves_pages=False), district=district, db=db, bus=MemoryBus()).start()
    items = [(body, "bench", None, "device") for _device, body in batch]
    spent = {"new": [0.0, 0.0, 0], "repeat": [0.0, 0.0, 0]}
    try:
        starts = [*range(0, devices, size), *range(devices, len(items), size)]  # no batch across the rounds
        for k in starts:
            chunk = items[k:min(k + size, devices if k < devices else len(items))]
            t0, c0 = time.perf_counter(), time.process_time()
            outcomes = brain.ingest.handle_alarms(chunk)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if any(o.status != "accepted" for o in outcomes):
                raise SystemExit(f"a message was not accepted: {[o for o in outcomes if o.status != 'accepted'][:1]}")
            part = spent["new" if k < devices else "repeat"]
            part[0] += wall
            part[1] += cpu
            part[2] += len(chunk)
    finally:
        brain.stop()
        db.dispose()
    return {name: (w / n * 1e6, c / n * 1e6) for name, (w, c, n) in spent.items() if n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="25,100,400,1000")
    ap.add_argument("--devices", type=int, default=5000)
    ap.add_argument("--alarms", type=int, default=20000)
    args = ap.parse_args(argv)
    district = with_devices(District.load(), args.devices)
    batch = storm(district, args.devices, args.alarms)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for size in sizes:
        for custom in (True, False):
            results[(size, custom)] = run(size, custom, district, batch, args.devices)
            r = results[(size, custom)]
            print(f"  batch {size:>5}, {'custom plans' if custom else 'server default'}: "
                  + "; ".join(f"{k} {w:,.0f} us/message ({c:,.0f} CPU)" for k, (w, c) in r.items()), flush=True)
    base = results.get((400, True))
    print(f"\n{'batch':>6} {'plans':<15} {'new us':>8} {'repeat us':>10} {'new CPU':>8} {'rep. CPU':>9}"
          + ("   wall vs 400 custom (new / repeat)" if base else ""))
    for (size, custom), r in results.items():
        new, rep = r.get("new", (0, 0)), r.get("repeat", (0, 0))
        line = (f"{size:>6} {'custom' if custom else 'server default':<15} {new[0]:>8,.0f} {rep[0]:>10,.0f} "
                f"{new[1]:>8,.0f} {rep[1]:>9,.0f}")
        if base:
            line += f"   x{new[0] / base['new'][0]:.2f} / x{rep[0] / base['repeat'][0]:.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
