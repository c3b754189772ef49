"""Keeping reporters unexposed: pseudonyms, encryption at rest, clean logs.

- A sender is known only by a pseudonym: HMAC-SHA256(GATEWAY_PSEUDONYM_KEY,
  channel + ":" + normalised address). Phone numbers are normalised to E.164
  with `phonenumbers` so `+243 81 …` and `0081…` give one pseudonym.
- Report content, attachments and reply addresses are encrypted with
  AES-256-GCM (`Cipher`): GATEWAY_DATA_KEY holds one or more keys separated
  by commas, the first encrypts, all decrypt, so a key can be rotated
  (docs/deployment.md).
- `RedactingFilter` is the safety net on every log handler: it masks phone
  numbers, long digit runs (chat ids) and IP addresses in any log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import threading
from typing import Any

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# A token is url-safe base64 of: this version byte, a random 96-bit nonce, the AES-256-GCM
# ciphertext and its tag; the version byte is authenticated with it. Fernet's tokens start
# with 0x80: those written before 2026-12-05 are still read, and `keys rotate` rewrites them.
TOKEN_VERSION = b"\x81"
NONCE_BYTES = 12
_HKDF_INFO = b"complaint-gateway GATEWAY_DATA_KEY: AES-256-GCM v1"


def _aes_key(key: str) -> AESGCM:
    """The AES-256 key of one GATEWAY_DATA_KEY entry (a Fernet key), derived by HKDF-SHA256.

    Derived rather than the key's bytes used as they are, so the same secret never
    keys two algorithms (Fernet splits it into an HMAC and an AES-128 key).
    """
    secret = base64.urlsafe_b64decode(key.strip().encode())
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return AESGCM(hkdf.derive(secret))


class Cipher:
    """Authenticated encryption of bytes and JSON with rotatable keys.

    AES-GCM in one call of the cryptography library: the webhook encrypts each
    message before its 200, and Fernet (AES-CBC, HMAC, padding and a timestamp,
    each a Python step) cost a dozen times as much (bench/README.md, webhook).
    """

    def __init__(self, keys: str) -> None:
        entries = [k.strip() for k in keys.split(",")]
        self._aeads = [_aes_key(k) for k in entries]
        self._current = self._aeads[0]
        self._fernet = MultiFernet([Fernet(k.encode()) for k in entries])  # to read old tokens

    def encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, data, TOKEN_VERSION)
        return base64.urlsafe_b64encode(TOKEN_VERSION + nonce + sealed)

    def decrypt(self, token: bytes) -> bytes:
        """The plain bytes; InvalidToken when no key opens it or it is not a token."""
        token = bytes(token)
        try:
            raw = base64.urlsafe_b64decode(token)
        except (binascii.Error, ValueError):
            raise InvalidToken from None
        if raw[:1] != TOKEN_VERSION:
            return self._fernet.decrypt(token)
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        if len(nonce) != NONCE_BYTES:
            raise InvalidToken
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, sealed, TOKEN_VERSION)
            except InvalidTag:
                continue
        raise InvalidToken

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":")).encode())

    def decrypt_json(self, token: bytes | None) -> Any:
        if token is None:
            return None
        return json.loads(self.decrypt(token))

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the first (current) key, in the current format."""
        return self.encrypt(self.decrypt(token))


__all__ = [
    "Cipher",
    "InvalidToken",
    "Pseudonymizer",
    "RedactingFilter",
    "normalise_address",
]


# The last E.164 number this thread produced: normalising it again gives it back, so the
# webhook path (the adapter normalises, then the pseudonym does) parses a number once.
_last_normalised = threading.local()


def normalise_address(address: str, default_region: str | None = None) -> str:
    """E.164 for anything that parses as a phone number; else the stable id as given.

    Operators send from names (`MTN`) and WhatsApp from business-scoped ids;
    those are kept as given (stripped), as docs/contract.md requires.
    """
    if address == getattr(_last_normalised, "number", None):
        return address
    candidate = address.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if candidate.lower().startswith(prefix):
            candidate = candidate[len(prefix) :]
    digits = re.sub(r"[\s\-().]", "", candidate)
    if re.fullmatch(r"\+?\d{6,15}", digits):
        try:
            number = phonenumbers.parse(
                digits if digits.startswith("+") else "+" + digits, default_region
            )
            if phonenumbers.is_possible_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                _last_normalised.number = e164
                return e164
        except phonenumbers.NumberParseException:
            pass
    return candidate


class Pseudonymizer:
    """Stable, keyed, one-way names for senders."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def pseudonym(self, channel: str, address: str) -> str:
        message = f"{channel}:{normalise_address(address)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def digest(self, purpose: str, value: str) -> str:
        """A keyed hash for rate-limit and lock keys (never a clear value in Redis)."""
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


_REDACTIONS = [
    # IPv4 addresses (IPv6 is checked with the ipaddress module in redact).
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "[ip]"),
    # Phone numbers with a + and chat ids / long digit runs (7 or more digits).
    (re.compile(r"(?:whatsapp:)?\+\d[\d\s\-]{5,}\d"), "[phone]"),
    (re.compile(r"(?<![\w-])\d{7,}(?![\w-])"), "[number]"),
]


_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def _ipv6(match: re.Match[str]) -> str:
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)  # a time of day or another colon-separated value
    return "[ip]"


def redact(text: str) -> str:
    """Mask IP addresses, phone numbers and long digit runs (chat ids) in `text`."""
    text = _IPV6_CANDIDATE.sub(_ipv6, text)
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks phone numbers, chat ids and IP addresses in every record it sees.

    The code never logs content on purpose; this catches what slips through
    (a library's error message quoting a URL or a number).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


# HTTP clients that log whole request URLs at INFO and DEBUG: Kannel's sendsms URL carries
# the password, the reporter's number and the text; Telegram's carries the bot token.
URL_LOGGERS = ("httpx", "httpcore")


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of the root logger (and the given one).

    Also raises the HTTP clients' loggers to WARNING, whatever the root's
    level: a percent-encoded number in a URL escapes the redaction patterns.
    """
    for name in URL_LOGGERS:
        quiet = logging.getLogger(name)
        if quiet.level < logging.WARNING:  # NOTSET (0) would follow the root's level
            quiet.setLevel(logging.WARNING)
    targets = [logging.getLogger(), *([logger] if logger else [])]
    for target in targets:
        for handler in target.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
