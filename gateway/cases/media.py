"""Attachments: which types are taken, and every one cleaned of its metadata.

Types are decided by the file's first bytes, never by the name or the type
a browser claims. Two steps, in two places:

- `check_upload` (web request, and the worker before cleaning): the type,
  and for a picture its size from the header alone, so a decompression bomb
  is refused before anything is decoded.
- `strip_metadata` (worker only): the cleaner of the type
  (`gateway.cases.cleaners`): pictures re-encoded from their pixels, PDF Info and
  XMP removed, MP4/MOV/M4A metadata boxes blanked, audio tags removed. A
  file that cannot be cleaned raises `UnsupportedMedia` and is not kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

from gateway.cases.cleaners import CannotClean, mp4

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
# The pictures, cleaned by `gateway.cases.cleaners.images` (its FORMATS: tests/test_cleaners.py).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# The provider name of a media download whose file the reporter gave the
# gateway itself (the web form): its bytes wait encrypted in the row, no fetch.
UPLOADED = "upload"


class UnsupportedMedia(ValueError):
    """The file is not of a type the gateway takes, or it cannot be cleaned."""


class ImageTooLarge(UnsupportedMedia):
    """A picture over `gateway.cases.cleaners.images.MAX_PIXELS` (or a header that claims it)."""


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


def check_upload(data: bytes) -> str:
    """The file's type, checked without decoding: a picture's header gives its size.

    Raises:
        ImageTooLarge: a picture over the pixel cap (a decompression bomb).
        UnsupportedMedia: a type not taken, or a picture whose header is unreadable.
    """
    kind = checked_type(data)
    if kind in IMAGE_TYPES:
        images = _images()
        try:
            images.header_size(kind, data)
        except images.TooManyPixels:
            raise ImageTooLarge(kind) from None
        except CannotClean:
            raise UnsupportedMedia(kind) from None
    return kind


def _images() -> ModuleType:
    """The pictures' cleaner: Pillow costs a process some 2 MiB, loaded by the first picture."""
    from gateway.cases.cleaners import images  # noqa: PLC0415 - heavy, on the first picture only

    return images


def _cleaners() -> dict[str, Callable[[bytes], bytes]]:
    """The cleaner of every type but pictures.

    pikepdf (with qpdf) and mutagen cost a process some 7 MiB: they are
    loaded by the first PDF or sound cleaned, in the worker, never by a web
    process, which imports this module for `check_upload` alone.
    """
    from gateway.cases.cleaners import audio, pdf  # noqa: PLC0415 - heavy, worker on demand only

    return {
        "application/pdf": pdf.clean_pdf,
        "audio/ogg": audio.clean_ogg,
        "audio/mpeg": audio.clean_mp3,
        "audio/wav": audio.clean_wav,
        "audio/amr": bytes,  # AMR has no place for metadata
        "audio/mp4": mp4.clean_mp4,
        "video/mp4": mp4.clean_mp4,
    }


def strip_metadata(content_type: str, data: bytes) -> bytes:
    """The file without its metadata, by the cleaner of its type; in the worker only.

    Raises:
        ImageTooLarge: a picture over the pixel cap.
        UnsupportedMedia: no cleaner for the type, or the file cannot be cleaned.
    """
    try:
        if content_type in IMAGE_TYPES:
            images = _images()
            try:
                return images.clean_image(content_type, data)
            except images.TooManyPixels:
                raise ImageTooLarge(content_type) from None
        cleaner = _cleaners().get(content_type)
        if cleaner is None:
            raise UnsupportedMedia(content_type)
        return cleaner(data)
    except CannotClean:
        raise UnsupportedMedia(content_type) from None


def type_hint(claimed: str | None) -> str | None:
    """The type a provider or a reporter's app names for a file, if it is one; else None.

    Only a hint (the bytes decide, `checked_type`), but kept in a clear
    column: a made-up value (300 characters, a NUL) must not stop the report
    from being filed.
    """
    value = (claimed or "").split(";")[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None
