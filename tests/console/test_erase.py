"""Erasing a case from its page: administrators only, with a reason and the number typed again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.cases import audit
from gateway.cases.reports import NewReport
from gateway.cases.tombstone import purge_case_content
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case, CaseEvent, CaseLink, OutboundMessage, Report
from gateway.core.schema import utcnow
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs

STATEMENT = "The driver of the white truck followed me to the river"


@pytest.fixture
def receipt(gw, tracker):  # type: ignore[no-untyped-def]
    filed = submit_report(gw, NewReport(narrative=STATEMENT, language="en"), channel="web")
    run_jobs(gw)  # the tracker has the case
    return filed


def state(gw, case_id: int) -> tuple:  # type: ignore[no-untyped-def]
    """What an erasure changes: the case's marks, its statement, the erase audit entries."""
    with gw.sessions() as session:
        case = session.get(Case, case_id)
        report = session.scalars(select(Report).where(Report.case_id == case_id)).one()
        erasures = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "case.erase")
        ).all()
        return (
            case.status,
            case.erased_at is not None,
            gw.cipher.decrypt_json(report.content_enc).get("narrative"),
            erasures,
        )


def test_an_administrator_erases_a_case_and_the_tracker_is_told(
    gw, signed_in, receipt, tracker
) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN)
    page = admin.get(f"/console/cases/{receipt.case_number}").get_data(as_text=True)
    assert "Erase this case" in page
    response = admin.post(
        f"/console/cases/{receipt.case_number}/erase",
        reason="Spam: the same text from many numbers",
        confirm=receipt.case_number.replace("-", ""),
    )
    assert response.status_code == 302
    status, erased, narrative, erasures = state(gw, receipt.case_id)
    assert (status, erased, narrative) == ("closed", True, None)
    assert erasures == [
        {
            "reason": "Spam: the same text from many numbers",
            "status_before": "received",
            "event": erasures[0]["event"],
        }
    ]
    page = admin.get(f"/console/cases/{receipt.case_number}").get_data(as_text=True)
    assert STATEMENT not in page and "Erase this case" not in page
    assert "its PIN no longer opens it" in page and "Case erased" in page
    run_jobs(gw)
    assert [r.body["event"] for r in tracker.requests if r.body.get("event")] == ["case_erased"]
    with gw.sessions() as session:
        assert audit.verify(session) == (True, None)


@pytest.mark.parametrize(
    ("role", "form", "status"),
    [
        (Role.FOCAL_POINT, {"reason": "spam", "confirm": "NUMBER"}, 403),
        (Role.VIEWER, {"reason": "spam", "confirm": "NUMBER"}, 403),
        (Role.ADMIN, {"reason": "  ", "confirm": "NUMBER"}, 400),
        (Role.ADMIN, {"reason": "x" * 501, "confirm": "NUMBER"}, 400),
        (Role.ADMIN, {"reason": "spam", "confirm": ""}, 400),
        (Role.ADMIN, {"reason": "spam", "confirm": "2026-000001-0"}, 400),
    ],
    ids=["focal-point", "viewer", "no-reason", "long-reason", "no-confirmation", "other-number"],
)
def test_a_refused_erasure_changes_nothing(
    gw, signed_in, receipt, tracker, role, form, status
) -> None:  # type: ignore[no-untyped-def]
    user = signed_in(role)
    before = state(gw, receipt.case_id)
    filled = {k: v.replace("NUMBER", receipt.case_number) for k, v in form.items()}
    response = user.post(f"/console/cases/{receipt.case_number}/erase", **filled)
    assert response.status_code == status
    assert state(gw, receipt.case_id) == before == ("received", False, STATEMENT, [])
    if role is Role.FOCAL_POINT:
        page = user.get(f"/console/cases/{receipt.case_number}").get_data(as_text=True)
        assert "Erase this case" not in page


def test_a_second_erasure_is_refused(gw, signed_in, receipt, tracker) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN)
    form = {"reason": "withdrawn by the reporter", "confirm": receipt.case_number}
    assert admin.post(f"/console/cases/{receipt.case_number}/erase", **form).status_code == 302
    again = admin.post(f"/console/cases/{receipt.case_number}/erase", **form)
    assert again.status_code == 400 and "erased already" in again.get_data(as_text=True)
    assert len(state(gw, receipt.case_id)[3]) == 1


ACTIONS = [  # a valid form for each action that changes a case
    ("status", {"status": "under_review", "reason": "Reopened"}),
    ("triage", {"category": "none", "child_involved": "yes", "danger_now": "no"}),
    ("assign", {"assignee": ""}),
    ("note", {"note": "Called the reporter back"}),
    ("link", {"other": "NUMBER", "kind": "related"}),
    ("unlink", {"other": "NUMBER"}),
    ("message", {"message": "Please call us again"}),
    ("allegation", {"allegation_type": "sexual_exploitation"}),
]


def what_a_case_holds(gw, case_id: int) -> tuple:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        case = session.get(Case, case_id)
        return (
            case.status,
            case.child_involved,
            case.allegation_type,
            session.scalar(select(func.count()).select_from(CaseEvent)),
            session.scalar(select(func.count()).select_from(OutboundMessage)),
            session.scalar(select(func.count()).select_from(CaseLink)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
        )


@pytest.mark.parametrize("gone", ["erased", "purged"])
def test_a_case_without_its_content_takes_no_change(gw, signed_in, receipt, gone) -> None:  # type: ignore[no-untyped-def]
    other = submit_report(gw, NewReport(narrative="Another report", language="en"), channel="web")
    admin = signed_in(Role.ADMIN)
    if gone == "erased":
        confirm = receipt.case_number.replace("-", "")
        url = f"/console/cases/{receipt.case_number}/erase"
        assert admin.post(url, reason="Withdrawn", confirm=confirm).status_code == 302
    else:
        with gw.sessions() as session, session.begin():
            case = session.get(Case, receipt.case_id)
            case.status, case.closed_at = "closed", utcnow() - timedelta(days=400)
            purge_case_content(session, gw.cipher, case, utcnow())
    page = admin.get(f"/console/cases/{receipt.case_number}").get_data(as_text=True)
    assert "Send to the reporter" not in page and "Change status" not in page
    assert "Add note" not in page and 'name="allegation_type"' not in page
    before = what_a_case_holds(gw, receipt.case_id)
    for action, form in ACTIONS:
        form = {k: other.case_number if v == "NUMBER" else v for k, v in form.items()}
        answer = admin.post(f"/console/cases/{receipt.case_number}/{action}", **form)
        assert answer.status_code == 409, action
        assert "can no longer be changed" in answer.get_data(as_text=True), action
    assert what_a_case_holds(gw, receipt.case_id) == before
    # The same forms change a case that has its content: the table is not simply refused.
    for action, form in ACTIONS[:4]:
        answer = admin.post(f"/console/cases/{other.case_number}/{action}", **form)
        assert answer.status_code == 302, action
