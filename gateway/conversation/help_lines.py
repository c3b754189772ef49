"""Help for the person who reports, by text (SMS, WhatsApp, Telegram): the services directory.

The first thing a victim needs is help, not a case number. When a directory
is configured (ASSISTANCE_FILE, gateway.core.assistance), the conversation
sends:

- after the receipt, one short message with the first service (medical
  first): name, phone, hours (`after_receipt`, dedupe key `help:<case>`);
- when the reporter answers that someone needs help now, that message at
  once, before the next question (`on_danger`, `help:conversation:<id>`);
  the receipt is then not followed by it a second time;
- for HELP, the services by area, in as few messages as the budget allows,
  then the usage line HELP always gave; `HELP <area>` narrows to one area
  (`answer_help`).

Every message fits its budget: one segment when it is GSM-7, two when a
letter forces UCS-2 (Arabic script), as tests/test_catalogs.py allows for
Arabic. Letters of a service's name that GSM-7 lacks are written without
their accent ("Hôpital" → "Hopital") so that one "ô" does not halve the
segment; what still does not fit loses the hours, then the end of the name,
never the phone number. The words are a health service's, never what was
reported: a shared phone shows them (i18n/discreet-words).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases.outgoing import queue_message
from gateway.conversation.keywords import normalise
from gateway.conversation.segments import GSM7_BASIC, GSM7_EXTENSION, measure
from gateway.core import assistance, i18n
from gateway.core.assistance import Directory, Service
from gateway.core.i18n import _
from gateway.core.models import OutboundMessage
from gateway.core.runtime import Gateway

# Translators: SMS, one SMS; %(service)s is a health service's name, phone number and hours.
# Keep it short and about health: no word of what happened. Discreet: a shared phone shows
# it (docs/languages.md).
FIRST_LINE = _("Free health care, best within 72 hours: %(service)s")
# Translators: SMS, first line of the list of health and support services sent for HELP.
# Discreet: a shared phone shows it (docs/languages.md).
LIST_HEADER = _("Free health care and support. Health care is best within 72 hours.")
# Translators: SMS, last line of the list of services; words in capitals are this language's
# keywords; %(areas)s are place names. Discreet: a shared phone shows it (docs/languages.md).
AREAS_HINT = _("For one place, send HELP and its name: %(areas)s")

MAX_MESSAGES = 4  # a HELP answer: the list, at most this many messages, then the usage line
ELLIPSIS = "."


def budget(text: str) -> int:
    """Segments a help message may take: one in GSM-7, two when UCS-2 (Arabic script)."""
    return 1 if measure(text).encoding == "GSM-7" else 2


def fits(text: str) -> bool:
    return measure(text).count <= budget(text)


def gsm_fold(text: str) -> str:
    """`text` with the accents GSM-7 lacks dropped ("Hôpital" → "Hopital"); others kept."""
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(c in GSM7_BASIC for c in base) else ch)
    return "".join(out)


def service_line(service: Service, hours: bool = True, name_length: int | None = None) -> str:
    """ "District Clinic +000 555 0101 24/7": what a phone shows of one service."""
    name = gsm_fold(service.name)
    if name_length is not None and name_length < len(name):
        name = name[: max(name_length, 1)].rstrip() + ELLIPSIS
    parts = [name, service.phone]
    if hours and service.hours:
        parts.append(gsm_fold(service.hours))
    return " ".join(parts)


def fitted(render: Callable[[str], str], service: Service) -> str:
    """`render(line)` for the longest line of `service` that keeps the message in budget."""
    for hours in (True, False):
        text = render(service_line(service, hours))
        if fits(text):
            return text
    for length in range(len(service.name) - 1, 0, -1):
        text = render(service_line(service, False, length))
        if fits(text):
            return text
    return render(service.phone)


def first_message(directory: Directory, locale: str, area: str | None = None) -> str | None:
    """The one message with the first service (medical first); None without a directory."""
    service = directory.first(area)
    if service is None:
        return None
    template = i18n.gettext(locale, FIRST_LINE)
    return fitted(lambda line: template % {"service": line}, service)


def area_named(directory: Directory, text: str) -> str | None:
    """The directory's area that `text` names (any case, accents or not), else None."""
    wanted = normalise(text)
    if not wanted:
        return None
    for area in directory.areas():
        if normalise(area) == wanted:
            return area
    return None


