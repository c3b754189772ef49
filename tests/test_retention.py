"""Retention and erasure: closed cases become tombstones, one case can be erased at once.

With RETENTION_DAYS=0 a closed case's statement, messages and attachments
are gone after one sweep while an open case keeps everything and both stay
in `cases list --json`; `retention report` says what is due; the sender's
pseudonym goes when no open case needs it (a STOP stays); `cases erase`
removes a case's content now, closes it, makes its PIN answer like an
unknown case, tells the tracker with a signed `case_erased` event, and
never lets a purged case be forwarded later. The audit chain stays whole.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.cases import daily_counts
from gateway.cases.filing import add_event, set_status
from gateway.cases.lookup import Answer, check
from gateway.cases.reports import NewAttachment, NewReport
from gateway.core.accounts import AuditEntry
from gateway.core.models import (
    Attachment,
    Case,
    CaseEvent,
    Conversation,
    InboundEvent,
    MediaDownload,
    OutboundMessage,
    OutboxEntry,
    Report,
    SenderPreference,
)
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, CaseStatus, ConversationState
from gateway.work.forwarding import retry_dead
from gateway.work.reporter import message_reporter, submit_report
from gateway.work.sweeper import sweep
from tests.support.jobs import run_jobs
from tests.support.media_samples import pdf_with_metadata

STATEMENT = "The logistics officer kept my papers until I agreed"


@pytest.fixture
def env(env):  # type: ignore[no-untyped-def]
    """The test's environment with RETENTION_DAYS=0: a closed case is due at once."""
    return {**env, "RETENTION_DAYS": "0"}


def file(gw, pseudonym: str | None = None):  # type: ignore[no-untyped-def]
    """A report with a PDF, a message to the reporter and a note; forwarded."""
    report = NewReport(
        narrative=STATEMENT,
        language="en",
        location="Camp C",
        follow_up=True,
        attachments=[NewAttachment("application/pdf", pdf_with_metadata())],
    )
    receipt = submit_report(gw, report, channel="web", sender_pseudonym=pseudonym)
    run_jobs(gw)  # the file cleaned into an attachment, the case forwarded
    message_reporter(gw, receipt.case_id, "Please come to the office", actor="focal")
    with gw.sessions() as session, session.begin():
        case = session.get(Case, receipt.case_id)
        add_event(session, gw, case, CaseEventKind.NOTE, "focal", body="seen the officer")
        session.add(  # as a message sent through the reporter's channel leaves it
            OutboundMessage(
                case_id=case.id,
                channel="sms",
                provider="p",
                address_enc=gw.cipher.encrypt(b"+243810000009"),
                body_enc=gw.cipher.encrypt(b"Your case: a message waits"),
                dedupe_key=f"test-message:{case.id}",
                state="done",
            )
        )
    return receipt


def close(gw, case_id: int) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        set_status(session, gw, session.get(Case, case_id), CaseStatus.CLOSED, actor="focal")


def content(gw, case_id: int) -> dict:  # type: ignore[no-untyped-def]
    """What the database holds of a case's content, decrypted."""
    with gw.sessions() as session:
        report = session.scalars(select(Report).where(Report.case_id == case_id)).one()
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        messages = session.scalars(
            select(OutboundMessage).where(OutboundMessage.case_id == case_id)
        ).all()
        return {
            "report": gw.cipher.decrypt_json(report.content_enc),
            "attachments": session.scalar(
                select(func.count())
                .select_from(Attachment)
                .where(Attachment.report_id == report.id)
            ),
            "texts": [gw.cipher.decrypt(e.body_enc).decode() for e in events if e.body_enc],
            "sent": [gw.cipher.decrypt(m.body_enc).decode() for m in messages],
        }


