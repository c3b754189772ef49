"""The append-only, tamper-evident audit trail.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's
own fields, so removing or editing any entry breaks every hash after it;
`verify` walks the chain. Details hold ids and actions, never report text.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry, utcnow

GENESIS = "0" * 64


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
    """Append one entry in the caller's transaction."""
    last = session.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1).with_for_update()
    ).first()
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


def verify(session: Session) -> tuple[bool, int | None]:
    """(True, None) when the chain is whole; else (False, id of the first bad entry)."""
    prev = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        expected = _digest(prev, entry.at, entry.actor, entry.action, entry.target, entry.detail)
        if entry.prev_hash != prev or entry.hash != expected:
            return False, entry.id
        prev = entry.hash
    return True, None
