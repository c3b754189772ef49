"""The in-person report form's fields, and the slip handed to the complainant.

The form asks what the web form asks, in the complainant's language (the
same catalog strings, so the same translations), plus how the report was
received and how the complainant wants answers. Files are checked by their
bytes like the web form's (`gateway.cases.media.check_upload`), nothing is
decoded in the request. The slip holds what the complainant needs to come
back and to get help, and nothing about the report itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from gateway.cases import allegation
from gateway.cases.allegation import AllegationError
from gateway.cases.in_person import SmsFollowUp, sms_follow_up
from gateway.cases.reports import Affected, Category, NewAttachment, NewReport, ReceivedVia
from gateway.console.allegation_labels import ERRORS, error_values
from gateway.conversation.keywords import KEYWORDS, Command
from gateway.core import assistance, i18n
from gateway.core.config import Settings
from gateway.core.i18n import _
from gateway.intake.form_files import NO_STATEMENT, FormError

CATEGORIES = {c.value: c for c in Category}
AFFECTED = {a.value: a for a in Affected}
RECEIVED = {r.value: r for r in ReceivedVia}
YES_NO = {"yes": True, "no": False}
FOLLOW_UP = ("no", "focal_point", "sms")
TEXT_FIELDS = {"narrative": 20_000, "location": 300, "when": 200, "phone": 40}
CHOICE_FIELDS = ("category", "affected", "danger", "follow_up", "received_via")
MAX_ALLEGATION = 200  # kept as typed up to this; still too long for any field, so refused

NO_SMS = _("Answers by SMS are not possible here: no SMS service is set up. Choose another way.")
BAD_PHONE = _("Type the phone number with its country code, for example +236 70 00 00 00.")


@dataclass
class Posted:
    """The fields as typed, to show the form again after an error."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> Posted:
        values = {name: form.get(name, "").strip()[:limit] for name, limit in TEXT_FIELDS.items()}
        values.update({name: form.get(name, "").strip()[:40] for name in CHOICE_FIELDS})
        values.update(
            {name: form.get(name, "").strip()[:MAX_ALLEGATION] for name in allegation.FIELDS}
        )
        return cls(values)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@dataclass(frozen=True)
class Filing:
    """What the form asks to file."""

    report: NewReport
    received_via: ReceivedVia
    sms: SmsFollowUp | None


def build(
    posted: Posted, attachments: list[NewAttachment], language: str, settings: Settings
) -> Filing:
    """The report to file; FormError (400) for what the person must change."""
    received = RECEIVED.get(posted.get("received_via"))
    follow = posted.get("follow_up") or "no"
    if received is None or follow not in FOLLOW_UP:
        raise FormError("", 400)  # the selects send one of their options: not from this form
    if not posted.get("narrative") and not attachments:
        raise FormError(NO_STATEMENT, 400)
    sms = None
    if follow == "sms":
        sms = sms_follow_up(settings, posted.get("phone"))
        if sms is None:
            raise FormError(BAD_PHONE if posted.get("phone") else NO_SMS, 400)
    typed = {name: posted.get(name) for name in allegation.FIELDS}
    try:
        allegation.clean(typed)
    except AllegationError as exc:
        field_name = str(exc)

        def translate(message: str, /, **values: object) -> str:
            return i18n.gettext(language, message, **values)

        raise FormError(ERRORS[field_name], 400, **error_values(field_name, translate)) from None
    report = NewReport(
        narrative=posted.get("narrative"),
        language=language,
        category=CATEGORIES.get(posted.get("category")),
        affected=AFFECTED.get(posted.get("affected")),
        danger_now=YES_NO.get(posted.get("danger")),
        location=posted.get("location") or None,
        incident_time=posted.get("when") or None,
        follow_up=follow != "no",
        attachments=attachments,
        allegation={name: value for name, value in typed.items() if value},
    )
    return Filing(report, received, sms)


@dataclass(frozen=True)
class HelpLine:
    name: str
    phone: str
    hours: str
    text: str


@dataclass(frozen=True)
class Slip:
    """What the printable slip shows: how to come back, and where to get help."""

    case_number: str
    pin: str
    status_url: str
    sms_number: str | None
    status_word: str
    phone_number: str | None
    help_lines: tuple[HelpLine, ...]


def group_digits(pin: str) -> str:
    """`123456` -> `123 456`: easier to read out and to copy by hand."""
    return " ".join(pin[i : i + 3] for i in range(0, len(pin), 3))


def known_area(settings: Settings, typed: str) -> str | None:
    """The directory's area named in what was typed ("near the market, Bangui" -> Bangui)."""
    folded = typed.casefold()
    for area in assistance.offered(settings, "intake slip").areas():
        if area.casefold() in folded:
            return area
    return None


def slip(settings: Settings, case_number: str, pin: str, language: str, area: str) -> Slip:
    """The slip's content; help lines from ASSISTANCE_FILE that fit the area, medical first."""
    words = KEYWORDS.get(language, KEYWORDS["en"])
    base = (settings.public_base_url or "").rstrip("/")
    services = assistance.offered(settings, "intake slip").matching(known_area(settings, area))
    return Slip(
        case_number=case_number,
        pin=group_digits(pin),
        status_url=f"{base}/status",
        sms_number=settings.get("GATEWAY_PUBLIC_SMS_NUMBER") or None,
        status_word=words[Command.STATUS][0].upper(),
        phone_number=settings.get("GATEWAY_PUBLIC_PHONE_NUMBER") or None,
        help_lines=tuple(
            HelpLine(s.name, s.phone, s.hours, s.text_for(language)) for s in services[:4]
        ),
    )
