"""Photos: their size read from the header first, then re-encoded from their pixels only.

The web request calls `header_size` only: Pillow's `Image.open` reads the
header and decodes nothing, so a 7 KB PNG that claims 8000x8000 pixels is
refused before it costs anything. The worker calls `clean_image`, which
decodes the first frame (animations keep only it), builds a new image from
the pixels alone and encodes that: no EXIF, GPS, XMP, IPTC, comment, ICC
profile or thumbnail survives. The EXIF orientation is applied to the pixels
first, so the picture stays upright.

`jpeg_without_metadata` removes the metadata segments of a JPEG without
decoding it; the PDF cleaner uses it for photos embedded in a document.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

from gateway.cases.cleaners import MAX_PIXELS, CannotClean

__all__ = ["MAX_PIXELS", "TooManyPixels", "clean_image", "header_size", "jpeg_without_metadata"]

# Pillow warns of a picture over its own limit (89 MP) when it opens the header,
# before our check sees the size: as an error, it is a refusal like any other,
# not a line in the log. Only Pillow raises this warning, only for such headers.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# Pixel modes each format is written in as they are; others become RGB(A).
_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
}
_ALPHA_FORMATS = {"PNG", "WEBP"}
_SAVE_OPTIONS = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90}}
_ORIENTATION = 0x0112
# EXIF orientation -> the transposition that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# JPEG segments kept by jpeg_without_metadata: APP0 (JFIF), APP14 (Adobe: the
# colour transform); APP2 only when it is an ICC profile. Every other APPn
# (EXIF, XMP, IPTC, maker notes) and COM goes.
_APP0, _APP2, _APP14, _APP15, _COM, _SOS = 0xE0, 0xE2, 0xEE, 0xEF, 0xFE, 0xDA


class TooManyPixels(CannotClean):
    """The picture is larger than MAX_PIXELS (or says it is): refused undecoded."""


def _open(content_type: str, data: bytes) -> Image.Image:
    """The image with only its header read; refused when it is too large or unreadable."""
    if content_type not in FORMATS:
        raise CannotClean(content_type)
    try:
        img = Image.open(io.BytesIO(data), formats=[FORMATS[content_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels() from exc
    except Exception as exc:  # noqa: BLE001 - decoders raise many types on hostile input
        raise CannotClean(content_type) from exc
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        img.close()
        raise TooManyPixels()
    return img


def header_size(content_type: str, data: bytes) -> tuple[int, int]:
    """Width and height as the header gives them, nothing decoded.

    Raises:
        TooManyPixels: over MAX_PIXELS.
        CannotClean: not a readable header of this type.
    """
    img = _open(content_type, data)
    img.close()
    return img.size


def clean_image(content_type: str, data: bytes) -> bytes:
    """The picture (first frame) upright, re-encoded from its pixels alone."""
    img = _open(content_type, data)
    fmt = FORMATS[content_type]
    try:
        orientation = img.getexif().get(_ORIENTATION)
        img.load()
        mode = img.mode
        if mode not in _MODES[fmt]:
            alpha = "A" in mode or "transparency" in img.info
            mode = "RGBA" if alpha and fmt in _ALPHA_FORMATS else "RGB"
        source = img if img.mode == mode else img.convert(mode)
        clean = Image.new(mode, img.size)
        clean.paste(source)
        options = dict(_SAVE_OPTIONS.get(fmt, {}))
        if mode == "P":
            clean.putpalette(source.getpalette() or [])
        if "transparency" in source.info and mode in ("P", "L", "RGB"):
            options["transparency"] = source.info["transparency"]
        source.close()
        img.close()
        if orientation in _UPRIGHT:
            clean = clean.transpose(_UPRIGHT[orientation])
        out = io.BytesIO()
        clean.save(out, format=fmt, **options)
        return out.getvalue()
    except CannotClean:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated or corrupt picture, whatever the decoder says
        raise CannotClean(content_type) from exc
    finally:
        img.close()


def jpeg_without_metadata(data: bytes) -> bytes:
    """The JPEG's bytes without EXIF, XMP, IPTC or comments, undecoded (lossless)."""
    if data[:2] != b"\xff\xd8":
        raise CannotClean("not a JPEG")
    out, pos = bytearray(b"\xff\xd8"), 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            raise CannotClean("JPEG marker expected")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            out += data[pos : pos + 2]
            pos += 2
            continue
        if marker == _SOS:  # the picture itself follows: copied as it is
            return bytes(out + data[pos:])
        if pos + 4 > len(data):
            break
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if end > len(data) or end < pos + 4:
            raise CannotClean("JPEG segment overruns the file")
        icc = marker == _APP2 and data[pos + 4 : pos + 16] == b"ICC_PROFILE\x00"
        metadata = marker == _COM or (_APP0 < marker <= _APP15 and marker != _APP14 and not icc)
        if not metadata:
            out += data[pos:end]
        pos = end
    raise CannotClean("JPEG without picture data")
