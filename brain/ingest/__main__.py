"""An extra ingest worker: ``python -m brain.ingest`` (needs REDIS_URL and the app's DATABASE_URL).

It takes messages from the durable Redis queue (which the app's MQTT consumer fills) alongside the
app's own worker; start as many as the load needs. It does not connect to MQTT itself (one consumer
session per client id) and serves no pages, so it keeps none of what the screens read from the bus
(the live alarms, cases and staff, the change counters): in a storm that was a sixth of its CPU.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from brain.config import Settings
from brain.runtime import Brain


def main() -> int:
    logging.basicConfig(level=os.environ.get("BRAIN_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # a worker consumes whatever the app's own BRAIN_INGEST_IN_APP says: consuming is what it is for
    settings = Settings.from_env().with_(simulate=False, mqtt_url=None, serves_pages=False, ingest_in_app=True)
    if not settings.redis_url:
        print("REDIS_URL is not set: an extra worker takes its messages from the Redis queue", file=sys.stderr)
        return 2
    brain = Brain(settings).start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    logging.getLogger("brain").info("ingest worker %s on %s", brain.queue.consumer if brain.queue else "?",
                                    settings.redis_url)
    done.wait()
    brain.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
