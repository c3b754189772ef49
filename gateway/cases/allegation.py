"""The structured allegation fields a mission reports upward (docs/exports.md).

Every field is optional. On the case, None means "not asked"; "unknown"
means asked and not known. Reporters are offered only the short, safe
questions of their channel; focal points complete the rest on the case
page, every change audited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from gateway.core.models import Case

UNKNOWN = "unknown"
ALLEGATION_TYPES = ("sexual_exploitation", "sexual_abuse", "both", "other_misconduct", UNKNOWN)
PERSONNEL_CATEGORIES = (
    "military",
    "police",
    "civilian_staff",
    "un_volunteer",
    "contractor",
    "other",
    UNKNOWN,
)
VICTIM_AGE_GROUPS = ("minor", "adult", UNKNOWN)
PATERNITY_CLAIMS = ("yes", "no", UNKNOWN)

# "Who did it?" as reporters are asked it on a keypad (USSD, hotline) and on the
# web form: the same four choices and "not sure", the same keys on every channel.
WHO_KEYS = {"1": "military", "2": "police", "3": "civilian_staff", "4": "other", "0": UNKNOWN}

CHOICES: dict[str, tuple[str, ...]] = {
    "allegation_type": ALLEGATION_TYPES,
    "personnel_category": PERSONNEL_CATEGORIES,
    "victim_age_group": VICTIM_AGE_GROUPS,
    "paternity_claim": PATERNITY_CLAIMS,
}
FIELDS = (
    "allegation_type",
    "personnel_category",
    "victim_age_group",
    "victims_count",
    "incident_date",
    "incident_area",
    "paternity_claim",
)
MAX_VICTIMS = 999
MAX_AREA = 100
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def _unprintable(char: str) -> bool:
    """A control character or line break, or a direction override that would make the area
    read otherwise in the export and the case page (ZWJ and ZWNJ, needed in some scripts, pass)."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS


# The Unicode bidirectional formatting characters (marks, embeddings, overrides, isolates).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class AllegationError(ValueError):
    """A value the fields do not take; the message names the field."""


def clean(values: Mapping[str, str | None]) -> dict[str, Any]:
    """The fields given in `values`, checked; an empty string clears a field (None)."""
    cleaned: dict[str, Any] = {}
    for name in FIELDS:
        if name not in values:
            continue
        raw = (values[name] or "").strip()
        if not raw:
            cleaned[name] = None
        elif name in CHOICES:
            if raw not in CHOICES[name]:
                raise AllegationError(name)
            cleaned[name] = raw
        elif name == "victims_count":
            # isdecimal, not isdigit: int() takes "٣" but not "²"; and no int() of 5000 digits
            if not raw.isdecimal() or len(raw) > 3 or not 0 < int(raw) <= MAX_VICTIMS:
                raise AllegationError(name)
            cleaned[name] = int(raw)
        elif name == "incident_date":
            if not _DATE.match(raw):
                raise AllegationError(name)
            cleaned[name] = raw
        else:  # incident_area: one line of free text, an area
            if len(raw) > MAX_AREA or any(_unprintable(c) for c in raw):
                raise AllegationError(name)
            cleaned[name] = raw
    return cleaned


def of_case(case: Case) -> dict[str, Any]:
    """The fields as they are on the case (None where not asked)."""
    return {name: getattr(case, name) for name in FIELDS}


def is_urgent(case: Case) -> bool:
    """Urgent for escalation: someone in danger now, or a child involved."""
    return bool(case.danger_now or case.child_involved or case.victim_age_group == "minor")
