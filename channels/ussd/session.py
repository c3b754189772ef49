"""One USSD request answered: the menu walked, the draft kept, the report filed, the status read.

The aggregator's `text` holds every input of the session so far. Up to the
statement, `menu.walk` reads it alone. From the statement on, the session's
draft (gateway.work.menu_drafts, a row written before the screen is
answered) keeps `typed`, the inputs it has read: the new input is what
follows `typed` and one `*`, so a statement may contain `*`, and a request
sent again (same session, same `text`) changes nothing and gets the same
screen.

A last screen (`END`) is kept for ten minutes, encrypted, under a keyed
hash of the session in Redis: the same request sent again gets it again
(the case number and PIN, or the status) without a second case or a second
look-up. Without it (Redis lost it), a filed session answers that the report
was received.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken

from gateway.cases import mailbox
from gateway.cases.lookup import Answer
from gateway.core import i18n
from gateway.core.runtime import Gateway
from gateway.work import menu_drafts
from gateway.work.menu_drafts import Draft

from . import menu
from .menu import Screen, Step, Walk

log = logging.getLogger(__name__)

CHANNEL = "ussd"
END_KEY = "complaint-gateway:ussd:end:"
END_TTL = 600  # seconds: longer than any operator's session
MAX_STATEMENT = 5000  # characters kept over all the screens of one session


@dataclass(frozen=True)
class Request:
    """What one aggregator request says, the number already normalised."""

    session_id: str
    phone: str
    text: str
    provider: str  # whose SMS sender carries the receipt of a cut session


def answer(gw: Gateway, req: Request) -> Screen:
    """The screen for this request; every change it makes is committed before it returns."""
    locales = i18n.configured_locales(gw.settings.locales)
    end_key = END_KEY + gw.pseudonyms.digest("ussd-end", req.session_id)
    cached = _cached_end(gw, end_key, req.text)
    if cached is not None:
        return cached
    state = menu.walk(req.text, locales)
    if state.step is Step.LANGUAGE:
        return menu.language_menu(locales, state.invalid)
    if state.step is Step.PIN and state.typed is not None:
        screen = _check(gw, req, state)
    elif state.step is Step.STATEMENT and state.typed is not None:
        key = menu_drafts.session_key(gw, CHANNEL, req.session_id)
        screen = menu_drafts.edit(gw, key, lambda draft: _report(draft, req, state))
    else:
        return menu.question(state.language, state.step, state.invalid)
    if screen.end:
        _keep_end(gw, end_key, req.text, screen)
    return screen


def _report(draft: Draft, req: Request, state: Walk) -> Screen:
    """The statement and what follows it, against what the session's draft holds."""
    if draft.filed:
        return menu.ending(draft.language or state.language, menu.ALREADY_FILED)
    answers = draft.answers()
    if not draft.exists:
        answers, step, new = dict(state.answers), Step.STATEMENT, state.typed or ""
    else:
        typed = str(answers.get("typed", ""))
        step = Step(draft.step)
        if req.text == typed or not req.text.startswith(typed + menu.SEPARATOR):
            return menu.question(draft.language, step)  # sent again: nothing changes
        new = req.text[len(typed) + len(menu.SEPARATOR) :]
    language = draft.language or state.language
    invalid = False
    if step in (Step.STATEMENT, Step.MORE):
        if new.strip():
            joined = "\n".join(filter(None, [answers.get("statement", ""), new.strip()]))
            answers["statement"] = joined[:MAX_STATEMENT]
            step = Step.MORE_OR_FINISH
        else:
            invalid = True
    elif step is Step.MORE_OR_FINISH and new.strip() == "1":
        step = Step.MORE
    elif step is Step.MORE_OR_FINISH and new.strip() == "2":
        step = Step.WHO  # one last, optional question; a session cut here is filed anyway
    elif step is Step.WHO and new.strip() in menu.WHO:
        answers[menu.WHO_FIELD] = menu.WHO[new.strip()]
        _keep(draft, req, step, language, answers)
        receipt = draft.file()
        if receipt is None:  # nothing to file: cannot happen once a statement is kept
            return menu.ending(language, menu.ALREADY_FILED)
        return menu.receipt(language, receipt.case_number, receipt.pin)
    else:
        invalid = True
    if not answers.get("statement"):
        return menu.question(language, step, invalid)  # nothing worth keeping yet
    _keep(draft, req, step, language, answers)
    return menu.question(language, step, invalid)


def _keep(draft: Draft, req: Request, step: Step, language: str, answers: dict[str, Any]) -> None:
    """Write the session's draft as it stands after this request."""
    answers["typed"] = req.text
    draft.keep(
        step=step.value,
        language=language,
        answers=answers,
        channel=CHANNEL,
        provider=req.provider,
        sender_pseudonym=draft.gw.pseudonyms.pseudonym("sms", req.phone),
        reply_address=req.phone if answers.get("follow_up") else None,
    )


def _check(gw: Gateway, req: Request, state: Walk) -> Screen:
    client = gw.pseudonyms.digest("ussd", req.phone)
    view = mailbox.check_status(gw, state.number, state.typed or "", client, channel=CHANNEL)
    if view.answer is Answer.FOUND:
        waiting = any(m.direction == "in" for m in view.messages)
        return menu.status(state.language, view.case_number, view.status, waiting)
    if view.answer is Answer.LOCKED:
        return menu.ending(state.language, menu.STATUS_LOCKED)
    return menu.ending(state.language, menu.STATUS_WRONG)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _cached_end(gw: Gateway, key: str, text: str) -> Screen | None:
    token = gw.redis.get(key)
    if token is None:
        return None
    try:
        kept = gw.cipher.decrypt_json(token)
    except (InvalidToken, ValueError):
        return None
    if kept.get("text") != _text_digest(text):
        return None
    return Screen(str(kept["screen"]), end=True)


def _keep_end(gw: Gateway, key: str, text: str, screen: Screen) -> None:
    value = gw.cipher.encrypt_json({"text": _text_digest(text), "screen": screen.text})
    gw.redis.set(key, value, ex=END_TTL)
