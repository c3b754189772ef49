"""`POST /tracker/callback`: the case-tracking system sets a status, may leave a message.

Signed like the cases the gateway sends (X-Gateway-Timestamp and
X-Gateway-Signature with CASE_TRACKER_SECRET; more than 5 minutes off either
way is refused). Forged or stale: 403; malformed or an unknown status: 400;
an unknown case: 404; done: 200. A status set here is not sent back to the
tracker. A replayed request (same signature) changes nothing twice.
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, jsonify, request

from .cases import find_case, set_status
from .forwarders.webhook import verify
from .mailbox import message_reporter
from .models import CaseStatus
from .runtime import Gateway

blueprint = Blueprint("tracker_callback", __name__)
MAX_MESSAGE = 2000
REPLAY_KEY = "complaint-gateway:tracker-callback:"


def _answer(status: int, error: str | None = None) -> tuple[Response, int]:
    return jsonify({"ok": error is None, "error": error}), status


@blueprint.post("/tracker/callback")
def callback() -> tuple[Response, int]:
    gw: Gateway = current_app.extensions["gateway"]
    secret = gw.settings.case_tracker_secret
    body = request.get_data()
    timestamp = request.headers.get("X-Gateway-Timestamp", "")
    signature = request.headers.get("X-Gateway-Signature", "")
    if not secret or not verify(secret, timestamp, body, signature):
        return _answer(403, "signature or timestamp does not verify")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "body is not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("case_number"), str):
        return _answer(400, "case_number is required")
    try:
        status = CaseStatus(data.get("status"))
    except ValueError:
        return _answer(400, "status is not one of " + ", ".join(s.value for s in CaseStatus))
    message = data.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE):
        return _answer(400, f"message must be text of at most {MAX_MESSAGE} characters")
    replay = REPLAY_KEY + hashlib.sha256(signature.encode()).hexdigest()[:32]
    if gw.redis.exists(replay):
        return _answer(200)
    with gw.sessions() as session, session.begin():
        case = find_case(session, data["case_number"], gw.settings.case_number_prefix)
        if case is None:
            return _answer(404, "no such case")
        set_status(session, gw, case, status, actor="case-tracker", tell_tracker=False)
        case_id = case.id
    if message and message.strip():
        message_reporter(gw, case_id, message.strip(), actor="case-tracker")
    gw.redis.set(replay, "1", ex=900)
    return _answer(200)
