"""`/demo/ivr`: the hotline in a browser, for `complaint-gateway demo` only.

The page plays Twilio's part of a call: it sends each step as a signed
request (X-Twilio-Signature over PUBLIC_BASE_URL + path, with the
configured TWILIO_AUTH_TOKEN) to the real endpoints, reads the TwiML they
answer, and shows it: what the caller hears as text (with the audio where
a prompt file exists), a `<Gather>` as keypad buttons, a `<Record>` as a
file upload, a `<Dial>` as "answered / no answer". No JavaScript.

The uploaded statement is kept by a stand-in for Twilio's Recordings API
(`/demo/twilio-api/2010-04-01/Accounts/<sid>/Recordings/<sid>`, basic auth
checked, GET and DELETE), encrypted under the data directory, so the
worker fetches and deletes it exactly as it would at Twilio. `demo` points
TWILIO_API_BASE_URL there when no Twilio account is configured.
Everything here answers 404 unless GATEWAY_DEMO_TRACKER is "1".
"""

from __future__ import annotations

import io
import secrets
import wave
import xml.etree.ElementTree as ET  # noqa: S405 - parses TwiML this app wrote
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, render_template_string, request, session
from twilio.request_validator import RequestValidator

from channels.twilio_account import api_base
from gateway.cases.media import sniff
from gateway.core.runtime import Gateway

from . import prompts

API_PREFIX = "/demo/twilio-api"
HOTLINE_NUMBER = "+243810009999"  # made up: the number the demo caller dials
RECORDINGS_DIR = "demo-twilio-recordings"
AUDIO_KINDS = {"audio/wav", "audio/mpeg", "audio/ogg", "audio/amr", "audio/mp4"}


@dataclass
class Screen:
    """What the caller hears and what they can do next."""

    heard: list[tuple[str, str | None]] = field(default_factory=list)  # (text, audio URL)
    expect: str = "ended"  # "key", "keys", "record", "dial", "ended"
    action: str = ""  # path + query the answer goes to
    silence: str = ""  # where silence leads (the <Redirect> after it)
    dial_to: str = ""


def _gw() -> Gateway:
    gw: Gateway = current_app.extensions["gateway"]
    if gw.settings.get("GATEWAY_DEMO_TRACKER") != "1":
        abort(404)
    return gw


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _send(gw: Gateway, path: str, params: dict[str, str]) -> bytes:
    """POST a signed request to one of the hotline's endpoints, as Twilio would."""
    if not path.startswith("/ivr/twilio/"):
        abort(400)
    token = gw.settings.get("TWILIO_AUTH_TOKEN") or ""
    url = f"{(gw.settings.public_base_url or '').rstrip('/')}{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    response = current_app.test_client().post(
        path, data=params, headers={"X-Twilio-Signature": signature}
    )
    return response.get_data()


def _heard(gw: Gateway, element: ET.Element) -> tuple[str, str | None] | None:
    if element.tag == "Say":
        return (element.text or "", None)
    if element.tag == "Play":
        url = (element.text or "").strip()
        parts = urlsplit(url).path.split("/")  # /ivr/audio/<locale>/<id>.wav
        if len(parts) == 5 and parts[1:3] == ["ivr", "audio"]:
            prompt_id = parts[4].rsplit(".", 1)[0]
            words = prompts.text(parts[3], prompt_id) if prompt_id in prompts.PROMPTS else ""
            return (words or prompt_id.replace("digit_", ""), _local(url))
        return ("(audio)", url)
    return None


def _walk(gw: Gateway, twiml: bytes, params: dict[str, str], depth: int = 0) -> Screen:
    """Follow the TwiML as Twilio would until the caller has to do something."""
    screen = Screen()
    try:
        verbs = list(ET.fromstring(twiml))  # noqa: S314 - our own TwiML
    except ET.ParseError:
        screen.heard.append(("(the gateway did not answer with TwiML)", None))
        return screen
    for n, verb in enumerate(verbs):
        following = verbs[n + 1] if n + 1 < len(verbs) else None
        silence = (
            _local(following.text or "")
            if following is not None and following.tag == "Redirect"
            else ""
        )
        if verb.tag in ("Say", "Play"):
            heard = _heard(gw, verb)
            if heard:
                screen.heard.append(heard)
        elif verb.tag == "Gather":
            screen.heard += [h for h in (_heard(gw, child) for child in verb) if h]
            screen.expect = "keys" if verb.get("finishOnKey") == "#" else "key"
            screen.action, screen.silence = _local(verb.get("action", "")), silence
            return screen
        elif verb.tag == "Record":
            screen.expect, screen.action = "record", _local(verb.get("action", ""))
            screen.silence = silence
            return screen
        elif verb.tag == "Dial":
            number = verb.find("Number")
            screen.expect, screen.action = "dial", _local(verb.get("action", ""))
            screen.dial_to = number.text or "" if number is not None else ""
            return screen
        elif verb.tag == "Redirect" and depth < 10:
            after = _walk(gw, _send(gw, _local(verb.text or ""), params), params, depth + 1)
            after.heard = screen.heard + after.heard
            return after
        elif verb.tag == "Hangup":
            break
    screen.expect = "ended"
    return screen


