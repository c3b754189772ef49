"""The append-only, tamper-evident audit trail.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's
own fields, so removing or editing any entry breaks every hash after it;
`verify` walks the chain. Removing the newest entries leaves a shorter chain
that is still whole: that is caught only against an anchor (an entry's id
and hash) kept somewhere the database's owner cannot rewrite, which
`complaint-gateway audit verify` prints and checks (`--anchor`). Details
hold ids and actions, never report text.

Appending is serialised: `record` takes a lock before it reads the newest
entry and holds it until the caller's transaction ends, so two writers can
never chain onto the same entry (a fork that `verify` would call tampering,
or, when the two entries hash alike, a unique violation answered as a 500).
On PostgreSQL the lock is a transaction-level advisory lock; on SQLite every
transaction already holds the database's write lock from its start (`BEGIN
IMMEDIATE`, gateway/core/db.py). Every append goes through `record`; callers call
it last in their transaction, after any slow work, since other appends wait
for that transaction to end.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gateway.core.accounts import AuditEntry
from gateway.core.schema import utcnow

GENESIS = "0" * 64
# pg_advisory_xact_lock's key for appends to the chain: any fixed 64-bit number
# that nothing else in the database uses ("audit" in ASCII).
APPEND_LOCK = 0x6175646974


def _digest(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    detail: dict[str, object] | None,
) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor, action, target, detail],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction, after every earlier append.

    The lock taken here is held until that transaction commits or rolls back.
    """
    _lock_chain(session)
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    at = utcnow().replace(microsecond=0)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target=target,
        detail=detail,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, target, detail),
    )
    session.add(entry)
    session.flush()
    return entry


def _lock_chain(session: Session) -> None:
    """Wait until no other transaction is appending, then keep others waiting.

    Locking the newest row (SELECT ... FOR UPDATE) is not enough: a writer
    that waited on it reads that same row once it is free, not the entry
    just added after it, and an empty chain has no row to lock at all. The
    head is read by a statement that starts after the lock is granted, so at
    READ COMMITTED (the gateway's isolation level) it sees the entry that
    the previous holder committed.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
    # SQLite: the transaction began with BEGIN IMMEDIATE and holds the write lock.


def verify(session: Session, anchor: Anchor | None = None) -> tuple[bool, int | None]:
    """(True, None) when the chain is whole; else (False, id of the first bad entry).

    With an `anchor` the chain must also still hold that entry with that hash:
    a chain cut back before it, or rewritten from it on, is not whole.
    """
    prev = GENESIS
    anchored = anchor is None
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        expected = _digest(prev, entry.at, entry.actor, entry.action, entry.target, entry.detail)
        if entry.prev_hash != prev or entry.hash != expected:
            return False, entry.id
        if anchor is not None and entry.id == anchor.id:
            if entry.hash != anchor.hash:
                return False, entry.id
            anchored = True
        prev = entry.hash
    if not anchored:
        return False, anchor.id if anchor else None
    return True, None


@dataclass(frozen=True)
class Anchor:
    """An entry's id and hash, kept outside the database to catch a cut chain."""

    id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.id}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`ID:HASH` as `audit verify` prints it; ValueError otherwise."""
        number, _, digest = text.strip().partition(":")
        if not number.isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            raise ValueError("an anchor is ID:HASH, as `audit verify` prints it")
        return cls(int(number), digest)


def head(session: Session) -> Anchor | None:
    """The newest entry as an anchor, or None for an empty trail."""
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    return Anchor(last.id, last.hash) if last else None
