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
from dataclasses import dataclass
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
def _mosquitto(folder: Path, config: str, ports: tuple[int, ...]) -> Iterator[None]:
    """A mosquitto with `config` (written to folder/mosquitto.conf), until every one of `ports` listens."""
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("mosquitto is missing (Debian package mosquitto)")
    conf = Path(folder) / "mosquitto.conf"
    conf.write_text(config)
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for port in ports:
            _wait_port(port)
        yield
    finally:
        proc.terminate()
        proc.wait(5)


@contextlib.contextmanager
def own_mosquitto(folder: Path) -> Iterator[str]:
    """An MQTT broker; yields its URL."""
    port = free_port()
    with _mosquitto(folder, f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                            "max_queued_messages 0\n", (port,)):
        yield f"mqtt://127.0.0.1:{port}"


# The broker's access list: the brain's consumer reads the district's topics; each gateway and each device
# may publish only under its own topic (its user name is its id). docs/OPERATIONS.md shows the same.
ACL = """user brain-ingest
topic read brain/+/devices/+/events
topic read brain/+/devices/+/status
topic read brain/+/gateways/+/events
topic read brain/+/gateways/+/status
topic read brain/+/staff/+/position

pattern write brain/+/gateways/%u/events
pattern write brain/+/gateways/%u/status
pattern write brain/+/devices/%u/events
pattern write brain/+/devices/%u/status
pattern write brain/+/staff/%u/position
"""


@dataclass
class SecureBroker:
    url: str  # mqtt:// with a password
    tls_url: str  # mqtts:// with a password
    ca_file: str  # the authority that signed the broker's certificate
    passwords: dict[str, str]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def own_secure_mosquitto(folder: Path, users: dict[str, str]) -> Iterator[SecureBroker]:
    """An MQTT broker that lets in only `users` (name -> password) under the ACL above, on a plain listener
    and a TLS one (a certificate for 127.0.0.1 signed by an authority made here)."""
    if not shutil.which("mosquitto_passwd") or not shutil.which("openssl"):
        raise RuntimeError("mosquitto_passwd or openssl is missing (Debian: mosquitto, openssl)")
    folder = Path(folder)
    passwords = folder / "passwords"
    for i, (name, password) in enumerate(users.items()):
        subprocess.run(["mosquitto_passwd", "-b", *([] if i else ["-c"]), str(passwords), name, password],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(passwords, 0o600)
    (folder / "acl").write_text(ACL)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=brain test CA",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
             "-out", "server.csr", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=folder)
    plain, tls = free_port(), free_port()
    config = (f"user root\nper_listener_settings false\nallow_anonymous false\npassword_file {passwords}\n"
              f"acl_file {folder / 'acl'}\npersistence false\nmax_queued_messages 0\n"
              f"listener {plain} 127.0.0.1\n"
              f"listener {tls} 127.0.0.1\ncafile {folder / 'ca.crt'}\ncertfile {folder / 'server.crt'}\n"
              f"keyfile {folder / 'server.key'}\n")
    with _mosquitto(folder, config, (plain, tls)):
        name, password = next(iter(users.items()))
        yield SecureBroker(f"mqtt://{name}:{password}@127.0.0.1:{plain}",
                           f"mqtts://{name}:{password}@127.0.0.1:{tls}", str(folder / "ca.crt"), dict(users))


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
