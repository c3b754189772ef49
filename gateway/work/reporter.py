"""Writing to a reporter's case from outside the worker: filing it, messaging them.

The web form and the hotline file a complete report at once; a focal point
(or the case tracker) writes to the reporter. Each is one transaction in
`gateway.cases` and then the jobs it calls for (forwarding, a message out
through the reporter's channel) are enqueued here, after the commit. Redis
being away loses nothing: the rows are stored, and the sweeper enqueues them.
"""

from __future__ import annotations

import contextlib

from gateway.cases.filing import Receipt, add_event, file_report
from gateway.cases.mailbox import can_push, reply_channel
from gateway.cases.outgoing import queue_message
from gateway.cases.reports import NewReport
from gateway.core.models import Case
from gateway.core.runtime import Gateway
from gateway.core.states import CaseEventKind
from gateway.work.effects import enqueue_forwarding
from gateway.work.outbound import enqueue_outbound


def submit_report(
    gw: Gateway,
    report: NewReport,
    *,
    channel: str,
    provider: str | None = None,
    sender_pseudonym: str | None = None,
    reply_address: str | None = None,
    media: list[tuple[str, str, str | None]] | None = None,
) -> Receipt:
    """File a complete report now (web form, hotline) and start forwarding it.

    `media` lists files still at a provider (the hotline's recording), as
    for `cases.file_report`: the worker fetches them before forwarding.
    """
    with gw.sessions() as session, session.begin():
        receipt = file_report(
            session,
            gw,
            report,
            channel=channel,
            provider=provider,
            sender_pseudonym=sender_pseudonym,
            reply_address=reply_address,
            media=media,
        )
    # Redis away: the case is stored, and the sweeper will enqueue its forwarding.
    with contextlib.suppress(Exception):
        enqueue_forwarding(gw, receipt.case_id)
    return receipt


def message_reporter(gw: Gateway, case_id: int, text: str, actor: str) -> bool:
    """A focal point's (or the case tracker's) message to the reporter.

    It is always shown at the reporter's next status check. When the reporter
    agreed to follow-up on a text channel and did not send STOP, it also goes
    out through that channel to the address kept (encrypted) for this purpose.
    """
    message_id = None
    with gw.sessions() as session, session.begin():
        case = session.get(Case, case_id)
        if case is None:
            return False
        event = add_event(session, gw, case, CaseEventKind.MESSAGE_TO_REPORTER, actor, body=text)
        if can_push(session, case):
            message_id = queue_message(
                session,
                gw,
                channel=reply_channel(case),
                provider=str(case.provider),
                address=gw.cipher.decrypt(case.reply_address_enc).decode(),
                text=text,
                dedupe_key=f"case-message:{event.id}",
                case_id=case.id,
            )
    if message_id is not None:
        with contextlib.suppress(Exception):  # stored; the sweeper will enqueue it
            enqueue_outbound(gw, message_id)
    return True
