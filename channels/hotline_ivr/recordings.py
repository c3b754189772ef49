"""The recorded statements at Twilio: fetched by the worker, then deleted there.

- Recording resource (fetch and delete):
  https://www.twilio.com/docs/voice/api/recording
- `<Record>` and its RecordingUrl: https://www.twilio.com/docs/voice/twiml/record

Twilio keeps every recording until it is told to delete it. The order is:
the worker fetches the file (GET RecordingUrl with the account's
credentials; without an extension Twilio serves WAV), stores it encrypted
as the case's attachment, and in the same transaction plans the deletion
of Twilio's copy (gateway.work.cleanup, through the `media_copy_id` of
the channel's `Provider`); the cleanup job then sends DELETE and retries until
Twilio confirms. So Twilio's copy goes only once the gateway's copy exists.
A statement the caller chose to record again is planned for deletion at
once.

The call's own record (who called, when, for how long) is deleted too,
once the call has ended (DELETE …/Calls/{CallSid}.json,
https://www.twilio.com/docs/voice/api/call-resource#delete-a-call-resource):
a few minutes later, since Twilio refuses to delete a call it has not
finished with (error 20009), and never while a recording is still to be
fetched, so no deletion can take a statement with it.

Credentials are sent only to the origin of TWILIO_API_BASE_URL (default
https://api.twilio.com), and Twilio's redirect to the file is followed
without them (gateway.core.provider_fetch): a RecordingUrl elsewhere is refused
for good.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from channels.twilio_account import account, api_origin
from gateway.core import tls
from gateway.core.config import Settings
from gateway.core.models import MediaDownload
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.work import cleanup

log = logging.getLogger(__name__)

PROVIDER = "twilio-voice"
CALL_PROVIDER = "twilio-voice-call"  # the cleanup of call records
CALL_RECORD_DELAY = timedelta(minutes=5)
HTTP_TIMEOUT = 30.0
CONTENT_TYPE_HINT = "audio/wav"
_RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
NOT_YET_DELETABLE = 20009


def recording_sid(url: str) -> str | None:
    """The RecordingSid at the end of a RecordingUrl (`…/Recordings/RE…[.wav]`)."""
    try:
        last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    except ValueError:  # not a URL at all (`http://[`)
        return None
    sid = last.split(".", 1)[0]
    return sid if _RECORDING_SID.match(sid) else None


def fetch_recording(settings: Settings, url: str, limit: int) -> bytes:
    """The statement's audio (media_fetch's fetcher for provider "twilio-voice").

    Raises:
        ForeignMediaUrl: the URL is not at TWILIO_API_BASE_URL's origin (never fetched).
        httpx.HTTPError: Twilio away, or the recording not ready yet; retried.
    """
    return api_origin(settings).fetch(url, limit)


def _delete(settings: Settings, resource: str) -> bool:
    """DELETE one resource of the account; True once gone (404 too), False to try later."""
    account_url, auth = account(settings)
    response = httpx.delete(
        f"{account_url}/{resource}.json", auth=auth, timeout=HTTP_TIMEOUT, verify=tls.context()
    )
    if response.status_code in (200, 204, 404):
        return True
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    if code == NOT_YET_DELETABLE or response.status_code >= 500:
        return False
    if response.status_code in (408, 409, 429):
        return False
    response.raise_for_status()
    return False


def delete_recording(settings: Settings, sid: str) -> bool:
    """The cleaner of provider "twilio-voice": delete Twilio's copy of a statement."""
    if not _RECORDING_SID.match(sid):
        return True  # nothing Twilio could hold under that name
    return _delete(settings, f"Recordings/{sid}")


def _recordings_pending() -> bool:
    gw = current()
    with gw.sessions() as session:
        return bool(
            session.scalar(
                select(func.count())
                .select_from(MediaDownload)
                .where(
                    MediaDownload.provider == PROVIDER,
                    MediaDownload.state == WorkState.PENDING.value,
                )
            )
        )


def delete_call(settings: Settings, call_sid: str) -> bool:
    """The cleaner of "twilio-voice-call": delete a finished call's record (it names the caller)."""
    if not _CALL_SID.match(call_sid):
        return True
    if _recordings_pending():
        return False  # a recording still to fetch: its call stays until it is stored
    return _delete(settings, f"Calls/{call_sid}")


def forget_call(gw: Gateway, call_sid: str) -> None:
    """Plan the deletion of a finished call's record at Twilio."""
    if not _CALL_SID.match(call_sid):
        return
    try:
        with gw.sessions() as session, session.begin():
            cleanup_id = cleanup.schedule(session, CALL_PROVIDER, call_sid, delay=CALL_RECORD_DELAY)
    except Exception as exc:  # noqa: BLE001 - docs list call records as a residual risk
        log.error("ivr: deletion of a call record not planned: %s", type(exc).__name__)
        return
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id, at=utcnow() + CALL_RECORD_DELAY)


def discard(gw: Gateway, recording_url: str) -> None:
    """Plan the deletion of a recording the caller did not keep."""
    sid = recording_sid(recording_url)
    if sid is None:
        return
    try:
        with gw.sessions() as session, session.begin():
            cleanup_id = cleanup.schedule(session, PROVIDER, sid)
    except Exception as exc:  # noqa: BLE001 - the call goes on; docs list the residual copy
        log.error("ivr: deletion of a discarded recording not planned: %s", type(exc).__name__)
        return
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
