"""The API's browsable documentation (Swagger UI), served from this host: its script and stylesheet come
from the pinned `swagger-ui-bundle-v2` package, and its start is a script file of ours, so the page needs
no CDN and keeps the Content-Security-Policy of 'self' (FastAPI's own page loads both from a CDN and starts
with an inline script)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def build_router(prefix: str, openapi_url: str, title: str) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{prefix}/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{prefix}/docs/swagger-ui-bundle.js"></script>
<script src="{prefix}/docs/start.js"></script></body></html>"""
    start = (f'window.ui = SwaggerUIBundle({{url: "{openapi_url}", dom_id: "#swagger-ui", '
             'presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", deepLinking: true});\n')

    @r.get(f"{prefix}/docs")
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @r.get(f"{prefix}/docs/start.js")
    def start_script() -> Response:
        return Response(start, media_type="text/javascript")

    @r.get(f"{prefix}/docs/{{name}}")
    def asset(name: str) -> Response:
        if name not in FILES:
            return Response(status_code=404)
        return FileResponse(str(swagger_ui_path / name), media_type=FILES[name],
                            headers={"cache-control": "max-age=86400"})

    return r
