"""Sound recordings: ID3 and APE tags (MP3), Vorbis comments (Ogg), WAV info chunks removed.

- MP3: ID3v1, ID3v2 and APEv2 tags removed with mutagen; a file in which
  mutagen finds no MPEG audio frame is refused.
- Ogg (a WhatsApp or Telegram voice note is Ogg Opus): the comment packet
  is emptied with mutagen (Vorbis, Opus, Speex, FLAC, Theora). A chained
  Ogg file (several streams, each with its own comments) is refused:
  mutagen cleans only the first.
- WAV (the hotline's recordings from Twilio carry none, but a WAV may):
  only the `fmt `, `fact` and `data` chunks are kept; `LIST`/`INFO`,
  `bext` (originator, date), `iXML`, `id3 ` and the rest go.
- AMR has no place for metadata: kept as it is.
- M4A is an MP4 file: `gateway.cases.cleaners.mp4`.

mutagen: https://mutagen.readthedocs.io/en/latest/
"""

from __future__ import annotations

import io
import struct

import mutagen
import mutagen.apev2
import mutagen.id3
import mutagen.mp3
import mutagen.ogg

from gateway.cases.cleaners import CannotClean

__all__ = ["clean_mp3", "clean_ogg", "clean_wav"]

_WAV_KEPT = {b"fmt ", b"fact", b"data"}
_OGG_HEADERS = (b"OpusHead", b"\x01vorbis", b"Speex   ", b"\x7fFLAC", b"\x80theora")


def clean_mp3(data: bytes) -> bytes:
    """The MP3 without ID3v1, ID3v2 or APEv2 tags."""
    stream = io.BytesIO(data)
    try:
        mutagen.mp3.MP3(stream)  # refuses a file with no MPEG frame
        stream.seek(0)
        mutagen.id3.delete(stream, delete_v1=True, delete_v2=True)
        stream.seek(0)
        mutagen.apev2.delete(stream)
    except Exception as exc:  # noqa: BLE001 - mutagen's errors on hostile input vary
        raise CannotClean("mp3") from exc
    return stream.getvalue()


def clean_ogg(data: bytes) -> bytes:
    """The Ogg file with an empty comment packet (the encoder's name stays)."""
    if sum(data.count(marker) for marker in _OGG_HEADERS) > 1:
        raise CannotClean("chained ogg")
    stream = io.BytesIO(data)
    try:
        audio = mutagen.File(stream)
        if not isinstance(audio, mutagen.ogg.OggFileType):
            raise CannotClean("ogg not understood")
        stream.seek(0)
        audio.delete(stream)
    except CannotClean:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CannotClean("ogg") from exc
    return stream.getvalue()


def clean_wav(data: bytes) -> bytes:
    """The WAV with only its format, fact and sound chunks."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise CannotClean("not a WAV")
    kept, pos, formats = bytearray(), 12, 0
    while pos + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, pos)
        end = pos + 8 + size
        if end > len(data):
            if kind != b"data":
                raise CannotClean("WAV chunk overruns the file")
            end = len(data)  # a recording cut short (or streamed with an unknown size)
            size = end - pos - 8
        if kind in _WAV_KEPT:
            kept += struct.pack("<4sI", kind, size) + data[pos + 8 : end]
            if size % 2:
                kept += b"\x00"
        formats += kind == b"fmt "
        pos = end + (size % 2)
    if formats != 1:
        raise CannotClean("WAV without one format chunk")
    return b"RIFF" + struct.pack("<I", 4 + len(kept)) + b"WAVE" + bytes(kept)
