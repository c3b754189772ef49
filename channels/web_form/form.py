"""The report form's fields: read what was posted into a `NewReport`, or say what is wrong.

Choices arrive as short fixed values and map to the gateway's enums through
the dicts below; anything else counts as "not answered", never as an error,
so an odd browser cannot make a report fail. Files are checked as on every
report form (gateway/intake/form_files.py): by their bytes, nothing decoded
in the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from gateway.cases.allegation import WHO_KEYS
from gateway.cases.reports import Affected, Category, NewAttachment, NewReport
from gateway.intake.form_files import NO_STATEMENT, FormError

CATEGORIES = {c.value: c for c in Category}
AFFECTED = {a.value: a for a in Affected}
YES_NO = {"yes": True, "no": False}
TEXT_FIELDS = ("narrative", "location", "when", "victims")
CHOICE_FIELDS = ("category", "affected", "danger", "follow_up", "personnel_category")
# Who did it: the form offers these (report.html); any other value is "not answered".
PERSONNEL = tuple(WHO_KEYS.values())  # the choices the keypad channels offer too
HONEYPOT = "website2"  # a name no browser autofills; hidden by CSS, labelled "leave empty"


@dataclass
class Posted:
    """The text fields as typed, kept to show the form again after an error."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> Posted:
        names = TEXT_FIELDS + CHOICE_FIELDS
        return cls({name: form.get(name, "").strip() for name in names})

    def choice(self, name: str) -> str:
        return self.values.get(name, "")


def build_report(posted: Posted, attachments: list[NewAttachment], language: str) -> NewReport:
    """The report to file; raises FormError when there is nothing to file."""
    narrative = posted.values.get("narrative", "")
    if not narrative and not attachments:
        raise FormError(NO_STATEMENT, 400)
    return NewReport(
        narrative=narrative,
        language=language,
        category=CATEGORIES.get(posted.choice("category")),
        affected=AFFECTED.get(posted.choice("affected")),
        danger_now=YES_NO.get(posted.choice("danger")),
        location=posted.values.get("location") or None,
        incident_time=posted.values.get("when") or None,
        follow_up=YES_NO.get(posted.choice("follow_up"), False),
        attachments=attachments,
        allegation=_allegation(posted),
    )


def _allegation(posted: Posted) -> dict[str, str | None]:
    """The allegation fields the form asks: who did it (a choice it offers) and how many
    people it happened to (a number; anything else is left out when the case is filed)."""
    answers: dict[str, str | None] = {}
    who = posted.choice("personnel_category")
    if who in PERSONNEL:
        answers["personnel_category"] = who
    if posted.values.get("victims"):
        answers["victims_count"] = posted.values["victims"]
    return answers
