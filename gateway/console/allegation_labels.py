"""The words for the structured allegation fields (gateway.cases.allegation), in one place.

The case page, the in-person form and anything else that shows the fields
to a person take their labels from here; files and exports write the codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.cases.allegation import CHOICES, FIELDS, MAX_AREA, MAX_VICTIMS, UNKNOWN
from gateway.core.i18n import _

FIELD_LABELS = {
    "allegation_type": _("Type of allegation"),
    "personnel_category": _("Category of personnel"),
    "victim_age_group": _("Age group of the victims"),
    "victims_count": _("Number of victims"),
    "incident_date": _("Date of the incident"),
    "incident_area": _("Area of the incident"),
    "paternity_claim": _("Paternity or child-support claim"),
}
NOT_ASKED = _("Not asked")
UNKNOWN_LABEL = _("Unknown")
VALUE_LABELS: dict[str, dict[str, str]] = {
    "allegation_type": {
        "sexual_exploitation": _("Sexual exploitation"),
        "sexual_abuse": _("Sexual abuse"),
        "both": _("Both sexual exploitation and abuse"),
        "other_misconduct": _("Other misconduct"),
        UNKNOWN: UNKNOWN_LABEL,
    },
    "personnel_category": {
        "military": _("Military"),
        "police": _("Police"),
        "civilian_staff": _("Civilian staff"),
        "un_volunteer": _("UN volunteer"),
        "contractor": _("Contractor"),
        "other": _("Other personnel"),
        UNKNOWN: UNKNOWN_LABEL,
    },
    "victim_age_group": {
        "minor": _("Minor (under 18)"),
        "adult": _("Adult"),
        UNKNOWN: UNKNOWN_LABEL,
    },
    "paternity_claim": {"yes": _("yes"), "no": _("no"), UNKNOWN: UNKNOWN_LABEL},
}

DATE_HINT = _("YYYY, YYYY-MM or YYYY-MM-DD")
# What a bad value is told, per field; %(field)s is the field's label.
ERRORS = {
    **dict.fromkeys(CHOICES, _("%(field)s: choose one of the values offered.")),
    "victims_count": _("%(field)s: give a whole number from 1 to %(max)s, or leave it empty."),
    "incident_date": _("%(field)s: give YYYY, YYYY-MM or YYYY-MM-DD, or leave it empty."),
    "incident_area": _(
        "%(field)s: give one line of at most %(max)s characters, or leave it empty."
    ),
}
LIMITS = {"victims_count": MAX_VICTIMS, "incident_area": MAX_AREA}


def shown(field: str, value: object, translate: Callable[[str], str]) -> str:
    """`value` of `field` as a person reads it; a number, a date or an area as it is."""
    if value is None:
        return translate(NOT_ASKED)
    labels = VALUE_LABELS.get(field, {})
    return translate(labels[value]) if value in labels else str(value)


def error_values(field: str, translate: Callable[..., str]) -> dict[str, object]:
    """The values of `field`'s error message: its label translated, and its limit."""
    limit = {"max": LIMITS[field]} if field in LIMITS else {}
    return {"field": translate(FIELD_LABELS[field]), **limit}


def error(field: str, translate: Callable[..., str]) -> str:
    """What the person is told about a bad value of `field`, naming the field."""
    return translate(ERRORS[field], **error_values(field, translate))


@dataclass(frozen=True)
class FormField:
    """One field as a form shows it: label and options as message ids, the value as typed."""

    name: str
    label: str
    value: str  # "" when not asked
    options: tuple[tuple[str, str], ...]  # (code, label); empty for a typed field
    hint: str | None = None
    limit: int | None = None


def form_fields(values: Mapping[str, Any]) -> list[FormField]:
    """The seven fields with `values` (a case's, or a form's as typed) filled in."""
    hints = {"incident_date": DATE_HINT}
    fields = []
    for name in FIELDS:
        value = values.get(name)
        fields.append(
            FormField(
                name=name,
                label=FIELD_LABELS[name],
                value="" if value is None else str(value),
                options=tuple(VALUE_LABELS.get(name, {}).items()),
                hint=hints.get(name),
                limit=LIMITS.get(name),
            )
        )
    return fields
