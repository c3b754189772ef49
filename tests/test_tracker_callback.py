"""The tracker's callback keeps the two directions apart and takes effect once (finding 5).

- A `status_changed` event (or a case) the gateway itself sent, captured at
  the local tracker and replayed byte for byte to /tracker/callback, changes
  nothing.
- Twenty identical signed callbacks at once: one takes effect (one status
  change, one audit entry, one message), the others get 409 or 200, never 5xx.
- CASE_TRACKER_CALLBACK_SECRET, when set, is the only secret a callback
  verifies with; without it, start-up warns.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from gateway.app import create_app
from gateway.cases import audit, mailbox
from gateway.cases.filing import set_status
from gateway.cases.reports import NewReport
from gateway.core.accounts import AuditEntry
from gateway.core.config import Settings
from gateway.core.models import Case, CaseEvent, OutboxEntry
from gateway.core.runtime import Gateway, install
from gateway.core.states import CaseStatus
from gateway.forwarders.webhook import signed_headers
from gateway.work.forwarding import enqueue_outbox
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs

CALLBACK_SECRET = "made-up-callback-secret-2718281828"
CONCURRENT = 20


@pytest.fixture
def callback_secret() -> str | None:
    return None  # parametrised by the tests that set CASE_TRACKER_CALLBACK_SECRET


@pytest.fixture
def env(env: dict[str, str], callback_secret: str | None) -> dict[str, str]:
    if callback_secret is None:
        return env
    return {**env, "CASE_TRACKER_CALLBACK_SECRET": callback_secret}


@pytest.fixture
def receipt(gw, tracker):  # type: ignore[no-untyped-def]
    filed = submit_report(gw, NewReport(narrative="x", language="en"), channel="web")
    run_jobs(gw)
    assert [r.answered for r in tracker.requests] == [201]
    return filed


def snapshot(gw: Gateway, case_id: int) -> tuple[str, int, int]:
    """(status, case events, audit entries): what a callback would change."""
    with gw.sessions() as session:
        case = session.get(Case, case_id)
        events = session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        )
        entries = session.scalar(select(func.count()).select_from(AuditEntry))
        return case.status, int(events or 0), int(entries or 0)


def focal_point_sets(gw: Gateway, case_id: int, status: CaseStatus) -> None:
    """A status change in the console: the gateway tells the tracker (signed, outbound)."""
    with gw.sessions() as session, session.begin():
        set_status(session, gw, session.get(Case, case_id), status, actor="focal")
        session.execute(update(OutboxEntry).values(next_attempt_at=func.now()))
        ids = session.scalars(select(OutboxEntry.id).where(OutboxEntry.state == "pending")).all()
    for outbox_id in ids:
        enqueue_outbox(gw, outbox_id)
    run_jobs(gw)


def replay(client, request):  # type: ignore[no-untyped-def]
    """Send a request the tracker received, headers and body exactly as they were."""
    headers = {
        "Content-Type": "application/json",
        "X-Gateway-Timestamp": request.headers["x-gateway-timestamp"],
        "X-Gateway-Signature": request.headers["x-gateway-signature"],
    }
    return client.post("/tracker/callback", data=request.raw, headers=headers)


def test_the_gateways_own_status_event_replayed_changes_nothing(
    gw, client, tracker, receipt
) -> None:  # type: ignore[no-untyped-def]
    focal_point_sets(gw, receipt.case_id, CaseStatus.UNDER_REVIEW)
    [event] = [r for r in tracker.requests if r.body.get("event") == "status_changed"]
    assert event.signature_ok and event.raw and event.body["status"] == "under_review"
    focal_point_sets(gw, receipt.case_id, CaseStatus.IN_PROGRESS)
    before = snapshot(gw, receipt.case_id)
    assert before[0] == "in_progress"
    response = replay(client, event)  # seen on the wire, replayed within five minutes
    assert response.status_code in (400, 403), response.get_json()
    assert snapshot(gw, receipt.case_id) == before
    [case] = [r for r in tracker.requests if "event" not in r.body]
    assert replay(client, case).status_code in (400, 403)  # nor the case itself
    assert snapshot(gw, receipt.case_id) == before


def test_twenty_identical_callbacks_at_once_take_effect_once(app, gw, receipt) -> None:  # type: ignore[no-untyped-def]
    payload = {
        "case_number": receipt.case_number,
        "status": "referred",
        "message": "A counsellor can meet you on Monday.",
    }
    body = json.dumps(payload).encode()
    headers = signed_headers(gw.settings.case_tracker_secret, body, "cb")
    before = snapshot(gw, receipt.case_id)
    start = threading.Barrier(CONCURRENT)
    answers: list[int] = []

    def post() -> None:
        client = app.test_client()
        start.wait()
        answers.append(client.post("/tracker/callback", data=body, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(answers)
    assert set(counts) <= {200, 409} and counts[200] >= 1 and sum(counts.values()) == CONCURRENT
    status, events, entries = snapshot(gw, receipt.case_id)
    assert status == "referred"
    assert events - before[1] == 2  # one status change, one message
    assert entries - before[2] == 2  # case.status and case.message, once each
    view = mailbox.check_status(gw, receipt.case_number, receipt.pin, client=None)
    assert [m.text for m in view.messages] == [payload["message"]]
    with gw.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-2:] == ["case.status", "case.message"]
        assert audit.verify(session) == (True, None)


def test_a_callback_that_failed_is_taken_when_retried(
    gw, client, receipt, env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The replay key is released when the database was away, so the tracker's retry counts."""
    body = json.dumps({"case_number": receipt.case_number, "status": "closed"}).encode()
    headers = signed_headers(gw.settings.case_tracker_secret, body, "cb")
    away = {**env, "DATABASE_URL": "postgresql+psycopg://127.0.0.1:1/away?connect_timeout=2"}
    broken = Gateway.from_settings(Settings.from_mapping(away, tmp_path))
    try:
        broken_app = create_app(gateway=broken)
        answer = broken_app.test_client().post("/tracker/callback", data=body, headers=headers)
    finally:
        install(gw)
        broken.close()
    assert answer.status_code == 503 and answer.get_json()["ok"] is False
    assert snapshot(gw, receipt.case_id)[0] == "received"
    assert client.post("/tracker/callback", data=body, headers=headers).status_code == 200
    assert snapshot(gw, receipt.case_id)[0] == "closed"


@pytest.mark.parametrize("callback_secret", [CALLBACK_SECRET])
def test_a_separate_callback_secret_is_the_only_one_accepted(
    gw, client, tracker, receipt, callback_secret
) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"case_number": receipt.case_number, "status": "in_progress"}).encode()
    shared = signed_headers(tracker.secret, body, "cb")
    assert client.post("/tracker/callback", data=body, headers=shared).status_code == 403
    assert snapshot(gw, receipt.case_id)[0] == "received"
    separate = signed_headers(callback_secret, body, "cb")
    assert client.post("/tracker/callback", data=body, headers=separate).status_code == 200
    assert snapshot(gw, receipt.case_id)[0] == "in_progress"


@pytest.mark.parametrize(
    ("callback_secret", "warned"), [(None, True), (CALLBACK_SECRET, False)], ids=["shared", "own"]
)
def test_start_up_warns_while_callbacks_share_the_outbound_secret(
    gw, caplog, callback_secret, warned
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("WARNING", logger="gateway.web.tracker_callback")
    create_app(gateway=gw)
    found = any("CASE_TRACKER_CALLBACK_SECRET" in r.getMessage() for r in caplog.records)
    assert found is warned
    assert gw.settings.case_tracker_secret not in caplog.text and CALLBACK_SECRET not in caplog.text
