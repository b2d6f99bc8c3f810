"""The field app at /m/: its files (a shell, one script, one stylesheet, the manifest, the service worker,
icons), served by the product itself, and its texts from the catalogue in either language.

The files hold no data: whoever asks gets them; the data comes from /api/v1/field for the person signed in.
The service worker's cache is named by a hash of the files, so a new release replaces the phone's copy.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from brain.runtime import Brain
from dashboard.static_app import static_router
from dashboard.static_app import texts as app_texts

FILES = Path(__file__).resolve().parent / "mobile"
PATHS = {"/": "index.html", "/app.js": "app.js", "/app.css": "app.css", "/sw.js": "sw.js",
         "/manifest.webmanifest": "manifest.webmanifest", "/icon-192.png": "icon-192.png",
         "/icon-512.png": "icon-512.png"}
# the catalogue entries the app says: its own, task and case states, duty, priorities and refusals
PREFIXES = ("m.", "task.", "status.", "duty.", "priority.", "refused.", "case.text.", "alarm.")


def texts(brain: Brain, locale: str) -> dict[str, str]:
    return app_texts(brain.catalogue, locale, PREFIXES)


def build_router(brain: Brain) -> APIRouter:
    def versioned(path: str, data: bytes, version: str) -> bytes:
        return data.replace(b"__VERSION__", version.encode()) if path == "/sw.js" else data

    # the service worker is looked at on every visit; the rest may be kept briefly (it revalidates)
    r, _version = static_router("/m", FILES, PATHS, no_cache=("/", "/sw.js"), prefixes=PREFIXES,
                                catalogue=brain.catalogue, rewrite=versioned)
    return r
