"""`/demo/sms`: a phone in the browser, for `complaint-gateway demo` only.

A person types what a reporter would text and sees the gateway's answers.
Nothing is simulated past the phone: each message goes through the real
Kannel webhook (`/sms/kannel` with the configured key) into intake, the
worker runs the conversation, and the answers leave through the real Kannel
sender, whose `KANNEL_SENDSMS_URL` the demo points at `/demo/sms/sendsms`
here: it plays smsbox's sendsms (same parameters and answers) and files
each message in the demo phone's inbox. The pages exist only when
GATEWAY_DEMO_TRACKER is "1" (set by `complaint-gateway demo`).

The inbox lives in Redis under a keyed hash of the demo number, encrypted,
for a day. The demo number is random (+243 81 000 xxxx, the test range)
and kept in the signed session cookie of this page only.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.runtime import Gateway
from gateway.intake.webhook_errors import secret_matches
from gateway.work.delivery import DeliveryStatus, record_status

INBOX_KEY = "complaint-gateway:demo-sms:"
INBOX_SIZE = 60
INBOX_TTL = 86400
WAIT_SECONDS = 30  # the page refreshes itself this long while an answer is due

TEXTS = {
    "title": _("Demo phone"),
    "intro": _(
        "You are a reporter with a basic phone. Write what happened as a text message; "
        "the gateway answers here as it would by SMS."
    ),
    "number": _("This phone's number"),
    "message": _("Message"),
    "send": _("Send"),
    "refresh": _("Refresh"),
    "new_phone": _("Use another phone"),
    "waiting": _("Waiting for the answer…"),
    "not_ready": _("The demo phone needs KANNEL_CALLBACK_KEY to be set."),
}


def _gw() -> Gateway:
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


def _demo_only() -> Gateway:
    gw = _gw()
    if gw.settings.get("GATEWAY_DEMO_TRACKER") != "1":
        abort(404)
    return gw


def _inbox_key(gw: Gateway, number: str) -> str:
    return INBOX_KEY + gw.pseudonyms.digest("demo-sms", number)


def _remember(gw: Gateway, number: str, direction: str, text: str) -> None:
    entry = gw.cipher.encrypt_json({"dir": direction, "text": text, "at": time.time()})
    key = _inbox_key(gw, number)
    pipe = gw.redis.pipeline()
    pipe.rpush(key, entry)
    pipe.ltrim(key, -INBOX_SIZE, -1)
    pipe.expire(key, INBOX_TTL)
    pipe.execute()


def _inbox(gw: Gateway, number: str) -> list[dict[str, object]]:
    return [gw.cipher.decrypt_json(raw) for raw in gw.redis.lrange(_inbox_key(gw, number), 0, -1)]


def _new_number() -> str:
    return f"+24381000{secrets.randbelow(10000):04d}"


def register(blueprint: Blueprint) -> None:
    """Mount the demo pages on the SMS blueprint (each refuses outside the demo)."""
    blueprint.add_url_rule("/demo/sms", view_func=phone, methods=["GET", "POST"])
    blueprint.add_url_rule("/demo/sms/sendsms", view_func=sendsms, methods=["GET"])


def phone() -> Response | str:
    """The phone: its inbox and a box to write in."""
    gw = _demo_only()
    locale = i18n.configured_locales(gw.settings.locales)[0]
    if "demo_sms_number" not in session or request.form.get("action") == "new":
        session["demo_sms_number"] = _new_number()
        session["demo_sms_csrf"] = secrets.token_urlsafe(16)
    number = session["demo_sms_number"]
    ready = bool(gw.settings.get("KANNEL_CALLBACK_KEY"))
    if request.method == "POST" and request.form.get("action") == "send":
        if not secrets.compare_digest(
            request.form.get("csrf", ""), session.get("demo_sms_csrf", "")
        ):
            abort(400)
        text = request.form.get("text", "")[:1600]
        if ready:
            _remember(gw, number, "in", text)
            _deliver_through_kannel(gw, number, text)
        return redirect(url_for("sms.phone"))  # type: ignore[return-value]
    if request.method == "POST":
        return redirect(url_for("sms.phone"))  # type: ignore[return-value]
    messages = _inbox(gw, number)
    waiting = bool(
        messages
        and messages[-1]["dir"] == "in"
        and time.time() - float(messages[-1]["at"]) < WAIT_SECONDS  # type: ignore[arg-type]
    )
    texts = {name: i18n.gettext(locale, text) for name, text in TEXTS.items()}
    page = render_template(
        "sms_demo_phone.html",
        texts=texts,
        number=number,
        messages=messages,
        waiting=waiting,
        ready=ready,
        csrf=session["demo_sms_csrf"],
        rtl=i18n.is_rtl(locale),
        locale=locale,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _deliver_through_kannel(gw: Gateway, number: str, text: str) -> None:
    """What smsbox would do with the phone's SMS: call get-url with the key."""
    query = {
        "from": number,
        "to": "1234",
        "text": text,
        "ts": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "smsc": "DEMO",
        "id": secrets.token_hex(16),
        "key": gw.settings.get("KANNEL_CALLBACK_KEY") or "",
    }
    current_app.test_client().get("/sms/kannel", query_string=query)


def sendsms() -> tuple[str, int]:
    """Plays smsbox's `/cgi-bin/sendsms` for the demo: files the message in the phone's inbox."""
    gw = _demo_only()
    if not (
        secret_matches(request.args.get("username"), gw.settings.get("KANNEL_USERNAME"))
        and secret_matches(request.args.get("password"), gw.settings.get("KANNEL_PASSWORD"))
    ):
        return "Authorization failed for sendsms", 403
    to, text = request.args.get("to", ""), request.args.get("text", "")
    if not to:
        return "Missing receiver number", 400
    _remember(gw, to, "out", text)
    dlr = request.args.get("dlr-url")
    if dlr:
        # The phone got it: report delivery the way Kannel's dlr-url would.
        message_id = parse_qs(urlsplit(dlr).query).get("id", [""])[0]
        if message_id.isdigit():
            record_status(gw, "kannel", None, DeliveryStatus.DELIVERED, message_id=int(message_id))
    return "0: Accepted for delivery", 202
