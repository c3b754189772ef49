"""Files a reporter's phone could send, made here: with metadata to strip, and bombs.

Every builder returns bytes. The metadata they carry uses the strings in
`SECRETS`, so a test can look for any of them in what the gateway stored
or served. MP4 boxes, PNG chunks and Ogg pages are built by hand where no
library writes them (a `©xyz` position, a timed-metadata track, a header
that claims 8000x8000 pixels).
"""

from __future__ import annotations

import functools
import io
import struct
import wave
import zlib

import mutagen.id3
import mutagen.ogg
import pikepdf
from PIL import Image

AUTHOR = "Amina Reporter-Secret"
CREATOR = "SecretScanner Pro 9"
GPS = "+04.3217+015.3126/"
DEVICE = "SecretPhone X12"
TITLE = "Secret title of the clip"
SECRETS = (AUTHOR, CREATOR, GPS, DEVICE, TITLE, "PhoneMaker")


def secrets_in(data: bytes) -> list[str]:
    """The SECRETS that appear in `data` (as UTF-8 or UTF-16, as PDF and ID3 write them)."""
    found = []
    for secret in SECRETS:
        forms = (secret.encode(), secret.encode("utf-16-be"), secret.encode("utf-16-le"))
        if any(form in data for form in forms):
            found.append(secret)
    return found


# --- pictures -----------------------------------------------------------


def image(kind: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    """A picture of `kind` (PNG, JPEG, GIF, WEBP) with EXIF GPS and a maker where it can."""
    img = Image.new(mode, size, "red" if mode != "1" else 1)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = DEVICE  # Model
    exif[0x0112] = 6  # Orientation: rotated, so cleaning must turn the pixels
    exif[0x8825] = {1: "N", 2: (4.0, 21.0, 0.0), 3: "E", 4: (15.0, 31.0, 0.0)}
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif} if kind in ("JPEG", "PNG", "WEBP") else {}
    if kind == "GIF":
        options["comment"] = DEVICE.encode()
    img.save(out, format=kind, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


@functools.cache
def png_bomb(width: int = 8000, height: int = 8000, colour_type: int = 0, depth: int = 1) -> bytes:
    """A real PNG of width x height pixels, all zero, compressed to a few kilobytes."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + bytes((width * channels * depth + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A GIF whose screen and only frame claim width x height, with almost no data."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b"\x3b"


def webp_bomb(width: int = 16383, height: int = 16383) -> bytes:
    """A lossless WebP (VP8L) header of width x height with a few bytes of data."""
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + struct.pack("<I", bits) + bytes(16)
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def jpeg_bomb(width: int = 65000, height: int = 65000) -> bytes:
    """A JPEG whose frame header (SOF0) claims width x height; no picture data after it."""
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", 2 + len(sof)) + sof + b"\xff\xd9"


# --- documents ----------------------------------------------------------


def pdf_with_metadata() -> bytes:
    """A one-page PDF with Info Author/Creator, XMP, an embedded file and a photo with EXIF."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Author"] = AUTHOR
    pdf.docinfo["/Creator"] = CREATOR
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:creator"] = [AUTHOR]
        meta["xmp:CreatorTool"] = CREATOR
    photo = image("JPEG", (16, 16))
    stream = pikepdf.Stream(pdf, photo)
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width, stream.Height, stream.BitsPerComponent = 16, 16, 8
    stream.ColorSpace, stream.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
    page.Contents = pikepdf.Stream(pdf, b"q 100 0 0 100 50 50 cm /Im0 Do Q")
    attached = pikepdf.AttachedFileSpec(pdf, f"notes by {AUTHOR}".encode(), filename="n.txt")
    pdf.attachments["n.txt"] = attached
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """A PDF that needs a password to open (and names its author): it cannot be cleaned."""
    out = io.BytesIO()
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = AUTHOR
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return out.getvalue()


# --- video and sound ----------------------------------------------------


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, payload: bytes, version: int = 0) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + payload)


def _trak(
    handler: bytes, track_id: int, chunk_offset: int, sample_size: int, extra: bytes
) -> bytes:
    tkhd = _full(
        b"tkhd", struct.pack(">IIIII", 3_800_000_000, 3_800_000_001, track_id, 0, 1000) + bytes(60)
    )
    mdhd = _full(
        b"mdhd", struct.pack(">IIIIHH", 3_800_000_000, 3_800_000_001, 1000, 1000, 0x55C4, 0)
    )
    hdlr = _full(b"hdlr", b"\0\0\0\0" + handler + bytes(12) + b"Handler\0")
    stbl = _box(
        b"stbl",
        _full(b"stsd", struct.pack(">I", 0))
        + _full(b"stts", struct.pack(">III", 1, 1, 1000))
        + _full(b"stsc", struct.pack(">IIII", 1, 1, 1, 1))
        + _full(b"stsz", struct.pack(">III", 0, 1, sample_size))
        + _full(b"stco", struct.pack(">II", 1, chunk_offset)),
    )
    return _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + _box(b"minf", stbl)) + extra)


