"""`/demo/ussd`: a basic phone's USSD menu in the browser, for `complaint-gateway demo` only.

Each input goes through the real endpoint (`/ussd/africastalking` with the
configured key) exactly as Africa's Talking sends it: the session id, a
made-up number, and every input of the session so far joined by `*`. The
session (its id, number and inputs) lives in this page's signed session
cookie only; "hang up" ends it the way an operator cuts one. The pages exist
only when GATEWAY_DEMO_TRACKER is "1" (set by `complaint-gateway demo`).
"""

from __future__ import annotations

import secrets

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

from .africastalking import KEY_SETTING, PATH

SERVICE_CODE = "*384*123#"
STATE = "demo_ussd"
MAX_INPUT = 500

TEXTS = {
    "title": _("Demo USSD menu"),
    "intro": _(
        "You are a reporter with a basic phone who dialled the service code. "
        "The screens are what the phone shows; nothing stays on it afterwards."
    ),
    "dial": _("Dial %(code)s"),
    "answer": _("Answer"),
    "send": _("Send"),
    "hang_up": _("Hang up"),
    "ended": _("The session has ended."),
    "not_ready": _("The demo USSD menu needs AFRICASTALKING_CALLBACK_KEY to be set."),
}


def register(blueprint: Blueprint) -> None:
    """Mount the demo page on the USSD blueprint (it refuses outside the demo)."""
    blueprint.add_url_rule("/demo/ussd", view_func=phone, methods=["GET", "POST"])


def _demo_only() -> Gateway:
    gw: Gateway = current_app.extensions["gateway"]
    if gw.settings.get("GATEWAY_DEMO_TRACKER") != "1":
        abort(404)
    return gw


def _dial() -> dict[str, object]:
    return {
        "session": "ATUid_demo_" + secrets.token_hex(12),
        "number": f"+25470000{secrets.randbelow(10000):04d}",
        "inputs": [],
        "csrf": secrets.token_urlsafe(16),
        "screen": "",
    }


def _through_endpoint(gw: Gateway, state: dict[str, object]) -> str:
    inputs = state["inputs"]
    form = {
        "sessionId": state["session"],
        "serviceCode": SERVICE_CODE,
        "phoneNumber": state["number"],
        "networkCode": "99999",
        "text": "*".join(inputs) if isinstance(inputs, list) else "",
    }
    client = current_app.test_client()
    answer = client.post(PATH, data=form, query_string={"key": gw.settings.get(KEY_SETTING)})
    return answer.get_data(as_text=True)


def phone() -> Response:
    """The phone's screen, a box for the answer, and the keys to dial and hang up."""
    gw = _demo_only()
    locale = i18n.configured_locales(gw.settings.locales)[0]
    ready = bool(gw.settings.get(KEY_SETTING))
    state = session.get(STATE)
    if request.method == "POST":
        action = request.form.get("action")
        if state is not None and not secrets.compare_digest(
            request.form.get("csrf", ""), str(state.get("csrf", ""))
        ):
            abort(400)
        if action == "dial" and ready:
            state = _dial()
            state["screen"] = _through_endpoint(gw, state)
        elif action == "send" and ready and state and str(state["screen"]).startswith("CON "):
            state["inputs"] = [*state["inputs"], request.form.get("text", "")[:MAX_INPUT]]
            state["screen"] = _through_endpoint(gw, state)
        elif action == "hang_up":
            state = None
        if state is None:
            session.pop(STATE, None)
        else:
            session[STATE] = state
        return redirect(url_for("ussd.phone"))  # type: ignore[return-value]
    texts = {name: i18n.gettext(locale, text, code=SERVICE_CODE) for name, text in TEXTS.items()}
    screen = str(state["screen"]) if state else ""
    page = render_template(
        "ussd_demo_phone.html",
        texts=texts,
        screen=screen[4:],
        waiting=screen.startswith("CON "),
        ended=screen.startswith("END "),
        ready=ready,
        csrf=str(state["csrf"]) if state else "",
        rtl=i18n.is_rtl(locale),
        locale=locale,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
