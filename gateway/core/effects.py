"""What a transaction leaves to start once it has committed: ids, nothing else.

Filing a case, answering a message or fetching a file writes rows inside a
transaction; the jobs that carry the work on (forwarding, a message to the
reporter) may only be enqueued after that transaction commits, or a job
could run before its row exists. The layers below the worker record the
ids here; `gateway.work.effects.start` enqueues them. Filing never enqueues.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Effects:
    """Work to start after the transaction that recorded it commits."""

    new_cases: list[int] = field(default_factory=list)  # forwarding (and media) of new cases
    outbound: list[int] = field(default_factory=list)  # messages to reporters
    media_cases: list[int] = field(default_factory=list)  # a follow-up brought media to fetch
