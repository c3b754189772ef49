"""Escalation: an urgent case nobody opened alerts by e-mail once, through a real SMTP server.

The sweeper runs as a worker runs it (`sweep`), the alert goes out through the
forwarding job to a local aiosmtpd server, on both databases and real Redis.
Cases are made old by moving `received_at`, never by waiting.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from gateway.cases.reports import Affected
from gateway.core import runtime
from gateway.core.accounts import AuditEntry
from gateway.core.config import Settings
from gateway.core.models import Case, CaseEvent, OutboxEntry
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.work.escalation import escalate
from gateway.work.forwarding import forward
from gateway.work.sweeper import sweep
from tests.support.filing import received_hours_ago
from tests.support.jobs import run_jobs
from tests.support.smtp import free_port, loopback_smtp

NARRATIVE = "The commander of the north post forced her"
ALERT = {
    "SMTP_STARTTLS": "false",
    "ALERT_EMAIL_FROM": "gateway@mission.test",
    "ALERT_EMAIL_TO": "duty@mission.test",
    "ESCALATION_HOURS": "0.5",
}


def gateway(env: dict[str, str], tmp_path: Path, **extra: str) -> Gateway:
    settings = Settings.from_mapping({**env, **extra}, tmp_path)
    return runtime.install(Gateway.from_settings(settings))


@pytest.fixture
def smtp() -> Iterator[tuple[object, int]]:
    with loopback_smtp() as server:
        yield server


@pytest.fixture
def agw(env, tmp_path, smtp) -> Iterator[Gateway]:  # type: ignore[no-untyped-def]
    _, port = smtp
    gw = gateway(env, tmp_path, **ALERT, SMTP_URL=f"smtp://127.0.0.1:{port}")
    yield gw
    runtime.uninstall()
    gw.close()


def file(gw: Gateway, hours_ago: float, **report: object) -> tuple[int, str]:
    return received_hours_ago(gw, hours_ago, NARRATIVE, **report)


def change(gw: Gateway, case_id: int, **values: object) -> None:
    with gw.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.id == case_id).values(**values))


def escalated(gw: Gateway) -> set[int]:
    with gw.sessions() as session:
        return set(session.scalars(select(Case.id).where(Case.escalated_at.is_not(None))))


# name: (hours ago, report fields, changes to the case, escalated?)
CASES = {
    "danger": (1, {"danger_now": True}, {}, True),
    "child": (1, {"affected": Affected.CHILD}, {}, True),
    "minor": (1, {"affected": Affected.SOMEONE_ELSE}, {"victim_age_group": "minor"}, True),
    "not_urgent": (1, {"affected": Affected.SELF}, {}, False),
    "adult_victims": (1, {}, {"victim_age_group": "adult"}, False),
    "opened": (1, {"danger_now": True}, {"first_opened_at": utcnow()}, False),
    "closed": (1, {"danger_now": True}, {"status": "closed"}, False),
    "too_recent": (0.2, {"danger_now": True}, {}, False),
    "before_the_lookback": (24 * 8, {"danger_now": True}, {}, False),
}


def test_only_urgent_unopened_open_cases_are_escalated_once(agw, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    ids, shown = {}, {}
    for name, (hours, report, values, _) in CASES.items():
        ids[name], shown[name] = file(agw, hours, **report)
        if values:
            change(agw, ids[name], **values)
    expected = {ids[name] for name, row in CASES.items() if row[3]}

    sweep(agw)
    run_jobs(agw)
    sweep(agw)  # a second sweep finds nothing more to escalate
    run_jobs(agw)

    assert escalated(agw) == expected
    with agw.sessions() as session:
        numbers = set(session.scalars(select(Case.case_number).where(Case.id.in_(expected))))
        events = session.scalars(select(CaseEvent).where(CaseEvent.kind == "escalated")).all()
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.escalate"))
        audited = {(a.actor, a.target, a.detail["alert"]) for a in audits}
    assert sorted(e.case_id for e in events) == sorted(expected)
    assert {e.actor for e in events} == {"system"} and not any(e.body_enc for e in events)
    assert audited == {("system", n, "email") for n in numbers}
    assert len(inbox.messages) == len(expected)  # one alert a case
    for mail in inbox.mails():
        text = mail.get_payload(decode=True).decode()
        name = next(name for name, number in shown.items() if number in mail["Subject"])
        number = shown[name]
        assert CASES[name][3], name
        assert mail["Subject"].startswith("URGENT") and mail["To"] == "duty@mission.test"
        assert f"http://gateway.test/console/cases/{number}" in text
        assert "Hours since it was received: 1." in text
        assert "commander" not in mail.as_string() and "north post" not in mail.as_string()


def test_the_alert_tells_the_urgency(agw, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    file(agw, 3, danger_now=True)
    sweep(agw)
    run_jobs(agw)
    [mail] = inbox.mails()
    text = mail.get_payload(decode=True).decode()
    assert "Someone in danger now: yes. A child affected: no." in text
    assert "Hours since it was received: 3." in text and mail["Importance"] == "high"


def test_two_sweepers_at_once_escalate_a_case_once(agw, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    case_id, _ = file(agw, 1, danger_now=True)
    start = threading.Barrier(2)
    counts: list[int] = []

    def one() -> None:
        start.wait()
        counts.append(escalate(agw))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_jobs(agw)
    assert sorted(counts) == [0, 1]
    with agw.sessions() as session:
        rows = session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.kind == "escalation")
        )
    assert rows == 1 and len(inbox.messages) == 1 and escalated(agw) == {case_id}


def test_mail_server_down_is_retried_and_sends_one_alert(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens here yet
    gw = gateway(
        env, tmp_path, **ALERT, SMTP_URL=f"smtp://127.0.0.1:{port}", FORWARD_RETRY_DELAYS="3600"
    )
    try:
        case_id, _ = file(gw, 1, danger_now=True)
        sweep(gw)
        run_jobs(gw)
        with gw.sessions() as session:
            entry = session.scalars(
                select(OutboxEntry).where(OutboxEntry.kind == "escalation")
            ).one()
        assert entry.state == "pending" and "cannot reach SMTP server" in entry.last_error
        assert escalated(gw) == {case_id}
        with loopback_smtp(port) as (inbox, _):
            with gw.sessions() as session, session.begin():  # the retry is due now
                session.execute(update(OutboxEntry).values(next_attempt_at=utcnow()))
            assert forward(entry.id) == "delivered"
            sweep(gw)
            run_jobs(gw)
            assert forward(entry.id) == "skipped"  # done: a late duplicate job sends nothing
            assert len(inbox.messages) == 1
    finally:
        runtime.uninstall()
        gw.close()


def test_without_alert_settings_the_case_is_escalated_and_one_line_logged(  # type: ignore[no-untyped-def]
    gw, caplog
) -> None:
    _, number = file(gw, 5, danger_now=True)
    with caplog.at_level(logging.WARNING, logger="gateway.work.escalation"):
        assert escalate(gw) == 1
        assert escalate(gw) == 0
    [line] = [r.getMessage() for r in caplog.records if r.name == "gateway.work.escalation"]
    assert "no e-mail alert sent" in line and number not in line
    with gw.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.kind == "escalation")
            )
            == 0
        )
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.escalate"))
        assert [a.detail["alert"] for a in audit] == ["none"]


def test_the_metric_counts_escalated_cases_nobody_opened(client, gw) -> None:  # type: ignore[no-untyped-def]
    case_id, _ = file(gw, 5, danger_now=True)
    assert "gateway_cases_escalated_unopened 0.0" in client.get("/metrics").get_data(as_text=True)
    escalate(gw)
    assert "gateway_cases_escalated_unopened 1.0" in client.get("/metrics").get_data(as_text=True)
    change(gw, case_id, first_opened_at=utcnow())
    assert "gateway_cases_escalated_unopened 0.0" in client.get("/metrics").get_data(as_text=True)


def test_an_alert_not_yet_sent_is_not_the_case_s_forwarding(agw, cli) -> None:  # type: ignore[no-untyped-def]
    """`cases list` (and the queue) tell what reached the tracker; the alert is another thing."""
    case_id, number = file(agw, 1, danger_now=True)
    run_jobs(agw)  # the tracker has the case
    assert escalate(agw) == 1  # its alert waits in the outbox: not sent yet
    with agw.sessions() as session:
        kinds = session.execute(
            select(OutboxEntry.kind, OutboxEntry.state).where(OutboxEntry.case_id == case_id)
        ).all()
    assert sorted(kinds) == [("case", "done"), ("escalation", "pending")]
    code, out, _ = cli("cases", "list", "--json")
    assert code == 0
    listed = {row["case_number"]: row for row in json.loads(out)}
    assert listed[number]["forwarding"] == "delivered"
