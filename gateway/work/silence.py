"""Conversations that went silent: filed with what they hold after INTAKE_TIMEOUT_SECONDS.

A reporter may stop answering in the middle of the questions (the phone
died, someone came in). The sweeper (`enqueue_silent`) finds the open
conversations silent for longer than the timeout and enqueues one job each
(`conversation-timeout-<id>` on the `intake` queue); the job files the
report (gateway.conversation.filing) and sends the receipt to the address
the conversation kept. A conversation that moved on meanwhile is left alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from gateway.cases.outgoing import queue_message
from gateway.conversation.filing import file_conversation
from gateway.core.effects import Effects
from gateway.core.models import Conversation
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import ConversationState
from gateway.work import claims
from gateway.work.effects import start

log = logging.getLogger(__name__)


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
    start(gw, effects)
    log.info("conversation %s filed after silence", conversation_id)
    return ConversationState.FILED.value


def enqueue_silent(gw: Gateway) -> int:
    """Sweeper task: enqueue the filing of every conversation silent too long."""
    cutoff = utcnow() - timedelta(seconds=gw.settings.intake_timeout_seconds)
    with gw.sessions() as session:
        ids = list(
            session.scalars(
                select(Conversation.id)
                .where(
                    Conversation.state == ConversationState.OPEN.value,
                    Conversation.last_activity_at <= cutoff,
                )
                .limit(1000)
            )
        )
    for conversation_id in ids:
        claims.enqueue(gw, "intake", file_if_silent, "conversation-timeout", conversation_id)
    return len(ids)
