"""`POST /tracker/callback`: the case-tracking system sets a status, may leave a message.

Signed like the cases the gateway sends (X-Gateway-Timestamp and
X-Gateway-Signature; more than 5 minutes off either way is refused), with
CASE_TRACKER_CALLBACK_SECRET when it is set and only with it, else with
CASE_TRACKER_SECRET (and a warning at start-up: that secret also signs what
the gateway sends, so anyone who sees one of the gateway's own requests
holds a body signed with the key this endpoint accepts).

The two directions are kept apart in any case: the body must be exactly the
documented object, `case_number` and `status` and optionally `message`, so
a case or a `status_changed` event the gateway sent (which carry other
fields) is refused (400) however it is signed.

Each signed request takes effect at most once: its replay key is claimed in
Redis (SET NX) before anything changes. The same request again while the
first is being processed gets 409 (try again later); once done, 200 and
nothing changes. When processing fails (database away: 503), the key is
released so the tracker's retry is taken. Forged or stale: 403; malformed,
an unknown field or an unknown status: 400; an unknown case: 404; done: 200.
A status set here is not sent back to the tracker.
"""

from __future__ import annotations

import hashlib
import json
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState

from gateway.cases import audit
from gateway.cases.filing import find_case, set_status
from gateway.core.config import Settings
from gateway.core.runtime import Gateway
from gateway.core.states import CaseStatus
from gateway.forwarders.webhook import verify
from gateway.work.reporter import message_reporter

log = logging.getLogger(__name__)

blueprint = Blueprint("tracker_callback", __name__)
MAX_MESSAGE = 2000
REPLAY_KEY = "complaint-gateway:tracker-callback:"
REPLAY_SECONDS = 900  # longer than the 10 minutes a signature can be valid (5 either way)
FIELDS = frozenset({"case_number", "status", "message"})
REQUIRED = frozenset({"case_number", "status"})
ACTOR = "case-tracker"


def callback_secret(settings: Settings) -> str | None:
    """The secret callbacks must be signed with."""
    separate = (settings.get("CASE_TRACKER_CALLBACK_SECRET") or "").strip()
    return separate or settings.case_tracker_secret


@blueprint.record_once
def _warn_shared_secret(state: BlueprintSetupState) -> None:
    settings = state.app.extensions["gateway"].settings
    if settings.case_tracker_secret and callback_secret(settings) == settings.case_tracker_secret:
        log.warning(
            "CASE_TRACKER_CALLBACK_SECRET is not set (or equals CASE_TRACKER_SECRET):"
            " /tracker/callback accepts the secret that also signs what the gateway sends;"
            " set a separate one and give it to the case-tracking system"
        )


def _answer(status: int, error: str | None = None) -> tuple[Response, int]:
    return jsonify({"ok": error is None, "error": error}), status


def _parse(body: bytes) -> tuple[dict[str, object], CaseStatus] | str:
    """The callback's fields, or why it is malformed."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object"
    if not FIELDS.issuperset(data) or not REQUIRED.issubset(data):
        return "body must hold case_number, status and optionally message, and nothing else"
    if not isinstance(data["case_number"], str):
        return "case_number is required"
    try:
        status = CaseStatus(data["status"])
    except ValueError:
        return "status is not one of " + ", ".join(s.value for s in CaseStatus)
    message = data.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE):
        return f"message must be text of at most {MAX_MESSAGE} characters"
    return data, status


@blueprint.post("/tracker/callback")
def callback() -> tuple[Response, int]:
    gw: Gateway = current_app.extensions["gateway"]
    secret = callback_secret(gw.settings)
    body = request.get_data()
    timestamp = request.headers.get("X-Gateway-Timestamp", "")
    signature = request.headers.get("X-Gateway-Signature", "")
    if not secret or not verify(secret, timestamp, body, signature):
        return _answer(403, "signature or timestamp does not verify")
    parsed = _parse(body)
    if isinstance(parsed, str):
        return _answer(400, parsed)
    data, status = parsed
    replay = REPLAY_KEY + hashlib.sha256(signature.encode()).hexdigest()[:32]
    try:
        claimed = gw.redis.set(replay, "processing", nx=True, ex=REPLAY_SECONDS)
        seen = None if claimed else gw.redis.get(replay)
    except Exception as exc:  # noqa: BLE001 - Redis away: nothing changed, the tracker retries
        log.error("tracker callback: replay check failed: %s", type(exc).__name__)
        return _answer(503, "try again later")
    if not claimed:
        if seen in (b"done", "done"):
            return _answer(200)  # the same signed request again: it took effect once
        return _answer(409, "the same callback is being processed; try again later")
    try:
        answer = _apply(gw, str(data["case_number"]), status, data.get("message"))
    except Exception as exc:  # noqa: BLE001 - the database away: released so a retry is taken
        log.error("tracker callback failed: %s", type(exc).__name__)
        answer = _answer(503, "try again later")
    try:
        if answer[1] == 200:
            gw.redis.set(replay, "done", ex=REPLAY_SECONDS)
        else:
            gw.redis.delete(replay)  # nothing changed: the same request may come again
    except Exception as exc:  # noqa: BLE001 - the key expires on its own
        log.error("tracker callback: replay key not updated: %s", type(exc).__name__)
    return answer


def _apply(gw: Gateway, number: str, status: CaseStatus, message: object) -> tuple[Response, int]:
    """Set the status and leave the message; the audit trail records both."""
    with gw.sessions() as session, session.begin():
        case = find_case(session, number, gw.settings.case_number_prefix)
        if case is None:
            return _answer(404, "no such case")
        before = case.status
        event = set_status(session, gw, case, status, actor=ACTOR, tell_tracker=False)
        if event is not None:
            detail = {"from": before, "to": status.value, "event": event.id}
            audit.record(session, ACTOR, "case.status", case.case_number, detail)
        case_id, digits = case.id, case.case_number
    text = message.strip() if isinstance(message, str) else ""
    if text and message_reporter(gw, case_id, text, actor=ACTOR):
        with gw.sessions() as session, session.begin():
            audit.record(session, ACTOR, "case.message", digits)
    return _answer(200)
