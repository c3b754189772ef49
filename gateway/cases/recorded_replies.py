"""A reporter's answer recorded by voice (the hotline), added to their case like an SMS reply.

A caller who heard a focal point's message on a status call can record an
answer. It becomes a "message from the reporter" event, as a text reply
does (gateway.cases.mailbox.reply), whose words say only that a recording
came, and the recording, still at the provider, becomes a media download:
the worker fetches it, removes its metadata and stores it encrypted with
the case (gateway.work.media_fetch), then the provider's copy is deleted.
"""

from __future__ import annotations

from gateway.cases.filing import add_event
from gateway.cases.media import type_hint
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.models import Case, MediaDownload
from gateway.core.runtime import Gateway
from gateway.core.states import CaseEventKind, CaseStatus

# Translators: the words of a reporter's answer recorded on the hotline, shown on the case
# and on the reporter's own status page; the sound is attached to the case.
VOICE_ANSWER = _("Answer recorded on the hotline (the recording is attached).")


def add_recorded_reply(
    gw: Gateway, case_id: int, provider: str, url: str, content_type_hint: str | None
) -> bool:
    """Add the recording at `url` to the case as the reporter's answer; False when closed."""
    with gw.sessions() as session, session.begin():
        case = session.get(Case, case_id, with_for_update=True)
        if case is None or case.status == CaseStatus.CLOSED.value or case.purged_at is not None:
            return False
        words = i18n.gettext(case.language or i18n.DEFAULT_LOCALE, VOICE_ANSWER)
        add_event(session, gw, case, CaseEventKind.MESSAGE_FROM_REPORTER, "reporter", body=words)
        session.add(
            MediaDownload(
                case_id=case.id,
                provider=provider,
                url_enc=gw.cipher.encrypt(url.encode()),
                content_type_hint=type_hint(content_type_hint),
            )
        )
    return True
