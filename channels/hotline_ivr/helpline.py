"""Help now: the nearest help service read to the caller (ASSISTANCE_FILE).

The first thing a person who reports may need is care: medical care within
72 hours can prevent lasting harm. When a services directory is configured
(gateway.core.assistance), the hotline offers "help now" in the main menu
(key 4: keys 1 to 3 are the contract's) and after the receipt (key 3), and
plays it unasked as soon as a caller says someone is in danger, before the
next question. The help message is in discreet words (a call can be
overheard): care first, then the first medical service's name, its own
words in the caller's language, its number digit by digit, slowly, twice,
and its hours. The hotline does not know where the caller is: it reads the
first medical service of the file, whatever its area (`Directory.first(None)`).
Without a directory the menus are exactly as before.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from gateway.core import assistance
from gateway.core.assistance import Service
from gateway.core.runtime import Gateway

from .steps import Call, ask

MENU_KEY = "4"  # main menu: 1 report, 2 check, 3 how reports are handled (contract)
RECEIPT_KEY = "3"  # after the receipt: 1 hear again, 2 speak to someone (when offered)
AGAIN_KEY = "1"


def service(gw: Gateway) -> Service | None:
    """The service to read, or None without a directory.

    A file broken after start-up (checked then) must not cost the caller the
    rest of the call: it is logged and the menus go on without help.
    """
    return assistance.offered(gw.settings, "ivr").first(None)


def read_help(call: Call, r: VoiceResponse, found: Service) -> None:
    """Care first, then the service: name, own words, number twice, slowly, and hours."""
    speaker = call.speaker
    speaker.prompt(r, "help_care")
    r.pause(length=1)
    speaker.prompt(r, "help_call")
    speaker.say(r, found.name)
    words = found.text_for(call.state.lang)
    if words:
        speaker.say(r, words)
    for _ in range(2):
        r.pause(length=1)
        speaker.prompt(r, "help_number_is")
        r.pause(length=1)
        speaker.digits(r, found.phone)
    if found.hours:
        speaker.prompt(r, "help_hours")
        speaker.say(r, found.hours)


def help_screen(call: Call, r: VoiceResponse, found: Service) -> None:
    """The help message, then 1 to hear it again; anything else goes back (flow.on_help)."""
    read_help(call, r, found)
    ask(call.but(tries=0), r, "help", ["help_again"])
