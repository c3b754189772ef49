"""Fetching a reporter's media from the provider that holds it, in the worker.

A provider declares its fetcher (`gateway.core.providers`): given a
media reference's URL it returns the bytes (with the account's credentials
where the provider wants them). A file the reporter gave the gateway itself
(the web form) waits in the row instead, encrypted (`data_enc`, provider
`gateway.cases.media.UPLOADED`). The job checks size, type and a picture's pixel
count, strips the metadata of every type (`gateway.cases.cleaners`), stores the
file encrypted as an attachment of the case, empties `data_enc`, and when
the case has no download left it releases the case's forwarding. A provider
that keeps its own copy of each file (Twilio's call recordings) also names
that copy (`media_copy_id`): its deletion is planned (gateway.work.cleanup) in the
transaction that stores the file, so the provider's copy goes only once
the gateway's exists.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from gateway.cases.cleaners import MAX_PIXELS
from gateway.cases.filing import add_event
from gateway.cases.forwarding_state import release_forwarding
from gateway.cases.media import UnsupportedMedia, checked_type, strip_metadata
from gateway.core.models import Attachment, Case, MediaDownload
from gateway.core.provider_fetch import MediaTooLarge
from gateway.core.providers import installed
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, WorkState
from gateway.work import claims, cleanup
from gateway.work.forwarding import enqueue_case_outbox

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


class GaveUp(Exception):
    """More attempts were started than MAX_ATTEMPTS without one coming back: not tried again."""


# Why a file was not kept, as the console's note on the case says it.
REFUSAL_REASONS = {
    "ImageTooLarge": f"a picture larger than {MAX_PIXELS // 1_000_000} megapixels",
    "UnsupportedMedia": "not a type the gateway takes, or its metadata cannot be removed",
    "MediaTooLarge": "larger than the size limit",
}


def enqueue(gw: Gateway, download_id: int) -> None:
    claims.enqueue(gw, "media", fetch_media, "media", download_id)


def fetch_media(download_id: int) -> str:
    """RQ job: fetch one media file and store it encrypted with the case's report."""
    gw = current()
    with gw.sessions() as session, session.begin():
        if not claims.claim(
            session, MediaDownload, download_id, gw.settings.job_lease_seconds, due=True
        ):
            return "skipped"
        download = session.get(MediaDownload, download_id)
        assert download is not None
        provider, url = download.provider, gw.cipher.decrypt(download.url_enc).decode()
        uploaded = download.data_enc
        attempt = download.attempts
    data, error, final = None, None, False
    try:
        if attempt > MAX_ATTEMPTS:  # earlier attempts never came back: a worker killed mid-file
            raise GaveUp()
        if uploaded is not None:
            data = gw.cipher.decrypt(uploaded)
        else:
            fetcher = installed().media_fetcher(provider)
            if fetcher is None:
                raise LookupError(f"no media fetcher for provider {provider!r}")
            data = fetcher(gw.settings, url, gw.settings.max_upload_bytes)
        if len(data) > gw.settings.max_upload_bytes:
            raise MediaTooLarge()
    except (MediaTooLarge, GaveUp, LookupError) as exc:
        error, final = type(exc).__name__, True
    except Exception as exc:  # noqa: BLE001 - provider away: retried
        error = type(exc).__name__
    if error is None and data is not None:
        content_type, data, error = _cleaned(data)
        final = error is not None
    case_id, released, cleanup_id = 0, False, None
    with gw.sessions() as session, session.begin():
        download = session.get(MediaDownload, download_id)
        assert download is not None
        case_id = download.case_id
        # The case locked first, as an erasure (gateway/cases/erasure.py) does: it
        # either sees this file and deletes it, or has purged the case and we drop it.
        case = session.get(Case, case_id, with_for_update=True)
        assert case is not None
        purged = case.content_purged_at is not None
        if purged:
            error, data, final = "purged", None, True
        download.locked_until = None
        download.last_error = error
        if error is None and data is not None:
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
            download.data_enc = None
            copy_of = installed().media_copy_id(provider)
            copy = copy_of(url) if copy_of else None
            if copy:
                cleanup_id = cleanup.schedule(session, provider, copy)
        elif final or attempt >= MAX_ATTEMPTS:
            download.state = WorkState.DEAD.value
            download.data_enc = None
            if not purged:
                add_refusal_note(session, gw, download.case_id, error or GaveUp.__name__)
        else:
            download.next_attempt_at = utcnow() + timedelta(seconds=30 * 2**attempt)
        if download.state != WorkState.PENDING.value:
            released = release_forwarding(session, download.case_id)
    if released:  # no download of the case is pending: its forwarding goes now
        enqueue_case_outbox(gw, case_id)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
    log.info("media %s attempt %s: %s", download_id, attempt, error or "stored")
    return "stored" if error is None else "failed"


def _cleaned(data: bytes) -> tuple[str, bytes, str | None]:
    """(type, clean bytes, None), or ("", b"", the error's name) for a file not kept.

    Cleaning is never retried: the same bytes fail the same way. Any error
    of a decoder counts as a refusal, so a hostile file cannot make the job
    fail again and again.
    """
    try:
        # strip_metadata applies the pixel cap from the header before it decodes anything
        content_type = checked_type(data)
        return content_type, strip_metadata(content_type, data), None
    except UnsupportedMedia as exc:
        return "", b"", type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - a decoder's bug on hostile input: refused
        log.warning("media cleaning failed: %s", type(exc).__name__)
        return "", b"", "UnsupportedMedia"


def add_refusal_note(session: Session, gw: Gateway, case_id: int, error: str) -> None:
    """Note on the case that a file sent with it was not kept, and why."""
    reason = REFUSAL_REASONS.get(error, "it could not be fetched from the provider")
    case = session.get(Case, case_id)
    assert case is not None
    text = f"A file sent with this report was not kept: {reason} ({error})."
    add_event(session, gw, case, CaseEventKind.NOTE, "gateway", body=text)
