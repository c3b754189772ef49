"""The help block of the receipt and status pages: services of the directory (ASSISTANCE_FILE).

The first thing a victim needs is help: the pages list the services that
fit (the reporter's area when the place they typed names one of the
directory's areas, else every service), medical first, under the urgent
message about care within 72 hours (shown with every list: it is
about seeing a doctor or nurse, listed or not). When the reporter said someone is in
danger, the receipt page shows the block before the case number. At most
`MAX_SHOWN` services, so the page stays within its weight budget on 2G
(tests/channels/web_form/test_pages.py); HELP by SMS lists them all by area.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.conversation.help_lines import area_in
from gateway.core import assistance
from gateway.core.assistance import Kind
from gateway.core.i18n import _
from gateway.core.runtime import Gateway

from .pages import locale, t

MAX_SHOWN = 6

TITLE = _("Help you can get now")
URGENT = _(
    "If someone was hurt, see a doctor or nurse as soon as possible, within 72 hours "
    "(3 days): care in that time can prevent HIV and pregnancy."
)
FREE_TO_ASK = _("These services help anyone who asks, with or without a report.")
KINDS = {
    Kind.MEDICAL: _("Health care"),
    Kind.PSYCHOSOCIAL: _("Someone to talk to"),
    Kind.SAFETY: _("Safety"),
    Kind.SHELTER: _("A safe place to stay"),
    Kind.LEGAL: _("Legal advice"),
}


@dataclass(frozen=True)
class Shown:
    """One service as a page shows it, in the page's language."""

    name: str
    kind: str
    phone: str
    dial: str  # for the tel: link
    hours: str
    text: str


@dataclass(frozen=True)
class Block:
    """The help block of a page: its texts and services; empty without a directory."""

    title: str = ""
    urgent: str = ""
    note: str = ""
    services: tuple[Shown, ...] = ()


def area_of(gw: Gateway, where: str | None) -> str:
    """The directory's area that the place a reporter typed names, or "" (every area)."""
    found = assistance.offered(gw.settings, "web form")
    return (area_in(found, where) or "") if found else ""


def block(gw: Gateway, area: str = "") -> Block | None:
    """The help block for a page (`area`: one of the directory's, "" for all); None without one."""
    found = assistance.offered(gw.settings, "web form")
    if not found:
        return None
    current = locale()
    services = found.matching(area or None)[:MAX_SHOWN]
    if not services:
        return None
    shown = tuple(
        Shown(
            name=s.name,
            kind=t(KINDS[s.kind]),
            phone=s.phone,
            dial=s.dial_digits,
            hours=s.hours,
            text=s.text_for(current),
        )
        for s in services
    )
    return Block(t(TITLE), t(URGENT), t(FREE_TO_ASK), shown)
