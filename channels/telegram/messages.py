"""What the Telegram channel says on its own, in gettext (the i18n catalogs translate it).

The conversation's questions, receipt and answers come from the shared
engine (gateway/conversation/engine.py); these are the few Telegram-only messages:
how to remove the chat from the phone after the receipt, the button that
deletes the chat's messages, and the file-size limit.
"""

from __future__ import annotations

from gateway.core.i18n import _

# Translators: added under the receipt on Telegram; the button below it is FORGET_BUTTON.
# Discreet: a shared phone shows it (docs/languages.md).
FORGET_HINT = _(
    "Write the case number and PIN down somewhere safe first. Then press the button "
    "below to delete our messages and yours from this chat. After that, delete the "
    "chat too: press and hold it in your list of chats, then choose Delete."
)
# Translators: a Telegram button, a few words.
FORGET_BUTTON = _("Delete these messages")
# Translators: a Telegram pop-up after the messages were deleted; under 200 characters.
FORGOTTEN = _(
    "The messages are deleted. Now delete this chat from your list of chats: "
    "press and hold it, then choose Delete."
)
# Translators: a Telegram message; %(limit)s is a whole number of megabytes.
# Discreet: a shared phone shows it (docs/languages.md).
TOO_LARGE = _(
    "This file is too large for us to receive (the limit is %(limit)s MB). We keep the rest "
    "of your message. You can send a smaller file, or tell us in words."
)
