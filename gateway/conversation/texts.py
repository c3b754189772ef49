"""Every text the conversation sends, and the questions it asks in order.

Kept apart from the engine so that a channel (Telegram's buttons, through
gateway.conversation.prompts), the reporter's mailbox and the catalogs'
tests read the texts without the engine. Each `_()` marks a msgid for
`make i18n-extract`; its `# Translators:` comment must stay right above it.
The replies never repeat what the report said (docs/languages.md).
"""

from __future__ import annotations

from typing import Any

from gateway.cases.filing import Receipt
from gateway.cases.reports import Affected
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.states import CaseStatus

# Translators: SMS reply, one SMS; words in capitals are this language's keywords.
# Discreet: a shared phone shows it (docs/languages.md).
HELP = _(
    "Send us a message in your own words. Free, no name needed. "
    "To check: STATUS case PIN. To stop: STOP"
)
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
ASK_STATEMENT = _("Tell us what happened, in your own words. You do not need to give your name.")
# No question asks what kind of wrong it was: any answer would name it on the phone,
# so the focal point categorises (Case.category stays empty, "Not given" in the console).
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_AFFECTED = _("Who is this about? 1 Me 2 Someone else. 0 skip")
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_DANGER = _("Is it urgent: does someone need help now? 1 Yes 2 No. 0 skip")
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
ASK_WHERE_WHEN = _("Where and when did it happen? Send a short message, or 0 to skip.")
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_FOLLOW_UP = _("May we write to you again on this number, with news or a question? 1 Yes 2 No")
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
INVALID_CHOICE = _("Please answer with one of the numbers, or 0 to skip.")
# Translators: SMS reply, one SMS; its last sentence is said the same way in every reply that
# ends an exchange. Discreet: a shared phone shows it (docs/languages.md).
STOPPED = _(
    "You will get no more messages from us. What you sent is kept. To write again, "
    "send a message. You can delete these messages."
)
# Translators: SMS reply, one SMS; words in capitals are this language's keywords.
# Discreet: a shared phone shows it (docs/languages.md).
STATUS_USAGE = _("To check, send: STATUS case-number PIN")
# Translators: SMS reply, one SMS; the last sentence as in STOP's answer.
# Discreet: a shared phone shows it (docs/languages.md).
STATUS_WRONG = _(
    "We did not find this case number and PIN. Check them and send again. "
    "You can delete these messages."
)
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
STATUS_LOCKED = _("Too many tries. Please wait 30 minutes, then try again.")
# Translators: SMS; %(status)s is one of the status names below; the last sentence as in
# STOP's answer. Discreet: a shared phone shows it (docs/languages.md).
STATUS_FOUND = _("Case %(case)s: %(status)s. You can delete these messages.")
# Translators: SMS; %(message)s is the focal point's own text; the last line as in STOP's
# answer. Discreet: a shared phone shows it (docs/languages.md).
STATUS_FOUND_MESSAGE = _(
    "Case %(case)s: %(status)s. Message: %(message)s\nYou can delete these messages."
)
# Translators: SMS reply, one SMS; the last sentence as in STOP's answer.
# Discreet: a shared phone shows it (docs/languages.md).
REPLY_ADDED = _("Thank you. Your answer was added to case %(case)s. You can delete these messages.")
# Translators: SMS; name YOUR language ("We will write to you in Swahili").
LANGUAGE_SET = _("We will write to you in English.")
# Translators: SMS reply, one SMS; words in capitals are this language's keywords.
LANGUAGE_CHOICES = _("Send LANGUAGE and one of: %(codes)s")
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
BUSY = _("We cannot take new messages right now. Please try again in one hour.")
# Translators: SMS, keep under 160 characters; %(case)s and %(pin)s are digits; the last
# sentence as in the answer to STOP. Discreet: a shared phone shows it (docs/languages.md).
RECEIPT = _(
    "Received. Case %(case)s PIN %(pin)s. Keep them secret. "
    "To check: STATUS %(case)s %(pin)s. You can delete these messages."
)

STATUS_NAMES = {
    # Translators: a report's status, in "Case 2026-000123-4: <status>." by SMS.
    # Discreet: a shared phone shows it (docs/languages.md).
    CaseStatus.RECEIVED.value: _("received"),
    CaseStatus.UNDER_REVIEW.value: _("being looked at"),
    CaseStatus.IN_PROGRESS.value: _("in progress"),
    CaseStatus.REFERRED.value: _("passed to a service that can help"),
    CaseStatus.CLOSED.value: _("closed"),
}

QUESTIONS: dict[str, str] = {
    "affected": ASK_AFFECTED,
    "danger": ASK_DANGER,
    "where_when": ASK_WHERE_WHEN,
    "follow_up": ASK_FOLLOW_UP,
}
ORDER = ["statement", *QUESTIONS, "done"]
CHOICES: dict[str, dict[str, Any]] = {
    "affected": {"1": Affected.SELF.value, "2": Affected.SOMEONE_ELSE.value},
    "danger": {"1": True, "2": False},
    "follow_up": {"1": True, "2": False},
}
YES_NO_STEPS = {"danger", "follow_up"}


def receipt_text(locale: str, receipt: Receipt) -> str:
    """The one message with case number and PIN; it never repeats the report."""
    return i18n.gettext(locale, RECEIPT, case=receipt.case_number, pin=receipt.pin)
