"""Community Brain: `python app.py` runs the command centre on its embedded defaults.

SQLite file under ./var, the in-process bus, the demo district and the live simulator.
`--port N` picks the port, `--no-sim` starts without the simulator. For several workers behind
one port, run the factory with uvicorn: ``uvicorn app:create_server --factory --workers 4``.
"""

from __future__ import annotations

import argparse
import logging
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from api.app import build_api
from api.login import build_router as login_router
from api.security import SecurityMiddleware, content_security_policy
from brain.config import Settings
from brain.runtime import Brain
from dashboard.app import PAGES, create_dash
from dashboard.mobile import build_router as mobile_router
from dashboard.open311 import build_router as open311_router
from dashboard.report import build_router as report_router
from dashboard.resident import build_router as resident_router

log = logging.getLogger("brain")
PAGE_PATHS = {"/", *PAGES}  # the UI's pages; any other page path is a 404


async def empty_glyphs(fontstack: str, glyph_range: str) -> Response:
    """The map style's glyph server: an empty set for any font and range (see layers/style.py)."""
    return Response(b"", media_type="application/x-protobuf", headers={"cache-control": "max-age=86400"})


def create_app(settings: Settings | None = None, *, brain: Brain | None = None) -> tuple[FastAPI, Brain]:
    """Build the server (API + UI) and its brain; the brain starts with the server and stops with it."""
    settings = settings or (brain.settings if brain else Settings.from_env())
    brain = brain or Brain(settings)
    server = build_api(brain)
    server.include_router(login_router(brain, secure_cookies=settings.secure_cookies))
    server.include_router(report_router(brain))
    server.include_router(mobile_router(brain))
    server.include_router(resident_router(brain))
    server.include_router(open311_router(brain))  # Open311 GeoReport v2, in the catalogue's words
    server.add_api_route("/map/glyphs/{fontstack}/{glyph_range}.pbf", empty_glyphs, include_in_schema=False)
    dash_app, guard = create_dash(brain, server)
    callback_permissions = guard.permissions
    server.state.callback_permissions = callback_permissions  # the table the gate enforces (tests read it)
    server.state.dash = dash_app
    csp: list[str] = []

    def policy() -> str:
        # computed once, after every inline script (clientside callbacks) is known
        if not csp:
            csp.append(content_security_policy(list(dash_app.csp_hashes())))
        return csp[0]

    server.add_middleware(SecurityMiddleware, brain=brain, callback_permissions=lambda: callback_permissions,
                          callback_contracts=lambda: guard.contracts, pages=lambda: PAGE_PATHS,
                          csp=policy, secure_cookies=settings.secure_cookies)
    inner = server.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        brain.start()
        try:
            async with inner(app) as state:
                yield state
        finally:
            brain.stop()

    server.router.lifespan_context = lifespan
    return server, brain


def create_server() -> FastAPI:
    """ASGI factory for uvicorn/gunicorn (settings from the environment)."""
    return create_app()[0]


def server_options(settings: Settings) -> dict:
    """uvicorn's options from the settings: X-Forwarded-For is believed only from the proxies named in
    BRAIN_TRUSTED_PROXIES (uvicorn's own default believes any client on this host, and so would the rate
    limits and the audit log's addresses)."""
    return {"proxy_headers": bool(settings.trusted_proxies), "forwarded_allow_ips": settings.trusted_proxies or None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Community Brain command centre")
    ap.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="port (default 8050)")
    ap.add_argument("--no-sim", action="store_true", help="start without the simulator")
    ap.add_argument("--sim-speed", type=float, default=None, help="simulator speed factor (default 1)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=os.environ.get("BRAIN_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    changes: dict = {}
    if args.host:
        changes["host"] = args.host
    if args.port:
        changes["port"] = args.port
    if args.no_sim:
        changes["simulate"] = False
    if args.sim_speed is not None:
        if not args.sim_speed > 0:
            ap.error("--sim-speed must be positive")
        changes["sim_speed"] = args.sim_speed
    settings = settings.with_(**changes)
    server, _brain = create_app(settings)
    import threading
    import time

    import uvicorn

    served = uvicorn.Server(uvicorn.Config(server, host=settings.host, port=settings.port, log_level="warning",
                                           **server_options(settings)))

    def announce() -> None:
        """The address, once the server answers on it (the first start writes the demo's history first)."""
        while not served.started and not served.should_exit:
            time.sleep(0.1)
        if served.started:
            log.info("Community Brain on http://%s:%d/wall (database %s)", settings.host, settings.port,
                     settings.database_url.split("@")[-1])

    threading.Thread(target=announce, name="announce", daemon=True).start()
    served.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
