"""Tables of the work around a case: in-person intake, referrals, recorded prompts, access.

Apart from the case tables (gateway.core.models re-exports them, so every
table is in one metadata and imports from there keep working).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.schema import Base, UTCDateTime, utcnow


class IntakeImport(Base):
    """One row of an imported batch of paper forms, filed once as one case.

    `source_key` is the SHA-256 of what identifies the row (its form's
    instance id, else its whole content), so that importing the same file
    again files nothing (gateway/cases/intake_import.py).
    """

    __tablename__ = "intake_imports"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Referral(Base):
    """A referral of the person who reported to a service (medical, psychosocial, ...).

    Recorded by a focal point on the case page, every change audited. No
    contact detail of anyone is kept here; `note_enc` is encrypted.
    """

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    service: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    offered_on: Mapped[date] = mapped_column(Date)
    decision: Mapped[str] = mapped_column(String(16))  # offered, accepted, declined
    assistance_received: Mapped[str] = mapped_column(String(16))  # unknown, yes, no
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class VoicePrompt(Base):
    """A hotline prompt recorded by a person and uploaded in the console (one per language).

    Not encrypted, unlike everything a reporter sends: a prompt holds the
    gateway's own public words ("press 1 to ..."), which `/ivr/audio/...`
    serves to anyone. The hotline plays it before a packaged file or
    text-to-speech (gateway/cases/voice_prompts.py).
    """

    __tablename__ = "voice_prompts"
    __table_args__ = (UniqueConstraint("locale", "name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(40))  # the prompt id: "welcome", "digit_7"
    content_type: Mapped[str] = mapped_column(String(32))  # audio/wav or audio/mpeg
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseAccess(Base):
    """A user named on a restricted case: only they (and an administrator's
    audited override) may open it (gateway/cases/access.py)."""

    __tablename__ = "case_access"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_access_pair"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
