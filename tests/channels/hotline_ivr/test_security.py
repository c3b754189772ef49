"""Only Twilio's signed requests count, and a call leaves the caller's number nowhere."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from gateway.core.models import Case, LookupThrottle, MediaDownload
from tests.channels.hotline_ivr.phone import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    HOTLINE,
    PUBLIC_BASE_URL,
    Phone,
    sign,
)
from tests.channels.hotline_ivr.test_calls import receipt_heard, report
from tests.support.jobs import run_jobs
from tests.test_no_leaks import clear_columns_dump, redis_dump

RECORDING = "/2010-04-01/Accounts/" + ACCOUNT_SID + "/Recordings/RE" + "b" * 32
KEEP = "/ivr/twilio/confirm?l=en&c=1&d=1&r=https%3A%2F%2Fapi.twilio.com" + RECORDING.replace(
    "/", "%2F"
)


def params(**extra: str) -> dict[str, str]:
    return {
        "CallSid": "CA" + "1" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": HOTLINE,
        "CallStatus": "in-progress",
        **extra,
    }


def state(gw) -> tuple[tuple[int, int, int], list[str]]:  # type: ignore[no-untyped-def]
    """Rows that matter and every Redis key and value, but the latency metrics."""
    dump = redis_dump(gw).split("\n")
    kept, skip = [], False
    for line in dump:
        if line.startswith("b'complaint-gateway:latency:"):
            skip = True
            continue
        if not skip and line:
            kept.append(line)
        skip = False
    return counts(gw), kept


def counts(gw) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Case)),
            session.scalar(select(func.count()).select_from(MediaDownload)),
            session.scalar(select(func.count()).select_from(LookupThrottle)),
        )


# (label, path, POST parameters, how the request is signed)
FORGED = [
    ("incoming call, unsigned", "/ivr/twilio/voice", params(), "none"),
    ("incoming call, wrong token", "/ivr/twilio/voice", params(), "wrong-token"),
    ("keep a statement, unsigned", KEEP, params(Digits="1"), "none"),
    ("keep a statement, wrong token", KEEP, params(Digits="1"), "wrong-token"),
    ("keep a statement, state changed after signing", KEEP, params(Digits="1"), "other-url"),
    ("keep a statement, a key changed after signing", KEEP, params(Digits="1"), "other-digits"),
    ("keep a statement, signed for the Host header", KEEP, params(Digits="1"), "request-host"),
    (
        "status check, unsigned",
        "/ivr/twilio/pin?l=en&n=20260000017",
        params(Digits="123456"),
        "none",
    ),
    ("call ended, unsigned", "/ivr/twilio/status", params(CallStatus="completed"), "none"),
    (
        "recording callback, wrong token",
        "/ivr/twilio/status",
        params(RecordingSid="RE" + "b" * 32, RecordingStatus="completed"),
        "wrong-token",
    ),
]


@pytest.mark.parametrize(("label", "path", "form", "how"), FORGED, ids=[f[0] for f in FORGED])
def test_unsigned_or_forged_requests_get_403_and_change_nothing(
    gw, client, label, path, form, how
) -> None:  # type: ignore[no-untyped-def]
    before = state(gw)
    url = PUBLIC_BASE_URL + path
    headers = {}
    if how == "wrong-token":
        headers["X-Twilio-Signature"] = sign(url, form, token="not-the-auth-token")
    elif how == "other-url":
        headers["X-Twilio-Signature"] = sign(url.replace("c=1", "c=2"), form)
    elif how == "other-digits":
        headers["X-Twilio-Signature"] = sign(url, {**form, "Digits": "2"})
    elif how == "request-host":
        # Signed for the URL the request claims (Host, X-Forwarded-*), not PUBLIC_BASE_URL.
        headers["X-Twilio-Signature"] = sign("https://attacker.example" + path, form)
        headers["X-Forwarded-Host"] = "attacker.example"
        headers["X-Forwarded-Proto"] = "https"
    response = client.post(path, data=form, headers=headers, base_url="https://attacker.example")
    assert response.status_code == 403
    assert b"<Response" not in response.data
    assert state(gw) == before


def test_a_recording_callback_for_an_unknown_call_changes_nothing(gw, phone) -> None:  # type: ignore[no-untyped-def]
    p: Phone = phone()
    before = state(gw)
    for status in ("completed", "absent", "failed"):
        code = p.status_callback(
            {"RecordingSid": "RE" + "c" * 32, "RecordingStatus": status, "RecordingUrl": "x"}
        )
        assert code == 200
    assert state(gw) == before


def test_an_absent_recording_is_forgotten_and_not_filed(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").press("1").press("2")
    url = twilio_api.new_recording()
    p.speak(url)
    sid = url.rsplit("/", 1)[1]
    assert p.status_callback({"RecordingSid": sid, "RecordingStatus": "absent"}) == 200
    p.hang_up()
    assert counts(gw)[0] == 0


def test_a_status_callback_without_a_call_sid_is_malformed(gw, client) -> None:  # type: ignore[no-untyped-def]
    form = {"AccountSid": ACCOUNT_SID, "CallStatus": "completed"}
    url = PUBLIC_BASE_URL + "/ivr/twilio/status"
    response = client.post(
        "/ivr/twilio/status", data=form, headers={"X-Twilio-Signature": sign(url, form)}
    )
    assert response.status_code == 400


def test_a_call_leaves_the_callers_number_nowhere_in_clear(
    gw, tracker, twilio_api, phone, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    first = phone()
    report(first, twilio_api)
    number, pin = receipt_heard(first)
    check = phone().dial().press("1").press("2").press(number + "#").press(pin + "#")
    assert check.ended
    wrong = phone().dial().press("1").press("2").press(number + "#").press("999999#")
    assert wrong.ended
    half = phone().dial().press("1").press("1").press("1").press("1")
    half.speak(twilio_api.new_recording())  # a note of the pending statement is in Redis now
    redis_now = redis_dump(gw)
    run_jobs(gw)
    haystacks = {
        "redis": redis_now + redis_dump(gw),
        "database": clear_columns_dump(gw),
        "logs": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
    }
    for where, text in haystacks.items():
        for secret in (CALLER, CALLER[1:], CALLER[4:]):
            assert secret not in text, f"{secret!r} found in {where}"
    assert pin not in haystacks["logs"] and AUTH_TOKEN not in haystacks["logs"]
