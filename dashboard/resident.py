"""The residents' page at /r/: one shell for /r/ (find a pole), /r/{pole number} (what the QR code on a pole
opens) and /r/t/{tracking code}; one script and one stylesheet. The files hold no data; it comes from
/api/v1/public.

A phone on a slow network pays for each round trip (half a second on 3G), so the shell brings what the first
screen needs with it: the texts in the asked language, the kinds of problem with their pictures (inlined
SVG), and for a pole's address the pole with its small map, as a JSON data block (not a script: the
Content-Security-Policy runs none inline). The page then asks the server only when the resident acts.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.residents import pole_with_map, topics_of
from brain.runtime import Brain
from dashboard.i18n.catalogue import DEFAULT_LOCALE
from dashboard.static_app import static_router, texts
from geodata.gazetteer import PoleNotFound

FILES = Path(__file__).resolve().parent / "resident"
PATHS = {"/app.js": "app.js", "/app.css": "app.css", "/icons.svg": "icons.svg"}
# what the page says: its own texts, refusals, the departments (a case sent to one) and the categories
PREFIXES = ("r.", "refused.", "department.")


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.headers.get("accept-language", "")
    return "en" if asked.lower().startswith("en") else DEFAULT_LOCALE


def build_router(brain: Brain) -> APIRouter:
    r, _version = static_router("/r", FILES, PATHS, no_cache=(), prefixes=PREFIXES, catalogue=brain.catalogue)
    template = (FILES / "index.html").read_text(encoding="utf-8")
    icons = (FILES / "icons.svg").read_text(encoding="utf-8").replace(
        '<svg xmlns="http://www.w3.org/2000/svg">', '<svg xmlns="http://www.w3.org/2000/svg" hidden>', 1)
    hotline = escape(brain.settings.hotline, quote=True)
    topics = topics_of(brain)

    def shell(request: Request, pole: str | None = None) -> Response:
        lang = _lang(request)
        boot: dict = {"lang": lang, "texts": texts(brain.catalogue, lang, PREFIXES), "topics": topics}
        if pole:
            try:
                boot["pole"] = pole_with_map(brain, pole)
            except PoleNotFound:
                pass  # the page asks, and says what is close
        data = json.dumps(boot, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        page = (template.replace('data-view="loading"', f'data-view="loading" data-hotline="{hotline}"')
                .replace('<html lang="zh-CN">', f'<html lang="{lang}">')
                .replace("<!--BOOT-->", f'<script type="application/json" id="boot">{data}</script>\n{icons}'))
        return Response(page, media_type="text/html; charset=utf-8", headers={"cache-control": "no-cache"})

    @r.get("/")
    def find(request: Request):
        return shell(request)

    @r.get("/t/{code}")
    def tracking(request: Request, code: Annotated[str, PathParam(max_length=40)]):
        return shell(request)

    @r.get("/{pole}")
    def at_pole(request: Request, pole: Annotated[str, PathParam(max_length=40)]):
        return shell(request, pole)

    return r