def _store_recording(gw: Gateway, data: bytes) -> tuple[str, str, str]:
    """Keep an upload as the stand-in API's recording: (RecordingUrl, RecordingSid, seconds)."""
    sid = "RE" + secrets.token_hex(16)
    folder = gw.settings.data_dir / RECORDINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / sid).write_bytes(gw.cipher.encrypt(data))
    seconds = "1"
    if sniff(data) == "audio/wav":
        try:
            with wave.open(io.BytesIO(data)) as wav:
                seconds = str(max(1, round(wav.getnframes() / wav.getframerate())))
        except (wave.Error, EOFError, ZeroDivisionError):
            pass
    account = gw.settings.get("TWILIO_ACCOUNT_SID") or ""
    return f"{api_base(gw.settings)}/2010-04-01/Accounts/{account}/Recordings/{sid}", sid, seconds


def _api_ready(gw: Gateway) -> bool:
    base = (gw.settings.public_base_url or "").rstrip("/")
    return api_base(gw.settings) == f"{base}{API_PREFIX}" and bool(
        gw.settings.get("TWILIO_ACCOUNT_SID")
    )


def phone() -> Response:
    """One screen of the call; each button posts what the caller did."""
    gw = _gw()
    ready = bool(gw.settings.get("TWILIO_AUTH_TOKEN") and gw.settings.public_base_url)
    form = request.form
    screen, error = Screen(expect="idle"), ""
    call = {"CallSid": form.get("call", ""), "From": form.get("caller", ""), "To": HOTLINE_NUMBER}
    if request.method == "POST" and ready:
        if not secrets.compare_digest(form.get("csrf", ""), session.get("demo_ivr_csrf", "")):
            abort(400)
        params = {
            **call,
            "AccountSid": gw.settings.get("TWILIO_ACCOUNT_SID") or "",
            "CallStatus": "in-progress",
            "Direction": "inbound",
        }
        op = form.get("op", "")
        if op == "call":
            call["CallSid"] = params["CallSid"] = "CA" + secrets.token_hex(16)
            call["From"] = params["From"] = f"+24381000{secrets.randbelow(10000):04d}"
            screen = _walk(gw, _send(gw, "/ivr/twilio/voice", params), params)
        elif op == "hangup":
            _send(gw, "/ivr/twilio/status", {**params, "CallStatus": "completed"})
            screen = Screen(expect="ended")
        elif op in ("key", "keys", "silence", "dialed"):
            path = form.get("silence" if op == "silence" else "action", "")
            if op in ("key", "keys"):
                params["Digits"] = (form.get("digits") or form.get("key") or "").strip("#")
            if op == "dialed":
                params["DialCallStatus"] = form.get("outcome", "no-answer")
            screen = _walk(gw, _send(gw, path, params), params)
        elif op == "record":
            upload = request.files.get("statement")
            data = upload.read() if upload else b""
            if not _api_ready(gw):
                error = "Uploads need the demo's stand-in Twilio API (TWILIO_API_BASE_URL unset)."
            elif sniff(data) not in AUDIO_KINDS:
                error = "Choose an audio file (WAV, MP3, OGG, AMR or M4A)."
            if error:
                screen = Screen(
                    expect="record", action=form.get("action", ""), silence=form.get("silence", "")
                )
            else:
                url, sid, seconds = _store_recording(gw, data)
                params.update(
                    RecordingUrl=url, RecordingSid=sid, RecordingDuration=seconds, Digits="#"
                )
                screen = _walk(gw, _send(gw, form.get("action", ""), params), params)
    session.setdefault("demo_ivr_csrf", secrets.token_urlsafe(16))
    page = render_template_string(
        PAGE,
        screen=screen,
        call=call,
        ready=ready,
        error=error,
        csrf=session["demo_ivr_csrf"],
        keys="123456789*0#",
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _recording_path(gw: Gateway, account: str, name: str) -> Path:
    sid = name.removesuffix(".json").removesuffix(".wav")
    token = gw.settings.get("TWILIO_AUTH_TOKEN") or ""
    auth = request.authorization
    if (
        not _api_ready(gw)
        or auth is None
        or not secrets.compare_digest(
            auth.username or "", gw.settings.get("TWILIO_ACCOUNT_SID") or ""
        )
        or not secrets.compare_digest(auth.password or "", token)
        or account != gw.settings.get("TWILIO_ACCOUNT_SID")
    ):
        abort(401)
    if not sid.startswith("RE") or not sid[2:].isalnum():
        abort(404)
    return gw.settings.data_dir / RECORDINGS_DIR / sid


def api_recording(account: str, name: str) -> Response:
    """The stand-in for Twilio's Recording resource: GET the audio, DELETE it."""
    gw = _gw()
    path = _recording_path(gw, account, name)
    if not path.is_file():
        abort(404)
    if request.method == "DELETE":
        path.unlink(missing_ok=True)
        return Response(status=204)
    data = gw.cipher.decrypt(path.read_bytes())
    return Response(data, mimetype=sniff(data) or "application/octet-stream")


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/demo/ivr", view_func=phone, methods=["GET", "POST"])
    blueprint.add_url_rule(
        f"{API_PREFIX}/2010-04-01/Accounts/<account>/Recordings/<name>",
        view_func=api_recording,
        methods=["GET", "DELETE"],
    )


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo hotline call</title>
<style>
body{font-family:sans-serif;max-width:34em;margin:1em auto;padding:0 1em;line-height:1.4}
.heard p{background:#eef;padding:.4em .6em;border-radius:.4em;margin:.3em 0}
.keypad{display:grid;grid-template-columns:repeat(3,4em);gap:.4em;margin:1em 0}
.keypad button{font-size:1.4em;padding:.4em}
.error{color:#a00} form.inline{display:inline}
</style></head><body>
<h1>Demo hotline call</h1>
<p>You are a caller on a basic phone. What the hotline says is shown as text
(with the recording where a prompt file exists); press keys to answer.</p>
{% if not ready %}
<p class="error">The demo call needs TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL.</p>
{% else %}
{% if screen.heard %}<div class="heard">
{% for words, audio in screen.heard %}<p>{{ words }}{% if audio %}
<br><audio controls preload="none" src="{{ audio }}"></audio>{% endif %}</p>{% endfor %}
</div>{% endif %}
{% if error %}<p class="error">{{ error }}</p>{% endif %}
{% macro hidden(op) %}<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="op" value="{{ op }}">
<input type="hidden" name="call" value="{{ call.CallSid }}">
<input type="hidden" name="caller" value="{{ call.From }}">
<input type="hidden" name="action" value="{{ screen.action }}">
<input type="hidden" name="silence" value="{{ screen.silence }}">{% endmacro %}
{% if screen.expect == "key" %}
<form method="post" class="keypad">{{ hidden("key") }}
{% for k in keys %}<button name="key" value="{{ k }}">{{ k }}</button>{% endfor %}</form>
{% elif screen.expect == "keys" %}
<form method="post">{{ hidden("keys") }}
<label>Keys <input name="digits" inputmode="numeric" pattern="[0-9*]*" autofocus></label>
<button>#</button></form>
{% elif screen.expect == "record" %}
<form method="post" enctype="multipart/form-data">{{ hidden("record") }}
<label>Your statement (an audio file) <input type="file" name="statement" accept="audio/*"></label>
<button>Finish (#)</button></form>
{% elif screen.expect == "dial" %}
<p>Connecting to {{ screen.dial_to }}…</p>
<form method="post" class="inline">{{ hidden("dialed") }}
<button name="outcome" value="completed">Someone answered</button>
<button name="outcome" value="no-answer">Nobody answered</button></form>
{% endif %}
{% if screen.expect in ("key", "keys", "record") %}
<form method="post" class="inline">{{ hidden("silence") }}<button>Stay silent</button></form>
<form method="post" class="inline">{{ hidden("hangup") }}<button>Hang up</button></form>
{% else %}
{% if screen.expect == "ended" %}<p>The call has ended.</p>{% endif %}
<form method="post">{{ hidden("call") }}<button>Call the hotline</button></form>
{% endif %}
{% endif %}
</body></html>
"""
