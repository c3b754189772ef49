"""Starting the work a committed transaction recorded (`gateway.core.effects.Effects`).

Filing and the conversation only record ids; the jobs are enqueued here,
after the commit, so that no job can run before its row exists. Redis
being away loses nothing: the rows are stored, and the sweeper enqueues them.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.core.effects import Effects
from gateway.core.models import MediaDownload
from gateway.core.runtime import Gateway
from gateway.core.states import WorkState
from gateway.work.forwarding import enqueue_case_outbox
from gateway.work.media_fetch import enqueue as enqueue_media
from gateway.work.outbound import enqueue_outbound


def enqueue_forwarding(gw: Gateway, case_id: int) -> None:
    """After commit: start the case's media downloads and pending outbox rows."""
    with gw.sessions() as session:
        downloads = session.scalars(
            select(MediaDownload.id).where(
                MediaDownload.case_id == case_id, MediaDownload.state == WorkState.PENDING.value
            )
        ).all()
    for download_id in downloads:
        enqueue_media(gw, download_id)
    enqueue_case_outbox(gw, case_id)


def start(gw: Gateway, effects: Effects) -> None:
    """Enqueue the jobs `effects` names: forwarding (and media) of cases, then messages."""
    for case_id in dict.fromkeys(effects.new_cases + effects.media_cases):
        enqueue_forwarding(gw, case_id)
    for message_id in effects.outbound:
        enqueue_outbound(gw, message_id)
