"""Status changes told to the case tracker, and the tracker's signed callback."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select, update

from gateway.cases import mailbox
from gateway.cases.filing import set_status
from gateway.cases.reports import NewReport
from gateway.core.models import Case, OutboxEntry
from gateway.core.states import CaseStatus
from gateway.forwarders.webhook import sign, signed_headers
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs


@pytest.fixture
def receipt(gw):  # type: ignore[no-untyped-def]
    return submit_report(gw, NewReport(narrative="x", language="en"), channel="web")


def change_status(gw, case_id: int, status: CaseStatus) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        set_status(session, gw, session.get(Case, case_id), status, actor="focal")


def test_status_change_is_sent_signed_after_the_case(gw, tracker, receipt) -> None:  # type: ignore[no-untyped-def]
    from gateway.work.forwarding import enqueue_outbox, retry_dead

    tracker.script = [503] * 4  # the case itself does not get through: dead-lettered
    run_jobs(gw)
    change_status(gw, receipt.case_id, CaseStatus.UNDER_REVIEW)
    with gw.sessions() as session:
        status_entry = session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind == "status_changed")
        ).one()
    enqueue_outbox(gw, status_entry.id)
    run_jobs(gw)
    assert not [r for r in tracker.requests if r.body.get("event")], "waits for its case"
    retry_dead(gw)
    run_jobs(gw)
    with gw.sessions() as session, session.begin():  # the status event's wait is over
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == status_entry.id)
            .values(next_attempt_at=status_entry.created_at)
        )
    enqueue_outbox(gw, status_entry.id)
    run_jobs(gw)
    [event] = [r for r in tracker.requests if r.body.get("event")]
    assert event.signature_ok and event.answered == 201
    assert event.body["event"] == "status_changed" and event.body["status"] == "under_review"
    assert event.body["case_number"] == receipt.case_number and event.body["changed_at"]
    assert event.headers["idempotency-key"].startswith(receipt.case_number + ":")
    delivered_case = [r for r in tracker.requests if not r.body.get("event") and r.answered == 201]
    assert tracker.requests.index(delivered_case[0]) < tracker.requests.index(event)


def post(client, secret: str, payload: object, timestamp: int | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    if timestamp is None:
        headers = signed_headers(secret, body, "cb")
    else:
        headers = {
            "Content-Type": "application/json",
            "X-Gateway-Timestamp": str(timestamp),
            "X-Gateway-Signature": sign(secret, str(timestamp), body),
        }
    return client.post("/tracker/callback", data=body, headers=headers)


def test_callback_sets_status_and_leaves_a_message(gw, client, tracker, receipt) -> None:  # type: ignore[no-untyped-def]
    run_jobs(gw)
    payload = {
        "case_number": receipt.case_number,
        "status": "referred",
        "message": "A counsellor can meet you on Monday.",
    }
    response = post(client, tracker.secret, payload)
    assert response.status_code == 200, response.json
    view = mailbox.check_status(gw, receipt.case_number, receipt.pin, client=None)
    assert view.status == "referred"
    assert [m.text for m in view.messages] == ["A counsellor can meet you on Monday."]
    assert post(client, tracker.secret, payload).status_code == 200  # a new request, same effect
    run_jobs(gw)
    assert not [r for r in tracker.requests if r.body.get("event")], "not sent back to the tracker"


def test_replayed_callback_changes_nothing_twice(gw, client, tracker, receipt) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(
        {"case_number": receipt.case_number, "status": "in_progress", "message": "Thank you."}
    ).encode()
    headers = signed_headers(tracker.secret, body, "cb")
    assert client.post("/tracker/callback", data=body, headers=headers).status_code == 200
    assert client.post("/tracker/callback", data=body, headers=headers).status_code == 200
    view = mailbox.check_status(gw, receipt.case_number, receipt.pin, client=None)
    assert [m.text for m in view.messages] == ["Thank you."]


@pytest.mark.parametrize(
    ("label", "payload", "secret", "age", "status"),
    [
        ("forged", {"status": "closed"}, "wrong-secret", 0, 403),
        ("stale", {"status": "closed"}, None, 301, 403),
        ("from the future", {"status": "closed"}, None, -301, 403),
        ("unknown status", {"status": "solved"}, None, 0, 400),
        ("no case number", {"case_number": None, "status": "closed"}, None, 0, 400),
        ("message not text", {"status": "closed", "message": ["x"]}, None, 0, 400),
        ("unknown case", {"case_number": "2026-999999-" + "0", "status": "closed"}, None, 0, 404),
        (
            "an outbound event",
            {"event": "status_changed", "status": "closed", "changed_at": "2026-01-01T00:00:00Z"},
            None,
            0,
            400,
        ),
        ("an unknown field", {"status": "closed", "assignee": "x"}, None, 0, 400),
        ("a list", None, None, 0, 400),
    ],
)
def test_bad_callbacks_change_nothing(
    gw, client, tracker, receipt, label, payload, secret, age, status
) -> None:  # type: ignore[no-untyped-def]
    body = (
        [receipt.case_number]
        if payload is None
        else {"case_number": receipt.case_number, **payload}
    )
    if label == "unknown case":
        from gateway.cases.numbering import CaseNumber

        body["case_number"] = CaseNumber(2026, 999999).display()
    response = post(client, secret or tracker.secret, body, timestamp=int(time.time()) - age)
    assert response.status_code == status, label
    view = mailbox.check_status(gw, receipt.case_number, receipt.pin, client=None)
    assert view.status == "received" and view.messages == ()


def test_callback_that_is_not_json_is_400(client, tracker) -> None:  # type: ignore[no-untyped-def]
    body = b"\xff\xfe not json"
    headers = signed_headers(tracker.secret, body, "cb")
    assert client.post("/tracker/callback", data=body, headers=headers).status_code == 400
