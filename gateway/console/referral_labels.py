"""What the case page's referrals section shows: the words for fixed values, the services."""

from __future__ import annotations

import logging

from gateway.cases.referrals import Kind
from gateway.core import assistance
from gateway.core.assistance import Directory
from gateway.core.config import ConfigError, Settings
from gateway.core.i18n import _

log = logging.getLogger(__name__)

KIND_LABELS = {
    Kind.MEDICAL.value: _("Medical care"),
    Kind.PSYCHOSOCIAL.value: _("Psychosocial support"),
    Kind.LEGAL.value: _("Legal aid"),
    Kind.SAFETY.value: _("Safety and protection"),
    Kind.SHELTER.value: _("Shelter"),
    Kind.OTHER.value: _("Other help"),
}
DECISION_LABELS = {
    "offered": _("Offered, no answer yet"),
    "accepted": _("Accepted"),
    "declined": _("Declined"),
}
RECEIVED_LABELS = {
    "unknown": _("Not known yet"),
    "yes": _("Assistance received"),
    "no": _("Assistance not received"),
}
LABELS = {"kind": KIND_LABELS, "decision": DECISION_LABELS, "received": RECEIVED_LABELS}


def services(settings: Settings) -> Directory:
    """The services for the pick list (ASSISTANCE_FILE).

    The file was checked at start-up; one broken since then gives the free
    text field and a warning in the log, never a case page that fails.
    """
    try:
        return assistance.directory(settings)
    except ConfigError as exc:
        log.warning("referrals: no pick list of services: %s", exc)
        return assistance.EMPTY
