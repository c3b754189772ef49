"""The cases export for headquarters in the console: who may, what is left out, the audit.

The same file as `cases export --format mts-csv` (tests/test_cases_export.py),
through the Flask test client signed in as each role: restricted cases the
user is not named on are left out and counted on the page, and each download
is one audit entry with the period, the rows and the number left out.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from gateway.cases.mts_export import COLUMNS
from gateway.cases.reports import NewReport
from gateway.core.accounts import AuditEntry, User
from gateway.core.models import Case, CaseAccess
from gateway.core.states import Role
from gateway.work.reporter import submit_report

OPEN_STATEMENT = "The driver Mbalavanti asked for favours at the water point"
SECRET_STATEMENT = "The commander Ruzivendo came to the school at night"
PERIOD = "since=2026-04-01&until=2026-04-30"


def filed(gw, statement: str, day: int) -> str:  # type: ignore[no-untyped-def]
    receipt = submit_report(gw, NewReport(narrative=statement, language="en"), channel="web")
    with gw.sessions() as db, db.begin():
        moment = datetime(2026, 4, day, 12, tzinfo=UTC)
        db.execute(update(Case).where(Case.id == receipt.case_id).values(received_at=moment))
    return receipt.case_number


def restrict_to(gw, number: str, username: str) -> None:  # type: ignore[no-untyped-def]
    """The case restricted to one named user, as the console's restriction leaves it."""
    with gw.sessions() as db, db.begin():
        case = db.scalars(select(Case).where(Case.case_number == number.replace("-", ""))).one()
        user_id = db.scalars(select(User.id).where(User.username == username)).one()
        case.restricted = True
        db.add(CaseAccess(case_id=case.id, user_id=user_id, granted_by="admin_user"))


def audited(gw) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "cases.export").order_by(AuditEntry.id)
        ).all()
        return [(e.actor, e.detail) for e in entries]


def numbers_in(body: str) -> list[str]:
    reader = csv.reader(io.StringIO(body))
    assert tuple(next(reader)) == COLUMNS
    return [row[0] for row in reader]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, True),
        (Role.FOCAL_POINT, True),
        (Role.VIEWER, False),
        (Role.INTAKE, False),
    ],
)
def test_who_may_export(gw, signed_in, role: Role, allowed: bool) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(role)
    page = browser.get(f"/console/exports/cases?{PERIOD}")
    download = browser.get(f"/console/exports/cases.csv?{PERIOD}")
    assert (page.status_code, download.status_code) == ((200, 200) if allowed else (403, 403))
    if role in (Role.ADMIN, Role.FOCAL_POINT, Role.VIEWER):  # the statistics page links it
        stats = browser.get("/console/stats").get_data(as_text=True)
        assert ("/console/exports/cases" in stats) is allowed
    assert len(audited(gw)) == (1 if allowed else 0)


def test_restricted_cases_are_left_out_and_counted(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT, "focal")
    named = signed_in(Role.FOCAL_POINT, "named")
    open_number = filed(gw, OPEN_STATEMENT, 3)
    secret_number = filed(gw, SECRET_STATEMENT, 30)
    filed(gw, "Filed in May, outside the period", 30)  # moved below
    with gw.sessions() as db, db.begin():
        latest = db.scalars(select(Case).order_by(Case.id.desc())).first()
        latest.received_at = datetime(2026, 5, 1, tzinfo=UTC)
    restrict_to(gw, secret_number, "named")

    page = focal.get(f"/console/exports/cases?{PERIOD}").get_data(as_text=True)
    assert "Cases in the file: 1." in page
    assert "Restricted cases left out, as you are not named on them: 1." in page
    answer = focal.get(f"/console/exports/cases.csv?{PERIOD}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "cases-2026-04-01-2026-04-30.csv" in answer.headers["Content-Disposition"]
    body = answer.get_data(as_text=True)
    assert numbers_in(body) == [open_number]
    for secret in ("Mbalavanti", "Ruzivendo", secret_number, "named"):
        assert secret not in body, secret

    page = named.get(f"/console/exports/cases?{PERIOD}").get_data(as_text=True)
    assert "Cases in the file: 2." in page and "left out" not in page
    body = named.get(f"/console/exports/cases.csv?{PERIOD}").get_data(as_text=True)
    assert numbers_in(body) == [open_number, secret_number]
    assert body.splitlines()[2].split(",")[COLUMNS.index("restricted")] == "yes"

    period = {"since": "2026-04-01", "until": "2026-04-30", "format": "mts-csv"}
    assert audited(gw) == [
        ("focal", {**period, "rows": 1, "left_out": 1}),
        ("named", {**period, "rows": 2, "left_out": 0}),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "since=",
        "since=2026-02-30",
        "since=01/04/2026",
        "since=2026-04-05&until=2026-04-04",
        "since=2026-04-05&until=9999-12-31",
        "since=2026-04-05&until=%00",
    ],
)
def test_a_bad_period_is_refused_and_nothing_is_audited(gw, signed_in, query: str) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT)
    assert focal.get(f"/console/exports/cases.csv?{query}").status_code == 400
    page = focal.get(f"/console/exports/cases?{query}")
    assert page.status_code == (200 if query == "" else 400)
    assert audited(gw) == []


def test_without_a_last_day_the_file_runs_to_today(gw, signed_in, clock) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT)
    receipt = submit_report(gw, NewReport(narrative="Filed today", language="en"), channel="web")
    page = focal.get("/console/exports/cases?since=2026-01-01&until=").get_data(as_text=True)
    assert "Cases in the file: 1." in page
    assert 'href="/console/exports/cases.csv?since=2026-01-01"' in page
    answer = focal.get("/console/exports/cases.csv?since=2026-01-01")
    assert numbers_in(answer.get_data(as_text=True)) == [receipt.case_number]
    today = clock.now.date().isoformat()
    assert f"cases-2026-01-01-{today}.csv" in answer.headers["Content-Disposition"]
    assert audited(gw)[0][1]["until"] is None
