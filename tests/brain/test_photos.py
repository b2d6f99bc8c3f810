"""Photos as evidence: checked, decoded in full, stored without what the file says about phone and place."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from brain.field.photos import MAX_PHOTO_BYTES, FolderStore, PhotoRefused, prepare

GPS_IFD = 0x8825


def photo_bytes(fmt: str = "JPEG", size=(640, 480), *, gps: bool = True, orientation: int | None = None) -> bytes:
    """A real picture from a 'phone': EXIF with GPS, camera make and model (and an orientation)."""
    img = Image.new("RGB", size, (200, 60, 40))
    for x in range(0, size[0], 40):
        img.paste((20, 120, 200), (x, 0, x + 20, size[1] // 2))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (31.0, 19.0, 27.0), 3: "E", 4: (121.0, 27.0, 9.0)}
    out = io.BytesIO()
    img.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("fmt,stored", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
                                        ("HEIF", "image/jpeg")])
def test_a_phone_photo_is_stored_without_its_gps_and_device_data(fmt, stored):
    raw = photo_bytes(fmt)
    assert b"PhoneModel X" in raw  # the upload carries them
    p = prepare(raw)
    assert p.content_type == stored and (p.width, p.height) == (640, 480)
    assert b"PhoneModel X" not in p.data and b"PhoneMaker" not in p.data
    again = Image.open(io.BytesIO(p.data))
    exif = again.getexif()
    assert GPS_IFD not in exif and 0x0110 not in exif
    assert again.size == (640, 480)
    thumb = Image.open(io.BytesIO(p.thumb))
    assert thumb.format == "JPEG" and max(thumb.size) == 320


def test_the_orientation_the_camera_recorded_is_applied_before_the_metadata_goes():
    p = prepare(photo_bytes("JPEG", (640, 480), orientation=6))  # "rotate 90° clockwise to view"
    assert (p.width, p.height) == (480, 640)


def test_the_id_is_the_hash_of_what_is_stored_and_the_upload_keeps_its_own_hash():
    import hashlib

    raw = photo_bytes()
    p = prepare(raw)
    assert p.id == hashlib.sha256(p.data).hexdigest() and p.received_sha256 == hashlib.sha256(raw).hexdigest()
    assert prepare(raw).id == p.id  # the same upload is the same photo


@pytest.mark.parametrize("raw,key", [
    (b"", "refused.photo.empty"),
    (b"%PDF-1.7 not a picture at all" * 10, "refused.photo.unreadable"),
    (b"GIF89a" + bytes(200), "refused.photo.unreadable"),
])
def test_what_is_not_a_photo_is_refused_with_its_reason(raw, key):
    with pytest.raises(PhotoRefused) as e:
        prepare(raw)
    assert e.value.key == key


def test_a_gif_or_a_truncated_jpeg_is_refused():
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(PhotoRefused) as e:
        prepare(gif.getvalue())
    assert e.value.key == "refused.photo.type"
    jpeg = photo_bytes()
    with pytest.raises(PhotoRefused) as e:
        prepare(jpeg[: len(jpeg) // 2])  # the header claims a picture; the pixels are not all there
    assert e.value.key == "refused.photo.unreadable"


def test_a_file_over_the_limit_is_refused_before_it_is_decoded():
    with pytest.raises(PhotoRefused) as e:
        prepare(b"\xff\xd8" + bytes(MAX_PHOTO_BYTES))
    assert e.value.key == "refused.photo.too_large"


def test_a_decompression_bomb_is_refused():
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # small file, 144 megapixels
    with pytest.raises(PhotoRefused) as e:
        prepare(out.getvalue())
    assert e.value.key in ("refused.photo.pixels", "refused.photo.unreadable")


def test_the_folder_store_writes_whole_files_by_hash_and_refuses_other_names(tmp_path):
    store = FolderStore(tmp_path)
    p = prepare(photo_bytes())
    store.put(p.id, p.data)
    store.put(p.id, b"other bytes")  # content-addressed: the first stays
    assert store.get(p.id) == p.data and store.exists(p.id)
    assert not [f for f in tmp_path.rglob(".incoming-*")]
    for bad in ("../../etc/passwd", "x" * 64, p.id + "/../x"):
        with pytest.raises(KeyError):
            store.put(bad, b"")
