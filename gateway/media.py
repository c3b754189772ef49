"""Attachments: which types are taken, and images stripped of EXIF and GPS.

An image is decoded and encoded again from its pixels only, so no metadata
block (EXIF, GPS, XMP, comments, thumbnails) survives. Types are decided by
the file's first bytes, never by the name or the type a browser claims.
"""

from __future__ import annotations

import io
import re

from PIL import Image, ImageOps, UnidentifiedImageError

# Magic numbers of the types a reporter may send.
_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"\xff\xfb", 0, "audio/mpeg"),
    (b"\xff\xf3", 0, "audio/mpeg"),
    (b"#!AMR", 0, "audio/amr"),
]
_RIFF = {b"WAVE": "audio/wav", b"WEBP": "image/webp"}
# type/subtype in RFC 6838's characters, short enough for a clear column of 100.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,47}/[a-z0-9][a-z0-9!#$&^_.+-]{0,47}")
_FTYP_AUDIO = {b"M4A ", b"M4B "}

ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "audio/ogg",
        "audio/mpeg",
        "audio/wav",
        "audio/amr",
        "audio/mp4",
        "video/mp4",
    }
)
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


class UnsupportedMedia(ValueError):
    """The file is not of a type the gateway takes."""


def sniff(data: bytes) -> str | None:
    """The content type told by the file's first bytes, or None."""
    for magic, offset, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data[4:8] == b"ftyp":
        return "audio/mp4" if data[8:12] in _FTYP_AUDIO else "video/mp4"
    return None


def checked_type(data: bytes) -> str:
    kind = sniff(data)
    if kind is None or kind not in ALLOWED_TYPES:
        raise UnsupportedMedia(kind or "unknown")
    return kind


def strip_metadata(content_type: str, data: bytes) -> bytes:
    """Images re-encoded from pixels; other types returned as they are."""
    if content_type not in IMAGE_FORMATS:
        return data
    try:
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)  # keep the picture upright, drop the tag
            if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                img = img.convert("RGB")
            clean = Image.new(img.mode, img.size)
            clean.paste(img)
            if img.mode == "P" and img.getpalette():
                clean.putpalette(img.getpalette())
            out = io.BytesIO()
            clean.save(out, format=IMAGE_FORMATS[content_type])
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnsupportedMedia(content_type) from exc


def type_hint(claimed: str | None) -> str | None:
    """The type a provider or a reporter's app names for a file, if it is one; else None.

    Only a hint (the bytes decide, `checked_type`), but kept in a clear
    column: a made-up value (300 characters, a NUL) must not stop the report
    from being filed.
    """
    value = (claimed or "").split(";")[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None
