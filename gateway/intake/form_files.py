"""The files a person attaches to a report form, checked the same way on every form.

The web form (channels/web_form) and the console's in-person form
(gateway/console/intake_form.py) take the same files with the same limits
and say the same things about them (one set of catalog strings). Files are
checked by their bytes (`gateway.cases.media.check_upload`), never by name
or declared type, and a picture by the size its header gives: nothing is
decoded in the request (a 7 KB PNG can claim 8000x8000 pixels); the worker
cleans the files later.
"""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from gateway.cases.media import ImageTooLarge, UnsupportedMedia, check_upload
from gateway.cases.reports import NewAttachment
from gateway.core.i18n import _

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
    """What must change on the form; `status` is the HTTP answer that goes with it."""

    def __init__(self, message: str, status: int, **values: object) -> None:
        super().__init__(message)
        self.message, self.status, self.values = message, status, values


def read_files(files: list[FileStorage], max_bytes: int) -> list[NewAttachment]:
    """The posted files that are not empty, checked for size and type.

    Raises:
        FormError: too many (400), too big together or a picture of too many
            pixels (413), or a type not taken (415).
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
