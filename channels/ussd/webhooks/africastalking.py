"""Africa's Talking USSD: `POST /ussd/africastalking?key=SECRET`, answered at once.

https://developers.africastalking.com/docs/ussd/overview: for every screen
of a session Africa's Talking POSTs a form (`sessionId`, `serviceCode`,
`phoneNumber`, `networkCode`, `text`: every input of the session so far,
joined by `*`) and shows the answer's body, `text/plain`, on the phone:
`CON …` for a screen that waits for an input, `END …` for the last one.

It does not sign its requests: the callback URL carries a shared secret
(`AFRICASTALKING_CALLBACK_KEY`, the same as its SMS callbacks), compared in
constant time; a wrong or missing key gets 403 and nothing is stored. The
receipt of a session cut after the statement goes by SMS through the SMS
channel's Africa's Talking sender (provider `africastalking`), and only if
the reporter agreed. Set-up: docs/providers/africastalking-ussd.md.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, request

from channels.ussd import menu, session
from channels.ussd.africastalking import KEY_SETTING, PATH, SMS_PROVIDER
from gateway.core.privacy import normalise_address
from gateway.core.runtime import Gateway
from gateway.intake.metrics import observe
from gateway.intake.webhook_errors import secret_matches

log = logging.getLogger(__name__)

MAX_BODY = 32 * 1024  # bytes: a session's inputs, many screens of free text, fit well within
MAX_SESSION_ID = 128
MAX_TEXT = 20_000


def _plain(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def ussd() -> Response:
    gw: Gateway = current_app.extensions["gateway"]
    started = time.perf_counter()
    if not secret_matches(request.args.get("key"), gw.settings.get(KEY_SETTING)):
        log.info("ussd request refused: 403")
        return _plain("forbidden", 403)
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _plain("too large", 413)
    form = request.form
    session_id = (form.get("sessionId") or "").strip()
    phone = (form.get("phoneNumber") or "").strip()
    text = form.get("text")
    if not session_id or len(session_id) > MAX_SESSION_ID:
        return _plain("malformed: sessionId", 400)
    if not phone:
        return _plain("malformed: phoneNumber", 400)
    if text is None or len(text) > MAX_TEXT or "\x00" in text:
        return _plain("malformed: text", 400)
    req = session.Request(
        session_id=session_id,
        phone=normalise_address(phone),
        text=text,
        provider=SMS_PROVIDER,
    )
    try:
        screen = session.answer(gw, req)
    except Exception as exc:  # noqa: BLE001 - the phone gets a screen, never a stack trace
        log.error("ussd: request failed: %s", type(exc).__name__)
        screen = menu.ending("en", menu.TRY_LATER)
    observe(gw, "ussd_africastalking", time.perf_counter() - started)
    return _plain(screen.body)


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule(PATH, "ussd_africastalking", ussd, methods=["POST"])
