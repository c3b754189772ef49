"""The hotline's HTTP side: Twilio's voice webhooks and the prompt audio files.

- `POST /ivr/twilio/voice`: an incoming call (the number's "A call comes
  in" webhook); later steps under `/ivr/twilio/<step>` (the TwiML action
  URLs the flow writes).
- `POST /ivr/twilio/status`: call and recording status callbacks.
- `GET /ivr/audio/<locale>/<prompt>.wav` (or `.mp3`): recorded prompts,
  public, no data: the one uploaded in the console first, else the file.

Every webhook must carry a valid X-Twilio-Signature for PUBLIC_BASE_URL +
path + query (channels/twilio_signature.py): otherwise 403 and nothing
changes. Webhook requests: https://www.twilio.com/docs/usage/webhooks/voice-webhooks
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, abort, current_app, request, send_file
from sqlalchemy.exc import SQLAlchemyError
from twilio.twiml.voice_response import VoiceResponse

from channels.twilio_signature import signature_valid
from gateway.cases import voice_prompts
from gateway.core.runtime import Gateway
from gateway.intake.metrics import observe
from gateway.intake.webhook_errors import Forbidden, Malformed

from . import flow, prompts
from .calls import CallState, locales_offered
from .filing import on_call_status
from .steps import Call, goodbye

log = logging.getLogger(__name__)

blueprint = Blueprint("hotline_ivr", __name__)
AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg"}
# An uploaded recording's URL carries its version (`?v=`): that URL never changes content.
VERSIONED_MAX_AGE = 86400


def _gateway() -> Gateway:
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


def twiml(response: VoiceResponse, status: int = 200) -> Response:
    return Response(str(response), status=status, mimetype="text/xml")


def refused(error: Forbidden | Malformed) -> Response:
    log.info("ivr webhook refused: %s", error.status)
    return Response(error.public, status=error.status, mimetype="text/plain")


def verify(gw: Gateway) -> None:
    if not signature_valid(request, gw.settings):
        raise Forbidden()


@blueprint.post("/ivr/twilio/status")
def status_callback() -> Response:
    gw = _gateway()
    started = time.perf_counter()
    try:
        verify(gw)
        if not request.form.get("CallSid"):
            raise Malformed("CallSid")
    except (Forbidden, Malformed) as error:
        return refused(error)
    on_call_status(gw, request.form.to_dict())
    observe(gw, "ivr_twilio_status", time.perf_counter() - started)
    return twiml(VoiceResponse())


@blueprint.post("/ivr/twilio/<step>")
def call_step(step: str) -> Response:
    handler = flow.STEPS.get(step)
    if handler is None:
        abort(404)
    gw = _gateway()
    started = time.perf_counter()
    try:
        verify(gw)
    except Forbidden as error:
        return refused(error)
    locales = locales_offered(gw.settings.locales)
    state = CallState.from_args(request.args.to_dict(), locales)
    call = Call(gw, state, request.form.to_dict(), locales)
    try:
        response = handler(call)
    except Exception as exc:  # noqa: BLE001 - the caller hears an apology, never silence
        log.error("ivr step %s failed: %s", step, type(exc).__name__)
        response = goodbye(call, VoiceResponse(), "try_later")
    observe(gw, "ivr_twilio", time.perf_counter() - started)
    return twiml(response)


@blueprint.get("/ivr/audio/<locale>/<name>")
def audio(locale: str, name: str) -> Response:
    """A recorded prompt; Twilio fetches it for <Play> and may cache it for an hour."""
    prompt_id, dot, extension = name.rpartition(".")
    if not dot or f".{extension}" not in AUDIO_TYPES:
        abort(404)
    uploaded = _uploaded(locale, prompt_id)
    if uploaded is not None:
        stored, data = uploaded
        if stored.extension != f".{extension}":
            abort(404)
        response = Response(data, mimetype=stored.content_type)
        if request.args.get("v") == stored.version:
            response.headers["Cache-Control"] = f"public, max-age={VERSIONED_MAX_AGE}"
        else:  # an old or missing version: whatever is current, checked every time
            response.headers["Cache-Control"] = "no-cache"
        response.headers["ETag"] = f'"{stored.sha256[:32]}"'
        return response
    path = prompts.audio_file(_gateway().settings, locale, prompt_id)
    if path is None or path.suffix != f".{extension}":
        abort(404)
    return send_file(path, mimetype=AUDIO_TYPES[path.suffix], max_age=3600)


def _uploaded(locale: str, prompt_id: str) -> tuple[voice_prompts.StoredPrompt, bytes] | None:
    """The recording uploaded in the console; None without one, or when the database is down."""
    try:
        return voice_prompts.get(_gateway(), locale, prompt_id)
    except SQLAlchemyError as exc:
        log.error("ivr audio: uploaded prompts not readable (%s)", type(exc).__name__)
        return None
