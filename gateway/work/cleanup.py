"""Deleting the providers' copies of messages once the gateway is done with them.

A provider keeps every message it carried (Twilio keeps the body and the
media of each one) until it is told to delete it. A provider declares its
cleaner (`gateway.core.providers`): given the provider's message
id, it deletes (or at least redacts) the provider's copy and says whether
the copy is gone. The gateway decides when, and knows no provider's API:

- an inbound message: once its event is processed, and, if it carried
  media, once no open conversation and no pending download of its sender
  still needs the provider's media (deleting a Twilio message deletes its
  media too);
- a sent message: once the provider reports it delivered or failed, or
  after FALLBACK_DELAY when no report comes.

Each piece of work is a `ProviderCleanup` row, worked by a job that takes
the row's lease like every other job, retried over days (a provider may
refuse to delete a message still in progress), dead-lettered after the
last retry, and found again by the sweeper if Redis forgets it. What a
provider keeps regardless is written down in docs/providers/.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.core.models import Case, Conversation, InboundEvent, MediaDownload, ProviderCleanup
from gateway.core.providers import installed
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import ConversationState, WorkState
from gateway.work import claims

log = logging.getLogger(__name__)

# Seconds between attempts; Twilio may take up to 14 days to let a record go.
RETRY_DELAYS = (60, 300, 900, 3600, 6 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400)
FALLBACK_DELAY = timedelta(hours=1)  # a sent message whose delivery report never came
MEDIA_WAIT = timedelta(minutes=10)  # look again this much later while media is still needed
QUEUE = "cleanup"  # slow provider calls, nothing waits for them: the last queue (runtime.py)


def schedule(
    session: Session,
    provider: str,
    provider_message_id: str | None,
    *,
    inbound_event_id: int | None = None,
    delay: timedelta = timedelta(0),
) -> int | None:
    """Plan the deletion of one provider copy, at most once per message.

    A second call for the same message brings a later plan forward (a
    delivery report after the fallback was planned) and never pushes one back.

    Returns:
        The row's id while the work is pending, None when the provider has
        no cleaner or the copy is already dealt with.
    """
    if installed().cleaner(provider) is None or not provider_message_id:
        return None
    due = utcnow() + delay
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    new_id = session.execute(
        insert(ProviderCleanup)
        .values(
            provider=provider,
            provider_message_id=provider_message_id[:128],
            inbound_event_id=inbound_event_id,
            state=WorkState.PENDING.value,
            attempts=0,
            next_attempt_at=due,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])
        .returning(ProviderCleanup.id)
    ).scalar_one_or_none()
    if new_id is not None:
        return new_id
    row = session.scalars(
        select(ProviderCleanup).where(
            ProviderCleanup.provider == provider,
            ProviderCleanup.provider_message_id == provider_message_id[:128],
        )
    ).one()
    if row.state != WorkState.PENDING.value:
        return None
    if row.next_attempt_at > due:
        row.next_attempt_at = due
    return row.id


def enqueue(gw: Gateway, cleanup_id: int, at: datetime | None = None) -> None:
    """Enqueue the job now, or at `at`.

    The two get different job ids, so a job planned for later never hides one due now.
    """
    try:
        if at is None:
            claims.enqueue(gw, QUEUE, run_cleanup, "cleanup", cleanup_id)
        else:
            claims.enqueue(gw, QUEUE, run_cleanup, "cleanup-at", cleanup_id, at=at)
    except Exception:  # noqa: BLE001 - the row is stored; the sweeper will enqueue it
        log.warning("provider cleanup %s stored but not enqueued; sweeper will", cleanup_id)


def _media_still_needed(session: Session, gw: Gateway, row: ProviderCleanup) -> bool:
    """An inbound message's media is needed while its sender's report may still fetch it."""
    if row.inbound_event_id is None:
        return False
    event = session.get(InboundEvent, row.inbound_event_id)
    if event is None or not (gw.cipher.decrypt_json(event.payload_enc) or {}).get("media"):
        return False
    open_conversations = session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.sender_pseudonym == event.sender_pseudonym,
            Conversation.channel == event.channel,
            Conversation.state == ConversationState.OPEN.value,
        )
    )
    pending_downloads = session.scalar(
        select(func.count())
        .select_from(MediaDownload)
        .join(Case, Case.id == MediaDownload.case_id)
        .where(
            Case.sender_pseudonym == event.sender_pseudonym,
            MediaDownload.provider == event.provider,
            MediaDownload.state == WorkState.PENDING.value,
        )
    )
    return bool(open_conversations or pending_downloads)


def _wait_for_media(gw: Gateway, cleanup_id: int) -> datetime | None:
    with gw.sessions() as session, session.begin():
        row = session.get(ProviderCleanup, cleanup_id)
        if row is None or row.state != WorkState.PENDING.value:
            return None
        if not _media_still_needed(session, gw, row):
            return None
        later = max(utcnow(), row.next_attempt_at) + MEDIA_WAIT
        row.next_attempt_at = later
        return later


def run_cleanup(cleanup_id: int) -> str:
    """RQ job: delete one provider copy; retried while the provider says "not yet"."""
    gw = current()
    wait_until = _wait_for_media(gw, cleanup_id)
    if wait_until is not None:
        enqueue(gw, cleanup_id, at=wait_until)
        return WorkState.WAITING.value
    with gw.sessions() as session, session.begin():
        if not claims.claim(
            session, ProviderCleanup, cleanup_id, gw.settings.job_lease_seconds, due=True
        ):
            return "skipped"
        row = session.get(ProviderCleanup, cleanup_id)
        assert row is not None
        provider, provider_message_id, attempt = row.provider, row.provider_message_id, row.attempts
    done, error = False, None
    try:
        cleaner = installed().cleaner(provider)
        if cleaner is None:
            raise LookupError(f"no cleaner for provider {provider!r}")
        done = cleaner(gw.settings, provider_message_id)
        if not done:
            error = "not yet deletable"
    except Exception as exc:  # noqa: BLE001 - provider away or refusing: retried
        error = type(exc).__name__
    next_at = None
    with gw.sessions() as session, session.begin():
        row = session.get(ProviderCleanup, cleanup_id)
        assert row is not None
        row.locked_until = None
        row.last_error = error
        if done:
            row.state = WorkState.DONE.value
            row.done_at = utcnow()
        elif attempt > len(RETRY_DELAYS):
            row.state = WorkState.DEAD.value
        else:
            next_at = utcnow() + timedelta(seconds=RETRY_DELAYS[attempt - 1])
            row.next_attempt_at = next_at
    if next_at is not None:
        enqueue(gw, cleanup_id, at=next_at)
    log.info("provider cleanup %s attempt %s: %s", cleanup_id, attempt, error or "deleted")
    return "deleted" if done else "failed"
