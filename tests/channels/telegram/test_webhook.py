"""POST /telegram/webhook: recorded updates in, normalised messages stored (or nothing).

One table of cases (label, payload, headers, expected status, expected
normalised message or "nothing stored"), run by one runner that also tries
every payload with a wrong and with a missing secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update

from gateway.core.models import InboundEvent
from tests.channels.telegram.conftest import CHAT_ID, FIXTURES, SECRET, fixture_body

NOTHING = None  # "nothing stored"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
GOOD = {SECRET_HEADER: SECRET}
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    label: str
    payload: str  # a file in tests/fixtures/telegram/
    expected: dict[str, Any] | None  # the stored message, or NOTHING
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: dict(GOOD))


def message(text: str, msg: int, media: list[dict[str, Any]] | None = None, **extra: str) -> dict:
    """The normalised message a private-chat update should give."""
    return {
        "sender": f"tg:{CHAT_ID}",
        "text": text,
        "media": media or [],
        "reply_to": {"chat": CHAT_ID, "msg": msg},
        "extra": extra,
        "language_hint": "fr",
    }


def media(file_id: str, content_type: str, size: int) -> dict[str, Any]:
    return {"url": f"tg-file:{file_id}", "content_type": content_type, "size": size}


CASES = [
    Case(
        "text message",
        "text_message.json",
        message("A soldier at the checkpoint asked my sister for sex in exchange for food.", 11),
    ),
    Case("/start: the help", "start_command.json", message("", 12, menu_command="1")),
    Case(
        "/status with number and PIN",
        "status_command.json",
        message("STATUS 2026-000123-4 123456", 13, menu_command="1"),
    ),
    Case(
        "photo with caption: the largest size",
        "photo.json",
        message(
            "This is the place where it happened",
            14,
            [media("AgACAgQAAxkBAAIBsmPhoto-large", "image/jpeg", 86372)],
        ),
    ),
    Case(
        "voice note alone",
        "voice.json",
        message("", 15, [media("AwACAgQAAxkBAAIBtVoiceNote", "audio/ogg", 23456)]),
    ),
    Case(
        "document with caption",
        "document.json",
        message(
            "My written statement",
            16,
            [media("BQACAgQAAxkBAAIBtDocument", "application/pdf", 48213)],
        ),
    ),
    Case(
        "video over the 20 MB limit: kept out, the reporter will be told",
        "video_too_large.json",
        message("", 17, media_too_large="1"),
    ),
    Case("location alone: an empty message", "location.json", message("", 18)),
    Case("contact alone: an empty message, the number not kept", "contact.json", message("", 19)),
    Case(
        "button press: the value answers its question",
        "callback_query.json",
        {
            **message("3", 42, answers_step="affected"),
            "reply_to": {"chat": CHAT_ID, "msg": 42, "cb": "4382bfdwdsb323b2d9"},
        },
    ),
    Case(
        "button on a message too old to be shown (InaccessibleMessage)",
        "callback_query_old_message.json",
        {
            **message("1", 40, answers_step="category"),
            "reply_to": {"chat": CHAT_ID, "msg": 40, "cb": "4382bfdwdsb323b2f7"},
        },
    ),
    Case("button under an inline-mode message: not ours", "callback_query_inline.json", NOTHING),
    Case("edited message", "edited_message.json", NOTHING),
    Case("bot blocked (my_chat_member)", "my_chat_member.json", NOTHING),
    Case("message in a group", "group_message.json", NOTHING),
    Case("channel post", "channel_post.json", NOTHING),
    Case("not an update", "not_an_update.json", NOTHING, status=400),
    Case("not JSON", "malformed.txt", NOTHING, status=400),
]


def post(client, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(
        "/telegram/webhook", data=body, headers=headers, content_type="application/json"
    )


def stored(gw) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every stored event as a normalised message (decrypted)."""
    with gw.sessions() as session:
        events = session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
        rows = []
        for event in events:
            payload = gw.cipher.decrypt_json(event.payload_enc)
            rows.append(
                {
                    "sender": payload["sender"],
                    "text": payload["text"],
                    "media": payload["media"],
                    "reply_to": json.loads(payload["reply_to"]),
                    "extra": payload["extra"],
                    "language_hint": event.language_hint,
                    "provider": (event.channel, event.provider),
                    "update_id": event.provider_message_id,
                    "received_at": event.received_at,
                }
            )
        return rows


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_update(client, gw, case: Case) -> None:  # type: ignore[no-untyped-def]
    body = fixture_body(case.payload)
    response = post(client, body, case.headers)
    assert response.status_code == case.status
    rows = stored(gw)
    if case.expected is NOTHING:
        assert rows == []
        return
    [row] = rows
    update_id = str(json.loads(body)["update_id"])
    assert row.pop("provider") == ("telegram", "telegram")
    assert row.pop("update_id") == update_id
    assert row.pop("received_at") == JAN_1 or case.payload.startswith("callback_query")
    assert row == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
@pytest.mark.parametrize(
    "headers",
    [{SECRET_HEADER: SECRET + "x"}, {}],
    ids=["wrong secret", "missing secret"],
)
def test_a_wrong_or_missing_secret_is_refused(client, gw, case: Case, headers) -> None:  # type: ignore[no-untyped-def]
    response = post(client, fixture_body(case.payload), headers)
    assert response.status_code == 403
    assert stored(gw) == []


def test_a_redelivered_update_is_stored_once(client, gw) -> None:  # type: ignore[no-untyped-def]
    body = fixture_body("text_message.json")
    assert post(client, body, GOOD).status_code == 200
    assert post(client, body, GOOD).status_code == 200
    with gw.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1


def test_without_a_configured_secret_every_update_is_refused(app, gw, env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gateway.app import create_app
    from gateway.core.config import Settings
    from gateway.core.runtime import Gateway

    settings = Settings.from_mapping({**env, "TELEGRAM_WEBHOOK_SECRET": ""}, tmp_path)
    other = Gateway.from_settings(settings)
    try:
        client = create_app(gateway=other).test_client()
        assert (
            post(client, fixture_body("text_message.json"), {SECRET_HEADER: ""}).status_code == 403
        )
        assert post(client, fixture_body("text_message.json"), GOOD).status_code == 403
    finally:
        other.close()
    assert stored(gw) == []


def test_a_date_in_an_unexpected_format_does_not_lose_the_message(client, gw) -> None:  # type: ignore[no-untyped-def]
    update = json.loads(fixture_body("text_message.json"))
    update["message"]["date"] = "2026-01-01 00:00"
    assert post(client, json.dumps(update).encode(), GOOD).status_code == 200
    [row] = stored(gw)
    assert row["text"].startswith("A soldier") and row["received_at"] != JAN_1


def test_every_fixture_is_in_the_table_and_every_json_one_parses() -> None:
    names = {path.name for path in FIXTURES.iterdir() if path.suffix in (".json", ".txt")}
    assert names == {case.payload for case in CASES}
    for name in names - {"malformed.txt", "not_an_update.json"}:
        update = Update.de_json(json.loads((FIXTURES / name).read_text()), None)
        assert update.update_id > 0, name
