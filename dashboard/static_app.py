"""A small app of static files served by the product itself (the field app at /m/, the residents' page at
/r/): its files read once, a version hash of them, and its texts from the catalogue in either language."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from dashboard.i18n.catalogue import CATALOGUE, DEFAULT_LOCALE, LOCALES, category_names

MEDIA = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".webmanifest": "application/manifest+json", ".png": "image/png",
         ".svg": "image/svg+xml"}


def texts(catalogue, locale: str, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The catalogue entries under `prefixes` in `locale`, and the category names as cat.<code>."""
    loc = locale if locale in LOCALES else DEFAULT_LOCALE
    out = {k: v.get(loc) or v[DEFAULT_LOCALE] for k, v in CATALOGUE.items() if k.startswith(prefixes)}
    out.update({f"cat.{code}": name for code, name in category_names(catalogue, loc).items()})
    return out


def static_router(prefix: str, folder: Path, files: dict[str, str], *, no_cache: Iterable[str],
                  prefixes: tuple[str, ...], catalogue, rewrite: Callable[[str, bytes, str], bytes] | None = None
                  ) -> tuple[APIRouter, str]:
    """Routes `prefix + path` for each `path -> file name` of `files` and `prefix/texts.json?lang=`; a path in
    `no_cache` is looked at on every visit, the rest kept five minutes. Returns the router and the version
    (a hash of every file); `rewrite(path, bytes, version)` may change a file once read."""
    r = APIRouter(prefix=prefix, include_in_schema=False)
    blobs = {path: (folder / name).read_bytes() for path, name in files.items()}
    version = hashlib.sha256(b"".join(blobs[p] for p in sorted(blobs))).hexdigest()[:16]
    if rewrite is not None:
        blobs = {path: rewrite(path, data, version) for path, data in blobs.items()}
    fresh = set(no_cache)

    def serve(path: str) -> Response:
        media = MEDIA[Path(files[path]).suffix]
        cache = "no-cache" if path in fresh else "public, max-age=300"
        return Response(blobs[path], media_type=media, headers={"cache-control": cache})

    for path in files:
        r.add_api_route(path, (lambda p=path: serve(p)), methods=["GET"])

    @r.get("/texts.json")
    def app_texts(lang: str = Query(DEFAULT_LOCALE, pattern="^(zh-CN|en)$")):
        return JSONResponse(texts(catalogue, lang, prefixes), headers={"cache-control": "public, max-age=300"})

    return r, version
