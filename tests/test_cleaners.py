"""Every type the gateway takes loses its metadata, stays usable, or is refused (findings 2, 10).

Tables: one row per type with a sample that carries an author, a device, a
GPS position or a title (tests/support/media_samples.py), the cleaner's
output checked for none of them and for still being the same kind of file;
then files that cannot be cleaned and must be refused, and pictures whose
header claims more pixels than the cap.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable

import mutagen
import mutagen.mp3
import pikepdf
import pytest
from PIL import Image

from gateway.cases.cleaners.images import FORMATS, MAX_PIXELS, jpeg_without_metadata
from gateway.cases.media import (
    IMAGE_TYPES,
    ImageTooLarge,
    UnsupportedMedia,
    check_upload,
    checked_type,
    strip_metadata,
)
from tests.support import media_samples as samples


def _picture(size: tuple[int, int]) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as img:
            assert img.size == size  # turned upright: EXIF orientation 6 swaps the sides
            assert not img.getexif() and "comment" not in img.info and "xmp" not in img.info
            img.load()

    return check


def _pdf(data: bytes) -> None:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1 and "/Im0" in pdf.pages[0].Resources.XObject
        assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root
        assert len(pdf.attachments) == 0
        photo = pdf.pages[0].Resources.XObject.Im0.read_raw_bytes()
        with Image.open(io.BytesIO(photo)) as img:  # the embedded photo, EXIF gone, still a JPEG
            assert img.size == (16, 16) and not img.getexif()


def _mp4(data: bytes) -> None:
    assert b"\x11" * 64 in data  # the video sample is where it was
    assert b"moov" in data and b"udta" not in data and b"\xa9xyz" not in data
    assert mutagen.File(io.BytesIO(data)).tags in (None, {})


def _mp3(data: bytes) -> None:
    audio = mutagen.mp3.MP3(io.BytesIO(data))
    assert audio.tags is None and not data.startswith(b"ID3") and data[-128:-125] != b"TAG"


def _ogg(data: bytes) -> None:
    audio = mutagen.File(io.BytesIO(data))
    assert type(audio).__name__ == "OggOpus" and dict(audio.tags or {}) == {}


def _wav(data: bytes) -> None:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getframerate(), w.getnframes()) == (8000, 800)
    assert b"LIST" not in data


CLEANED = [
    ("jpeg", "image/jpeg", lambda: samples.image("JPEG"), _picture((30, 40))),
    ("png", "image/png", lambda: samples.image("PNG"), _picture((30, 40))),
    ("webp", "image/webp", lambda: samples.image("WEBP"), _picture((30, 40))),
    ("gif", "image/gif", lambda: samples.image("GIF"), _picture((40, 30))),
    ("pdf", "application/pdf", samples.pdf_with_metadata, _pdf),
    ("mp4", "video/mp4", samples.mp4_with_gps, _mp4),
    ("m4a", "audio/mp4", lambda: samples.mp4_with_gps(b"M4A "), _mp4),
    ("mp3", "audio/mpeg", samples.mp3_with_id3, _mp3),
    ("ogg", "audio/ogg", samples.ogg_opus_with_comments, _ogg),
    ("wav", "audio/wav", samples.wav_with_info, _wav),
]


def test_the_pictures_media_sends_to_the_image_cleaner_are_the_ones_it_cleans() -> None:
    """media.py names the picture types without loading Pillow; they must be the cleaner's."""
    assert frozenset(FORMATS) == IMAGE_TYPES


@pytest.mark.parametrize(("label", "kind", "make", "usable"), CLEANED, ids=[r[0] for r in CLEANED])
def test_each_type_loses_its_metadata_and_stays_usable(label, kind, make, usable) -> None:  # type: ignore[no-untyped-def]
    original = make()
    assert samples.secrets_in(original), "the sample must carry metadata to remove"
    assert check_upload(original) == kind
    cleaned = strip_metadata(kind, original)
    assert samples.secrets_in(cleaned) == []
    usable(cleaned)


def _chained_ogg() -> bytes:
    return samples.ogg_opus_with_comments() + samples.ogg_opus_with_comments()


def _mp4_box_overrun() -> bytes:
    data = bytearray(samples.mp4_with_gps())
    moov = data.index(b"moov") - 4
    struct.pack_into(">I", data, moov, len(data))  # moov claims more than the file holds
    return bytes(data)


REFUSED = [
    ("pdf that needs a password", "application/pdf", samples.encrypted_pdf),
    ("pdf that is not one", "application/pdf", lambda: b"%PDF-1.4 nothing else"),
    ("chained ogg: two streams, two comment packets", "audio/ogg", _chained_ogg),
    ("ogg that is not one", "audio/ogg", lambda: b"OggS" + bytes(60)),
    ("mp4 whose box overruns the file", "video/mp4", _mp4_box_overrun),
    ("mp4 cut short", "video/mp4", lambda: samples.mp4_with_gps()[:700]),
    ("mp3 without a frame", "audio/mpeg", lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(50)),
    (
        "wav without a format chunk",
        "audio/wav",
        lambda: b"RIFF\x0c\x00\x00\x00WAVEdata\x00\x00\x00\x00",
    ),
    ("jpeg cut in its header", "image/jpeg", lambda: samples.image("JPEG")[:100]),
    ("png cut in its pixels", "image/png", lambda: samples.image("PNG", (300, 300))[:200]),
    ("gif whose frame claims more than its data", "image/gif", lambda: samples.gif_bomb(300, 300)),
]


@pytest.mark.parametrize(("label", "kind", "make"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_cannot_be_cleaned_is_refused(label: str, kind: str, make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedMedia):
        strip_metadata(kind, make())


BOMBS = [
    ("png 8000x8000, 1 bit, 7 KB", samples.png_bomb),
    ("png 8000x8000 RGBA", lambda: samples.png_bomb(8000, 8000, colour_type=6, depth=8)),
    ("png one pixel over the cap", lambda: samples.png_bomb(MAX_PIXELS // 1000 + 1, 1000)),
    ("gif 60000x60000", samples.gif_bomb),
    ("webp 16383x16383", samples.webp_bomb),
    ("jpeg 65000x65000", samples.jpeg_bomb),
]


@pytest.mark.parametrize("make", [b[1] for b in BOMBS], ids=[b[0] for b in BOMBS])
def test_a_picture_over_the_pixel_cap_is_refused_from_its_header(make) -> None:  # type: ignore[no-untyped-def]
    data = make()
    with pytest.raises(ImageTooLarge):
        check_upload(data)
    kind = checked_type(data)
    with pytest.raises(ImageTooLarge):  # the worker checks again before decoding
        strip_metadata(kind, data)


def test_a_picture_at_the_cap_is_taken() -> None:
    at_cap = samples.png_bomb(MAX_PIXELS // 1000, 1000)
    assert check_upload(at_cap) == "image/png"
    with Image.open(io.BytesIO(strip_metadata("image/png", at_cap))) as img:
        assert img.size == (MAX_PIXELS // 1000, 1000)


def test_jpeg_segments_go_and_the_picture_stays() -> None:
    original = samples.image("JPEG")
    stripped = jpeg_without_metadata(original)
    assert samples.secrets_in(stripped) == [] and b"Exif" not in stripped
    with Image.open(io.BytesIO(stripped)) as a, Image.open(io.BytesIO(original)) as b:
        assert a.tobytes() == b.tobytes()  # not re-encoded: the same pixels
