"""The states and kinds that rows store as strings, named once for every layer.

The columns are plain strings (the schema has no enum types); these
StrEnums are the values code may write or compare, with `.value` where a
column is assigned or queried. They compare equal to their strings.
"""

from __future__ import annotations

from enum import StrEnum


class WorkState(StrEnum):
    """Where a unit of work (inbound event, outbox row, outbound message) stands."""

    WAITING = "waiting"  # an outbox row whose case still has media to fetch
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class ConversationState(StrEnum):
    """Where a text conversation stands; only an open one takes answers."""

    OPEN = "open"
    FILED = "filed"  # became a case (`case_id`)
    ABANDONED = "abandoned"  # REPORT and then silence: nothing to file
    STOPPED = "stopped"  # the sender sent STOP
    ADDED = "added"  # a follow-up held for "which case?" that went to its case


class CaseStatus(StrEnum):
    """Statuses of the contract, shown translated to reporters."""

    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    CLOSED = "closed"


class Role(StrEnum):
    ADMIN = "admin"
    FOCAL_POINT = "focal_point"
    VIEWER = "viewer"
    INTAKE = "intake"  # files reports received in person; never reads the queue


class CaseEventKind(StrEnum):
    FILED = "filed"
    STATUS_CHANGED = "status_changed"
    MESSAGE_TO_REPORTER = "message_to_reporter"
    MESSAGE_FROM_REPORTER = "message_from_reporter"
    NOTE = "note"
    ASSIGNED = "assigned"
    TRIAGED = "triaged"  # category or urgency set by a focal point (console/case_actions.py)
    ESCALATED = "escalated"  # urgent and not opened in time: alert sent (work/escalation.py)
    CONTENT_PURGED = "content_purged"  # the retention period ended (gateway/cases/tombstone.py)
    ERASED = "erased"  # an administrator erased the case at once (gateway/cases/erasure.py)


class CaseLinkKind(StrEnum):
    DUPLICATE = "duplicate"  # case_id is a duplicate of other_case_id
    RELATED = "related"
