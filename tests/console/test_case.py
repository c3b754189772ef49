"""The case page and what a focal point does there."""

from __future__ import annotations

import re

from sqlalchemy import select

from gateway.cases import mailbox
from gateway.cases.reports import Affected, Category, NewReport
from gateway.core.accounts import AuditEntry
from gateway.core.models import CaseEvent, OutboxEntry
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs

NARRATIVE = "The man from the distribution team asked my sister to come alone at night"


def file(gw, **fields):  # type: ignore[no-untyped-def]
    report = NewReport(
        narrative=fields.pop("narrative", NARRATIVE),
        language="en",
        category=Category.SEXUAL_EXPLOITATION,
        affected=Affected.SOMEONE_ELSE,
        location="Camp B, near the water point",
        incident_time="last Friday evening",
        **fields,
    )
    return submit_report(gw, report, channel="web")


def audit_actions(gw) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return [(e.action, e.target) for e in session.scalars(select(AuditEntry))]


def digits(number: str) -> str:
    return number.replace("-", "")


def test_the_page_shows_the_report_decrypted_and_the_view_is_audited(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = file(gw, follow_up=True)
    page = signed_in(Role.FOCAL_POINT).get(f"/console/cases/{receipt.case_number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    for shown in (NARRATIVE, "Camp B, near the water point", "last Friday evening", "Web form"):
        assert shown in html
    assert "Sexual exploitation" in html and "Someone else" in html
    assert "waits for their next status check" in html
    assert receipt.pin not in html
    assert ("case.view", digits(receipt.case_number)) in audit_actions(gw)


def test_a_conversation_case_never_shows_the_phone_number(gw, signed_in, phone, tracker) -> None:  # type: ignore[no-untyped-def]
    number, pin = phone.report(
        "A peacekeeper asked me for sex for a job",
        affected="1",
        danger="2",
        where_when="At the market",
        follow_up="1",
    )
    focal = signed_in(Role.FOCAL_POINT)
    pages = [
        focal.get("/console/cases").get_data(as_text=True),
        focal.get(f"/console/cases/{number}").get_data(as_text=True),
        focal.get(f"/console/cases/{number}/export.zip").get_data(),
    ]
    case_page = pages[1]
    assert "A peacekeeper asked me for sex for a job" in case_page
    assert "messages also go out by SMS" in case_page
    for page in pages:
        text = page if isinstance(page, str) else page.decode("latin-1")
        for form in (phone.NUMBER, phone.NUMBER[1:], "7700900123", "7700 900123", pin):
            assert form not in text


def test_status_change_reaches_the_tracker_and_the_reporter(gw, signed_in, tracker) -> None:  # type: ignore[no-untyped-def]
    receipt = file(gw)
    run_jobs(gw)  # the case itself reaches the tracker first
    focal = signed_in(Role.FOCAL_POINT, "gloria")
    path = f"/console/cases/{receipt.case_number}"
    assert focal.post(f"{path}/status", status="under_review", reason="").status_code == 302
    assert focal.post(f"{path}/status", status="solved", reason="x").status_code == 302
    response = focal.post(f"{path}/status", status="under_review", reason="Reading the report")
    assert response.status_code == 302 and "ok=status" in response.headers["Location"]
    run_jobs(gw)
    [event] = [r for r in tracker.requests if r.body.get("event")]
    assert event.signature_ok and event.body["status"] == "under_review"
    assert event.body["case_number"] == receipt.case_number
    assert "Reading the report" not in str(event.body), "the reason stays in the gateway"
    view = mailbox.check_status(gw, receipt.case_number, receipt.pin, client=None)
    assert view.status == "under_review"
    html = focal.get(path).get_data(as_text=True)
    assert "Status: Under review" in html and "Reading the report" in html
    assert ("case.status", digits(receipt.case_number)) in audit_actions(gw)
    again = focal.post(f"{path}/status", status="under_review", reason="again")
    assert "err=same_status" in again.headers["Location"]


def test_message_reaches_the_reporter_and_notes_do_not(gw, signed_in, phone, tracker) -> None:  # type: ignore[no-untyped-def]
    web = file(gw)
    number, pin = phone.report(
        "Someone from the NGO hurt me", affected="1", danger="2", follow_up="1"
    )
    focal = signed_in(Role.FOCAL_POINT)
    for case_number in (web.case_number, number):
        base = f"/console/cases/{case_number}"
        assert focal.post(f"{base}/note", note="Known to the protection team").status_code == 302
        assert focal.post(f"{base}/message", message="Can you call the hotline?").status_code == 302
        assert focal.post(f"{base}/message", message="").status_code == 302
    run_jobs(gw)
    for case_number, case_pin in ((web.case_number, web.pin), (number, pin)):
        view = mailbox.check_status(gw, case_number, case_pin, client=None)
        assert [m.text for m in view.messages] == ["Can you call the hotline?"]
    assert phone.inbox[-1] == "Can you call the hotline?", "the SMS reporter also got it by SMS"
    html = focal.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "Known to the protection team" in html and "never shown to the reporter" in html
    assert "sent through the channel" in html
    actions = [a for a, _ in audit_actions(gw)]
    assert actions.count("case.message") == 2 and actions.count("case.note") == 2
    with gw.sessions() as session:
        notes = session.scalars(select(CaseEvent).where(CaseEvent.kind == "note")).all()
        assert len(notes) == 2 and all(
            n.body_enc and b"protection" not in n.body_enc for n in notes
        )


def test_retry_of_a_dead_lettered_forwarding(gw, signed_in, tracker) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [503] * 4  # every attempt fails: dead-lettered
    receipt = file(gw)
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry.state)).one() == "dead"
    focal = signed_in(Role.FOCAL_POINT)
    health = focal.get("/console/health").get_data(as_text=True)
    assert receipt.case_number in health and "HTTP 503" in health
    case_page = focal.get(f"/console/cases/{receipt.case_number}").get_data(as_text=True)
    assert "Retry the failed forwarding" in case_page and "<td>503</td>" in case_page
    response = focal.post(f"/console/cases/{receipt.case_number}/retry")
    assert "ok=retry" in response.headers["Location"]
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry.state)).one() == "done"
    assert tracker.answers_for(receipt.case_number)[-1] == 201
    assert ("forwarding.retry", digits(receipt.case_number)) in audit_actions(gw)
    nothing = focal.post(f"/console/cases/{receipt.case_number}/retry")
    assert "err=retry" in nothing.headers["Location"]


