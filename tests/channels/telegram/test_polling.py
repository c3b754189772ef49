"""Polling mode and the webhook registration, against the local Bot API server."""

from __future__ import annotations

import copy
import subprocess
import sys

from sqlalchemy import func, select

from channels.telegram.polling import ALLOWED_UPDATES, run_polling
from gateway.conversation.prompts import prompt_of
from gateway.core.config import Settings
from gateway.core.models import InboundEvent
from gateway.core.runtime import Gateway
from gateway.work import spool
from tests.channels.telegram.conftest import CHAT_ID, SECRET, fixture_json
from tests.support.jobs import run_jobs


def queue_updates(api, *names: str) -> list[int]:  # type: ignore[no-untyped-def]
    updates = [copy.deepcopy(fixture_json(name)) for name in names]
    api.pending_updates.extend(updates)
    return [u["update_id"] for u in updates]


def stored_ids(gw) -> list[str]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return list(session.scalars(select(InboundEvent.provider_message_id)))


def offsets(api) -> list[int | None]:  # type: ignore[no-untyped-def]
    return [call.get("offset") for call in api.calls_to("getUpdates")]


def test_a_poll_cycle_stores_updates_and_only_then_confirms_them(gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    ids = queue_updates(
        telegram_api, "text_message.json", "edited_message.json", "group_message.json"
    )
    assert run_polling(gw, cycles=2, timeout=0, pause=0) == 1
    assert stored_ids(gw) == [str(ids[0])]  # the edit and the group message: nothing stored
    assert offsets(telegram_api) == [None, max(ids) + 1]
    assert telegram_api.pending_updates == []  # the second call confirmed them
    first = telegram_api.calls_to("getUpdates")[0]
    assert first["allowed_updates"] == ALLOWED_UPDATES and first["timeout"] == 0
    assert telegram_api.calls_to("deleteWebhook") == [{"drop_pending_updates": False}]
    run_jobs(gw)  # the worker answers a polled message as it answers a webhook's
    [question] = telegram_api.sent(CHAT_ID)  # in the reporter's language (the update's: fr)
    assert prompt_of(question["text"]).step == "affected"


def broken_gateway(env: dict[str, str], tmp_path, **settings: str) -> Gateway:  # type: ignore[no-untyped-def]
    """A gateway whose database has none of the gateway's tables: every INSERT fails."""
    url = f"sqlite:///{tmp_path / 'no-tables.db'}"
    return Gateway.from_settings(
        Settings.from_mapping({**env, "DATABASE_URL": url, **settings}, tmp_path)
    )


def test_updates_neither_stored_nor_spooled_are_not_confirmed(
    gw, env, telegram_api, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    [update_id] = queue_updates(telegram_api, "voice.json")
    (tmp_path / "a-file").write_text("")  # a spool directory that cannot be made
    broken = broken_gateway(env, tmp_path, GATEWAY_SPOOL_DIR=str(tmp_path / "a-file" / "spool"))
    try:
        assert run_polling(broken, cycles=2, timeout=0, pause=0) == 0
    finally:
        broken.close()
    assert offsets(telegram_api) == [None, None]  # asked again from the same place
    assert len(telegram_api.pending_updates) == 1
    assert run_polling(gw, cycles=2, timeout=0, pause=0) == 1
    assert stored_ids(gw) == [str(update_id)]


def test_updates_spooled_while_the_database_is_down_are_loaded_later(
    gw, env, telegram_api, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    [update_id] = queue_updates(telegram_api, "text_message.json")
    broken = broken_gateway(env, tmp_path)  # the same data directory, so the same spool
    try:
        assert run_polling(broken, cycles=2, timeout=0, pause=0) == 1
    finally:
        broken.close()
    assert telegram_api.pending_updates == [] and stored_ids(gw) == []
    assert spool.pending(gw) == 1
    run_polling(gw, cycles=1, timeout=0, pause=0)
    assert stored_ids(gw) == [str(update_id)] and spool.pending(gw) == 0


def test_a_batch_fetched_again_after_a_restart_is_stored_once(gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    queue_updates(telegram_api, "text_message.json", "callback_query.json")
    assert run_polling(gw, cycles=1, timeout=0, pause=0) == 2  # stopped before confirming
    assert len(telegram_api.pending_updates) == 2
    assert run_polling(gw, cycles=2, timeout=0, pause=0) == 0
    with gw.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 2
    assert telegram_api.pending_updates == []


def cli(env: dict[str, str], cwd, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "gateway", "telegram", *args, "--data-dir", str(cwd)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_poll_command(env, gw, telegram_api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    [update_id] = queue_updates(telegram_api, "text_message.json")
    result = cli(env, tmp_path, "poll", "--cycles", "2", "--timeout", "0")
    assert result.returncode == 0, result.stderr
    assert "1 Telegram message(s) stored" in result.stdout
    assert stored_ids(gw) == [str(update_id)]
    assert "TEST-TOKEN" not in result.stdout + result.stderr


def test_set_webhook_command(env, telegram_api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    public = {**env, "PUBLIC_BASE_URL": "https://complaints.example.org"}
    result = cli(public, tmp_path, "set-webhook")
    assert result.returncode == 0, result.stderr
    assert telegram_api.calls_to("setWebhook") == [
        {
            "url": "https://complaints.example.org/telegram/webhook",
            "secret_token": SECRET,
            "allowed_updates": ["message", "callback_query"],
        }
    ]


def test_set_webhook_refuses_without_https_or_a_usable_secret(env, telegram_api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = cli(
        {**env, "PUBLIC_BASE_URL": "http://complaints.example.org"}, tmp_path, "set-webhook"
    )
    assert plain.returncode == 2 and "PUBLIC_BASE_URL" in plain.stderr
    bad_secret = {**env, "PUBLIC_BASE_URL": "https://x.example", "TELEGRAM_WEBHOOK_SECRET": "a b"}
    result = cli(bad_secret, tmp_path, "set-webhook")
    assert result.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert telegram_api.calls_to("setWebhook") == []
