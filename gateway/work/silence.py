"""Conversations that went silent: filed with what they hold after INTAKE_TIMEOUT_SECONDS.

A reporter may stop answering in the middle of the questions (the phone
died, someone came in). The sweeper (`enqueue_silent`) finds the open
conversations that are, or will be before its next pass, silent for the
timeout, and schedules one job each (`conversation-timeout-<id>` on the
`filing` queue) for the second the timeout ends; the job files the report
(gateway.conversation.filing) and sends the receipt to the address the
conversation kept. A conversation that moved on meanwhile is left alone.

The `filing` queue is worked before `intake` (gateway.core.runtime): in a
burst of new messages, a report whose reporter has gone quiet is filed, and
its receipt sent, before the next new message is taken up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from gateway.cases.outgoing import queue_message
from gateway.conversation import help_lines
from gateway.conversation.filing import file_conversation
from gateway.core.effects import Effects
from gateway.core.models import Conversation
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import ConversationState
from gateway.work import claims
from gateway.work.effects import carry_on

log = logging.getLogger(__name__)
QUEUE = "filing"
KIND = "conversation-timeout"
BATCH = 1000


def file_if_silent(conversation_id: int) -> str:
    """RQ job: file a conversation that has been silent for INTAKE_TIMEOUT_SECONDS."""
    gw = current()
    cutoff = utcnow() - timedelta(seconds=gw.settings.intake_timeout_seconds)
    effects = Effects()
    with gw.sessions() as session, session.begin():
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None or conversation.state != ConversationState.OPEN.value:
            return "skipped"
        if conversation.last_activity_at > cutoff:
            return "active"
        where = gw.cipher.decrypt_json(conversation.answers_enc).get("where_when")
        filed = file_conversation(session, gw, conversation)
        if filed is None:
            return ConversationState.ABANDONED.value
        effects.new_cases.append(filed.case_id)
        if filed.address:
            message_id = queue_message(
                session,
                gw,
                channel=conversation.channel,
                provider=conversation.provider,
                address=filed.address,
                text=filed.receipt,
                dedupe_key=f"receipt:{filed.case_id}",
                case_id=filed.case_id,
            )
            if message_id is not None:
                effects.outbound.append(message_id)
            if not help_lines.given_during(session, conversation.id):  # then the help line
                message_id = help_lines.queue_first(
                    session,
                    gw,
                    channel=conversation.channel,
                    provider=conversation.provider,
                    address=filed.address,
                    locale=conversation.language,
                    dedupe_key=help_lines.receipt_key(filed.case_id),
                    case_id=filed.case_id,
                    where=where,
                )
                if message_id is not None:
                    effects.outbound.append(message_id)
    carry_on(gw, effects)
    log.info("conversation %s filed after silence", conversation_id)
    return ConversationState.FILED.value


def due_at(last_activity_at: datetime, timeout: timedelta) -> datetime:
    """When a conversation's filing may run: the timeout after its last message, to the second.

    RQ's scheduler keeps whole seconds (it drops the fraction): rounded up,
    the job never runs a moment before the conversation is silent long enough.
    """
    due = last_activity_at + timeout
    if due.microsecond:
        due = due.replace(microsecond=0) + timedelta(seconds=1)
    return due


def enqueue_silent(gw: Gateway) -> int:
    """Sweeper task: schedule the filing of each conversation silent by the next sweep.

    Each job is due the second its conversation has been silent for
    INTAKE_TIMEOUT_SECONDS (RQ's scheduler enqueues it within a second), not
    at the next sweep after that: a reporter would otherwise wait up to
    SWEEP_INTERVAL_SECONDS (60 s by default) more for the receipt. Every
    conversation is caught in time while the timeout is at least the sweep
    interval (900 s and 60 s by default); a shorter one files at the next
    sweep. Oldest first, so that the first reporters of a burst are filed
    first. Returns how many jobs it enqueued or scheduled.
    """
    timeout = timedelta(seconds=gw.settings.intake_timeout_seconds)
    horizon = utcnow() - timeout + timedelta(seconds=gw.settings.sweep_interval_seconds)
    with gw.sessions() as session:
        rows = session.execute(
            select(Conversation.id, Conversation.last_activity_at)
            .where(
                Conversation.state == ConversationState.OPEN.value,
                Conversation.last_activity_at <= horizon,
            )
            .order_by(Conversation.last_activity_at, Conversation.id)
            .limit(BATCH)
        ).all()
    waiting = _waiting(gw, [conversation_id for conversation_id, _ in rows])
    enqueued = 0
    for conversation_id, last_activity_at in rows:
        if conversation_id in waiting:
            continue
        due = due_at(last_activity_at, timeout)
        claims.enqueue(gw, QUEUE, file_if_silent, KIND, conversation_id, at=due)
        enqueued += 1
    return enqueued


def _waiting(gw: Gateway, conversation_ids: list[int]) -> set[int]:
    """The conversations whose filing job is already queued or scheduled, in one round trip.

    `claims.enqueue` would find them too, one look-up each; a sweep every
    second over a thousand open conversations would spend its time there.
    """
    jids = [claims.job_id(KIND, cid) for cid in conversation_ids]
    live = claims.waiting(gw, jids)
    return {cid for cid, alive in zip(conversation_ids, live, strict=True) if alive}
