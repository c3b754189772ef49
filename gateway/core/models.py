"""The database: the system of record.

Anything acknowledged to a provider or a browser is a row here before the
answer goes out. Redis only carries ids of rows to work on; the sweeper
rebuilds the queues from the `state` columns below if Redis loses them.

Columns ending in `_enc` hold encrypted tokens (see `privacy.Cipher`): report
content, messages, reply addresses. Nothing that identifies a reporter is
stored in clear; senders are pseudonyms. What every table shares (base,
timestamps) is gateway.core.schema; the states the rows store, gateway.core.states.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# The console's tables (users, their sessions, the audit log) and the statistics page's
# daily counts are defined in modules of their own; imported so that they join the
# metadata with these (cases.assignee_id refers to users).
from gateway.core import accounts, statistics_tables  # noqa: F401

# Tables of the work around a case, in a module of their own; importable from here.
from gateway.core.casework_tables import (  # noqa: F401
    CaseAccess,
    IntakeImport,
    Referral,
    VoicePrompt,
)
from gateway.core.schema import Base, UTCDateTime, utcnow
from gateway.core.states import CaseStatus, ConversationState, WorkState


class CaseNumberCounter(Base):
    """The last sequence number allocated in a year (see numbering.allocate_case_number)."""

    __tablename__ = "case_number_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class InboundEvent(Base):
    """One message as a provider delivered it, stored before the provider gets its 2xx."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    sender_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    language_hint: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=WorkState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class Case(Base):
    """A filed report's case: number, PIN hash, status and what triage needs in clear."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(24), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    pin_hash: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.RECEIVED.value, index=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    provider: Mapped[str | None] = mapped_column(String(32))
    # How a report taken by a person reached them (channel "in_person"):
    # in_person, paper, phone_call_to_staff, community_network.
    received_via: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    danger_now: Mapped[bool] = mapped_column(Boolean, default=False)
    child_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    affected: Mapped[str | None] = mapped_column(String(16))
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    external_id: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()))
    sender_pseudonym: Mapped[str | None] = mapped_column(String(64), index=True)
    # Kept only while the case is open and the reporter agreed to follow-up.
    reply_address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Structured allegation fields (docs/exports.md): all optional. None is
    # "not asked"; "unknown" is asked and not known. Values: gateway/cases/allegation.py.
    allegation_type: Mapped[str | None] = mapped_column(String(24))
    personnel_category: Mapped[str | None] = mapped_column(String(24))
    victim_age_group: Mapped[str | None] = mapped_column(String(16))
    victims_count: Mapped[int | None] = mapped_column(Integer)
    incident_date: Mapped[str | None] = mapped_column(String(10))  # YYYY, YYYY-MM or YYYY-MM-DD
    incident_area: Mapped[str | None] = mapped_column(String(100))  # an area, never an address
    paternity_claim: Mapped[str | None] = mapped_column(String(16))
    # Who may see it: when true, only the users in case_access (gateway/cases/access.py).
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Escalation: first opened by a console user; the alert sent; since when
    # the reporter has waited for a focal point's answer.
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    awaiting_answer_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Retention: statements, messages and attachments removed (a tombstone
    # stays); erased_at when an administrator erased the case at once.
    content_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    report: Mapped[Report] = relationship(back_populates="case", uselist=False)
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    outbox: Mapped[list[OutboxEntry]] = relationship(
        back_populates="case", order_by="OutboxEntry.id"
    )

    __table_args__ = (UniqueConstraint("year", "sequence"),)


class Report(Base):
    """The report as the reporter gave it, encrypted: narrative, answers, where and when."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="report")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", order_by="Attachment.id"
    )


class Attachment(Base):
    """A photo, recording or document of a report, encrypted, metadata stripped."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="attachments")


class CaseEvent(Base):
    """What happened to a case: status changes and messages both ways."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="events")


