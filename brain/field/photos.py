"""Photos as evidence: checked, stripped of what the file says about the phone and the place, stored by the
hash of what is stored, with a thumbnail for the screens.

A photo is decoded in full (a file that only claims to be an image is refused) and written again from its
pixels: EXIF (GPS, device, maker notes), XMP and comments cannot survive that, and the orientation the
camera recorded is applied first so the picture stands as it was taken. HEIC from phones is stored as JPEG.
The capture time and position kept are the ones the app reported with the upload, never the file's.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from brain.refusal import Refusal

register_heif_opener()
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 60_000_000  # a 60-megapixel frame is beyond any phone camera; more is a decompression bomb
THUMB_PX = 320
KEY = re.compile(r"^[0-9a-f]{64}(\.thumb)?$")  # a photo's hash, or its thumbnail's name
# what a phone's camera gives: format as the decoder names it -> the type it is stored as
ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/jpeg"}
SAVE = {"image/jpeg": ("JPEG", {"quality": 90}), "image/png": ("PNG", {}), "image/webp": ("WEBP", {"quality": 90})}


class PhotoRefused(Refusal):
    """A file that is not taken as a photo, with the reason in words (and its catalogue key)."""


@dataclass(frozen=True)
class Prepared:
    id: str  # sha256 of `data`
    data: bytes
    thumb: bytes  # JPEG, at most THUMB_PX on its longer side
    content_type: str
    width: int
    height: int
    received_sha256: str


def prepare(raw: bytes) -> Prepared:
    """Check an upload (size, type, decodes in full) and write it again without its metadata."""
    if not raw:
        raise PhotoRefused("the file is empty", key="refused.photo.empty")
    if len(raw) > MAX_PHOTO_BYTES:
        raise PhotoRefused(f"a photo is at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB",
                           key="refused.photo.too_large", mb=MAX_PHOTO_BYTES // (1024 * 1024))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(raw))
            fmt = img.format or ""
            if fmt not in ACCEPTED:
                raise PhotoRefused(f"not a photo this app takes ({fmt or 'unknown'}): JPEG, PNG, HEIC or WebP",
                                   key="refused.photo.type")
            if img.width * img.height > MAX_PIXELS:
                raise PhotoRefused("the picture is larger than any phone camera takes", key="refused.photo.pixels")
            img.load()  # the whole picture decodes, not only its header
            img = ImageOps.exif_transpose(img)
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise PhotoRefused("the file is not a picture that can be read", key="refused.photo.unreadable") from None
    content_type = ACCEPTED[fmt]
    if content_type == "image/jpeg" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    form, options = SAVE[content_type]
    out = io.BytesIO()
    img.save(out, form, **options)  # from the pixels alone: no exif, xmp, icc comments or maker notes
    data = out.getvalue()
    small = img.convert("RGB") if img.mode != "RGB" else img.copy()
    small.thumbnail((THUMB_PX, THUMB_PX))
    thumb = io.BytesIO()
    small.save(thumb, "JPEG", quality=80)
    return Prepared(id=hashlib.sha256(data).hexdigest(), data=data, thumb=thumb.getvalue(),
                    content_type=content_type, width=img.width, height=img.height,
                    received_sha256=hashlib.sha256(raw).hexdigest())


class PhotoStore(Protocol):
    """Where photo bytes live, by id (the hash): a folder here; an object store behind the same three calls."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class FolderStore:
    """Photos in a folder, two levels of the hash deep; each file written whole (a temporary file renamed),
    never half. Content-addressed: the same photo twice is one file."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY.match(key):
            raise KeyError(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
