"""The webhook path: store each inbound message once, announce its id, answer.

`submit` is all a channel adapter calls after verifying and parsing: the
messages are stored (deduplicated) and their ids announced to the workers
by the work layer (`gateway.work.inbound`). When the database cannot be
reached they go to the local spool (`gateway.work.spool`) and are loaded
later: the provider still gets its 2xx.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError

from gateway.core.inbound import InboundMessage
from gateway.core.runtime import Gateway
from gateway.work import spool
from gateway.work.inbound import Submitted, store_and_announce

__all__ = ["Submitted", "submit"]

log = logging.getLogger(__name__)


def submit(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    """Persist messages (deduplicated) and announce the new ones, or spool them.

    The spool's own loader stores through `store_and_announce`, never here,
    so a message it loads is never written back to the spool.
    """
    try:
        return store_and_announce(gw, messages)
    except (OperationalError, InterfaceError) as exc:
        log.warning("database unreachable (%s); spooling", type(exc).__name__)
        spool.write(gw, messages)
        return [Submitted(0, duplicate=False, spooled=True) for _ in messages]
