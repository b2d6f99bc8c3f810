"""A background round every `interval_s` seconds in a daemon thread (escalation, device monitor)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Periodic:
    """Subclasses set `interval_s` and define `run_once()`; a failing round is logged and retried."""

    interval_s: float = 10.0
    first_s: float | None = None  # the first round after this many seconds (None: after `interval_s`)
    thread_name = "periodic"
    _thread: threading.Thread | None = None
    _stop: threading.Event | None = None

    def run_once(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, stop: threading.Event) -> None:
        wait = self.interval_s if self.first_s is None else self.first_s
        while not stop.wait(wait):
            wait = self.interval_s
            try:
                self.run_once()
            except Exception:  # a database hiccup: try again next round
                log.exception("%s round failed", self.thread_name)
