"""After whole flows, no phone number, report text or IP address is anywhere in clear.

Looked for in: every log record at DEBUG, every Redis key and value (jobs and
their arguments included), and every column of every table that is not a
Fernet token.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import LargeBinary, select

from gateway import intake, mailbox, outbound
from gateway.inbound import InboundMessage
from gateway.models import Base
from tests.support.jobs import run_jobs

PHONE = "+243810000040"
SECRETS = [PHONE, PHONE[1:], "810000040", "Captain Okonkwo", "198.51.100.77"]


def redis_dump(gw) -> str:  # type: ignore[no-untyped-def]
    parts = []
    for key in gw.redis.scan_iter("*"):
        parts.append(repr(key))
        kind = gw.redis.type(key).decode()
        if kind == "string":
            parts.append(repr(gw.redis.get(key)))
        elif kind == "hash":
            parts.append(repr(gw.redis.hgetall(key)))
        elif kind == "list":
            parts.append(repr(gw.redis.lrange(key, 0, -1)))
        elif kind == "set":
            parts.append(repr(gw.redis.smembers(key)))
        elif kind == "zset":
            parts.append(repr(gw.redis.zrange(key, 0, -1)))
    return "\n".join(parts)


def clear_columns_dump(gw) -> str:  # type: ignore[no-untyped-def]
    parts = []
    with gw.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if not isinstance(c.type, LargeBinary)]
            for row in session.execute(select(*columns)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


@pytest.fixture
def phone_sender():  # type: ignore[no-untyped-def]
    outbound.register_sender("testsms", lambda settings, address, text, mid: f"x{mid}")
    yield
    outbound._senders.pop("testsms", None)


def test_a_whole_sms_conversation_leaves_nothing_in_clear(
    gw, tracker, caplog, phone_sender, client
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    texts = ["Captain Okonkwo took money for food", "1", "2", "1", "at the market", "1"]
    for n, text in enumerate(texts):
        intake.submit(
            gw,
            [
                InboundMessage(
                    channel="sms",
                    provider="testsms",
                    provider_message_id=f"leak-{n}",
                    sender=PHONE,
                    text=text,
                )
            ],
        )
        run_jobs(gw)
    assert len(tracker.cases) == 1
    case_number = next(iter(tracker.cases))
    from gateway.cases import find_case

    with gw.sessions() as session:
        case_id = find_case(session, case_number).id
    mailbox.message_reporter(gw, case_id, "We will call the hotline back.", "focal")
    run_jobs(gw)
    client.get("/healthz", environ_base={"REMOTE_ADDR": "198.51.100.77"})
    client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.77"})
    haystacks = {
        "logs": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
        "redis": redis_dump(gw),
        "database": clear_columns_dump(gw),
    }
    for where, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} found in {where}"
