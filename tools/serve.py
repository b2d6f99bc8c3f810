"""The whole app (API + UI) served by uvicorn in a thread on a free port: for browser tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from app import create_app, server_options
from brain.config import Settings
from brain.runtime import Brain


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    brain: Brain
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serve(settings: Settings, brain: Brain, *, timeout_s: float = 30.0) -> Iterator[Served]:
    """Start the app for `brain` and stop it on leaving; RuntimeError if it does not come up."""
    server_app, _ = create_app(settings, brain=brain)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(server_app, host="127.0.0.1", port=port, log_level="warning",
                                           **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield Served(brain, port, server, thread)
    finally:
        server.should_exit = True
        thread.join(10)


def app_process(tree, env: dict[str, str], *, extra_args: tuple[str, ...] = ("--no-sim",),
                timeout_s: float = 120.0):
    """`python app.py` of the source tree `tree` in a process of its own on a free port, with `env`; returns
    (process, url) once its health answers, or raises RuntimeError (the process killed) if it does not."""
    import subprocess
    import sys

    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *extra_args], cwd=tree, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the app in {tree} did not start")