def audit_entries(gw, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_closed_case_becomes_a_tombstone_after_a_sweep(gw, cli, tracker) -> None:  # type: ignore[no-untyped-def]
    closed, kept = file(gw), file(gw)
    close(gw, closed.case_id)
    before = content(gw, kept.case_id)
    assert before["report"]["narrative"] == STATEMENT and before["attachments"] == 1
    assert "seen the officer" in before["texts"] and before["sent"]

    sweep(gw)

    assert content(gw, closed.case_id) == {
        "report": {},
        "attachments": 0,
        "texts": [],
        "sent": [""],
    }
    assert content(gw, kept.case_id) == before
    with gw.sessions() as session:
        tombstone = session.get(Case, closed.case_id)
        assert tombstone.content_purged_at is not None and tombstone.erased_at is None
        assert tombstone.status == "closed" and tombstone.closed_at is not None
        assert session.get(Case, kept.case_id).content_purged_at is None
        kinds = [e.kind for e in tombstone.events]
        assert kinds[-1] == "content_purged"
    [entry] = audit_entries(gw, "retention.purge")
    assert entry.actor == "system" and entry.detail["cases"] == [
        closed.case_number.replace("-", "")
    ]
    sweep(gw)  # again: nothing more to do, no second entry
    assert len(audit_entries(gw, "retention.purge")) == 1

    code, out, _ = cli("cases", "list", "--json")
    assert code == 0
    listed = {row["case_number"]: row for row in json.loads(out)}
    assert listed[closed.case_number]["content_purged_at"] is not None
    assert listed[closed.case_number]["status"] == "closed"
    assert listed[kept.case_number]["content_purged_at"] is None
    assert not listed[closed.case_number]["erased"]
    assert STATEMENT not in out
    assert cli("audit", "verify")[0] == 0


def test_a_closed_case_the_tracker_has_not_received_keeps_its_content(gw, cli, tracker) -> None:  # type: ignore[no-untyped-def]
    """Past its retention, a case no target has received yet waits, whole, until one has."""
    tracker.script = [400]  # refused: dead-lettered, to be retried by hand
    receipt = file(gw)
    close(gw, receipt.case_id)
    sweep(gw)
    assert content(gw, receipt.case_id)["report"]["narrative"] == STATEMENT
    code, out, _ = cli("retention", "report", "--json")
    assert code == 0 and json.loads(out)["waiting_to_forward"] == 1
    retry_dead(gw)  # what `forwarding retry` does
    run_jobs(gw)
    assert 201 in tracker.answers_for(receipt.case_number)
    sweep(gw)
    assert content(gw, receipt.case_id)["report"] == {}
    code, out, _ = cli("retention", "report", "--json")
    assert json.loads(out)["waiting_to_forward"] == 0


def test_the_retention_report_says_what_goes_and_when(gw, cli, tracker) -> None:  # type: ignore[no-untyped-def]
    closed, _open = file(gw), file(gw)
    close(gw, closed.case_id)
    code, out, _ = cli("retention", "report")
    assert code == 0
    assert "for 0 days after closing" in out and "due now (the next sweep): 1" in out
    assert closed.case_number in out and _open.case_number not in out
    assert "open cases (a purge date once closed): 1" in out and STATEMENT not in out
    code, out, _ = cli("retention", "report", "--json")
    report = json.loads(out)
    assert report["due_now"] == 1 and report["already_purged"] == 0
    assert [c["case_number"] for c in report["cases"]] == [closed.case_number]
    assert sum(report["by_month"].values()) == 1
    sweep(gw)
    report = json.loads(cli("retention", "report", "--json")[1])
    assert (report["already_purged"], report["due_now"], report["cases"]) == (1, 0, [])


def _sender_traces(gw, pseudonym: str, stopped: bool) -> None:  # type: ignore[no-untyped-def]
    """What the gateway keeps by a sender's pseudonym besides their cases."""
    now = utcnow()
    with gw.sessions() as session, session.begin():
        session.add(
            SenderPreference(
                sender_pseudonym=pseudonym, language="en", stopped_at=now if stopped else None
            )
        )
        session.add(
            InboundEvent(
                channel="sms",
                provider="p",
                provider_message_id=f"m-{pseudonym}",
                sender_pseudonym=pseudonym,
                payload_enc=gw.cipher.encrypt_json({"text": "hi"}),
                received_at=now,
                state="done",
                processed_at=now,
            )
        )
        session.add(
            Conversation(
                channel="sms",
                provider="p",
                sender_pseudonym=pseudonym,
                state=ConversationState.ABANDONED.value,
                step="statement",
                language="en",
                answers_enc=gw.cipher.encrypt_json({}),
                last_activity_at=now,
            )
        )


@pytest.mark.parametrize(
    ("other_open_case", "stopped", "forgotten", "preference_kept"),
    [
        (False, False, True, False),  # nothing needs the pseudonym: its traces go
        (False, True, True, True),  # ... but a STOP is kept
        (True, False, False, True),  # another open case of the sender needs it
    ],
    ids=["no-open-case", "stop-kept", "open-case-needs-it"],
)
def test_the_pseudonym_goes_when_no_open_case_needs_it(  # type: ignore[no-untyped-def]
    gw, tracker, other_open_case, stopped, forgotten, preference_kept
) -> None:
    pseudonym = "p" * 64
    closed = file(gw, pseudonym)
    other = file(gw, pseudonym if other_open_case else None)
    _sender_traces(gw, pseudonym, stopped)
    close(gw, closed.case_id)
    sweep(gw)
    with gw.sessions() as session:
        assert session.get(Case, closed.case_id).sender_pseudonym is None
        assert session.get(Case, closed.case_id).reply_address_enc is None
        assert (session.get(Case, other.case_id).sender_pseudonym == pseudonym) == other_open_case
        event = session.scalars(select(InboundEvent)).one()
        assert (event.sender_pseudonym == "") == forgotten
        assert (gw.cipher.decrypt_json(event.payload_enc) == {}) == forgotten
        conversations = session.scalar(select(func.count()).select_from(Conversation))
        assert (conversations == 0) == forgotten
        assert (session.get(SenderPreference, pseudonym) is not None) == preference_kept


def test_cases_erase_tells_the_tracker_and_the_pin_no_longer_opens_it(gw, cli, tracker) -> None:  # type: ignore[no-untyped-def]
    receipt = file(gw)
    assert cli("cases", "erase", receipt.case_number, "--reason", " ")[0] == 2  # no reason
    code, out, err = cli(
        "cases", "erase", receipt.case_number, "--reason", "spam, confirmed", "--by", "amina"
    )
    assert code == 0, err
    assert "the case tracker will be told" in out
    run_jobs(gw)
    [event] = [r for r in tracker.requests if r.body.get("event")]
    assert event.signature_ok and event.answered == 201
    assert event.body == {
        "event": "case_erased",
        "case_number": receipt.case_number,
        "erased_at": event.body["erased_at"],
    }
    assert event.headers["idempotency-key"].startswith(receipt.case_number + ":")
    assert content(gw, receipt.case_id)["report"] == {}
    with gw.sessions() as session, session.begin():
        case = session.get(Case, receipt.case_id)
        assert case.status == "closed" and case.erased_at is not None
        assert check(session, gw, receipt.case_number, receipt.pin, channel="web").answer is (
            Answer.WRONG
        )
    [entry] = audit_entries(gw, "case.erase")
    assert entry.actor == "cli:amina" and entry.detail["reason"] == "spam, confirmed"
    assert entry.target == receipt.case_number.replace("-", "")
    code, _, err = cli("cases", "erase", receipt.case_number, "--reason", "again")
    assert code == 1 and "erased already" in err
    assert len(audit_entries(gw, "case.erase")) == 1
    assert cli("audit", "verify")[0] == 0
    code, out, _ = cli("cases", "list", "--json")
    assert json.loads(out)[0]["erased"] is True


def test_a_case_erased_before_it_was_forwarded_is_never_sent(gw, cli, tracker) -> None:  # type: ignore[no-untyped-def]
    """Erased while its file still waits to be cleaned: neither the file nor the case arrives."""
    report = NewReport(
        narrative=STATEMENT,
        language="en",
        attachments=[NewAttachment("application/pdf", pdf_with_metadata())],
    )
    receipt = submit_report(gw, report, channel="web")
    code, out, _ = cli("cases", "erase", receipt.case_number, "--reason", "withdrawn")
    assert code == 0 and "no case tracker had it" in out
    run_jobs(gw)
    retry_dead(gw)  # a retry of the dead-lettered case sends nothing either
    run_jobs(gw)
    assert tracker.requests == []
    with gw.sessions() as session:
        row = session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "case")).one()
        assert row.state == "dead" and "purged" in (row.last_error or "")
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "dead" and download.data_enc is None
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_an_erased_case_leaves_the_statistics(gw, cli, tracker) -> None:  # type: ignore[no-untyped-def]
    receipt = submit_report(gw, NewReport(narrative=STATEMENT, language="en"), channel="web")
    day = daily_counts.day_of(utcnow())
    with gw.sessions() as session:
        assert sum(t.reports for t in daily_counts.count_days(session, day, day + timedelta(1))) > 0
    assert cli("cases", "erase", receipt.case_number, "--reason", "spam")[0] == 0
    with gw.sessions() as session:
        assert daily_counts.count_days(session, day, day + timedelta(1)) == []
