"""The hotline's prompts recorded by a person and uploaded in the console, kept in the database.

Twilio has no voice for Sango, Lingala or Swahili: a recording made by a
speaker of the language is what makes the hotline usable there, and an
administrator must be able to add one without a developer or a deploy. A
recording uploaded here is played at once, before a packaged file under
`i18n/audio/` and before text-to-speech (channels/hotline_ivr/prompts.py).

Only WAV and MP3 are taken, told by their first bytes (never the file's
name), up to `MAX_BYTES`, with their metadata removed by the media
cleaners (a WAV's `LIST`/`bext` chunks, an MP3's ID3 tags can name the
person who recorded it, or their computer). The rows are not encrypted:
they hold the gateway's own public words, which `/ivr/audio/...` serves
to anyone. Every upload and deletion is in the audit trail.

The hotline asks for the recordings of a language at every step of every
call. `recorded` keeps them (without their bytes) in memory, keyed by a
version that every change sets anew in Redis: a step costs one Redis GET,
and a new recording is played by the next step of every web process. If
Redis is unreachable the list is read from the database; if the version
could not be changed after an upload, another process notices within
`CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redis.exceptions import RedisError
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from gateway.cases import audit, media
from gateway.core.db import make_engine
from gateway.core.models import VoicePrompt
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow

log = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024  # a prompt of a minute in 8 kHz 16-bit WAV is under 1 MiB
EXTENSIONS = {"audio/wav": ".wav", "audio/mpeg": ".mp3"}
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z0-9]+)?$")
NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")
VERSION_KEY = "complaint-gateway:voice-prompts:version"
CACHE_SECONDS = 30.0
# After Redis failed, it is not asked again for this long (the client retries for seconds).
REDIS_PAUSE_SECONDS = 15.0


class PromptRefused(ValueError):
    """An upload that is not kept: `status` is the HTTP answer (400 not audio, 413 too big)."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class StoredPrompt:
    """What is known of an uploaded recording without its bytes."""

    locale: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]

    @property
    def version(self) -> str:
        """Put in the recording's URL, so that a new upload is a new URL to every cache."""
        return self.sha256[:12]


Index = Mapping[str, Mapping[str, StoredPrompt]]  # locale -> prompt id -> recording


def valid_key(locale: str, name: str) -> bool:
    return bool(LOCALE_PATTERN.match(locale) and NAME_PATTERN.match(name))


def checked_audio(data: bytes) -> tuple[str, bytes]:
    """(content type, the bytes without metadata) of a WAV or MP3; PromptRefused otherwise."""
    if len(data) > MAX_BYTES:
        raise PromptRefused("too big", 413)
    kind = media.sniff(data)
    if kind not in EXTENSIONS:
        raise PromptRefused("not WAV or MP3", 400)
    try:
        cleaned = media.strip_metadata(kind, data)
    except media.UnsupportedMedia:
        raise PromptRefused("unreadable audio", 400) from None
    if kind == "audio/wav" and b"data" not in cleaned[12:]:
        raise PromptRefused("WAV without sound", 400)
    return kind, cleaned


def _stored(row: VoicePrompt) -> StoredPrompt:
    return StoredPrompt(
        locale=row.locale,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )


def put(gw: Gateway, locale: str, name: str, data: bytes, actor: str) -> StoredPrompt:
    """Keep `data` as the recording of prompt `name` in `locale`, replacing an earlier one.

    Raises:
        PromptRefused: not WAV or MP3, unreadable, or over MAX_BYTES (nothing changed).
        ValueError: a locale or prompt id that cannot be one.
    """
    if not valid_key(locale, name):
        raise ValueError("not a prompt")
    kind, cleaned = checked_audio(data)
    digest = hashlib.sha256(cleaned).hexdigest()
    with gw.sessions() as db, db.begin():
        row = db.scalars(
            select(VoicePrompt).where(VoicePrompt.locale == locale, VoicePrompt.name == name)
        ).first()
        if row is None:
            row = VoicePrompt(locale=locale, name=name)
            db.add(row)
        row.content_type, row.data, row.size, row.sha256 = kind, cleaned, len(cleaned), digest
        row.uploaded_by, row.uploaded_at = actor, utcnow()
        audit.record(db, actor, "voice_prompt.upload", f"{locale}/{name}", {"sha256": digest[:12]})
        db.flush()
        stored = _stored(row)
    _changed(gw)
    return stored


