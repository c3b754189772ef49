"""Fetching a reporter's media from the provider that holds it, in the worker.

A channel registers one fetcher per provider (`register_fetcher`): given a
media reference's URL it returns the bytes (with the account's credentials
where the provider wants them). The job checks size and type, strips image
metadata, stores the file encrypted as an attachment of the case, and when
the case has no download left it releases the case's forwarding. A provider
that keeps its own copy of each file (Twilio's call recordings) also names
that copy (`copy_id`): its deletion is planned (gateway.cleanup) in the
transaction that stores the file, so the provider's copy goes only once
the gateway's exists.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update

from . import cleanup, work
from .config import Settings
from .media import UnsupportedMedia, checked_type, strip_metadata
from .models import Attachment, Case, MediaDownload, OutboxEntry, WorkState, utcnow
from .runtime import Gateway, current

log = logging.getLogger(__name__)

# (settings, url, size limit in bytes) -> the file's bytes
Fetcher = Callable[[Settings, str, int], bytes]
_fetchers: dict[str, Fetcher] = {}
# url -> the provider's id of its copy of the file, to delete once stored
_copy_ids: dict[str, Callable[[str], str | None]] = {}
MAX_ATTEMPTS = 6


class MediaTooLarge(Exception):
    """The provider's file is over the size limit: given up, not retried."""


def register_fetcher(
    provider: str, fetcher: Fetcher, copy_id: Callable[[str], str | None] | None = None
) -> None:
    """Fetch `provider`'s media with `fetcher`; delete its copy (`copy_id`) once stored."""
    _fetchers[provider] = fetcher
    if copy_id is not None:
        _copy_ids[provider] = copy_id


def enqueue(gw: Gateway, download_id: int) -> None:
    work.enqueue(gw, "media", fetch_media, "media", download_id)


def fetch_media(download_id: int) -> str:
    """RQ job: fetch one media file and store it encrypted with the case's report."""
    gw = current()
    with gw.sessions() as session, session.begin():
        if not work.claim(
            session, MediaDownload, download_id, gw.settings.job_lease_seconds, due=True
        ):
            return "skipped"
        download = session.get(MediaDownload, download_id)
        assert download is not None
        provider, url = download.provider, gw.cipher.decrypt(download.url_enc).decode()
        attempt = download.attempts
    data, error, final = None, None, False
    try:
        fetcher = _fetchers.get(provider)
        if fetcher is None:
            raise LookupError(f"no media fetcher for provider {provider!r}")
        data = fetcher(gw.settings, url, gw.settings.max_upload_bytes)
        if len(data) > gw.settings.max_upload_bytes:
            raise MediaTooLarge()
        content_type = checked_type(data)
        data = strip_metadata(content_type, data)
    except (MediaTooLarge, UnsupportedMedia, LookupError) as exc:
        error, final = type(exc).__name__, True
    except Exception as exc:  # noqa: BLE001 - provider away: retried
        error = type(exc).__name__
    case_id, released, cleanup_id = None, False, None
    with gw.sessions() as session, session.begin():
        download = session.get(MediaDownload, download_id)
        assert download is not None
        case_id = download.case_id
        download.locked_until = None
        download.last_error = error
        if error is None and data is not None:
            case = session.get(Case, download.case_id)
            assert case is not None
            attachment = Attachment(
                report_id=case.report.id,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data_enc=gw.cipher.encrypt(data),
            )
            session.add(attachment)
            session.flush()
            download.attachment_id = attachment.id
            download.state = WorkState.DONE.value
            copy_of = _copy_ids.get(provider)
            copy = copy_of(url) if copy_of else None
            if copy:
                cleanup_id = cleanup.schedule(session, provider, copy)
        elif final or attempt >= MAX_ATTEMPTS:
            download.state = WorkState.DEAD.value
        else:
            download.next_attempt_at = utcnow() + timedelta(seconds=30 * 2**attempt)
        if download.state != WorkState.PENDING.value:
            released = release_forwarding(session, download.case_id)
    if released:
        from .cases import enqueue_forwarding

        enqueue_forwarding(gw, case_id)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
    log.info("media %s attempt %s: %s", download_id, attempt, error or "stored")
    return "stored" if error is None else "failed"


def release_forwarding(session, case_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Let the case's forwarding go once no download of it is pending."""
    pending = session.scalar(
        select(func.count())
        .select_from(MediaDownload)
        .where(MediaDownload.case_id == case_id, MediaDownload.state == WorkState.PENDING.value)
    )
    if pending:
        return False
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.case_id == case_id, OutboxEntry.state == "waiting")
        .values(state=WorkState.PENDING.value, next_attempt_at=utcnow())
    )
    return True
