"""Starting the work a committed transaction recorded (`gateway.core.effects.Effects`).

Filing and the conversation only record ids; the work is started here,
after the commit, so that nothing can run before its row exists. `start`
enqueues a job for each (web requests, the console). `carry_on`, for the
worker's own jobs, does the messages and forwarding at once, in the job
that filed or answered: each is the same one attempt its job would make,
with the row's lease. Redis being away loses nothing: the rows are stored,
and the sweeper enqueues them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rq.timeouts import JobTimeoutException
from sqlalchemy import select

from gateway.core.effects import Effects
from gateway.core.models import MediaDownload
from gateway.core.runtime import Gateway
from gateway.core.states import WorkState
from gateway.work.forwarding import enqueue_case_outbox, enqueue_outbox, forward, pending_outbox
from gateway.work.media_fetch import enqueue as enqueue_media
from gateway.work.outbound import enqueue_outbound, send_outbound

log = logging.getLogger(__name__)


def enqueue_media_downloads(gw: Gateway, case_id: int) -> None:
    """After commit: start the case's pending media downloads."""
    with gw.sessions() as session:
        downloads = session.scalars(
            select(MediaDownload.id).where(
                MediaDownload.case_id == case_id, MediaDownload.state == WorkState.PENDING.value
            )
        ).all()
    for download_id in downloads:
        enqueue_media(gw, download_id)


def enqueue_forwarding(gw: Gateway, case_id: int) -> None:
    """After commit: start the case's media downloads and pending outbox rows."""
    enqueue_media_downloads(gw, case_id)
    enqueue_case_outbox(gw, case_id)


def start(gw: Gateway, effects: Effects) -> None:
    """Enqueue the jobs `effects` names: forwarding (and media) of cases, then messages."""
    for case_id in dict.fromkeys(effects.new_cases + effects.media_cases):
        enqueue_forwarding(gw, case_id)
    for message_id in effects.outbound:
        enqueue_outbound(gw, message_id)


def carry_on(gw: Gateway, effects: Effects) -> None:
    """In a worker's job, after commit: send the messages, then forward the new cases, now.

    A report's receipt and its forwarding then follow its filing in the
    same job, instead of queueing behind the other reports' jobs, and a
    report costs three RQ jobs fewer (bench/README.md, burst). Each call is
    the attempt its own job would make (the row's lease taken first, the
    next attempt scheduled on failure). Media downloads stay jobs of their
    own: a slow provider must not hold up the receipt. Should an attempt
    fail in a way it does not handle itself (the database away), its job
    is enqueued as `start` would; the sweeper is there behind both.
    """
    for message_id in effects.outbound:
        _now_or_enqueued(gw, send_outbound, message_id, enqueue_outbound)
    for case_id in dict.fromkeys(effects.new_cases + effects.media_cases):
        enqueue_media_downloads(gw, case_id)
        for outbox_id in pending_outbox(gw, case_id):
            _now_or_enqueued(gw, forward, outbox_id, enqueue_outbox)


def _now_or_enqueued(
    gw: Gateway,
    attempt: Callable[[int], str],
    row_id: int,
    enqueue: Callable[[Gateway, int], None],
) -> None:
    try:
        attempt(row_id)
    except JobTimeoutException:
        raise  # the job ran out of time: RQ fails it, the sweeper takes up what is left
    except Exception as exc:  # noqa: BLE001 - the row is stored: its job tries again
        log.warning("%s %s raised %s; enqueued", attempt.__name__, row_id, type(exc).__name__)
        try:
            enqueue(gw, row_id)
        except Exception:  # noqa: BLE001 - Redis away too: the sweeper enqueues it
            log.warning("%s %s not enqueued; left to the sweeper", attempt.__name__, row_id)
