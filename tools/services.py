"""A Mosquitto or Redis of one's own, on a free port in a folder of one's own: for tests that kill
them and benchmarks that must not share a broker's queue limits with anyone.

The Mosquitto is configured as docs/OPERATIONS.md asks of production (`max_queued_messages 0`: it
never drops what it holds for a slow consumer); the Redis keeps an append-only file and syncs every
write before answering (a SIGKILL loses nothing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tools.serve import free_port


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


@contextlib.contextmanager
def own_mosquitto(folder: Path) -> Iterator[str]:
    """An MQTT broker; yields its URL."""
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("mosquitto is missing (Debian package mosquitto)")
    port = free_port()
    conf = Path(folder) / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


class OwnRedis:
    """A redis-server that can be killed and started again on the same files."""

    def __init__(self, folder: Path) -> None:
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is missing (Debian package redis-server)")
        self.folder, self.port = Path(folder), free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no chance to save anything more."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
