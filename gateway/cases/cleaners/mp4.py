"""MP4, MOV and M4A: metadata boxes turned into `free` boxes of the same size, by hand.

Where a phone or camera writes who, where and with what: `udta` (QuickTime
user data: `©xyz` the GPS position, `©mak`/`©mod` the device, and `meta`/
`ilst` the iTunes-style tags), `meta` (Apple's `mdta` keys, among them
`com.apple.quicktime.location.ISO6709`), `uuid` boxes (XMP, vendors' own
data), under `moov`, under each `trak` and at the top: every box that is
not on the list of those a player needs (`_KEPT`) is blanked, and `free`
boxes too (they may hold leftovers); the creation and
modification times of `mvhd`, `tkhd` and `mdhd`; and timed-metadata tracks
(handler `meta`, `camm`, subtitles and timecode: a GoPro's GPS stream, a
drone's position captions), whose samples sit in `mdat`.

Why by hand and not with mutagen: mutagen's MP4 `delete()` removes the
`ilst` tags but leaves `©xyz` in `moov/udta` where it was (tried on a file
carrying both: the title went, the position stayed), and knows nothing of
timed-metadata tracks. Turning a box into `free` of the same size with its
payload zeroed changes no offset, so the sample tables (`stco`/`co64`) that
point into `mdat` stay right and nothing has to be rewritten. A removed
track's samples in `mdat` are zeroed too, found through its `stsc`, `stsz`
and `stco`/`co64`. A file whose boxes do not add up is refused.

ISO/IEC 14496-12 (ISO base media file format); QuickTime File Format:
https://developer.apple.com/documentation/quicktime-file-format
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from gateway.cases.cleaners import CannotClean

__all__ = ["clean_mp4"]

# The boxes kept at each level, as the formats define them; every other box
# (udta, meta, uuid, a vendor's own) becomes `free`. A list of what to keep
# rather than of what to remove, so a box nobody listed cannot carry a
# position through.
_KEPT: dict[bytes, frozenset[bytes]] = {
    b"": frozenset(
        {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"moof", b"mfra", b"sidx", b"styp"}
        | {b"pdin", b"ssix", b"prft", b"emsg"}
    ),
    b"moov": frozenset({b"mvhd", b"trak", b"mvex", b"iods"}),
    b"trak": frozenset({b"tkhd", b"mdia", b"edts", b"tref", b"tapt"}),
    b"mdia": frozenset({b"mdhd", b"hdlr", b"minf", b"elng"}),
    b"minf": frozenset({b"vmhd", b"smhd", b"hmhd", b"nmhd", b"gmhd", b"dinf", b"stbl", b"hdlr"}),
}
_TIMES = {b"mvhd", b"tkhd", b"mdhd"}
# Handler types of tracks that carry data about the recording rather than the recording.
_METADATA_TRACKS = {b"meta", b"camm", b"text", b"sbtl", b"subt", b"tmcd"}
_FREE = b"free"


def clean_mp4(data: bytes) -> bytes:
    """The video or sound without metadata boxes, times or metadata tracks."""
    buf = bytearray(data)
    try:
        _walk(buf, 0, len(buf))
    except (struct.error, IndexError) as exc:
        raise CannotClean("mp4 box too short") from exc
    return bytes(buf)


def _boxes(buf: bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, start, header length, end) of each box between start and end."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise CannotClean("mp4 trailing bytes")
        size, kind = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            header = 16
        elif size == 0:  # to the end of the file
            size = end - pos
        if size < header or pos + size > end:
            raise CannotClean("mp4 box overruns its parent")
        yield kind, pos, header, pos + size
        pos += size


def _walk(buf: bytearray, start: int, end: int, parent: bytes = b"") -> None:
    kept = _KEPT[parent]
    for kind, box, header, box_end in _boxes(buf, start, end):
        if kind not in kept or kind in (b"free", b"skip"):
            _blank(buf, box, header, box_end)
        elif kind in _TIMES:
            _zero_times(buf, box + header, box_end)
        elif kind == b"trak" and _handler(buf, box + header, box_end) in _METADATA_TRACKS:
            _zero_samples(buf, box + header, box_end)
            _blank(buf, box, header, box_end)
        elif kind in _KEPT:
            _walk(buf, box + header, box_end, kind)


def _blank(buf: bytearray, box: int, header: int, end: int) -> None:
    buf[box + 4 : box + 8] = _FREE
    buf[box + header : end] = bytes(end - box - header)


def _zero_times(buf: bytearray, payload: int, end: int) -> None:
    """creation_time and modification_time: 4 bytes each in version 0, 8 in version 1."""
    width = 8 if buf[payload] == 1 else 4
    if payload + 4 + 2 * width > end:
        raise CannotClean("mp4 header box too short")
    buf[payload + 4 : payload + 4 + 2 * width] = bytes(2 * width)


def _child(buf: bytearray, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    """Payload start and end of the first child box of `kind`."""
    for found, box, header, box_end in _boxes(buf, start, end):
        if found == kind:
            return box + header, box_end
    return None


def _path(buf: bytearray, start: int, end: int, *kinds: bytes) -> tuple[int, int] | None:
    span: tuple[int, int] | None = (start, end)
    for kind in kinds:
        if span is None:
            return None
        span = _child(buf, span[0], span[1], kind)
    return span


def _handler(buf: bytearray, trak: int, end: int) -> bytes | None:
    """The track's handler type (`vide`, `soun`, `meta`…) from mdia/hdlr."""
    span = _path(buf, trak, end, b"mdia", b"hdlr")
    if span is None or span[1] - span[0] < 12:
        return None
    return bytes(buf[span[0] + 8 : span[0] + 12])