def area_in(directory: Directory, text: str | None) -> str | None:
    """The directory's area that free text ("near the market, North") mentions, if one."""
    words = f" {' '.join(normalise(text or '').split())} "
    for area in directory.areas():
        name = " ".join(normalise(area).split())
        if name and f" {name} " in words:
            return area
    return None


def _lines(directory: Directory, area: str | None) -> list[tuple[str, Service]]:
    """(area heading, service) in the order they are listed: everywhere first, then by area."""
    if area is not None:
        return [("", s) for s in directory.matching(area)]
    rows: list[tuple[str, Service]] = [("", s) for s in directory.matching() if not s.area]
    for name in directory.areas():
        rows += [(name, s) for s in directory.matching(name) if s.area]
    return rows


def _pack(header: str, rows: list[tuple[str, Service]]) -> list[str]:
    """The rows in as few messages as fit, the header first, an area's heading before it.

    A service that does not fit whole after the header alone is shortened
    there (fitted), so the header never goes out as a message of its own.
    """
    messages: list[str] = []
    current, heading, alone = header, None, True  # alone: nothing under the header yet
    for area, service in rows:
        title = [f"{gsm_fold(area)}:"] if area and area != heading else []
        candidate = "\n".join([current, *title, service_line(service)])
        if fits(candidate):
            current, heading, alone = candidate, area, False
            continue
        if alone:
            before = [current, *title]
        else:
            messages.append(current)
            before = [f"{gsm_fold(area)}:"] if area else []
        current = fitted(lambda line, before=before: "\n".join([*before, line]), service)
        heading, alone = area, False
    messages.append(current)
    return messages


def help_messages(directory: Directory, locale: str, area: str | None = None) -> list[str]:
    """The list of services for HELP (every area, or `area`), before the usage line."""
    rows = _lines(directory, area)
    if not rows:
        return []
    header = i18n.gettext(locale, LIST_HEADER)
    messages = _pack(header, rows)
    areas = directory.areas()
    if area is None and areas:
        hint = _areas_hint(locale, areas)  # last: how to narrow what did not fit
        messages = messages[:MAX_MESSAGES]
        joined = f"{messages[-1]}\n{hint}"
        if fits(joined):
            messages[-1] = joined
        else:
            messages = [*messages[: MAX_MESSAGES - 1], hint]
    return messages[:MAX_MESSAGES]


def _areas_hint(locale: str, areas: list[str]) -> str:
    template = i18n.gettext(locale, AREAS_HINT)
    for count in range(len(areas), 0, -1):
        shown = ", ".join(gsm_fold(a) for a in areas[:count])
        text = template % {"areas": shown + (", ..." if count < len(areas) else "")}
        if fits(text):
            return text
    return template % {"areas": "..."}


def danger_key(conversation_id: int) -> str:
    return f"help:conversation:{conversation_id}"


def receipt_key(case_id: int) -> str:
    return f"help:{case_id}"


def given_during(session: Session, conversation_id: int) -> bool:
    """Whether the help line already went out while the report was being taken (danger)."""
    found = session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.dedupe_key == danger_key(conversation_id))
    )
    return found is not None


def queue_first(
    session: Session,
    gw: Gateway,
    *,
    channel: str,
    provider: str,
    address: str,
    locale: str,
    dedupe_key: str,
    case_id: int | None = None,
    where: str | None = None,
) -> int | None:
    """Store the one help message (once per `dedupe_key`); its id, None when there is none.

    `where` is what the reporter said of the place: a directory area named
    there picks that area's services.
    """
    found = assistance.offered(gw.settings, "help lines")
    if not found:
        return None
    text = first_message(found, locale, area_in(found, where))
    if text is None:
        return None
    return queue_message(
        session,
        gw,
        channel=channel,
        provider=provider,
        address=address,
        text=text,
        dedupe_key=dedupe_key,
        case_id=case_id,
    )