def mp4_with_gps(brand: bytes = b"isom") -> bytes:
    """An MP4 with `©xyz` under moov/udta and under a trak, iTunes tags, Apple keys, XMP,
    dated headers, and a timed-metadata track whose sample (in mdat) holds the position."""
    xyz = _box(b"\xa9xyz", struct.pack(">HH", len(GPS), 0x15C7) + GPS.encode())
    mak = _box(b"\xa9mod", struct.pack(">HH", len(DEVICE), 0x15C7) + DEVICE.encode())
    ilst = _box(b"ilst", _box(b"\xa9nam", _box(b"data", struct.pack(">II", 1, 0) + TITLE.encode())))
    itunes = _full(b"meta", _full(b"hdlr", b"\0\0\0\0mdirappl" + bytes(9)) + ilst)
    keys = _full(
        b"keys", struct.pack(">I", 1) + _box(b"mdta", b"com.apple.quicktime.location.ISO6709")
    )
    apple = _box(
        b"meta",
        _full(b"hdlr", b"\0\0\0\0mdta" + bytes(13))
        + keys
        + _box(b"ilst", _box(b"\0\0\0\1", _box(b"data", bytes(8) + GPS.encode()))),
    )
    xmp = _box(
        b"uuid",
        bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
        + f"<x:xmpmeta>{AUTHOR}</x:xmpmeta>".encode(),
    )
    ftyp = _box(b"ftyp", brand + b"\0\0\2\0isomiso2mp41")
    video_sample = b"\x11" * 64
    meta_sample = f"GPS {GPS} {DEVICE}".encode()

    def build(offset: int) -> bytes:
        mvhd = _full(
            b"mvhd", struct.pack(">IIII", 3_800_000_000, 3_800_000_001, 1000, 1000) + bytes(80)
        )
        video = _trak(b"vide", 1, offset, len(video_sample), _box(b"udta", xyz))
        meta = _trak(b"meta", 2, offset + len(video_sample), len(meta_sample), b"")
        return _box(b"moov", mvhd + video + meta + _box(b"udta", xyz + mak + itunes) + apple)

    moov = build(0)
    offset = len(ftyp) + len(moov) + len(xmp) + 8
    moov = build(offset)
    return ftyp + moov + xmp + _box(b"mdat", video_sample + meta_sample)


def mp3_with_id3() -> bytes:
    """A few silent MPEG-1 Layer III frames with ID3v2 (artist, comment) and ID3v1 tags."""
    frame = b"\xff\xfb\x90\x64" + bytes(413)  # 128 kbit/s, 44.1 kHz: 417 bytes a frame
    audio = io.BytesIO(frame * 20)
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TPE1(encoding=3, text=[AUTHOR]))
    tags.add(mutagen.id3.TSSE(encoding=3, text=[DEVICE]))
    tags.add(mutagen.id3.COMM(encoding=3, lang="eng", desc="", text=[GPS]))
    tags.save(audio, v1=2)
    return audio.getvalue()


def ogg_opus_with_comments(
    comments: tuple[str, ...] = (f"ARTIST={AUTHOR}", f"LOCATION={GPS}", f"ENCODER={DEVICE}"),
    audio: bytes = b"\xfc" + bytes(40),
) -> bytes:
    """An Ogg Opus voice note: header pages with comments (artist, location), one audio page."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 6) + b"vendor" + struct.pack("<I", len(comments))
    tags += b"".join(struct.pack("<I", len(c.encode())) + c.encode() for c in comments)
    pages = []
    for sequence, (packet, position, flags) in enumerate(
        [(head, 0, 0x02), (tags, 0, 0), (audio, 960, 0x04)]
    ):
        page = mutagen.ogg.OggPage()
        page.serial, page.sequence, page.position = 0x1234, sequence, position
        page.first, page.last = bool(flags & 0x02), bool(flags & 0x04)
        page.packets = [packet]
        pages.append(page.write())
    return b"".join(pages)


def wav_with_info() -> bytes:
    """A short 8 kHz WAV (as Twilio records) with a LIST/INFO chunk naming the artist."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    plain = out.getvalue()
    info = b"INFO" + b"IART" + struct.pack("<I", len(AUTHOR) + 1) + AUTHOR.encode() + b"\0"
    if len(info) % 2:
        info += b"\0"
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = plain[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one empty compressed row of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00"))
        + _png_chunk(b"IEND", b"")
    )