def delete(gw: Gateway, locale: str, name: str, actor: str) -> bool:
    """Remove an uploaded recording (the hotline falls back to the file, then to speech)."""
    with gw.sessions() as db, db.begin():
        gone = db.execute(
            sql_delete(VoicePrompt).where(VoicePrompt.locale == locale, VoicePrompt.name == name)
        ).rowcount
        if gone:
            audit.record(db, actor, "voice_prompt.delete", f"{locale}/{name}")
    if gone:
        _changed(gw)
    return bool(gone)


def get(gw: Gateway, locale: str, name: str) -> tuple[StoredPrompt, bytes] | None:
    """A recording and its bytes, or None."""
    if not valid_key(locale, name):
        return None
    with gw.sessions() as db:
        row = db.scalars(
            select(VoicePrompt).where(VoicePrompt.locale == locale, VoicePrompt.name == name)
        ).first()
        return None if row is None else (_stored(row), row.data)


def listing(gw: Gateway) -> dict[str, dict[str, StoredPrompt]]:
    """Every uploaded recording, without its bytes, by locale and prompt id."""
    with gw.sessions() as db:
        return _index(db.scalars(select(VoicePrompt)))


def _index(rows: Iterable[VoicePrompt]) -> dict[str, dict[str, StoredPrompt]]:
    index: dict[str, dict[str, StoredPrompt]] = {}
    for row in rows:
        index.setdefault(row.locale, {})[row.name] = _stored(row)
    return index


_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, Index]] = {}
_redis_failed_at: dict[str, float] = {}  # Redis URL -> when it last failed


def _changed(gw: Gateway) -> None:
    """A new version for every process: their next look-up reads the database again."""
    with _lock:
        _cache.clear()
    try:
        gw.redis.set(VERSION_KEY, secrets.token_hex(8))
    except RedisError as exc:
        log.warning("voice prompts: version not changed in Redis (%s)", type(exc).__name__)


def _version(gw: Gateway) -> str | None:
    """The current version; a fresh one when Redis has none (after a flush), None without Redis."""
    where = gw.settings.redis_url or str(gw.settings.data_dir)  # else the embedded one
    if time.monotonic() - _redis_failed_at.get(where, -REDIS_PAUSE_SECONDS) < REDIS_PAUSE_SECONDS:
        return None
    try:
        value = gw.redis.get(VERSION_KEY)
        if value is None:
            gw.redis.set(VERSION_KEY, secrets.token_hex(8), nx=True)
            value = gw.redis.get(VERSION_KEY)
    except RedisError as exc:
        log.warning("voice prompts: Redis not reachable (%s)", type(exc).__name__)
        _redis_failed_at[where] = time.monotonic()
        return None
    return value.decode() if isinstance(value, bytes) else value


def recorded(gw: Gateway) -> Index:
    """Every uploaded recording (no bytes), as the hotline plays them; {} if unreadable.

    An empty answer makes the hotline play its files or speak: a caller
    never waits on, or loses a call to, a database that does not answer.
    """
    version = _version(gw)
    key = (gw.settings.database_url, version or "")
    now = time.monotonic()
    if version is not None:
        with _lock:
            hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    try:
        index = listing(gw)
    except SQLAlchemyError as exc:
        log.error("voice prompts: not readable (%s)", type(exc).__name__)
        return {}
    if version is not None:
        with _lock:
            _cache.clear()  # one entry: the newest version
            _cache[key] = (now, index)
    return index


def recorded_in(database_url: str) -> dict[str, set[str]] | None:
    """Prompt ids uploaded per locale, for `ivr prompts check` (no keys, no Redis).

    None when the database cannot be read (not created yet, not migrated):
    the check then counts the files alone, and says so.
    """
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if not path or not Path(path).is_file():
            return None
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(VoicePrompt.locale, VoicePrompt.name)).all()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    names: dict[str, set[str]] = {}
    for locale, name in rows:
        names.setdefault(locale, set()).add(name)
    return names
