"""What a webhook answers when a request is not a message to take in.

Each error carries the HTTP answer of the contract: a bad signature or
secret 403, a malformed request 400, something that is not a message (a
delivery report, an edit) 200 with nothing taken in. Kept apart from the
Flask side (`webhooks`): the worker parses Telegram updates it polls with
the same errors and imports no web framework.
"""

from __future__ import annotations

import hmac


class WebhookError(Exception):
    status = 500
    public = "error"


class Forbidden(WebhookError):
    """The signature or shared secret does not verify."""

    status = 403
    public = "forbidden"


class Malformed(WebhookError):
    """The request lacks what identifies a message, or cannot be parsed at all."""

    status = 400

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.public = f"malformed: {field}"


class Ignored(WebhookError):
    """Not a message (delivery report, edit, membership change): 200, nothing stored."""

    status = 200
    public = ""


def secret_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an unset secret matches nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