class OutboxEntry(Base):
    """One piece of work for one forwarding target, written with the case it concerns."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("case_id", "target", "event_id", name="uq_outbox_work"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    target: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32), default="case")
    # 0 for the case itself; the case event's id for a status change.
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    state: Mapped[str] = mapped_column(String(16), default=WorkState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="outbox")
    attempts_log: Mapped[list[ForwardingAttempt]] = relationship(
        back_populates="entry", order_by="ForwardingAttempt.id"
    )


class ForwardingAttempt(Base):
    """Every delivery attempt, kept for the console and the auditors."""

    __tablename__ = "forwarding_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(500))

    entry: Mapped[OutboxEntry] = relationship(back_populates="attempts_log")


class OutboundMessage(Base):
    """A message to a reporter through their channel, sent by a worker."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    address_enc: Mapped[bytes] = mapped_column(LargeBinary)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # Why it exists, e.g. "receipt:<case id>": at most one message per key.
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=WorkState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LookupThrottle(Base):
    """Failed status look-ups per keyed hash of a case number (existing or not) and channel.

    `window_start` is the time of the latest failure; `locked_until` the end
    of the wait before the next look-up is checked (gateway.cases.lookup).
    """

    __tablename__ = "lookup_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_outbox_due", OutboxEntry.state, OutboxEntry.next_attempt_at)
Index("ix_outbound_due", OutboundMessage.state, OutboundMessage.next_attempt_at)


class Conversation(Base):
    """A report being taken by text messages, question by question.

    Or, at step `which_case` (gateway/conversation/follow_up.py), a reporter's follow-up
    held until they say whether it is about their case (`case_id`) or new.

    `open_key` is the sender's pseudonym while the conversation is open and
    NULL afterwards: its unique constraint allows one open conversation per
    sender on every backend. Answers and the reply address are encrypted and
    wiped once the report is filed.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    sender_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.OPEN.value, index=True)
    step: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    answers_enc: Mapped[bytes] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))

    @staticmethod
    def key_while_open(channel: str, pseudonym: str) -> str:
        """The `open_key` of a sender's open conversation: one at a time per channel."""
        return f"{channel}:{pseudonym}"


class SenderPreference(Base):
    """What a sender chose, by pseudonym: their language, and STOP."""

    __tablename__ = "sender_preferences"

    sender_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MediaDownload(Base):
    """A photo, voice note or recording to fetch from a provider for a filed case,
    or a file the reporter uploaded (`data_enc`), to clean of its metadata.

    While any download of a case is pending, the case's outbox rows wait
    (state `waiting`), so the case reaches the tracker with its attachments;
    the last download to finish (stored or given up) releases them.
    """

    __tablename__ = "media_downloads"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    url_enc: Mapped[bytes] = mapped_column(LargeBinary)
    content_type_hint: Mapped[str | None] = mapped_column(String(100))
    # A file the reporter gave the gateway itself (web form): the original,
    # encrypted, until the worker has cleaned it into an attachment; then None.
    data_enc: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(16), default=WorkState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProviderCleanup(Base):
    """A provider's copy of a message (its body, its media) to delete there.

    Written when the gateway no longer needs the provider's copy: an inbound
    message once processed (and its media fetched), a sent message once
    delivered or failed (or after a fallback delay). The provider-cleanup job
    (cleanup.py) works it like any other row: lease, retries, dead-letter.
    """

    __tablename__ = "provider_cleanups"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    inbound_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_events.id"))
    state: Mapped[str] = mapped_column(String(16), default=WorkState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_provider_cleanups_due", ProviderCleanup.state, ProviderCleanup.next_attempt_at)


class CaseLink(Base):
    """Two cases a focal point linked: one a duplicate of the other, or related."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "other_case_id", name="uq_case_links_pair"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Indexes that keep the busiest pages and the sweeper flat as cases pile up
# (bench/growth.py): the queue's default order, its counts, its filter lists,
# the sweeper's look for silent conversations, and the first responses the
# statistics page reads.
Index("ix_cases_triage", Case.danger_now, Case.child_involved, Case.received_at, Case.id)
Index("ix_cases_counts", Case.status, Case.danger_now, Case.child_involved, Case.assignee_id)
Index("ix_cases_language", Case.language)
Index("ix_conversations_due", Conversation.state, Conversation.last_activity_at)
Index("ix_case_events_response", CaseEvent.kind, CaseEvent.created_at)


# The sweeper's looks for cases to escalate and to purge stay flat as cases pile up.
Index("ix_cases_escalation", Case.first_opened_at, Case.escalated_at, Case.received_at)
Index("ix_cases_retention", Case.content_purged_at, Case.closed_at)
