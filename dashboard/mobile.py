"""The field app at /m/: its files (a shell, one script, one stylesheet, the manifest, the service worker,
icons), served by the product itself, and its texts from the catalogue in either language.

The files hold no data: whoever asks gets them; the data comes from /api/v1/field for the person signed in.
The service worker's cache is named by a hash of the files, so a new release replaces the phone's copy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from brain.runtime import Brain
from dashboard.i18n.catalogue import CATALOGUE, DEFAULT_LOCALE, LOCALES, category_names

FILES = Path(__file__).resolve().parent / "mobile"
TYPES = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/app.css": ("app.css", "text/css; charset=utf-8"), "/sw.js": ("sw.js", "text/javascript; charset=utf-8"),
         "/manifest.webmanifest": ("manifest.webmanifest", "application/manifest+json"),
         "/icon-192.png": ("icon-192.png", "image/png"), "/icon-512.png": ("icon-512.png", "image/png")}
# the catalogue entries the app says: its own, task and case states, duty, priorities and refusals
PREFIXES = ("m.", "task.", "status.", "duty.", "priority.", "refused.")


def texts(brain: Brain, locale: str) -> dict[str, str]:
    loc = locale if locale in LOCALES else DEFAULT_LOCALE
    out = {k: v.get(loc) or v[DEFAULT_LOCALE] for k, v in CATALOGUE.items() if k.startswith(PREFIXES)}
    out.update({f"cat.{code}": name for code, name in category_names(brain.catalogue, loc).items()})
    return out


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix="/m", include_in_schema=False)
    blobs = {path: (FILES / name).read_bytes() for path, (name, _t) in TYPES.items()}
    version = hashlib.sha256(b"".join(blobs[p] for p in sorted(blobs))).hexdigest()[:16]
    blobs["/sw.js"] = blobs["/sw.js"].replace(b"__VERSION__", version.encode())

    def serve(path: str) -> Response:
        _name, media = TYPES[path]
        # the service worker is looked at on every visit; the rest may be kept briefly (it revalidates)
        cache = "no-cache" if path in ("/", "/sw.js") else "public, max-age=300"
        return Response(blobs[path], media_type=media, headers={"cache-control": cache})

    for path in TYPES:
        r.add_api_route(path, (lambda p=path: serve(p)), methods=["GET"])

    @r.get("/texts.json")
    def field_texts(lang: str = Query(DEFAULT_LOCALE, pattern="^(zh-CN|en)$")):
        return JSONResponse(texts(brain, lang), headers={"cache-control": "public, max-age=300"})

    return r
