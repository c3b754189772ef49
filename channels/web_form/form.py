"""The report form's fields: read what was posted into a `NewReport`, or say what is wrong.

Choices arrive as short fixed values and map to the gateway's enums through
the dicts below; anything else counts as "not answered", never as an error,
so an odd browser cannot make a report fail. Files are checked by their
bytes (`gateway.cases.media.check_upload`), never by name or declared type, and a
picture by the size its header gives: nothing is decoded in the request (a
7 KB PNG can claim 8000x8000 pixels); the worker cleans the files later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import FileStorage, MultiDict

from gateway.cases.media import ImageTooLarge, UnsupportedMedia, check_upload
from gateway.cases.reports import Affected, Category, NewAttachment, NewReport
from gateway.core.i18n import _

CATEGORIES = {c.value: c for c in Category}
AFFECTED = {a.value: a for a in Affected}
YES_NO = {"yes": True, "no": False}
TEXT_FIELDS = ("narrative", "location", "when")
CHOICE_FIELDS = ("category", "affected", "danger", "follow_up")
HONEYPOT = "website2"  # a name no browser autofills; hidden by CSS, labelled "leave empty"
MAX_FILES = 5

NO_STATEMENT = _("Please write what happened, or add a file.")
BAD_FILE = _(
    "One of the files cannot be taken. "
    "Please send only photos, sound recordings, videos (MP4) or PDF."
)
TOO_MANY_PIXELS = _(
    "One of the photos is too large to take. Please send a smaller photo, or a screenshot of it."
)
TOO_BIG = _("The files are too big. Together they must be under %(size)s MB.")
TOO_MANY = _("Please add at most %(count)s files.")


class FormError(Exception):
    """What the reporter must change; `status` is the HTTP answer that goes with it."""

    def __init__(self, message: str, status: int, **values: object) -> None:
        super().__init__(message)
        self.message, self.status, self.values = message, status, values


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


def read_files(files: list[FileStorage], max_bytes: int) -> list[NewAttachment]:
    """The posted files that are not empty, checked for size and type.

    Raises:
        FormError: too many, too big together or a picture of too many pixels
            (413), or a type not taken (415).
    """
    attachments: list[NewAttachment] = []
    total = 0
    for storage in files:
        data = storage.read(max_bytes + 1)
        if not data:
            continue  # an empty file input
        total += len(data)
        if total > max_bytes:
            raise FormError(TOO_BIG, 413, size=max(1, max_bytes // (1024 * 1024)))
        if len(attachments) >= MAX_FILES:
            raise FormError(TOO_MANY, 400, count=MAX_FILES)
        try:
            kind = check_upload(data)
        except ImageTooLarge:
            raise FormError(TOO_MANY_PIXELS, 413) from None
        except UnsupportedMedia:
            raise FormError(BAD_FILE, 415) from None
        attachments.append(NewAttachment(content_type=kind, data=data))
    return attachments


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
    )
