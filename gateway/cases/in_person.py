"""Reports a person received (in person, on paper, by phone to staff, by a community network).

A focal point or a community network member files what a complainant told
them (`/console/intake`), or an administrator files a batch of paper forms
(`complaint-gateway intake import`). Both come here: the case is filed on
channel `in_person` with how it was received, in the caller's transaction,
with an audit entry naming who received it. That name is on the case's
"filed" event and in the audit trail, never in the forwarded JSON.

A complainant who wants answers by SMS gives a number: it is kept only the
way every channel keeps a reply address (encrypted, with a pseudonym, while
the case is open), and the messages go out through an SMS provider that is
configured, from the gateway's public SMS number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.cases import audit
from gateway.cases.filing import Receipt, file_report
from gateway.cases.reports import IN_PERSON, NewReport, ReceivedVia
from gateway.core.config import Settings
from gateway.core.models import Case, IntakeImport
from gateway.core.privacy import normalise_address
from gateway.core.providers import installed
from gateway.core.runtime import Gateway

SMS_CHANNEL = "sms"  # the conversation channel whose providers can text a complainant
PUBLIC_SMS_NUMBER = "GATEWAY_PUBLIC_SMS_NUMBER"  # the number messages come from


@dataclass(frozen=True)
class SmsFollowUp:
    """Where answers go when the complainant chose "by SMS to this number"."""

    provider: str
    number: str  # E.164
    sender: str  # the gateway's number, as the SMS channels' reply addresses hold it

    def reply_address(self) -> str:
        """The same opaque form as the SMS channels' (`channels/sms/common.py`)."""
        return json.dumps({"to": self.number, "from": self.sender}, separators=(",", ":"))


def sms_provider(settings: Settings) -> str | None:
    """The first installed SMS provider that can send with these settings, or None.

    Needs the provider's own settings and GATEWAY_PUBLIC_SMS_NUMBER (what the
    complainant will see the messages come from, and can text STATUS to).
    """
    if not settings.get(PUBLIC_SMS_NUMBER):
        return None
    for channel in installed().channels:
        if SMS_CHANNEL not in channel.conversation_channels:
            continue
        for provider in channel.providers:
            if provider.sender and all(settings.get(n) for n in provider.required_settings):
                return provider.name
    return None


def sms_follow_up(settings: Settings, typed: str) -> SmsFollowUp | None:
    """The follow-up for a typed number; None when it is not a phone number or no provider."""
    provider = sms_provider(settings)
    number = normalise_address(typed)
    if provider is None or not number.startswith("+"):
        return None
    return SmsFollowUp(provider, number, str(settings.get(PUBLIC_SMS_NUMBER)))


def file_received(
    session: Session,
    gw: Gateway,
    report: NewReport,
    *,
    received_via: ReceivedVia,
    actor: str,
    source: str,
    sms: SmsFollowUp | None = None,
    source_key: str | None = None,
) -> Receipt:
    """File a report a person received, in the caller's transaction, and audit it.

    `source` is where it was typed (`console`, `import`); `source_key`, for
    an imported row, is remembered in the same transaction (unique), so a
    second import of the row fails on commit instead of filing it twice.
    """
    receipt = file_report(
        session,
        gw,
        report,
        channel=IN_PERSON,
        provider=sms.provider if sms else None,
        sender_pseudonym=gw.pseudonyms.pseudonym(SMS_CHANNEL, sms.number) if sms else None,
        reply_address=sms.reply_address() if sms else None,
        received_via=received_via.value,
        actor=actor,
    )
    if source_key is not None:
        session.add(IntakeImport(source_key=source_key, case_id=receipt.case_id))
        session.flush()
    case = session.get(Case, receipt.case_id)
    assert case is not None
    detail: dict[str, object] = {"received_via": received_via.value, "source": source}
    audit.record(session, actor, "case.intake", case.case_number, detail)
    return receipt
