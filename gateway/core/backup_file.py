"""The sealed backup file: a byte stream encrypted under a key derived from a passphrase.

A backup holds the keys beside the database they open, so the passphrase is
all that protects it. The key comes from the passphrase by scrypt with a
random salt (parameters in the header, so they can grow later); the stream
is cut into chunks, each sealed with AES-256-GCM. Every chunk's nonce holds
its position and whether it is the last, and every chunk authenticates the
header: a changed byte anywhere, chunks swapped, cut off or appended, or a
wrong passphrase, all fail the same way (`BackupDecryptError`), and nothing
read before the failure may be trusted (the reader of a backup stages it
until the end has been verified).

Layout: MAGIC, one line of JSON (the header), then for each chunk a 4-byte
big-endian length and the sealed chunk.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"complaint-gateway backup\n"
VERSION = 1
CHUNK = 1024 * 1024
SCRYPT = {"n": 2**17, "r": 8, "p": 1}  # 128 MiB and half a second per derivation
MAX_SCRYPT = {"n": 2**18, "r": 8, "p": 4}  # a header asking more is refused unread
MIN_PASSPHRASE = 12
_TAG = 16
_LENGTH = struct.Struct(">I")


class BackupError(Exception):
    """A backup cannot be made or read; the message is one line for the administrator."""


class BackupDecryptError(BackupError):
    """Wrong passphrase, or the file was changed: the two cannot be told apart."""


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must be at least {MIN_PASSPHRASE} characters long")


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class SealedWriter:
    """A write-only stream that seals what is written into `out` (tarfile writes into it)."""

    def __init__(self, out: BinaryIO, passphrase: str) -> None:
        check_passphrase(passphrase)
        salt, self._prefix = os.urandom(16), os.urandom(7)
        header = {
            "version": VERSION,
            "kdf": "scrypt",
            **SCRYPT,
            "salt": base64.b64encode(salt).decode(),
            "cipher": "AES-256-GCM",
            "chunk": CHUNK,
            "nonce": base64.b64encode(self._prefix).decode(),
        }
        self._aad = MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
        self._aead = AESGCM(_key(passphrase, salt, **SCRYPT))
        self._out, self._buffer, self._index = out, bytearray(), 0
        out.write(self._aad)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep one chunk back: the last must be marked
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        """Seal the last chunk (possibly empty); nothing may be written after."""
        self._seal(bytes(self._buffer), last=True)
        self._buffer = bytearray()

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._aad)
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


def _header(source: BinaryIO) -> tuple[bytes, dict[str, object]]:
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("this is not a complaint-gateway backup file")
    line = source.readline(4096)
    try:
        header = json.loads(line)
        ok = (
            header["version"] == VERSION
            and header["kdf"] == "scrypt"
            and header["cipher"] == "AES-256-GCM"
            and all(0 < int(header[k]) <= MAX_SCRYPT[k] for k in MAX_SCRYPT)
            and int(header["n"]) & (int(header["n"]) - 1) == 0
            and 0 < int(header["chunk"]) <= 16 * CHUNK
            and len(base64.b64decode(header["salt"])) == 16
            and len(base64.b64decode(header["nonce"])) == 7
        )
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise BackupError("the backup's header is damaged or of an unknown version")
    return magic + line, header


class SealedReader:
    """A read-only stream of what a `SealedWriter` sealed; raises on the first bad chunk."""

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        self._aad, header = _header(source)
        salt = base64.b64decode(str(header["salt"]))
        n, r, p = (int(header[k]) for k in ("n", "r", "p"))  # type: ignore[call-overload]
        self._aead = AESGCM(_key(passphrase, salt, n, r, p))
        self._prefix = base64.b64decode(str(header["nonce"]))
        self._limit = int(header["chunk"]) + _TAG  # type: ignore[call-overload]
        self._source, self._index, self._done = source, 0, False
        self._buffer = bytearray()
        self._next = self._read_record()

    def _read_record(self) -> bytes | None:
        raw = self._source.read(_LENGTH.size)
        if not raw:
            return None
        if len(raw) < _LENGTH.size:
            raise BackupDecryptError("cut off")
        (length,) = _LENGTH.unpack(raw)
        if not _TAG <= length <= self._limit:
            raise BackupDecryptError("bad length")
        sealed = self._source.read(length)
        if len(sealed) != length:
            raise BackupDecryptError("cut off")
        return sealed

    def _open_next(self) -> None:
        sealed = self._next
        if sealed is None:
            raise BackupDecryptError("no last chunk")
        self._next = self._read_record()
        last = self._next is None
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index, last), sealed, self._aad)
        except InvalidTag:
            raise BackupDecryptError("a chunk does not open") from None
        self._index += 1
        self._done = last
        self._buffer += plain

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._open_next()
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def finish(self) -> None:
        """Read to the end, so the last chunk's mark is verified; what is left is discarded."""
        while not self._done:
            self._open_next()
            self._buffer.clear()