def _zero_samples(buf: bytearray, trak: int, end: int) -> None:
    """Zero the track's samples in mdat: chunk offsets, samples per chunk, sample sizes."""
    stbl = _path(buf, trak, end, b"mdia", b"minf", b"stbl")
    if stbl is None:
        return
    sizes = _sample_sizes(buf, stbl)
    per_chunk = _samples_per_chunk(buf, stbl)
    offsets = _chunk_offsets(buf, stbl)
    sample, entry, count = 0, 0, 0
    for number, offset in enumerate(offsets, start=1):
        while entry < len(per_chunk) and per_chunk[entry][0] <= number:
            count = per_chunk[entry][1]  # the last stsc entry that starts at or before this chunk
            entry += 1
        length = sum(sizes[sample : sample + count])
        sample += count
        if offset + length > len(buf):
            raise CannotClean("mp4 sample outside the file")
        buf[offset : offset + length] = bytes(length)


def _table(buf: bytearray, stbl: tuple[int, int], kind: bytes, width: int) -> tuple[int, int]:
    """(first entry's offset, entry count) of a full box table such as stco."""
    span = _child(buf, stbl[0], stbl[1], kind)
    if span is None:
        return 0, 0
    count = struct.unpack_from(">I", buf, span[0] + 4)[0]
    if span[0] + 8 + count * width > span[1]:
        raise CannotClean(f"mp4 {kind!r} table overruns its box")
    return span[0] + 8, count


def _sample_sizes(buf: bytearray, stbl: tuple[int, int]) -> list[int]:
    span = _child(buf, stbl[0], stbl[1], b"stsz")
    if span is None:
        return []
    uniform, count = struct.unpack_from(">II", buf, span[0] + 4)
    if uniform:
        if count > len(buf):
            raise CannotClean("mp4 stsz count")
        return [uniform] * count
    if span[0] + 12 + 4 * count > span[1]:
        raise CannotClean("mp4 stsz overruns its box")
    return list(struct.unpack_from(f">{count}I", buf, span[0] + 12))


def _samples_per_chunk(buf: bytearray, stbl: tuple[int, int]) -> list[tuple[int, int]]:
    first, count = _table(buf, stbl, b"stsc", 12)
    return [struct.unpack_from(">II", buf, first + 12 * i) for i in range(count)]


def _chunk_offsets(buf: bytearray, stbl: tuple[int, int]) -> list[int]:
    first, count = _table(buf, stbl, b"stco", 4)
    if count:
        return list(struct.unpack_from(f">{count}I", buf, first))
    first, count = _table(buf, stbl, b"co64", 8)
    return list(struct.unpack_from(f">{count}Q", buf, first)) if count else []
