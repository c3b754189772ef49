"""A stand-in case-tracking system for `complaint-gateway demo` only.

When the demo runs without CASE_TRACKER_URL it points the webhook forwarder
here, so forwarding (signature, retries, states) works end to end on one
machine. It verifies the signature and keeps nothing but a count.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from gateway.forwarders.webhook import verify

blueprint = Blueprint("demo_tracker", __name__)


@blueprint.post("/_demo/tracker")
def receive() -> tuple[Response | str, int]:
    settings = current_app.extensions["gateway"].settings
    ok = verify(
        settings.case_tracker_secret or "",
        request.headers.get("X-Gateway-Timestamp", ""),
        request.get_data(),
        request.headers.get("X-Gateway-Signature", ""),
    )
    if not ok:
        return "bad signature", 403
    return "", 204
