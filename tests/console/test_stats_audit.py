"""Statistics without personal data, and the audit chain's check on the command line."""

from __future__ import annotations

import csv
import io

from sqlalchemy import delete, select, update

from gateway.cases.reports import Affected, Category, NewReport
from gateway.cli import main
from gateway.core.accounts import AuditEntry
from gateway.core.states import Role
from gateway.work.reporter import submit_report


def test_stats_count_reports_and_first_responses_without_personal_data(  # type: ignore[no-untyped-def]
    gw, signed_in, phone, tracker
) -> None:
    web = submit_report(
        gw,
        NewReport(
            narrative="Secret statement about the convoy driver",
            language="fr",
            category=Category.SEXUAL_ABUSE,
            affected=Affected.CHILD,
        ),
        channel="web",
    )
    number, _pin = phone.report(
        "The guard touched me at the gate", affected="1", danger="2", follow_up="1"
    )
    focal = signed_in(Role.FOCAL_POINT)
    focal.post(f"/console/cases/{web.case_number}/message", message="We are looking into it")
    viewer = signed_in(Role.VIEWER)
    page = viewer.get("/console/stats")
    assert page.status_code == 200 and page.data.count(b"<svg") == 4
    response = viewer.get("/console/stats.csv?weeks=4")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    # The conversation asks no category (issue 16, finding 7): "none" until the focal point sets it.
    # One report is a small count: "<5" (gateway/console/small_counts.py).
    assert sorted((r["channel"], r["category"], r["language"], r["reports"]) for r in rows) == [
        ("sms", "none", "en", "<5"),
        ("web", "sexual_abuse", "fr", "<5"),
    ]
    web_row = next(r for r in rows if r["channel"] == "web")
    assert web_row["responded"] == "<5" and float(web_row["median_hours_to_first_response"]) >= 0
    sms_row = next(r for r in rows if r["channel"] == "sms")
    assert sms_row["responded"] == "0" and sms_row["median_hours_to_first_response"] == ""
    for private in (
        "Secret statement",
        "guard",
        web.case_number,
        number,
        web.case_number.replace("-", ""),
        "7700900123",
        "focal_point_user",
    ):
        assert private not in body


def test_audit_verify_detects_a_tampered_entry(gw, env, signed_in, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    signed_in(Role.ADMIN)  # sign-in and password entries
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data_dir = str(gw.settings.data_dir)
    assert main(["audit", "verify", "--data-dir", data_dir]) == 0
    assert "intact" in capsys.readouterr().out
    with gw.sessions() as session, session.begin():
        first = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
        session.execute(
            update(AuditEntry).where(AuditEntry.id == first.id).values(action="login.failed")
        )
    assert main(["audit", "verify", "--data-dir", data_dir]) == 1
    assert f"breaks at entry {first.id}" in capsys.readouterr().err


def test_an_anchor_catches_the_newest_entries_cut_off(
    gw, env, signed_in, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    signed_in(Role.ADMIN)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data_dir = str(gw.settings.data_dir)
    assert main(["audit", "verify", "--data-dir", data_dir]) == 0
    anchor = capsys.readouterr().out.splitlines()[-1].removeprefix("anchor: ")
    with gw.sessions() as session, session.begin():
        newest = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert anchor == f"{newest.id}:{newest.hash}"
    signed_in(Role.VIEWER, "later")  # entries after the anchor are fine
    assert main(["audit", "verify", "--anchor", anchor, "--data-dir", data_dir]) == 0
    capsys.readouterr()
    with gw.sessions() as session, session.begin():
        session.execute(delete(AuditEntry).where(AuditEntry.id >= newest.id))
    assert main(["audit", "verify", "--data-dir", data_dir]) == 0  # still a whole chain...
    capsys.readouterr()
    assert main(["audit", "verify", "--anchor", anchor, "--data-dir", data_dir]) == 1
    assert f"entry {newest.id} is gone or changed" in capsys.readouterr().err
    assert main(["audit", "verify", "--anchor", "12:nothex", "--data-dir", data_dir]) == 2


def test_the_audit_page_checks_the_chain(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN, "auditor")
    assert "The chain is whole" in admin.get("/console/audit?verify=1").get_data(as_text=True)
    with gw.sessions() as session, session.begin():
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        session.delete(session.scalars(select(AuditEntry).where(AuditEntry.id < last.id)).first())
    page = admin.get("/console/audit?verify=1").get_data(as_text=True)
    assert "The chain is broken" in page
    assert "login.ok" in page and "auditor" in page
