"""What the case page's referrals section shows: the words for its fixed values."""

from __future__ import annotations

from gateway.cases.referrals import Kind
from gateway.core.i18n import _

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
