"""What the fault tests share: reporters texting in over Africa's Talking, and the final count.

A fault test runs a real gateway (real worker processes, the web app's real
webhook endpoint) through a fault, then `assert_each_reported_once` checks
the whole path for every message sent: one inbound event, one case, its
forwarding delivered, the case at the tracker exactly once (any repeat
answered 409), and one receipt to the reporter's number.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from gateway.cases.numbering import CaseNumber
from gateway.core.models import Case, InboundEvent, OutboxEntry
from gateway.core.runtime import Gateway
from tests.support.providers import AT_API_KEY, AT_USERNAME, ProviderAPI
from tests.support.tracker import TrackerServer
from tests.support.worker import kill, start_worker

CALLBACK_KEY = "fault-test-callback-key"
CASE_NUMBER = re.compile(r"\d{4}-\d{6,}-\d")


def at_settings(api: ProviderAPI) -> dict[str, str]:
    """Africa's Talking pointed at the local API; a conversation files after 1 s of silence."""
    return {
        "AFRICASTALKING_USERNAME": AT_USERNAME,
        "AFRICASTALKING_API_KEY": AT_API_KEY,
        "AFRICASTALKING_CALLBACK_KEY": CALLBACK_KEY,
        "AFRICASTALKING_API_BASE_URL": api.url,
        "INTAKE_TIMEOUT_SECONDS": "1",
    }


class Supervised:
    """One `complaint-gateway worker` kept running, as the systemd unit's Restart=always does.

    RQ's worker exits when Redis goes away while it is finishing a job;
    docs/deployment.md runs workers under systemd, which starts them again.
    `restarts` says how often that was needed.
    """

    def __init__(self, env: Mapping[str, str], data_dir: Path) -> None:
        self.env, self.data_dir = env, data_dir
        self.process: subprocess.Popen[bytes] | None = start_worker(env, data_dir)
        self.restarts = 0

    def until(self, check: Callable[[], bool]) -> Callable[[], bool]:
        """`check`, restarting the worker first when it has exited (for `wait_for`)."""

        def supervised() -> bool:
            if self.process is not None and self.process.poll() is not None:
                self.restarts += 1
                self.process = start_worker(self.env, self.data_dir)
            return check()

        return supervised

    def stop(self) -> None:
        kill(self.process)
        self.process = None


class Reporters:
    """Reporters whose first SMS reaches `POST /sms/africastalking` of an app in this process."""

    def __init__(self, app: Flask, tag: str) -> None:
        self.client = app.test_client()
        self.tag = tag
        self.sent: dict[str, str] = {}  # provider message id -> sender

    @staticmethod
    def number(n: int) -> str:
        return f"+24381{n:07d}"

    def send(self, n: int) -> int:
        """Reporter n's statement; the HTTP status the provider got."""
        message_id = f"ATXid_{self.tag}_{n:05d}"
        form = {
            "from": self.number(n),
            "to": "12345",
            "text": f"Statement {n}: what happened, where and when.",
            "id": message_id,
            "date": "2026-11-28 10:00:00",
        }
        answer = self.client.post(f"/sms/africastalking?key={CALLBACK_KEY}", data=form)
        self.sent[message_id] = self.number(n)
        return answer.status_code


def tracker_keys(gw: Gateway) -> set[str]:
    """The Idempotency-Keys of every case in the database."""
    with gw.sessions() as session:
        rows = session.execute(select(Case.year, Case.sequence)).all()
    return {CaseNumber(year, sequence).display() for year, sequence in rows}


def all_delivered(gw: Gateway, expected: int) -> bool:
    with gw.sessions() as session:
        states = session.scalars(select(OutboxEntry.state)).all()
    return len(states) == expected and all(state == "done" for state in states)


def receipts_by_number(api: ProviderAPI) -> Counter[str]:
    """How many messages carrying a case number went to each address."""
    counts: Counter[str] = Counter()
    for call in api.sent():
        if CASE_NUMBER.search(ProviderAPI.text_of(call)):
            counts[call.form.get("to", "")] += 1
    return counts


def assert_each_reported_once(
    gw: Gateway, tracker: TrackerServer, api: ProviderAPI, sent: Mapping[str, str]
) -> None:
    """Every message sent is one event, one case, delivered once, with one receipt."""
    with gw.sessions() as session:
        events = session.scalars(select(InboundEvent)).all()
        assert sorted(e.provider_message_id for e in events) == sorted(sent), "lost or doubled"
        assert all(e.state == "done" for e in events), [e.last_error for e in events]
        # Each reporter sent one message: one case per sender, and no other case.
        senders = {e.sender_pseudonym for e in events}
        filed = session.scalars(select(Case.sender_pseudonym)).all()
        assert len(senders) == len(sent) and sorted(filed) == sorted(senders), "one case each"
    assert all_delivered(gw, len(sent))
    keys = tracker_keys(gw)
    assert set(tracker.cases) == keys, "the tracker has exactly the gateway's cases"
    for key in keys:
        answers = tracker.answers_for(key)
        assert answers.count(201) == 1, f"{key} taken {answers.count(201)} times: {answers}"
        assert all(a in (201, 409) or a >= 500 for a in answers), answers
    receipts = receipts_by_number(api)
    assert receipts == Counter(sent.values()), "one receipt to each reporter"
