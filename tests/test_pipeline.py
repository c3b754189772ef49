"""The core pipeline on both backends: intake → case → signed forwarding, never lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import jsonschema
import pytest
from sqlalchemy import func, select

from gateway.cases.forwarding_state import forwarding_summary
from gateway.cases.numbering import parse_case_number
from gateway.cli import main as cli_main
from gateway.core.inbound import InboundMessage
from gateway.core.models import Case, ForwardingAttempt, InboundEvent, OutboxEntry
from gateway.intake import submit as intake
from gateway.work.sweeper import sweep
from tests.support.fake_channels import fake_channel
from tests.support.jobs import run_jobs
from tests.support.tracker import SCHEMA

SENDER = "+243810000001"


def message(
    mid: str = "SM0001", text: str = "He asked for sex for food at the camp"
) -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=mid,
        sender=SENDER,
        text=text,
        language_hint="en",
        received_at=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
    )


def count(gw, model) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_report_forwarded_once_with_valid_signature_and_schema(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    [submitted] = intake.submit(gw, [message()])
    assert not submitted.duplicate
    run_jobs(gw)
    assert len(tracker.requests) == 1
    request = tracker.requests[0]
    assert request.signature_ok and request.schema_error is None and request.answered == 201
    jsonschema.validate(request.body, SCHEMA)
    number = request.body["case_number"]
    assert parse_case_number(number) is not None
    assert request.headers["idempotency-key"] == number
    assert request.body["narrative"] == "He asked for sex for food at the camp"
    assert request.body["reporter_contact"] == "none"
    assert SENDER not in str(request.body) and SENDER[1:] not in str(request.body)
    with gw.sessions() as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "done" and entry.attempts == 1
        event = session.scalars(select(InboundEvent)).one()
        assert event.state == "done" and event.case_id is not None
    run_jobs(gw)
    sweep(gw)
    run_jobs(gw)
    assert len(tracker.requests) == 1


def test_tracker_503_then_200_is_delivered_once(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [503, 503]
    intake.submit(gw, [message()])
    run_jobs(gw)
    assert [r.answered for r in tracker.requests] == [503, 503, 201]
    assert len(tracker.cases) == 1
    with gw.sessions() as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "done" and entry.attempts == 3
        outcomes = session.scalars(select(ForwardingAttempt.outcome).order_by(ForwardingAttempt.id))
        assert list(outcomes) == ["retry", "retry", "delivered"]


def test_tracker_400_goes_to_dead_letter_at_once_and_can_be_retried(
    gw, tracker, env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [400]
    intake.submit(gw, [message()])
    run_jobs(gw)
    assert len(tracker.requests) == 1
    with gw.sessions() as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "dead" and entry.last_error == "HTTP 400"
    sweep(gw)
    run_jobs(gw)
    assert len(tracker.requests) == 1, "a dead-lettered case is not retried by the sweeper"
    from gateway.work.forwarding import retry_dead

    assert len(retry_dead(gw)) == 1
    run_jobs(gw)
    assert len(tracker.requests) == 2 and len(tracker.cases) == 1
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry)).one().state == "done"


def test_retries_exhausted_go_to_dead_letter_with_the_error(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [503] * 10
    intake.submit(gw, [message()])
    run_jobs(gw)
    # FORWARD_RETRY_DELAYS has three delays: four attempts in all.
    assert len(tracker.requests) == 4
    with gw.sessions() as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "dead" and entry.last_error == "HTTP 503"


def test_network_error_is_retried(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    tracker.stop()
    intake.submit(gw, [message()])
    run_jobs(gw, rounds=2)
    with gw.sessions() as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "dead" and "network error" in entry.last_error


def test_same_provider_message_posted_concurrently_makes_one_event(gw) -> None:  # type: ignore[no-untyped-def]
    results = []
    barrier = threading.Barrier(8)

    def post() -> None:
        barrier.wait()
        results.extend(intake.submit(gw, [message("SM-dup")]))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.event_id for r in results}) == 1
    assert count(gw, InboundEvent) == 1
    run_jobs(gw)
    assert count(gw, Case) == 1


def test_redis_flushed_after_acknowledgement_sweeper_recovers(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    intake.submit(gw, [message("SM-a"), message("SM-b")])
    gw.redis.flushdb()  # Redis loses everything after the provider got its 2xx
    run_jobs(gw)
    assert count(gw, Case) == 0
    with gw.sessions() as session:  # age the rows past the sweeper's grace period
        for event in session.scalars(select(InboundEvent)):
            event.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        session.commit()
    result = sweep(gw)
    assert result.inbound == 2
    run_jobs(gw)
    assert count(gw, Case) == 2
    assert len(tracker.cases) == 2
    # Flushed again after the cases were made but before forwarding finished.
    with gw.sessions() as session:
        for entry in session.scalars(select(OutboxEntry)):
            entry.state = "pending"
            entry.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        session.commit()
    gw.redis.flushdb()
    assert sweep(gw).forwarding == 2
    run_jobs(gw)
    assert len(tracker.cases) == 2  # the tracker dedupes by Idempotency-Key
    assert count(gw, Case) == 2


def test_no_clear_text_report_content_or_sender_in_the_database(gw, backend) -> None:  # type: ignore[no-untyped-def]
    secret_text = "Sergeant Kowalski at the north gate"
    intake.submit(gw, [message(text=secret_text)])
    run_jobs(gw)
    db_url = backend[0]
    if db_url.startswith("sqlite"):
        gw.engine.dispose()
        path = db_url.split("///", 1)[1]
        dump = b""
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as fh:
                    dump += fh.read()
            except FileNotFoundError:
                pass
    else:
        from sqlalchemy import text

        from gateway.core.schema import Base

        parts = []
        with gw.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                    parts.append(repr(tuple(row)))
        dump = "\n".join(parts).encode()
    assert dump, "nothing was read"
    assert b"Kowalski" not in dump
    assert SENDER.encode() not in dump and SENDER[1:].encode() not in dump


@pytest.mark.parametrize(
    ("states", "word"),
    [
        ([], "none"),
        (["done", "done"], "delivered"),
        (["waiting"], "pending"),  # media still being fetched: not delivered yet
        (["done", "pending"], "pending"),
        (["done", "dead"], "dead"),
        (["waiting", "dead"], "dead"),
    ],
)
def test_forwarding_is_summed_up_in_one_word(states: list[str], word: str) -> None:
    """The console's queue and `cases list` say the same of a case's outbox rows."""
    assert forwarding_summary(states) == word


def test_cases_list_json_shows_forwarding_state(
    gw, tracker, env, tmp_path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    import json

    tracker.script = [400]
    intake.submit(gw, [message("SM-1"), message("SM-2")])
    run_jobs(gw)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["cases", "list", "--json", "--data-dir", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2
    assert {r["forwarding"] for r in rows} == {"dead", "delivered"}
    for row in rows:
        assert {"case_number", "status", "channel", "language", "received_at", "forwarding"} <= set(
            row
        )
        assert row["status"] == "received" and row["channel"] == "sms"
        assert "narrative" not in row and SENDER not in json.dumps(row)
    assert (
        cli_main(
            [
                "cases",
                "show",
                rows[0]["case_number"].replace("-", " "),
                "--json",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["case_number"] == rows[0]["case_number"]
    assert cli_main(["cases", "show", "2026-000999-0", "--data-dir", str(tmp_path)]) == 1


@pytest.mark.parametrize("status", [200, 204, 409])
def test_contract_delivered_statuses(gw, tracker, status) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [status]
    intake.submit(gw, [message()])
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry)).one().state == "done"


@pytest.mark.parametrize(
    ("status", "state"), [(408, "done"), (429, "done"), (401, "dead"), (404, "dead"), (422, "dead")]
)
def test_contract_retry_or_dead_statuses(gw, tracker, status, state) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [status]
    intake.submit(gw, [message()])
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry)).one().state == state
    assert len(tracker.requests) == (2 if state == "done" else 1)


def test_failing_handler_is_retried_then_dead_lettered_not_lost(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    from gateway.work import inbound

    calls = []

    def broken(session, gw, event, payload):  # type: ignore[no-untyped-def]
        calls.append(event.id)
        raise RuntimeError("the narrative text would be here")

    with fake_channel("brokenchannel", handlers={"brokenchannel": broken}):
        msg = message("SM-poison")
        poison = InboundMessage(**{**msg.__dict__, "channel": "brokenchannel"})
        [submitted] = intake.submit(gw, [poison])
        for _ in range(inbound.MAX_INBOUND_ATTEMPTS + 2):
            assert inbound.process_inbound(submitted.event_id) in ("failed", "skipped")
    assert len(calls) == inbound.MAX_INBOUND_ATTEMPTS
    with gw.sessions() as session:
        event = session.get(InboundEvent, submitted.event_id)
        assert event.state == "dead" and event.last_error == "RuntimeError"
        assert gw.cipher.decrypt_json(event.payload_enc)["text"] == msg.text
    assert count(gw, Case) == 0