def test_retry_all_from_the_dead_letter_view(gw, signed_in, tracker) -> None:  # type: ignore[no-untyped-def]
    tracker.script = [400, 400]  # refused: dead-lettered at once
    first, second = file(gw), file(gw)
    run_jobs(gw)
    focal = signed_in(Role.FOCAL_POINT)
    assert focal.post("/console/health/retry-forwarding").headers["Location"].endswith("ok=2")
    run_jobs(gw)
    with gw.sessions() as session:
        assert set(session.scalars(select(OutboxEntry.state))) == {"done"}
    assert tracker.answers_for(first.case_number)[-1] == 201
    assert tracker.answers_for(second.case_number)[-1] == 201


def test_cases_are_linked_both_ways(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    first, second = file(gw), file(gw, narrative="The same man again")
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{second.case_number}/link"
    assert "ok=link" in focal.post(path, other=first.case_number, kind="duplicate").location
    assert "err=linked" in focal.post(path, other=first.case_number, kind="related").location
    assert "err=link" in focal.post(path, other=second.case_number, kind="related").location
    assert "err=link" in focal.post(path, other="2026-000000-0", kind="related").location
    dup = focal.get(f"/console/cases/{second.case_number}").get_data(as_text=True)
    orig = focal.get(f"/console/cases/{first.case_number}").get_data(as_text=True)
    assert re.search(r"Duplicate of\s*<a[^>]*>" + first.case_number, dup)
    assert re.search(r"Has a duplicate:\s*<a[^>]*>" + second.case_number, orig)


def test_the_email_alert_link_opens_the_case_after_sign_in(gw, app, clock, tracker) -> None:  # type: ignore[no-untyped-def]
    from tests.console.conftest import Browser, make_user

    receipt = file(gw)
    link = f"/console/cases/{receipt.case_number}"
    browser = Browser(app.test_client(), clock)
    first = browser.get(link)
    assert first.status_code == 302 and "/console/login?next=" in first.location
    user = make_user(gw, Role.FOCAL_POINT, "kim")
    signed = browser.login(user, next=link)
    assert signed.location == link
    # After the forced password change the same link opens the case.
    from tests.console.conftest import NEW_PASSWORD, csrf_of

    browser.token = csrf_of(browser.get("/console/password").get_data(as_text=True))
    browser.post("/console/password", current=user.password, new=NEW_PASSWORD, repeat=NEW_PASSWORD)
    assert NARRATIVE in browser.get(link).get_data(as_text=True)
    assert browser.get("/console/cases/2026-000000-0").status_code == 404


def test_a_link_is_removed_from_either_case_and_the_removal_is_audited(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    first, second = file(gw), file(gw, narrative="Not the same man after all")
    focal = signed_in(Role.FOCAL_POINT)
    focal.post(
        f"/console/cases/{second.case_number}/link", other=first.case_number, kind="duplicate"
    )
    orig_path = f"/console/cases/{first.case_number}"
    orig = focal.get(orig_path).get_data(as_text=True)
    assert orig.count('action="/console/cases/' + first.case_number + '/unlink"') == 1
    removed = focal.post(f"{orig_path}/unlink", other=second.case_number)
    assert removed.status_code == 302 and "ok=unlink" in removed.location
    assert "Link removed." in focal.get(removed.location).get_data(as_text=True)
    for number in (first.case_number, second.case_number):
        page = focal.get(f"/console/cases/{number}").get_data(as_text=True)
        assert "Linked cases" not in page and "/unlink" not in page
    again = focal.post(f"{orig_path}/unlink", other=second.case_number)
    assert "ok=" not in again.location and "err=" not in again.location
    assert "ok=" not in focal.post(f"{orig_path}/unlink", other="2026-000000-0").location
    with gw.sessions() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.unlink"))
        assert entry.target == digits(first.case_number) and entry.actor == "focal_point_user"
        assert entry.detail == {
            "other": digits(second.case_number),
            "kind": "duplicate",
            "made_from": digits(second.case_number),
        }
    # The pair can be linked again, the other way round this time.
    relink = focal.post(f"{orig_path}/link", other=second.case_number, kind="related")
    assert "ok=link" in relink.location
